package webui

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// strictJSON refuses, with a 400 naming the field, what encoding/json would
// let through silently (issue 15, points 11 and 12):
//
//   - a string that is not valid UTF-8, or holds a lone UTF-16 surrogate
//     escape (encoding/json replaces both with U+FFFD, so the text sent is
//     not the text submitted);
//   - a NUL character, which no text, name or source needs and which cuts
//     strings short in C programs, terminals and CSV tools downstream;
//   - a name given twice in one object (encoding/json keeps the last, other
//     parsers the first: a proxy that checked "text" may not have seen the
//     one that is sent);
//   - a name that matches a field only when case is ignored ("TEXT" for
//     "text"): encoding/json folds case, encoding/json/v2 and most other
//     parsers do not.
//
// These are the rules of encoding/json/v2 (RFC 8259 §8.1 and RFC 7493 I-JSON
// §2.3 for the first and third), checked with its tokenizer, jsontext,
// before encoding/json decodes the body as before. t is the type decoded
// into; it tells which objects are structs (names match case-sensitively)
// and which are maps (any name, each once).
//
// A body that is not one well-formed JSON object gets nil here: the
// decoder's message about the syntax is the more useful one.
func strictJSON(body []byte, t reflect.Type) error {
	dec := jsontext.NewDecoder(bytes.NewReader(body),
		// Both are checked by walkJSON instead, which names the field.
		jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if dec.PeekKind() != '{' {
		return nil
	}
	err := walkJSON(dec, t, "")
	var refused *apiError
	if errors.As(err, &refused) && json.Valid(body) {
		return err
	}
	return nil
}

// walkJSON reads the next value from dec, checking every string and name in
// it. t is the Go type the value decodes into, nil when unknown (an any, a
// type with its own UnmarshalJSON, or a name encoding/json itself will
// refuse). path names the value in errors as encoding/json does: field
// names joined by dots, array elements under the array's name.
func walkJSON(dec *jsontext.Decoder, t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && unmarshalsItself(t) {
		t = nil
	}
	switch dec.PeekKind() {
	case '{':
		if _, err := dec.ReadToken(); err != nil {
			return err
		}
		var (
			fields *fieldSet
			elem   reflect.Type
		)
		if t != nil && t.Kind() == reflect.Struct {
			fields = structFields(t)
		} else if t != nil && t.Kind() == reflect.Map {
			elem = t.Elem()
		}
		seen := map[string]bool{}
		for dec.PeekKind() != '}' {
			raw, err := dec.ReadValue() // the member's name
			if err != nil {
				return err
			}
			name, problem := jsonString(raw)
			if problem != "" {
				return invalid(path, "a field name %s", problem)
			}
			member := name
			if path != "" {
				member = path + "." + name
			}
			if seen[name] {
				return invalid(member, "appears more than once; send each field once")
			}
			seen[name] = true
			next := elem
			if fields != nil {
				ft, ok := fields.exact[name]
				if !ok {
					if want, folded := fields.fold(name); folded {
						return invalid(member, "unknown field (names are case-sensitive: the field is %q)", want)
					}
				}
				next = ft
			}
			if err := walkJSON(dec, next, member); err != nil {
				return err
			}
		}
		_, err := dec.ReadToken()
		return err
	case '[':
		if _, err := dec.ReadToken(); err != nil {
			return err
		}
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.PeekKind() != ']' {
			if err := walkJSON(dec, elem, path); err != nil {
				return err
			}
		}
		_, err := dec.ReadToken()
		return err
	case '"':
		raw, err := dec.ReadValue()
		if err != nil {
			return err
		}
		if _, problem := jsonString(raw); problem != "" {
			return invalid(path, "%s", problem)
		}
		return nil
	default:
		// Numbers and literals have nothing to check; a syntax error comes
		// out here.
		_, err := dec.ReadValue()
		return err
	}
}

// jsonString decodes a quoted JSON string, or says what is wrong with it.
func jsonString(raw jsontext.Value) (string, string) {
	s, err := jsontext.AppendUnquote(nil, raw)
	switch {
	case err != nil && !utf8.Valid(raw):
		return "", "must be valid UTF-8"
	case err != nil:
		// The bytes are fine, so an escape is not: \ud800 alone encodes no
		// character.
		return "", "must be valid UTF-8 (a \\u escape of a lone UTF-16 surrogate encodes no character)"
	case bytes.IndexByte(s, 0) >= 0:
		return "", "must not contain NUL characters (\\u0000)"
	}
	return string(s), ""
}

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// unmarshalsItself reports whether encoding/json hands t's JSON to a method
// of t (time.Time, compliance windows): its names, if any, are its own.
func unmarshalsItself(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return p.Implements(jsonUnmarshalerType) || p.Implements(textUnmarshalerType)
}

// fieldSet is the JSON names of a struct's fields, as encoding/json reads
// them, with the type each decodes into.
type fieldSet struct {
	exact map[string]reflect.Type
}

// fold returns the field name that name matches when case is ignored,
// the way encoding/json matches (bytes.EqualFold).
func (f *fieldSet) fold(name string) (string, bool) {
	for n := range f.exact {
		if strings.EqualFold(n, name) {
			return n, true
		}
	}
	return "", false
}

var fieldSets sync.Map // reflect.Type → *fieldSet

// structFields lists t's JSON field names by encoding/json's rules: the
// tag's name or the Go name, "-" skipped, unexported fields skipped, and
// the fields of an untagged embedded struct promoted, a shallower name
// winning over a deeper one.
func structFields(t reflect.Type) *fieldSet {
	if f, ok := fieldSets.Load(t); ok {
		return f.(*fieldSet)
	}
	f := &fieldSet{exact: map[string]reflect.Type{}}
	addFields(f.exact, t, map[reflect.Type]bool{})
	fieldSets.Store(t, f)
	return f
}

func addFields(into map[string]reflect.Type, t reflect.Type, visiting map[reflect.Type]bool) {
	if visiting[t] {
		return
	}
	visiting[t] = true
	defer delete(visiting, t)
	var embedded []reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if name == "" && ft.Kind() == reflect.Struct {
				embedded = append(embedded, ft) // even unexported: its fields may be exported
				continue
			}
			if !f.IsExported() && ft.Kind() != reflect.Struct {
				continue
			}
		} else if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, taken := into[name]; !taken {
			into[name] = f.Type
		}
	}
	for _, et := range embedded {
		addFields(into, et, visiting)
	}
}
