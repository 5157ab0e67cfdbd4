package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/auth"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/store"
	"github.com/controlmap/controlmap/internal/tenancy"
	"github.com/controlmap/controlmap/internal/writes"
)

// Run runs every case against stores from newStore, which must return a
// ready store holding the built-in content at revision 1.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"StartsWithBuiltInContent", testStartsWithBuiltInContent},
		{"CreateMapping", testCreate},
		{"CreateMappingConflicts", testCreateConflicts},
		{"CreateMappingInvalid", testCreateInvalid},
		{"UpdateMappingEtags", testUpdate},
		{"DeleteMapping", testDelete},
		{"RevisionGrowsByOnePerWrite", testRevisions},
		{"ListsAndFiltersSeeWrites", testLists},
		{"ConcurrentUpdatesLoseNothing", testConcurrentUpdates},
		{"ConcurrentCreatesOfOnePair", testConcurrentCreates},
		{"ConcurrentCreatesOfOneID", testConcurrentCreatesOfOneID},
		{"DeletesRacingMappingWrites", testDeletesRacingMappingWrites},
		{"TenantsAndKeys", testTenantsAndKeys},
		{"AuditTrail", testAuditTrail},
		{"InternalFrameworks", testInternalFrameworks},
		{"Imports", testImports},
		{"GroupMappings", testGroupMappings},
		{"RecordsMatchGolden", testRecordsMatchGolden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}

// ctxT is a context of the operator, who writes public mappings.
func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return auth.WithPrincipal(ctx, auth.Principal{Name: "admin", Operator: true}, "/test/Operator")
}

// tenantCtx is a context of a tenant's key with every scope.
func tenantCtx(t *testing.T, tenant string) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return auth.WithPrincipal(ctx, auth.Principal{Name: "tenants/" + tenant + "/apiKeys/k1", Tenant: tenant,
		Scopes: []cmv1.Scope{cmv1.Scope_SCOPE_READ, cmv1.Scope_SCOPE_WRITE, cmv1.Scope_SCOPE_ADMIN}}, "/test/Tenant")
}

// unmappedPairs returns n pairs of assessable controls, ISO 27001 to AI RMF,
// that the built-in content does not map.
func unmappedPairs(t *testing.T, g *catalog.Graph, n int) [][2]catalog.ControlRef {
	src, ok1 := g.Framework("iso-27001-2022")
	dst, ok2 := g.Framework("nist-ai-rmf-1.0")
	if !ok1 || !ok2 {
		t.Fatal("built-in frameworks missing")
	}
	var out [][2]catalog.ControlRef
	for _, a := range g.Controls(src) {
		for _, b := range g.Controls(dst) {
			if len(out) == n {
				return out
			}
			if a.Assessable && b.Assessable {
				if _, mapped := g.MappingBetween(a.Index, b.Index); !mapped {
					out = append(out, [2]catalog.ControlRef{g.Ref(a.Index), g.Ref(b.Index)})
					break
				}
			}
		}
	}
	t.Fatalf("only %d unmapped pairs", len(out))
	return nil
}

func mapping(pair [2]catalog.ControlRef) catalog.Mapping {
	return catalog.Mapping{
		Source: pair[0], Target: pair[1],
		Relationship: cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH, Strength: 3, ReverseStrength: 4,
		Rationale: cmv1.Rationale_RATIONALE_SEMANTIC, Justification: "conformance",
		Provenance: catalog.Provenance{Document: "suite", Method: cmv1.MappingMethod_MAPPING_METHOD_HUMAN,
			Status: cmv1.MappingStatus_MAPPING_STATUS_DRAFT, Author: "storetest"},
	}
}

func testStartsWithBuiltInContent(t *testing.T, s store.Store) {
	g := s.Snapshot()
	if !s.Ready() || g.Revision() != 1 || len(g.Frameworks()) != 3 || g.MappingCount() < 300 {
		t.Fatalf("ready %v, revision %d, %d frameworks, %d mappings", s.Ready(), g.Revision(), len(g.Frameworks()), g.MappingCount())
	}
	for m := range g.Mappings() {
		if !m.BuiltIn || m.Revision != 1 || m.Provenance.Status != cmv1.MappingStatus_MAPPING_STATUS_APPROVED {
			t.Fatalf("built-in mapping %+v", m.Mapping)
		}
	}
	if err := s.WaitForRevision(ctxT(t), 1); err != nil {
		t.Fatal(err)
	}
}

