package fakerouter

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestChatSessionHeader(t *testing.T) {
	f := newFixture(t, Config{})
	sid := f.open("1800")
	body := `{"stream":false,"messages":[{"role":"user","content":"hi"}]}`
	for _, stream := range []bool{false, true} {
		b := strings.Replace(body, "false", fmt.Sprint(stream), 1)
		// X-Session-ID and ?session_id= are ignored: the router looks for a local model.
		expect(t, f.do("POST", "/v1/chat/completions", b, header("X-Session-ID", sid)), 500, "application/json", `{"error":"api adapter not found: "}`)
		expect(t, f.do("POST", "/v1/chat/completions?session_id="+sid, b), 500, "application/json", `{"error":"api adapter not found: "}`)
		// Malformed header and body are 400 JSON, even with stream:true.
		expect(t, f.do("POST", "/v1/chat/completions", b, sessionHdr("0x1234")), 400, "application/json", `{"error":"invalid hash length"}`)
		expect(t, f.do("POST", "/v1/chat/completions", b, sessionHdr("0xnothex")), 400, "application/json", `encoding/hex: invalid byte`)
		expect(t, f.do("POST", "/v1/chat/completions", `{"stream":`+fmt.Sprint(stream)+`,"messages":`, sessionHdr(sid)), 400, "application/json", `{"error":"unexpected EOF"}`)
	}
	expect(t, f.do("POST", "/v1/chat/completions", `{"stream":"yes"}`, sessionHdr(sid)), 400, "application/json", "json: cannot unmarshal")
	// session_id without 0x, upper case, works.
	expect(t, f.do("POST", "/v1/chat/completions", body, sessionHdr(strings.ToUpper(sid[2:]))), 200, "application/json", "echo: hi")
}

func TestChatNonStreamJSON(t *testing.T) {
	for _, v := range []Version{Current, V4} {
		t.Run(string(v), func(t *testing.T) {
			f := newFixture(t, Config{Version: v})
			sid := f.open("1800")
			res := f.chat(sid, false, "hello <big> world")
			expect(t, res, 200, "application/json", `"content":"echo: hello \u003cbig\u003e world"`)
			var keys []string
			dec := json.NewDecoder(strings.NewReader(res.body))
			dec.Token() // {
			for dec.More() {
				k, _ := dec.Token()
				keys = append(keys, k.(string))
				var skip json.RawMessage
				dec.Decode(&skip)
			}
			want := "choices,created,id,model,object,usage"
			if v == Current {
				want += ",usage_from_consumer,usage_from_provider"
			}
			if strings.Join(keys, ",") != want {
				t.Fatalf("top-level keys %v, want %s", keys, want)
			}
			m := res.json(t)
			if v == Current {
				u := m["usage_from_consumer"].(map[string]any)
				// prompt: 3 words; completion: "echo: hello <big> world" = 4 words.
				if u["prompt_tokens"] != 3.0 || u["completion_tokens"] != 4.0 || u["total_tokens"] != 7.0 {
					t.Fatalf("usage_from_consumer %v", u)
				}
			}
			if m["model"] != "llama-3.3-70b" || m["object"] != "chat.completion" {
				t.Fatalf("body %v", m)
			}
		})
	}
}

func TestChatContentParts(t *testing.T) {
	f := newFixture(t, Config{})
	sid := f.open("1800")
	body := `{"messages":[{"role":"system","content":"be nice"},{"role":"user","content":[{"type":"text","text":"describe "},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"this"}]}]}`
	expect(t, f.do("POST", "/v1/chat/completions", body, sessionHdr(sid)), 200, "", `"content":"echo: describe this"`)
}

// readEvents reads an SSE body incrementally and records when each complete
// event arrived.
func readEvents(t *testing.T, res *http.Response) (events []string, at []time.Time, tail string) {
	t.Helper()
	br := bufio.NewReader(res.Body)
	var buf bytes.Buffer
	chunk := make([]byte, 4096)
	for {
		n, err := br.Read(chunk)
		buf.Write(chunk[:n])
		for {
			i := bytes.Index(buf.Bytes(), []byte("\n\n"))
			if i < 0 {
				break
			}
			events = append(events, strings.TrimPrefix(string(buf.Next(i + 2)[:i]), "data: "))
			at = append(at, time.Now())
		}
		if err != nil {
			return events, at, buf.String()
		}
	}
}

