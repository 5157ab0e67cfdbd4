package server_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/controlmap/controlmap/internal/server"
	"github.com/controlmap/controlmap/internal/store/postgres/pgtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Cleanup()
	os.Exit(code)
}

// withAppName labels a replica's connections, so a test can find them.
func withAppName(t *testing.T, dbURL, name string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// startReplica runs a server on the PostgreSQL database at dbURL, migrating
// it at start, and waits until it serves.
func startReplica(t *testing.T, dbURL string) *stack {
	s := start(t, server.Config{Datastore: "postgres", DatabaseURL: dbURL, Migrate: true, AdminToken: adminToken})
	waitServing(t, s.base+"/healthz")
	return s
}

// eventually polls check every 10ms until it holds or within passes.
func eventually(within time.Duration, check func() bool) bool {
	deadline := time.Now().Add(within)
	for {
		if check() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTwoReplicasAgree(t *testing.T) {
	db := pgtest.DatabaseURL(t)
	a := startReplica(t, withAppName(t, db, "replica-a"))
	b := startReplica(t, withAppName(t, db, "replica-b"))

	create := func(source string) (name, rev string) {
		m := newMapping()
		m["source"] = source
		r := a.rest(t, "POST", "/v1/mappings", m, "Authorization", bearer)
		if r.status != 200 {
			t.Fatalf("create through A: %d %s", r.status, r.raw)
		}
		return r.str("mapping", "name"), r.str("revision")
	}
	// caughtUp waits for B to show a write; past lag, B is stuck (its
	// retries back off to 5 s), not merely slow.
	const lag = 4 * time.Second
	caughtUp := func(what string, check func() bool) bool {
		begin := time.Now()
		ok := eventually(lag, check)
		t.Logf("B caught up with %s in %v", what, time.Since(begin).Round(time.Millisecond))
		return ok
	}
	visibleOnB := func(name string, minRev string) int {
		path := "/v1/" + name
		if minRev != "" {
			path += "?min_revision=" + minRev
		}
		return b.rest(t, "GET", path, nil).status
	}

	// With min_revision, B answers with the write at once.
	name, rev := create("frameworks/iso-27001-2022/controls/A.8.7")
	if st := visibleOnB(name, rev); st != 200 {
		t.Fatalf("B with min_revision=%s: %d", rev, st)
	}
	// Without it, soon: at once when the notification arrives, within about
	// a second when it is lost. The bound leaves room for a loaded machine;
	// the delays are logged.
	name2, _ := create("frameworks/iso-27001-2022/controls/A.8.1")
	if !caughtUp("a write", func() bool { return visibleOnB(name2, "") == 200 }) {
		t.Fatalf("B did not see A's write within %v", lag)
	}
	// A delete likewise.
	r := a.rest(t, "DELETE", "/v1/"+name, nil, "Authorization", bearer)
	if r.status != 200 {
		t.Fatalf("delete through A: %d %s", r.status, r.raw)
	}
	if st := visibleOnB(name, r.str("revision")); st != 404 {
		t.Fatalf("B after the delete, with min_revision: %d", st)
	}
	r = a.rest(t, "DELETE", "/v1/"+name2, nil, "Authorization", bearer)
	if !caughtUp("a delete", func() bool { return visibleOnB(name2, "") == 404 }) {
		t.Fatalf("B still serves a mapping A deleted, after %v", lag)
	}

	// Cut B's listening connection: B reconnects and catches up.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var cut int
	if err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = 'replica-b' AND query LIKE 'LISTEN%'`).Scan(&cut); err != nil || cut != 1 {
		t.Fatalf("terminated %d listening connections of B: %v", cut, err)
	}
	name3, rev3 := create("frameworks/iso-27001-2022/controls/A.8.2")
	if !caughtUp("a write after a cut", func() bool { return visibleOnB(name3, "") == 200 }) {
		t.Fatalf("B did not catch up within %v after its listening connection was cut", lag)
	}
	// Cut after cut, B keeps catching up (the delays are logged).
	for i, source := range []string{"frameworks/iso-27001-2022/controls/A.8.3", "frameworks/iso-27001-2022/controls/A.8.4", "frameworks/iso-27001-2022/controls/A.8.5"} {
		if !eventually(2*time.Second, func() bool {
			var n int
			_ = conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'replica-b' AND query LIKE 'LISTEN%'`).Scan(&n)
			return n == 1
		}) {
			t.Fatalf("cut %d: B did not listen again", i+2)
		}
		if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'replica-b' AND query LIKE 'LISTEN%'`); err != nil {
			t.Fatal(err)
		}
		name, _ := create(source)
		if !caughtUp(fmt.Sprintf("a write after cut %d", i+2), func() bool { return visibleOnB(name, "") == 200 }) {
			t.Fatalf("cut %d: B did not catch up within %v", i+2, lag)
		}
	}
	if st := visibleOnB(name3, rev3); st != 200 {
		t.Fatalf("B with min_revision after the cut: %d", st)
	}
	// A revision nobody wrote: B waits its bound, then refuses rather than
	// answer stale data.
	if r := b.rest(t, "GET", fmt.Sprintf("/v1/frameworks?min_revision=%d", 1000), nil); r.status != 503 {
		t.Fatalf("min_revision in the future: %d %s", r.status, r.raw)
	}
}

// The database goes away while the service runs: reads keep answering from
// memory, writes fail fast with 503 and write nothing; when it returns,
// writes work again, all without restarting the service.
func TestDatabaseLostAndBack(t *testing.T) {
	cluster := pgtest.StartCluster(t)
	db := cluster.NewDatabase(t)
	s := startReplica(t, db)
	if r := s.rest(t, "POST", "/v1/mappings", newMapping(), "Authorization", bearer); r.status != 200 {
		t.Fatalf("write before the outage: %d %s", r.status, r.raw)
	}

	if err := cluster.Stop(); err != nil {
		t.Fatal(err)
	}
	if r := s.rest(t, "GET", "/v1/frameworks/iso-27001-2022/controls/A.5.24:satisfies", nil); r.status != 200 {
		t.Fatalf("read during the outage: %d %s", r.status, r.raw)
	}
	if r := s.rest(t, "GET", "/healthz", nil); r.status != 200 {
		t.Fatalf("health during the outage: %d (reads still work)", r.status)
	}
	m := newMapping()
	m["source"] = "frameworks/iso-27001-2022/controls/A.8.1"
	begin := time.Now()
	r := s.rest(t, "POST", "/v1/mappings", m, "Authorization", bearer)
	if r.status != 503 || time.Since(begin) > 5*time.Second {
		t.Fatalf("write during the outage: %d after %v: %s", r.status, time.Since(begin), r.raw)
	}
	before := s.rest(t, "GET", "/v1/mappings?page_size=1", nil).str("revision")

	if err := cluster.Start(); err != nil {
		t.Fatal(err)
	}
	var last restResponse
	if !eventually(10*time.Second, func() bool {
		last = s.rest(t, "POST", "/v1/mappings", m, "Authorization", bearer)
		return last.status == 200
	}) {
		t.Fatalf("writes did not recover: %d %s", last.status, last.raw)
	}
	if last.str("revision") != fmt.Sprint(mustAtoi(t, before)+1) {
		t.Fatalf("the failed write left a trace: revision %s after %s", last.str("revision"), before)
	}
}

func mustAtoi(t *testing.T, s string) int {
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

// A server pointed at an unreachable database starts, reports NOT_SERVING,
// and serves once the database appears.
func TestStartsBeforeTheDatabase(t *testing.T) {
	cluster := pgtest.StartCluster(t)
	db := cluster.NewDatabase(t)
	if err := cluster.Stop(); err != nil {
		t.Fatal(err)
	}
	s := start(t, server.Config{Datastore: "postgres", DatabaseURL: db, Migrate: true})
	if r := s.rest(t, "GET", "/healthz", nil); r.status != 503 {
		t.Fatalf("health without a database: %d %s", r.status, r.raw)
	}
	if r := s.rest(t, "GET", "/v1/frameworks", nil); r.status != 503 {
		t.Fatalf("read before the catalog is loaded: %d %s", r.status, r.raw)
	}
	if err := cluster.Start(); err != nil {
		t.Fatal(err)
	}
	waitServing(t, s.base+"/healthz")
	if r := s.rest(t, "GET", "/v1/frameworks", nil); r.status != 200 || len(r.body["frameworks"].([]any)) != 3 {
		t.Fatalf("after the database came up: %d %s", r.status, r.raw)
	}
}

// A watch on one replica follows writes made through another, keeps going
// while the database restarts, and resumes on a new replica exactly where
// it stopped, missing nothing written while no one watched.
func TestWatchAcrossReplicasAndRestarts(t *testing.T) {
	cluster := pgtest.StartCluster(t)
	db := cluster.NewDatabase(t)
	writer := startReplica(t, db)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := server.New(ctx, server.Config{Datastore: "postgres", DatabaseURL: db, AdminToken: adminToken, GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	watcher := &stack{conn: dial(t, srv.GRPCAddr()), base: "http://" + srv.HTTPAddr()}
	waitServing(t, watcher.base+"/healthz")

	create := func(control string) string {
		t.Helper()
		m := newMapping()
		m["source"] = "frameworks/iso-27001-2022/controls/" + control
		var r restResponse
		if !eventually(15*time.Second, func() bool {
			r = writer.rest(t, "POST", "/v1/mappings", m, "Authorization", bearer)
			return r.status == 200
		}) {
			t.Fatalf("create: %d %s", r.status, r.raw)
		}
		return r.str("mapping", "name")
	}
	changes := restWatch(t, ctx, watcher, adminToken, "")
	first := create("A.5.1")
	got := collect(t, changes, first)

	if err := cluster.Stop(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the watch reads from a database that is away
	if err := cluster.Start(); err != nil {
		t.Fatal(err)
	}
	second := create("A.5.2")
	got = append(got, collect(t, changes, second)...)

	// The watching replica goes away; a write lands meanwhile; a new
	// replica resumes after the last change seen.
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("replica shutdown: %v", err)
	}
	third := create("A.5.3")
	last := got[len(got)-1]
	next := startReplica(t, db)
	resumed := collect(t, restWatch(t, context.Background(), next, adminToken, fmt.Sprintf("?start_revision=%d&start_index=%d", last.Revision, last.Index+1)), third)
	if len(resumed) != 1 || resumed[0].Name != third {
		t.Fatalf("resumed on a new replica: %v, want only %s", names(resumed), third)
	}
	if got[0].Name != first || got[len(got)-1].Name != second {
		t.Fatalf("watched %v", names(got))
	}
}

// A database that can never serve (no such database, no schema) stops the
// server with a clear error after a short grace, instead of retrying for
// ever; one that is merely down is waited for (TestStartsBeforeTheDatabase).
func TestStartStopsOnDatabaseMisconfiguration(t *testing.T) {
	fresh := pgtest.DatabaseURL(t)
	u, err := url.Parse(fresh)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/no_such_database"
	for _, tc := range []struct{ url, want string }{
		{u.String(), "does not exist"},
		{fresh, "run `controlmap migrate`"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		srv, err := server.New(ctx, server.Config{Datastore: "postgres", DatabaseURL: tc.url, StartupGrace: 300 * time.Millisecond,
			GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		begin := time.Now()
		err = srv.Run(ctx)
		cancel()
		if err == nil || !strings.Contains(err.Error(), tc.want) || time.Since(begin) > 10*time.Second {
			t.Fatalf("%s: Run ended after %v with %v, want an error saying %q", tc.url, time.Since(begin), err, tc.want)
		}
	}
}
