package webui

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
)

// writeJSON answers with v as JSON. v is encoded before any header is
// written, so an encoding failure still yields a clean 500.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	body, err := encodeJSON(v)
	if err != nil {
		return err
	}
	writeRaw(w, status, body)
	return nil
}

// encodeJSON is json.Marshal without HTML escaping: answers are read by
// programs, and texts like "<b>50% off</b>" should come back as sent. It
// ends with a newline, which keeps curl output tidy.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// decodeJSON reads r's body, one JSON object and nothing else, into dst.
// Unknown fields, wrong types, malformed or trailing data, oversized bodies
// and the ambiguous or altered input strictJSON names are refused with an
// error that names what was wrong; fail maps it. dst is left alone when
// strictJSON refuses the body.
func (s *server) decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return errUnsupportedMedia
		}
	}
	// The whole body first (it is at most maxBody): strictJSON must see the
	// raw bytes before the decoder replaces invalid UTF-8.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		return decodeError(err)
	}
	if err := strictJSON(body, reflect.TypeOf(dst)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	// Exactly one value: `{...}{...}` or `{...} x` is a client bug that
	// would otherwise pass silently.
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return invalid("", "trailing data after the JSON object")
	}
	return nil
}

// decodeError turns an encoding/json error into one naming the problem.
func decodeError(err error) error {
	var (
		syntax   *json.SyntaxError
		typ      *json.UnmarshalTypeError
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooLarge):
		return err
	case errors.Is(err, io.EOF):
		return invalid("", "request body is empty: expected a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("", "malformed JSON: unexpected end of input")
	case errors.As(err, &syntax):
		return invalid("", "malformed JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.As(err, &typ):
		if typ.Field == "" {
			return invalid("", "request body must be a JSON object, not %s", typ.Value)
		}
		return invalid(typ.Field, "must be %s, not %s", jsonTypeName(typ.Type.Kind().String()), typ.Value)
	}
	// DisallowUnknownFields reports `json: unknown field "name"` with no
	// typed error to match on.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return invalid(name, "unknown field")
	}
	return invalid("", "malformed JSON: %s", err.Error())
}

// jsonTypeName names a Go kind the way a JSON client thinks of it.
func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	default:
		return "a number"
	}
}
