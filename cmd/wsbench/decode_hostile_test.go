package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wsbench/wsbench/wire"
)

// hostile holds what a board could put in a string to act on a terminal:
// a window title, clear screen, cursor moves, a bell, NUL, an 8-bit CSI,
// a bidi override, and bytes that are not UTF-8.
const hostile = "\x1b]0;pwned\x07\x1b[2J\x1b[H\x1b[31mFAKE\x00\u009b1A\u202e\u2066\xff\xc3"

// termAction returns a description of the first thing in out a terminal
// would act on, or "".
func termAction(out string) string {
	for i, r := range out {
		switch {
		case r == utf8.RuneError:
			if _, n := utf8.DecodeRuneInString(out[i:]); n <= 1 {
				return "invalid UTF-8 at byte " + strconv.Itoa(i)
			}
		case r < 0x20 && r != '\n' && r != '\t', r == 0x7f, r >= 0x80 && r < 0xa0,
			r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return "rune " + strconv.Itoa(int(r)) + " at byte " + strconv.Itoa(i)
		}
	}
	return ""
}

// wsbench decode of a crafted raw.bin prints every board string escaped,
// as text and as JSON (issue 13, "Seen" 2: 45 ESC, 9 BEL and 1 NUL).
func TestDecodeEscapesBoardStrings(t *testing.T) {
	var raw []byte
	for _, m := range []wire.Message{
		&wire.Hello{Protocol: wire.ProtocolVersion, Board: hostile, Chip: hostile, IDFVersion: hostile, AppName: hostile, AppVersion: hostile, Variant: hostile, Behaviour: hostile},
		&wire.RunStart{Params: wire.RunParams{Cell: hostile, Scenario: hostile}, Variant: hostile},
		&wire.Event{Kind: wire.EventSessionFailed, Name: hostile},
		&wire.Reply{Cmd: hostile, Err: hostile},
		&wire.RunEnd{Cell: hostile, Status: hostile, Err: hostile},
	} {
		var err error
		if raw, err = wire.AppendMessage(raw, m); err != nil {
			t.Fatal(err)
		}
	}
	raw = append(raw, "E (12) "+hostile+": console "+hostile+"\r\n"...)
	p := filepath.Join(t.TempDir(), "raw.bin")
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"decode", p}, {"decode", "--json", p}} {
		out, err := wsbench(args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		t.Logf("%v: %d bytes of output from %d bytes of raw.bin holding %d ESC, %d BEL, %d NUL; output holds %d ESC, %d BEL, %d NUL",
			args, len(out), len(raw), strings.Count(string(raw), "\x1b"), strings.Count(string(raw), "\a"), strings.Count(string(raw), "\x00"),
			strings.Count(out, "\x1b"), strings.Count(out, "\a"), strings.Count(out, "\x00"))
		if what := termAction(out); what != "" {
			t.Errorf("%v: output holds %s:\n%q", args, what, out)
		}
		if n := strings.Count(out, "\n"); n < 6 {
			t.Errorf("%v: %d lines, want 6 records:\n%s", args, n, out)
		}
		if !strings.Contains(out, "FAKE") {
			t.Errorf("%v: the board's text is gone:\n%s", args, out)
		}
	}
}
