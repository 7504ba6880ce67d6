package api

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// DefaultMaxBody bounds request bodies. Every request this API accepts is
// a small JSON object; 16 KiB leaves room for long descriptions in any
// script without letting a client make the server buffer megabytes.
const DefaultMaxBody = 16 << 10

// readBody reads a size-limited JSON body and decodes it strictly into
// dst: the media type must be JSON, the body one JSON object of valid
// UTF-8 with no unknown, duplicate or mistyped fields.
func readBody(w http.ResponseWriter, r *http.Request, max int64, dst any) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return errStatus(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"send the request body as JSON with the header Content-Type: application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errStatus(http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("the request body exceeds %d bytes", max))
		}
		return invalid("invalid_json", "", "the request body could not be read")
	}
	return DecodeStrict(body, dst)
}

// decodeBody reads the request body into a new Req by readBody's rules,
// within the server's size limit.
func decodeBody[Req any](s *Server, w http.ResponseWriter, r *http.Request) (Req, error) {
	var req Req
	err := readBody(w, r, s.maxBody, &req)
	return req, err
}

// DecodeStrict decodes one JSON object from body into dst, rejecting
// anything a lenient decoder would silently accept. Exported for the
// fuzz test and for other packages that take JSON bodies.
func DecodeStrict(body []byte, dst any) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return invalid("invalid_json", "", "the request body is empty; send a JSON object")
	}
	// encoding/json decodes null into a struct as "nothing", and a bare
	// value is no request either: only an object is.
	if trimmed[0] != '{' {
		return invalid("invalid_json", "", "the request body must be a JSON object")
	}
	if !utf8.Valid(body) {
		return invalid("invalid_json", "", "the request body is not valid UTF-8")
	}
	// checkKeys has walked every token: the body is one well-formed
	// object whose keys each name a field exactly, so a plain Unmarshal
	// (no unknown-field or trailing-data checks left to do) decodes it.
	if err := checkKeys(body, dst); err != nil {
		return err
	}
	if err := json.Unmarshal(body, dst); err != nil {
		return decodeError(err)
	}
	return nil
}

func decodeError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return invalid("invalid_json", "", fmt.Sprintf("malformed JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: ")))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("invalid_json", "", "the request body ends in the middle of a JSON value")
	case errors.As(err, &te):
		if te.Field == "" {
			return invalid("invalid_json", "", "the request body must be a JSON object")
		}
		want := te.Type.String()
		switch te.Type.Kind().String() {
		case "int64", "int", "int32":
			want = "an integer"
			if te.Value == "number" || strings.HasPrefix(te.Value, "number ") {
				want = "an integer within range (amounts are whole minor units, e.g. 1234 for 12.34)"
			}
		case "string":
			want = "a string"
		case "bool":
			want = "true or false"
		}
		msg := fmt.Sprintf("field %q must be %s, not %s", te.Field, want, te.Value)
		return invalid("invalid_type", te.Field, msg)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalid("unknown_field", field, fmt.Sprintf("unknown field %q", field))
	}
	return invalid("invalid_json", "", "the request body is not valid JSON: "+strings.TrimPrefix(err.Error(), "json: "))
}

// checkKeys rejects objects that name a key twice, and keys that are not
// exactly the name of a field of the Go value they decode into (nested
// objects too). encoding/json keeps the last of two equal keys and
// matches field names case-insensitively, so {"amount":1,"AMOUNT":77}
// would move 77; a proxy or log reader may see the first, and a request
// that means two things is not one we want to execute.
func checkKeys(body []byte, dst any) error {
	kc := keyChecker{root: target(reflect.TypeOf(dst))}
	if json.Valid(body) {
		// A well-formed body (the usual case) is walked directly: one
		// value, so "exactly one object" holds already.
		return walkTokens(body, kc.token)
	}
	// A malformed one goes through encoding/json's tokenizer, whose
	// errors say where and what (decodeError).
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for values := 0; ; {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return decodeError(err)
		}
		if len(kc.stack) == 0 {
			if values++; values > 1 {
				return invalid("invalid_json", "", "the request body must contain exactly one JSON object")
			}
		}
		if err := kc.token(tok); err != nil {
			return err
		}
	}
}

