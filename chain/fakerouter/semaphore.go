package fakerouter

import (
	"context"
	"slices"
	"sync"
)

// fifoSemaphore is the per-session 1-slot semaphore of proxy-router v5.10+.
// Unlike a bare mutex it is a ticket queue: waiters are served strictly in
// arrival order, and ownership is handed directly to the next waiter on
// release. A waiter whose context ends leaves the queue.
type fifoSemaphore struct {
	mu    sync.Mutex
	held  bool
	queue []chan struct{}
}

// acquire blocks until the slot is ours or ctx ends (then it returns ctx.Err()).
func (s *fifoSemaphore) acquire(ctx context.Context) error {
	s.mu.Lock()
	if !s.held {
		s.held = true
		s.mu.Unlock()
		return nil
	}
	ticket := make(chan struct{})
	s.queue = append(s.queue, ticket)
	s.mu.Unlock()

	select {
	case <-ticket:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		if i := slices.Index(s.queue, ticket); i >= 0 {
			s.queue = slices.Delete(s.queue, i, i+1)
			s.mu.Unlock()
			return ctx.Err()
		}
		s.mu.Unlock()
		// The slot was handed to us while we were giving up: pass it on.
		s.release()
		return ctx.Err()
	}
}

// release hands the slot to the oldest waiter, or frees it.
func (s *fifoSemaphore) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) > 0 {
		next := s.queue[0]
		s.queue = s.queue[1:]
		close(next)
		return
	}
	s.held = false
}

// depth is the number of requests holding or waiting for the slot.
func (s *fifoSemaphore) depth() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.queue)
	if s.held {
		n++
	}
	return n
}
