package fakerouter

import (
	"strings"
	"testing"
	"time"
)

func TestPromptModes(t *testing.T) {
	cases := []struct {
		mode        Mode
		status      int
		contentType string // for stream:true; non-stream is always JSON
		body        string // exact body
	}{
		{ModeUnreachable, 500, "text/event-stream", `{"error":"provider request failed: failed to connect to provider: dial tcp 10.0.0.9:3333: connect: connection refused"}`},
		{ModeSlowFirstByte, 500, "text/event-stream", `{"error":"provider request failed: read timed out after 3 retries: i/o timeout"}`},
		{ModeSilentClose, 500, "text/event-stream", `{"error":"provider request failed: provider closed connection without sending any data"}`},
		{ModeRateLimited, 400, "application/json", `{"providerModelError":{"error":{"message":"Rate limit exceeded","type":"rate_limit_error"}}}`},
		{ModeRateLimitedStatus, 429, "application/json", `{"providerModelError":{"error":{"message":"Rate limit exceeded","type":"rate_limit_error"}},"statusCode":429}`},
		{ModeBackendAuth, 400, "application/json", `{"providerModelError":{"error":"Authentication failed"}}`},
		{ModeForeignInstance, 500, "text/event-stream", `{"error":"provider not found"}`},
		{ModeTEEFail, 500, "text/event-stream", `{"error":"p-node tee attestation failed: quote invalid"}`},
	}
	for _, c := range cases {
		t.Run(string(c.mode), func(t *testing.T) {
			f := newFixture(t, Config{FirstByteTimeout: 10 * time.Millisecond})
			tee := f.r.AddModel(Model{Name: "tee-model", Tags: []string{"llm", "tee"}})
			f.r.AddBid(tee, Bid{Score: 1})
			f.modelID = tee
			sid := f.open("1800")
			st, _ := f.r.Session(sid)
			if n := f.r.SetMode(st.Provider, c.mode); n != 1 { // switched at runtime, by provider
				t.Fatalf("SetMode changed %d bids", n)
			}
			expect(t, f.chat(sid, false, "hi"), c.status, "application/json", "")
			res := f.chat(sid, true, "hi")
			if res.status != c.status || res.body != c.body || !strings.HasPrefix(res.contentType(), c.contentType) {
				t.Fatalf("stream: %d %q %q", res.status, res.contentType(), res.body)
			}
			f.r.SetMode(sid2bid(f, sid), ModeOK)
			expect(t, f.chat(sid, false, "ok again"), 200, "", "echo: ok again")
		})
	}
}

func sid2bid(f *fixture, sid string) string {
	st, _ := f.r.Session(sid)
	return st.BidID
}

func TestNoCapacityServesPrompts(t *testing.T) {
	f := newFixture(t, Config{})
	sid := f.open("1800")
	f.r.SetMode(f.bidID, ModeNoCapacity)
	expect(t, f.chat(sid, false, "x"), 200, "", "echo: x")
	expect(t, f.do("POST", "/blockchain/models/"+f.modelID+"/session", `{"sessionDuration":1800}`), 500, "", "no capacity")
}

func TestTEEFailOnlyForTEEModels(t *testing.T) {
	f := newFixture(t, Config{})
	f.r.SetMode(f.bidID, ModeTEEFail)
	sid := f.open("1800") // not a TEE model: accepted
	expect(t, f.chat(sid, false, "x"), 200, "", "echo: x")

	tee := f.r.AddModel(Model{Name: "tee", Tags: []string{"TEE"}})
	f.r.AddBid(tee, Bid{Mode: ModeTEEFail})
	expect(t, f.do("POST", "/blockchain/models/"+tee+"/session", `{"sessionDuration":1800}`), 500, "", "p-node tee attestation failed")
}

func TestDieMidstream(t *testing.T) {
	f := newFixture(t, Config{})
	sid := f.open("1800")

	f.r.SetMode(f.bidID, ModeDieMidstreamEOF)
	res := f.chat(sid, true, "a b c d")
	events, tail := sseEvents(res.body)
	if res.status != 200 || len(events) != 2 || tail != "" || strings.Contains(res.body, "[DONE]") || strings.Contains(res.body, "error") {
		t.Fatalf("eof: %d %q", res.status, res.body)
	}

	f.r.SetMode(f.bidID, ModeDieMidstreamErr)
	res = f.chat(sid, true, "a b c d")
	events, tail = sseEvents(res.body)
	if res.status != 200 || len(events) != 2 || tail != `{"error":"provider request failed: invalid response: unexpected EOF"}` ||
		strings.Contains(res.body, "[DONE]") || strings.Contains(res.body, "data: {\"error\"") {
		t.Fatalf("err: %d %q (tail %q)", res.status, res.body, tail)
	}
	expect(t, f.chat(sid, false, "a"), 500, "application/json", "unexpected EOF")
}
