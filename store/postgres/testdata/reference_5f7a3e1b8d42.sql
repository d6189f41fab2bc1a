-- Appendix A of reference-api.md, verbatim: the reference gateway's schema at
-- alembic head 5f7a3e1b8d42. Used by TestAdoptReferenceDatabase.

CREATE TABLE users (
  id SERIAL PRIMARY KEY,
  name VARCHAR NULL,
  email VARCHAR NULL,                 -- unique index ix_users_email
  hashed_password VARCHAR NULL,       -- bcrypt $2b$12$
  created_at TIMESTAMP NULL,          -- default utcnow (app)
  updated_at TIMESTAMP NULL,          -- default/onupdate utcnow (app)
  is_active BOOLEAN NULL              -- default true (app)
);
CREATE UNIQUE INDEX ix_users_email ON users(email);
CREATE INDEX ix_users_id ON users(id);

CREATE TABLE api_keys (
  id SERIAL PRIMARY KEY,
  key_prefix VARCHAR NULL,            -- "sk-XXXXXX" (9 chars), NOT unique
  hashed_key VARCHAR NULL,            -- bcrypt of full key
  user_id INTEGER NULL REFERENCES users(id),
  created_at TIMESTAMP NULL,
  last_used_at TIMESTAMP NULL,
  is_active BOOLEAN NULL,             -- default true (app)
  name VARCHAR NULL
);
CREATE INDEX ix_api_keys_id ON api_keys(id);
CREATE INDEX ix_api_keys_key_prefix ON api_keys(key_prefix);

CREATE TABLE user_private_keys (
  id SERIAL PRIMARY KEY,
  user_id INTEGER NULL UNIQUE REFERENCES users(id),
  encrypted_private_key BYTEA NULL,   -- Fernet token bytes
  encryption_metadata JSON NULL,
  created_at TIMESTAMP NULL,
  updated_at TIMESTAMP NULL
);
CREATE INDEX ix_user_private_keys_id ON user_private_keys(id);

CREATE TABLE user_automation_settings (
  id SERIAL PRIMARY KEY,
  user_id INTEGER NULL UNIQUE REFERENCES users(id),
  is_enabled BOOLEAN NULL,            -- default false (app)
  session_duration INTEGER NULL,      -- default 3600 (app)
  created_at TIMESTAMP NULL,
  updated_at TIMESTAMP NULL
);
CREATE INDEX ix_user_automation_settings_id ON user_automation_settings(id);

CREATE TABLE delegations (
  id SERIAL PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  delegate_address VARCHAR NOT NULL,
  signed_delegation_data TEXT NOT NULL,
  expiry TIMESTAMP NULL,
  created_at TIMESTAMPTZ NULL DEFAULT now(),
  is_active BOOLEAN NULL              -- default true (app)
);
CREATE INDEX ix_delegations_user_id ON delegations(user_id);
CREATE INDEX ix_delegations_delegate_address ON delegations(delegate_address);
CREATE INDEX ix_delegations_is_active ON delegations(is_active);
CREATE INDEX ix_delegations_id ON delegations(id);

CREATE TABLE sessions (
  id VARCHAR PRIMARY KEY,             -- proxy-router/blockchain session id (0x…)
  user_id INTEGER NULL REFERENCES users(id),
  api_key_id INTEGER NULL REFERENCES api_keys(id),
  model VARCHAR NOT NULL,             -- resolved blockchain model id (or bid id for type 'bid')
  type VARCHAR NOT NULL,              -- 'automated' | 'bid' (schema comment says 'manual')
  created_at TIMESTAMP NULL,
  expires_at TIMESTAMP NOT NULL,      -- naive UTC
  is_active BOOLEAN NULL              -- default true (app)
);
CREATE INDEX ix_sessions_api_key_id ON sessions(api_key_id);
CREATE INDEX ix_sessions_is_active ON sessions(is_active);
CREATE UNIQUE INDEX sessions_active_api_key_unique ON sessions(api_key_id, is_active) WHERE is_active IS TRUE;
