package fakerouter

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"strings"
)

// embeddingsRequest is the part of an OpenAI embeddings request the fake reads.
type embeddingsRequest struct {
	Input          json.RawMessage `json:"input"`
	Dimensions     int             `json:"dimensions"`
	EncodingFormat string          `json:"encoding_format"`
}

// inputs returns the inputs as strings: a string, an array of strings, or
// token arrays (each element's JSON text).
func (e embeddingsRequest) inputs() []string {
	var one string
	if json.Unmarshal(e.Input, &one) == nil {
		return []string{one}
	}
	var raw []json.RawMessage
	if json.Unmarshal(e.Input, &raw) != nil {
		return nil
	}
	// A flat token array is one input.
	var tokens []int
	if json.Unmarshal(e.Input, &tokens) == nil {
		return []string{string(e.Input)}
	}
	out := make([]string, len(raw))
	for i, r := range raw {
		if json.Unmarshal(r, &out[i]) != nil {
			out[i] = string(r)
		}
	}
	return out
}

// Vector returns the fake's deterministic embedding of input: dims values in
// [-1, 1) taken from sha256(input ‖ block counter). Exported so tests can
// compute expected vectors.
func Vector(input string, dims int) []float32 {
	if dims <= 0 {
		dims = 8
	}
	v := make([]float32, dims)
	var block []byte
	for i := range v {
		if i%32 == 0 {
			var ctr [4]byte
			binary.BigEndian.PutUint32(ctr[:], uint32(i/32))
			sum := sha256.Sum256(append([]byte(input), ctr[:]...))
			block = sum[:]
		}
		v[i] = float32(int(block[i%32])-128) / 128
	}
	return v
}

type embeddingDTO struct {
	Object    string    `json:"object"`
	Embedding []float32 `json:"embedding"`
	Index     int       `json:"index"`
}

type embeddingsUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// embeddingsResponse keeps go-openai's field order (it is re-marshalled
// through go-openai structs, not a map).
type embeddingsResponse struct {
	Object string          `json:"object"`
	Data   []embeddingDTO  `json:"data"`
	Model  string          `json:"model"`
	Usage  embeddingsUsage `json:"usage"`
}

// handleEmbeddings serves POST /v1/embeddings (current only; 404 in v4):
// the chat rules for header, session, expiry, semaphore and modes.
func (r *Router) handleEmbeddings(w http.ResponseWriter, req *http.Request, _ params) {
	sid, err := parseSessionHeader(req)
	if err != nil {
		r.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var body embeddingsRequest
	if err := json.NewDecoder(req.Body).Decode(&body); err != nil {
		r.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if sid == "" {
		r.writeError(w, http.StatusInternalServerError, errAdapterNotFound)
		return
	}
	run := r.beginPrompt(w, req, sid)
	if run == nil {
		return
	}
	defer run.release()
	switch {
	case run.mode == ModeDieMidstreamEOF || run.mode == ModeDieMidstreamErr:
		r.writeError(w, http.StatusInternalServerError, errUnexpectedEOF)
		return
	case body.EncodingFormat == "base64":
		r.writeError(w, http.StatusInternalServerError, "invalid response: unknown embeddings response format")
		return
	}
	inputs := body.inputs()
	if len(inputs) == 0 {
		r.providerModelError(w, http.StatusBadRequest, map[string]any{"providerModelError": map[string]any{
			"error": map[string]any{"message": "input is required", "type": "invalid_request_error"},
		}})
		return
	}
	if !sleepCtx(req.Context(), r.cfg.StreamChunkDelay) {
		return
	}
	resp := embeddingsResponse{Object: "list", Model: "fake-embed"}
	if run.model != nil {
		resp.Model = run.model.Name
	}
	for i, in := range inputs {
		resp.Data = append(resp.Data, embeddingDTO{Object: "embedding", Embedding: Vector(in, body.Dimensions), Index: i})
		resp.Usage.PromptTokens += len(strings.Fields(in))
	}
	resp.Usage.TotalTokens = resp.Usage.PromptTokens
	r.writeJSON(w, http.StatusOK, resp)
}
