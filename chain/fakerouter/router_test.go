package fakerouter

import "testing"

func TestBasicAuth(t *testing.T) {
	f := newFixture(t, Config{})
	cases := []struct {
		name string
		opt  opt
		want string
	}{
		{"missing", noAuth(), `{"error":"no basic auth provided"}`},
		{"wrong password", basic("admin", "nope"), `{"error":"invalid username or password"}`},
		{"wrong user", basic("root", "fake"), `{"error":"invalid username or password"}`},
		{"empty password", basic("admin", ""), `{"error":"invalid basic auth provided"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := f.do("GET", "/blockchain/models", "", c.opt)
			if res.status != 401 || res.body != c.want || res.contentType() != "application/json; charset=utf-8" {
				t.Fatalf("got %d %q %q", res.status, res.contentType(), res.body)
			}
		})
	}
	if res := f.do("GET", "/blockchain/models", ""); res.status != 200 {
		t.Fatalf("good credentials: %d %s", res.status, res.body)
	}
	if res := f.do("GET", "/healthcheck", "", noAuth()); res.status != 200 {
		t.Fatalf("healthcheck needs no auth: %d", res.status)
	}
	if got := f.r.Counters().Unauthorized; got != 4 {
		t.Fatalf("Unauthorized = %d", got)
	}
	if h := f.r.LastHeaders(EndpointModels); h.Get("Authorization") == "" {
		t.Fatal("LastHeaders lacks Authorization")
	}
}

func TestHealthcheckPerVersion(t *testing.T) {
	f := newFixture(t, Config{})
	m := f.do("GET", "/healthcheck", "", noAuth()).json(t)
	for _, k := range []string{"status", "version", "uptime", "components"} {
		if _, ok := m[k]; !ok {
			t.Fatalf("current healthcheck lacks %q: %v", k, m)
		}
	}
	f.r.SetVersion(V4)
	m = f.do("GET", "/healthcheck", "", noAuth()).json(t)
	if m["Status"] != "healthy" || m["Version"] == nil || m["Uptime"] == nil || m["status"] != nil {
		t.Fatalf("v4 healthcheck: %v", m)
	}
}

func TestUnknownRouteAndWrongMethod404(t *testing.T) {
	f := newFixture(t, Config{})
	for _, c := range []struct{ method, path string }{
		{"GET", "/nope"},
		{"GET", "/v1/chat/completions"},
		{"POST", "/blockchain/models"},
		{"DELETE", "/blockchain/sessions/" + f.bidID},
		{"GET", "/blockchain/models/" + f.modelID + "/session"},
	} {
		for _, o := range []opt{noAuth(), basic("admin", "fake")} {
			res := f.do(c.method, c.path, "", o)
			if res.status != 404 || res.body != "404 page not found" || res.contentType() != "text/plain" {
				t.Fatalf("%s %s: %d %q %q", c.method, c.path, res.status, res.contentType(), res.body)
			}
		}
	}
}

func TestRequestIDAndHeaders(t *testing.T) {
	f := newFixture(t, Config{})
	sid := f.open("1800")
	res := f.chat(sid, false, "hi", header("X-Request-Id", "abc-123"))
	if got := res.header.Get("X-Request-Id"); got != "abc-123" {
		t.Fatalf("X-Request-Id echoed as %q", got)
	}
	if got := f.do("GET", "/blockchain/models", "").header.Get("X-Request-Id"); got == "" {
		t.Fatal("no generated X-Request-Id")
	}
	h := f.r.LastHeaders(EndpointChat)
	if h.Get("session_id") != sid || h.Get("X-Request-Id") != "abc-123" {
		t.Fatalf("LastHeaders: %v", h)
	}
	f.r.SetVersion(V4)
	if got := f.do("GET", "/blockchain/models", "").header.Get("X-Request-Id"); got != "" {
		t.Fatalf("v4 sets X-Request-Id %q", got)
	}
}

func TestCounters(t *testing.T) {
	f := newFixture(t, Config{})
	sid := f.open("1800")
	f.chat(sid, false, "a")
	f.do("GET", "/blockchain/sessions/"+sid, "")
	f.do("GET", "/blockchain/models/"+f.modelID+"/bids/rated", "")
	f.do("POST", "/blockchain/sessions/"+sid+"/close", "")
	c := f.r.Counters()
	if c.Opens != 1 || c.Chats != 1 || c.SessionGets != 1 || c.RatedBids != 1 || c.Closes != 1 || c.OpenInFlightMax != 1 || c.OpenInFlight != 0 {
		t.Fatalf("counters: %+v", c)
	}
	if c.Calls[EndpointChat] != 1 {
		t.Fatalf("Calls: %v", c.Calls)
	}
}
