package wire

import (
	"encoding/json"
	"fmt"
)

// Phases of a scenario.
const (
	PhaseIdle     Phase = 0 // no run
	PhaseBaseline Phase = 1 // before any session is opened
	PhaseRamp     Phase = 2 // sessions being opened one by one
	PhaseSteady   Phase = 3 // all sessions open, the steady window
	PhaseTeardown Phase = 4 // sessions being closed
	PhaseChurn    Phase = 5 // churn cycles
	PhaseHandler  Phase = 6 // handler scenario running
	PhaseDone     Phase = 7 // run finished, after teardown
)

var phaseNames = [...]string{"idle", "baseline", "ramp", "steady", "teardown", "churn", "handler", "done"}

func (p Phase) String() string {
	if int(p) < len(phaseNames) {
		return phaseNames[p]
	}
	return fmt.Sprintf("phase(%d)", uint8(p))
}

// MarshalJSON writes the phase name.
func (p Phase) MarshalJSON() ([]byte, error) { return json.Marshal(p.String()) }

// UnmarshalJSON reads a phase name or number.
func (p *Phase) UnmarshalJSON(b []byte) error {
	v, err := enumFromJSON(b, phaseNames[:])
	*p = Phase(v)
	return err
}

// Event kinds.
const (
	EventSessionConnected EventKind = 1  // Session, DurUS = handshake time
	EventSessionFailed    EventKind = 2  // Session, Err, DurUS = time until failure
	EventSessionClosed    EventKind = 3  // Session
	EventClientCreated    EventKind = 4  // websocket client initialised
	EventClientDestroyed  EventKind = 5  // websocket client destroyed
	EventTaskStarted      EventKind = 6  // Name = task, Size = stack bytes, Err = heap it went to (HeapKind)
	EventTaskStopped      EventKind = 7  // Name = task
	EventAllocFailed      EventKind = 8  // Size = bytes asked, Name = owner, Err = caps
	EventHandlerLatency   EventKind = 9  // DurUS = from event post to work done
	EventWatchdogWarning  EventKind = 10 // Name = task that starved the watchdog
	EventCycleEnd         EventKind = 11 // churn: Size = cycle index, after teardown
	EventPhase            EventKind = 12 // Name = phase name of the phase that begins
)

var eventNames = [...]string{"", "session_connected", "session_failed", "session_closed", "client_created",
	"client_destroyed", "task_started", "task_stopped", "alloc_failed", "handler_latency", "watchdog_warning",
	"cycle_end", "phase"}

func (k EventKind) String() string {
	if k != 0 && int(k) < len(eventNames) {
		return eventNames[k]
	}
	return fmt.Sprintf("event(%d)", uint8(k))
}

// MarshalJSON writes the event name.
func (k EventKind) MarshalJSON() ([]byte, error) { return json.Marshal(k.String()) }

// UnmarshalJSON reads an event name or number.
func (k *EventKind) UnmarshalJSON(b []byte) error {
	v, err := enumFromJSON(b, eventNames[:])
	*k = EventKind(v)
	return err
}

// Heap kinds.
const (
	HeapInternal HeapKind = 0
	HeapSPIRAM   HeapKind = 1
)

var heapNames = [...]string{"internal", "spiram"}

func (h HeapKind) String() string {
	if int(h) < len(heapNames) {
		return heapNames[h]
	}
	return fmt.Sprintf("heap(%d)", uint8(h))
}

// MarshalJSON writes the heap name.
func (h HeapKind) MarshalJSON() ([]byte, error) { return json.Marshal(h.String()) }

// UnmarshalJSON reads a heap name or number.
func (h *HeapKind) UnmarshalJSON(b []byte) error {
	v, err := enumFromJSON(b, heapNames[:])
	*h = HeapKind(v)
	return err
}

func enumFromJSON(b []byte, names []string) (uint8, error) {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n uint8
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return 0, fmt.Errorf("enum: want a name or a number, got %s", b)
		}
		return n, nil
	}
	for i, n := range names {
		if n == s && n != "" {
			return uint8(i), nil
		}
	}
	var n uint8
	if _, err := fmt.Sscanf(s, "%*[a-z](%d)", &n); err == nil {
		return n, nil
	}
	return 0, fmt.Errorf("enum: unknown name %q", s)
}

// ResetReasonName names an esp_reset_reason_t value (facts sheet, section 4).
func ResetReasonName(r uint8) string {
	names := [...]string{"unknown", "poweron", "ext", "sw", "panic", "int_wdt", "task_wdt", "wdt", "deepsleep",
		"brownout", "sdio", "usb", "jtag", "efuse", "pwr_glitch", "cpu_lockup"}
	if int(r) < len(names) {
		return names[r]
	}
	return fmt.Sprintf("reason(%d)", r)
}
