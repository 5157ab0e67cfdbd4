package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/server"
)

// seen is a change as a watcher records it.
type seen struct {
	Revision int64
	Index    int32
	Kind     string
	Name     string
	Deleted  bool
	End      bool
}

func (c seen) String() string {
	d := ""
	if c.Deleted {
		d = " deleted"
	}
	return fmt.Sprintf("%d.%d %s %s%s", c.Revision, c.Index, c.Kind, c.Name, d)
}

// grpcWatch streams changes over gRPC into a channel until ctx ends.
func grpcWatch(t *testing.T, ctx context.Context, s *stack, secret string, req *cmv1.WatchChangesRequest) <-chan seen {
	t.Helper()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+secret)
	stream, err := cmv1.NewChangeServiceClient(s.conn).WatchChanges(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Header(); err != nil { // the watch is open
		t.Fatal(err)
	}
	out := make(chan seen, 100)
	go func() {
		defer close(out)
		for {
			c, err := stream.Recv()
			if err != nil {
				return
			}
			if c.Progress {
				continue
			}
			out <- seen{c.Revision, c.Index, c.Kind.String(), c.Name, c.Deleted, c.RevisionEnd}
		}
	}()
	return out
}

// restWatch streams changes over REST (newline-delimited JSON) into a
// channel until ctx ends.
func restWatch(t *testing.T, ctx context.Context, s *stack, secret, query string) <-chan seen {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", s.base+"/v1/changes:watch"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		raw, _ := io.ReadAll(resp.Body)
		t.Fatalf("watch over REST: %d %s", resp.StatusCode, raw)
	}
	out := make(chan seen, 100)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			var line struct {
				Result struct {
					Revision    string `json:"revision"`
					Index       int32  `json:"index"`
					Kind        string `json:"kind"`
					Name        string `json:"name"`
					Deleted     bool   `json:"deleted"`
					RevisionEnd bool   `json:"revisionEnd"`
					Progress    bool   `json:"progress"`
				} `json:"result"`
			}
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				t.Errorf("line %q: %v", sc.Text(), err)
				return
			}
			r := line.Result
			if r.Progress {
				continue
			}
			var rev int64
			fmt.Sscan(r.Revision, &rev)
			out <- seen{rev, r.Index, r.Kind, r.Name, r.Deleted, r.RevisionEnd}
		}
	}()
	return out
}

// collect takes changes from ch until one names last (or the wait ends).
func collect(t *testing.T, ch <-chan seen, last string) []seen {
	t.Helper()
	var got []seen
	timeout := time.After(10 * time.Second)
	for {
		select {
		case c, ok := <-ch:
			if !ok {
				t.Fatalf("the watch ended after %v", got)
			}
			got = append(got, c)
			if plain(c) == last && c.End {
				return got
			}
		case <-timeout:
			t.Fatalf("no change naming %s; got %v", last, got)
		}
	}
}

func names(cs []seen) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.String()
	}
	return out
}

