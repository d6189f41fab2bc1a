package morpheus

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/openai/openai-go"
	"github.com/openai/openai-go/option"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/morpheus-gateway/caddy-morpheus/chain/fakerouter"
	"github.com/morpheus-gateway/caddy-morpheus/store/postgres/pgtest"
)

// e2eGateway runs Caddy with the plugin in front of a fake proxy-router
// serving a chat model and an embedding model.
type e2eGateway struct {
	tester *caddytest.Tester
	fake   *fakerouter.Router
	srv    *httptest.Server
}

func startE2E(t *testing.T, databaseURL string) *e2eGateway {
	t.Helper()
	return startE2EAt(t, databaseURL, "")
}

// startE2EAt serves the fake router under pathPrefix (e.g. "/router", as
// behind a path-routing load balancer).
func startE2EAt(t *testing.T, databaseURL, pathPrefix string) *e2eGateway {
	t.Helper()
	fake := fakerouter.New(fakerouter.Config{Username: "admin", Password: "fake", MinedDelay: 2 * time.Second})
	llama := fake.AddModel(fakerouter.Model{Name: "llama-3.3-70b", Tags: []string{"llm", "llama-3.3-70b"}})
	fake.AddBid(llama, fakerouter.Bid{Score: 0.9})
	embed := fake.AddModel(fakerouter.Model{Name: "text-embedding-bge-m3", Tags: []string{"embedding"}})
	fake.AddBid(embed, fakerouter.Bid{Score: 0.9})
	var srv *httptest.Server
	if pathPrefix == "" {
		srv = fake.Start()
	} else {
		srv = httptest.NewServer(http.StripPrefix(pathPrefix, fake))
	}
	t.Cleanup(srv.Close)

	t.Setenv("MORPHEUS_TEST_DB", databaseURL)
	t.Setenv("MORPHEUS_TEST_JWT", "e2e-jwt-secret-0123456789abcdef")
	tester := newTester(t)
	tester.InitServer(fmt.Sprintf(`{
	skip_install_trust
	admin localhost:2999
	http_port 9080
	https_port 9443
	grace_period 1ns
	morpheus {
		database_url {env.MORPHEUS_TEST_DB}
		jwt_secret {env.MORPHEUS_TEST_JWT}
		default_model llama-3.3-70b
		router %s {
			username admin
			password fake
		}
	}
}
http://localhost:9080 {
	morpheus
}`, srv.URL+pathPrefix), "caddyfile")
	return &e2eGateway{tester: tester, fake: fake, srv: srv}
}

// newKey registers a user and returns a fresh API key and its id and the
// user's access token.
func (g *e2eGateway) newKey(t *testing.T, email string) (key string, id int64, access string) {
	t.Helper()
	call(t, g.tester, "POST", "/auth/register", "", map[string]string{"email": email, "password": "correct horse battery"}, http.StatusCreated)
	tokens := call(t, g.tester, "POST", "/auth/login", "", map[string]string{"email": email, "password": "correct horse battery"}, http.StatusOK)
	access, _ = tokens["access_token"].(string)
	k := call(t, g.tester, "POST", "/auth/keys", access, map[string]string{"name": "sdk"}, http.StatusCreated)
	key, _ = k["key"].(string)
	return key, int64(k["id"].(float64)), access
}

func sdk(key string) openai.Client {
	return openai.NewClient(
		option.WithBaseURL("http://localhost:9080/api/v1/"),
		option.WithAPIKey(key),
		option.WithMaxRetries(0),
		option.WithRequestTimeout(20*time.Second),
	)
}

