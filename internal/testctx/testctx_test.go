package testctx

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestNewHasDeadlineAndEndsWithTheTest(t *testing.T) {
	var ctx context.Context
	t.Run("inner", func(t *testing.T) {
		ctx = New(t)
		dl, ok := ctx.Deadline()
		if !ok || time.Until(dl) > Limit || time.Until(dl) < Limit-time.Minute {
			t.Fatalf("deadline %v (ok %v), want about %v from now", dl, ok, Limit)
		}
		if ctx.Err() != nil {
			t.Fatalf("context ended early: %v", ctx.Err())
		}
	})
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Fatalf("after the test: %v, want canceled", ctx.Err())
	}
}

func TestRecvAndDo(t *testing.T) {
	ch := make(chan int, 1)
	ch <- 7
	if got := Recv(t, ch, time.Second, "a value"); got != 7 {
		t.Fatalf("Recv = %d", got)
	}
	ran := false
	Do(t, time.Second, "a quick function", func() { ran = true })
	if !ran {
		t.Fatal("Do did not run fn")
	}
}
