package gateway

import (
	"strconv"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
)

// marshaler is protojson (through grpc-gateway's JSONPb) for everything,
// except the hottest answer, SatisfiesResponse, which is written by hand in
// exactly the form protojson gives it with EmitUnpopulated (a test holds the
// two equal): protojson's reflection costs more than the rest of the call.
type marshaler struct {
	*runtime.JSONPb
}

func (m marshaler) Marshal(v any) ([]byte, error) {
	if r, ok := v.(*cmv1.SatisfiesResponse); ok {
		return appendSatisfies(make([]byte, 0, 1024), r), nil
	}
	return m.JSONPb.Marshal(v)
}

func appendSatisfies(b []byte, r *cmv1.SatisfiesResponse) []byte {
	b = append(b, `{"control":`...)
	b = appendString(b, r.GetControl())
	b = append(b, `,"revision":"`...)
	b = strconv.AppendInt(b, r.GetRevision(), 10)
	b = append(b, `","frameworks":[`...)
	for i, f := range r.GetFrameworks() {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"framework":`...)
		b = appendString(b, f.GetFramework())
		b = append(b, `,"controls":[`...)
		for j, c := range f.GetControls() {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"control":`...)
			b = appendString(b, c.GetControl())
			b = append(b, `,"satisfaction":"`...)
			b = append(b, c.GetSatisfaction().String()...)
			b = append(b, `","relationship":"`...)
			b = append(b, c.GetRelationship().String()...)
			b = append(b, `","strength":`...)
			b = strconv.AppendInt(b, int64(c.GetStrength()), 10)
			b = append(b, `,"inferred":`...)
			b = strconv.AppendBool(b, c.GetInferred())
			b = append(b, `,"path":[`...)
			for k, p := range c.GetPath() {
				if k > 0 {
					b = append(b, ',')
				}
				b = appendString(b, p)
			}
			b = append(b, `],"group":`...)
			b = appendString(b, c.GetGroup())
			b = append(b, '}')
		}
		b = append(b, "]}"...)
	}
	return append(b, "]}"...)
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string the way protojson does: quotes,
// backslashes and control characters escaped, everything else as UTF-8.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		case c < utf8.RuneSelf:
			b = append(b, c)
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
		}
		i++
	}
	return append(b, '"')
}
