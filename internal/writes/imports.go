package writes

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/auth"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/interchange"
	"github.com/controlmap/controlmap/internal/store"
)

// MaxControlText bounds the text of an imported control: published
// statements run longer than the summaries written through the API.
const MaxControlText = 20_000

// importTimeout bounds the write of one import.
const importTimeout = 5 * time.Minute

// defaultStrength is the strength an imported mapping gets when its file
// gives none and its relationship leaves it to judgement: the middle of
// the scale, reported as a warning so that someone reviews it.
const defaultStrength = 5

// ImportOptions say how to apply a document.
type ImportOptions struct {
	// Lenient skips the rows that cannot be applied; otherwise the first
	// problem fails the import.
	Lenient bool
	// ValidateOnly runs every check and reports, writing nothing. It reads
	// the whole document in either mode: strict, it reports whether the
	// import would be refused (ImportReport.Refused).
	ValidateOnly bool
	// Bindings maps a resource key of the document to a framework id.
	Bindings map[string]string
	// FrameworkID is the id of the framework a framework document creates
	// or updates; empty derives one from its title and version.
	FrameworkID string
	// FrameworkKind is the kind of a framework the import creates.
	FrameworkKind cmv1.FrameworkKind
}

// ImportCount counts the rows of one kind.
type ImportCount struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Skipped   int `json:"skipped"`
}

// ImportedResource is a resource an import created or updated.
type ImportedResource struct {
	Name   string
	Action string
}

// ImportKinds are the kinds of row an import counts, in report order.
var ImportKinds = []string{"framework", "control", "mapping"}

// MaxReportedChanges bounds the changes a report lists.
const MaxReportedChanges = 1000

// ImportReport says what an import did, or would do.
type ImportReport struct {
	Revision     int64
	ValidateOnly bool
	// Refused says that a strict import of the document would fail, at
	// its first skipped problem (ValidateOnly only).
	Refused  bool
	Format   interchange.Format
	Counts   map[string]*ImportCount
	Problems []interchange.Problem
	Changes  []ImportedResource
	Omitted  int
	// Bindings are the framework ids the document's resources were bound
	// to, by key.
	Bindings map[string]string
}

// listed lists a change without counting it (the mapping a replacement
// deleted: the replacing one counts).
func (r *ImportReport) listed(name, action string) {
	if len(r.Changes) < MaxReportedChanges {
		r.Changes = append(r.Changes, ImportedResource{Name: name, Action: action})
	} else {
		r.Omitted++
	}
}

func (r *ImportReport) changed(kind, name, action string) {
	c := r.Counts[kind]
	if action == "created" {
		c.Created++
	} else {
		c.Updated++
	}
	r.listed(name, action)
}

// maxProblem bounds the message of a problem.
const maxProblem = 500

// errDryRun ends the transaction of a validate-only import.
var errDryRun = errors.New("validate only: nothing written")

// LocationField is the BadRequest field of a problem at loc: the JSON
// pointer under "document", or "document" and the line.
func LocationField(loc string) string {
	switch {
	case strings.HasPrefix(loc, "/"):
		return "document" + loc
	case loc == "":
		return "document"
	}
	return "document (" + loc + ")"
}

// Import applies a document read by the interchange package as one write,
// under the rules of the other writes: the operator writes reference
// frameworks and mappings between any frameworks, a tenant its own
// internal frameworks and mappings with an end in them. Rows equal to
// what is stored change nothing: importing the same document twice
// commits one revision. Under ValidateOnly it returns the report of what
// it would do, with Revision 0.
func (w *Writer) Import(ctx context.Context, doc *interchange.Document, opt ImportOptions) (*ImportReport, error) {
	p := principal(ctx)
	if !p.Operator && p.Tenant == "" {
		return nil, denied(cmv1.ErrorReason_ERROR_REASON_TENANT_REQUIRED, "imports write a tenant's frameworks and mappings, or the operator's: call with an API key or the operator's token")
	}
	// A dry run reads the whole document, strict or not: it reports every
	// problem, and whether a strict import would be refused.
	strict := !opt.Lenient
	if opt.ValidateOnly {
		opt.Lenient = true
	}
	if !opt.Lenient {
		for _, pr := range doc.Problems {
			if pr.Skipped {
				return nil, catalog.Invalid(LocationField(pr.Loc), catalog.ClipTo(pr.Message, maxProblem))
			}
		}
	}
	var rep *ImportReport
	// A large document takes longer than a single write may.
	ctx = store.WithWriteTimeout(ctx, importTimeout)
	rev, err := w.st.Update(ctx, func(tx store.Tx) (store.Audit, error) {
		im := &importer{w: w, tx: tx, p: p, opt: opt, doc: doc, controls: map[string]*controlNames{}, defaulted: map[string]int{}, bound: map[string]bool{}}
		im.rep = &ImportReport{Format: doc.Format, ValidateOnly: opt.ValidateOnly, Counts: map[string]*ImportCount{}, Bindings: map[string]string{},
			Problems: slices.Clone(doc.Problems)}
		for _, k := range ImportKinds {
			im.rep.Counts[k] = &ImportCount{}
		}
		rep = im.rep
		for _, pr := range doc.Problems {
			if pr.Skipped {
				im.rep.Counts[im.kindAt()].Skipped++
			}
		}
		if err := im.run(); err != nil {
			return store.Audit{}, err
		}
		if opt.ValidateOnly {
			return store.Audit{}, errDryRun
		}
		return im.audit(), nil
	})
	if err != nil && !errors.Is(err, errDryRun) {
		return nil, err
	}
	rep.Revision = rev
	// The reader's problems and the importer's, in document order.
	slices.SortStableFunc(rep.Problems, func(a, b interchange.Problem) int { return compareLocations(a.Loc, b.Loc) })
	rep.Refused = strict && opt.ValidateOnly && slices.ContainsFunc(rep.Problems, func(p interchange.Problem) bool { return p.Skipped })
	return rep, nil
}