// Each watcher sees public changes and its own tenant's, in commit order,
// with positions that resume exactly, over gRPC and REST alike.
func TestWatchChanges(t *testing.T) {
	s := startDefault(t)
	_, acme := newTenantWithKey(t, s, "acme", "SCOPE_READ", "SCOPE_WRITE")
	_, globex := newTenantWithKey(t, s, "globex", "SCOPE_READ", "SCOPE_WRITE")
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	acmeGRPC := grpcWatch(t, ctx, s, acme, &cmv1.WatchChangesRequest{})
	globexREST := restWatch(t, ctx, s, globex, "")
	operator := grpcWatch(t, ctx, s, adminToken, &cmv1.WatchChangesRequest{Kinds: []cmv1.ChangeKind{cmv1.ChangeKind_CHANGE_KIND_MAPPING}})

	write := func(secret, method, path string, body any) restResponse {
		t.Helper()
		r := s.rest(t, method, path, body, key(secret)...)
		if r.status != 200 {
			t.Fatalf("%s %s: %d %s", method, path, r.status, r.raw)
		}
		return r
	}
	write(acme, "POST", "/v1/frameworks?framework_id=acme-isms", map[string]any{"displayName": "Acme ISMS"})
	write(acme, "POST", "/v1/frameworks/acme-isms/controls?control_id=AI-1", map[string]any{"title": "AI policy"})
	write(globex, "POST", "/v1/frameworks?framework_id=globex-ai", map[string]any{"displayName": "Globex AI"})
	m := newMapping()
	m["source"] = "frameworks/acme-isms/controls/AI-1"
	acmeMapping := write(acme, "POST", "/v1/mappings", m).str("mapping", "name")
	pub := write(bearer[len("Bearer "):], "POST", "/v1/mappings", newMapping()).str("mapping", "name")
	write(bearer[len("Bearer "):], "DELETE", "/v1/"+pub, nil)
	write(acme, "DELETE", "/v1/frameworks/acme-isms", nil)
	write(globex, "DELETE", "/v1/frameworks/globex-ai", nil)

	got := collect(t, acmeGRPC, "frameworks/acme-isms deleted")
	want := []string{"frameworks/acme-isms", "frameworks/acme-isms/controls/AI-1", acmeMapping, pub, pub + " deleted",
		acmeMapping + " deleted", "frameworks/acme-isms/controls/AI-1 deleted", "frameworks/acme-isms deleted"}
	checkNames(t, "acme over gRPC", got, want)
	for i := 1; i < len(got); i++ {
		if !got[i-1].before(got[i]) {
			t.Fatalf("positions out of order: %v", names(got))
		}
	}
	// The delete of the framework is one revision of three changes: only
	// its last says the revision is complete.
	cascade := got[len(got)-3:]
	if cascade[0].Revision != cascade[2].Revision || cascade[0].End || cascade[1].End || !cascade[2].End || !got[0].End {
		t.Fatalf("revision ends: %v", got)
	}

	rest := collect(t, globexREST, "frameworks/globex-ai deleted")
	checkNames(t, "globex over REST", rest, []string{"frameworks/globex-ai", pub, pub + " deleted", "frameworks/globex-ai deleted"})
	ops := collect(t, operator, acmeMapping+" deleted")
	checkNames(t, "the operator's mapping changes", ops, []string{acmeMapping, pub, pub + " deleted", acmeMapping + " deleted"})

	// Resuming after the third change gives exactly the rest.
	third := got[2]
	again := collect(t, grpcWatch(t, ctx, s, acme, &cmv1.WatchChangesRequest{StartRevision: third.Revision, StartIndex: third.Index + 1}), "frameworks/acme-isms deleted")
	if !slices.Equal(names(again), names(got[3:])) {
		t.Fatalf("resumed after %v:\n%v\nwant\n%v", third, names(again), names(got[3:]))
	}
	// Over REST too, from the start of the cascade.
	restAgain := collect(t, restWatch(t, ctx, s, acme, fmt.Sprintf("?start_revision=%d", cascade[0].Revision)), "frameworks/acme-isms deleted")
	if !slices.Equal(names(restAgain), names(cascade)) {
		t.Fatalf("REST from revision %d: %v, want %v", cascade[0].Revision, names(restAgain), names(cascade))
	}
}

// plain is a change's name, marked when deleted.
func plain(c seen) string {
	if c.Deleted {
		return c.Name + " deleted"
	}
	return c.Name
}

