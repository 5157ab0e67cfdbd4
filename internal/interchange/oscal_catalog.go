package interchange

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
)

type oscalPart struct {
	ID    string      `json:"id,omitempty"`
	Name  string      `json:"name"`
	NS    string      `json:"ns,omitempty"`
	Class string      `json:"class,omitempty"`
	Title string      `json:"title,omitempty"`
	Props []oscalProp `json:"props,omitempty"`
	Prose string      `json:"prose,omitempty"`
	Parts []oscalPart `json:"parts,omitempty"`
}

type oscalParam struct {
	ID    string `json:"id"`
	Label string `json:"label,omitempty"`
}

type oscalControl struct {
	ID       string         `json:"id"`
	Class    string         `json:"class,omitempty"`
	Title    string         `json:"title"`
	Params   []oscalParam   `json:"params,omitempty"`
	Props    []oscalProp    `json:"props,omitempty"`
	Parts    []oscalPart    `json:"parts,omitempty"`
	Controls []oscalControl `json:"controls,omitempty"`
}

type oscalGroup struct {
	ID       string         `json:"id,omitempty"`
	Class    string         `json:"class,omitempty"`
	Title    string         `json:"title"`
	Params   []oscalParam   `json:"params,omitempty"`
	Props    []oscalProp    `json:"props,omitempty"`
	Parts    []oscalPart    `json:"parts,omitempty"`
	Groups   []oscalGroup   `json:"groups,omitempty"`
	Controls []oscalControl `json:"controls,omitempty"`
}

type oscalCatalog struct {
	UUID     string         `json:"uuid"`
	Metadata oscalMetadata  `json:"metadata"`
	Groups   []oscalGroup   `json:"groups,omitempty"`
	Controls []oscalControl `json:"controls,omitempty"`
}

// oscalCatalog reads a catalog as a stream: its groups and top-level
// controls are decoded one at a time, each read before the next is
// decoded, so the document is never held whole (a group, with its
// controls, is).
func (rd *reader) oscalCatalog(r io.Reader) error {
	js := newJSONStream(r)
	const base = "/catalog"
	var meta oscalMetadata
	fw := Framework{Loc: base}
	seen := map[string]string{}
	err := js.root("catalog", "an OSCAL catalog", func(key string) error {
		switch key {
		case "metadata":
			return js.decode(base+"/metadata", &meta)
		case "groups":
			return js.array(base+"/groups", func(i int) error {
				var g oscalGroup
				at := pointer(base, "groups", i)
				if err := js.decode(at, &g); err != nil {
					return err
				}
				return rd.oscalGroup(&fw, seen, at, "", g)
			})
		case "controls":
			return js.array(base+"/controls", func(i int) error {
				var ctl oscalControl
				at := pointer(base, "controls", i)
				if err := js.decode(at, &ctl); err != nil {
					return err
				}
				return rd.oscalControl(&fw, seen, at, "", ctl)
			})
		}
		return js.skip()
	})
	if err != nil {
		return err
	}
	fw.Title, fw.Version = strings.TrimSpace(meta.Title), strings.TrimSpace(meta.Version)
	if k, ok := prop(meta.Props, Namespace, "kind"); ok {
		fw.Kind = cmv1.FrameworkKind(cmv1.FrameworkKind_value["FRAMEWORK_KIND_"+strings.ToUpper(k)])
	}
	if v, _ := prop(meta.Props, Namespace, "version-derived"); v == "true" {
		fw.Version = "" // our export of a framework without a version
	}
	fw.Publisher, _ = prop(meta.Props, Namespace, "publisher")
	fw.ID, _ = prop(meta.Props, Namespace, "framework")
	// The description is the metadata's remarks (markup); earlier exports
	// put it in a prop.
	fw.Description = strings.TrimSpace(meta.Remarks)
	if fw.Description == "" {
		fw.Description, _ = prop(meta.Props, Namespace, "description")
	}
	for _, p := range meta.Props {
		if p.NS == Namespace && p.Name == "tag" {
			fw.Tags = append(fw.Tags, catalog.Tag{ID: p.Value, Title: firstOf(p.Remarks, p.Value)})
		}
	}
	rd.doc.Title, rd.doc.Version = fw.Title, fw.Version
	if fw.Title == "" {
		return syntaxError(base+"/metadata/title", "a catalog needs a title")
	}
	if len(fw.Controls) == 0 {
		return syntaxError(base, "the catalog has no groups or controls")
	}
	rd.doc.Frameworks = []Framework{fw}
	return nil
}

// displayID is the id a control is known by: its label prop when that is a
// well-formed control id, else its OSCAL id. The other is an alias.
func displayID(id string, props []oscalProp) (string, []string) {
	id = strings.TrimSpace(id)
	label, _ := prop(props, "", "label")
	label = strings.TrimSpace(label)
	switch {
	case label != "" && label != id && catalog.ControlIDPattern.MatchString(label):
		if id == "" {
			return label, nil
		}
		return label, []string{id}
	case label != "" && label != id:
		return id, []string{label}
	}
	return id, nil
}

