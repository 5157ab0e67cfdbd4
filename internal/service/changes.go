package service

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/auth"
	"github.com/controlmap/controlmap/internal/resource"
	"github.com/controlmap/controlmap/internal/store"
)

// ChangeServer implements cmv1.ChangeServiceServer over a store's change
// log.
type ChangeServer struct {
	cmv1.UnimplementedChangeServiceServer
	store    store.Store
	stopOnce sync.Once
	stopping chan struct{}
}

// NewChangeServer returns the change feed over s.
func NewChangeServer(s store.Store) *ChangeServer {
	return &ChangeServer{store: s, stopping: make(chan struct{})}
}

// Stop ends every open watch with UNAVAILABLE, so a server shutting down
// does not wait for them; clients resume where they were.
func (s *ChangeServer) Stop() { s.stopOnce.Do(func() { close(s.stopping) }) }

// watchBatch is how many changes a watch reads from the log at a time.
const watchBatch = 500

var changeKinds = map[store.Kind]cmv1.ChangeKind{
	store.KindFramework: cmv1.ChangeKind_CHANGE_KIND_FRAMEWORK,
	store.KindControl:   cmv1.ChangeKind_CHANGE_KIND_CONTROL,
	store.KindMapping:   cmv1.ChangeKind_CHANGE_KIND_MAPPING,
	store.KindTenant:    cmv1.ChangeKind_CHANGE_KIND_TENANT,
	store.KindAPIKey:    cmv1.ChangeKind_CHANGE_KIND_API_KEY,
	store.KindContent:   cmv1.ChangeKind_CHANGE_KIND_CONTENT,
}

// WatchChanges implements cmv1.ChangeServiceServer.
func (s *ChangeServer) WatchChanges(req *cmv1.WatchChangesRequest, stream cmv1.ChangeService_WatchChangesServer) error {
	ctx := stream.Context()
	switch {
	case req.GetStartRevision() < 0:
		return invalid("start_revision", "must not be negative, got %d", req.GetStartRevision())
	case req.GetStartIndex() < 0:
		return invalid("start_index", "must not be negative, got %d", req.GetStartIndex())
	case req.GetStartRevision() == 0 && req.GetStartIndex() != 0:
		return invalid("start_index", "needs a start_revision")
	}
	kinds := map[cmv1.ChangeKind]bool{}
	for i, k := range req.GetKinds() {
		if err := checkEnum(fmt.Sprintf("kinds[%d]", i), k, cmv1.ChangeKind_name, false); err != nil {
			return err
		}
		kinds[k] = true
	}
	p := auth.PrincipalFrom(ctx)
	pos := store.Position{Revision: req.GetStartRevision(), Index: req.GetStartIndex()}
	if pos.Revision == 0 {
		pos.Revision = s.store.Snapshot().Revision() + 1
	}
	w := watch{stream: stream, wants: func(c *store.Change) bool {
		return (c.Owner == "" || p.Operator || c.Owner == p.Tenant) && (len(kinds) == 0 || kinds[changeKinds[c.Kind]])
	}}
	open, retry := false, time.Duration(0)
	for {
		// Every change up to the revision this replica has reached is in
		// the log now; a read that comes back short has seen them all.
		reached := s.store.Snapshot().Revision()
		recs, err := s.store.Changes(ctx, pos, watchBatch)
		switch {
		case errors.Is(err, store.ErrUnavailable):
			// The database is away: keep the stream and try again.
			retry = min(max(2*retry, 100*time.Millisecond), 5*time.Second)
			if err := s.sleep(ctx, retry); err != nil {
				return err
			}
			continue
		case err != nil:
			return err
		}
		retry = 0
		if !open {
			// The start is valid and the watch open: say so now rather
			// than with the first change, which may be a long time coming.
			if err := w.progress(pos); err != nil {
				return err
			}
			open = true
		}
		last := reached
		for i := range recs {
			r := &recs[i]
			if err := w.add(r); err != nil {
				return err
			}
			pos = store.Position{Revision: r.Revision, Index: r.Index + 1}
			last = max(last, r.Revision)
		}
		if len(recs) == watchBatch {
			continue
		}
		if err := w.flush(); err != nil {
			return err
		}
		waitCtx, cancel := context.WithTimeout(ctx, time.Until(w.sent.Add(progressEvery)))
		go func() {
			select {
			case <-s.stopping:
				cancel()
			case <-waitCtx.Done():
			}
		}()
		err = s.store.WaitForRevision(waitCtx, last+1)
		cancel()
		if err := s.stopped(ctx); err != nil {
			return err
		}
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			if err := w.progress(pos); err != nil {
				return err
			}
		case err != nil:
			return err
		}
	}
}

