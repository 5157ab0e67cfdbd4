package interchange

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// This file checks JSON documents against NIST's OSCAL 1.2.2 metaschema
// (testdata/oscal-1.2.2, public domain): for every assembly, the flags and
// model members it requires, the allowed values of flags and fields that
// do not allow others, and the token and uuid types. It reads the
// metaschema XML itself, so the rules are NIST's, not a copy of them.

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

var uuidPattern = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[45][0-9A-Fa-f]{3}-[89ABab][0-9A-Fa-f]{3}-[0-9A-Fa-f]{12}$`)

// checkValue checks a flag's or a field's scalar value.
func checkValue(def *xnode, at string, v any) []string {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	var errs []string
	switch def.attr("as-type") {
	case "token":
		if !ValidToken(s) {
			errs = append(errs, fmt.Sprintf("%s: %q is not a token", at, s))
		}
	case "uuid":
		if !uuidPattern.MatchString(s) {
			errs = append(errs, fmt.Sprintf("%s: %q is not a version 4 or 5 uuid", at, s))
		}
	}
	if vals := allowed(def); len(vals) > 0 && !slices.Contains(vals, s) {
		errs = append(errs, fmt.Sprintf("%s: %q is not one of %v", at, s, vals))
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
			if def.attr("name") != "property" { // the value of a prop is its own
				errs = append(errs, fmt.Sprintf("%s: %q is not part of %s", at, key, def.attr("name")))
			}
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
			default:
				if key == "name" && def.attr("name") == "property" {
					if name, _ := item.(string); !ValidToken(name) { // a prop name is a token
						errs = append(errs, fmt.Sprintf("%s: %q is not a token", here, name))
					}
					continue
				}
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
	if err := json.Unmarshal(doc, &top); err != nil {
		t.Fatal(err)
	}
	obj, ok := top[root].(map[string]any)
	if !ok || len(top) != 1 {
		return []string{fmt.Sprintf("the document's only key must be %q", root)}
	}
	return s.check(s.assemblies[root], "/"+root, obj)
}
