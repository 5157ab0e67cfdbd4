package interchange

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode"

	"github.com/google/uuid"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
)

// OSCALVersion is the OSCAL release exports declare.
const OSCALVersion = "1.2.2"

// Namespace is the namespace of the props controlmap adds to OSCAL
// documents: strength and reverse-strength of a map, kind and assessable
// of a control, kind of a catalog, method of a map imported from an
// automated source, and version-derived on a catalog whose framework has
// no version (metadata.version, which OSCAL requires, is then derived, and
// an import reads no version).
const Namespace = "https://github.com/controlmap/controlmap/ns/oscal"

// uuidSpace is the name space of the version 5 uuids of exports: the same
// content exports the same uuids.
var uuidSpace = uuid.NewSHA1(uuid.NameSpaceURL, []byte(Namespace))

// stableUUID is the version 5 uuid of a name.
func stableUUID(parts ...string) string {
	return uuid.NewSHA1(uuidSpace, []byte(strings.Join(parts, "\x00"))).String()
}

// Token turns an id into an OSCAL token by a fixed rule: lower case; every
// character other than a letter, a digit, '.', '-' or '_' becomes '_'; and
// "id-" in front when it does not start with a letter or '_'. "A.5.1"
// becomes "a.5.1", "5.1" becomes "id-5.1", "GOVERN-1.1" "govern-1.1". The
// original goes in a label prop, which import reads first.
func Token(id string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(id) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '-' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s == "" {
		return "id-"
	}
	if r := []rune(s)[0]; !unicode.IsLetter(r) && r != '_' {
		s = "id-" + s
	}
	return s
}

// ValidToken reports whether s is an OSCAL token: a letter or '_', then
// letters, numbers, '.', '-' and '_' (the metaschema's
// (\p{L}|_)(\p{L}|\p{N}|[.\-_])*).
func ValidToken(s string) bool {
	for i, r := range s {
		switch {
		case unicode.IsLetter(r) || r == '_':
		case i > 0 && (unicode.IsNumber(r) || r == '.' || r == '-'):
		default:
			return false
		}
	}
	return s != ""
}

// oscalString is s as an OSCAL string (the metaschema's \S(.*\S)?: no
// line breaks, no white space at either end): runs of white space, line
// breaks among them, become one space. "" when nothing is left, which is
// not a string: leave the value out.
func oscalString(s string) string {
	return strings.TrimFunc(strings.Join(strings.Fields(s), " "), func(r rune) bool { return r == '\uFEFF' || unicode.IsSpace(r) })
}

// markupLine is s as an OSCAL markup-line (a title): one line, or else,
// when nothing is left, the fallback.
func markupLine(s, fallback string) string {
	if l := oscalString(s); l != "" {
		return l
	}
	return oscalString(fallback)
}

// props collects the props of an export, leaving out those whose value is
// not an OSCAL string once normalised (an empty one).
type props []oscalProp

func (ps *props) add(p oscalProp) {
	if p.Value = oscalString(p.Value); p.Value != "" {
		*ps = append(*ps, p)
	}
}

// decimal is a number OSCAL calls a decimal, written without an exponent
// (the metaschema's (\+|-)?([0-9]+(\.[0-9]*)?|\.[0-9]+)), as Go writes
// small and large floats otherwise.
type decimal float64

func (d decimal) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(d), 'f', -1, 64)), nil
}

// oscalProp is an OSCAL property.
type oscalProp struct {
	Name    string `json:"name"`
	NS      string `json:"ns,omitempty"`
	Value   string `json:"value"`
	Class   string `json:"class,omitempty"`
	Remarks string `json:"remarks,omitempty"`
}

// prop returns the value of the first prop named name in ns ("" for
// OSCAL's own, which may also be written out).
func prop(props []oscalProp, ns, name string) (string, bool) {
	for _, p := range props {
		if p.Name != name {
			continue
		}
		if p.NS == ns || (ns == "" && p.NS == "http://csrc.nist.gov/ns/oscal") {
			return p.Value, true
		}
	}
	return "", false
}

