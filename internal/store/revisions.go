package store

import (
	"context"
	"sync"
)

// Revisions lets readers wait for a store's revision to reach a value. A
// store calls Publish after every change of its snapshot.
type Revisions struct {
	mu      sync.Mutex
	changed chan struct{}
}

// Publish wakes every waiter.
func (r *Revisions) Publish() {
	r.mu.Lock()
	if r.changed != nil {
		close(r.changed)
		r.changed = nil
	}
	r.mu.Unlock()
}

// Wait returns nil once current() reaches rev, or ctx's error.
func (r *Revisions) Wait(ctx context.Context, rev int64, current func() int64) error {
	for {
		r.mu.Lock()
		if current() >= rev {
			r.mu.Unlock()
			return nil
		}
		if r.changed == nil {
			r.changed = make(chan struct{})
		}
		ch := r.changed
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
