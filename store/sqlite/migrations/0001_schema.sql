-- The gateway's schema: the reference gateway's six tables (same table and
-- column names), tightened as the Go port decided: NOT NULL booleans and
-- timestamps with defaults, ON DELETE CASCADE foreign keys, and the indexes
-- the seed recommends.
--
-- SQLite types: times are TEXT in UTC, fixed-width RFC 3339 with nine
-- fractional digits ("2006-01-02T15:04:05.000000000Z"), so that comparing
-- the text compares the instants (values are microsecond precision, as in
-- the PostgreSQL backend); booleans are INTEGER 0/1; JSON is TEXT.
-- The defaults below produce the same fixed-width format (strftime's %f
-- gives milliseconds; six zeros pad it to nanoseconds). Integer ids use
-- AUTOINCREMENT so that, as with PostgreSQL sequences, the id of a deleted
-- row (say, a user named in a still-valid login token) is never reused.

CREATE TABLE users (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  name            TEXT NULL,
  email           TEXT NOT NULL,
  hashed_password TEXT NULL,
  is_active       INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
  created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000000Z', 'now')),
  updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000000Z', 'now'))
);
CREATE UNIQUE INDEX ix_users_email ON users(email);
CREATE INDEX ix_users_created_at ON users(created_at);

CREATE TABLE api_keys (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  key_prefix   TEXT NOT NULL,
  hashed_key   TEXT NOT NULL,
  user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name         TEXT NULL,
  created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000000Z', 'now')),
  last_used_at TEXT NULL,
  is_active    INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1))
);
-- Prefixes are not unique in databases adopted from the reference.
CREATE INDEX ix_api_keys_key_prefix ON api_keys(key_prefix);
CREATE INDEX ix_api_keys_user_id ON api_keys(user_id);
CREATE INDEX ix_api_keys_last_used_at ON api_keys(last_used_at);

CREATE TABLE sessions (
  id         TEXT NOT NULL PRIMARY KEY,
  user_id    INTEGER NULL REFERENCES users(id) ON DELETE CASCADE,
  api_key_id INTEGER NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
  model      TEXT NOT NULL,
  type       TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000000Z', 'now')),
  expires_at TEXT NOT NULL,
  is_active  INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1))
);
CREATE INDEX ix_sessions_api_key_id ON sessions(api_key_id);
CREATE INDEX ix_sessions_user_id ON sessions(user_id);
CREATE INDEX ix_sessions_is_active ON sessions(is_active);
-- At most one active session per API key.
CREATE UNIQUE INDEX sessions_active_api_key_unique ON sessions(api_key_id, is_active) WHERE is_active;
-- The cleanup query: active sessions whose expires_at has passed.
CREATE INDEX ix_sessions_is_active_expires_at ON sessions(is_active, expires_at);
CREATE INDEX ix_sessions_created_at ON sessions(created_at);

CREATE TABLE user_private_keys (
  id                    INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id               INTEGER NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
  encrypted_private_key BLOB NULL,
  encryption_metadata   TEXT NULL,
  created_at            TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000000Z', 'now')),
  updated_at            TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000000Z', 'now'))
);
CREATE INDEX ix_user_private_keys_created_at ON user_private_keys(created_at);

CREATE TABLE user_automation_settings (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id          INTEGER NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
  is_enabled       INTEGER NOT NULL DEFAULT 0 CHECK (is_enabled IN (0, 1)),
  session_duration INTEGER NOT NULL DEFAULT 3600,
  created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000000Z', 'now')),
  updated_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000000Z', 'now'))
);
CREATE INDEX ix_user_automation_settings_updated_at ON user_automation_settings(updated_at);

CREATE TABLE delegations (
  id                     INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id                INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  delegate_address       TEXT NOT NULL,
  signed_delegation_data TEXT NOT NULL,
  expiry                 TEXT NULL,
  created_at             TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000000Z', 'now')),
  is_active              INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1))
);
CREATE INDEX ix_delegations_user_id ON delegations(user_id);
CREATE INDEX ix_delegations_delegate_address ON delegations(delegate_address);
CREATE INDEX ix_delegations_is_active ON delegations(is_active);
