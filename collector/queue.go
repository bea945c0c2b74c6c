package collector

import (
	"context"
	"sync"

	"github.com/wsbench/wsbench/record"
)

// Queue turns a capture's OnRecord callback into a pull API: pass q.Push as
// Options.OnRecord and read records in order with Next. It holds every
// record not yet taken, so its consumer must keep reading.
type Queue struct {
	mu     sync.Mutex
	recs   []record.Record
	head   int
	signal chan struct{}
}

// NewQueue returns an empty queue.
func NewQueue() *Queue { return &Queue{signal: make(chan struct{}, 1)} }

// Push appends r; it never blocks.
func (q *Queue) Push(r record.Record) {
	q.mu.Lock()
	q.recs = append(q.recs, r)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// Next returns the oldest record not yet taken, waiting for one until ctx
// ends or done (e.g. Capture.Done) is closed and the queue is empty.
func (q *Queue) Next(ctx context.Context, done <-chan struct{}) (record.Record, error) {
	for {
		q.mu.Lock()
		if q.head < len(q.recs) {
			r := q.recs[q.head]
			q.recs[q.head] = record.Record{}
			q.head++
			if q.head == len(q.recs) {
				q.recs, q.head = q.recs[:0], 0
			}
			q.mu.Unlock()
			return r, nil
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return record.Record{}, ctx.Err()
		case <-q.signal:
		case <-done:
			q.mu.Lock()
			empty := q.head == len(q.recs)
			q.mu.Unlock()
			if empty {
				return record.Record{}, ErrEnded
			}
		}
	}
}

// WaitFor returns the next record for which match is true, skipping others.
func (q *Queue) WaitFor(ctx context.Context, done <-chan struct{}, match func(record.Record) bool) (record.Record, error) {
	for {
		r, err := q.Next(ctx, done)
		if err != nil || match(r) {
			return r, err
		}
	}
}
