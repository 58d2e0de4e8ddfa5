-- A forget that lands while a run of the same bot is in flight must not be undone by that run's
-- writes (it may have read the user's messages before they were erased). `forget_user` records
-- here when a user was forgotten -- as a SHA-256 of the user id, so the erased id itself is not
-- kept -- and every partition write drops the rows of users forgotten after its run started.
CREATE TABLE forgotten_users (
    bot_name     text        NOT NULL,
    user_sha256  text        NOT NULL,
    forgotten_at timestamptz NOT NULL,
    PRIMARY KEY (bot_name, user_sha256)
);