// add appends a control, refusing a second one with the same id (ignoring
// case).
func (rd *reader) add(fw *Framework, seen map[string]string, c Control) error {
	if err := rd.row(); err != nil {
		return err
	}
	if c.ID == "" {
		rd.skip(c.Loc, "no id")
		return nil
	}
	if prev, dup := seen[strings.ToLower(c.ID)]; dup {
		rd.skip(c.Loc, "id %q is used already at %s", c.ID, prev)
		return nil
	}
	seen[strings.ToLower(c.ID)] = c.Loc
	fw.Controls = append(fw.Controls, c)
	return nil
}

func (rd *reader) oscalGroup(fw *Framework, seen map[string]string, at, parent string, g oscalGroup) error {
	rd.token("group id", at+"/id", g.ID)
	id, aliases := displayID(g.ID, g.Props)
	if id == "" {
		id = "group-" + strconv.Itoa(len(fw.Controls)+1)
		rd.warn(at, "a group without an id or label is given the id %q", id)
	}
	c := Control{ID: id, Title: strings.TrimSpace(g.Title), Text: statement(g.Parts, g.Params), Parent: parent,
		Kind: controlKind(g.Props), Aliases: append(aliases, values(g.Props, "alias")...), Tags: values(g.Props, "tag"), Loc: at}
	c.Assessable = assessable(g.Props, false)
	c.Implementation = implementation(g.Props)
	if err := rd.add(fw, seen, c); err != nil {
		return err
	}
	for i, sub := range g.Groups {
		if err := rd.oscalGroup(fw, seen, pointer(at, "groups", i), id, sub); err != nil {
			return err
		}
	}
	for i, ctl := range g.Controls {
		if err := rd.oscalControl(fw, seen, pointer(at, "controls", i), id, ctl); err != nil {
			return err
		}
	}
	return nil
}

func (rd *reader) oscalControl(fw *Framework, seen map[string]string, at, parent string, ctl oscalControl) error {
	rd.token("control id", at+"/id", ctl.ID)
	id, aliases := displayID(ctl.ID, ctl.Props)
	c := Control{ID: id, Title: strings.TrimSpace(ctl.Title), Text: statement(ctl.Parts, ctl.Params), Parent: parent,
		Kind: controlKind(ctl.Props), Aliases: append(aliases, values(ctl.Props, "alias")...), Tags: values(ctl.Props, "tag"), Loc: at}
	c.Assessable = assessable(ctl.Props, true)
	c.Implementation = implementation(ctl.Props)
	if err := rd.add(fw, seen, c); err != nil {
		return err
	}
	for i, sub := range ctl.Controls {
		if err := rd.oscalControl(fw, seen, pointer(at, "controls", i), id, sub); err != nil {
			return err
		}
	}
	return nil
}

func controlKind(props []oscalProp) cmv1.ControlKind {
	k, _ := prop(props, Namespace, "kind")
	return cmv1.ControlKind(cmv1.ControlKind_value["CONTROL_KIND_"+strings.ToUpper(strings.ReplaceAll(k, "-", "_"))])
}

// implementation reads the implementation-status prop of Namespace.
func implementation(props []oscalProp) cmv1.ImplementationStatus {
	v, _ := prop(props, Namespace, "implementation-status")
	return implementationOf(v)
}

func implementationOf(v string) cmv1.ImplementationStatus {
	name := "IMPLEMENTATION_STATUS_" + strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(v), "-", "_"))
	return cmv1.ImplementationStatus(cmv1.ImplementationStatus_value[name])
}

// implementationToken is "not-implemented" for NOT_IMPLEMENTED; "" for none.
func implementationToken(s cmv1.ImplementationStatus) string {
	if s == 0 {
		return ""
	}
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(s.String(), "IMPLEMENTATION_STATUS_")), "_", "-")
}

func assessable(props []oscalProp, def bool) bool {
	if v, ok := prop(props, Namespace, "assessable"); ok {
		return v == "true"
	}
	return def
}

// values are the values of every prop of Namespace named name.
func values(props []oscalProp, name string) []string {
	var out []string
	for _, p := range props {
		if p.NS == Namespace && p.Name == name {
			out = append(out, p.Value)
		}
	}
	return out
}

var insertParam = regexp.MustCompile(`\{\{\s*insert:\s*param,\s*([^}\s]+)\s*\}\}`)

