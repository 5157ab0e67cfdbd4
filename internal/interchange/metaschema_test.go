package interchange

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// This file checks JSON documents against NIST's OSCAL 1.2.2 metaschema
// (testdata/oscal-1.2.2, public domain): for every assembly, the flags and
// model members it requires, the allowed values of flags and fields that
// do not allow others, and the datatype of every flag and field value
// (string, token, uuid, uri, date-time-with-timezone, decimal, markup and
// the others the modules use). It reads the metaschema XML itself, so the
// structure is NIST's, not a copy of it; the datatypes' lexical rules are
// the metaschema's datatype definitions, written out below.

type xnode struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []xnode    `xml:",any"`
	Text    string     `xml:",chardata"`
}

func (n *xnode) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (n *xnode) child(name string) *xnode {
	for i := range n.Nodes {
		if n.Nodes[i].XMLName.Local == name {
			return &n.Nodes[i]
		}
	}
	return nil
}

// schema holds the definitions of every metaschema module, by kind and name.
type schema struct {
	assemblies, fields, flags map[string]*xnode
}

func loadSchema(t *testing.T) *schema {
	t.Helper()
	s := &schema{assemblies: map[string]*xnode{}, fields: map[string]*xnode{}, flags: map[string]*xnode{}}
	files, err := filepath.Glob("testdata/oscal-1.2.2/*.xml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no metaschema: %v", err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// The DOCTYPE declares entities the decoder does not need.
		raw = regexp.MustCompile(`(?s)<!DOCTYPE.*?\]>`).ReplaceAll(raw, nil)
		dec := xml.NewDecoder(strings.NewReader(string(raw)))
		dec.Strict = false
		var root xnode
		if err := dec.Decode(&root); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for i := range root.Nodes {
			n := &root.Nodes[i]
			name := n.attr("name")
			switch n.XMLName.Local {
			case "define-assembly":
				s.assemblies[name] = n
			case "define-field":
				s.fields[name] = n
			case "define-flag":
				s.flags[name] = n
			}
		}
	}
	return s
}

// member is what a JSON key of an assembly is.
type member struct {
	kind     string // assembly, field or flag
	def      *xnode
	required bool
}

// members lists the JSON keys of an assembly definition.
func (s *schema) members(def *xnode) map[string]member {
	out := map[string]member{}
	for i := range def.Nodes {
		n := &def.Nodes[i]
		switch n.XMLName.Local {
		case "flag":
			out[n.attr("ref")] = member{"flag", s.flags[n.attr("ref")], n.attr("required") == "yes"}
		case "define-flag":
			out[n.attr("name")] = member{"flag", n, n.attr("required") == "yes"}
		case "model":
			s.model(n, out, false)
		}
	}
	return out
}

func (s *schema) model(n *xnode, out map[string]member, optional bool) {
	for i := range n.Nodes {
		m := &n.Nodes[i]
		var kind string
		var def *xnode
		name := m.attr("ref")
		switch m.XMLName.Local {
		case "assembly":
			kind, def = "assembly", s.assemblies[name]
		case "field":
			kind, def = "field", s.fields[name]
		case "define-assembly":
			kind, def, name = "assembly", m, m.attr("name")
		case "define-field":
			kind, def, name = "field", m, m.attr("name")
		case "choice":
			s.model(m, out, true)
			continue
		default:
			continue
		}
		key := name
		if u := m.child("use-name"); u != nil {
			key = strings.TrimSpace(u.Text)
		}
		if g := m.child("group-as"); g != nil {
			key = g.attr("name")
		}
		out[key] = member{kind, def, !optional && m.attr("min-occurs") != "" && m.attr("min-occurs") != "0"}
	}
}

// allowed returns the values a flag or field definition allows, when it
// allows no others (constraints aimed at OSCAL's own namespace count: the
// checked documents write none other there).
func allowed(def *xnode) []string {
	c := def.child("constraint")
	if c == nil {
		return nil
	}
	var out []string
	for i := range c.Nodes {
		av := &c.Nodes[i]
		target := av.attr("target")
		if av.XMLName.Local != "allowed-values" || av.attr("allow-other") == "yes" ||
			(target != "" && target != "." && !strings.HasPrefix(target, ".[has-oscal-namespace")) {
			continue
		}
		for j := range av.Nodes {
			if av.Nodes[j].XMLName.Local == "enum" {
				out = append(out, av.Nodes[j].attr("value"))
			}
		}
	}
	return out
}

