package postgres

import (
	"context"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// automationColumns is the select list scanned by scanAutomation.
const automationColumns = `id, COALESCE(user_id, 0), is_enabled, session_duration, created_at, updated_at`

// scanAutomation scans one row of automationColumns.
func scanAutomation(r rowScanner) (store.AutomationSettings, error) {
	var a store.AutomationSettings
	if err := r.Scan(&a.ID, &a.UserID, &a.IsEnabled, &a.SessionDuration, &a.CreatedAt, &a.UpdatedAt); err != nil {
		return store.AutomationSettings{}, err
	}
	a.CreatedAt = a.CreatedAt.UTC()
	a.UpdatedAt = a.UpdatedAt.UTC()
	return a, nil
}

// automationValues returns u's fields with nil ones replaced by the seed's
// defaults.
func automationValues(u store.AutomationUpdate) (bool, int) {
	enabled, duration := store.DefaultAutomationEnabled, store.DefaultSessionDurationSec
	if u.IsEnabled != nil {
		enabled = *u.IsEnabled
	}
	if u.SessionDuration != nil {
		duration = *u.SessionDuration
	}
	return enabled, duration
}

// CreateAutomationSettings inserts the user's settings, nil fields taking
// the seed's defaults; store.ErrConflict if the user already has them,
// store.ErrNotFound if the user does not exist.
func (s *Store) CreateAutomationSettings(ctx context.Context, userID int64, u store.AutomationUpdate) (store.AutomationSettings, error) {
	enabled, duration := automationValues(u)
	row := s.pool.QueryRow(ctx, `
INSERT INTO user_automation_settings (user_id, is_enabled, session_duration, created_at, updated_at)
VALUES ($1, $2, $3, now(), now())
RETURNING `+automationColumns, userID, enabled, duration)
	a, err := scanAutomation(row)
	return a, wrapErr("create automation settings", err)
}

// AutomationSettings returns the user's settings, or store.ErrNotFound.
func (s *Store) AutomationSettings(ctx context.Context, userID int64) (store.AutomationSettings, error) {
	row := s.pool.QueryRow(ctx, `SELECT `+automationColumns+` FROM user_automation_settings WHERE user_id = $1`, userID)
	a, err := scanAutomation(row)
	return a, wrapErr("automation settings", err)
}

// UpdateAutomationSettings applies the non-nil fields, creating the row
// (with the seed's defaults for nil fields) if there is none, in one
// statement. store.ErrNotFound if the user does not exist.
func (s *Store) UpdateAutomationSettings(ctx context.Context, userID int64, u store.AutomationUpdate) (store.AutomationSettings, error) {
	enabled, duration := automationValues(u)
	row := s.pool.QueryRow(ctx, `
INSERT INTO user_automation_settings AS a (user_id, is_enabled, session_duration, created_at, updated_at)
VALUES ($1, $2, $3, now(), now())
ON CONFLICT (user_id) DO UPDATE
   SET is_enabled       = CASE WHEN $4::boolean THEN EXCLUDED.is_enabled ELSE a.is_enabled END,
       session_duration = CASE WHEN $5::boolean THEN EXCLUDED.session_duration ELSE a.session_duration END,
       updated_at       = now()
RETURNING `+automationColumns, userID, enabled, duration, u.IsEnabled != nil, u.SessionDuration != nil)
	a, err := scanAutomation(row)
	return a, wrapErr("update automation settings", err)
}

// DeleteAutomationSettings deletes the user's settings; store.ErrNotFound
// if there are none.
func (s *Store) DeleteAutomationSettings(ctx context.Context, userID int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM user_automation_settings WHERE user_id = $1`, userID)
	if err != nil {
		return wrapErr("delete automation settings", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("delete automation settings")
	}
	return nil
}