var digits = regexp.MustCompile(`\d+`)

// compareLocations orders "line 9" before "line 10" and
// "/mappings/0/maps/9" before "/mappings/0/maps/10"; a problem of no row
// ("") comes last.
func compareLocations(a, b string) int {
	if a == "" || b == "" {
		return cmp.Compare(b, a)
	}
	x, y := digits.FindAllString(a, -1), digits.FindAllString(b, -1)
	for i := 0; i < len(x) && i < len(y); i++ {
		nx, _ := strconv.Atoi(x[i])
		ny, _ := strconv.Atoi(y[i])
		if c := cmp.Compare(nx, ny); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(x), len(y))
}

// importer applies one document within a transaction.
type importer struct {
	w   *Writer
	tx  store.Tx
	p   auth.Principal
	opt ImportOptions
	doc *interchange.Document
	rep *ImportReport
	// frameworks are the ids of the document's frameworks, by index.
	frameworks []string
	// controls resolve the names of the controls, by framework.
	controls map[string]*controlNames
	// owner is the tenant whose data the import changed ("" for public).
	owner string
	// defaulted counts the mappings given a default, by what.
	defaulted map[string]int
	// bound are the keys of the bindings a resource used.
	bound map[string]bool
	// members are the controls of the group mappings the import creates,
	// locked together before it commits.
	members []catalog.ControlRef
}

// kindAt is the kind of row a reader's problem is about.
func (im *importer) kindAt() string {
	if len(im.doc.Crosswalks) > 0 {
		return "mapping"
	}
	return "control"
}

// problem records a row that cannot be applied: in strict mode it fails the
// import.
func (im *importer) problem(kind, loc, format string, args ...any) error {
	msg := catalog.ClipTo(fmt.Sprintf(format, catalog.ClipArgs(args)...), maxProblem)
	if !im.opt.Lenient {
		return catalog.Invalid(LocationField(loc), msg)
	}
	im.rep.Problems = append(im.rep.Problems, interchange.Problem{Loc: loc, Message: msg, Skipped: true})
	im.rep.Counts[kind].Skipped++
	return nil
}

func (im *importer) warn(loc, format string, args ...any) {
	im.rep.Problems = append(im.rep.Problems, interchange.Problem{Loc: loc, Message: fmt.Sprintf(format, catalog.ClipArgs(args)...)})
}

func (im *importer) run() error {
	for i := range im.doc.Frameworks {
		id, err := im.framework(&im.doc.Frameworks[i])
		if err != nil {
			return err
		}
		im.frameworks = append(im.frameworks, id)
	}
	for i := range im.doc.Crosswalks {
		if err := im.crosswalk(&im.doc.Crosswalks[i]); err != nil {
			return err
		}
	}
	// The members of new group mappings, locked in one read, as
	// lockMembers locks those of one.
	if err := im.tx.LockControls(im.members); err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(im.opt.Bindings)) {
		if !im.bound[k] {
			im.warn("", "the binding of %q names no resource of the document; unused", k)
		}
	}
	for _, what := range slices.Sorted(maps.Keys(im.defaulted)) { // in the same order every time
		im.warn("", "%d of the mappings had no %s", im.defaulted[what], what)
	}
	// A tenant's quotas hold for the whole document.
	for _, q := range []struct{ quota, kind string }{{"frameworks", "framework"}, {"controls", "control"}, {"mappings", "mapping"}} {
		if err := im.w.checkQuotaFor(im.p.Tenant, q.quota, im.rep.Counts[q.kind].Created); err != nil {
			return err
		}
	}
	return nil
}

// frameworkID derives an id from a title and version: lower case, words
// joined by dashes, a tenant's id in front for a tenant.
func frameworkID(p auth.Principal, title, version string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(title + " " + version) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		default:
			dash = true
		}
	}
	id := strings.Trim(b.String(), ".-")
	if !p.Operator && !strings.HasPrefix(id, p.Tenant+"-") {
		id = p.Tenant + "-" + id
	}
	if len(id) > 63 {
		id = strings.TrimRight(id[:63], ".-")
	}
	return id
}

