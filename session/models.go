package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"

	"github.com/morpheus-gateway/caddy-morpheus/chain"
)

// The model catalogue: the active-models feed (Config.ModelsURL, spec
// proxy-router §2.11, with ETag/If-None-Match) or else the router's
// GET /blockchain/models, deleted models filtered out, kept in memory for
// ModelsTTL. Lookups read an immutable snapshot without locking. A stale
// snapshot is served while one background refresh runs; a failed refresh
// keeps serving it (logged) and is retried at most every
// catalogueRetryDelay. Only when nothing was ever loaded does a request
// wait for the load (and see its error). A name that is not found forces
// one refresh (at most every catalogueForceInterval) before the answer is
// ErrModelNotFound: no silent fallback to the default model.

const (
	// OwnedBy is the owned_by of every catalogue model.
	OwnedBy = "morpheus"

	catalogueLoadTimeout   = 30 * time.Second
	catalogueRetryDelay    = 5 * time.Second
	catalogueForceInterval = 10 * time.Second
	maxFeedBody            = 16 << 20
)

type snapshot struct {
	models  []Model
	byID    map[string]Model
	byName  map[string]Model // lowercased names; a later duplicate wins, as in the reference
	fetched time.Time        // wall clock
	etag    string
}

func (s *snapshot) lookup(name string) (Model, bool) {
	if len(name) >= 2 && (name[:2] == "0x" || name[:2] == "0X") {
		id, err := chain.NormalizeID(name)
		if err != nil {
			return Model{}, false
		}
		mdl, ok := s.byID[id]
		return mdl, ok
	}
	mdl, ok := s.byName[strings.ToLower(name)]
	return mdl, ok
}

type catalogue struct {
	m      *Manager
	client *http.Client
	snap   atomic.Pointer[snapshot]
	sf     singleflight.Group

	mu        sync.Mutex
	nextTry   time.Time // after a failed refresh
	lastForce time.Time
}

func newCatalogue(m *Manager) *catalogue {
	return &catalogue{m: m, client: &http.Client{Timeout: catalogueLoadTimeout}}
}

// Models returns the catalogue (deleted models filtered out).
func (m *Manager) Models(ctx context.Context) ([]Model, error) {
	s, err := m.cat.get(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Model, len(s.models))
	for i, mdl := range s.models {
		mdl.Tags = slices.Clone(mdl.Tags)
		out[i] = mdl
	}
	return out, nil
}

// ResolveModel finds a model by name (case-insensitive) or 0x id (exact);
// "" is the default model.
//
// An unknown model is ErrModelNotFound (wrapped with the name asked for);
// so is an empty name without a configured default. A catalogue that
// cannot be loaded at all is the router's error or ErrModelsUnavailable.
func (m *Manager) ResolveModel(ctx context.Context, name string) (Model, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		name = strings.TrimSpace(m.cfg.DefaultModel)
		if name == "" {
			return Model{}, fmt.Errorf("%w: no model given and no default model configured", ErrModelNotFound)
		}
	}
	s, err := m.cat.get(ctx)
	if err != nil {
		return Model{}, err
	}
	if mdl, ok := s.lookup(name); ok {
		return mdl, nil
	}
	if s2, ok := m.cat.forceRefresh(ctx); ok {
		if mdl, ok := s2.lookup(name); ok {
			return mdl, nil
		}
	}
	if len(name) > 128 {
		name = name[:128] + "…"
	}
	return Model{}, fmt.Errorf("%w: %q", ErrModelNotFound, name)
}

// get returns the current snapshot, loading it the first time and
// refreshing it in the background when stale.
func (c *catalogue) get(ctx context.Context) (*snapshot, error) {
	s := c.snap.Load()
	if s == nil {
		return c.wait(ctx)
	}
	if time.Since(s.fetched) >= c.m.cfg.ModelsTTL && c.mayTry() {
		c.sf.DoChan("refresh", c.refresh) // not waited for
	}
	return s, nil
}

// forceRefresh reloads the catalogue (rate-limited) and waits for it.
func (c *catalogue) forceRefresh(ctx context.Context) (*snapshot, bool) {
	c.mu.Lock()
	if time.Since(c.lastForce) < catalogueForceInterval {
		c.mu.Unlock()
		return nil, false
	}
	c.lastForce = time.Now()
	c.mu.Unlock()
	s, err := c.wait(ctx)
	return s, err == nil
}

func (c *catalogue) mayTry() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !time.Now().Before(c.nextTry)
}

// wait runs (or joins) a refresh and waits for it.
func (c *catalogue) wait(ctx context.Context) (*snapshot, error) {
	ch := c.sf.DoChan("refresh", c.refresh)
	select {
	case r := <-ch:
		if r.Err != nil {
			if s := c.snap.Load(); s != nil {
				return s, nil
			}
			return nil, r.Err
		}
		return r.Val.(*snapshot), nil
	case <-ctx.Done():
		if s := c.snap.Load(); s != nil {
			return s, nil
		}
		return nil, ctx.Err()
	}
}