// The metaschema's datatypes, as its datatype definitions give them
// (metaschema-datatypes.xsd and the JSON schema built from it; the
// vendored modules name them in as-type, "string" when they do not). Each
// is a JSON type and, for strings and numbers, the lexical rule.
var (
	uuidPattern    = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[45][0-9A-Fa-f]{3}-[89ABab][0-9A-Fa-f]{3}-[0-9A-Fa-f]{12}$`)
	tokenPattern   = regexp.MustCompile(`^(\p{L}|_)(\p{L}|\p{N}|[.\-_])*$`)
	uriPattern     = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+\-.]+:.*\S$`)
	decimalPattern = regexp.MustCompile(`^(\+|-)?([0-9]+(\.[0-9]*)?|\.[0-9]+)$`)
	integerPattern = regexp.MustCompile(`^[-+]?[0-9]+$`)
	base64Pattern  = regexp.MustCompile(`^[0-9A-Za-z+/]+={0,2}$`)
	emailPattern   = regexp.MustCompile(`^.+@.+$`)
	dateTimeTZ     = regexp.MustCompile(`^(((2000|2400|2800|(19|2[0-9](0[48]|[2468][048]|[13579][26])))-02-29)|(((19|2[0-9])[0-9]{2})-02-(0[1-9]|1[0-9]|2[0-8]))|(((19|2[0-9])[0-9]{2})-(0[13578]|10|12)-(0[1-9]|[12][0-9]|3[01]))|(((19|2[0-9])[0-9]{2})-(0[469]|11)-(0[1-9]|[12][0-9]|30)))T(2[0-3]|[01][0-9]):([0-5][0-9]):([0-5][0-9])(\.[0-9]+)?(Z|(-((0[0-9]|1[0-2]):00|0[39]:30)|\+((0[0-9]|1[0-4]):00|(0[34569]|10):30|(0[58]|12):45)))$`)
	datePattern    = regexp.MustCompile(`^(((2000|2400|2800|(19|2[0-9](0[48]|[2468][048]|[13579][26])))-02-29)|(((19|2[0-9])[0-9]{2})-02-(0[1-9]|1[0-9]|2[0-8]))|(((19|2[0-9])[0-9]{2})-(0[13578]|10|12)-(0[1-9]|[12][0-9]|3[01]))|(((19|2[0-9])[0-9]{2})-(0[469]|11)-(0[1-9]|[12][0-9]|30)))(Z|[+-][0-9]{2}:[0-9]{2})?$`)
)

// metaschemaString is the metaschema's string, \S(.*\S)?: not empty, no
// white space at either end, no line break (XML Schema's and JSON
// Schema's '.' match none).
func metaschemaString(s string) bool {
	if s == "" || strings.ContainsAny(s, "\n\r\u2028\u2029") {
		return false
	}
	space := func(r rune) bool { return unicode.IsSpace(r) || r == '\uFEFF' }
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	return !space(first) && !space(last)
}

// datatypes checks a value by the name of its type; each returns "" or
// what is wrong.
var datatypes = map[string]func(v any) string{
	"string": str(metaschemaString),
	"token":  str(func(s string) bool { return metaschemaString(s) && tokenPattern.MatchString(s) }),
	"uuid":   str(uuidPattern.MatchString),
	"uri": str(func(s string) bool {
		u, err := url.Parse(s)
		return uriPattern.MatchString(s) && err == nil && u.IsAbs()
	}),
	"uri-reference":    str(func(s string) bool { _, err := url.Parse(s); return metaschemaString(s) && err == nil }),
	"markup-line":      str(func(s string) bool { return s != "" && !strings.ContainsAny(s, "\n\r") }),
	"markup-multiline": str(func(string) bool { return true }),
	"email-address":    str(func(s string) bool { return metaschemaString(s) && emailPattern.MatchString(s) }),
	"base64":           str(base64Pattern.MatchString),
	"date-time-with-timezone": str(func(s string) bool {
		_, err := time.Parse(time.RFC3339Nano, s)
		return dateTimeTZ.MatchString(s) && err == nil
	}),
	"date":                 str(datePattern.MatchString),
	"decimal":              num(decimalPattern.MatchString),
	"integer":              num(integerPattern.MatchString),
	"non-negative-integer": num(func(s string) bool { return integerPattern.MatchString(s) && !strings.HasPrefix(s, "-") }),
	"positive-integer": num(func(s string) bool {
		return integerPattern.MatchString(s) && !strings.HasPrefix(s, "-") && strings.Trim(s, "+0") != ""
	}),
	"boolean": func(v any) string {
		if _, ok := v.(bool); !ok {
			return fmt.Sprintf("%s is not a JSON boolean", render(v))
		}
		return ""
	},
}

// str is a string datatype whose lexical rule is ok.
func str(ok func(string) bool) func(v any) string {
	return func(v any) string {
		s, isString := v.(string)
		switch {
		case !isString:
			return fmt.Sprintf("%s is not a JSON string", render(v))
		case !ok(s):
			return fmt.Sprintf("%q is not", s)
		}
		return ""
	}
}

// num is a number datatype: a JSON number, written as ok allows.
func num(ok func(string) bool) func(v any) string {
	return func(v any) string {
		n, isNumber := v.(json.Number)
		switch {
		case !isNumber:
			return fmt.Sprintf("%s is not a JSON number", render(v))
		case !ok(n.String()):
			return fmt.Sprintf("%s is not", n)
		}
		return ""
	}
}

