package postgres

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/controlmap/controlmap/internal/store"
)

// maxGroup bounds the writes one transaction commits together.
const maxGroup = 128

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
}

// Update implements store.Writer. fn reads the rows as stored, locking
// what it changes, and sees the writes committed before it and those of
// its group that ran before it; its writes go with its changes and audit
// event in one round trip. A failure of the connection before COMMIT was
// sent wrote nothing and is retried.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) (store.Audit, error)) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	var j *job
	for attempt := 0; attempt < 5; attempt++ {
		j = &job{ctx: ctx, fn: fn, done: make(chan struct{})}
		s.enqueue(j)
		<-j.done
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
func (s *Store) commitGroup(jobs []*job) {
	deadline := time.Now().Add(writeTimeout)
	ctx, cancel := context.WithDeadline(context.WithoutCancel(jobs[0].ctx), deadline)
	defer cancel()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		setAll(jobs, beforeCommit(err))
		return
	}
	// A connection left inside a transaction is closed by the pool rather
	// than reused.
	defer conn.Release()
	var base int64
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	// Locked until COMMIT: groups of other replicas wait here, so
	// revisions commit in order.
	b.Queue("SELECT revision FROM store_state FOR UPDATE")
	res := conn.SendBatch(ctx, b)
	_, err = res.Exec()
	if err == nil {
		err = res.QueryRow().Scan(&base)
	}
	if cerr := res.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		rollback(conn.Conn(), ctx)
		setAll(jobs, beforeCommit(err))
		return
	}
	var done []*job     // written (or held), waiting for COMMIT, in revision order
	var held []*segment // what is not sent yet of the last of them
	// failHeld handles a failure at statement at of held: that write
	// failed and is rolled back alone; the writes held after it move down
	// a revision. It reports false when the transaction cannot go on.
	failHeld := func(at int, err error) bool {
		m, k := locate(held, at)
		if m < 0 || connectionLost(err) {
			return false
		}
		failed := held[m].j
		failed.err, failed.rev = held[m].errorAt(k, err), 0
		if _, rerr := conn.Exec(ctx, "ROLLBACK TO SAVEPOINT write"); rerr != nil {
			return false
		}
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
		if err := j.ctx.Err(); err != nil {
			j.err = err // gave up before its turn: nothing written
			continue
		}
		rev := base + int64(len(done)) + 1
		t := &tx{q: conn.Conn(), rev: rev, now: time.Now().UTC().Truncate(time.Microsecond), held: held, graph: s.graph.Load(),
			prelude: append(statements(held), savepoint(rev)...)}
		// The write's statements belong to its caller's trace, but not to
		// its cancellation: the group goes on whatever one caller does.
		wctx, wcancel := context.WithDeadline(context.WithoutCancel(j.ctx), deadline)
		t.ctx = wctx
		g, err := s.runWrite(j, t)
		wcancel()
		if t.heldErr != nil {
			// An earlier write failed after all; this one runs again.
			if !failHeld(t.heldAt, t.heldErr) {
				rollback(conn.Conn(), ctx)
				setAll(append(done, jobs[i:]...), beforeCommit(t.heldErr))
				return
			}
			j.rev = 0
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
		case err == nil:
		case connectionLost(err):
			// Nothing is committed: this write and every other of the
			// group may be retried.
			rollback(conn.Conn(), ctx)
			setAll(append(done, jobs[i:]...), beforeCommit(err))
			return
		default:
			if !errors.Is(err, errNothingWritten) {
				j.err = err
			}
			if t.opened {
				if _, rerr := conn.Exec(ctx, "ROLLBACK TO SAVEPOINT write"); rerr != nil {
					rollback(conn.Conn(), ctx)
					setAll(append(done, jobs[i+1:]...), beforeCommit(rerr))
					return
				}
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
			if _, err = res.Exec(); err != nil {
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
		}
		rollback(conn.Conn(), ctx)
		setAll(done, commitError(err))
		return
	}
	rollback(conn.Conn(), ctx)
}

// runWrite runs one job's function; j.rev is set when it wrote anything,
// and what it has not sent yet is returned to be held. The error is the
// function's (as a callerError) or the database's.
func (s *Store) runWrite(j *job, t *tx) (*segment, error) {
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
	g := t.hold(j, store.Event(j.ctx, a, revisionPlaceholder))
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
	switch {
	case errors.As(err, &ce), errors.Is(err, errNothingWritten):
		return false
	case errors.As(err, &pe):
		severity := pe.SeverityUnlocalized
		if severity == "" {
			severity = pe.Severity
		}
		return severity == "FATAL" || severity == "PANIC" || pe.Code[:2] == "08" || pe.Code[:3] == "57P"
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrAlreadyExists), errors.Is(err, store.ErrFailedPrecondition):
		return false // the database's answer, named by writeError
	}
	return true
}

func setAll(jobs []*job, err error) {
	for _, j := range jobs {
		j.err, j.rev = err, 0
	}
}

func rollback(conn *pgx.Conn, ctx context.Context) {
	_, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
}