// refresh loads the catalogue (singleflight body; detached from any
// request, bounded by catalogueLoadTimeout).
func (c *catalogue) refresh() (any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), catalogueLoadTimeout)
	defer cancel()
	prev := c.snap.Load()
	var (
		models []Model
		etag   string
		err    error
	)
	if c.m.cfg.ModelsURL != "" {
		prevTag := ""
		if prev != nil {
			prevTag = prev.etag
		}
		var notModified bool
		models, etag, notModified, err = c.fetchFeed(ctx, prevTag)
		if err == nil && notModified {
			s := *prev
			s.fetched = time.Now()
			c.snap.Store(&s)
			return &s, nil
		}
	} else {
		var list []chain.Model
		if list, err = c.m.router.Models(ctx); err == nil {
			for _, cm := range list {
				if cm.IsDeleted || cm.ID == "" {
					continue
				}
				models = append(models, Model{ID: cm.ID, Name: cm.Name, Tags: slices.Clone(cm.Tags),
					ModelType: cm.ModelType, CreatedAt: cm.CreatedAt, OwnedBy: OwnedBy})
			}
		}
	}
	if err != nil {
		c.mu.Lock()
		c.nextTry = time.Now().Add(catalogueRetryDelay)
		c.mu.Unlock()
		if prev != nil {
			c.m.log.Warn("session: model catalogue refresh failed; serving the previous one", zap.Error(err))
		} else {
			c.m.log.Warn("session: cannot load the model catalogue", zap.Error(err))
		}
		return nil, err
	}
	s := &snapshot{models: models, byID: make(map[string]Model, len(models)),
		byName: make(map[string]Model, len(models)), fetched: time.Now(), etag: etag}
	for _, mdl := range models {
		s.byID[mdl.ID] = mdl
		if mdl.Name != "" {
			s.byName[strings.ToLower(mdl.Name)] = mdl
		}
	}
	c.snap.Store(s)
	return s, nil
}

// feedModel is one element of the active-models feed (the
// /blockchain/models shape; keys match case-insensitively).
type feedModel struct {
	ID        string `json:"Id"`
	Name      string
	Tags      []string
	ModelType string
	CreatedAt chain.BigInt
	IsDeleted bool
}

// fetchFeed GETs the active-models feed with If-None-Match.
func (c *catalogue) fetchFeed(ctx context.Context, etag string) (models []Model, newTag string, notModified bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.m.cfg.ModelsURL, nil)
	if err != nil {
		return nil, "", false, fmt.Errorf("%w: invalid models URL", ErrModelsUnavailable)
	}
	req.Header.Set("Accept", "application/json")
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	res, err := c.client.Do(req)
	if err != nil {
		// The transport error names the URL; keep only the class.
		return nil, "", false, fmt.Errorf("%w: the active-models feed did not answer", ErrModelsUnavailable)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusNotModified && etag != "" {
		return nil, etag, true, nil
	}
	if res.StatusCode != http.StatusOK {
		return nil, "", false, fmt.Errorf("%w: the active-models feed answered HTTP %d", ErrModelsUnavailable, res.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxFeedBody+1))
	if err != nil || len(body) > maxFeedBody {
		return nil, "", false, fmt.Errorf("%w: cannot read the active-models feed", ErrModelsUnavailable)
	}
	var feed struct {
		Models []json.RawMessage `json:"models"`
	}
	if err := json.Unmarshal(body, &feed); err != nil {
		return nil, "", false, fmt.Errorf("%w: malformed active-models feed", ErrModelsUnavailable)
	}
	skipped := 0
	for _, raw := range feed.Models {
		var fm feedModel
		if err := json.Unmarshal(raw, &fm); err != nil {
			skipped++
			continue
		}
		id, err := chain.NormalizeID(fm.ID)
		if err != nil {
			skipped++
			continue
		}
		if fm.IsDeleted {
			continue
		}
		mdl := Model{ID: id, Name: fm.Name, Tags: fm.Tags, ModelType: fm.ModelType, OwnedBy: OwnedBy}
		if mdl.Tags == nil {
			mdl.Tags = []string{}
		}
		if fm.CreatedAt.Int != nil && fm.CreatedAt.IsInt64() && fm.CreatedAt.Int64() > 0 {
			mdl.CreatedAt = time.Unix(fm.CreatedAt.Int64(), 0).UTC()
		}
		models = append(models, mdl)
	}
	if skipped > 0 {
		c.m.log.Warn("session: active-models feed entries skipped (malformed)", zap.Int("skipped", skipped))
	}
	if len(models) == 0 && len(feed.Models) > 0 {
		return nil, "", false, errors.Join(ErrModelsUnavailable, errors.New("no usable entry in the active-models feed"))
	}
	return models, res.Header.Get("ETag"), false, nil
}