func testCreate(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	pair := unmappedPairs(t, s.Snapshot(), 1)[0]
	before := time.Now().Add(-time.Minute)
	m, err := writes.New(s).CreateMapping(ctx, mapping(pair))
	if err != nil {
		t.Fatal(err)
	}
	if m.ID == "" || m.Revision != 2 || m.BuiltIn || m.Provenance.CreateTime.Before(before) || !m.Provenance.UpdateTime.Equal(m.Provenance.CreateTime) {
		t.Fatalf("created %+v", m)
	}
	g := s.Snapshot()
	got, ok := g.Mapping(m.ID)
	if !ok || g.Revision() != 2 || got.Source != pair[0] || got.Target != pair[1] || got.Justification != "conformance" || got.Etag() != m.Etag() {
		t.Fatalf("snapshot after create: revision %d, %+v, %v", g.Revision(), got, ok)
	}
	if !got.Provenance.CreateTime.Equal(m.Provenance.CreateTime) {
		t.Fatalf("create time %v in snapshot, %v returned", got.Provenance.CreateTime, m.Provenance.CreateTime)
	}
}

func testCreateConflicts(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	pair := unmappedPairs(t, s.Snapshot(), 1)[0]
	if _, err := writes.New(s).CreateMapping(ctx, mapping(pair)); err != nil {
		t.Fatal(err)
	}
	if _, err := writes.New(s).CreateMapping(ctx, mapping(pair)); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("same pair again: %v", err)
	}
	if _, err := writes.New(s).CreateMapping(ctx, mapping([2]catalog.ControlRef{pair[1], pair[0]})); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("same pair reversed: %v", err)
	}
	bad := mapping(pair)
	bad.Target.Control = "NOPE-9.9"
	if _, err := writes.New(s).CreateMapping(ctx, bad); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown control: %v", err)
	}
	if rev := s.Snapshot().Revision(); rev != 2 {
		t.Fatalf("failed writes moved the revision to %d", rev)
	}
}

// set returns a patch that sets strength and justification.
func set(strength int32, justification string) writes.MappingPatch {
	return writes.MappingPatch{Strength: &strength, Justification: &justification}
}

func testUpdate(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	m, err := writes.New(s).CreateMapping(ctx, mapping(unmappedPairs(t, s.Snapshot(), 1)[0]))
	if err != nil {
		t.Fatal(err)
	}
	up, err := writes.New(s).UpdateMapping(ctx, m.ID, m.Etag(), set(5, "changed"))
	if err != nil {
		t.Fatal(err)
	}
	if up.Strength != 5 || up.Justification != "changed" || up.Revision != m.Revision+1 || up.Etag() == m.Etag() ||
		!up.Provenance.CreateTime.Equal(m.Provenance.CreateTime) || up.Source != m.Source {
		t.Fatalf("updated %+v from %+v", up, m)
	}
	if _, err := writes.New(s).UpdateMapping(ctx, m.ID, m.Etag(), set(7, "stale")); !errors.Is(err, store.ErrEtagMismatch) {
		t.Fatalf("stale etag: %v", err)
	}
	if got, _ := s.Snapshot().Mapping(m.ID); got.Strength != 5 {
		t.Fatalf("a refused update changed the mapping: %+v", got)
	}
	// The change applies to the stored mapping, whatever copy the caller
	// holds: a field it does not touch keeps the latest value.
	six := int32(6)
	if _, err := writes.New(s).UpdateMapping(ctx, m.ID, "", writes.MappingPatch{Strength: &six}); err != nil {
		t.Fatalf("update without etag: %v", err)
	}
	if got, _ := s.Snapshot().Mapping(m.ID); got.Strength != 6 || got.Justification != "changed" {
		t.Fatalf("after a one-field change: %+v", got)
	}
	// A broken rule writes nothing.
	var inv *catalog.InvalidError
	if _, err := writes.New(s).UpdateMapping(ctx, m.ID, "", set(11, "too strong")); !errors.As(err, &inv) {
		t.Fatalf("strength 11: %v", err)
	}
	// A tenant may not change a public mapping.
	var denied *writes.DeniedError
	if _, err := writes.New(s).UpdateMapping(tenantCtx(t, "acme"), m.ID, "", set(5, "x")); !errors.As(err, &denied) {
		t.Fatalf("a tenant changed a public mapping: %v", err)
	}
	if _, err := writes.New(s).UpdateMapping(ctx, "m0000000000000000", "", set(5, "x")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown mapping: %v", err)
	}
	if rev := s.Snapshot().Revision(); rev != m.Revision+2 {
		t.Fatalf("refused updates moved the revision: %d", rev)
	}
	// Built-in mappings can be changed too.
	b := first(s.Snapshot())
	if got, err := writes.New(s).UpdateMapping(ctx, b.ID, b.Etag(), set(b.Strength, "reviewed again")); err != nil || !got.BuiltIn || got.Justification != "reviewed again" {
		t.Fatalf("update built-in: %+v %v", got, err)
	}
}