// framework creates or updates a framework of the document with its
// controls, and returns its id.
func (im *importer) framework(d *interchange.Framework) (string, error) {
	id := im.opt.FrameworkID
	switch {
	case id != "":
	case catalog.ValidFrameworkID(d.ID) && (im.p.Operator || strings.HasPrefix(d.ID, im.p.Tenant+"-")):
		id = d.ID
	case catalog.ValidFrameworkID(d.ID):
		id = frameworkID(im.p, d.ID, "")
	default:
		id = frameworkID(im.p, d.Title, d.Version)
	}
	id = strings.TrimPrefix(id, "frameworks/")
	kind := im.opt.FrameworkKind
	if kind == 0 && im.p.Operator && d.Kind != cmv1.FrameworkKind_FRAMEWORK_KIND_INTERNAL {
		kind = d.Kind
	}
	f := catalog.Framework{ID: id, DisplayName: d.Title, Version: d.Version, Publisher: strings.TrimSpace(d.Publisher),
		Description: strings.TrimSpace(d.Description), Kind: kind, Tags: d.Tags}
	if err := newFramework(im.p, &f, "options.framework_id", "options.framework_kind"); err != nil {
		return id, err
	}
	if !im.p.Operator {
		f.Tags = d.Tags // a tenant's framework keeps its document's vocabulary too
	}
	if utf8.RuneCountInString(f.Description) > MaxSummary {
		f.Description = clip(f.Description, MaxSummary)
		im.warn(d.Loc, "the description is longer than %d characters; cut short", MaxSummary)
	}
	// check is what holds of the framework as it will be.
	check := func() error {
		if f.Version == "" && f.Kind != cmv1.FrameworkKind_FRAMEWORK_KIND_INTERNAL {
			return invalid(LocationField(d.Loc), "a reference framework needs a version, and the document gives none")
		}
		return checkFramework(&f)
	}
	im.rep.Bindings[firstNonEmpty(d.Key, "framework")] = id
	name := catalog.FrameworkName(id)
	var existing []catalog.Control
	before, err := ownedFramework(im.tx, im.p, id, store.Exclusive)
	switch {
	case isNotFound(err):
		if err := im.w.outsideTenants(&f, "options.framework_id"); err != nil {
			return id, err
		}
		if err := check(); err != nil {
			return id, err
		}
		im.tx.Write(store.Change{Kind: store.KindFramework, New: true, Owner: f.Owner, Framework: f})
		im.rep.changed("framework", name, "created")
	case err != nil:
		return id, err
	default:
		if existing, err = im.tx.Controls(id, store.Exclusive); err != nil {
			return id, err
		}
		// What the document does not say stays as it is.
		f.Owner = before.Owner
		if im.opt.FrameworkKind == 0 && (d.Kind == 0 || !im.p.Operator) {
			f.Kind = before.Kind
		}
		if d.Publisher == "" || !im.p.Operator {
			f.Publisher = before.Publisher
		}
		if f.Description == "" {
			f.Description = before.Description
		}
		if len(d.Tags) == 0 {
			f.Tags = before.Tags
		}
		if f.Version == "" {
			f.Version = before.Version
		}
		if f.DisplayName == "" {
			f.DisplayName = before.DisplayName
		}
		if err := check(); err != nil {
			return id, err
		}
		if f.DisplayName == before.DisplayName && f.Version == before.Version && f.Publisher == before.Publisher &&
			f.Description == before.Description && f.Kind == before.Kind && slices.Equal(f.Tags, before.Tags) {
			im.rep.Counts["framework"].Unchanged++
		} else {
			im.tx.Write(store.Change{Kind: store.KindFramework, Owner: f.Owner, Framework: f})
			im.rep.changed("framework", name, "updated")
		}
	}
	im.owner = f.Owner
	return id, im.importControls(&f, d, existing)
}

// importControls creates or updates the controls of d in framework f,
// which holds existing.
func (im *importer) importControls(f *catalog.Framework, d *interchange.Framework, existing []catalog.Control) error {
	stored := make(map[string]*catalog.Control, len(existing))
	for i := range existing {
		stored[strings.ToLower(existing[i].ID)] = &existing[i]
	}
	// Every spelling in use, so that an alias never shadows another control:
	// ids first, as lookups take them (clause "5" of ISO 27001 is not the
	// "5" that Annex A.5 is also spelt).
	taken := spellingsOf(existing)
	for _, dc := range d.Controls {
		if id := strings.TrimSpace(dc.ID); taken[strings.ToLower(id)] == "" {
			taken[strings.ToLower(id)] = id
		}
	}
	vocabulary := map[string]bool{}
	for _, t := range f.Tags {
		vocabulary[t.ID] = true
	}
	imported := map[string]bool{}
	created := 0
	for _, dc := range d.Controls {
		c := catalog.Control{ID: strings.TrimSpace(dc.ID), Title: strings.TrimSpace(dc.Title), Summary: strings.TrimSpace(dc.Text),
			Parent: dc.Parent, Assessable: dc.Assessable, Kind: dc.Kind}
		if !catalog.ControlIDPattern.MatchString(c.ID) {
			if err := im.problem("control", dc.Loc, "control id %q must match [A-Za-z0-9][A-Za-z0-9._-]{0,62}", c.ID); err != nil {
				return err
			}
			continue
		}
		if c.Parent != "" && !imported[strings.ToLower(c.Parent)] && stored[strings.ToLower(c.Parent)] == nil {
			if err := im.problem("control", dc.Loc, "parent %q of control %q was not imported", c.Parent, c.ID); err != nil {
				return err
			}
			continue
		}
		// What a document does not say of a stored control stays as it is
		// (a CISO Assistant file has no kinds or aliases); a new control gets
		// defaults.
		prev := stored[strings.ToLower(c.ID)]
		if prev != nil {
			c.ID = prev.ID
			if !strings.EqualFold(c.Parent, prev.Parent) {
				if err := im.problem("control", dc.Loc, "control %s is under %q, not %q: a control's parent does not change; delete it and import again", catalog.ControlName(f.ID, c.ID), prev.Parent, c.Parent); err != nil {
					return err
				}
				continue
			}
			c.Parent = prev.Parent // ids match ignoring case
		}
		var was catalog.Control
		if prev != nil {
			was = *prev
		}
		c.Kind, _ = given(c.Kind, was.Kind, prev != nil, cmv1.ControlKind_CONTROL_KIND_CONTROL)
		c.Title, _ = given(c.Title, was.Title, prev != nil, c.ID)
		c.Summary, _ = given(c.Summary, was.Summary, prev != nil, "")
		if utf8.RuneCountInString(c.Title) > MaxTitle {
			c.Title = clip(c.Title, MaxTitle)
			im.warn(dc.Loc, "the title is longer than %d characters; cut short", MaxTitle)
		}
		if utf8.RuneCountInString(c.Summary) > MaxControlText {
			c.Summary = clip(c.Summary, MaxControlText)
			im.warn(dc.Loc, "the text is longer than %d characters; cut short", MaxControlText)
		}
		if err := checkImportedText(&c); err != nil {
			if err := im.problem("control", dc.Loc, "%v", err); err != nil {
				return err
			}
			continue
		}
		for _, t := range dc.Tags {
			if vocabulary[t] {
				c.Tags = append(c.Tags, t)
			}
		}
		if len(dc.Tags) == 0 && prev != nil {
			c.Tags = prev.Tags
		}
		if f.Kind == cmv1.FrameworkKind_FRAMEWORK_KIND_INTERNAL {
			c.Implementation = dc.Implementation
		}
		if owner, ok := taken[strings.ToLower(c.ID)]; ok && owner != c.ID {
			if err := im.problem("control", dc.Loc, "control id %q is already a spelling of control %q", c.ID, owner); err != nil {
				return err
			}
			continue
		}
		taken[strings.ToLower(c.ID)] = c.ID
		for _, s := range catalog.DerivedAliases(&c) {
			if _, ok := taken[strings.ToLower(s)]; !ok {
				taken[strings.ToLower(s)] = c.ID
			}
		}
		aliases := dc.Aliases
		if len(aliases) == 0 && prev != nil {
			aliases = prev.Aliases
		}
		for _, a := range aliases {
			a = strings.TrimSpace(a)
			owner, ok := taken[strings.ToLower(a)]
			switch {
			case a == "" || strings.EqualFold(a, c.ID) || slices.Contains(c.Aliases, a):
			case ok && owner != c.ID:
				im.warn(dc.Loc, "alias %q is a spelling of control %q already; dropped", a, owner)
			case !validAlias(a):
				im.warn(dc.Loc, "alias %q has characters a control reference cannot have; dropped", a)
			default:
				taken[strings.ToLower(a)] = c.ID
				c.Aliases = append(c.Aliases, a)
			}
		}
		imported[strings.ToLower(c.ID)] = true
		name := catalog.ControlName(f.ID, c.ID)
		if prev == nil {
			if f.Kind == cmv1.FrameworkKind_FRAMEWORK_KIND_INTERNAL && c.Implementation == 0 {
				c.Implementation = cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_NOT_IMPLEMENTED
			}
			created++
			im.tx.Write(store.Change{Kind: store.KindControl, New: true, Owner: f.Owner, Framework: catalog.Framework{ID: f.ID}, Control: c})
			im.rep.changed("control", name, "created")
			continue
		}
		// What a document does not carry stays as it is.
		if c.Implementation == 0 {
			c.Implementation = prev.Implementation
		}
		c.Owner, c.Evidence = prev.Owner, prev.Evidence
		if c.Implementation == prev.Implementation && c.Title == prev.Title && c.Summary == prev.Summary && c.Parent == prev.Parent && c.Kind == prev.Kind &&
			c.Assessable == prev.Assessable && slices.Equal(c.Aliases, prev.Aliases) && slices.Equal(c.Tags, prev.Tags) {
			im.rep.Counts["control"].Unchanged++
			continue
		}
		im.tx.Write(store.Change{Kind: store.KindControl, Owner: f.Owner, Framework: catalog.Framework{ID: f.ID}, Control: c})
		im.rep.changed("control", name, "updated")
	}
	if n := len(existing) - (len(imported) - created); n > 0 {
		im.warn(d.Loc, "%d controls of %s are not in the document; left as they are (delete them through the API)", n, catalog.FrameworkName(f.ID))
	}
	return nil
}

