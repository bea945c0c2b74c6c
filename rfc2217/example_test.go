package rfc2217_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wsbench/wsbench/rfc2217"
)

// A capture loop that treats a dropped connection like an unplugged USB
// port: it reopens with backoff and keeps what it already has.
func ExampleOpener() {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	open := rfc2217.Opener("rfc2217://127.0.0.1:1?ign_set_control", rfc2217.Options{
		Baud:         115200,
		ReadTimeout:  100 * time.Millisecond,
		ReleaseLines: true, // RTS then DTR off: the ESP32 runs
	})
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		port, err := open(ctx)
		if err != nil {
			time.Sleep(backoff) // nothing listens on port 1: this example just retries
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		// A real caller writes the raw bytes to disk first. Read returns
		// (0, nil) every ReadTimeout, so the loop sees ctx's end that soon.
		buf := make([]byte, 4096)
		for err == nil && ctx.Err() == nil {
			_, err = port.Read(buf)
		}
		port.Close()
		if errors.Is(err, rfc2217.ErrConnectionLost) {
			continue // reconnect
		}
	}
	fmt.Println("gave up:", ctx.Err())
	// Output: gave up: context deadline exceeded
}