// walkTokens calls fn with the tokens of b, which must be valid JSON
// (json.Valid): json.Delim for { } [ ], the decoded text of a string, nil
// for any other value. It is encoding/json's Decoder.Token without its
// cost: that decodes each token as a value of its own and finds where
// it ends by building an error, a fifth of a transfer's decoding.
func walkTokens(b []byte, fn func(json.Token) error) error {
	for i := 0; i < len(b); {
		switch c := b[i]; c {
		case ' ', '\t', '\n', '\r', ',', ':':
			i++
		case '{', '}', '[', ']':
			if err := fn(json.Delim(c)); err != nil {
				return err
			}
			i++
		case '"':
			j, escaped := i+1, false
			for b[j] != '"' {
				if b[j] == '\\' {
					escaped = true
					j++
				}
				j++
			}
			var str string
			if !escaped {
				str = string(b[i+1 : j])
			} else if err := json.Unmarshal(b[i:j+1], &str); err != nil {
				return decodeError(err)
			}
			if err := fn(str); err != nil {
				return err
			}
			i = j + 1
		default: // a number, true, false or null
			for i < len(b) && !strings.ContainsRune(" \t\n\r,:]}", rune(b[i])) {
				i++
			}
			if err := fn(nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// keyChecker follows the objects and arrays open at the current token,
// the keys each object has named so far and the Go types they decode into.
type keyChecker struct {
	root  reflect.Type
	stack []*keyFrame
}

type keyFrame struct {
	obj  bool
	keys map[string]bool
	key  bool         // next string token is a key
	typ  reflect.Type // what this object or array decodes into; nil: anything
	next reflect.Type // what the value after the current key decodes into
}

func (kc *keyChecker) token(tok json.Token) error {
	switch t := tok.(type) {
	case json.Delim:
		return kc.delim(t)
	case string:
		return kc.str(t)
	default:
		kc.valueDone()
	}
	return nil
}

func (kc *keyChecker) top() *keyFrame {
	if len(kc.stack) == 0 {
		return nil
	}
	return kc.stack[len(kc.stack)-1]
}

// valueType is what the value starting at the current token decodes into.
func (kc *keyChecker) valueType() reflect.Type {
	top := kc.top()
	switch {
	case top == nil:
		return kc.root
	case top.obj:
		return top.next
	case top.typ != nil && (top.typ.Kind() == reflect.Slice || top.typ.Kind() == reflect.Array):
		return target(top.typ.Elem())
	}
	return nil
}

func (kc *keyChecker) delim(d json.Delim) error {
	switch d {
	case '{', '[':
		// The parent expects a key again once this value closes (below).
		kc.stack = append(kc.stack, &keyFrame{obj: d == '{', keys: map[string]bool{}, key: d == '{', typ: kc.valueType()})
		if len(kc.stack) > 32 {
			return invalid("invalid_json", "", "the request body is nested too deeply")
		}
	case '}', ']':
		kc.stack = kc.stack[:len(kc.stack)-1]
		kc.valueDone()
	}
	return nil
}

// str is a key when the enclosing object expects one, else a value.
func (kc *keyChecker) str(t string) error {
	top := kc.top()
	if top == nil || !top.obj || !top.key {
		kc.valueDone()
		return nil
	}
	if top.keys[t] {
		return invalid("duplicate_field", t, fmt.Sprintf("field %q appears more than once", t))
	}
	top.keys[t] = true
	top.key = false
	top.next = nil
	switch {
	case top.typ == nil:
	case top.typ.Kind() == reflect.Map:
		top.next = target(top.typ.Elem())
	case top.typ.Kind() == reflect.Struct:
		fields := jsonFields(top.typ)
		ft, ok := fields[t]
		if !ok {
			return unknownField(t, fields)
		}
		top.next = target(ft)
	}
	return nil
}

// unknownField is the problem for a key that names no field exactly,
// pointing at the field a case-insensitive decoder would have taken.
func unknownField(key string, fields map[string]reflect.Type) error {
	msg := fmt.Sprintf("unknown field %q", key)
	for name := range fields {
		if strings.EqualFold(name, key) {
			msg += fmt.Sprintf(" (field names are case-sensitive: did you mean %q?)", name)
			break
		}
	}
	return invalid("unknown_field", key, msg)
}

// valueDone notes that a value has ended: an enclosing object expects a
// key next.
func (kc *keyChecker) valueDone() {
	if top := kc.top(); top != nil && top.obj {
		top.key = true
	}
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// target is the type whose keys checkKeys checks for a value decoded
// into t: pointers followed; nil (anything goes) for interfaces and for
// types that decode themselves.
func target(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() == reflect.Interface {
		return nil
	}
	if p := reflect.PointerTo(t); p.Implements(jsonUnmarshaler) || p.Implements(textUnmarshaler) {
		return nil
	}
	return t
}

var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// jsonFields are the JSON names encoding/json decodes into struct type t,
// spelled exactly, with their types: tag names, else Go names, and the
// fields of embedded structs (the shallowest of a name wins, as in
// encoding/json).
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	fields := map[string]reflect.Type{}
	depth := map[string]int{}
	var walk func(t reflect.Type, d int, seen map[reflect.Type]bool)
	walk = func(t reflect.Type, d int, seen map[reflect.Type]bool) {
		if seen[t] {
			return
		}
		seen[t] = true
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			ft := f.Type
			if f.Anonymous && name == "" {
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					walk(ft, d+1, seen)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if old, ok := depth[name]; !ok || d < old {
				fields[name], depth[name] = f.Type, d
			}
		}
	}
	walk(t, 0, map[reflect.Type]bool{})
	fieldCache.Store(t, fields)
	return fields
}

// MaxName and MaxDescription bound free text (bytes).
const (
	MaxName        = 64
	MaxDescription = 200
)

// checkText validates free text shown to other people (descriptions,
// account names): no control characters, no bidirectional overrides that
// could make "100" read as "001" in someone's statement, no replacement
// characters left over from broken encodings.
func checkText(field, s string, max int) error {
	if len(s) > max {
		return invalid("invalid_"+field, field, fmt.Sprintf("%s must be at most %d bytes", field, max))
	}
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			return invalid("invalid_"+field, field, field+" contains an invalid or replacement character")
		case unicode.IsControl(r):
			return invalid("invalid_"+field, field, field+" must not contain control characters")
		case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0x061C:
			return invalid("invalid_"+field, field, field+" must not contain bidirectional control characters")
		case r >= 0xFDD0 && r <= 0xFDEF, r&0xFFFE == 0xFFFE:
			return invalid("invalid_"+field, field, field+" must not contain Unicode noncharacters")
		}
	}
	return nil
}