// validAlias reports whether a can be looked up as a control reference.
func validAlias(a string) bool {
	return catalog.ValidControlRef(a) && utf8.RuneCountInString(a) <= 64
}

func checkImportedText(c *catalog.Control) error {
	if err := Text("title", c.Title, MaxTitle, true); err != nil {
		return err
	}
	return Text("text", c.Summary, MaxControlText, false)
}

// spellings are the lower-case spellings a control is found by.
func spellings(c *catalog.Control) []string {
	out := []string{strings.ToLower(c.ID)}
	for _, a := range slices.Concat(c.Aliases, catalog.DerivedAliases(c)) {
		out = append(out, strings.ToLower(a))
	}
	return out
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// bind finds the framework a resource of the document is: an explicit
// binding; a framework of the same document; a framework whose id (or
// name, or URN ending) the key is; or the one framework the caller sees
// with the resource's title (and version).
func (im *importer) bind(r interchange.Resource) (string, error) {
	g := im.w.st.Snapshot()
	visibleID := func(id string) bool {
		f, ok := g.Framework(id)
		return ok && visible(im.p, &f.Framework)
	}
	if v, ok := im.opt.Bindings[r.Key]; ok {
		im.bound[r.Key] = true
		id := strings.TrimPrefix(strings.TrimSpace(v), "frameworks/")
		if !visibleID(id) && !slices.Contains(im.frameworks, id) {
			return "", invalid("options.bindings["+catalog.Clip(r.Key)+"]", "no framework %s is known", catalog.FrameworkName(id))
		}
		return id, nil
	}
	for i, f := range im.doc.Frameworks {
		if f.Key != "" && f.Key == r.Key && i < len(im.frameworks) {
			return im.frameworks[i], nil
		}
	}
	key := strings.TrimPrefix(r.Key, "frameworks/")
	for _, id := range []string{key, key[strings.LastIndexByte(key, ':')+1:], r.ID} {
		if catalog.ValidFrameworkID(id) && visibleID(id) {
			return id, nil
		}
	}
	if r.Title != "" {
		var found []string
		for _, f := range g.Frameworks() {
			if visible(im.p, &f.Framework) && strings.EqualFold(f.DisplayName, r.Title) && (r.Version == "" || strings.EqualFold(f.Version, r.Version)) {
				found = append(found, f.ID)
			}
		}
		if len(found) == 1 {
			return found[0], nil
		}
	}
	what := fmt.Sprintf("%q", r.Key)
	if r.Title != "" {
		what += fmt.Sprintf(" (%s %s)", r.Title, r.Version)
	}
	return "", invalid("options.bindings", "no framework is known for resource %s: bind it, as bindings[%q] = \"frameworks/{id}\"", what, r.Key)
}

// controlNames resolves the names a document gives the controls of one
// framework.
type controlNames struct {
	fw string
	// ids maps every lower-case spelling to a control id.
	ids map[string]string
	// annex maps the number of each annex control, without its letter
	// ("5.1" of A.5.1), to its id, and annexIDs holds their ids. Where
	// another control has that number as its own id (ISO/IEC 27001 clause
	// 5.1), ids names that one, and the document's numbering decides (see
	// side).
	annex    map[string]string
	annexIDs map[string]bool
}

// resolver returns the names of a framework's controls, read in the
// transaction (so that controls the same import created are found).
func (im *importer) resolver(fw string) (*controlNames, error) {
	if r, ok := im.controls[fw]; ok {
		return r, nil
	}
	cs, err := im.tx.Controls(fw, store.Share)
	if err != nil {
		return nil, err
	}
	r := &controlNames{fw: fw, ids: spellingsOf(cs), annex: map[string]string{}, annexIDs: map[string]bool{}}
	// The tokens of OSCAL exports ("a.5.1", "id-5.1") find their control too.
	for i := range cs {
		if t := strings.ToLower(interchange.Token(cs[i].ID)); r.ids[t] == "" {
			r.ids[t] = cs[i].ID
		}
		if n, ok := catalog.AnnexNumber(&cs[i]); ok {
			r.annex[strings.ToLower(n)], r.annexIDs[cs[i].ID] = cs[i].ID, true
		}
	}
	im.controls[fw] = r
	return r, nil
}

// sideNames resolves the names one side of a crosswalk gives its controls.
type sideNames struct {
	*controlNames
	// bare says the side numbers annex controls without their letter, as
	// example shows.
	bare    bool
	example string
	// asAnnex lists the names read as annex controls though another control
	// has them as its id, with where.
	asAnnex []string
}

// side reads how a crosswalk numbers the controls of r on one side: it
// numbers annex controls without their letter, as ISO/IEC 27002 numbers
// the controls of ISO/IEC 27001's Annex A ("5.15" for A.5.15), when a name
// only an annex control has that way is there and no annex control is
// written with its letter. Then a number that is also another control's id
// ("5.1", a clause) is read as the annex control too.
func side(r *controlNames, maps []interchange.Map, names func(*interchange.Map) []string) *sideNames {
	s := &sideNames{controlNames: r}
	for i := range maps {
		for _, n := range names(&maps[i]) {
			k := strings.ToLower(strings.TrimSpace(n))
			id := r.ids[k]
			switch {
			case id == "":
			case r.annex[k] == id && s.example == "":
				s.example = fmt.Sprintf("%s at %s", catalog.Clip(n), catalog.Clip(firstNonEmpty(maps[i].Loc, "a row")))
			case strings.EqualFold(k, id) && r.annexIDs[id]:
				return &sideNames{controlNames: r} // lettered: bare numbers are the controls with those ids
			}
		}
	}
	s.bare = s.example != ""
	return s
}

// resolve finds the controls a row (at loc) names on the side; ok is false
// when a name does not resolve (or there is none), and unknown is the
// first such name.
func (s *sideNames) resolve(names []string, loc string) (out []catalog.ControlRef, unknown string, ok bool) {
	if len(names) == 0 {
		return nil, "", false
	}
	out = make([]catalog.ControlRef, len(names))
	for i, n := range names {
		k := strings.ToLower(strings.TrimSpace(n))
		id, found := s.ids[k]
		if !found {
			return nil, n, false
		}
		// A number the document could mean either way is the control with
		// that id, unless the side numbers annex controls bare.
		if a := s.annex[k]; s.bare && a != "" && a != id {
			id = a
			s.asAnnex = append(s.asAnnex, fmt.Sprintf("%s (read as %s) at %s", catalog.Clip(n), id, catalog.Clip(firstNonEmpty(loc, "a row"))))
		}
		out[i] = catalog.ControlRef{Framework: s.fw, Control: id}
	}
	return out, "", true
}

// warnAsAnnex warns, once, of the names of side s read as annex controls
// though another control has them as its id.
func (im *importer) warnAsAnnex(s *sideNames) {
	if len(s.asAnnex) == 0 {
		return
	}
	// Built here, not by warn: the names are clipped one by one.
	msg := fmt.Sprintf("%d names that are both a control of %s and the number of an annex control were read as annex controls, since the document numbers annex controls without their letter (%s): %s",
		len(s.asAnnex), catalog.FrameworkName(s.fw), s.example, strings.Join(s.asAnnex[:min(len(s.asAnnex), 5)], ", ")+more(len(s.asAnnex)-5))
	im.rep.Problems = append(im.rep.Problems, interchange.Problem{Message: catalog.ClipTo(msg, maxProblem)})
}

func more(n int) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf(" and %d more", n)
}

