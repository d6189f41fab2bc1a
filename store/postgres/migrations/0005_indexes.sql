-- 0005 indexes.
--
-- Reason: the seed's "Recommended Additional Indexes", plus the indexes
-- the foreign keys need.
--
-- * sessions(is_active, expires_at): the cleanup query (active sessions
--   whose expires_at has passed, oldest first). The reference has none.
-- * sessions(created_at), api_keys(last_used_at), users(created_at),
--   user_private_keys(created_at), user_automation_settings(updated_at):
--   the seed's analytics indexes.
-- * api_keys(user_id), sessions(user_id): listing a user's keys, and the
--   ON DELETE CASCADE of migration 0004, which otherwise scan the tables.
--   (user_private_keys and user_automation_settings have a unique index on
--   user_id, delegations has ix_delegations_user_id, sessions has
--   ix_sessions_api_key_id.)
--
-- Unchanged on purpose: sessions_active_api_key_unique as the seed defines
-- it, ix_users_email unique, and ix_api_keys_key_prefix NOT unique
-- (databases adopted from the reference may hold colliding prefixes).

CREATE INDEX IF NOT EXISTS ix_sessions_is_active_expires_at ON sessions(is_active, expires_at);
CREATE INDEX IF NOT EXISTS ix_sessions_created_at ON sessions(created_at);
CREATE INDEX IF NOT EXISTS ix_api_keys_last_used_at ON api_keys(last_used_at);
CREATE INDEX IF NOT EXISTS ix_users_created_at ON users(created_at);
CREATE INDEX IF NOT EXISTS ix_user_private_keys_created_at ON user_private_keys(created_at);
CREATE INDEX IF NOT EXISTS ix_user_automation_settings_updated_at ON user_automation_settings(updated_at);
CREATE INDEX IF NOT EXISTS ix_api_keys_user_id ON api_keys(user_id);
CREATE INDEX IF NOT EXISTS ix_sessions_user_id ON sessions(user_id);
