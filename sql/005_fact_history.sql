-- Fact consolidation over time (core/enrichment/consolidation.py): user_facts keeps one row per
-- meaning (UNIQUE (user_id, bot_name, fact_content) still holds) and when each fact held.
--   slot              the single-valued slot it fills ('home', 'employer', 'pet_count:dog', ...), or NULL
--   valid_from/to     its latest period, [valid_from, valid_to); valid_to NULL while it holds
--   status            'current', or how the latest period ended: 'superseded' by a newer value of
--                     the slot, 'closed' by an ending ("no longer has a cat", "lost their job")
--   prior_*           earlier periods, oldest first, when the fact held, ended and was said again
--   variants          every wording merged into the row (fact_content first), and variant_vectors
--                     their float32 MiniLM vectors (row i = variants[i]; zeros when not needed):
--                     the consolidation's embedding cache, erased with the row by a forget.
-- Rows written by other tools before or without consolidation may have a NULL valid_from: read as
-- first_seen.
ALTER TABLE user_facts
    ADD COLUMN slot             text,
    ADD COLUMN status           text          NOT NULL DEFAULT 'current'
        CHECK (status IN ('current', 'superseded', 'closed')),
    ADD COLUMN valid_from       timestamptz,
    ADD COLUMN valid_to         timestamptz,
    ADD COLUMN prior_valid_from timestamptz[] NOT NULL DEFAULT '{}',
    ADD COLUMN prior_valid_to   timestamptz[] NOT NULL DEFAULT '{}',
    ADD COLUMN prior_ended_by   text[]        NOT NULL DEFAULT '{}',
    ADD COLUMN variants         text[]        NOT NULL DEFAULT '{}',
    ADD COLUMN variant_vectors  bytea;
UPDATE user_facts SET valid_from = first_seen, variants = ARRAY[fact_content];
ALTER TABLE user_facts
    ADD CONSTRAINT user_facts_validity CHECK (valid_to IS NULL OR valid_to >= valid_from),
    ADD CONSTRAINT user_facts_status_end CHECK ((status = 'current') = (valid_to IS NULL));
CREATE INDEX user_facts_current ON user_facts (bot_name, user_id, confidence DESC) WHERE valid_to IS NULL;