// spellingsOf maps every lower-case spelling of the controls to a control
// id: a control's own id first, then the aliases that name no control's
// id, the first control to have one keeping it.
func spellingsOf(cs []catalog.Control) map[string]string {
	m := make(map[string]string, 4*len(cs))
	for i := range cs {
		m[strings.ToLower(cs[i].ID)] = cs[i].ID
	}
	for i := range cs {
		for _, s := range spellings(&cs[i]) {
			if _, ok := m[s]; !ok {
				m[s] = cs[i].ID
			}
		}
	}
	return m
}

// crosswalk creates or updates the mappings of one crosswalk.
func (im *importer) crosswalk(cw *interchange.Crosswalk) error {
	a, err := im.bind(cw.Source)
	if err != nil {
		return err
	}
	b, err := im.bind(cw.Target)
	if err != nil {
		return err
	}
	im.rep.Bindings[cw.Source.Key], im.rep.Bindings[cw.Target.Key] = a, b
	if a == b {
		return invalid("options.bindings", "both sides of the crosswalk are bound to %s: a mapping joins two frameworks", catalog.FrameworkName(a))
	}
	owner, err := ends(im.tx, im.p, catalog.ControlRef{Framework: a}, catalog.ControlRef{Framework: b}, "")
	if err != nil {
		return err
	}
	im.owner = owner
	resA, err := im.resolver(a)
	if err != nil {
		return err
	}
	resB, err := im.resolver(b)
	if err != nil {
		return err
	}
	// Locked: a mapping updated here is one no one deleted meanwhile.
	all, err := im.tx.MappingsOf(a, "", store.Exclusive)
	if err != nil {
		return err
	}
	stored, groups, byUUID := map[string]*catalog.Mapping{}, map[string]*catalog.Mapping{}, map[string]*catalog.Mapping{}
	for i := range all {
		m := &all[i]
		if m.Source.Framework == b || m.Target.Framework == b {
			stored[m.PairKey()] = m
			if m.IsGroup() {
				groups[catalog.MappingName(m.ID)] = m
			}
			if m.Interchange != nil && m.Interchange.MapUUID != "" {
				byUUID[m.Interchange.MapUUID] = m
			}
		}
	}
	implied := 0
	sideA := side(resA, cw.Maps, func(m *interchange.Map) []string { return m.Sources })
	sideB := side(resB, cw.Maps, func(m *interchange.Map) []string { return m.Targets })
	seen := map[string]string{}
	for i := range cw.Maps {
		row := &cw.Maps[i]
		srcs, unknown, ok := sideA.resolve(row.Sources, row.Loc)
		if !ok {
			if err := im.problem("mapping", row.Loc, "unknown control %q of %s", unknown, catalog.FrameworkName(a)); err != nil {
				return err
			}
			continue
		}
		tgts, unknown, ok := sideB.resolve(row.Targets, row.Loc)
		if !ok {
			if err := im.problem("mapping", row.Loc, "unknown control %q of %s", unknown, catalog.FrameworkName(b)); err != nil {
				return err
			}
			continue
		}
		// A row of a pairwise export that a group mapping of this store
		// implies is that group's consequence, not a mapping of its own.
		if g := groups[row.ImpliedBy]; g != nil && len(srcs) == 1 && len(tgts) == 1 && impliesPair(g, srcs[0], tgts[0]) {
			implied++
			im.rep.Counts["mapping"].Unchanged++
			continue
		}
		// A map of several sources or targets stays one group mapping: split
		// into pairs it would claim more than it says.
		sides := catalog.Mapping{Source: srcs[0], Target: tgts[0]}
		if len(srcs) > 1 {
			sides.Sources = srcs
		}
		if len(tgts) > 1 {
			sides.Targets = tgts
		}
		sides.NormalizeSides()
		key := sides.PairKey()
		if prev, dup := seen[key]; dup {
			if err := im.problem("mapping", row.Loc, "%s and %s are mapped already at %s", catalog.SideKey(sides.SourceSide()), catalog.SideKey(sides.TargetSide()), prev); err != nil {
				return err
			}
			continue
		}
		before := stored[key]
		// An OSCAL map of a newer edition that keeps its uuid and names other
		// controls is the same map: the mapping the earlier edition's made is
		// no longer stated, and goes (unless a row of this document states
		// it); this row's takes its place.
		var replaced *catalog.Mapping
		if old := byUUID[row.UUID]; row.UUID != "" && old != nil && old.PairKey() != key && seen[old.PairKey()] == "" {
			replaced = old
		}
		// The stored mapping as the row reads it, for what the row leaves out.
		var asRow *catalog.Mapping
		reversed := before != nil && catalog.SideKey(before.SourceSide()) != catalog.SideKey(sides.SourceSide())
		switch {
		case before != nil:
			b := *before
			if reversed {
				b = b.Reversed()
			}
			asRow = &b
		case replaced != nil:
			b := *replaced
			if b.Source.Framework != sides.Source.Framework {
				b = b.Reversed()
			}
			asRow = &b
		}
		m, defaulted := im.mapping(row, sides, asRow)
		if err := CheckMapping(&m); err != nil {
			if err := im.problem("mapping", row.Loc, "%v", err); err != nil {
				return err
			}
			continue
		}
		seen[key] = firstNonEmpty(row.Loc, "an earlier row")
		for _, what := range defaulted {
			im.defaulted[what]++
		}
		if before == nil {
			was, action := cmv1.MappingStatus_MAPPING_STATUS_DRAFT, "created"
			if replaced != nil {
				was, action = replaced.Provenance.Status, "replaced"
			}
			if err := mayApprove(im.tx, im.p, owner, was, m.Provenance.Status); err != nil {
				return err
			}
			im.withdraw(replaced, owner, stored, byUUID)
			if m.IsGroup() {
				im.members = append(im.members, m.SourceSide()...)
				im.members = append(im.members, m.TargetSide()...)
			}
			m.ID = store.NewMappingID()
			m.Provenance.Author, m.Provenance.CreateTime, m.Provenance.UpdateTime = im.p.Name, im.tx.Now(), im.tx.Now()
			im.tx.Write(store.Change{Kind: store.KindMapping, New: true, Owner: owner, Mapping: m})
			im.rep.changed("mapping", catalog.MappingName(m.ID), action)
			continue
		}
		im.withdraw(replaced, owner, stored, byUUID)
		if reversed { // stored the other way round
			m = m.Reversed()
		}
		if m.Relationship == before.Relationship && m.Strength == before.Strength && m.ReverseStrength == before.ReverseStrength &&
			m.Rationale == before.Rationale && m.Justification == before.Justification && m.Provenance.Document == before.Provenance.Document &&
			m.Provenance.Method == before.Provenance.Method && m.Provenance.Status == before.Provenance.Status &&
			reflect.DeepEqual(m.Interchange, before.Interchange) {
			im.rep.Counts["mapping"].Unchanged++
			continue
		}
		if err := mayApprove(im.tx, im.p, owner, before.Provenance.Status, m.Provenance.Status); err != nil {
			return err
		}
		m.ID, m.BuiltIn = before.ID, before.BuiltIn
		m.Provenance.Author, m.Provenance.CreateTime, m.Provenance.UpdateTime = before.Provenance.Author, before.Provenance.CreateTime, im.tx.Now()
		im.tx.Write(store.Change{Kind: store.KindMapping, Owner: owner, Mapping: m})
		im.rep.changed("mapping", catalog.MappingName(m.ID), "updated")
	}
	im.warnAsAnnex(sideA)
	im.warnAsAnnex(sideB)
	if implied > 0 {
		im.warn("", "%d rows state what group mappings of this store imply; counted unchanged, not imported as mappings of their own", implied)
	}
	return nil
}

