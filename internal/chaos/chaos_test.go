package chaos_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/store/postgres/pgtest"
)

const (
	adminToken = "chaos-admin-token"
	tenant     = "chaos"
	framework  = "chaos-isms"
	nWriters   = 8
	nReaders   = 4
)

// settings reads the seed and the length of the fault phase from the
// environment; a run without them draws a seed and lasts 30 seconds.
func settings(t *testing.T) (seed uint64, d time.Duration) {
	seed, d = uint64(time.Now().UnixNano()), 30*time.Second
	if v := os.Getenv("CONTROLMAP_CHAOS_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("CONTROLMAP_CHAOS_SEED=%q: want an unsigned integer", v)
		}
		seed = s
	}
	if v := os.Getenv("CONTROLMAP_CHAOS_DURATION"); v != "" {
		p, err := time.ParseDuration(v)
		if err != nil || p <= 0 {
			t.Fatalf("CONTROLMAP_CHAOS_DURATION=%q: want a positive duration such as 90s", v)
		}
		d = p
	}
	return seed, d
}

func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("the chaos test runs for about a minute")
	}
	seed, duration := settings(t)
	t.Logf("seed %d, %s of faults; CONTROLMAP_CHAOS_SEED=%d repeats the fault schedule", seed, duration, seed)

	cluster := pgtest.StartCluster(t)
	dbURL := cluster.NewDatabase(t)
	replicas := []*replica{newReplica(t, dbURL), newReplica(t, dbURL)}
	key, sources, targets := setup(t, replicas[0])

	rng := rand.New(rand.NewPCG(seed, 1))
	rec := &recent{}
	writers := make([]*writer, nWriters)
	for i := range writers {
		writers[i] = &writer{id: i, rng: rand.New(rand.NewPCG(seed, uint64(10+i))), replicas: replicas, key: key,
			sources: sources[3*i : 3*i+3], targets: targets, recent: rec, taken: map[[2]string]bool{}}
	}
	readers := make([]*reader, nReaders)
	for i := range readers {
		readers[i] = &reader{rng: rand.New(rand.NewPCG(seed, uint64(100+i))), replicas: replicas, key: key, recent: rec}
	}
	sched := &scheduler{t: t, rng: rng, cluster: cluster, admin: cluster.URL, replicas: replicas, start: time.Now()}

	ctx, stop := context.WithTimeout(context.Background(), duration)
	var wg sync.WaitGroup
	for _, w := range writers {
		wg.Go(func() { w.run(ctx) })
	}
	for _, r := range readers {
		wg.Go(func() { r.run(ctx) })
	}
	err := sched.run(ctx)
	stop()
	wg.Wait()
	if err != nil {
		t.Fatalf("fault injection failed: %v", err)
	}
	// A write a replica began before its client gave up may still commit.
	// A graceful restart of each replica waits for its calls (up to its
	// 15 s shutdown timeout, longer than a write may take), so nothing
	// commits once the outcomes are settled.
	for i, r := range replicas {
		if err := r.stop(); err != nil {
			t.Fatalf("stopping replica %d: %v", i, err)
		}
		if err := r.start(); err != nil {
			t.Fatalf("starting replica %d again: %v", i, err)
		}
	}

	var all []*write
	for _, w := range writers {
		all = append(all, w.writes...)
	}
	var seen []observation
	failedReads := 0
	for _, r := range readers {
		seen = append(seen, r.seen...)
		failedReads += r.failed
	}
	h := settleAndCheckAudit(t, replicas[0], all)
	checkDatabase(t, dbURL, h)
	rev := databaseRevision(t, dbURL)
	checkReplicas(t, replicas, key, rev, h, sources)
	checkReads(t, seen, h)

	n := map[outcome]int{}
	reasons := map[string]int{}
	committedUnknown := 0
	for _, w := range all {
		n[w.outcome]++
		if w.outcome != acknowledged {
			reasons[w.reason]++
		}
		if w.outcome == unknown && w.revision > 0 {
			committedUnknown++
		}
	}
	t.Logf("faults: %d database kills, %d LISTEN cuts, %d replica restarts", sched.counts[killDatabase], sched.counts[cutListen], sched.counts[restartReplica])
	t.Logf("writes: %d sent, %d acknowledged, %d refused, %d unknown (%d of them committed); final revision %d",
		len(all), n[acknowledged], n[refused], n[unknown], committedUnknown, rev)
	t.Logf("reads with min_revision: %d answered and checked, %d unanswered (replica unavailable or behind)", len(seen), failedReads)
	t.Logf("refusals and unknown outcomes by reason: %v", reasons)
	if n[acknowledged] < 100 || len(seen) < 100 {
		t.Errorf("too little traffic to judge: %d acknowledged writes, %d reads", n[acknowledged], len(seen))
	}
}

