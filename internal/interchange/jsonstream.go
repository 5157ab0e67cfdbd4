package interchange

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// jsonStream reads a JSON document token by token, decoding the values a
// reader wants one at a time (a catalog's group, a collection's map, one
// of our mappings): json.Decoder.Decode alone buffers the whole value it
// decodes, which for the root is the whole document. What is held at once
// is the largest single value decoded, not the document.
type jsonStream struct {
	dec *json.Decoder
}

func newJSONStream(r io.Reader) *jsonStream {
	return &jsonStream{dec: json.NewDecoder(bufio.NewReaderSize(r, 64<<10))}
}

// token reads the next token.
func (s *jsonStream) token() (json.Token, error) {
	t, err := s.dec.Token()
	if err != nil {
		return nil, jsonError(err)
	}
	return t, nil
}

// open reads the next token, which starts a value: '{', '[', or a scalar
// (nil for null).
func (s *jsonStream) open() (json.Token, error) { return s.token() }

// members calls f with each key of the object whose '{' was read, the
// stream at the key's value; f consumes the value (decode, skip or stream
// it). It reads the closing '}'.
func (s *jsonStream) members(f func(key string) error) error {
	for s.dec.More() {
		t, err := s.token()
		if err != nil {
			return err
		}
		key, _ := t.(string) // the decoder allows nothing else here
		if err := f(key); err != nil {
			return err
		}
	}
	_, err := s.token()
	return err
}

// elements calls f with the index of each element of the array whose '['
// was read, the stream at the element; f consumes it. It reads the closing
// ']'.
func (s *jsonStream) elements(f func(i int) error) error {
	for i := 0; s.dec.More(); i++ {
		if err := f(i); err != nil {
			return err
		}
	}
	_, err := s.token()
	return err
}

// root reads a document whose member name holds an object (an OSCAL
// catalog's "catalog"), calling f for each key of that object and skipping
// the document's other members; what names the document in the errors of
// a file without it, or with something else there.
func (s *jsonStream) root(name, what string, f func(key string) error) error {
	found := false
	err := s.document(func(key string) error {
		if key != name {
			return s.skip()
		}
		t, err := s.open()
		if err != nil {
			return err
		}
		if d, ok := t.(json.Delim); !ok || d != '{' {
			return syntaxError("/"+name, "not %s: %q is %s, not an object", what, name, describe(t))
		}
		found = true
		return s.members(f)
	})
	if err == nil && !found {
		err = syntaxError("", "not %s: no %q at the top", what, name)
	}
	return err
}

// object reads an object, calling f for each key (see members); at locates
// a value that is not an object.
func (s *jsonStream) object(at string, f func(key string) error) error {
	t, err := s.open()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return syntaxError(at, "expected an object, got %s", describe(t))
	}
	return s.members(f)
}

// array reads an array, calling f for each element (see elements); at
// locates a value that is not an array.
func (s *jsonStream) array(at string, f func(i int) error) error {
	t, err := s.open()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != '[' {
		return syntaxError(at, "expected an array, got %s", describe(t))
	}
	return s.elements(f)
}

// decode decodes the value the stream is at into v; at locates a value of
// the wrong type.
func (s *jsonStream) decode(at string, v any) error {
	if err := s.dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := ""
			if te.Field != "" {
				field = "/" + strings.ReplaceAll(te.Field, ".", "/")
			}
			return syntaxError(at+field, "expected %s, got a JSON %s", te.Type, te.Value)
		}
		return jsonError(err)
	}
	return nil
}

// skip consumes the value the stream is at without keeping it.
func (s *jsonStream) skip() error {
	depth := 0
	for {
		t, err := s.token()
		if err != nil {
			return err
		}
		if d, ok := t.(json.Delim); ok {
			switch d {
			case '{', '[':
				depth++
			default:
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}

// document reads a document whose root is an object, calling f for each
// of its keys, and refuses anything after it.
func (s *jsonStream) document(f func(key string) error) error {
	if err := s.object("", f); err != nil {
		return err
	}
	if _, err := s.dec.Token(); err != io.EOF {
		return syntaxError("", "unexpected data after the JSON document")
	}
	return nil
}

// describe names a token for a message: "an array", "a string".
func describe(t json.Token) string {
	switch v := t.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}

// jsonError is a decoding error as an ErrSyntax, with its offset.
func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return syntaxError(fmt.Sprintf("byte %d", se.Offset), "%v", se)
	case errors.As(err, &te):
		return syntaxError("/"+strings.ReplaceAll(te.Field, ".", "/"), "expected %s, got a JSON %s", te.Type, te.Value)
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return syntaxError("", "the JSON document is empty or cut short")
	}
	return err
}