// withdraw deletes the mapping an earlier edition's map made (nil: none),
// which a newer edition's map of the same uuid no longer states.
func (im *importer) withdraw(m *catalog.Mapping, owner string, stored, byUUID map[string]*catalog.Mapping) {
	if m == nil {
		return
	}
	im.tx.Write(store.Change{Kind: store.KindMapping, Delete: true, Owner: owner, Mapping: catalog.Mapping{ID: m.ID, Source: m.Source, Target: m.Target, BuiltIn: m.BuiltIn}})
	delete(stored, m.PairKey())
	delete(byUUID, m.Interchange.MapUUID)
	im.rep.listed(catalog.MappingName(m.ID), "deleted")
}

// impliesPair reports whether group mapping g states something of the pair
// a, b (in either order) on its own: a statement it implies pairwise, or,
// unrelated, any pair of its members.
func impliesPair(g *catalog.Mapping, a, b catalog.ControlRef) bool {
	is := func(x, y catalog.ControlRef) bool { return x == a && y == b || x == b && y == a }
	if g.Relationship == cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP {
		for _, s := range g.SourceSide() {
			for _, t := range g.TargetSide() {
				if is(s, t) {
					return true
				}
			}
		}
		return false
	}
	return slices.ContainsFunc(g.Implied(), func(p catalog.Mapping) bool { return is(p.Source, p.Target) })
}

