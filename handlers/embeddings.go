package handlers

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// embeddings serves POST /embeddings (API key), proxied like chat to the
// router's /v1/embeddings (v5.0+; a v4 router answers 501 here), never
// streamed. The body is forwarded minus "model" and "session_id".
//
// encoding_format: the router decodes the provider's answer as float arrays
// and fails on base64 (spec proxy-router.md §2.8), so "base64" is refused
// with 400 up front; "float" or no value is forwarded unchanged (providers
// default to float).
func (s *Server) embeddings(w http.ResponseWriter, r *http.Request, p Principal) {
	req, ok := s.readProxyRequest(w, r)
	if !ok {
		return
	}
	fields := req.fields
	format, ok := optStringField(w, fields, "encoding_format")
	if !ok {
		return
	}
	if format != "" && format != "float" {
		badRequest(w, "encoding_format", `encoding_format must be "float": the Morpheus network does not return base64 embeddings`)
		return
	}
	if stream, ok := optBoolField(w, fields, "stream"); !ok {
		return
	} else if stream {
		badRequest(w, "stream", "embeddings cannot be streamed")
		return
	}
	if !validEmbeddingInput(fields["input"]) {
		badRequest(w, "input", "input is required: a non-empty string or a non-empty array")
		return
	}
	s.proxyWithSession(w, r, p, req, proxyOp{name: "embeddings", path: upstreamEmbeddingsPath})
}

// validEmbeddingInput accepts a non-empty string or a non-empty array (of
// strings or token arrays; the provider checks the items).
func validEmbeddingInput(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return false
	}
	switch v[0] {
	case '"':
		var s string
		return json.Unmarshal(v, &s) == nil && s != ""
	case '[':
		var a []json.RawMessage
		return json.Unmarshal(v, &a) == nil && len(a) > 0
	}
	return false
}
