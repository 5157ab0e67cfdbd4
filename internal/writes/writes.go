package writes

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/auth"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/store"
)

// Writer applies writes to a store under the rules of this package, on
// behalf of the principal of each call's context (see auth.WithPrincipal).
type Writer struct {
	st     Store
	quotas Quotas
}

// Store is what the rules need of a store: its writer and, for the checks
// that read the whole catalog, its snapshots.
type Store interface {
	store.Writer
	store.Snapshots
}

// New returns a Writer over st, with the default quotas.
func New(st Store) *Writer { return &Writer{st: st, quotas: DefaultQuotas} }

// WithQuotas returns a Writer over the same store with other quotas.
func (w *Writer) WithQuotas(q Quotas) *Writer { return &Writer{st: w.st, quotas: q} }

// DeniedError is a write the caller may not make, with its cause.
type DeniedError struct {
	Reason  cmv1.ErrorReason
	Message string
}

func (e *DeniedError) Error() string { return e.Message }

func denied(reason cmv1.ErrorReason, format string, args ...any) error {
	return &DeniedError{Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Limits on what a tenant writes about its own frameworks and controls.
const (
	MaxDisplayName   = 200
	MaxTitle         = 300
	MaxSummary       = 2000
	MaxVersion       = 50
	MaxOwner         = 200
	MaxEvidenceLinks = 20
	MaxLink          = 2000
)

// invalid is a *catalog.InvalidError naming one field.
func invalid(field, format string, args ...any) error {
	return catalog.Invalid(field, fmt.Sprintf(format, catalog.ClipArgs(args)...))
}

// Text checks a free-text field: valid UTF-8 without control or format
// characters, at most max characters, and present when required.
func Text(field, s string, max int, required bool) error {
	switch {
	case required && strings.TrimSpace(s) == "":
		return invalid(field, "is required")
	case !utf8.ValidString(s) || strings.IndexFunc(s, unprintable) >= 0:
		return invalid(field, "must be valid UTF-8 without control or format characters")
	case utf8.RuneCountInString(s) > max:
		return invalid(field, "must be at most %d characters, got %d", max, utf8.RuneCountInString(s))
	}
	return nil
}

// unprintable reports characters that have no place in a title or a
// summary: control characters (tab and newline aside) and invisible format
// characters such as bidirectional overrides, which can disguise text.
func unprintable(r rune) bool {
	return r != '\t' && r != '\n' && (unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r))
}

func checkLinks(field string, links []string) error {
	if len(links) > MaxEvidenceLinks {
		return invalid(field, "at most %d links, got %d", MaxEvidenceLinks, len(links))
	}
	for i, l := range links {
		u, err := url.Parse(l)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(l) > MaxLink {
			return invalid(fmt.Sprintf("%s[%d]", field, i), "must be an http or https URL of at most %d characters", MaxLink)
		}
	}
	return nil
}

// CheckEnum checks that v is a known, non-zero value of its enum.
func CheckEnum[E ~int32](field string, v E, names map[int32]string) error {
	if _, ok := names[int32(v)]; !ok || v == 0 {
		return invalid(field, "unknown value %d", int32(v))
	}
	return nil
}

// ControlIDPattern is what the id of a control a tenant creates looks like.
var ControlIDPattern = catalog.ControlIDPattern

// visible reports whether the caller sees a framework: public ones, and
// its tenant's own.
func visible(p auth.Principal, f *catalog.Framework) bool {
	return f.Owner == "" || (p.Tenant != "" && f.Owner == p.Tenant)
}

// ownedFramework reads a framework the caller may change: a tenant its
// internal frameworks, the operator the reference frameworks it created
// (the built-in ones change with the content release only). Another
// tenant's framework does not exist for the caller.
func ownedFramework(tx store.Tx, p auth.Principal, id string, lock store.Lock) (catalog.Framework, error) {
	f, err := tx.Framework(id, lock)
	if err != nil {
		return f, err
	}
	switch {
	case !visible(p, &f):
		return f, store.NotFound("framework", catalog.FrameworkName(id))
	case f.Owner == "" && f.BuiltIn:
		return f, denied(cmv1.ErrorReason_ERROR_REASON_NOT_OWNER, "the built-in frameworks change with the content release only; import or create a framework of your own")
	case f.Owner == "" && !p.Operator:
		return f, denied(cmv1.ErrorReason_ERROR_REASON_NOT_OWNER, "reference frameworks are the operator's; create an internal framework of your tenant")
	}
	return f, nil
}

// maxAuditNames bounds the names a cascading delete lists in its audit
// event; the change log has every row.
const maxAuditNames = 1000

// cascade is the "before" of a delete that took other resources with it.
type cascade struct {
	Deleted      json.RawMessage `json:"deleted"`
	ControlCount int             `json:"controlCount,omitempty"`
	MappingCount int             `json:"mappingCount,omitempty"`
	Controls     []string        `json:"controls,omitempty"`
	Mappings     []string        `json:"mappings,omitempty"`
	// Omitted counts the names left out of Controls and Mappings.
	Omitted int `json:"omitted,omitempty"`
}

// cascadeJSON is the audit "before" of deleting the resource deleted (its
// API JSON) with the given controls and mappings: their counts, and their
// names up to maxAuditNames in all.
func cascadeJSON(deleted string, controls, mappings []string) string {
	if len(controls) == 0 && len(mappings) == 0 {
		return deleted
	}
	c := cascade{Deleted: json.RawMessage(deleted), ControlCount: len(controls), MappingCount: len(mappings)}
	room := maxAuditNames
	take := func(names []string) []string {
		n := min(room, len(names))
		room -= n
		c.Omitted += len(names) - n
		return names[:n]
	}
	c.Controls = take(controls)
	c.Mappings = take(mappings)
	b, err := json.Marshal(c)
	if err != nil {
		return deleted
	}
	return string(b)
}

// resourceJSON is the API's JSON of a resource, as the audit trail keeps it.
func resourceJSON(m proto.Message) string {
	b, err := protojson.Marshal(m)
	if err != nil {
		return ""
	}
	// protojson varies its spacing on purpose; the trail is compact.
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return ""
	}
	return out.String()
}

// principal is the caller of ctx.
func principal(ctx context.Context) auth.Principal { return auth.PrincipalFrom(ctx) }
