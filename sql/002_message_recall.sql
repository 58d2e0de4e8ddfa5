-- recall() ranks a user's past messages by meaning when no Qdrant is at hand (the Postgres
-- fallback): it reads one bot and user's staged messages, newest first, up to `now`.
CREATE INDEX pending_messages_user ON pending_messages (bot_name, user_id, ts DESC);
