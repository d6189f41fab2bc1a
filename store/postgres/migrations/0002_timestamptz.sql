-- 0002 timestamps with time zone.
--
-- Reason: the reference stored naive TIMESTAMP values holding UTC
-- (datetime.utcnow), except delegations.created_at which is already
-- TIMESTAMPTZ. Naive timestamps are read back in whatever zone the session
-- happens to use; TIMESTAMPTZ stores an instant. Every naive column of the
-- six tables is converted, reading the old value as UTC.
--
-- The columns are found in the catalog rather than listed, so a column
-- that already is TIMESTAMPTZ is left alone (converting it with AT TIME
-- ZONE would shift it), and the table is rewritten once per table.

DO $$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT c.table_name,
           string_agg(format('ALTER COLUMN %I TYPE timestamptz USING %I AT TIME ZONE ''UTC''',
                             c.column_name, c.column_name), ', ' ORDER BY c.ordinal_position) AS alters
      FROM information_schema.columns c
     WHERE c.table_schema = current_schema()
       AND c.table_name IN ('users', 'api_keys', 'sessions', 'user_private_keys',
                            'user_automation_settings', 'delegations')
       AND c.data_type = 'timestamp without time zone'
     GROUP BY c.table_name
  LOOP
    EXECUTE format('ALTER TABLE %I %s', r.table_name, r.alters);
  END LOOP;
END
$$;
