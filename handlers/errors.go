package handlers

import (
	"encoding/json"
	"net/http"
)

// Error types used in the OpenAI-shaped error body.
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeAuthentication = "authentication_error"
	TypeNotFound       = "not_found_error"
	TypeRateLimit      = "rate_limit_error"
	TypeServer         = "server_error"
	TypeUnavailable    = "service_unavailable"
)

// APIError is the body of every error the gateway answers with: the OpenAI
// shape, plus a top-level "detail" string for clients of the reference
// gateway, which read that field.
type APIError struct {
	Error  ErrorBody `json:"error"`
	Detail string    `json:"detail"`
}

// ErrorBody is the "error" object of an APIError.
type ErrorBody struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Code    *string `json:"code"`
	Param   *string `json:"param"`
}

// WriteError writes an OpenAI-shaped error with the given status. code and
// param are omitted (null) when empty.
func WriteError(w http.ResponseWriter, status int, typ, code, param, message string) {
	body := APIError{
		Error:  ErrorBody{Message: message, Type: typ, Code: nullable(code), Param: nullable(param)},
		Detail: message,
	}
	writeJSON(w, status, body)
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// writeJSON writes v as a JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":{"message":"internal error","type":"server_error","code":null,"param":null},"detail":"internal error"}`, http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