// mapping builds the mapping a row states between the resolved sides of
// sides. What the row leaves out is taken from stored (the mapping of the
// same sides, read the row's way) when there is one and its value holds for
// the row's relationship; otherwise it is filled in: strengths the
// relationship fixes, the middle of the scale for one it leaves to
// judgement, SEMANTIC, method IMPORTED, status DRAFT, a justification naming
// the document. defaulted lists what was filled in by default, for the
// report.
func (im *importer) mapping(row *interchange.Map, sides catalog.Mapping, stored *catalog.Mapping) (m catalog.Mapping, defaulted []string) {
	m = sides
	extras, dropped := cleanInterchange(row.Extras)
	for _, d := range dropped {
		im.rep.Problems = append(im.rep.Problems, interchange.Problem{Loc: row.Loc, Message: catalog.ClipTo(d+"; left out", maxProblem)})
	}
	m.Relationship, m.Rationale, m.Justification, m.Interchange = row.Relationship, row.Rationale, strings.TrimSpace(row.Justification), extras
	m.Provenance = catalog.Provenance{Document: strings.TrimSpace(row.Document), Method: row.Method, Status: row.Status}
	var was catalog.Mapping
	if stored != nil {
		was = *stored
	}
	for _, s := range []struct {
		in, was int32
		out     *int32
		limits  func(cmv1.Relationship) (int32, int32)
		what    string
	}{{row.Strength, was.Strength, &m.Strength, catalog.StrengthRange, "strength"},
		{row.ReverseStrength, was.ReverseStrength, &m.ReverseStrength, catalog.ReverseStrengthRange, "reverse strength"}} {
		lo, hi := s.limits(m.Relationship)
		switch {
		case s.in != interchange.NoStrength:
			*s.out = s.in
		case lo == hi:
			*s.out = lo
		case stored != nil && s.was >= lo && s.was <= hi:
			*s.out = s.was
		default:
			*s.out = defaultStrength
			defaulted = append(defaulted, fmt.Sprintf("%s; set to %d, the middle of the scale: review them", s.what, defaultStrength))
		}
	}
	var byDefault bool
	if m.Rationale, byDefault = given(m.Rationale, was.Rationale, stored != nil, cmv1.Rationale_RATIONALE_SEMANTIC); byDefault {
		defaulted = append(defaulted, "rationale; set to SEMANTIC")
	}
	m.Provenance.Method, _ = given(m.Provenance.Method, was.Provenance.Method, stored != nil, cmv1.MappingMethod_MAPPING_METHOD_IMPORTED)
	m.Provenance.Status, _ = given(m.Provenance.Status, was.Provenance.Status, stored != nil, cmv1.MappingStatus_MAPPING_STATUS_DRAFT)
	m.Interchange = mergeInterchange(m.Interchange, was.Interchange)
	// The map's uuid is the one the mapping was first imported with.
	uuid := row.UUID
	if stored != nil {
		uuid = ""
		if was.Interchange != nil {
			uuid = was.Interchange.MapUUID
		}
	}
	switch {
	case m.Interchange != nil:
		x := *m.Interchange
		x.MapUUID = uuid
		m.Interchange = &x
	case uuid != "":
		m.Interchange = &catalog.Interchange{MapUUID: uuid}
	}
	m.Provenance.Document, _ = given(m.Provenance.Document, was.Provenance.Document, stored != nil, docName(im.doc))
	if m.Justification, byDefault = given(m.Justification, was.Justification, stored != nil, "Imported from "+m.Provenance.Document+"."); byDefault {
		defaulted = append(defaulted, "justification; each names the document it was imported from")
	}
	if utf8.RuneCountInString(m.Justification) > catalog.MaxJustificationLength {
		m.Justification = clip(m.Justification, catalog.MaxJustificationLength)
		im.warn(row.Loc, "the justification is longer than %d characters; cut short", catalog.MaxJustificationLength)
	}
	m.Provenance.Document = clip(m.Provenance.Document, catalog.MaxDocumentLength)
	return m, defaulted
}

