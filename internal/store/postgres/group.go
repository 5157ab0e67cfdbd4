package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/store"
)

// maxGroup bounds the writes one transaction commits together. Each holds
// a subtransaction until COMMIT; PostgreSQL keeps up to 64 of them per
// backend in shared memory before every snapshot has to look further.
const maxGroup = 48

// group commits concurrent writes together: the writes that arrive while
// a transaction is open wait for the next one, which runs each in turn
// under a savepoint of its own and commits them all at once. Each write
// still gets a revision of its own, in the order they ran; a write that
// fails is rolled back to its savepoint alone. What a transaction costs
// apart from its writes (BEGIN, taking the revision, the notification,
// COMMIT, each replica's catching up) is paid once for the group.
type group struct {
	mu      sync.Mutex
	pending []*job
	running bool
}

// job is one write waiting for its group.
type job struct {
	ctx  context.Context
	fn   func(store.Tx) (store.Audit, error)
	done chan struct{}
	rev  int64
	err  error
	// state: queued, then started by the leader or abandoned by its
	// caller, whichever comes first.
	state atomic.Int32
	// opened: it sent a statement, so what it answers may rest on writes
	// of its group that precede it.
	opened bool
}

const (
	queued int32 = iota
	started
	abandoned
)

// Update implements store.Writer. fn reads the rows as stored, locking
// what it changes, and sees the writes committed before it and those of
// its group that ran before it; its writes go with its changes and audit
// event in one round trip. A failure of the connection before COMMIT was
// sent wrote nothing and is retried.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) (store.Audit, error)) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, store.WriteTimeout(ctx, writeTimeout))
	defer cancel()
	var j *job
	for attempt := 0; attempt < 5; attempt++ {
		j = &job{ctx: ctx, fn: fn, done: make(chan struct{})}
		s.enqueue(j)
		select {
		case <-j.done:
		case <-ctx.Done():
			if j.state.CompareAndSwap(queued, abandoned) {
				return 0, ctx.Err() // never ran: nothing written
			}
			<-j.done // it runs: its outcome comes within the group's deadline
		}
		if j.err == nil || !retryable(j.err) || ctx.Err() != nil {
			break
		}
	}
	if j.err != nil {
		return 0, classify(j.err)
	}
	if j.rev > 0 {
		// Read your writes: answer once this replica serves the write. The
		// follower catches up on many writes in one read of the log, so
		// concurrent writers share that cost.
		if err := s.WaitForRevision(ctx, j.rev); err != nil {
			s.log.WarnContext(ctx, "write committed, this replica has not caught up yet", "revision", j.rev, "err", err)
		}
	}
	return j.rev, nil
}

// enqueue adds j to the next group, starting a leader when none runs.
func (s *Store) enqueue(j *job) {
	s.group.mu.Lock()
	s.group.pending = append(s.group.pending, j)
	lead := !s.group.running
	s.group.running = true
	s.group.mu.Unlock()
	if lead {
		go s.lead()
	}
}

// lead commits groups until no write is waiting.
func (s *Store) lead() {
	for {
		s.group.mu.Lock()
		n := min(len(s.group.pending), maxGroup)
		if n == 0 {
			s.group.running = false
			s.group.mu.Unlock()
			return
		}
		jobs := make([]*job, n)
		copy(jobs, s.group.pending)
		s.group.pending = append(s.group.pending[:0], s.group.pending[n:]...)
		s.group.mu.Unlock()
		s.commitGroup(jobs)
		for _, j := range jobs {
			close(j.done)
		}
	}
}

