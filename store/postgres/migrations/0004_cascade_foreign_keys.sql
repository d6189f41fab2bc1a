-- 0004 ON DELETE CASCADE foreign keys.
--
-- Reason: the reference has no ON DELETE actions in the database (its ORM
-- cascaded some relations, not all), so deleting a user with keys or
-- sessions fails with a foreign key violation. Every child table's
-- reference to users, and sessions' reference to api_keys, now cascades.
--
-- The existing constraints are looked up in the catalog and dropped
-- whatever their names (PostgreSQL's defaults such as
-- api_keys_user_id_fkey, or the names of tables the reference renamed,
-- such as user_sessions_*), then re-added under the default names.

DO $$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT con.conname, con.conrelid::regclass AS tbl
      FROM pg_constraint con
     WHERE con.contype = 'f'
       AND con.connamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
       AND con.conrelid::regclass::text IN ('api_keys', 'sessions', 'user_private_keys',
                                            'user_automation_settings', 'delegations')
       AND con.confrelid::regclass::text IN ('users', 'api_keys')
  LOOP
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.tbl, r.conname);
  END LOOP;
END
$$;

ALTER TABLE api_keys
  ADD CONSTRAINT api_keys_user_id_fkey
  FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;
ALTER TABLE sessions
  ADD CONSTRAINT sessions_user_id_fkey
  FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;
ALTER TABLE sessions
  ADD CONSTRAINT sessions_api_key_id_fkey
  FOREIGN KEY (api_key_id) REFERENCES api_keys(id) ON DELETE CASCADE;
ALTER TABLE user_private_keys
  ADD CONSTRAINT user_private_keys_user_id_fkey
  FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;
ALTER TABLE user_automation_settings
  ADD CONSTRAINT user_automation_settings_user_id_fkey
  FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;
ALTER TABLE delegations
  ADD CONSTRAINT delegations_user_id_fkey
  FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;