// cleanInterchange keeps of what a row says beyond a mapping's own fields
// what OSCAL allows (shares between 0 and 1, qualifiers and tokens in its
// vocabulary) and says what it left out, as the OSCAL reader does of its
// files: a JSON file of this API's shape may say anything.
func cleanInterchange(x *catalog.Interchange) (_ *catalog.Interchange, dropped []string) {
	if x == nil {
		return nil, nil
	}
	c := *x
	for _, f := range []struct {
		what string
		v    **float64
	}{{"confidence percentage", &c.ConfidencePercentage}, {"coverage", &c.Coverage}, {"reverse coverage", &c.ReverseCoverage}} {
		if *f.v != nil && !(**f.v >= 0 && **f.v <= 1) {
			dropped = append(dropped, fmt.Sprintf("the %s must be from 0 to 1, got %v", f.what, **f.v))
			*f.v = nil
		}
	}
	for _, f := range []struct {
		what    string
		v       *string
		allowed []string
	}{{"method", &c.Method, []string{"automation", "hybrid"}}, {"confidence category", &c.ConfidenceCategory, []string{"unspecified", "high", "medium", "low"}}} {
		if *f.v != "" && !slices.Contains(f.allowed, *f.v) {
			dropped = append(dropped, fmt.Sprintf("the %s must be one of %s, got %q", f.what, strings.Join(f.allowed, ", "), catalog.Clip(*f.v)))
			*f.v = ""
		}
	}
	for _, m := range []*string{&c.CoverageMethod, &c.ReverseCoverageMethod} {
		if utf8.RuneCountInString(*m) > 64 {
			dropped = append(dropped, fmt.Sprintf("a coverage method is at most 64 characters, got %d", utf8.RuneCountInString(*m)))
			*m = ""
		}
	}
	c.Qualifiers = nil
	for i, q := range x.Qualifiers {
		ok := utf8.RuneCountInString(q.Description) <= catalog.MaxJustificationLength
		for _, f := range []struct {
			v       string
			allowed []string
		}{{q.Subject, []string{"source", "target", "both"}}, {q.Predicate, []string{"has-requirement", "has-incompatibility"}},
			{q.Category, []string{"restricted", "addressable", "blocked"}}} {
			ok = ok && slices.Contains(f.allowed, f.v)
		}
		if !ok {
			dropped = append(dropped, fmt.Sprintf("qualifier %d needs a subject (source, target, both), a predicate (has-requirement, has-incompatibility), "+
				"a category (restricted, addressable, blocked) and a description of at most %d characters", i, catalog.MaxJustificationLength))
			continue
		}
		c.Qualifiers = append(c.Qualifiers, q)
	}
	if c.ConfidenceCategory == "" && c.ConfidencePercentage == nil && c.Coverage == nil && c.ReverseCoverage == nil && len(c.Qualifiers) == 0 && c.Method == "" && c.MapUUID == "" {
		return nil, dropped
	}
	return &c, dropped
}

// mergeInterchange is what a row says beyond a mapping's own fields (row),
// field by field over what is stored: a newer file that adds a confidence
// keeps the stored coverage.
func mergeInterchange(row, stored *catalog.Interchange) *catalog.Interchange {
	if row == nil || stored == nil {
		return cmp.Or(row, stored)
	}
	x := *row
	x.Method, _ = given(x.Method, stored.Method, true, "")
	if x.ConfidenceCategory == "" && x.ConfidencePercentage == nil {
		x.ConfidenceCategory, x.ConfidencePercentage = stored.ConfidenceCategory, stored.ConfidencePercentage
	}
	if x.Coverage == nil {
		x.Coverage, x.CoverageMethod = stored.Coverage, stored.CoverageMethod
	}
	if x.ReverseCoverage == nil {
		x.ReverseCoverage, x.ReverseCoverageMethod = stored.ReverseCoverage, stored.ReverseCoverageMethod
	}
	if len(x.Qualifiers) == 0 {
		x.Qualifiers = stored.Qualifiers
	}
	return &x
}

// given is what an imported row says of a field (v, when not zero); else
// what is stored of it, when there is a stored row (has); else def, with
// byDefault true.
func given[T comparable](v, stored T, has bool, def T) (_ T, byDefault bool) {
	var zero T
	switch {
	case v != zero:
		return v, false
	case has:
		return stored, false
	}
	return def, true
}

// docName names a document for provenance: its title and version, or its
// format.
func docName(d *interchange.Document) string {
	if name := strings.TrimSpace(d.Title + " " + d.Version); name != "" {
		return name
	}
	return string(d.Format) + " import"
}

// importSummary is the audit event's record of an import: what it
// changed, not the document.
type importSummary struct {
	Import struct {
		Format   string                  `json:"format"`
		Document string                  `json:"document"`
		Counts   map[string]*ImportCount `json:"counts"`
		Bindings map[string]string       `json:"bindings,omitempty"`
		Skipped  int                     `json:"skipped,omitempty"`
	} `json:"import"`
}

func (im *importer) audit() store.Audit {
	var s importSummary
	s.Import.Format, s.Import.Document, s.Import.Counts, s.Import.Bindings = string(im.doc.Format), docName(im.doc), im.rep.Counts, im.rep.Bindings
	for _, c := range im.rep.Counts {
		s.Import.Skipped += c.Skipped
	}
	body, _ := json.Marshal(s)
	resource := "imports"
	switch {
	case len(im.frameworks) > 0:
		resource = catalog.FrameworkName(im.frameworks[0])
	case len(im.doc.Crosswalks) > 0:
		resource = "crosswalks/" + im.rep.Bindings[im.doc.Crosswalks[0].Source.Key] + "/" + im.rep.Bindings[im.doc.Crosswalks[0].Target.Key]
	}
	return store.Audit{Resource: resource, Tenant: im.owner, After: func(int64) string { return string(body) }}
}
