-- Core tables. Partition-scoped tables carry (bot_name, day) so the IO manager can
-- replace exactly one bot-day in one transaction (ARCHITECTURE.md, invariant 3).

-- Staging copy of one bot-day's messages, read from Qdrant by the `pending_messages` asset.
CREATE TABLE pending_messages (
    message_id  uuid PRIMARY KEY,
    bot_name    text        NOT NULL,
    day         date        NOT NULL,
    user_id     text        NOT NULL,
    role        text        NOT NULL CHECK (role IN ('user', 'bot')),
    content     text        NOT NULL,
    ts          timestamptz NOT NULL,
    vector      bytea       NOT NULL,  -- the stored 384-d float32 vector, reused by summaries
    staged_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pending_messages_partition ON pending_messages (bot_name, day);

-- Every fact as extracted from one partition, with provenance.
CREATE TABLE fact_observations (
    id                 bigserial PRIMARY KEY,
    bot_name           text             NOT NULL,
    day                date             NOT NULL,
    user_id            text             NOT NULL,
    category           text             NOT NULL,
    fact_content       text             NOT NULL CHECK (length(fact_content) BETWEEN 1 AND 500),
    confidence         double precision NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
    source_message_ids uuid[]           NOT NULL,
    observed_at        timestamptz      NOT NULL,
    model              text             NOT NULL,
    prompt_version     text             NOT NULL,
    run_id             text,
    extracted_at       timestamptz      NOT NULL DEFAULT now()
);
CREATE INDEX fact_observations_partition ON fact_observations (bot_name, day);
CREATE INDEX fact_observations_user ON fact_observations (bot_name, user_id);

-- The seed's consolidated facts, recomputed per touched user from fact_observations.
CREATE TABLE user_facts (
    id                 bigserial PRIMARY KEY,
    user_id            text             NOT NULL,
    bot_name           text             NOT NULL,
    fact_content       text             NOT NULL,
    category           text             NOT NULL,
    confidence         double precision NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
    mention_count      integer          NOT NULL CHECK (mention_count >= 1),
    first_seen         timestamptz      NOT NULL,
    last_seen          timestamptz      NOT NULL,
    source_message_ids uuid[]           NOT NULL,
    model              text             NOT NULL,
    prompt_version     text             NOT NULL,
    updated_at         timestamptz      NOT NULL DEFAULT now(),
    UNIQUE (user_id, bot_name, fact_content)
);
CREATE INDEX user_facts_lookup ON user_facts (bot_name, user_id, category, confidence DESC);

-- One summary per user per 24-hour window.
CREATE TABLE conversation_summaries (
    id                 bigserial PRIMARY KEY,
    user_id            text        NOT NULL,
    bot_name           text        NOT NULL,
    day                date        NOT NULL,
    start_timestamp    timestamptz NOT NULL,
    end_timestamp      timestamptz NOT NULL CHECK (end_timestamp > start_timestamp),
    summary_text       text        NOT NULL,
    topics             text[]      NOT NULL DEFAULT '{}',
    message_count      integer     NOT NULL,
    source_message_ids uuid[]      NOT NULL,
    model              text        NOT NULL,
    prompt_version     text        NOT NULL,
    run_id             text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, bot_name, start_timestamp, end_timestamp)
);
CREATE INDEX conversation_summaries_partition ON conversation_summaries (bot_name, day);
CREATE INDEX conversation_summaries_window ON conversation_summaries (bot_name, user_id, start_timestamp);

-- A 384-d vector per summary (also upserted into the Qdrant `summaries` collection).
CREATE TABLE summary_embeddings (
    user_id         text        NOT NULL,
    bot_name        text        NOT NULL,
    day             date        NOT NULL,
    start_timestamp timestamptz NOT NULL,
    end_timestamp   timestamptz NOT NULL,
    embedding       real[]      NOT NULL CHECK (cardinality(embedding) = 384),
    model           text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, bot_name, start_timestamp, end_timestamp)
);
CREATE INDEX summary_embeddings_partition ON summary_embeddings (bot_name, day);

-- One row per asset per partition run: what it cost and how it went.
CREATE TABLE enrichment_metadata (
    id             bigserial PRIMARY KEY,
    run_id         text        NOT NULL,
    asset_key      text        NOT NULL,
    bot_name       text        NOT NULL,
    day            date        NOT NULL,
    status         text        NOT NULL CHECK (status IN ('success', 'failed')),
    message_count  integer     NOT NULL DEFAULT 0,
    fact_count     integer     NOT NULL DEFAULT 0,
    summary_count  integer     NOT NULL DEFAULT 0,
    llm_calls      integer     NOT NULL DEFAULT 0,
    tokens_in      bigint      NOT NULL DEFAULT 0,
    tokens_out     bigint      NOT NULL DEFAULT 0,
    cost_usd       numeric(14, 6) NOT NULL DEFAULT 0,
    model          text,
    prompt_version text,
    duration_s     double precision,
    error          text,
    finished_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX enrichment_metadata_partition ON enrichment_metadata (bot_name, day, finished_at DESC);
