package fakerouter

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// chatMessage is the part of an OpenAI chat message the fake reads. Content
// is a string or an array of content parts.
type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type chatRequest struct {
	Stream   bool          `json:"stream"`
	Messages []chatMessage `json:"messages"`
}

// text returns the message text: the string content, or the concatenated
// "text" parts of a content-part array.
func (m chatMessage) text() (string, error) {
	if len(m.Content) == 0 || string(m.Content) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(m.Content, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(m.Content, &parts); err != nil {
		return "", err
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String(), nil
}

// usage is an OpenAI usage object (map keys marshal sorted, like the router).
func usage(prompt, completion int) map[string]int {
	return map[string]int{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
}

// reply is the deterministic answer to a chat request.
type reply struct {
	content                    string
	promptWords, completion    int
	messages                   int
	id, model                  string
	created                    int64
	llmUsage, usageFromRouters map[string]int
}

func (r *Router) buildReply(body chatRequest, run *promptRun) (reply, error) {
	rep := reply{messages: len(body.Messages)}
	last := ""
	for _, m := range body.Messages {
		t, err := m.text()
		if err != nil {
			return rep, err
		}
		rep.promptWords += len(strings.Fields(t))
		if m.Role == "user" {
			last = t
		}
	}
	rep.content = "echo: " + last
	rep.completion = len(strings.Fields(rep.content))
	rep.usageFromRouters = usage(rep.promptWords, rep.completion)
	rep.llmUsage = usage(rep.promptWords+3*rep.messages, rep.completion+1)
	r.mu.Lock()
	r.completionSeq++
	rep.id = fmt.Sprintf("chatcmpl-fake%06d", r.completionSeq)
	r.mu.Unlock()
	rep.model = "fake-model"
	if run.model != nil {
		rep.model = run.model.Name
	}
	rep.created = r.clock.now().Unix()
	return rep, nil
}

// handleChat serves POST /v1/chat/completions.
func (r *Router) handleChat(w http.ResponseWriter, req *http.Request, _ params) {
	sid, err := parseSessionHeader(req)
	if err != nil {
		r.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var body chatRequest
	if err := json.NewDecoder(req.Body).Decode(&body); err != nil {
		r.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	for _, m := range body.Messages {
		if _, err := m.text(); err != nil {
			r.writeError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	if sid == "" {
		r.writeError(w, http.StatusInternalServerError, errAdapterNotFound)
		return
	}
	if body.Stream {
		// Set before the session checks, so their 500s carry it (§2.7.4).
		w.Header().Set("Content-Type", contentSSE)
	}
	run := r.beginPrompt(w, req, sid)
	if run == nil {
		return
	}
	defer run.release()
	rep, _ := r.buildReply(body, run)
	v := r.Version()
	chunks := rep.chunks(v)
	if !body.Stream {
		if run.mode == ModeDieMidstreamEOF || run.mode == ModeDieMidstreamErr {
			r.writeError(w, http.StatusInternalServerError, errUnexpectedEOF)
			return
		}
		// Generation takes as long as the stream would.
		if !sleepCtx(req.Context(), time.Duration(len(chunks)-1)*r.cfg.StreamChunkDelay) {
			return
		}
		r.writeJSON(w, http.StatusOK, rep.completionBody(v))
		return
	}
	r.stream(w, req, run.mode, chunks, v)
}

func (rep reply) chunk(choice map[string]any) map[string]any {
	return map[string]any{
		"choices": []any{choice}, "created": rep.created, "id": rep.id,
		"model": rep.model, "object": "chat.completion.chunk",
	}
}

// chunks are the SSE payloads: the role, one per word, then the finish
// chunk carrying usage (and usage_from_* in current).
func (rep reply) chunks(v Version) []map[string]any {
	out := []map[string]any{rep.chunk(map[string]any{
		"delta": map[string]any{"content": "", "role": "assistant"}, "finish_reason": nil, "index": 0,
	})}
	words := strings.Fields(rep.content)
	for i, word := range words {
		if i < len(words)-1 {
			word += " "
		}
		out = append(out, rep.chunk(map[string]any{"delta": map[string]any{"content": word}, "finish_reason": nil, "index": 0}))
	}
	final := rep.chunk(map[string]any{"delta": map[string]any{}, "finish_reason": "stop", "index": 0})
	final["usage"] = rep.llmUsage
	if v == Current {
		final["usage_from_provider"] = rep.usageFromRouters
		final["usage_from_consumer"] = rep.usageFromRouters
	}
	return append(out, final)
}

// completionBody is the non-streaming response.
func (rep reply) completionBody(v Version) map[string]any {
	body := map[string]any{
		"choices": []any{map[string]any{
			"finish_reason": "stop", "index": 0,
			"message": map[string]any{"content": rep.content, "role": "assistant"},
		}},
		"created": rep.created, "id": rep.id, "model": rep.model, "object": "chat.completion",
		"usage": rep.llmUsage,
	}
	if v == Current {
		body["usage_from_provider"] = rep.usageFromRouters
		body["usage_from_consumer"] = rep.usageFromRouters
	}
	return body
}

// midstreamChunks is how many chunks the die_midstream_* modes send.
const midstreamChunks = 2

// stream writes one "data: <json>\n\n" per chunk, flushing each, then
// "data: [DONE]\n\n" in current. The die_midstream modes stop early.
func (r *Router) stream(w http.ResponseWriter, req *http.Request, mode Mode, chunks []map[string]any, v Version) {
	rc := http.NewResponseController(w)
	w.WriteHeader(http.StatusOK)
	write := func(b []byte) bool {
		_, err := w.Write(b)
		if err == nil {
			err = rc.Flush()
		}
		if err != nil {
			r.count(func(c *Counters) { c.WriteErrors++ })
			return false
		}
		return true
	}
	for i, c := range chunks {
		if i > 0 && !sleepCtx(req.Context(), r.cfg.StreamChunkDelay) {
			return
		}
		if i == midstreamChunks {
			switch mode {
			case ModeDieMidstreamEOF:
				return // provider EOF: treated as normal completion
			case ModeDieMidstreamErr:
				b, _ := json.Marshal(map[string]string{"error": errUnexpectedEOF})
				write(b)
				return
			}
		}
		b, _ := json.Marshal(c)
		if !write(append(append([]byte("data: "), b...), '\n', '\n')) {
			return
		}
	}
	if v == Current {
		write([]byte("data: [DONE]\n\n"))
	}
}