// setup creates the tenant, its key and its framework with three controls
// per writer, and returns the key, the controls (writers' sources) and the
// public controls they map to.
func setup(t *testing.T, r *replica) (key string, sources, targets []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	op := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+adminToken)
	tenants := cmv1.NewTenantServiceClient(r.conn)
	if _, err := tenants.CreateTenant(op, &cmv1.CreateTenantRequest{TenantId: tenant, Tenant: &cmv1.Tenant{DisplayName: "Chaos"}}); err != nil {
		t.Fatal(err)
	}
	k, err := tenants.CreateApiKey(op, &cmv1.CreateApiKeyRequest{Parent: "tenants/" + tenant,
		ApiKey: &cmv1.ApiKey{Scopes: []cmv1.Scope{cmv1.Scope_SCOPE_READ, cmv1.Scope_SCOPE_WRITE}}})
	if err != nil {
		t.Fatal(err)
	}
	key = k.GetSecret()
	tctx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
	cat := cmv1.NewCatalogServiceClient(r.conn)
	if _, err := cat.CreateFramework(tctx, &cmv1.CreateFrameworkRequest{FrameworkId: framework, Framework: &cmv1.Framework{DisplayName: "Chaos ISMS"}}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 * nWriters {
		c, err := cat.CreateControl(tctx, &cmv1.CreateControlRequest{Parent: catalog.FrameworkName(framework), ControlId: fmt.Sprintf("C%02d", i),
			Control: &cmv1.Control{Title: fmt.Sprintf("Chaos control %d", i), ImplementationStatus: cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_IMPLEMENTED}})
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, c.GetControl().GetName())
	}
	for _, fw := range []string{"iso-27001-2022", "nist-ai-rmf-1.0"} {
		a := true
		resp, err := cat.ListControls(tctx, &cmv1.ListControlsRequest{Parent: catalog.FrameworkName(fw), Assessable: &a, PageSize: 20})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range resp.GetControls() {
			targets = append(targets, c.GetName())
		}
	}
	return key, sources, targets
}

// state is a mapping as of a committed write.
type state struct {
	revision      int64
	deleted       bool
	strength      int32
	justification string
}

// history is every committed write of each mapping, in revision order.
type history struct {
	writes map[string][]state
	// deleteSent is when the committed delete of a mapping was sent.
	deleteSent map[string]time.Time
}

func (h history) at(mapping string, rev int64) (state, bool) {
	var s state
	ok := false
	for _, e := range h.writes[mapping] {
		if e.revision > rev {
			break
		}
		s, ok = e, true
	}
	return s, ok && !s.deleted
}