// progressEvery is how long a watch stays quiet before it reports progress.
const progressEvery = 30 * time.Second

// sleep waits d, or until the call or the server ends.
func (s *ChangeServer) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stopping:
		return s.stopped(ctx)
	}
}

// stopped is the error that ends a watch when the server stops.
func (s *ChangeServer) stopped(context.Context) error {
	select {
	case <-s.stopping:
		return withDetails(codes.Unavailable, cmv1.ErrorReason_ERROR_REASON_SHUTTING_DOWN,
			"the server is shutting down; watch again from the position after the last change received")
	default:
		return nil
	}
}

// watch sends the changes a caller wants, holding back the last one until
// it is known whether its revision continues.
type watch struct {
	stream  cmv1.ChangeService_WatchChangesServer
	wants   func(*store.Change) bool
	pending *cmv1.WatchChangesResponse
	sent    time.Time // when the last message went
}

func (w *watch) send(m *cmv1.WatchChangesResponse) error {
	w.sent = time.Now()
	return w.stream.Send(m)
}

// progress reports that every change before pos was sent.
func (w *watch) progress(pos store.Position) error {
	return w.send(&cmv1.WatchChangesResponse{Progress: true, Revision: pos.Revision, Index: pos.Index})
}

func (w *watch) add(r *store.Record) error {
	if w.pending != nil && w.pending.Revision != r.Revision {
		if err := w.flush(); err != nil {
			return err
		}
	}
	if !w.wants(&r.Change) {
		return nil
	}
	if w.pending != nil {
		if err := w.send(w.pending); err != nil {
			return err
		}
	}
	w.pending = changeProto(r)
	return nil
}

// flush sends the held change as the last of its revision.
func (w *watch) flush() error {
	if w.pending == nil {
		return nil
	}
	w.pending.RevisionEnd = true
	err := w.send(w.pending)
	w.pending = nil
	return err
}

func changeProto(r *store.Record) *cmv1.WatchChangesResponse {
	c := &r.Change
	out := &cmv1.WatchChangesResponse{
		Revision: r.Revision, Index: r.Index, CommitTime: timestamppb.New(r.Time),
		Kind: changeKinds[c.Kind], Name: c.Name(), Deleted: c.Delete,
	}
	if c.Delete {
		return out
	}
	switch c.Kind {
	case store.KindFramework:
		out.Resource = &cmv1.WatchChangesResponse_Framework{Framework: resource.Framework(&c.Framework)}
	case store.KindControl:
		out.Resource = &cmv1.WatchChangesResponse_Control{Control: resource.Control(c.Framework.ID, &c.Control)}
	case store.KindMapping:
		out.Resource = &cmv1.WatchChangesResponse_Mapping{Mapping: resource.Mapping(&c.Mapping, false)}
	case store.KindTenant:
		out.Resource = &cmv1.WatchChangesResponse_Tenant{Tenant: resource.Tenant(&c.Tenant)}
	case store.KindAPIKey:
		out.Resource = &cmv1.WatchChangesResponse_ApiKey{ApiKey: resource.APIKey(&c.APIKey)}
	case store.KindContent:
		out.ContentVersion = c.Content
	}
	return out
}
