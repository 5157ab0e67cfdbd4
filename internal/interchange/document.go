package interchange

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
)

// Format names a file format by the token the API uses.
type Format string

// The formats.
const (
	OSCALCatalog Format = "oscal-catalog"
	OSCALMapping Format = "oscal-mapping"
	OLIRCSV      Format = "olir-csv"
	STRMCSV      Format = "strm-csv"
	CISOYAML     Format = "ciso-yaml"
	JSON         Format = "json"
)

// Formats lists every format, in the order the API documents them.
var Formats = []Format{OSCALCatalog, OSCALMapping, OLIRCSV, STRMCSV, CISOYAML, JSON}

// FrameworkFormats are the formats a framework is exported in;
// CrosswalkFormats those of a crosswalk.
var (
	FrameworkFormats = []Format{OSCALCatalog, CISOYAML}
	CrosswalkFormats = []Format{OSCALMapping, OLIRCSV, STRMCSV, CISOYAML, JSON}
)

// ParseFormat returns the format a token names, ignoring case.
func ParseFormat(s string) (Format, bool) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	return f, slices.Contains(Formats, f)
}

// ContentType is the media type of a file of format f.
func (f Format) ContentType() string {
	switch f {
	case OLIRCSV, STRMCSV:
		return "text/csv; charset=utf-8"
	case CISOYAML:
		return "application/yaml"
	}
	return "application/json"
}

// Extension is the file name extension of format f: one per format family,
// so that the OLIR and STRM exports of one crosswalk (both CSV), or its
// OSCAL and JSON exports, do not share a file name. Detect reads them back.
func (f Format) Extension() string {
	switch f {
	case OLIRCSV:
		return ".olir.csv"
	case STRMCSV:
		return ".strm.csv"
	case CISOYAML:
		return ".ciso.yaml"
	case OSCALCatalog, OSCALMapping:
		return ".oscal.json"
	}
	return ".json"
}

// Document is what a file says, before its names are bound to the catalog.
type Document struct {
	Format Format
	// Title and Version name the document, for provenance.
	Title, Version string
	Frameworks     []Framework
	Crosswalks     []Crosswalk
	// Problems are the warnings and skipped rows found while reading, in
	// document order.
	Problems []Problem
}

// Rows counts the framework, control and mapping rows of d.
func (d *Document) Rows() int {
	n := len(d.Frameworks)
	for _, f := range d.Frameworks {
		n += len(f.Controls)
	}
	for _, c := range d.Crosswalks {
		n += len(c.Maps)
	}
	return n
}

// Framework is a framework as a file describes it.
type Framework struct {
	// Key is how crosswalks of the same file refer to it (a CISO Assistant
	// framework URN); empty when none do.
	Key string
	// ID is the framework id the file suggests (controlmap's own exports
	// carry it); empty otherwise.
	ID          string
	Title       string
	Version     string
	Publisher   string
	Description string
	// Kind is the framework's kind when the file says it (a namespaced
	// prop of our own exports); 0 otherwise.
	Kind cmv1.FrameworkKind
	// Tags is the vocabulary of the controls' tags.
	Tags     []catalog.Tag
	Controls []Control
	Loc      string
}

// Control is a control as a file describes it, in document order: a parent
// comes before its children.
type Control struct {
	ID         string
	Title      string
	Text       string
	Parent     string
	Assessable bool
	// Kind is the control's kind when the file says it; 0 otherwise.
	Kind cmv1.ControlKind
	// Aliases are other spellings the file gives (an OSCAL id besides its
	// label).
	Aliases []string
	Tags    []string
	// Implementation is an internal control's implementation status when
	// the file says it (controlmap's own exports); 0 otherwise.
	Implementation cmv1.ImplementationStatus
	Loc            string
}

// Resource is a side of a crosswalk: a framework as the file refers to it.
type Resource struct {
	// Key is the file's reference: an href, a URN, or "source" / "target"
	// for sheets that name neither.
	Key string
	// Title and Version describe the resource when the file does; ID is
	// the framework id it suggests (controlmap's own exports carry it).
	Title, Version, ID string
}

// Crosswalk is the rows of a file between two resources.
type Crosswalk struct {
	Source, Target Resource
	Maps           []Map
}

// NoStrength marks a strength the file does not give.
const NoStrength int32 = -1

// Map is one row of a crosswalk: Sources RELATIONSHIP Targets, with the
// controls as the file spells them. A row with several sources or targets
// states the relationship between the sets.
type Map struct {
	Loc          string
	Sources      []string
	Targets      []string
	Relationship cmv1.Relationship
	// Strength and ReverseStrength are NoStrength when the file gives none.
	Strength, ReverseStrength int32
	Rationale                 cmv1.Rationale
	Justification             string
	Method                    cmv1.MappingMethod
	Status                    cmv1.MappingStatus
	Document                  string
	// Extras is what an OSCAL map says beyond these fields; nil for none.
	Extras *catalog.Interchange
	// UUID is the uuid of the OSCAL map the row is; empty for other formats.
	UUID string
	// ImpliedBy names the group mapping a row of a pairwise export states
	// a consequence of (mappings/{id}); empty for a row of its own.
	ImpliedBy string
}