// settleAndCheckAudit settles the writes of unknown outcome by their
// request id in the audit trail, checks that every acknowledged write has
// exactly one event (at its revision) and no refused write has any, and
// returns the history of what committed.
func settleAndCheckAudit(t *testing.T, r *replica, writes []*write) history {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	op := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+adminToken)
	tenants := cmv1.NewTenantServiceClient(r.conn)

	// The whole trail of the tenant, by request id.
	events := map[string][]*cmv1.AuditEvent{}
	token := ""
	for {
		resp, err := tenants.ListAuditEvents(op, &cmv1.ListAuditEventsRequest{Parent: "tenants/" + tenant, PageSize: 1000, PageToken: token})
		if err != nil {
			t.Fatalf("audit trail: %v", err)
		}
		for _, e := range resp.GetAuditEvents() {
			events[e.GetRequestId()] = append(events[e.GetRequestId()], e)
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}

	sent := map[string]bool{}
	for _, w := range writes {
		sent[w.requestID] = true
		got := events[w.requestID]
		switch w.outcome {
		case acknowledged:
			if len(got) != 1 || got[0].GetRevision() != w.revision || (w.op != "create" && got[0].GetResource() != w.mapping) {
				t.Errorf("acknowledged %s %s at revision %d: audit events %v", w.op, w.requestID, w.revision, got)
			}
			if w.op == "create" && len(got) == 1 && got[0].GetResource() != w.mapping {
				t.Errorf("acknowledged create %s made %s, its audit event names %s", w.requestID, w.mapping, got[0].GetResource())
			}
		case refused:
			if len(got) != 0 {
				t.Errorf("refused %s %s (%s) was written: %v", w.op, w.requestID, w.reason, got)
			}
		case unknown:
			if w.code == codes.Internal {
				t.Errorf("%s %s: INTERNAL (%s), a fault of the server", w.op, w.requestID, w.reason)
			}
			// Settled as a client would: by the request id.
			resp, err := tenants.ListAuditEvents(op, &cmv1.ListAuditEventsRequest{Parent: "tenants/" + tenant, RequestId: w.requestID})
			if err != nil {
				t.Fatalf("settle %s: %v", w.requestID, err)
			}
			switch byID := resp.GetAuditEvents(); len(byID) {
			case 0:
			case 1:
				t.Logf("%s %s of unknown outcome (%s after %v) committed at revision %d", w.op, w.requestID, w.reason, w.took.Round(time.Millisecond), byID[0].GetRevision())
				w.revision = byID[0].GetRevision()
				if w.op == "create" {
					w.mapping = byID[0].GetResource()
				}
			default:
				t.Errorf("%s %s of unknown outcome was written %d times", w.op, w.requestID, len(byID))
			}
		}
		if w.staleEtag && w.revision > 0 {
			t.Errorf("%s %s with a stale etag was written at revision %d", w.op, w.requestID, w.revision)
		}
	}
	for id, es := range events {
		if strings.HasPrefix(id, "chaos-w") && !sent[id] {
			t.Errorf("audit events of a request nobody sent: %s %v", id, es)
		}
	}

	// What committed, in revision order.
	var done []*write
	for _, w := range writes {
		if w.revision > 0 {
			done = append(done, w)
		}
	}
	sort.Slice(done, func(i, j int) bool { return done[i].revision < done[j].revision })
	h := history{writes: map[string][]state{}, deleteSent: map[string]time.Time{}}
	for i, w := range done {
		if i > 0 && done[i-1].revision == w.revision {
			t.Errorf("two writes at revision %d: %s and %s", w.revision, done[i-1].requestID, w.requestID)
		}
		// A mapping is created once, then changed, and once deleted
		// stays so.
		prev := h.writes[w.mapping]
		if (len(prev) == 0) != (w.op == "create") || len(prev) > 0 && prev[len(prev)-1].deleted {
			t.Errorf("%s %s committed at revision %d after %+v", w.op, w.requestID, w.revision, prev)
		}
		h.writes[w.mapping] = append(prev, state{revision: w.revision, deleted: w.op == "delete", strength: w.strength, justification: w.justification})
		if w.op == "delete" {
			h.deleteSent[w.mapping] = w.sent
		}
	}
	return h
}

// final is what the history leaves of each mapping.
func (h history) final() map[string]state {
	out := map[string]state{}
	for name, states := range h.writes {
		if s := states[len(states)-1]; !s.deleted {
			out[name] = s
		}
	}
	return out
}

// checkDatabase compares the tenant's mappings in the database with what
// committed.
func checkDatabase(t *testing.T, dbURL string, h history) {
	t.Helper()
	ctx, conn := connect(t, dbURL)
	rows, err := conn.Query(ctx, "SELECT id, strength, justification, revision FROM mappings WHERE source_framework = $1", framework)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]state{}
	var id string
	var s state
	if _, err := pgx.ForEachRow(rows, []any{&id, &s.strength, &s.justification, &s.revision}, func() error {
		got[catalog.MappingName(id)] = s
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	compareMappings(t, "the database", got, h.final())
}

func compareMappings(t *testing.T, where string, got, want map[string]state) {
	t.Helper()
	for name, w := range want {
		if g, ok := got[name]; !ok {
			t.Errorf("%s lacks %s, committed at revision %d", where, name, w.revision)
		} else if g != w {
			t.Errorf("%s has %s as %+v, committed as %+v", where, name, g, w)
		}
	}
	for name, g := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s has %s (revision %d), which no committed write leaves", where, name, g.revision)
		}
	}
}

