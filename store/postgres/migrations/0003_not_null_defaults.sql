-- 0003 NOT NULL columns with database defaults.
--
-- Reason: the reference declared its defaults in Python only (is_active
-- true, is_enabled false, session_duration 3600, created_at/updated_at
-- utcnow), so every such column is NULLable and rows written outside the
-- ORM may hold NULLs. Backfill the NULLs with the seed's defaults, then
-- make the database enforce them, so that the Go code can scan plain bools
-- and times.
--
-- Created/updated times that are missing are taken from the other one of
-- the pair when it exists, else now(). A session without created_at gets
-- LEAST(expires_at, now()) so that it never looks newer than real ones.

-- users
UPDATE users
   SET is_active  = COALESCE(is_active, true),
       created_at = COALESCE(created_at, updated_at, now()),
       updated_at = COALESCE(updated_at, created_at, now())
 WHERE is_active IS NULL OR created_at IS NULL OR updated_at IS NULL;
ALTER TABLE users
  ALTER COLUMN is_active  SET DEFAULT true,
  ALTER COLUMN is_active  SET NOT NULL,
  ALTER COLUMN created_at SET DEFAULT now(),
  ALTER COLUMN created_at SET NOT NULL,
  ALTER COLUMN updated_at SET DEFAULT now(),
  ALTER COLUMN updated_at SET NOT NULL;

-- api_keys (last_used_at stays NULLable: NULL means never used)
UPDATE api_keys
   SET is_active  = COALESCE(is_active, true),
       created_at = COALESCE(created_at, now())
 WHERE is_active IS NULL OR created_at IS NULL;
ALTER TABLE api_keys
  ALTER COLUMN is_active  SET DEFAULT true,
  ALTER COLUMN is_active  SET NOT NULL,
  ALTER COLUMN created_at SET DEFAULT now(),
  ALTER COLUMN created_at SET NOT NULL;

-- sessions
--
-- The seed's default for is_active is true, but a NULL cannot simply become
-- true: sessions_active_api_key_unique (which ignores NULLs) would then
-- refuse the update for a key that already has an active session, or for
-- several NULL sessions of one key. So a NULL becomes true only for the
-- newest NULL session of a key that has no active session; the others
-- become false. Sessions without a key are not constrained and become true.
UPDATE sessions
   SET created_at = LEAST(expires_at, now())
 WHERE created_at IS NULL;
UPDATE sessions s
   SET is_active = s.api_key_id IS NULL
       OR (NOT EXISTS (SELECT 1 FROM sessions a
                        WHERE a.api_key_id = s.api_key_id AND a.is_active IS TRUE)
           AND s.id = (SELECT n.id FROM sessions n
                        WHERE n.api_key_id = s.api_key_id AND n.is_active IS NULL
                        ORDER BY n.created_at DESC, n.id DESC
                        LIMIT 1))
 WHERE s.is_active IS NULL;
ALTER TABLE sessions
  ALTER COLUMN is_active  SET DEFAULT true,
  ALTER COLUMN is_active  SET NOT NULL,
  ALTER COLUMN created_at SET DEFAULT now(),
  ALTER COLUMN created_at SET NOT NULL;

-- user_private_keys
UPDATE user_private_keys
   SET created_at = COALESCE(created_at, updated_at, now()),
       updated_at = COALESCE(updated_at, created_at, now())
 WHERE created_at IS NULL OR updated_at IS NULL;
ALTER TABLE user_private_keys
  ALTER COLUMN created_at SET DEFAULT now(),
  ALTER COLUMN created_at SET NOT NULL,
  ALTER COLUMN updated_at SET DEFAULT now(),
  ALTER COLUMN updated_at SET NOT NULL;

-- user_automation_settings
UPDATE user_automation_settings
   SET is_enabled       = COALESCE(is_enabled, false),
       session_duration = COALESCE(session_duration, 3600),
       created_at       = COALESCE(created_at, updated_at, now()),
       updated_at       = COALESCE(updated_at, created_at, now())
 WHERE is_enabled IS NULL OR session_duration IS NULL
    OR created_at IS NULL OR updated_at IS NULL;
ALTER TABLE user_automation_settings
  ALTER COLUMN is_enabled       SET DEFAULT false,
  ALTER COLUMN is_enabled       SET NOT NULL,
  ALTER COLUMN session_duration SET DEFAULT 3600,
  ALTER COLUMN session_duration SET NOT NULL,
  ALTER COLUMN created_at       SET DEFAULT now(),
  ALTER COLUMN created_at       SET NOT NULL,
  ALTER COLUMN updated_at       SET DEFAULT now(),
  ALTER COLUMN updated_at       SET NOT NULL;

-- delegations (created_at already defaults to now(); expiry stays NULLable)
UPDATE delegations
   SET is_active  = COALESCE(is_active, true),
       created_at = COALESCE(created_at, now())
 WHERE is_active IS NULL OR created_at IS NULL;
ALTER TABLE delegations
  ALTER COLUMN is_active  SET DEFAULT true,
  ALTER COLUMN is_active  SET NOT NULL,
  ALTER COLUMN created_at SET DEFAULT now(),
  ALTER COLUMN created_at SET NOT NULL;