// statement is the prose of a control's statement part and its items, one
// per line, with parameters shown by their labels.
func statement(parts []oscalPart, params []oscalParam) string {
	labels := map[string]string{}
	for _, p := range params {
		labels[p.ID] = firstOf(p.Label, p.ID)
	}
	var lines []string
	var walk func(ps []oscalPart, top bool)
	walk = func(ps []oscalPart, top bool) {
		for _, p := range ps {
			if top && p.Name != "statement" {
				continue
			}
			if prose := strings.TrimSpace(p.Prose); prose != "" {
				if label, ok := prop(p.Props, "", "label"); ok {
					prose = label + " " + prose
				}
				lines = append(lines, prose)
			}
			walk(p.Parts, false)
		}
	}
	walk(parts, true)
	text := strings.Join(lines, "\n")
	return insertParam.ReplaceAllStringFunc(text, func(m string) string {
		id := insertParam.FindStringSubmatch(m)[1]
		return "[" + firstOf(labels[id], id) + "]"
	})
}

// FrameworkFile is what a framework export writes.
type FrameworkFile struct {
	Framework catalog.Framework
	// Controls in document order, parents before children.
	Controls []catalog.Control
}

// writeOSCALCatalog writes f as an OSCAL catalog: controls nested under
// their parents, ids as tokens with the original in a label prop, kind and
// assessable in props of Namespace, the summary as statement prose.
func writeOSCALCatalog(w io.Writer, f *FrameworkFile) error {
	children := map[string][]int{}
	for i, c := range f.Controls {
		children[c.Parent] = append(children[c.Parent], i)
	}
	var build func(i int) oscalControl
	build = func(i int) oscalControl {
		c := &f.Controls[i]
		var ps props
		for _, p := range []oscalProp{{Name: "label", Value: c.ID}, {Name: "sort-id", Value: fmt.Sprintf("%05d", i)},
			{Name: "kind", NS: Namespace, Value: kindToken(c.Kind)}, {Name: "assessable", NS: Namespace, Value: strconv.FormatBool(c.Assessable)}} {
			ps.add(p)
		}
		for _, t := range c.Tags {
			ps.add(oscalProp{Name: "tag", NS: Namespace, Value: t})
		}
		for _, a := range c.Aliases {
			ps.add(oscalProp{Name: "alias", NS: Namespace, Value: a})
		}
		ps.add(oscalProp{Name: "implementation-status", NS: Namespace, Value: implementationToken(c.Implementation)})
		out := oscalControl{ID: Token(c.ID), Title: markupLine(c.Title, c.ID), Props: ps}
		if c.Summary != "" {
			out.Parts = []oscalPart{{ID: Token(c.ID) + "_smt", Name: "statement", Prose: c.Summary}}
		}
		for _, j := range children[c.ID] {
			out.Controls = append(out.Controls, build(j))
		}
		return out
	}
	fw := &f.Framework
	var ps props
	ps.add(oscalProp{Name: "kind", NS: Namespace, Value: strings.ToLower(strings.TrimPrefix(fw.Kind.String(), "FRAMEWORK_KIND_"))})
	ps.add(oscalProp{Name: "framework", NS: Namespace, Value: fw.ID})
	version := oscalString(fw.Version)
	if version == "" { // metadata.version is required: say which export this is, and that it is not the framework's
		version = derivedVersion(fw)
		ps.add(oscalProp{Name: "version-derived", NS: Namespace, Value: "true",
			Remarks: "The framework has no version: metadata.version names the revision it was exported at, and an import leaves the version empty."})
	}
	ps.add(oscalProp{Name: "publisher", NS: Namespace, Value: fw.Publisher})
	for _, t := range fw.Tags {
		ps.add(oscalProp{Name: "tag", NS: Namespace, Value: t.ID, Remarks: t.Title})
	}
	cat := oscalCatalog{
		UUID: stableUUID("catalog", fw.ID, fw.Version),
		Metadata: oscalMetadata{Title: markupLine(fw.DisplayName, fw.ID), LastModified: now(), Version: version, OSCALVersion: OSCALVersion,
			Props: ps, Remarks: strings.TrimSpace(fw.Description)},
	}
	for _, i := range children[""] {
		cat.Controls = append(cat.Controls, build(i))
	}
	ew := &errWriter{w: bufio.NewWriterSize(w, 32<<10)}
	ew.json(map[string]any{"catalog": cat}, nil, "")
	ew.str("\n")
	return ew.flush()
}

// derivedVersion is the metadata.version of a framework without one: the
// store revision it was exported at ("revision 12"), "unversioned" when it
// has none; the same content derives the same version.
func derivedVersion(fw *catalog.Framework) string {
	if fw.Revision > 0 {
		return "revision " + strconv.FormatInt(fw.Revision, 10)
	}
	return "unversioned"
}

// kindToken is the lower-case, dashed name of a control kind.
func kindToken(k cmv1.ControlKind) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(k.String(), "CONTROL_KIND_")), "_", "-")
}

// now is the last-modified of a catalog export.
func now() string { return time.Now().UTC().Truncate(time.Second).Format(time.RFC3339) }
