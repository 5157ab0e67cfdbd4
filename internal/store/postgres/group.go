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
	var done []*job // written, waiting for COMMIT
	var held *carry // the end of the last of them, not sent yet
	for i := 0; i < len(jobs); i++ {
		j := jobs[i]
		if err := j.ctx.Err(); err != nil {
			j.err = err // gave up before its turn: nothing written
			continue
		}
		rev := base + int64(len(done)) + 1
		t := &tx{q: conn.Conn(), rev: rev, now: time.Now().UTC().Truncate(time.Microsecond), carry: held}
		if held != nil {
			t.prelude = append(t.prelude, held.stmts...)
		}
		t.prelude = append(t.prelude, statement{sql: "SAVEPOINT write"},
			statement{sql: "SELECT set_config('controlmap.revision', $1, true)", args: []any{strconv.FormatInt(rev, 10)}})
		// The write's statements belong to its caller's trace, but not to
		// its cancellation: the group goes on whatever one caller does.
		wctx, wcancel := context.WithDeadline(context.WithoutCancel(j.ctx), deadline)
		t.ctx = wctx
		end, err := s.runWrite(j, t)
		wcancel()
		if t.opened {
			held = nil // it went with this write's first statement
		}
		if t.carryErr != nil {
			// The previous write failed after all: it alone is rolled
			// back, and this one runs again.
			if connectionLost(t.carryErr) {
				rollback(conn.Conn(), ctx)
				setAll(append(done, jobs[i:]...), beforeCommit(t.carryErr))
				return
			}
			p := done[len(done)-1]
			done = done[:len(done)-1]
			p.err, p.rev = t.carryErr, 0
			if _, err := conn.Exec(ctx, "ROLLBACK TO SAVEPOINT write"); err != nil {
				rollback(conn.Conn(), ctx)
				setAll(append(done, jobs[i:]...), beforeCommit(err))
				return
			}
			j.rev = 0
			i--
			continue
		}
		switch {
		case err == nil && j.rev > 0:
			done = append(done, j)
			if end != nil {
				held = end
			}
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
	s.commitWrites(ctx, conn.Conn(), base, done, held)
}

// commitWrites sends the end of the last write, if held, with the new
// revision, the notification and COMMIT, and sets the writes' outcomes.
func (s *Store) commitWrites(ctx context.Context, conn *pgx.Conn, base int64, done []*job, held *carry) {
	for len(done) > 0 {
		b := &pgx.Batch{}
		n := 0
		if held != nil {
			for _, st := range held.stmts {
				b.Queue(st.sql, st.args...)
			}
			n = len(held.stmts)
		}
		last := base + int64(len(done))
		b.Queue("UPDATE store_state SET revision = $1", last)
		b.Queue("SELECT pg_notify($1, $2)", changesChannel, strconv.FormatInt(last, 10))
		b.Queue("COMMIT")
		res := conn.SendBatch(ctx, b)
		var err error
		at := -1
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
			return
		case at >= 0 && at < n && !connectionLost(err):
			// The last write failed: it alone is rolled back.
			p := done[len(done)-1]
			done = done[:len(done)-1]
			p.err, p.rev = held.errorAt(at, err), 0
			held = nil
			if _, rerr := conn.Exec(ctx, "ROLLBACK TO SAVEPOINT write"); rerr != nil {
				rollback(conn, ctx)
				setAll(done, beforeCommit(rerr))
				return
			}
			continue
		}
		rollback(conn, ctx)
		setAll(done, commitError(err))
		return
	}
	rollback(conn, ctx)
}

// runWrite runs one job's function; j.rev is set when it wrote anything.
// The end of the write is held back as a carry when the write has sent a
// statement already, else sent at once. The error is the function's (as
// a callerError) or the database's.
func (s *Store) runWrite(j *job, t *tx) (*carry, error) {
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
	if !t.opened {
		if _, err := t.flush(endOfWrite, ev); err != nil {
			return nil, err
		}
		j.rev = t.rev
		return nil, nil
	}
	c := t.holdEnd(j, ev)
	j.rev = t.rev
	return c, nil
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