func testCreateInvalid(t *testing.T, s store.Store) {
	bad := mapping(unmappedPairs(t, s.Snapshot(), 1)[0])
	bad.Relationship = cmv1.Relationship_RELATIONSHIP_EQUAL // strength 3 is wrong for EQUAL
	var inv *catalog.InvalidError
	if _, err := writes.New(s).CreateMapping(ctxT(t), bad); !errors.As(err, &inv) {
		t.Fatalf("invalid mapping: %v", err)
	}
	if rev := s.Snapshot().Revision(); rev != 1 {
		t.Fatalf("an invalid create moved the revision to %d", rev)
	}
}

func testDelete(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	m, err := writes.New(s).CreateMapping(ctx, mapping(unmappedPairs(t, s.Snapshot(), 1)[0]))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writes.New(s).DeleteMapping(ctx, m.ID, "1"); !errors.Is(err, store.ErrEtagMismatch) {
		t.Fatalf("stale etag: %v", err)
	}
	rev, err := writes.New(s).DeleteMapping(ctx, m.ID, m.Etag())
	if err != nil || rev != m.Revision+1 {
		t.Fatalf("delete: %d %v", rev, err)
	}
	if _, ok := s.Snapshot().Mapping(m.ID); ok {
		t.Fatal("deleted mapping still in the snapshot")
	}
	if _, err := writes.New(s).DeleteMapping(ctx, m.ID, ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	// The pair is free again.
	if _, err := writes.New(s).CreateMapping(ctx, mapping([2]catalog.ControlRef{m.Source, m.Target})); err != nil {
		t.Fatalf("re-create after delete: %v", err)
	}
	builtIn := first(s.Snapshot())
	if _, err := writes.New(s).DeleteMapping(ctx, builtIn.ID, ""); err != nil {
		t.Fatalf("delete built-in: %v", err)
	}
}

func testRevisions(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	pairs := unmappedPairs(t, s.Snapshot(), 5)
	want := int64(1)
	for _, p := range pairs {
		m, err := writes.New(s).CreateMapping(ctx, mapping(p))
		want++
		if err != nil || m.Revision != want || s.Snapshot().Revision() != want {
			t.Fatalf("revision %d (snapshot %d), want %d: %v", m.Revision, s.Snapshot().Revision(), want, err)
		}
		if err := s.WaitForRevision(ctx, want); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := s.WaitForRevision(short, want+1); err == nil {
		t.Fatal("waiting for a revision nobody wrote returned")
	}
}

func testLists(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	pairs := unmappedPairs(t, s.Snapshot(), 3)
	for _, p := range pairs {
		if _, err := writes.New(s).CreateMapping(ctx, mapping(p)); err != nil {
			t.Fatal(err)
		}
	}
	g := s.Snapshot()
	ids := make([]string, 0, g.MappingCount())
	for m := range g.Mappings() {
		ids = append(ids, m.ID)
	}
	if !slices.IsSorted(ids) {
		t.Fatal("mappings are not ordered by id")
	}
	for _, p := range pairs {
		src, _ := g.ResolveControl(p[0].Framework, p[0].Control)
		dst, _ := g.ResolveControl(p[1].Framework, p[1].Control)
		m, ok := g.MappingBetween(dst, src)
		seenFrom := func(c, other catalog.ControlID) bool {
			return slices.ContainsFunc(g.Edges(c), func(e catalog.Edge) bool { return e.To == other && g.MappingAt(e.Mapping).ID == m.ID })
		}
		if !ok || !seenFrom(src, dst) || !seenFrom(dst, src) {
			t.Fatalf("new mapping %v not indexed from both ends", p)
		}
		found := false
		for _, o := range g.Crosswalk(g.Control(dst).Framework, g.Control(src).Framework) {
			found = found || (o.Mapping.ID == m.ID && o.Inverse && o.From == dst)
		}
		if !found {
			t.Fatalf("new mapping %v missing from the reversed crosswalk", p)
		}
	}
}

// Many writers update the same mappings with optimistic concurrency: the
// final state holds every acknowledged write exactly once.
func testConcurrentUpdates(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	var targets []string
	for _, p := range unmappedPairs(t, s.Snapshot(), 3) {
		m, err := writes.New(s).CreateMapping(ctx, mapping(p))
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, m.ID)
	}
	const writers, perWriter = 8, 6
	var mu sync.Mutex
	acked := map[string][]string{}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				id := targets[(w+i)%len(targets)]
				token := fmt.Sprintf("w%d.%d", w, i)
				for attempt := 0; ; attempt++ {
					if attempt > 200 {
						t.Errorf("%s: gave up", token)
						return
					}
					g := s.Snapshot()
					cur, ok := g.Mapping(id)
					if !ok {
						t.Errorf("mapping %s vanished", id)
						return
					}
					just := cur.Justification + " " + token
					_, err := writes.New(s).UpdateMapping(ctx, id, cur.Etag(), writes.MappingPatch{Justification: &just})
					if err == nil {
						mu.Lock()
						acked[id] = append(acked[id], token)
						mu.Unlock()
						break
					}
					if !errors.Is(err, store.ErrEtagMismatch) {
						t.Errorf("%s: %v", token, err)
						return
					}
					// Someone else won: wait until this replica has seen it.
					wait, cancel := context.WithTimeout(ctx, 2*time.Second)
					_ = s.WaitForRevision(wait, g.Revision()+1)
					cancel()
				}
			}
		})
	}
	wg.Wait()
	g := s.Snapshot()
	total := 0
	for _, id := range targets {
		m, _ := g.Mapping(id)
		got := strings.Fields(strings.TrimPrefix(m.Justification, "conformance"))
		want := acked[id]
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("mapping %s holds %v, acknowledged %v", id, got, want)
		}
		total += len(want)
	}
	if total != writers*perWriter || g.Revision() != int64(1+len(targets)+total) {
		t.Fatalf("%d acknowledged writes, revision %d", total, g.Revision())
	}
}

