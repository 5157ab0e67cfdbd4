package postgres_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/auth"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/store/postgres"
	"github.com/controlmap/controlmap/internal/store/postgres/pgtest"
	"github.com/controlmap/controlmap/internal/tenancy"
	"github.com/controlmap/controlmap/internal/writes"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// snapshotOf renders what a replica serves of the catalog, by names.
func snapshotOf(g *catalog.Graph) string {
	var b strings.Builder
	fmt.Fprintf(&b, "revision %d, %d mappings\n", g.Revision(), g.MappingCount())
	for _, f := range g.Frameworks() {
		fmt.Fprintf(&b, "%s %q %d:", f.ID, f.DisplayName, f.AssessableCount)
		for _, c := range g.Controls(f) {
			fmt.Fprintf(&b, " %s(%s,%d edges)", c.ID, c.Title, len(g.Edges(c.Index)))
		}
		b.WriteString("\n")
	}
	for m := range g.Mappings() {
		fmt.Fprintf(&b, "%s %s %v %s %d/%d %s\n", m.ID, m.Source.Name(), m.Relationship, m.Target.Name(), m.Strength, m.ReverseStrength, m.Justification)
	}
	return b.String()
}

// TestReplicaAppliesChangesIncrementally: a second replica follows writes
// to frameworks, controls and mappings (cascades included) by applying the
// change log, serving exactly what the writer serves after each one, and
// loads the whole catalog only once, at start.
func TestReplicaAppliesChangesIncrementally(t *testing.T) {
	url := pgtest.DatabaseURL(t)
	a := openMigrated(t, url, postgres.Config{})
	var logs syncBuffer
	b := openMigrated(t, url, postgres.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ctx = auth.WithPrincipal(ctx, auth.Principal{Name: "tenants/acme/apiKeys/k1", Tenant: "acme"}, "/test")
	w := writes.New(a)

	gov := catalog.ControlRef{Framework: "acme-program", Control: "GOV-1"}
	iso := catalog.ControlRef{Framework: "iso-27001-2022", Control: "A.5.1"}
	check := func(step string, rev int64, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if err := b.WaitForRevision(ctx, rev); err != nil {
			t.Fatalf("%s: replica never reached revision %d: %v", step, rev, err)
		}
		if got, want := snapshotOf(b.Snapshot()), snapshotOf(a.Snapshot()); got != want {
			t.Fatalf("%s: the replica serves\n%s\nthe writer\n%s", step, got, want)
		}
	}
	f, err := w.CreateFramework(ctx, catalog.Framework{ID: "acme-program", DisplayName: "Acme"})
	check("create framework", f.Revision, err)
	c, err := w.CreateControl(ctx, "acme-program", catalog.Control{ID: "GOV", Title: "Governance"})
	check("create control", c.Revision, err)
	c, err = w.CreateControl(ctx, "acme-program", catalog.Control{ID: "GOV-1", Parent: "GOV", Title: "Policy", Assessable: true})
	check("create child control", c.Revision, err)
	m, err := w.CreateMapping(ctx, catalog.Mapping{Source: gov, Target: iso, Relationship: cmv1.Relationship_RELATIONSHIP_SUBSET_OF, Strength: 6, ReverseStrength: 10,
		Rationale: cmv1.Rationale_RATIONALE_FUNCTIONAL, Justification: "Our policy is part of the ISMS policy.",
		Provenance: catalog.Provenance{Method: cmv1.MappingMethod_MAPPING_METHOD_HUMAN, Status: cmv1.MappingStatus_MAPPING_STATUS_APPROVED, Author: "t"}})
	check("create mapping", m.Revision, err)
	just := "Reviewed."
	m, err = w.UpdateMapping(ctx, m.ID, m.Etag(), writes.MappingPatch{Justification: &just})
	check("update mapping", m.Revision, err)
	title, no := "AI policy", false
	c, err = w.UpdateControl(ctx, "acme-program", "GOV-1", writes.ControlPatch{Title: &title, Assessable: &no})
	check("update control", c.Revision, err)
	rev, err := w.DeleteControl(ctx, "acme-program", "GOV-1")
	check("delete control with its mapping", rev, err)
	rev, err = w.DeleteFramework(ctx, "acme-program")
	check("delete framework with its controls", rev, err)
	if n := strings.Count(logs.String(), "catalog loaded from the database"); n != 1 {
		t.Fatalf("the replica loaded the whole catalog %d times, want once (at start):\n%s", n, logs.String())
	}
}

// During a rolling update replicas of the previous release read the change
// log this one writes: catalog rows as catalog.Change with their revision
// in the body, and any change to tenants or keys under the kind "tenancy",
// for which they reload their keys.
func TestChangeLogReadableByThePreviousRelease(t *testing.T) {
	s := openMigrated(t, pgtest.DatabaseURL(t), postgres.Config{})
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{Name: "admin", Operator: true}, "/test")
	w := writes.New(s)
	if _, err := w.CreateTenant(ctx, tenancy.Tenant{ID: "acme", DisplayName: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := w.CreateAPIKey(ctx, "acme", []cmv1.Scope{cmv1.Scope_SCOPE_READ}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	tctx := auth.WithPrincipal(context.Background(), auth.Principal{Name: "tenants/acme/apiKeys/k", Tenant: "acme"}, "/test")
	if _, err := w.CreateFramework(tctx, catalog.Framework{ID: "acme-x", DisplayName: "X"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.CreateControl(tctx, "acme-x", catalog.Control{ID: "C1", Title: "One"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.CreateMapping(tctx, catalog.Mapping{Source: catalog.ControlRef{Framework: "acme-x", Control: "C1"},
		Target: catalog.ControlRef{Framework: "iso-27001-2022", Control: "A.5.1"}, Relationship: cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH,
		Strength: 3, ReverseStrength: 3, Rationale: cmv1.Rationale_RATIONALE_SEMANTIC, Justification: "x"}); err != nil {
		t.Fatal(err)
	}
	rows, err := s.Pool().Query(context.Background(), "SELECT revision, kind, body FROM changes WHERE revision > 1 ORDER BY revision, idx")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	kinds := map[string]int{}
	for rows.Next() {
		var rev int64
		var kind string
		var body []byte
		if err := rows.Scan(&rev, &kind, &body); err != nil {
			t.Fatal(err)
		}
		kinds[kind]++
		if kind == "tenancy" {
			continue
		}
		var c catalog.Change // what the previous release decodes
		if err := json.Unmarshal(body, &c); err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{"framework": c.Framework.Revision, "control": c.Control.Revision, "mapping": c.Mapping.Revision}[kind]
		if got != rev {
			t.Fatalf("a %s row of revision %d carries revision %d in its body: %s", kind, rev, got, body)
		}
	}
	if kinds["tenancy"] != 2 || kinds["framework"] != 1 || kinds["control"] != 1 || kinds["mapping"] != 1 {
		t.Fatalf("kinds logged: %v", kinds)
	}
}