func TestStreamOneFlushPerEvent(t *testing.T) {
	const delay = 40 * time.Millisecond
	f := newFixture(t, Config{StreamChunkDelay: delay})
	sid := f.open("1800")
	req, _ := http.NewRequest("POST", f.srv.URL+"/v1/chat/completions", strings.NewReader(`{"stream":true,"messages":[{"role":"user","content":"one two three"}]}`))
	req.SetBasicAuth("admin", "fake")
	req.Header.Set("session_id", sid)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" || res.Header.Get("X-Request-Id") == "" {
		t.Fatalf("%d %v", res.StatusCode, res.Header)
	}
	events, at, tail := readEvents(t, res)
	// role + "echo:" + 3 words + finish + [DONE]
	if len(events) != 7 || tail != "" {
		t.Fatalf("events %q tail %q", events, tail)
	}
	// Events arrive one by one (tolerate one gap squeezed by a stalled reader
	// on a loaded machine; flushRecorder below checks the flushes exactly).
	squeezed := 0
	for i := 1; i < len(events)-1; i++ { // [DONE] follows the last chunk without a delay
		if at[i].Sub(at[i-1]) < delay/2 {
			squeezed++
		}
	}
	if squeezed > 1 {
		t.Fatalf("%d of %d events arrived together with the previous one: not flushed separately", squeezed, len(events)-2)
	}
}

// flushRecorder records the bytes written between flushes.
type flushRecorder struct {
	*httptest.ResponseRecorder
	segments []string
	last     int
}

func (f *flushRecorder) Flush() {
	b := f.Body.String()
	f.segments = append(f.segments, b[f.last:])
	f.last = len(b)
	f.ResponseRecorder.Flush()
}

func TestStreamFlushesEachEventExactly(t *testing.T) {
	for _, v := range []Version{Current, V4} {
		f := newFixture(t, Config{Version: v})
		sid := f.open("1800")
		req := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(`{"stream":true,"messages":[{"role":"user","content":"one two"}]}`))
		req.SetBasicAuth("admin", "fake")
		req.Header.Set("session_id", sid)
		rec := &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
		f.r.ServeHTTP(rec, req)
		events, _ := sseEvents(rec.Body.String())
		if len(rec.segments) != len(events) || rec.last != rec.Body.Len() {
			t.Fatalf("%s: %d flushes for %d events", v, len(rec.segments), len(events))
		}
		for i, seg := range rec.segments {
			if !strings.HasPrefix(seg, "data: ") || !strings.HasSuffix(seg, "\n\n") || strings.Count(seg, "data: ") != 1 {
				t.Fatalf("%s: flush %d wrote %q, want exactly one event", v, i, seg)
			}
		}
	}
}

func TestStreamTerminationPerVersion(t *testing.T) {
	for _, v := range []Version{Current, V4} {
		t.Run(string(v), func(t *testing.T) {
			f := newFixture(t, Config{Version: v})
			sid := f.open("1800")
			res := f.chat(sid, true, "hello world")
			expect(t, res, 200, "text/event-stream", "")
			if !strings.HasPrefix(res.body, "data: {") {
				t.Fatalf("body %q", res.body)
			}
			events, tail := sseEvents(res.body)
			if tail != "" {
				t.Fatalf("tail %q", tail)
			}
			var content strings.Builder
			for _, e := range events {
				var c struct {
					Choices []struct {
						Delta struct{ Content string }
					}
				}
				if json.Unmarshal([]byte(e), &c) == nil && len(c.Choices) > 0 {
					content.WriteString(c.Choices[0].Delta.Content)
				}
			}
			if content.String() != "echo: hello world" {
				t.Fatalf("streamed content %q", content.String())
			}
			final := events[len(events)-1]
			if v == Current {
				if final != "[DONE]" || !strings.HasSuffix(res.body, "\n\ndata: [DONE]\n\n") {
					t.Fatalf("current must end with the literal data: [DONE]: %q", res.body)
				}
				final = events[len(events)-2]
			} else if strings.Contains(res.body, "[DONE]") {
				t.Fatalf("v4 sent [DONE]: %q", res.body)
			}
			if !strings.Contains(final, `"finish_reason":"stop"`) || !strings.Contains(final, `"usage":{`) {
				t.Fatalf("final chunk %s", final)
			}
			hasRouterUsage := strings.Contains(final, `"usage_from_provider":{`) && strings.Contains(final, `"usage_from_consumer":{`)
			if hasRouterUsage != (v == Current) || strings.Count(res.body, "usage_from_provider") != map[bool]int{true: 1, false: 0}[v == Current] {
				t.Fatalf("usage_from_* on the final chunk only in current: %s", res.body)
			}
		})
	}
}