// Writers racing to map the same pair: exactly one wins, the others get
// ErrAlreadyExists, and one row exists.
func testConcurrentCreates(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	pair := unmappedPairs(t, s.Snapshot(), 1)[0]
	won, lost := race(t, 8, func(i int) error {
		p := pair
		if i%2 == 1 {
			p = [2]catalog.ControlRef{pair[1], pair[0]}
		}
		_, err := writes.New(s).CreateMapping(ctx, mapping(p))
		return err
	})
	g := s.Snapshot()
	if won != 1 || lost != 7 || g.Revision() != 2 {
		t.Fatalf("%d won, %d conflicts, revision %d", won, lost, g.Revision())
	}
}

func testTenantsAndKeys(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	ten, err := writes.New(s).CreateTenant(ctx, tenancy.Tenant{ID: "acme", DisplayName: "Acme"})
	if err != nil || ten.Revision != 2 || ten.CreateTime.IsZero() {
		t.Fatalf("create tenant: %+v %v", ten, err)
	}
	if _, ok := s.Directory().Tenant("acme"); !ok || s.Snapshot().Revision() != 2 {
		t.Fatal("tenant not in the directory, or the revision did not move")
	}
	if _, err := writes.New(s).CreateTenant(ctx, tenancy.Tenant{ID: "acme", DisplayName: "Again"}); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("tenant twice: %v", err)
	}
	k, secret, rev, err := writes.New(s).CreateAPIKey(ctx, "acme", []cmv1.Scope{cmv1.Scope_SCOPE_READ}, time.Time{})
	id := k.ID
	if err != nil || rev != 3 || k.CreateTime.IsZero() {
		t.Fatalf("create key: %+v %d %v", k, rev, err)
	}
	got, ok := s.Directory().KeyBySecret(secret)
	if !ok || got.ID != id || got.Revoked() || !got.Has(cmv1.Scope_SCOPE_READ) || got.Has(cmv1.Scope_SCOPE_WRITE) {
		t.Fatalf("key by secret: %+v %v", got, ok)
	}
	if _, _, _, err := writes.New(s).CreateAPIKey(ctx, "nobody", []cmv1.Scope{cmv1.Scope_SCOPE_READ}, time.Time{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("key of an unknown tenant: %v", err)
	}
	revoked, _, err := writes.New(s).RevokeAPIKey(ctx, "acme", id)
	if err != nil || !revoked.Revoked() {
		t.Fatalf("revoke: %+v %v", revoked, err)
	}
	if got, _ := s.Directory().KeyBySecret(secret); !got.Revoked() {
		t.Fatal("revocation not in the directory")
	}
	if again, rev, err := writes.New(s).RevokeAPIKey(ctx, "acme", id); err != nil || rev != 0 || !again.RevokeTime.Equal(revoked.RevokeTime) {
		t.Fatalf("revoke twice: %+v %d %v", again, rev, err)
	}
	if _, _, err := writes.New(s).RevokeAPIKey(ctx, "other", id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke through another tenant: %v", err)
	}
	if n := len(s.Directory().Keys("acme")); n != 1 {
		t.Fatalf("%d keys listed", n)
	}
}

