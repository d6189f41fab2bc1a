package fakerouter

import (
	"net/http"
	"time"
)

// handleHealth serves GET /healthcheck (no auth). Current: lower-case keys
// plus components; v4: capitalised keys.
func (r *Router) handleHealth(w http.ResponseWriter, _ *http.Request, _ params) {
	uptime := r.clock.now().Sub(r.start).Round(time.Second).String()
	if r.Version() == V4 {
		r.writeJSON(w, http.StatusOK, map[string]string{"Status": "healthy", "Version": FakeVersion, "Uptime": uptime})
		return
	}
	r.writeJSON(w, http.StatusOK, map[string]any{
		"status":     "healthy",
		"version":    FakeVersion,
		"uptime":     uptime,
		"components": map[string]string{"badgerdb": "healthy, size=0B"},
	})
}

// handleLocalModels serves GET /v1/models: the router's local model config,
// a bare array (not an OpenAI list). The fake has no local models.
func (r *Router) handleLocalModels(w http.ResponseWriter, _ *http.Request, _ params) {
	r.writeJSON(w, http.StatusOK, []any{})
}
