package fakerouter

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// promptRun is a prompt (chat or embeddings) that passed the router's checks
// and holds the session's semaphore slot (current).
type promptRun struct {
	s       *session
	model   *Model
	mode    Mode
	release func()
}

// parseSessionHeader reads the session_id header (underscore; X-Session-ID
// and ?session_id= are ignored). It returns "" when the header is absent or
// the zero hash, which the real router treats as "no session" (local model).
func parseSessionHeader(req *http.Request) (string, error) {
	v := req.Header.Get("session_id")
	if v == "" {
		return "", nil
	}
	h, err := parseHash(v)
	if err != nil || h == zeroHash {
		return "", err
	}
	return h, nil
}

// beginPrompt runs SendPromptV2's checks after header and body binding, in
// the real order: session lookup, (v4) expiry, provider lookup, TEE
// attestation, the per-session FIFO semaphore (current), then the provider
// side: connect, (current) expiry, first byte, provider model errors. On
// failure it writes the error and returns nil.
func (r *Router) beginPrompt(w http.ResponseWriter, req *http.Request, sid string) *promptRun {
	r.mu.Lock()
	s, ok := r.sessions[sid]
	v := r.version
	var run promptRun
	var endsAt int64
	if ok {
		endsAt = s.endsAt
		s.prompts++
		run.s = s
		run.model = r.models[s.modelID]
		if b, ok := r.bids[s.bidID]; ok {
			run.mode = b.Mode
		}
	}
	r.mu.Unlock()
	if !ok {
		r.writeError(w, http.StatusInternalServerError, errSessionNotFound)
		return nil
	}
	now := r.clock.now()
	if v == V4 && endsAt < now.Unix() {
		r.writeError(w, http.StatusInternalServerError, errExpiredV4)
		return nil
	}
	if run.mode == ModeForeignInstance {
		r.writeError(w, http.StatusInternalServerError, errProviderNotFound)
		return nil
	}
	if v == Current && run.mode == ModeTEEFail && run.model != nil && run.model.isTEE() {
		r.writeError(w, http.StatusInternalServerError, errTEE)
		return nil
	}
	run.release = func() {}
	if v == Current {
		if err := s.sem.acquire(req.Context()); err != nil {
			r.count(func(c *Counters) { c.QueueCancelled++ })
			r.writeError(w, http.StatusInternalServerError, errQueueCancelled+err.Error())
			return nil
		}
		run.release = s.sem.release
	}
	r.mu.Lock()
	s.inFlight++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)
	r.counters.ChatConcurrentMax = max(r.counters.ChatConcurrentMax, s.inFlight)
	if b, ok := r.bids[s.bidID]; ok {
		run.mode = b.Mode // modes can change while queued
	}
	r.mu.Unlock()
	semRelease := run.release
	rid := w.Header().Get("X-Request-Id")
	if rid == "" {
		rid = req.Header.Get("X-Request-Id")
	}
	run.release = func() {
		r.mu.Lock()
		s.inFlight--
		s.served = append(s.served, rid)
		r.mu.Unlock()
		semRelease()
	}

	if r.providerFails(w, req, &run, v) {
		run.release()
		return nil
	}
	return &run
}

// providerFails applies the provider-side failures that happen before the
// first byte; it writes the error and returns true when one applies.
func (r *Router) providerFails(w http.ResponseWriter, req *http.Request, run *promptRun, v Version) bool {
	switch run.mode {
	case ModeUnreachable:
		endpoint := defaultProviderSocket
		r.mu.Lock()
		if b, ok := r.bids[run.s.bidID]; ok {
			endpoint = b.Endpoint
		}
		r.mu.Unlock()
		r.writeError(w, http.StatusInternalServerError, fmt.Sprintf(errConnectRefused, endpoint))
		return true
	}
	r.mu.Lock()
	endsAt := run.s.endsAt
	r.mu.Unlock()
	if v == Current && r.clock.now().After(time.Unix(endsAt, 0)) {
		r.writeError(w, http.StatusInternalServerError, errExpiredCurrent)
		return true
	}
	switch run.mode {
	case ModeSlowFirstByte:
		sleepCtx(req.Context(), r.cfg.FirstByteTimeout)
		r.writeError(w, http.StatusInternalServerError, errReadTimeout)
		return true
	case ModeSilentClose:
		r.writeError(w, http.StatusInternalServerError, errSilentClose)
		return true
	case ModeRateLimited:
		r.providerModelError(w, http.StatusBadRequest, map[string]any{"providerModelError": rateLimitError})
		return true
	case ModeRateLimitedStatus:
		r.providerModelError(w, http.StatusTooManyRequests, map[string]any{"providerModelError": rateLimitError, "statusCode": http.StatusTooManyRequests})
		return true
	case ModeBackendAuth:
		r.providerModelError(w, http.StatusBadRequest, map[string]any{"providerModelError": map[string]any{"error": "Authentication failed"}})
		return true
	}
	return false
}

// providerModelError writes a providerModelError body, explicitly relabelled
// application/json (even on streaming requests).
func (r *Router) providerModelError(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", contentJSON)
	r.writeJSON(w, status, body)
}

// sleepCtx sleeps for d of real time or until ctx ends; it reports whether
// the full time elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