// Every write leaves one audit event, in the same commit, newest first.
func testAuditTrail(t *testing.T, s store.Store) {
	w, ctx := acmeFramework(t, s)
	if _, err := w.CreateControl(ctx, "acme-isms", catalog.Control{ID: "C1", Title: "One"}); err != nil {
		t.Fatal(err)
	}
	pub := unmappedPairs(t, s.Snapshot(), 1)[0][0]
	m, err := w.CreateMapping(ctx, mapping([2]catalog.ControlRef{{Framework: "acme-isms", Control: "C1"}, pub}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.UpdateMapping(store.WithRequestID(ctx, "req-update"), m.ID, "", set(4, "audited")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.DeleteMapping(ctx, m.ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := w.DeleteMapping(store.WithRequestID(ctx, "req-refused"), m.ID, ""); err == nil {
		t.Fatal("second delete succeeded")
	}
	events, err := s.AuditEvents(ctx, store.AuditQuery{Tenant: "acme", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 6 {
		t.Fatalf("%d events for 6 writes: %+v", len(events), events)
	}
	for i, e := range events[:5] {
		if e.Revision != int64(7-i) || e.Actor != "tenants/acme/apiKeys/k1" || e.Method != "/test/Tenant" || e.Time.IsZero() || e.Tenant != "acme" {
			t.Fatalf("event %d: %+v", i, e)
		}
	}
	if e := events[5]; e.Actor != "admin" || e.Resource != "tenants/acme" || e.Tenant != "acme" {
		t.Fatalf("the operator's event: %+v", e)
	}
	del, upd, crt := events[0], events[1], events[2]
	if del.Before == "" || del.After != "" || upd.Before == "" || !strings.Contains(upd.After, "audited") || crt.Before != "" || crt.After == "" ||
		crt.Resource != catalog.MappingName(m.ID) {
		t.Fatalf("before/after: %+v", events[:3])
	}
	// A request settles by its id: the update happened, the refused
	// delete did not.
	if byID, err := s.AuditEvents(ctx, store.AuditQuery{Tenant: "acme", RequestID: "req-update", Limit: 10}); err != nil || len(byID) != 1 ||
		byID[0].Revision != upd.Revision || byID[0].RequestID != "req-update" || events[0].RequestID != "" {
		t.Fatalf("events of request req-update: %+v %v", byID, err)
	}
	if byID, err := s.AuditEvents(ctx, store.AuditQuery{Tenant: "acme", RequestID: "req-refused", Limit: 10}); err != nil || len(byID) != 0 {
		t.Fatalf("a refused write left events: %+v %v", byID, err)
	}
	older, err := s.AuditEvents(ctx, store.AuditQuery{Tenant: "acme", Before: events[1].Revision, Limit: 10})
	if err != nil || len(older) != 4 || older[0].Revision != events[2].Revision {
		t.Fatalf("page before %d: %+v %v", events[1].Revision, older, err)
	}
	if other, _ := s.AuditEvents(ctx, store.AuditQuery{Tenant: "other", Limit: 10}); len(other) != 0 {
		t.Fatalf("another tenant sees %d events", len(other))
	}
	// Everything: these and whatever else wrote (such as loading the
	// built-in content).
	if all, _ := s.AuditEvents(ctx, store.AuditQuery{All: true, Limit: 100}); len(all) < 6 || all[0].Revision != events[0].Revision {
		t.Fatalf("all events: %d", len(all))
	}
}

// An organization's own framework: created empty, controls added in order,
// mapped, changed, and deleted with everything that hangs off it.
func testInternalFrameworks(t *testing.T, s store.Store) {
	ctx := tenantCtx(t, "acme")
	f, err := writes.New(s).CreateFramework(ctx, catalog.Framework{ID: "acme-program", DisplayName: "Acme program", Kind: cmv1.FrameworkKind_FRAMEWORK_KIND_INTERNAL})
	if err != nil || f.Revision != 2 {
		t.Fatalf("create framework: %+v %v", f, err)
	}
	if _, err := writes.New(s).CreateFramework(ctx, catalog.Framework{ID: "acme-program", DisplayName: "x", Kind: cmv1.FrameworkKind_FRAMEWORK_KIND_INTERNAL}); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("framework twice: %v", err)
	}
	ctl := func(id, parent string) catalog.Control {
		return catalog.Control{ID: id, Parent: parent, Title: "Control " + id, Kind: cmv1.ControlKind_CONTROL_KIND_CONTROL, Assessable: true,
			Implementation: cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_PARTIAL, Owner: "ciso", Evidence: []string{"https://evidence.example/" + id}}
	}
	for _, c := range []catalog.Control{ctl("GOV", ""), ctl("GOV-1", "GOV"), ctl("LOG-1", "")} {
		if _, err := writes.New(s).CreateControl(ctx, "acme-program", c); err != nil {
			t.Fatalf("create control %s: %v", c.ID, err)
		}
	}
	if _, err := writes.New(s).CreateControl(ctx, "acme-program", ctl("gov-1", "")); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("control id again in another case: %v", err)
	}
	var inv *catalog.InvalidError
	if _, err := writes.New(s).CreateControl(ctx, "acme-program", ctl("X", "NOPE")); !errors.As(err, &inv) {
		t.Fatalf("unknown parent: %v", err)
	}
	if _, err := writes.New(s).CreateControl(ctx, "nope", ctl("X", "")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown framework: %v", err)
	}
	if _, err := writes.New(s).CreateControl(tenantCtx(t, "other"), "acme-program", ctl("Y", "")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another tenant added a control: %v", err)
	}
	var denied *writes.DeniedError
	if _, err := writes.New(s).CreateControl(ctx, "iso-27001-2022", ctl("Y", "")); !errors.As(err, &denied) {
		t.Fatalf("a tenant added a control to a reference framework: %v", err)
	}
	g := s.Snapshot()
	fw, ok := g.Framework("acme-program")
	if !ok || fw.Owner != "acme" || fw.ControlCount() != 3 || g.Revision() != 5 {
		t.Fatalf("framework in the snapshot: %+v at %d", fw, g.Revision())
	}
	ids := []string{}
	for _, c := range g.Controls(fw) {
		ids = append(ids, c.ID)
	}
	if !slices.Equal(ids, []string{"GOV", "GOV-1", "LOG-1"}) {
		t.Fatalf("controls out of order: %v", ids)
	}
	c, _ := g.ResolveControl("acme-program", "LOG-1")
	if got := g.Control(c); got.Implementation != cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_PARTIAL || got.Owner != "ciso" || len(got.Evidence) != 1 {
		t.Fatalf("control fields: %+v", got.Control)
	}

	// Map it, change it, then delete: its mappings go with it.
	iso, _ := g.Framework("iso-27001-2022")
	pub := g.Ref(iso.ControlIDs()[5])
	m, err := writes.New(s).CreateMapping(ctx, mapping([2]catalog.ControlRef{{Framework: "acme-program", Control: "LOG-1"}, pub}))
	if err != nil {
		t.Fatal(err)
	}
	impl, title := cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_IMPLEMENTED, "Logging"
	up, err := writes.New(s).UpdateControl(ctx, "acme-program", "LOG-1", writes.ControlPatch{Implementation: &impl, Title: &title})
	if err != nil || up.ID != "LOG-1" || up.Title != "Logging" || up.Implementation != cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_IMPLEMENTED {
		t.Fatalf("update control: %+v %v", up, err)
	}
	if _, ok := s.Snapshot().Mapping(m.ID); !ok {
		t.Fatal("a control update lost its mapping")
	}
	if _, err := writes.New(s).DeleteControl(ctx, "acme-program", "GOV"); !errors.Is(err, store.ErrFailedPrecondition) {
		t.Fatalf("delete a parent: %v", err)
	}
	if _, err := writes.New(s).DeleteControl(ctx, "acme-program", "LOG-1"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Snapshot().Mapping(m.ID); ok {
		t.Fatal("the deleted control's mapping is still there")
	}
	if ev, err := s.AuditEvents(ctx, store.AuditQuery{All: true, Limit: 1}); err != nil || len(ev) != 1 || !strings.Contains(ev[0].Before, m.ID) || !strings.Contains(ev[0].Before, "LOG-1") {
		t.Fatalf("the delete's audit event does not keep what it took: %+v %v", ev, err)
	}
	name := "Acme 2"
	f2, err := writes.New(s).UpdateFramework(ctx, "acme-program", writes.FrameworkPatch{DisplayName: &name})
	if err != nil || f2.DisplayName != "Acme 2" || f2.Owner != "acme" {
		t.Fatalf("update framework: %+v %v", f2, err)
	}
	if _, err := writes.New(s).DeleteFramework(ctx, "acme-program"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Snapshot().Framework("acme-program"); ok {
		t.Fatal("deleted framework still there")
	}
	if _, err := writes.New(s).DeleteFramework(ctx, "acme-program"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

// first returns the mapping with the lowest id.
func first(g *catalog.Graph) *catalog.MappingNode {
	for m := range g.Mappings() {
		return m
	}
	return nil
}

// Writers racing to create one tenant, or one framework: exactly one wins,
// the others get ErrAlreadyExists, and the winner's row is the one kept.
func testConcurrentCreatesOfOneID(t *testing.T, s store.Store) {
	w := writes.New(s)
	for _, create := range []func(i int) error{
		func(i int) error {
			_, err := w.CreateTenant(ctxT(t), tenancy.Tenant{ID: "acme", DisplayName: fmt.Sprintf("Acme %d", i)})
			return err
		},
		func(i int) error {
			_, err := w.CreateFramework(tenantCtx(t, "acme"), catalog.Framework{ID: "acme-isms", DisplayName: fmt.Sprintf("ISMS %d", i)})
			return err
		},
	} {
		won, lost := race(t, 8, create)
		if won != 1 || lost != 7 {
			t.Fatalf("%d won, %d conflicts", won, lost)
		}
	}
}

// race runs n writes at once and counts those that succeeded and those
// refused with ErrAlreadyExists; any other outcome fails the test.
func race(t *testing.T, n int, write func(i int) error) (won, lost int) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			err := write(i)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, store.ErrAlreadyExists):
				lost++
			default:
				t.Errorf("write: %v", err)
			}
		})
	}
	wg.Wait()
	return won, lost
}

// Deletes of controls and of a whole framework racing creates of mappings
// of theirs: every mapping a create acknowledged is gone afterwards, and
// the change log says so (a replica following the log drops it too); a
// create that lost is refused as NotFound.
func testDeletesRacingMappingWrites(t *testing.T, s store.Store) {
	w, ctx := acmeFramework(t, s)
	const controls = 6
	for i := range controls {
		if _, err := w.CreateControl(ctx, "acme-isms", catalog.Control{ID: fmt.Sprintf("C%d", i), Title: "Control"}); err != nil {
			t.Fatal(err)
		}
	}
	var targets []catalog.ControlRef // distinct public controls
	seen := map[catalog.ControlRef]bool{}
	for _, p := range unmappedPairs(t, s.Snapshot(), 120) {
		for _, c := range p {
			if !seen[c] && len(targets) < 40 {
				seen[c] = true
				targets = append(targets, c)
			}
		}
	}
	start := s.Snapshot().Revision()
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	for i, target := range targets {
		wg.Go(func() {
			m, err := w.CreateMapping(ctx, mapping([2]catalog.ControlRef{{Framework: "acme-isms", Control: fmt.Sprintf("C%d", i%controls)}, target}))
			switch {
			case err == nil:
				mu.Lock()
				acked = append(acked, m.ID)
				mu.Unlock()
			case !errors.Is(err, store.ErrNotFound):
				t.Errorf("create racing a delete: %v", err)
			}
		})
		if i == 10 {
			wg.Go(func() {
				// NotFound when the framework's delete came first.
				if _, err := w.DeleteControl(ctx, "acme-isms", "C0"); err != nil && !errors.Is(err, store.ErrNotFound) {
					t.Errorf("delete control: %v", err)
				}
			})
		}
		if i == 25 {
			wg.Go(func() {
				if _, err := w.DeleteFramework(ctx, "acme-isms"); err != nil {
					t.Errorf("delete framework: %v", err)
				}
			})
		}
	}
	wg.Wait()
	g := s.Snapshot()
	deleted := map[string]bool{}
	records, err := s.Changes(ctx, store.Position{Revision: start + 1}, 100000)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range records {
		if r.Change.Kind == store.KindMapping && r.Change.Delete {
			deleted[r.Change.Mapping.ID] = true
		}
	}
	for _, id := range acked {
		if _, ok := g.Mapping(id); ok {
			t.Errorf("mapping %s outlived the delete of its framework", id)
		}
		if !deleted[id] {
			t.Errorf("mapping %s was acknowledged, then deleted without a change in the log", id)
		}
	}
	if _, ok := g.Framework("acme-isms"); ok {
		t.Error("the framework is still there")
	}
}

// acmeFramework creates the tenant acme and its empty framework acme-isms,
// and returns a writer and a context of acme's key.
func acmeFramework(t *testing.T, s store.Store) (*writes.Writer, context.Context) {
	w := writes.New(s)
	if _, err := w.CreateTenant(ctxT(t), tenancy.Tenant{ID: "acme", DisplayName: "Acme"}); err != nil {
		t.Fatal(err)
	}
	ctx := tenantCtx(t, "acme")
	if _, err := w.CreateFramework(ctx, catalog.Framework{ID: "acme-isms", DisplayName: "ISMS"}); err != nil {
		t.Fatal(err)
	}
	return w, ctx
}