type oscalMetadata struct {
	Title        string      `json:"title"`
	LastModified string      `json:"last-modified"`
	Version      string      `json:"version"`
	OSCALVersion string      `json:"oscal-version"`
	Props        []oscalProp `json:"props,omitempty"`
	// Remarks is markup: a framework's description goes here.
	Remarks string `json:"remarks,omitempty"`
}

type oscalBackMatter struct {
	Resources []oscalResource `json:"resources,omitempty"`
}

type oscalResource struct {
	UUID     string         `json:"uuid"`
	Title    string         `json:"title,omitempty"`
	Props    []oscalProp    `json:"props,omitempty"`
	Citation *oscalCitation `json:"citation,omitempty"`
	Rlinks   []oscalRlink   `json:"rlinks,omitempty"`
}

type oscalCitation struct {
	Text string `json:"text"`
}

type oscalRlink struct {
	Href string `json:"href"`
}

// flexString reads a JSON string, or the "type" of an object (as some
// tools write a relationship), or a number.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case len(b) > 0 && b[0] == '{':
		var o struct {
			Type  string `json:"type"`
			Value string `json:"value"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		*f = flexString(o.Type + o.Value)
	default:
		*f = flexString(string(b))
	}
	return nil
}

// fraction reads an OSCAL decimal 0-1 given as a number, a string, or an
// object with the value under key (1.2.0 files differ); ok is false when
// raw says nothing usable.
func fraction(raw json.RawMessage, key string) (float64, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false
	}
	if raw[0] == '{' {
		var o map[string]json.RawMessage
		if json.Unmarshal(raw, &o) != nil {
			return 0, false
		}
		return fraction(o[key], key)
	}
	var s flexString
	if json.Unmarshal(raw, &s) != nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(string(s)), "%"), 64)
	if err != nil || v < 0 {
		return 0, false
	}
	if v > 1 && v <= 100 {
		v /= 100
	}
	return v, v <= 1
}

// oscalMethod reads a provenance method: human is HUMAN, automation and
// hybrid IMPORTED.
func oscalMethod(s string) (cmv1.MappingMethod, bool) {
	switch normalise(s) {
	case "":
		return 0, true
	case "human":
		return cmv1.MappingMethod_MAPPING_METHOD_HUMAN, true
	case "automation", "hybrid", "imported":
		return cmv1.MappingMethod_MAPPING_METHOD_IMPORTED, true
	}
	return 0, false
}

// oscalStatus reads a provenance status: complete is APPROVED, draft and
// not-complete DRAFT, deprecated and superseded the same.
func oscalStatus(s string) (cmv1.MappingStatus, bool) {
	switch strings.ReplaceAll(normalise(s), " ", "-") {
	case "":
		return 0, true
	case "complete":
		return cmv1.MappingStatus_MAPPING_STATUS_APPROVED, true
	case "draft", "not-complete":
		return cmv1.MappingStatus_MAPPING_STATUS_DRAFT, true
	case "deprecated":
		return cmv1.MappingStatus_MAPPING_STATUS_DEPRECATED, true
	case "superseded":
		return cmv1.MappingStatus_MAPPING_STATUS_SUPERSEDED, true
	}
	return 0, false
}

// oscalStatusToken is the inverse of oscalStatus.
func oscalStatusToken(s cmv1.MappingStatus) string {
	switch s {
	case cmv1.MappingStatus_MAPPING_STATUS_APPROVED:
		return "complete"
	case cmv1.MappingStatus_MAPPING_STATUS_DEPRECATED:
		return "deprecated"
	case cmv1.MappingStatus_MAPPING_STATUS_SUPERSEDED:
		return "superseded"
	}
	return "draft"
}

// pointerEscape escapes a JSON pointer segment: built once, as a replacer
// costs a table of its own.
var pointerEscape = strings.NewReplacer("~", "~0", "/", "~1")

// pointer joins JSON pointer segments, escaping '~' and '/'.
func pointer(base string, segs ...any) string {
	var b strings.Builder
	b.WriteString(base)
	for _, s := range segs {
		var t string
		switch v := s.(type) {
		case int:
			t = strconv.Itoa(v)
		case string:
			t = pointerEscape.Replace(v)
		}
		b.WriteByte('/')
		b.WriteString(t)
	}
	return b.String()
}
