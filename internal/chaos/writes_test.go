package chaos_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/apierror"
)

// outcome is what a writer learnt of its write.
type outcome int

const (
	acknowledged outcome = iota
	// refused: the service answered that it did not write (a rule, a
	// stale etag, the database unreachable before commit).
	refused
	// unknown: no answer of the service (the connection failed, the
	// replica went away), or WRITE_OUTCOME_UNKNOWN.
	unknown
)

// write is one write a writer sent, and what became of it.
type write struct {
	requestID string
	op        string // create, update or delete
	mapping   string // name; for a create, known once acknowledged or settled
	// The state the write asks for (create and update).
	strength      int32
	justification string
	staleEtag     bool
	outcome       outcome
	code          codes.Code
	reason        string    // of a refusal or an unknown outcome
	revision      int64     // of an acknowledged or settled write
	sent          time.Time // when the request left
	took          time.Duration
}

// ack is an acknowledged write readers ask about.
type ack struct {
	mapping  string
	revision int64
}

// recent holds the latest acknowledged writes, for readers.
type recent struct {
	mu   sync.Mutex
	acks []ack
}

func (r *recent) add(a ack) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.acks = append(r.acks, a)
	if len(r.acks) > 256 {
		r.acks = slices.Delete(r.acks, 0, 128)
	}
}

func (r *recent) pick(rng *rand.Rand) (ack, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.acks) == 0 {
		return ack{}, false
	}
	return r.acks[rng.IntN(len(r.acks))], true
}

// live is a mapping as its writer believes it is.
type live struct {
	name, etag, prevEtag string
	pair                 [2]string
}

// writer creates, updates and deletes mappings from its own controls of
// the tenant's framework, each call to a random replica.
type writer struct {
	id       int
	rng      *rand.Rand
	replicas []*replica
	key      string
	sources  []string
	targets  []string
	recent   *recent
	seq      int
	live     []*live
	taken    map[[2]string]bool // pairs mapped, or refused as mapped
	writes   []*write
}

func (w *writer) run(ctx context.Context) {
	for ctx.Err() == nil {
		switch {
		case len(w.live) == 0 || w.rng.IntN(10) < 4:
			w.create(ctx)
		case w.rng.IntN(10) < 7:
			w.update(ctx, w.rng.IntN(len(w.live)))
		default:
			w.delete(ctx, w.rng.IntN(len(w.live)))
		}
		// Back off a little while the database or a replica is away.
		if n := len(w.writes); n > 0 && w.writes[n-1].outcome != acknowledged && w.writes[n-1].reason != "ETAG_MISMATCH" {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(time.Duration(w.rng.IntN(3)) * time.Millisecond)
	}
}

// call prepares a write: its request id, the context to send it with and
// a random replica's connection.
func (w *writer) call(ctx context.Context, op string) (*write, context.Context, context.CancelFunc, *replica) {
	w.seq++
	wr := &write{requestID: fmt.Sprintf("chaos-w%d-%d", w.id, w.seq), op: op, sent: time.Now()}
	w.writes = append(w.writes, wr)
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	cctx = metadata.AppendToOutgoingContext(cctx, "authorization", "Bearer "+w.key, "x-request-id", wr.requestID)
	return wr, cctx, cancel, w.replicas[w.rng.IntN(len(w.replicas))]
}

func (w *writer) create(ctx context.Context) {
	pair := [2]string{w.sources[w.rng.IntN(len(w.sources))], w.targets[w.rng.IntN(len(w.targets))]}
	if w.taken[pair] {
		return
	}
	wr, cctx, cancel, r := w.call(ctx, "create")
	defer cancel()
	wr.strength, wr.justification = int32(1+w.rng.IntN(9)), fmt.Sprintf("Written by %s.", wr.requestID)
	resp, err := cmv1.NewCrosswalkServiceClient(r.conn).CreateMapping(cctx, &cmv1.CreateMappingRequest{Mapping: &cmv1.Mapping{
		Source: pair[0], Target: pair[1], Relationship: cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH,
		Strength: wr.strength, ReverseStrength: 5, Rationale: cmv1.Rationale_RATIONALE_FUNCTIONAL, Justification: wr.justification,
	}})
	wr.outcome, wr.reason = classify(err)
	wr.code, wr.took = status.Code(err), time.Since(wr.sent)
	w.taken[pair] = true
	switch wr.outcome {
	case acknowledged:
		wr.mapping, wr.revision = resp.GetMapping().GetName(), resp.GetRevision()
		w.live = append(w.live, &live{name: wr.mapping, etag: resp.GetMapping().GetEtag(), pair: pair})
		w.recent.add(ack{wr.mapping, wr.revision})
	case unknown:
		// Whether it was created is settled at the end; the pair is not
		// used again.
	}
}

func (w *writer) update(ctx context.Context, i int) {
	m := w.live[i]
	wr, cctx, cancel, r := w.call(ctx, "update")
	defer cancel()
	wr.mapping, wr.strength, wr.justification = m.name, int32(1+w.rng.IntN(9)), fmt.Sprintf("Written by %s.", wr.requestID)
	etag := m.etag
	if m.prevEtag != "" && w.rng.IntN(10) == 0 {
		etag, wr.staleEtag = m.prevEtag, true
	}
	resp, err := cmv1.NewCrosswalkServiceClient(r.conn).UpdateMapping(cctx, &cmv1.UpdateMappingRequest{
		Mapping:    &cmv1.Mapping{Name: m.name, Etag: etag, Strength: wr.strength, Justification: wr.justification},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"strength", "justification"}},
	})
	w.settle(ctx, wr, err, i, func() {
		wr.revision = resp.GetRevision()
		m.prevEtag, m.etag = m.etag, resp.GetMapping().GetEtag()
	})
}

