-- recall() must never return anything said after its `now`. A day's summary window starts at
-- 00:00, but what it summarises is said later that day: summaries are filtered by the time of the
-- last message of their user that day, not by their window start.
-- Existing rows: the latest of their source messages still staged, else the window end (exclusive,
-- so never earlier than any message of that window).
ALTER TABLE conversation_summaries ADD COLUMN last_message_at timestamptz;
UPDATE conversation_summaries s SET last_message_at = COALESCE(
    (SELECT max(p.ts) FROM pending_messages p
      WHERE p.bot_name = s.bot_name AND p.message_id = ANY(s.source_message_ids)),
    s.end_timestamp);
ALTER TABLE conversation_summaries ALTER COLUMN last_message_at SET NOT NULL;
CREATE INDEX conversation_summaries_last_message
    ON conversation_summaries (bot_name, user_id, last_message_at);
