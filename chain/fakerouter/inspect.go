package fakerouter

import (
	"maps"
	"net/http"
)

// Counters are call counts and concurrency high-water marks. Calls counts
// requests that passed routing and auth, by endpoint name (Endpoint*); the
// named fields are copies of the most useful ones.
type Counters struct {
	Calls map[string]int

	Opens       int // POST /blockchain/models/{id}/session and /blockchain/bids/{id}/session
	Closes      int
	SessionGets int
	Chats       int
	Embeddings  int
	Models      int
	RatedBids   int
	Health      int

	Unauthorized int // 401s
	NotFound     int // gin 404s

	OpenInFlight    int // opens started and not finished (including orphans still mining)
	OpenInFlightMax int
	OpenOrphans     int // opens that created a session after the client went away
	NonceErrors     int // on-chain operations failed by FailNextOnChainOps

	// ChatConcurrentMax is the highest number of prompts (chat and
	// embeddings) that were ever running at once on a single session past the
	// semaphore: 1 in current, possibly more in v4.
	ChatConcurrentMax int
	// QueueCancelled counts prompts whose client went away while queued.
	QueueCancelled int
	// WriteErrors counts response writes that failed (client gone).
	WriteErrors int
}

// count applies f to the counters under the lock.
func (r *Router) count(f func(*Counters)) {
	r.mu.Lock()
	f(&r.counters)
	r.mu.Unlock()
}

// Counters returns a snapshot of the counters.
func (r *Router) Counters() Counters {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.counters
	c.Calls = maps.Clone(r.counters.Calls)
	if c.Calls == nil {
		c.Calls = map[string]int{}
	}
	c.Opens = c.Calls[EndpointOpen] + c.Calls[EndpointOpenBid]
	c.Closes = c.Calls[EndpointClose]
	c.SessionGets = c.Calls[EndpointSession]
	c.Chats = c.Calls[EndpointChat]
	c.Embeddings = c.Calls[EndpointEmbeddings]
	c.Models = c.Calls[EndpointModels]
	c.RatedBids = c.Calls[EndpointRatedBids]
	c.Health = c.Calls[EndpointHealth]
	return c
}

// LastHeaders returns a copy of the request headers of the last request
// routed to endpoint (an Endpoint* name), recorded before auth, or nil.
// Authorization is included: this is a test fake.
func (r *Router) LastHeaders(endpoint string) http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastHeaders[endpoint].Clone()
}