// commitGroup runs jobs in one transaction and sets each one's outcome.
func (s *Store) commitGroup(all []*job) {
	var jobs []*job
	for _, j := range all {
		switch {
		case !j.state.CompareAndSwap(queued, started): // its caller gave up
		case j.ctx.Err() != nil:
			j.err = j.ctx.Err() // nothing written
		default:
			jobs = append(jobs, j)
		}
	}
	if len(jobs) == 0 {
		return
	}
	// The group may take as long as its longest write may.
	timeout := writeTimeout
	for _, j := range jobs {
		timeout = max(timeout, store.WriteTimeout(j.ctx, writeTimeout))
	}
	deadline := time.Now().Add(timeout)
	ctx, cancel := context.WithDeadline(context.WithoutCancel(jobs[0].ctx), deadline)
	defer cancel()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		setAll(jobs, preCommitError{err})
		return
	}
	// A connection left inside a transaction is closed by the pool rather
	// than reused.
	defer conn.Release()
	var base int64
	b := &pgx.Batch{}
	b.Queue("BEGIN ISOLATION LEVEL READ COMMITTED")
	// A replica that stops midway (frozen, cut off) must not hold the
	// revision for long: the database ends the transaction.
	b.Queue("SET LOCAL idle_in_transaction_session_timeout = 10000")
	// Locked until COMMIT: groups of other replicas wait here, so
	// revisions commit in order.
	b.Queue("SELECT revision FROM store_state FOR UPDATE")
	res := conn.SendBatch(ctx, b)
	_, err = res.Exec()
	if err == nil {
		_, err = res.Exec()
	}
	if err == nil {
		err = res.QueryRow().Scan(&base)
	}
	if cerr := res.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		rollback(conn.Conn(), ctx)
		setAll(jobs, preCommitError{err})
		return
	}
	// Writes answer who owns a framework from the replica's catalog when
	// it is the database's as of this transaction: give the follower a
	// moment to get there (it is usually applying the previous group).
	if s.graph.Load().Revision() < base {
		wait, cancelWait := context.WithTimeout(ctx, 5*time.Millisecond)
		_ = s.WaitForRevision(wait, base)
		cancelWait()
	}
	var done []*job     // written (or held), waiting for COMMIT, in revision order
	var held []*segment // what is not sent yet of the last of them
	frameworksChanged := false
	// abort ends the transaction without COMMIT. Nothing of the group is
	// written: every write that wrote, or read what others of the group
	// wrote, or did not run (jobs[from:]) may be retried.
	abort := func(from int, err error) {
		rollback(conn.Conn(), ctx)
		retry := preCommitError{err}
		for _, j := range done {
			j.err, j.rev = retry, 0
		}
		for _, j := range jobs[:from] {
			if j.opened {
				j.err, j.rev = retry, 0
			}
		}
		for _, j := range jobs[from:] {
			j.err, j.rev = retry, 0
		}
	}
	// undo rolls the current write back to its savepoint and releases it,
	// so that savepoints never nest: a rollback meant for another write
	// fails instead of undoing writes that succeeded.
	undo := func() error {
		// Two statements, not a batch: an aborted transaction refuses to
		// prepare anything but the rollback.
		if _, err := conn.Exec(ctx, "ROLLBACK TO SAVEPOINT write"); err != nil {
			return err
		}
		_, err := conn.Exec(ctx, "RELEASE SAVEPOINT write")
		return err
	}
	// failHeld handles a failure at statement at of held: that write
	// failed and is rolled back alone; the writes held after it move down
	// a revision. It reports false when the transaction cannot go on.
	failHeld := func(at int, err error) bool {
		m, k := locate(held, at)
		if m < 0 || connectionLost(err) {
			return false
		}
		failed := held[m].j
		if undo() != nil {
			return false
		}
		failed.err, failed.rev = held[m].errorAt(k, err), 0
		for n, j := range done {
			if j == failed {
				done = append(done[:n], done[n+1:]...)
				break
			}
		}
		held = held[m+1:]
		for n, g := range held {
			g.renumber(base + int64(len(done)-len(held)+n) + 1)
		}
		return true
	}
	for i := 0; i < len(jobs); i++ {
		j := jobs[i]
		rev := base + int64(len(done)) + 1
		graph := s.graph.Load()
		if graph.Revision() != base || frameworksChanged {
			graph = nil // not the catalog as of this transaction: read the database
		}
		t := &tx{q: conn.Conn(), rev: rev, now: time.Now().UTC().Truncate(time.Microsecond), held: held, graph: graph,
			prelude: append(statements(held), savepoint(rev)...)}
		// The write's statements belong to its caller's trace, but not to
		// its cancellation: the group goes on whatever one caller does.
		wctx, wcancel := context.WithDeadline(context.WithoutCancel(j.ctx), deadline)
		t.ctx = wctx
		g, err := s.runWrite(j, t)
		wcancel()
		j.opened = j.opened || t.opened
		if t.heldErr != nil {
			// An earlier write failed after all; this one runs again.
			if !failHeld(t.heldAt, t.heldErr) {
				abort(i, t.heldErr)
				return
			}
			j.err, j.rev = nil, 0
			i--
			continue
		}
		if t.opened {
			held = nil // it went with this write's first statement
		}
		switch {
		case err == nil && g != nil:
			done = append(done, j)
			held = append(held, g)
			frameworksChanged = frameworksChanged || t.changed(store.KindFramework, store.KindTenant)
		case err == nil:
		case connectionLost(err):
			abort(i, err)
			return
		default:
			if !errors.Is(err, errNothingWritten) {
				j.err = err
			}
			if t.opened && undo() != nil {
				abort(i+1, err)
				return
			}
		}
	}
	// What is held goes with the new revision, the notification and
	// COMMIT; a held write that fails there is dropped and the rest sent
	// again.
	for len(done) > 0 {
		stmts := statements(held)
		b := &pgx.Batch{}
		for _, st := range stmts {
			b.Queue(st.sql, st.args...)
		}
		last := base + int64(len(done))
		b.Queue("UPDATE store_state SET revision = $1", last)
		b.Queue("SELECT pg_notify($1, $2)", changesChannel, strconv.FormatInt(last, 10))
		b.Queue("COMMIT")
		res := conn.SendBatch(ctx, b)
		at := -1
		err = nil
		for k := range b.Len() {
			var tag pgconn.CommandTag
			if tag, err = res.Exec(); err == nil && k == b.Len()-1 && tag.String() == "ROLLBACK" {
				err = errors.New("COMMIT rolled back a transaction that had failed")
			}
			if err != nil {
				at = k
				break
			}
		}
		if cerr := res.Close(); err == nil {
			err = cerr
		}
		switch {
		case err == nil:
			for n, j := range done {
				j.rev = base + int64(n) + 1
			}
			return
		case at >= 0 && at < len(stmts) && failHeld(at, err):
			continue
		case at >= 0 && at < len(stmts) && !connectionLost(err):
			abort(len(jobs), err) // COMMIT did not run
			return
		}
		// COMMIT was sent: what it did is the database's to say.
		outcome := commitError(err)
		if !errors.Is(outcome, store.ErrOutcomeUnknown) {
			abort(len(jobs), err)
			return
		}
		rollback(conn.Conn(), ctx)
		for _, j := range jobs {
			if j.opened || j.rev > 0 || slices.Contains(done, j) {
				j.err, j.rev = outcome, 0
			}
		}
		return
	}
	rollback(conn.Conn(), ctx)
}

