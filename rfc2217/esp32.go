package rfc2217

import (
	"context"
	"fmt"
	"time"
)

// The ESP32 dev-board auto-reset circuit drives EN (reset, active low) from
// RTS and IO0 (boot strap, low = download mode) from DTR through two
// cross-coupled transistors, so that DTR and RTS both asserted, or both
// released, leave EN and IO0 high:
//
//	DTR RTS -> EN IO0
//	 0   0      1   1
//	 0   1      0   1   chip held in reset
//	 1   0      1   0
//	 1   1      1   1
//
// The sequences below follow esptool's esptool/reset.py (espressif/esptool):
// HardReset.reset is "setRTS(True); sleep(0.1); setRTS(False)" and
// ClassicReset.reset is "setDTR(False); setRTS(True); sleep(0.1);
// setDTR(True); setRTS(False); sleep(reset_delay); setDTR(False)" with
// DEFAULT_RESET_DELAY = 0.05 s; esptool's CustomReset spells the latter
// "D0|R1|W0.1|D1|R0|W0.05|D0". esptool's _setRTS also re-sends the current
// DTR state after each RTS change, a work-around for Windows usbser.sys
// adapters; that concerns the machine owning the USB port (the RFC 2217
// server), so it is not repeated here.
//
// Servers differ in what they do with these messages. ser2net applies each
// SET-CONTROL to the device as it arrives and answers it, except when the
// device refuses the ioctl (a pty), where it sends no answer. esptool's RFC
// 2217 server (esp_rfc2217_server/esp_port_manager.py, EspPortManager)
// answers none of them: it recognises the start of a sequence (DTR on: run
// its own bootloader reset; RTS off outside download mode: run HardReset)
// with local timing and drops the rest. Use ?ign_set_control with it, as
// esptool's documentation does.
const (
	resetHoldTime  = 100 * time.Millisecond // esptool: time.sleep(0.1) with EN low
	bootStrapDelay = 50 * time.Millisecond  // esptool: DEFAULT_RESET_DELAY
)

// ResetESP32 restarts the chip into the application (esptool's HardReset,
// its --after hard_reset): with DTR released so IO0 stays high, RTS is
// asserted for 100 ms, holding EN low, then released. DTR is released first
// because with DTR asserted, asserting RTS would not pull EN low (see the
// table above); esptool gets the same state from its preceding ClassicReset.
func (p *Port) ResetESP32(ctx context.Context) error {
	steps := []func() error{
		func() error { return p.SetDTRContext(ctx, false) },
		func() error { return p.SetRTSContext(ctx, true) },
		func() error { return sleep(ctx, resetHoldTime) },
		func() error { return p.SetRTSContext(ctx, false) },
	}
	return runSteps("reset ESP32", steps)
}

// ResetESP32Bootloader resets the chip into the ROM download mode
// (esptool's ClassicReset, its --before default_reset): EN is held low for
// 100 ms, then released while IO0 is held low for 50 ms more.
func (p *Port) ResetESP32Bootloader(ctx context.Context) error {
	steps := []func() error{
		func() error { return p.SetDTRContext(ctx, false) }, // IO0 high
		func() error { return p.SetRTSContext(ctx, true) },  // EN low: in reset
		func() error { return sleep(ctx, resetHoldTime) },
		func() error { return p.SetDTRContext(ctx, true) },  // IO0 low
		func() error { return p.SetRTSContext(ctx, false) }, // EN high: out of reset, samples IO0
		func() error { return sleep(ctx, bootStrapDelay) },
		func() error { return p.SetDTRContext(ctx, false) }, // IO0 high again
	}
	return runSteps("reset ESP32 into bootloader", steps)
}

func runSteps(what string, steps []func() error) error {
	for i, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("%s, step %d of %d: %w", what, i+1, len(steps), err)
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