func checkNames(t *testing.T, who string, got []seen, want []string) {
	t.Helper()
	var names []string
	for _, c := range got {
		names = append(names, plain(c))
	}
	if !slices.Equal(names, want) {
		t.Fatalf("%s saw\n%v\nwant\n%v", who, strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
}

func (c seen) before(d seen) bool {
	return c.Revision < d.Revision || (c.Revision == d.Revision && c.Index < d.Index)
}

// A start the log no longer keeps is OUT_OF_RANGE naming the oldest
// revision kept; bad starts name their field.
func TestWatchChangesErrors(t *testing.T) {
	s := start(t, server.Config{AdminToken: adminToken, ChangeRetention: 50 * time.Millisecond})
	ctx := admin(ctxT(t))
	first := s.rest(t, "POST", "/v1/mappings", newMapping(), "Authorization", bearer)
	if first.status != 200 {
		t.Fatalf("write: %d %s", first.status, first.raw)
	}
	time.Sleep(100 * time.Millisecond)
	m := newMapping()
	m["source"] = "frameworks/iso-27001-2022/controls/A.8.1"
	if r := s.rest(t, "POST", "/v1/mappings", m, "Authorization", bearer); r.status != 200 {
		t.Fatalf("write: %d %s", r.status, r.raw)
	}
	var err error
	if !eventually(5*time.Second, func() bool {
		var stream cmv1.ChangeService_WatchChangesClient
		stream, err = cmv1.NewChangeServiceClient(s.conn).WatchChanges(ctx, &cmv1.WatchChangesRequest{StartRevision: 1})
		if err == nil {
			_, err = stream.Recv()
		}
		return status.Code(err) == codes.OutOfRange
	}) {
		t.Fatalf("a start older than the retention: %v", err)
	}
	st := status.Convert(err)
	var oldest string
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.Reason == "CHANGES_COMPACTED" {
			oldest = info.Metadata["oldest_revision"]
		}
	}
	if oldest == "" || !strings.Contains(st.Message(), "revisions from "+oldest) {
		t.Fatalf("the error does not name the oldest revision kept: %v", st)
	}
	if r := s.rest(t, "GET", "/v1/changes:watch?start_revision=1", nil, "Authorization", bearer); r.status != 400 || !strings.Contains(string(r.raw), "CHANGES_COMPACTED") {
		t.Fatalf("over REST: %d %s", r.status, r.raw)
	}
	// Over REST, a stream's error is a line {"error": status}.
	for q, field := range map[string]string{"?start_revision=-1": "start_revision", "?start_index=3": "start_index", "?kinds=CHANGE_KIND_UNSPECIFIED": "kinds[0]"} {
		r := s.rest(t, "GET", "/v1/changes:watch"+q, nil, "Authorization", bearer)
		r.body, _ = r.body["error"].(map[string]any)
		if r.status != 400 || !slices.Contains(r.fieldViolations(), field) {
			t.Fatalf("%s: %d %s", q, r.status, r.raw)
		}
	}
	if r := s.rest(t, "GET", "/v1/changes:watch", nil, "Authorization", "Bearer cmk_wrong"); r.status != 401 {
		t.Fatalf("a wrong key: %d %s", r.status, r.raw)
	}
}

// A server shutting down ends its watches at once, and the client resumes
// on another replica of the same data where it stopped.
func TestWatchEndsOnShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, server.Config{AdminToken: adminToken, GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	conn := dial(t, srv.GRPCAddr())
	stream, err := cmv1.NewChangeServiceClient(conn).WatchChanges(admin(ctxT(t)), &cmv1.WatchChangesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Header(); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	cancel()
	for err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.Unavailable || errors.Is(err, io.EOF) {
		t.Fatalf("an open watch at shutdown: %v", err)
	}
	if err := <-done; err != nil || time.Since(begin) > 5*time.Second {
		t.Fatalf("shutdown took %v: %v", time.Since(begin), err)
	}
}

// A connection that reaches its maximum age ends the watches on it once
// the grace is over; the client watches again from its last position and
// misses nothing, and sees nothing twice. The watch keeps its position
// from every message, so it does not matter when the connection ages: before
// the first change arrives, or after.
func TestWatchResumesAfterConnectionAge(t *testing.T) {
	s := start(t, server.Config{AdminToken: adminToken, Limits: server.Limits{MaxConnectionAge: 3 * time.Second, MaxConnectionAgeGrace: 300 * time.Millisecond}})
	ctx := admin(ctxT(t))
	// A connection of its own, so its age starts with this test's watch.
	client := cmv1.NewChangeServiceClient(dial(t, s.srv.GRPCAddr()))
	var (
		rev    int64 // where the watch goes on from
		idx    int32
		ends   int
		seen   = map[string]int{}
		stream cmv1.ChangeService_WatchChangesClient
	)
	open := func() {
		var err error
		if stream, err = client.WatchChanges(ctx, &cmv1.WatchChangesRequest{StartRevision: rev, StartIndex: idx}); err != nil {
			t.Fatal(err)
		}
	}
	// ended checks that the stream ended cleanly, with a status to retry on.
	ended := func(err error) {
		if code := status.Code(err); code != codes.Unavailable && code != codes.Canceled && !errors.Is(err, io.EOF) {
			t.Fatalf("the aged connection ended the watch with %v", err)
		}
		ends++
	}
	// next returns the next change, resuming after each end of the stream.
	next := func() *cmv1.WatchChangesResponse {
		for {
			c, err := stream.Recv()
			if err != nil {
				ended(err)
				open()
				continue
			}
			rev, idx = c.GetRevision(), c.GetIndex()
			if c.GetProgress() {
				continue
			}
			idx++
			seen[c.GetName()]++
			return c
		}
	}
	create := func(control string) string {
		m := newMapping()
		m["source"] = "frameworks/iso-27001-2022/controls/" + control
		r := s.rest(t, "POST", "/v1/mappings", m, "Authorization", bearer)
		if r.status != 200 {
			t.Fatalf("create: %d %s", r.status, r.raw)
		}
		return r.str("mapping", "name")
	}
	open()
	// The first message is the progress that gives the watch's position.
	for rev == 0 {
		c, err := stream.Recv()
		if err != nil {
			ended(err) // aged before it said anything: nothing was written yet
			open()
			continue
		}
		rev, idx = c.GetRevision(), c.GetIndex()
	}
	first := create("A.5.1")
	for next().GetName() != first {
	}
	// Wait for the aged connection to end the watch, then write while
	// nobody watches.
	for {
		c, err := stream.Recv()
		if err != nil {
			ended(err)
			break
		}
		if !c.GetProgress() {
			t.Fatalf("unexpected change %s", c.GetName())
		}
		rev, idx = c.GetRevision(), c.GetIndex()
	}
	second := create("A.5.2")
	open()
	if c := next(); c.GetName() != second {
		t.Fatalf("resumed with %s, want %s", c.GetName(), second)
	}
	if seen[first] != 1 || seen[second] != 1 {
		t.Fatalf("changes seen %v over %d ends of the stream", seen, ends)
	}
}