// Problem is a warning (the row was read, perhaps normalised as Message
// says) or a row that cannot be used (Skipped).
type Problem struct {
	Loc     string
	Message string
	Skipped bool
}

func (p Problem) Error() string { return p.Loc + ": " + p.Message }

// Limits bound what a read accepts.
type Limits struct {
	// MaxBytes is the largest document; MaxRows the most framework, control
	// and mapping rows in it.
	MaxBytes int64
	MaxRows  int
}

// DefaultLimits accept NIST's largest catalogs several times over.
var DefaultLimits = Limits{MaxBytes: 64 << 20, MaxRows: 200_000}

// LimitError says a document is larger than a limit allows.
type LimitError struct {
	What  string
	Limit int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("the document has more than %d %s, the most this server accepts", e.Limit, e.What)
}

// ErrSyntax is matched by errors of a document that cannot be read at
// all (malformed JSON, CSV or YAML, or no recognisable structure).
var ErrSyntax = errors.New("malformed document")

// syntaxError wraps err, located, as an ErrSyntax.
func syntaxError(loc string, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if loc != "" {
		msg = loc + ": " + msg
	}
	return fmt.Errorf("%w: %s", ErrSyntax, msg)
}

// Read reads a document of format f from r within lim.
func Read(r io.Reader, f Format, lim Limits) (*Document, error) {
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = DefaultLimits.MaxBytes
	}
	if lim.MaxRows <= 0 {
		lim.MaxRows = DefaultLimits.MaxRows
	}
	lr := &limitedReader{r: r, left: lim.MaxBytes}
	rd := &reader{doc: &Document{Format: f}, maxRows: lim.MaxRows}
	var err error
	switch f {
	case OSCALCatalog:
		err = rd.oscalCatalog(lr)
	case OSCALMapping:
		err = rd.oscalMapping(lr)
	case OLIRCSV:
		err = rd.olir(lr)
	case STRMCSV:
		err = rd.strm(lr)
	case CISOYAML:
		err = rd.ciso(lr)
	case JSON:
		err = rd.json(lr)
	default:
		return nil, fmt.Errorf("unknown format %q", f)
	}
	if lr.exceeded {
		return nil, &LimitError{What: "bytes", Limit: lim.MaxBytes}
	}
	if err != nil {
		return nil, err
	}
	rd.reportSpellings()
	rd.reportTokens()
	return rd.doc, nil
}

// reader accumulates a Document and counts its rows.
type reader struct {
	doc     *Document
	rows    int
	maxRows int
	// spellings counts the relationship tokens read in another spelling
	// than the format's own, by spelling.
	spellings map[string]*respelled
	// notTokens are the OSCAL ids read that are not tokens, by kind, in the
	// order each kind was first seen.
	notTokens []*badTokens
}

// badTokens counts the values of one kind that are not OSCAL tokens.
type badTokens struct {
	kind, first, example string
	n                    int
}

// token notes a value that OSCAL wants as a token (a control's id, the
// id-ref of a map's item) when it is not one: such files are read as they
// are, and the report says so once per kind.
func (rd *reader) token(kind, at, v string) {
	if v == "" || ValidToken(v) {
		return
	}
	for _, b := range rd.notTokens {
		if b.kind == kind {
			b.n++
			return
		}
	}
	rd.notTokens = append(rd.notTokens, &badTokens{kind: kind, first: at, example: v, n: 1})
}

// reportTokens adds one warning per kind of value that is not a token: how
// many, and the first with its location.
func (rd *reader) reportTokens() {
	for _, b := range rd.notTokens {
		what := b.kind + "s are not valid OSCAL tokens"
		if b.n == 1 {
			what = b.kind + " is not a valid OSCAL token"
		}
		rd.warn(b.first, "%d %s (a token starts with a letter or '_'), read as written; the first is %q, here", b.n, what, b.example)
	}
}

type respelled struct {
	rel  cmv1.Relationship
	rows int
}

// relationship reads a relationship token and notes one written in
// another spelling than the format's, for the report.
func (rd *reader) relationship(s string) (cmv1.Relationship, bool) {
	r, ok := parseRelationship(s)
	if !ok || s == relationshipToken(rd.doc.Format, r) {
		return r, ok
	}
	if rd.spellings == nil {
		rd.spellings = map[string]*respelled{}
	}
	if rd.spellings[s] == nil {
		rd.spellings[s] = &respelled{rel: r}
	}
	rd.spellings[s].rows++
	return r, ok
}

// reportSpellings adds one warning per relationship token read in another
// spelling than the format's.
func (rd *reader) reportSpellings() {
	for _, s := range slices.Sorted(maps.Keys(rd.spellings)) {
		r := rd.spellings[s]
		rd.warn("", "relationship %q read as %s (%d rows)", s, strings.TrimPrefix(r.rel.String(), "RELATIONSHIP_"), r.rows)
	}
}

