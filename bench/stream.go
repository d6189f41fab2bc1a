package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// streamPrefix marks the X-Request-Id of the streaming probes; the tap
// paces and timestamps only those responses.
const streamPrefix = "bstream-"

// tap sits in front of the fake router (same process, so the clock is
// shared with the client). For a request whose X-Request-Id starts with
// streamPrefix it spaces the fake's writes gap apart (the fake writes and
// flushes one SSE event per Write) and records when each event was handed
// to the socket: the upstream side of the event delay. Everything else
// passes straight through.
type tap struct {
	h   http.Handler
	gap time.Duration

	mu     sync.Mutex
	writes map[string][]time.Time // request id → write time of each event
}

func newTap(h http.Handler, gap time.Duration) *tap {
	return &tap{h: h, gap: gap, writes: map[string][]time.Time{}}
}

func (t *tap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rid := r.Header.Get("X-Request-Id")
	if !strings.HasPrefix(rid, streamPrefix) {
		t.h.ServeHTTP(w, r)
		return
	}
	tw := &tapWriter{ResponseWriter: w, gap: t.gap}
	t.h.ServeHTTP(tw, r)
	t.mu.Lock()
	t.writes[rid] = tw.times
	t.mu.Unlock()
}

// take returns and forgets the write times of request rid.
func (t *tap) take(rid string) []time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.writes[rid]
	delete(t.writes, rid)
	return w
}

type tapWriter struct {
	http.ResponseWriter
	gap   time.Duration
	times []time.Time
}

// Write spaces events gap apart and records the time just before the
// event is written (it reaches the socket at the fake's Flush right after).
func (w *tapWriter) Write(b []byte) (int, error) {
	if bytes.HasPrefix(b, []byte("data:")) {
		if len(w.times) > 0 {
			time.Sleep(w.gap)
		}
		w.times = append(w.times, time.Now())
	}
	return w.ResponseWriter.Write(b)
}

func (w *tapWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *tapWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// streamResult is the event delays of one target.
type streamResult struct {
	Streams, Events      int
	Mismatched           int // streams whose event count differs upstream vs client
	Delays               []time.Duration
	P50, P99, Max        time.Duration
	Within1ms            float64 // fraction of events delivered within 1 ms
	TTFBFirstEventMedian time.Duration
}

// streamBody is a streaming chat whose reply has events SSE events
// (role chunk, one per word, final chunk, [DONE]).
func streamBody(events int) []byte {
	words := max(events-4, 1) // "echo:" is a word of the reply too
	var b strings.Builder
	for i := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "w%d", i)
	}
	return fmt.Appendf(nil, `{"model":%q,"stream":true,"messages":[{"role":"user","content":%q}]}`, modelName, b.String())
}

// runStreams runs n concurrent streams against tg and pairs each event's
// arrival with its upstream write.
func runStreams(ctx context.Context, tp *tap, tg *target, n, events int, round int) (streamResult, error) {
	body := streamBody(events)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, DisableCompression: true}}
	defer client.CloseIdleConnections()
	type one struct {
		arrivals, writes []time.Time
		start            time.Time
		err              error
	}
	res := make([]one, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rid := fmt.Sprintf("%s%s-%d-%d", streamPrefix, tg.name, round, i)
			req, err := http.NewRequestWithContext(ctx, "POST", tg.url, bytes.NewReader(body))
			if err != nil {
				res[i].err = err
				return
			}
			req.Header = tg.headers[i%len(tg.headers)].Clone()
			req.Header.Set("X-Request-Id", rid)
			req.Header.Set("Accept", "text/event-stream")
			res[i].start = time.Now()
			resp, err := client.Do(req)
			if err != nil {
				res[i].err = err
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b, _ := io.ReadAll(resp.Body)
				res[i].err = fmt.Errorf("%s: stream status %d: %s", tg.name, resp.StatusCode, bytes.TrimSpace(b))
				return
			}
			br := bufio.NewReaderSize(resp.Body, 64<<10)
			inEvent := false
			for {
				line, err := br.ReadSlice('\n')
				if len(line) > 0 {
					switch {
					case bytes.HasPrefix(line, []byte("data:")):
						inEvent = true
					case len(bytes.TrimSpace(line)) == 0 && inEvent:
						res[i].arrivals = append(res[i].arrivals, time.Now())
						inEvent = false
					}
				}
				if err != nil {
					if !errors.Is(err, io.EOF) {
						res[i].err = err
					}
					break
				}
			}
			res[i].writes = tp.take(rid)
		}()
	}
	wg.Wait()
	var out streamResult
	var firsts []time.Duration
	for _, r := range res {
		if r.err != nil {
			return out, r.err
		}
		out.Streams++
		if len(r.arrivals) != len(r.writes) {
			out.Mismatched++
		}
		for j := range min(len(r.arrivals), len(r.writes)) {
			out.Delays = append(out.Delays, r.arrivals[j].Sub(r.writes[j]))
		}
		if len(r.arrivals) > 0 {
			firsts = append(firsts, r.arrivals[0].Sub(r.start))
		}
	}
	out.Events = len(out.Delays)
	summarizeStream(&out)
	if len(firsts) > 0 {
		slices.Sort(firsts)
		out.TTFBFirstEventMedian = firsts[len(firsts)/2]
	}
	return out, nil
}

func summarizeStream(s *streamResult) {
	if len(s.Delays) == 0 {
		return
	}
	d := slices.Clone(s.Delays)
	slices.Sort(d)
	s.P50 = pct(d, 0.50)
	s.P99 = pct(d, 0.99)
	s.Max = d[len(d)-1]
	within := 0
	for _, x := range d {
		if x <= time.Millisecond {
			within++
		}
	}
	s.Within1ms = float64(within) / float64(len(d))
}