func TestChatExpiryUsesFakeClock(t *testing.T) {
	for _, c := range []struct {
		v    Version
		want string
	}{{Current, `{"error":"provider request failed: provider error: session expired"}`}, {V4, `{"error":"session expired"}`}} {
		t.Run(string(c.v), func(t *testing.T) {
			f := newFixture(t, Config{Version: c.v})
			sid := f.open("600")
			f.r.Advance(599 * time.Second)
			expect(t, f.chat(sid, false, "still fine"), 200, "", "echo: still fine")
			f.r.Advance(2 * time.Second)
			expect(t, f.chat(sid, false, "late"), 500, "application/json", c.want)
			// stream:true: 500 with the SSE content type and a JSON body.
			expect(t, f.chat(sid, true, "late"), 500, "text/event-stream", c.want)
			other := f.open("1800")
			f.r.ExpireSession(other)
			expect(t, f.chat(other, false, "x"), 500, "", "session expired")
		})
	}
}

func TestStreamSessionErrorsCarrySSEContentType(t *testing.T) {
	f := newFixture(t, Config{})
	unknown := "0x" + strings.Repeat("ef", 32)
	res := f.chat(unknown, true, "x")
	if res.status != 500 || res.contentType() != "text/event-stream" || res.body != `{"error":"session not found"}` {
		t.Fatalf("%d %q %q", res.status, res.contentType(), res.body)
	}
}

func TestClosedSessionStillServesUntilEndsAt(t *testing.T) {
	f := newFixture(t, Config{})
	sid := f.open("1800")
	expect(t, f.do("POST", "/blockchain/sessions/"+sid+"/close", ""), 200, "", "")
	expect(t, f.chat(sid, false, "after close"), 200, "", "echo: after close")
	f.r.Advance(31 * time.Minute)
	expect(t, f.chat(sid, false, "after end"), 500, "", "session expired")
}

func TestFIFOSerialisationCurrent(t *testing.T) {
	f := newFixture(t, Config{StreamChunkDelay: 5 * time.Millisecond})
	sid := f.open("1800")
	const n = 5
	var wg sync.WaitGroup
	var mu sync.Mutex
	var finished []string
	for i := range n {
		id := fmt.Sprintf("req-%d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := f.chat(sid, i%2 == 0, "a b c", header("X-Request-Id", id))
			if res.status != 200 {
				t.Errorf("%s: %d %s", id, res.status, res.body)
			}
			mu.Lock()
			finished = append(finished, id)
			mu.Unlock()
		}()
		// Arrival order is deterministic: wait until this one holds or queues for the slot.
		eventually(t, "queueing", func() bool {
			st, _ := f.r.Session(sid)
			return f.r.QueueDepth(sid)+len(st.ServedRequestIDs) >= i+1
		})
	}
	wg.Wait()
	st, _ := f.r.Session(sid)
	want := []string{"req-0", "req-1", "req-2", "req-3", "req-4"}
	if fmt.Sprint(st.ServedRequestIDs) != fmt.Sprint(want) || fmt.Sprint(finished) != fmt.Sprint(want) {
		t.Fatalf("served %v, client saw %v, want %v", st.ServedRequestIDs, finished, want)
	}
	if c := f.r.Counters(); c.ChatConcurrentMax != 1 || st.MaxConcurrent != 1 {
		t.Fatalf("concurrency %d/%d, want 1", c.ChatConcurrentMax, st.MaxConcurrent)
	}
}

func TestParallelPromptsV4(t *testing.T) {
	f := newFixture(t, Config{Version: V4, StreamChunkDelay: 30 * time.Millisecond})
	sid := f.open("1800")
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			expect(t, f.chat(sid, false, "x y"), 200, "", "echo: x y")
		}()
	}
	wg.Wait()
	if got := f.r.Counters().ChatConcurrentMax; got < 2 {
		t.Fatalf("v4 ran prompts one at a time (max %d)", got)
	}
}

func TestQueueCancelled(t *testing.T) {
	f := newFixture(t, Config{StreamChunkDelay: 20 * time.Millisecond})
	sid := f.open("1800")
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.chat(sid, true, "a long answer here")
	}()
	eventually(t, "first prompt running", func() bool { return f.r.QueueDepth(sid) == 1 })

	// Drive the handler directly so the 500 the router writes is observable.
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequestWithContext(ctx, "POST", "/v1/chat/completions", strings.NewReader(`{"stream":true,"messages":[]}`))
	req.SetBasicAuth("admin", "fake")
	req.Header.Set("session_id", sid)
	rec := httptest.NewRecorder()
	served := make(chan struct{})
	go func() { f.r.ServeHTTP(rec, req); close(served) }()
	eventually(t, "second prompt queued", func() bool { return f.r.QueueDepth(sid) == 2 })
	cancel()
	<-served
	if rec.Code != 500 || rec.Body.String() != `{"error":"request cancelled while waiting in queue: context canceled"}` || rec.Header().Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
	}
	if c := f.r.Counters(); c.QueueCancelled != 1 {
		t.Fatalf("QueueCancelled %d", c.QueueCancelled)
	}
	<-done
	expect(t, f.chat(sid, false, "after"), 200, "", "echo: after") // the slot was not leaked
}