// row counts one more row, failing past the limit.
func (rd *reader) row() error {
	rd.rows++
	if rd.rows > rd.maxRows {
		return &LimitError{What: "rows", Limit: int64(rd.maxRows)}
	}
	return nil
}

// maxMessage bounds a problem's message: it may quote the file.
const maxMessage = 500

func (rd *reader) warn(loc, format string, args ...any) {
	rd.doc.Problems = append(rd.doc.Problems, Problem{Loc: loc, Message: catalog.ClipTo(fmt.Sprintf(format, catalog.ClipArgs(args)...), maxMessage)})
}

func (rd *reader) skip(loc, format string, args ...any) {
	rd.doc.Problems = append(rd.doc.Problems, Problem{Loc: loc, Message: catalog.ClipTo(fmt.Sprintf(format, catalog.ClipArgs(args)...), maxMessage), Skipped: true})
}

// limitedReader reads at most left bytes and remembers whether the source
// had more.
type limitedReader struct {
	r        io.Reader
	left     int64
	exceeded bool
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One byte more tells a document of exactly the limit from a larger one.
		var one [1]byte
		if n, _ := l.r.Read(one[:]); n > 0 {
			l.exceeded = true
			return 0, errors.New("document too large")
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// normalise folds case, underscores and runs of white space, for tokens
// that files spell loosely ("Subset Of", "subset  of", "subset_of").
func normalise(s string) string {
	s = strings.ToLower(strings.ReplaceAll(s, "_", " "))
	return strings.Join(strings.Fields(s), " ")
}

// relationshipTokens are the spellings of every format, normalised.
var relationshipTokens = map[string]cmv1.Relationship{
	"equal": cmv1.Relationship_RELATIONSHIP_EQUAL, "equal to": cmv1.Relationship_RELATIONSHIP_EQUAL,
	"equal-to": cmv1.Relationship_RELATIONSHIP_EQUAL, "equivalent-to": cmv1.Relationship_RELATIONSHIP_EQUAL,
	"equivalent to": cmv1.Relationship_RELATIONSHIP_EQUAL,
	"subset of":     cmv1.Relationship_RELATIONSHIP_SUBSET_OF, "subset-of": cmv1.Relationship_RELATIONSHIP_SUBSET_OF,
	"subset":      cmv1.Relationship_RELATIONSHIP_SUBSET_OF,
	"superset of": cmv1.Relationship_RELATIONSHIP_SUPERSET_OF, "superset-of": cmv1.Relationship_RELATIONSHIP_SUPERSET_OF,
	"superset":        cmv1.Relationship_RELATIONSHIP_SUPERSET_OF,
	"intersects with": cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH, "intersects-with": cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH,
	"intersect":      cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH,
	"not related to": cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP, "no relationship": cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP,
	"no-relationship": cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP, "not related": cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP,
}

// writtenTokens are the relationship tokens each format writes, by the
// relationship's value (EQUAL, SUBSET_OF, SUPERSET_OF, INTERSECTS_WITH,
// NO_RELATIONSHIP).
var writtenTokens = map[Format][6]string{
	OSCALMapping: {1: "equal-to", 2: "subset-of", 3: "superset-of", 4: "intersects-with", 5: "no-relationship"},
	OLIRCSV:      {1: "equal", 2: "subset of", 3: "superset of", 4: "intersects with", 5: "not related to"},
	STRMCSV:      {1: "Equal", 2: "Subset Of", 3: "Superset Of", 4: "Intersects With", 5: "No Relationship"},
	CISOYAML:     {1: "equal", 2: "subset", 3: "superset", 4: "intersect", 5: "not_related"},
}

// relationshipToken is the token format f writes for r.
func relationshipToken(f Format, r cmv1.Relationship) string {
	if r < 1 || int(r) >= len(writtenTokens[f]) {
		r = cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP
	}
	return writtenTokens[f][r]
}

// parseRelationship reads a relationship token of any format.
func parseRelationship(s string) (cmv1.Relationship, bool) {
	r, ok := relationshipTokens[normalise(s)]
	return r, ok
}

// parseRationale reads syntactic, semantic or functional, ignoring case;
// 0 when s is empty.
func parseRationale(s string) (cmv1.Rationale, bool) {
	switch normalise(s) {
	case "":
		return 0, true
	case "syntactic":
		return cmv1.Rationale_RATIONALE_SYNTACTIC, true
	case "semantic":
		return cmv1.Rationale_RATIONALE_SEMANTIC, true
	case "functional":
		return cmv1.Rationale_RATIONALE_FUNCTIONAL, true
	}
	return 0, false
}

// rationaleToken is the lower-case token of r, "" for none.
func rationaleToken(r cmv1.Rationale) string {
	switch r {
	case cmv1.Rationale_RATIONALE_SYNTACTIC:
		return "syntactic"
	case cmv1.Rationale_RATIONALE_SEMANTIC:
		return "semantic"
	case cmv1.Rationale_RATIONALE_FUNCTIONAL:
		return "functional"
	}
	return ""
}