func e2eFlow(t *testing.T, g *e2eGateway) {
	ctx := context.Background()
	key, keyID, access := g.newKey(t, "sdk@example.com")
	client := sdk(key)

	// Non-streaming chat.
	resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    "llama-3.3-70b",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello there gateway")},
	})
	if err != nil {
		t.Fatalf("chat: %v", err)
	}
	if len(resp.Choices) != 1 || resp.Choices[0].Message.Content != "echo: hello there gateway" {
		t.Fatalf("chat answer: %+v", resp.Choices)
	}
	if resp.Usage.TotalTokens == 0 {
		t.Errorf("no usage in %+v", resp.Usage)
	}
	if n := len(g.fake.Sessions()); n != 1 {
		t.Fatalf("upstream sessions after first chat = %d, want 1", n)
	}
	// From here on the key and its session are cached: the chats below must
	// not touch the database (last_used_at is written in the background).
	callsBefore := requestPathStoreCalls(t)
	if callsBefore == 0 {
		t.Fatal("morpheus_store_calls_total counted nothing: the store is not instrumented")
	}

	// Streaming chat: every chunk a separate event, in order, usage on the
	// final one.
	stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model:    "llama-3.3-70b",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("one two three four five")},
	})
	var content strings.Builder
	var chunks int
	var last openai.ChatCompletionChunk
	for stream.Next() {
		last = stream.Current()
		chunks++
		for _, c := range last.Choices {
			content.WriteString(c.Delta.Content)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if content.String() != "echo: one two three four five" {
		t.Fatalf("streamed content %q", content.String())
	}
	if chunks < 4 {
		t.Errorf("only %d chunks arrived; want one event per word", chunks)
	}
	if last.Usage.TotalTokens == 0 {
		t.Errorf("final chunk carries no usage: %+v", last)
	}
	if n := len(g.fake.Sessions()); n != 1 {
		t.Fatalf("the same model must reuse the session: %d upstream sessions", n)
	}
	if d := requestPathStoreCalls(t) - callsBefore; d != 0 {
		t.Fatalf("cached key and session: %v store calls, want 0", d)
	}

	// Models.
	models, err := client.Models.List(ctx)
	if err != nil {
		t.Fatalf("models: %v", err)
	}
	var names []string
	for _, m := range models.Data {
		names = append(names, m.ID)
		if m.Object != "model" || m.OwnedBy == "" {
			t.Errorf("model entry %+v", m)
		}
	}
	if !strings.Contains(strings.Join(names, ","), "llama-3.3-70b") {
		t.Errorf("models %v", names)
	}

	// A session expiring mid-conversation is renewed without the client
	// noticing.
	renewalsBefore := metricValue(t, "morpheus_session_renewals_total")
	sessions := g.fake.Sessions()
	g.fake.ExpireSession(sessions[len(sessions)-1].ID)
	resp, err = client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    "llama-3.3-70b",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("still there")},
	})
	if err != nil {
		t.Fatalf("chat after expiry: %v", err)
	}
	if resp.Choices[0].Message.Content != "echo: still there" {
		t.Fatalf("chat after expiry: %+v", resp.Choices)
	}
	if n := len(g.fake.Sessions()); n != 2 {
		t.Fatalf("renewal should open exactly one new session: %d upstream sessions", n)
	}
	if d := metricValue(t, "morpheus_session_renewals_total") - renewalsBefore; d != 1 {
		t.Errorf("morpheus_session_renewals_total grew by %v, want 1", d)
	}

	// Embeddings (another model: the key's session switches).
	emb, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{
		Model: "text-embedding-bge-m3",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"first", "second"}},
	})
	if err != nil {
		t.Fatalf("embeddings: %v", err)
	}
	if len(emb.Data) != 2 || len(emb.Data[0].Embedding) == 0 {
		t.Fatalf("embeddings: %+v", emb.Data)
	}

	// A revoked key gets the SDK's authentication error.
	call(t, g.tester, "DELETE", "/auth/keys/"+strconv.FormatInt(keyID, 10), access, nil, http.StatusOK)
	_, err = client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    "llama-3.3-70b",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello?")},
	})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("revoked key: err = %v, want a 401 openai.Error", err)
	}
}

func TestE2ESQLite(t *testing.T) {
	g := startE2E(t, "sqlite:"+filepath.Join(t.TempDir(), "e2e.db"))
	e2eFlow(t, g)
}

func TestE2EPostgres(t *testing.T) {
	g := startE2E(t, pgtest.NewDatabase(t))
	e2eFlow(t, g)
}

// requestPathStoreCalls sums morpheus_store_calls_total over every operation
// but the background last_used_at writes.
func requestPathStoreCalls(t *testing.T) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 64)
	go func() { storeCalls.Collect(ch); close(ch) }()
	var sum float64
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatal(err)
		}
		op := ""
		for _, l := range pb.GetLabel() {
			if l.GetName() == "op" {
				op = l.GetValue()
			}
		}
		if op != "TouchAPIKey" {
			sum += pb.GetCounter().GetValue()
		}
	}
	return sum
}

// metricValue sums the samples of the gateway metric called name.
func metricValue(t *testing.T, name string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	if err := registerMetrics(reg); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

// Through real Caddy: a router that is down is a 502 with the OpenAI error
// body, and a provider's backend rate limit reaches the SDK as 429.
func TestE2EUpstreamFailures(t *testing.T) {
	g := startE2E(t, "sqlite:"+filepath.Join(t.TempDir(), "e2e.db"))
	key, _, _ := g.newKey(t, "failures@example.com")
	client := sdk(key)
	ctx := context.Background()
	chat := func() error {
		_, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    "llama-3.3-70b",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		})
		return err
	}
	if err := chat(); err != nil {
		t.Fatalf("first chat: %v", err)
	}

	g.fake.SetMode(g.fake.Sessions()[0].Provider, fakerouter.ModeRateLimited)
	var apiErr *openai.Error
	if err := chat(); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("provider rate limit: %v, want 429", err)
	}
	if strings.Contains(apiErr.Message, "10.0.0.9") {
		t.Errorf("error leaks a provider address: %q", apiErr.Message)
	}

	g.srv.Close()
	if err := chat(); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadGateway || apiErr.Message == "" {
		t.Fatalf("router down: %v, want 502 with a message", err)
	}
}

// A router behind a path prefix: the control plane and the proxied chat
// both keep the prefix, also on the retry after a renewal.
func TestE2ERouterBehindPathPrefix(t *testing.T) {
	g := startE2EAt(t, "sqlite:"+filepath.Join(t.TempDir(), "e2e.db"), "/router")
	key, _, _ := g.newKey(t, "prefix@example.com")
	client := sdk(key)
	ask := func(q string) {
		t.Helper()
		resp, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
			Model:    "llama-3.3-70b",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(q)},
		})
		if err != nil {
			t.Fatalf("chat %q: %v", q, err)
		}
		if resp.Choices[0].Message.Content != "echo: "+q {
			t.Fatalf("chat %q: %+v", q, resp.Choices)
		}
	}
	ask("first")
	g.fake.ExpireSession(g.fake.Sessions()[0].ID)
	ask("after renewal")
	if n := len(g.fake.Sessions()); n != 2 {
		t.Fatalf("%d upstream sessions, want 2", n)
	}
}
