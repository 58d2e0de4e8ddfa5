-- Rebuild one bot's consolidated facts for the given users from fact_observations, so that
-- re-processing a day leaves no stale or orphaned facts. Named parameters: bot, users (text[]); loaded and
-- run by whisper_assets/stores/repository/enrichment.py (`recompute_user_facts`, under the bot's lock).
-- The seed's semantics: one row per (user, bot, fact text); confidence is the greatest seen;
-- mention_count counts distinct source messages; first/last seen span the observations.
DELETE FROM user_facts WHERE bot_name = :bot AND user_id = ANY(:users);

WITH obs AS (
    SELECT * FROM fact_observations WHERE bot_name = :bot AND user_id = ANY(:users)
), sources AS (
    SELECT user_id, fact_content, array_agg(DISTINCT mid ORDER BY mid) AS ids
    FROM obs, unnest(source_message_ids) AS mid
    GROUP BY user_id, fact_content
)
INSERT INTO user_facts (user_id, bot_name, fact_content, category, confidence, mention_count,
                        first_seen, last_seen, source_message_ids, model, prompt_version)
SELECT o.user_id, :bot, o.fact_content,
       (array_agg(o.category ORDER BY o.confidence DESC, o.observed_at))[1],
       max(o.confidence),
       cardinality(s.ids),
       min(o.observed_at),
       max(o.observed_at),
       s.ids,
       (array_agg(o.model ORDER BY o.observed_at DESC, o.day DESC))[1],
       (array_agg(o.prompt_version ORDER BY o.observed_at DESC, o.day DESC))[1]
FROM obs o JOIN sources s USING (user_id, fact_content)
GROUP BY o.user_id, o.fact_content, s.ids;
