package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/store"
	"github.com/controlmap/controlmap/internal/tenancy"
	"github.com/controlmap/controlmap/internal/writes"
)

var updateGolden = flag.Bool("update-store-golden", false, "rewrite the audit and change log golden file of the conformance suite")

// testRecordsMatchGolden runs one script of every kind of write and
// compares the audit trail and the change log it leaves, field for field
// (times and generated ids aside), with a golden file: every engine must
// record exactly the same.
func testRecordsMatchGolden(t *testing.T, s store.Store) {
	w := writes.New(s)
	op := ctxT(t)
	must := func(step string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	_, err := w.CreateTenant(op, tenancy.Tenant{ID: "acme", DisplayName: "Acme Corp"})
	must("create tenant", err)
	k, _, _, err := w.CreateAPIKey(op, "acme", []cmv1.Scope{cmv1.Scope_SCOPE_READ, cmv1.Scope_SCOPE_WRITE}, time.Time{})
	must("create key", err)
	_, _, err = w.RevokeAPIKey(op, "acme", k.ID)
	must("revoke key", err)

	ctx := tenantCtx(t, "acme")
	_, err = w.CreateFramework(ctx, catalog.Framework{ID: "acme-isms", DisplayName: "Acme ISMS", Version: "1"})
	must("create framework", err)
	v2 := "2"
	_, err = w.UpdateFramework(ctx, "acme-isms", writes.FrameworkPatch{Version: &v2})
	must("update framework", err)
	for _, c := range []catalog.Control{
		{ID: "GOV", Title: "Governance"},
		{ID: "GOV-1", Parent: "GOV", Title: "AI policy", Assessable: true, Owner: "CISO", Evidence: []string{"https://evidence.example/gov-1"}},
		{ID: "OPS-1", Title: "Model inventory", Assessable: true},
	} {
		_, err = w.CreateControl(ctx, "acme-isms", c)
		must("create control "+c.ID, err)
	}
	impl := cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_IMPLEMENTED
	_, err = w.UpdateControl(ctx, "acme-isms", "GOV-1", writes.ControlPatch{Implementation: &impl})
	must("update control", err)
	pairs := unmappedPairs(t, s.Snapshot(), 2)
	m1, err := w.CreateMapping(ctx, mapping([2]catalog.ControlRef{{Framework: "acme-isms", Control: "GOV-1"}, pairs[0][0]}))
	must("create mapping", err)
	_, err = w.CreateMapping(ctx, mapping([2]catalog.ControlRef{{Framework: "acme-isms", Control: "OPS-1"}, pairs[1][1]}))
	must("create second mapping", err)
	_, err = w.UpdateMapping(ctx, m1.ID, m1.Etag(), set(6, "Reviewed by the AI governance board."))
	must("update mapping", err)
	pub, err := w.CreateMapping(op, mapping(pairs[1]))
	must("create public mapping", err)
	_, err = w.DeleteMapping(op, pub.ID, "")
	must("delete public mapping", err)
	_, err = w.DeleteControl(ctx, "acme-isms", "GOV-1")
	must("delete control with its mapping", err)
	_, err = w.DeleteFramework(ctx, "acme-isms")
	must("delete framework with its controls and mappings", err)

	events, err := s.AuditEvents(op, store.AuditQuery{All: true, Limit: 100})
	must("audit events", err)
	records, err := s.Changes(op, store.Position{Revision: 2}, 1000)
	must("changes", err)
	n := newNormalizer()
	var b strings.Builder
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		if e.Revision < 2 { // the built-in content
			continue
		}
		fmt.Fprintf(&b, "audit %d tenant=%q actor=%q method=%q resource=%q\n  before: %s\n  after:  %s\n",
			e.Revision, e.Tenant, e.Actor, e.Method, n.text(e.Resource), n.json(e.Before), n.json(e.After))
	}
	for _, r := range records {
		body, err := json.Marshal(r.Change)
		must("change body", err)
		fmt.Fprintf(&b, "change %d.%d %s delete=%v owner=%q %s\n  %s\n", r.Revision, r.Index, r.Change.Kind, r.Change.Delete, r.Change.Owner,
			n.text(r.Change.Name()), n.json(string(body)))
	}
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "testdata", "records.golden")
	if *updateGolden {
		must("write golden", os.WriteFile(path, []byte(b.String()), 0o644))
	}
	want, err := os.ReadFile(path)
	must("read golden", err)
	if got := b.String(); got != string(want) {
		t.Fatalf("audit trail and change log differ from %s (go test -update-store-golden rewrites it):\n%s", path, diff(string(want), got))
	}

	// The log refuses positions it no longer holds, naming the oldest.
	var ce *store.CompactedError
	if _, err := s.Changes(op, store.Position{}, 10); !errors.As(err, &ce) || ce.Oldest < 1 || ce.Oldest > 2 {
		t.Fatalf("changes from revision 0: %v", err)
	}
	// A position within a revision resumes after what was seen.
	tail, err := s.Changes(context.WithoutCancel(op), store.Position{Revision: records[len(records)-1].Revision, Index: 1}, 1000)
	must("changes from within a revision", err)
	if len(tail) != int(records[len(records)-1].Index) {
		t.Fatalf("resuming within the last revision gave %d records, want %d", len(tail), records[len(records)-1].Index)
	}
}

// normalizer replaces what differs from run to run: times, and generated
// ids, numbered in order of appearance.
type normalizer struct {
	ids map[string]string
}

func newNormalizer() *normalizer { return &normalizer{ids: map[string]string{}} }

var (
	generatedID = regexp.MustCompile(`\b(m[0-9a-f]{16}|k[0-9a-f]{12})\b`)
	timeValue   = regexp.MustCompile(`"(createTime|updateTime|revokeTime|CreateTime|UpdateTime|RevokeTime)":"[^"]*"`)
)

func (n *normalizer) text(s string) string {
	return generatedID.ReplaceAllStringFunc(s, func(id string) string {
		if _, ok := n.ids[id]; !ok {
			n.ids[id] = fmt.Sprintf("%c<%d>", id[0], len(n.ids)+1)
		}
		return n.ids[id]
	})
}

func (n *normalizer) json(s string) string {
	if s == "" {
		return "-"
	}
	return timeValue.ReplaceAllString(n.text(s), `"$1":"<time>"`)
}

// diff shows the first lines where two texts part.
func diff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(wl), len(gl)) {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\nwant %s\ngot  %s", i+1, w, g)
		}
	}
	return "(equal)"
}
