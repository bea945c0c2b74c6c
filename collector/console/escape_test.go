package console

import (
	"strings"
	"testing"
)

// A task watchdog dump with escape sequences inside its lines is still one
// report with every task (issue 13, "Seen" 6: the block ended early, with
// 1 of 3 starving tasks and no running list).
func TestWatchdogDumpSurvivesEscapes(t *testing.T) {
	want := `watchdog {"starving":["IDLE0 (CPU 0)","IDLE1 (CPU 1)","app_main (CPU 0)"],"running":["CPU 0: websocket_task","CPU 1: loopTask"],"aborted":false}`
	for _, tc := range []struct{ name, seq string }{
		{"window title (OSC ... BEL)", esc + "]0;pwned\a"},
		{"window title (OSC ... ST)", esc + "]2;pwned" + esc + `\`},
		{"charset switch", esc + "(B"},
		{"full reset", esc + "c"},
		{"hide cursor", esc + "[?25l"},
		{"bell", "\a"},
		{"NUL", "\x00"},
		{"bidi override", "\u202e"},
		{"C1 CSI", "\u009b31m"},
		{"8-bit byte", "\xff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.seq
			in := strings.Join([]string{
				"E (5000) task_wdt: Task watchdog got triggered. The following tasks/users did not reset the watchdog in time:",
				"E (5000) task_wdt:  - " + e + "IDLE0 (CPU 0)",
				e + "E (5000) task_wdt:  - IDLE1 (CPU 1)" + e,
				"E (5000) task_wdt:  - app_main" + e + " (CPU 0)",
				"E (5000) task_wdt: Tasks currently running:" + e,
				"E (5000) " + e + "task_wdt: CPU 0: websocket_task",
				"E (5000) task_wdt: CPU 1: loopTask",
				"I (5001) app: after",
			}, "\n")
			got := strings.Join(run(in), "\n")
			if got != want {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}
