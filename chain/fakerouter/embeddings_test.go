package fakerouter

import (
	"encoding/json"
	"testing"
)

func TestEmbeddings(t *testing.T) {
	f := newFixture(t, Config{})
	emb := f.r.AddModel(Model{Name: "text-embedding-bge-m3", Tags: []string{"embedding"}})
	f.r.AddBid(emb, Bid{Score: 1})
	f.modelID = emb
	sid := f.open("1800")

	res := f.do("POST", "/v1/embeddings", `{"input":["first text","second text here"],"encoding_format":"float"}`, sessionHdr(sid))
	expect(t, res, 200, "application/json", `{"object":"list","data":[{"object":"embedding","embedding":[`)
	var body struct {
		Data []struct {
			Embedding []float32
			Index     int
		}
		Model string
		Usage struct {
			PromptTokens int `json:"prompt_tokens"`
			TotalTokens  int `json:"total_tokens"`
		}
	}
	if err := json.Unmarshal([]byte(res.body), &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Data) != 2 || body.Data[1].Index != 1 || len(body.Data[0].Embedding) != 8 ||
		body.Model != "text-embedding-bge-m3" || body.Usage.PromptTokens != 5 || body.Usage.TotalTokens != 5 {
		t.Fatalf("body %s", res.body)
	}
	for i, in := range []string{"first text", "second text here"} {
		want := Vector(in, 8)
		for j := range want {
			if body.Data[i].Embedding[j] != want[j] {
				t.Fatalf("vector %d not deterministic", i)
			}
		}
	}
	res = f.do("POST", "/v1/embeddings", `{"input":"one","dimensions":40}`, sessionHdr(sid))
	if json.Unmarshal([]byte(res.body), &body) != nil || len(body.Data) != 1 || len(body.Data[0].Embedding) != 40 {
		t.Fatalf("dimensions: %s", res.body)
	}
	if f.r.Counters().Embeddings != 2 {
		t.Fatal("Embeddings counter")
	}

	// Same header/session rules as chat.
	expect(t, f.do("POST", "/v1/embeddings", `{"input":"x"}`), 500, "application/json", `{"error":"api adapter not found: "}`)
	expect(t, f.do("POST", "/v1/embeddings", `{"input":"x"}`, sessionHdr("0x12")), 400, "", `invalid hash length`)
	f.r.ExpireSession(sid)
	expect(t, f.do("POST", "/v1/embeddings", `{"input":"x"}`, sessionHdr(sid)), 500, "", `provider request failed: provider error: session expired`)

	// v4 has no embeddings route.
	f.r.SetVersion(V4)
	res = f.do("POST", "/v1/embeddings", `{"input":"x"}`, sessionHdr(sid))
	if res.status != 404 || res.body != "404 page not found" {
		t.Fatalf("v4: %d %q", res.status, res.body)
	}
}
