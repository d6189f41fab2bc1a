package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/morpheus-gateway/caddy-morpheus/chain"
)

// sseRelay relays a committed text/event-stream body to the client.
//
// Complete lines are written and flushed as soon as they arrive — the
// router writes and flushes one event at a time, so that is one flush per
// event, in order, never coalesced. Only an incomplete trailing line is
// held back until its newline arrives or the stream ends, because of the
// router's quirk (spec proxy-router.md §2.7.4, quirk 2): after the first
// chunk, a failure is appended to the 200 body as a raw {"error":"…"} with no
// "data:" and no newline. That tail never reaches the client; finish
// replaces it with an OpenAI-shaped error event.
//
// Termination (finish): "data: [DONE]" → success as is; EOF after a chunk
// with a finish_reason (router v4, or current after a provider EOF) →
// success, and "data: [DONE]" is appended so that every client sees the
// OpenAI ending; a raw error tail, a broken upstream connection, or EOF
// with neither [DONE] nor a finish_reason (a provider that died
// mid-answer) → a final data: {"error":{…}} event and no [DONE].
type sseRelay struct {
	w  http.ResponseWriter
	rc *http.ResponseController

	partial   []byte // an incomplete trailing line
	sawDone   bool
	sawFinish bool
	// tail is a raw error tail seen in the stream; once set, nothing more
	// is relayed.
	tail []byte
	// failure is why the stream ended with an error event ("" if it did
	// not), for logs.
	failure string
	broken  bool // a write to the client failed
}

// maxPartialLine bounds a held-back line; a longer one is relayed as is.
const maxPartialLine = 1 << 20

func newSSERelay(w http.ResponseWriter) *sseRelay {
	return &sseRelay{w: w, rc: http.NewResponseController(w)}
}

func (s *sseRelay) Write(p []byte) (int, error) {
	n := len(p)
	if n == 0 || s.tail != nil || s.broken {
		return n, nil // after a failure the rest is discarded
	}
	data := p
	held := len(s.partial) > 0
	if held {
		s.partial = append(s.partial, p...)
		data = s.partial
	}
	cut := bytes.LastIndexByte(data, '\n') + 1
	complete, rest := data[:cut], data[cut:]
	if i := s.scan(complete); i >= 0 {
		s.tail = append([]byte(nil), complete[i:]...)
		complete, rest = complete[:i], nil
	} else if len(rest) > maxPartialLine {
		if rest[0] == '{' {
			s.tail = append([]byte(nil), rest[:maxPartialLine]...)
		} else {
			complete = data
		}
		rest = nil
	}
	if len(complete) > 0 && !s.emit(complete) {
		return n, errClientGone
	}
	if held {
		// rest aliases s.partial; copy handles the overlap.
		s.partial = s.partial[:copy(s.partial, rest)]
	} else {
		s.partial = append(s.partial[:0], rest...)
	}
	return n, nil
}

var errClientGone = errors.New("client connection closed")

// scan inspects complete lines: it records [DONE] and finish_reason chunks
// and returns the offset of a line that is a raw JSON error tail, or -1.
func (s *sseRelay) scan(lines []byte) int {
	off := 0
	for off < len(lines) {
		end := bytes.IndexByte(lines[off:], '\n')
		if end < 0 {
			end = len(lines) - off
		}
		line := bytes.TrimRight(lines[off:off+end], "\r")
		if len(line) > 0 && line[0] == '{' {
			return off
		}
		s.inspect(line)
		off += end + 1
	}
	return -1
}

// inspect notes the termination markers of one SSE line.
func (s *sseRelay) inspect(line []byte) {
	payload, ok := bytes.CutPrefix(line, []byte("data:"))
	if !ok {
		return
	}
	payload = bytes.TrimSpace(payload)
	if bytes.Equal(payload, []byte("[DONE]")) {
		s.sawDone = true
		return
	}
	if hasFinishReason(payload) {
		s.sawFinish = true
	}
}

// hasFinishReason reports a "finish_reason" key with a non-null value.
func hasFinishReason(payload []byte) bool {
	key := []byte(`"finish_reason"`)
	for {
		i := bytes.Index(payload, key)
		if i < 0 {
			return false
		}
		rest := bytes.TrimLeft(payload[i+len(key):], " \t\r\n")
		if len(rest) > 0 && rest[0] == ':' {
			rest = bytes.TrimLeft(rest[1:], " \t\r\n")
			if len(rest) > 0 && rest[0] == '"' {
				return true
			}
		}
		payload = payload[i+len(key):]
	}
}

// emit writes b to the client and flushes it.
func (s *sseRelay) emit(b []byte) bool {
	if s.broken {
		return false
	}
	if _, err := s.w.Write(b); err != nil {
		s.broken = true
		return false
	}
	if err := s.rc.Flush(); err != nil {
		s.broken = true
		return false
	}
	return true
}

// finish ends the stream after Upstream returned (err: its error, or
// errUpstreamAborted when the body copy failed).
func (s *sseRelay) finish(ctx context.Context, err error) {
	if s.tail == nil && len(s.partial) > 0 {
		line := bytes.TrimSpace(s.partial)
		s.partial = s.partial[:0]
		if len(line) > 0 && line[0] == '{' {
			s.tail = line
		} else if len(line) > 0 {
			// A last line without its newline: complete the event.
			s.inspect(line)
			s.emit(append(append([]byte(nil), line...), '\n', '\n'))
		}
	}
	var msg string
	switch {
	case s.tail != nil:
		re := chain.ClassifyResponse("chat", http.StatusInternalServerError, "application/json", s.tail)
		msg = re.Message
		s.failure = "raw error tail: " + re.Kind.String()
	case err != nil:
		msg = "the upstream connection failed before the response was complete"
		s.failure = "upstream connection broke: " + err.Error()
	case s.sawDone:
		return
	case s.sawFinish:
		s.emit([]byte("data: [DONE]\n\n"))
		return
	default:
		msg = "the provider ended the stream before the response was complete"
		s.failure = "stream ended without finish_reason or [DONE]"
	}
	if ctx.Err() != nil || s.broken {
		return // nobody to tell
	}
	s.emit(sseErrorEvent(msg))
}

// sseErrorEvent is the OpenAI-shaped error event that ends a failed stream.
func sseErrorEvent(message string) []byte {
	type body struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    string `json:"code"`
	}
	b, _ := json.Marshal(map[string]body{"error": {Message: message, Type: TypeServer, Code: "upstream_error"}})
	return append(append([]byte("data: "), b...), '\n', '\n')
}
