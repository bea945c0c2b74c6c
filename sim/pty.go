package sim

import (
	"context"
	"fmt"

	"github.com/wsbench/wsbench/internal/pty"
)

// ServePTY opens a pseudo-terminal pair, serves b on the master side and
// returns the slave's path (e.g. /dev/pts/3) for a collector or a terminal
// program. The slave is put in raw mode so frames pass unchanged. The board
// runs until ctx ends; done then receives Serve's result, after the pty has
// been closed.
func ServePTY(ctx context.Context, b *Board) (path string, done <-chan error, err error) {
	// internal/pty keeps the master non-blocking (in the runtime poller):
	// only then does closing it end a write nobody reads, below.
	master, slave, err := pty.Open()
	if err != nil {
		return "", nil, fmt.Errorf("sim: %w", err)
	}
	ch := make(chan error, 1)
	go func() {
		err := b.Serve(ctx, master)
		// Closing the master unblocks a write nobody reads; the slave is
		// kept open until then so that the master never sees a hang-up
		// while a client reconnects.
		master.Close()
		slave.Close()
		ch <- err
	}()
	return slave.Name(), ch, nil
}