func (w *writer) delete(ctx context.Context, i int) {
	m := w.live[i]
	wr, cctx, cancel, r := w.call(ctx, "delete")
	defer cancel()
	wr.mapping = m.name
	etag := m.etag
	if m.prevEtag != "" && w.rng.IntN(10) == 0 {
		etag, wr.staleEtag = m.prevEtag, true
	}
	resp, err := cmv1.NewCrosswalkServiceClient(r.conn).DeleteMapping(cctx, &cmv1.DeleteMappingRequest{Name: m.name, Etag: etag})
	w.settle(ctx, wr, err, i, func() {
		wr.revision = resp.GetRevision()
		w.live = slices.Delete(w.live, i, i+1)
	})
}

// settle records the outcome of an update or delete of live mapping i
// and keeps the writer's view of it: acked runs when it was acknowledged,
// before readers hear of it.
func (w *writer) settle(ctx context.Context, wr *write, err error, i int, acked func()) {
	wr.outcome, wr.reason = classify(err)
	wr.code, wr.took = status.Code(err), time.Since(wr.sent)
	switch wr.outcome {
	case acknowledged:
		acked()
		w.recent.add(ack{wr.mapping, wr.revision})
	case refused:
		if wr.reason == "NOT_FOUND" {
			w.live = slices.Delete(w.live, i, i+1)
		} else if wr.reason == "ETAG_MISMATCH" && !wr.staleEtag {
			w.refresh(ctx, i)
		}
	case unknown:
		w.refresh(ctx, i)
	}
}

// refresh reads a mapping again after a write whose outcome the writer did
// not learn, so it goes on with the right etag.
func (w *writer) refresh(ctx context.Context, i int) {
	m := w.live[i]
	for ctx.Err() == nil {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		cctx = metadata.AppendToOutgoingContext(cctx, "authorization", "Bearer "+w.key)
		// At least as new as what the writer knows: a replica behind would
		// hand back an older etag, and the writer would then take the
		// current one for a stale one.
		known, _ := strconv.ParseInt(m.etag, 10, 64)
		resp, err := cmv1.NewCrosswalkServiceClient(w.replicas[w.rng.IntN(len(w.replicas))].conn).GetMapping(cctx, &cmv1.GetMappingRequest{Name: m.name, MinRevision: known})
		cancel()
		switch status.Code(err) {
		case codes.OK:
			if e := resp.GetMapping().GetEtag(); e != m.etag {
				m.prevEtag, m.etag = m.etag, e
			}
			return
		case codes.NotFound:
			w.live = slices.Delete(w.live, i, i+1)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// classify tells an answer of the service that nothing was written (it
// carries an ErrorInfo of controlmap's) from a failure that leaves the
// outcome open: a transport error, a deadline, or WRITE_OUTCOME_UNKNOWN.
func classify(err error) (outcome, string) {
	if err == nil {
		return acknowledged, ""
	}
	st := status.Convert(err)
	reason := ""
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == apierror.Domain {
			reason = info.GetReason()
		}
	}
	switch {
	case reason == "", reason == apierror.Reason(cmv1.ErrorReason_ERROR_REASON_WRITE_OUTCOME_UNKNOWN),
		st.Code() == codes.Internal, st.Code() == codes.Unknown, st.Code() == codes.DeadlineExceeded, st.Code() == codes.Canceled:
		if reason == "" {
			reason = "no answer (" + st.Code().String() + ")"
		}
		return unknown, reason
	}
	return refused, reason
}

// observation is what a reader saw of a mapping asked at min_revision.
type observation struct {
	mapping     string
	minRevision int64
	served      int64 // revision of the answer; 0 for NOT_FOUND
	found       bool
	returned    time.Time
	// The mapping as answered.
	revision      int64
	strength      int32
	justification string
}

// reader reads mappings just written, asking for the revision of their
// write, from a random replica.
type reader struct {
	rng      *rand.Rand
	replicas []*replica
	key      string
	recent   *recent
	seen     []observation
	failed   int
}

func (r *reader) run(ctx context.Context) {
	for ctx.Err() == nil {
		a, ok := r.recent.pick(r.rng)
		if !ok {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		cctx = metadata.AppendToOutgoingContext(cctx, "authorization", "Bearer "+r.key)
		resp, err := cmv1.NewCrosswalkServiceClient(r.replicas[r.rng.IntN(len(r.replicas))].conn).GetMapping(cctx, &cmv1.GetMappingRequest{Name: a.mapping, MinRevision: a.revision})
		cancel()
		switch status.Code(err) {
		case codes.OK:
			m := resp.GetMapping()
			r.seen = append(r.seen, observation{mapping: a.mapping, minRevision: a.revision, served: resp.GetRevision(), found: true, returned: time.Now(),
				revision: m.GetRevision(), strength: m.GetStrength(), justification: m.GetJustification()})
		case codes.NotFound:
			r.seen = append(r.seen, observation{mapping: a.mapping, minRevision: a.revision, returned: time.Now()})
		default:
			r.failed++ // unavailable, not reached yet: no answer, nothing to check
		}
		time.Sleep(time.Duration(r.rng.IntN(3)) * time.Millisecond)
	}
}