// runWrite runs one job's function; j.rev is set when it wrote anything,
// and what it has not sent yet is returned to be held. The error is the
// function's (as a callerError) or the database's.
func (s *Store) runWrite(j *job, t *tx) (g *segment, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.ErrorContext(j.ctx, "a write's function panicked", "panic", p)
			g, err = nil, callerError{fmt.Errorf("internal error: %v", p)}
		}
	}()
	a, err := j.fn(t)
	switch {
	case t.failed != nil:
		return nil, t.failed
	case err != nil:
		return nil, callerError{err}
	case len(t.changes)+len(t.pending) == 0:
		if t.opened { // let go of what it locked
			return nil, errNothingWritten
		}
		return nil, nil
	}
	ev := store.Event(j.ctx, a, revisionPlaceholder)
	g = t.hold(j, ev, store.AffectedEvents(ev, a))
	j.rev = t.rev
	return g, nil
}

// errNothingWritten rolls back a write that only read, releasing its
// locks; its caller gets no error.
var errNothingWritten = errors.New("nothing written")

// connectionLost reports an error after which the connection, and the
// transaction on it, cannot go on.
func connectionLost(err error) bool {
	var pe *pgconn.PgError
	var ce callerError
	var inv *catalog.InvalidError
	switch {
	case errors.As(err, &ce), errors.Is(err, errNothingWritten):
		return false
	case errors.As(err, &pe):
		severity := pe.SeverityUnlocalized
		if severity == "" {
			severity = pe.Severity
		}
		return severity == "FATAL" || severity == "PANIC" || pe.Code[:2] == "08" || pe.Code[:3] == "57P"
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrAlreadyExists), errors.Is(err, store.ErrFailedPrecondition),
		errors.As(err, &inv):
		return false // the database's answer, named by writeError
	}
	return true
}

func setAll(jobs []*job, err error) {
	for _, j := range jobs {
		j.err, j.rev = err, 0
	}
}

// rollback ends the transaction, giving up after a few seconds (the
// connection is then closed by the pool: it is still in a transaction).
func rollback(conn *pgx.Conn, ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, _ = conn.Exec(ctx, "ROLLBACK")
}
