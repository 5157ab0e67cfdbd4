package catalog

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
)

// ControlError is a problem with one framework or one of its controls found
// while building a Graph. Control is the index of the control in the slice
// given to AddFramework, or -1 when the framework itself is at fault.
type ControlError struct {
	Framework string
	Control   int
	Message   string
}

func (e *ControlError) Error() string {
	if e.Control < 0 {
		return fmt.Sprintf("framework %q: %s", e.Framework, e.Message)
	}
	return fmt.Sprintf("framework %q, control #%d: %s", e.Framework, e.Control, e.Message)
}

// Builder assembles the frameworks and controls of a Graph.
type Builder struct {
	entries []builderEntry
}

type builderEntry struct {
	framework Framework
	controls  []Control
}

// AddFramework adds a framework with its controls in document order
// (parents before children).
func (b *Builder) AddFramework(f Framework, controls []Control) {
	b.entries = append(b.entries, builderEntry{framework: f, controls: controls})
}

// Build indexes everything added so far together with the mappings. It
// reports every broken rule it finds: framework ids well-formed and unique,
// control ids unique (ignoring case), parents known and listed first, tags
// from the framework's vocabulary, titles present; then the mapping rules of
// WithMappings. Frameworks and controls problems come as *ControlError
// values joined with errors.Join.
func (b *Builder) Build(revision int64, mappings []Mapping) (*Graph, error) {
	entries := slices.Clone(b.entries)
	slices.SortStableFunc(entries, func(x, y builderEntry) int { return strings.Compare(x.framework.ID, y.framework.ID) })

	total := 0
	for _, e := range entries {
		total += len(e.controls)
	}
	g := &Graph{
		revision:       revision,
		frameworks:     make([]FrameworkNode, 0, len(entries)),
		frameworkIndex: make(map[string]int32, len(entries)),
		controls:       make([]ControlNode, 0, total),
		lookup:         make(map[controlKey]ControlID, total*3),
	}
	var errs []error
	for _, e := range entries {
		errs = append(errs, g.addFramework(e)...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	g.indexAliases()
	if err := g.indexMappings(mappings, true); err != nil {
		return nil, err
	}
	return g, nil
}

func (g *Graph) addFramework(e builderEntry) []error {
	f := e.framework
	var errs []error
	fail := func(control int, format string, args ...any) {
		errs = append(errs, &ControlError{Framework: f.ID, Control: control, Message: fmt.Sprintf(format, args...)})
	}
	if !ValidFrameworkID(f.ID) {
		fail(-1, "id must match %s", frameworkIDPattern)
		return errs
	}
	if _, dup := g.frameworkIndex[f.ID]; dup {
		fail(-1, "framework id is not unique")
		return errs
	}
	if f.DisplayName == "" {
		fail(-1, "display_name is required")
	}
	if f.Kind < cmv1.FrameworkKind_FRAMEWORK_KIND_STANDARD || f.Kind > cmv1.FrameworkKind_FRAMEWORK_KIND_INTERNAL {
		fail(-1, "kind must be STANDARD, REGULATION, FRAMEWORK or INTERNAL")
	}
	tags := make(map[string]bool, len(f.Tags))
	for _, t := range f.Tags {
		if t.ID == "" || tags[t.ID] {
			fail(-1, "tag %q is empty or defined twice", t.ID)
		}
		tags[t.ID] = true
	}

	fi := int32(len(g.frameworks))
	node := FrameworkNode{Framework: f, Index: fi, First: ControlID(len(g.controls)), ids: make(map[string]ControlID, len(e.controls))}
	local := make(map[string]ControlID, len(e.controls))
	for i, c := range e.controls {
		id := ControlID(len(g.controls))
		key := strings.ToLower(c.ID)
		switch {
		case c.ID == "" || strings.ContainsAny(c.ID, "/ \t\n") || len(c.ID) > 64:
			fail(i, "id %q must be 1-64 characters without spaces or slashes", c.ID)
			continue
		}
		if _, seen := local[key]; seen {
			fail(i, "id %q is not unique", c.ID)
			continue
		}
		if c.Title == "" {
			fail(i, "control %s: title is required", c.ID)
		}
		if c.Kind < cmv1.ControlKind_CONTROL_KIND_CLAUSE || c.Kind > cmv1.ControlKind_CONTROL_KIND_CONTROL {
			fail(i, "control %s: unknown kind", c.ID)
		}
		for _, t := range c.Tags {
			if !tags[t] {
				fail(i, "control %s: tag %q is not in the framework's vocabulary", c.ID, t)
			}
		}
		cn := ControlNode{Control: c, Index: id, Framework: fi, ParentID: NoControl, Group: id}
		if c.Parent != "" {
			p, ok := local[strings.ToLower(c.Parent)]
			if !ok {
				fail(i, "control %s: parent %q is not listed before it", c.ID, c.Parent)
			} else {
				cn.ParentID = p
				cn.Group = g.controls[p].Group
			}
		} else {
			node.Groups = append(node.Groups, id)
		}
		if c.Assessable {
			node.AssessableCount++
		}
		local[key] = id
		node.ids[c.ID] = id
		g.controls = append(g.controls, cn)
	}
	node.End = ControlID(len(g.controls))
	g.frameworkIndex[f.ID] = fi
	g.frameworks = append(g.frameworks, node)
	return errs
}

// indexAliases fills the lookup table: canonical ids first, so an alias
// never hides a canonical id (ISO 27001 "5.1" is clause 5.1, not A.5.1),
// then aliases; an alias that two controls claim resolves to neither.
func (g *Graph) indexAliases() {
	const ambiguous = ControlID(-2)
	for i := range g.controls {
		c := &g.controls[i]
		g.lookup[lookupKey(c.Framework, c.ID)] = c.Index
	}
	for i := range g.controls {
		c := &g.controls[i]
		for _, a := range append(DerivedAliases(&c.Control), c.Aliases...) {
			k := lookupKey(c.Framework, a)
			switch prev, taken := g.lookup[k]; {
			case !taken:
				g.lookup[k] = c.Index
			case prev >= 0 && prev != c.Index && g.controls[prev].ID != a && !strings.EqualFold(g.controls[prev].ID, a):
				g.lookup[k] = ambiguous
			}
		}
	}
	for i := range g.controls {
		c := &g.controls[i]
		for _, a := range append(DerivedAliases(&c.Control), c.Aliases...) {
			if g.lookup[lookupKey(c.Framework, a)] == c.Index && !strings.EqualFold(a, c.ID) && !slices.Contains(c.Accepted, a) {
				c.Accepted = append(c.Accepted, a)
			}
		}
	}
}

// Contents returns the frameworks of g with their controls in document
// order, as they would be given to a Builder: a writer changes them and
// builds the next Graph.
func (g *Graph) Contents() []FrameworkContents {
	out := make([]FrameworkContents, len(g.frameworks))
	for i := range g.frameworks {
		f := &g.frameworks[i]
		controls := make([]Control, 0, f.End-f.First)
		for _, c := range g.controls[f.First:f.End] {
			controls = append(controls, c.Control)
		}
		out[i] = FrameworkContents{Framework: f.Framework, Controls: controls}
	}
	return out
}

// FrameworkContents is a framework with its controls in document order.
type FrameworkContents struct {
	Framework Framework
	Controls  []Control
}

// BuildContents builds a Graph of the given frameworks and mappings.
func BuildContents(revision int64, fws []FrameworkContents, mappings []Mapping) (*Graph, error) {
	var b Builder
	for _, f := range fws {
		b.AddFramework(f.Framework, f.Controls)
	}
	return b.Build(revision, mappings)
}