// connect opens a connection to the database for the rest of the test.
func connect(t *testing.T, dbURL string) (context.Context, *pgx.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return ctx, conn
}

func databaseRevision(t *testing.T, dbURL string) int64 {
	t.Helper()
	ctx, conn := connect(t, dbURL)
	var rev int64
	if err := conn.QueryRow(ctx, "SELECT revision FROM store_state").Scan(&rev); err != nil {
		t.Fatal(err)
	}
	return rev
}

// checkReplicas asks both replicas at the database's revision for the
// tenant's mappings, and compares their satisfies and coverage answers.
func checkReplicas(t *testing.T, replicas []*replica, key string, rev int64, h history, sources []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tctx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
	answers := make([][]proto.Message, len(replicas))
	for i, r := range replicas {
		// The replica reaches the database's revision (its follower may
		// still be reconnecting after the last fault).
		var err error
		for range 30 {
			var resp *cmv1.ListFrameworksResponse
			if resp, err = cmv1.NewCatalogServiceClient(r.conn).ListFrameworks(tctx, &cmv1.ListFrameworksRequest{MinRevision: rev}); err == nil {
				if resp.GetRevision() != rev {
					t.Errorf("replica %d serves revision %d, the database is at %d", i, resp.GetRevision(), rev)
				}
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("replica %d does not reach revision %d: %v", i, rev, err)
		}
		got := map[string]state{}
		token := ""
		for {
			resp, err := cmv1.NewCrosswalkServiceClient(r.conn).ListMappings(tctx, &cmv1.ListMappingsRequest{Framework: framework, PageSize: 1000, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range resp.GetMappings() {
				got[m.GetName()] = state{revision: m.GetRevision(), strength: m.GetStrength(), justification: m.GetJustification()}
			}
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
		compareMappings(t, fmt.Sprintf("replica %d", i), got, h.final())

		sat := cmv1.NewSatisfactionServiceClient(r.conn)
		for _, c := range sources {
			resp, err := sat.Satisfies(tctx, &cmv1.SatisfiesRequest{Control: c, MaxHops: 3, IncludeDraft: true, MinRevision: rev})
			if err != nil {
				t.Fatal(err)
			}
			answers[i] = append(answers[i], resp)
		}
		for _, target := range []string{"iso-42001-2023", "nist-ai-rmf-1.0"} {
			resp, err := sat.ComputeCoverage(tctx, &cmv1.ComputeCoverageRequest{Source: &cmv1.CoverageSource{Framework: framework}, Target: target, MinRevision: rev})
			if err != nil {
				t.Fatal(err)
			}
			answers[i] = append(answers[i], resp)
		}
	}
	nonEmpty := false
	for j := range answers[0] {
		if !proto.Equal(answers[0][j], answers[1][j]) {
			t.Errorf("the replicas answer differently at revision %d:\n%v\n%v", rev, answers[0][j], answers[1][j])
		}
		if s, ok := answers[0][j].(*cmv1.SatisfiesResponse); ok && len(s.GetFrameworks()) > 0 {
			nonEmpty = true
		}
	}
	if !nonEmpty && len(h.final()) > 0 {
		t.Errorf("no satisfies answer lists a framework, though %d mappings remain", len(h.final()))
	}
}

// checkReads checks that every answer to a read with min_revision was the
// mapping as of a revision at or after the one asked for.
func checkReads(t *testing.T, seen []observation, h history) {
	t.Helper()
	bad := 0
	for _, o := range seen {
		if !o.found {
			// Not found at a revision at or after the one asked for, at
			// which the mapping existed: only a delete that committed, and
			// was sent before the answer came, explains it.
			if sent, ok := h.deleteSent[o.mapping]; !ok || !sent.Before(o.returned) {
				bad++
				t.Errorf("%s at min_revision %d: NOT_FOUND, but no delete of it was sent before the answer", o.mapping, o.minRevision)
			}
			continue
		}
		s, ok := h.at(o.mapping, o.served)
		want := state{revision: o.revision, strength: o.strength, justification: o.justification}
		if o.served < o.minRevision || !ok || s != want {
			bad++
			t.Errorf("%s at min_revision %d: answered at revision %d as %+v; the mapping as of that revision is %+v (exists: %v)",
				o.mapping, o.minRevision, o.served, want, s, ok)
		}
		if bad > 20 {
			t.Fatal("too many stale reads")
		}
	}
}
