package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// decodeJSON reads r's body (at most limit bytes) into dst, a pointer to a
// struct. Unknown fields are ignored. On failure it writes the error reply
// and returns false:
//
//   - body larger than limit: 413;
//   - Content-Type present and not JSON: 415;
//   - empty body (unless allowEmpty), malformed JSON, a value that is not an
//     object, trailing data, or a field of the wrong JSON type: 422, naming
//     the field in param when there is one.
//
// The body is never logged or echoed.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, allowEmpty bool, dst any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !(mt == "application/json" || strings.HasSuffix(mt, "+json")) {
			WriteError(w, http.StatusUnsupportedMediaType, TypeInvalidRequest, "unsupported_media_type", "",
				"request body must be JSON (Content-Type: application/json)")
			return false
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			WriteError(w, http.StatusRequestEntityTooLarge, TypeInvalidRequest, "request_too_large", "",
				fmt.Sprintf("request body is larger than %d bytes", limit))
			return false
		}
		WriteError(w, http.StatusBadRequest, TypeInvalidRequest, "invalid_body", "", "could not read the request body")
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if allowEmpty {
			return true
		}
		WriteError(w, http.StatusUnprocessableEntity, TypeInvalidRequest, "invalid_json", "",
			"request body is required: a JSON object")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(dst); err != nil {
		writeDecodeError(w, err)
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		WriteError(w, http.StatusUnprocessableEntity, TypeInvalidRequest, "invalid_json", "",
			"invalid JSON: unexpected data after the JSON object")
		return false
	}
	return true
}

func writeDecodeError(w http.ResponseWriter, err error) {
	var (
		typeErr *json.UnmarshalTypeError
		syntax  *json.SyntaxError
		field   *fieldError
	)
	switch {
	case errors.As(err, &field):
		WriteError(w, http.StatusUnprocessableEntity, TypeInvalidRequest, "invalid_type", field.field, field.Error())
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			WriteError(w, http.StatusUnprocessableEntity, TypeInvalidRequest, "invalid_json", "",
				"request body must be a JSON object")
			return
		}
		WriteError(w, http.StatusUnprocessableEntity, TypeInvalidRequest, "invalid_type", typeErr.Field,
			fmt.Sprintf("%s must be %s, got JSON %s", typeErr.Field, jsonTypeName(typeErr.Type.String()), typeErr.Value))
	case errors.As(err, &syntax):
		WriteError(w, http.StatusUnprocessableEntity, TypeInvalidRequest, "invalid_json", "",
			fmt.Sprintf("invalid JSON at byte %d", syntax.Offset))
	default:
		WriteError(w, http.StatusUnprocessableEntity, TypeInvalidRequest, "invalid_json", "", "invalid JSON")
	}
}

// jsonTypeName names a Go type the way an API user thinks of it.
func jsonTypeName(goType string) string {
	goType = strings.TrimPrefix(goType, "*")
	switch goType {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "int", "int64", "int32":
		return "an integer"
	case "float64":
		return "a number"
	}
	if strings.HasPrefix(goType, "[]") {
		return "an array"
	}
	return "an object"
}

// fieldError is returned by custom UnmarshalJSON methods to name the field
// at fault.
type fieldError struct {
	field, msg string
}

func (e *fieldError) Error() string { return e.field + " " + e.msg }

// badRequest answers 400 for a field that failed validation.
func badRequest(w http.ResponseWriter, param, message string) {
	WriteError(w, http.StatusBadRequest, TypeInvalidRequest, "invalid_value", param, message)
}

// pathID parses the {id} path value as a positive integer; on failure it
// answers 400 naming param and returns false.
func pathID(w http.ResponseWriter, r *http.Request, param string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		badRequest(w, param, param+" must be a positive integer")
		return 0, false
	}
	return id, true
}

// timestampLayout is how times are written in replies: UTC, microseconds,
// with the offset ("Z").
const timestampLayout = "2006-01-02T15:04:05.000000Z07:00"

// timestamp formats t for a reply.
func timestamp(t time.Time) string { return t.UTC().Format(timestampLayout) }

// optTimestamp formats t, or returns nil (JSON null) for nil or zero times.
func optTimestamp(t *time.Time) *string {
	if t == nil || t.IsZero() {
		return nil
	}
	s := timestamp(*t)
	return &s
}

// optString returns nil (JSON null) for "".
func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
