package sqlite

import (
	"context"

	"github.com/morpheus-gateway/caddy-morpheus/store"
)

// automationCols are the columns scanAutomation reads, in order.
const automationCols = `id, user_id, is_enabled, session_duration, created_at, updated_at`

// scanAutomation reads a row of automationCols.
func scanAutomation(sc scanner) (store.AutomationSettings, error) {
	var (
		a                store.AutomationSettings
		created, updated string
	)
	if err := sc.Scan(&a.ID, &a.UserID, &a.IsEnabled, &a.SessionDuration, &created, &updated); err != nil {
		return store.AutomationSettings{}, err
	}
	var err error
	if a.CreatedAt, err = parseTime(created); err != nil {
		return store.AutomationSettings{}, err
	}
	if a.UpdatedAt, err = parseTime(updated); err != nil {
		return store.AutomationSettings{}, err
	}
	return a, nil
}

// automationArgs returns u's fields as bind arguments: NULL for nil.
func automationArgs(u store.AutomationUpdate) (enabled, duration any) {
	if u.IsEnabled != nil {
		enabled = *u.IsEnabled
	}
	if u.SessionDuration != nil {
		duration = *u.SessionDuration
	}
	return enabled, duration
}

// insertAutomation is the INSERT of both CreateAutomationSettings and
// UpdateAutomationSettings: ?1 user, ?2 is_enabled, ?3 session_duration
// (NULL taking the seed's defaults ?4 and ?5), ?6 the timestamp.
const insertAutomation = `INSERT INTO user_automation_settings
	(user_id, is_enabled, session_duration, created_at, updated_at)
	VALUES (?1, COALESCE(?2, ?4), COALESCE(?3, ?5), ?6, ?6)`

// CreateAutomationSettings inserts the user's settings, nil fields taking
// the seed's defaults; store.ErrConflict if the user already has them,
// store.ErrNotFound if the user does not exist.
func (s *Store) CreateAutomationSettings(ctx context.Context, userID int64, u store.AutomationUpdate) (store.AutomationSettings, error) {
	enabled, duration := automationArgs(u)
	a, err := scanAutomation(s.w.QueryRowContext(ctx,
		insertAutomation+` RETURNING `+automationCols,
		userID, enabled, duration,
		store.DefaultAutomationEnabled, store.DefaultSessionDurationSec, formatTime(now())))
	if err != nil {
		return store.AutomationSettings{}, wrapErr("create automation settings", err)
	}
	return a, nil
}

// AutomationSettings returns the user's settings, or store.ErrNotFound.
func (s *Store) AutomationSettings(ctx context.Context, userID int64) (store.AutomationSettings, error) {
	a, err := scanAutomation(s.r.QueryRowContext(ctx,
		`SELECT `+automationCols+` FROM user_automation_settings WHERE user_id = ?`, userID))
	if err != nil {
		return store.AutomationSettings{}, wrapErr("automation settings", err)
	}
	return a, nil
}

// UpdateAutomationSettings applies the non-nil fields, creating the row
// (with the seed's defaults for nil fields) if there is none;
// store.ErrNotFound if the user does not exist.
func (s *Store) UpdateAutomationSettings(ctx context.Context, userID int64, u store.AutomationUpdate) (store.AutomationSettings, error) {
	enabled, duration := automationArgs(u)
	a, err := scanAutomation(s.w.QueryRowContext(ctx,
		insertAutomation+`
		ON CONFLICT (user_id) DO UPDATE SET
		  is_enabled = COALESCE(?2, is_enabled),
		  session_duration = COALESCE(?3, session_duration),
		  updated_at = ?6
		RETURNING `+automationCols,
		userID, enabled, duration,
		store.DefaultAutomationEnabled, store.DefaultSessionDurationSec, formatTime(now())))
	if err != nil {
		return store.AutomationSettings{}, wrapErr("update automation settings", err)
	}
	return a, nil
}

// DeleteAutomationSettings deletes the user's settings; store.ErrNotFound
// if there are none.
func (s *Store) DeleteAutomationSettings(ctx context.Context, userID int64) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM user_automation_settings WHERE user_id = ?`, userID)
	if err != nil {
		return wrapErr("delete automation settings", err)
	}
	return mustAffect("delete automation settings", res)
}