func render(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// asType is the datatype of a flag or field definition: "string" when the
// metaschema names none.
func asType(def *xnode) string {
	if t := def.attr("as-type"); t != "" {
		return t
	}
	return "string"
}

// checkValue checks a flag's or a field's scalar value against its
// datatype and the values it allows.
func checkValue(def *xnode, at string, v any) []string {
	var errs []string
	typ := asType(def)
	check, known := datatypes[typ]
	switch {
	case !known:
		errs = append(errs, fmt.Sprintf("%s: datatype %q is not known to this check", at, typ))
	default:
		if msg := check(v); msg != "" {
			errs = append(errs, fmt.Sprintf("%s: %s a valid %s", at, msg, typ))
			if strings.HasSuffix(msg, "not a JSON string") || strings.HasSuffix(msg, "not a JSON number") || strings.HasSuffix(msg, "not a JSON boolean") {
				errs[len(errs)-1] = fmt.Sprintf("%s: %s (%s)", at, msg, typ)
			}
		}
	}
	if s, ok := v.(string); ok {
		if vals := allowed(def); len(vals) > 0 && !slices.Contains(vals, s) {
			errs = append(errs, fmt.Sprintf("%s: %q is not one of %v", at, s, vals))
		}
	}
	return errs
}

// checkField checks a field's value: a scalar, or (a field with flags) an
// object of its flags and its value under its json-value-key.
func (s *schema) checkField(def *xnode, at string, v any) []string {
	obj, ok := v.(map[string]any)
	if !ok {
		return checkValue(def, at, v)
	}
	valueKey := "STRVALUE"
	if k := def.child("json-value-key"); k != nil {
		valueKey = strings.TrimSpace(k.Text)
	}
	var errs []string
	flags := map[string]member{}
	for i := range def.Nodes {
		n := &def.Nodes[i]
		switch n.XMLName.Local {
		case "flag":
			flags[n.attr("ref")] = member{"flag", s.flags[n.attr("ref")], n.attr("required") == "yes"}
		case "define-flag":
			flags[n.attr("name")] = member{"flag", n, n.attr("required") == "yes"}
		}
	}
	if len(flags) == 0 {
		return []string{fmt.Sprintf("%s: field %s has no flags and is a plain value, not an object", at, def.attr("name"))}
	}
	if _, ok := obj[valueKey]; !ok {
		errs = append(errs, fmt.Sprintf("%s: %q is required", at, valueKey))
	}
	for key, item := range obj {
		switch m, isFlag := flags[key]; {
		case key == valueKey:
			errs = append(errs, checkValue(def, pointer(at, key), item)...)
		case isFlag && m.def != nil:
			errs = append(errs, checkValue(m.def, pointer(at, key), item)...)
		default:
			errs = append(errs, fmt.Sprintf("%s: %q is not part of %s", at, key, def.attr("name")))
		}
	}
	for key, m := range flags {
		if _, ok := obj[key]; m.required && !ok {
			errs = append(errs, fmt.Sprintf("%s: %q is required", at, key))
		}
	}
	return errs
}

// check walks a JSON object as an instance of assembly def.
func (s *schema) check(def *xnode, at string, obj map[string]any) []string {
	var errs []string
	ms := s.members(def)
	for key, m := range ms {
		if _, ok := obj[key]; m.required && !ok {
			errs = append(errs, fmt.Sprintf("%s: %q is required", at, key))
		}
	}
	for key, v := range obj {
		m, ok := ms[key]
		if !ok || m.def == nil {
			errs = append(errs, fmt.Sprintf("%s: %q is not part of %s", at, key, def.attr("name")))
			continue
		}
		items := []any{v}
		if arr, ok := v.([]any); ok {
			items = arr
		}
		for i, item := range items {
			here := pointer(at, key)
			if len(items) > 1 || isArray(v) {
				here = pointer(at, key, i)
			}
			switch m.kind {
			case "assembly":
				sub, ok := item.(map[string]any)
				if !ok {
					errs = append(errs, fmt.Sprintf("%s: expected an object", here))
					continue
				}
				errs = append(errs, s.check(m.def, here, sub)...)
			case "field":
				errs = append(errs, s.checkField(m.def, here, item)...)
			default:
				errs = append(errs, checkValue(m.def, here, item)...)
			}
		}
	}
	return errs
}

func isArray(v any) bool { _, ok := v.([]any); return ok }

// conform returns the violations of a JSON document whose root is the
// assembly named root.
func (s *schema) conform(t *testing.T, root string, doc []byte) []string {
	t.Helper()
	var top map[string]any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber() // numbers as written, for the decimal and integer rules
	if err := dec.Decode(&top); err != nil {
		t.Fatal(err)
	}
	obj, ok := top[root].(map[string]any)
	if !ok || len(top) != 1 {
		return []string{fmt.Sprintf("the document's only key must be %q", root)}
	}
	return s.check(s.assemblies[root], "/"+root, obj)
}
