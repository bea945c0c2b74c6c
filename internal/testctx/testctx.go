// Package testctx gives tests a context with a deadline and bounded waits,
// so that a test whose peer (a process, a server, a board) dies fails with a
// message instead of hanging until go test's 10-minute timeout. It is for
// tests only.
package testctx

import (
	"context"
	"testing"
	"time"
)

// Limit is how long a test's context lives: generous, since a loaded
// 2-core machine runs every package at once, yet well under go test's
// default 10-minute timeout.
const Limit = 3 * time.Minute

// New returns a context that ends after Limit or when the test ends.
func New(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), Limit)
	t.Cleanup(cancel)
	return ctx
}

// Recv waits at most d for a value on ch and fails the test, naming what it
// waited for, when none comes.
func Recv[T any](t testing.TB, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("%s: nothing after %v", what, d)
		var zero T
		return zero
	}
}

// Do runs fn in a goroutine and fails the test, naming what it waited for,
// when fn has not returned within d (fn then goes on in the background).
func Do(t testing.TB, d time.Duration, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	Recv(t, done, d, what)
}
