// Package console understands the text an ESP32 prints on its UART between
// wsbench frames: it cleans a console line (ANSI colour codes removed, unsafe
// bytes escaped), parses ESP-IDF log lines ("L (ms) tag: text"), and turns
// the shapes listed in the facts sheet (section 4: task watchdog, panic,
// abort, stack overflow, brownout, ROM boot banner) into records, pairing a
// crash with the boot banner that follows it.
//
// It is pure: no I/O, no clocks, no goroutines. Its state is bounded (a
// multi-line block holds at most MaxBlockLines lines), and no input makes it
// panic.
package console

import (
	"strings"

	"github.com/wsbench/wsbench/internal/termsafe"
)

// Line is one console line, cleaned and parsed.
type Line struct {
	// Text is the line with ANSI escape sequences removed and control
	// characters and invalid UTF-8 written as \xNN. It is what a
	// record.Console holds.
	Text string
	// Level is the ESP-IDF log level (E W I D V) or "" when the line is
	// not a log line.
	Level string
	// Tag is the ESP-IDF log tag of a log line.
	Tag string
	// Msg is what a log line says after "tag: ", or for other lines the
	// text after any host timestamp prefix.
	Msg string
}

// Parse cleans and parses raw, one console line without its line ending.
//
// Bytes that are not text (a rejected frame, line noise) may sit in front
// of a line's text; the line is then parsed from the first recognisable
// start (a log line or a known console shape) within a few bytes after the
// last of them.
func Parse(raw []byte) Line {
	text, junk := clean(raw)
	l := Line{Text: text}
	var s string
	if junk > 0 {
		// Escape sequences or stray bytes inside a log line (a colour
		// change, a window title, a bell in a task name) do not make it
		// another line: without them it may still parse.
		if lv, tag, msg, ok := parseLog(StripHostTime(termsafe.Strip(raw))); ok {
			l.Level, l.Tag, l.Msg = lv, tag, msg
			return l
		}
		s = resync(text[junk:])
	} else {
		s = StripHostTime(text)
	}
	l.Msg = s
	if lv, tag, msg, ok := parseLog(s); ok {
		l.Level, l.Tag, l.Msg = lv, tag, msg
	}
	return l
}

// maxJunk is how many printable bytes after the last non-text byte may
// still be noise before a line's real start.
const maxJunk = 8

// starts are the beginnings of console shapes that resync looks for.
var starts = []string{"Guru Meditation", "ets ", "rst:0x", "ESP-ROM:", "***ERROR***", "Brownout", "abort() was",
	"Backtrace:", "Task watchdog", "Rebooting"}

// resync returns s from the first position within maxJunk bytes where a
// log line or a known console shape starts, or s itself.
func resync(s string) string {
	for i := 0; i <= maxJunk && i < len(s); i++ {
		t := s[i:]
		if _, _, _, ok := parseLog(t); ok {
			return t
		}
		for _, p := range starts {
			if strings.HasPrefix(t, p) {
				return t
			}
		}
	}
	return s
}

// levelName returns the ESP-IDF log level letter c as a string without
// allocating, or "" when c is not one.
func levelName(c byte) string {
	switch c {
	case 'E':
		return "E"
	case 'W':
		return "W"
	case 'I':
		return "I"
	case 'D':
		return "D"
	case 'V':
		return "V"
	}
	return ""
}

// parseLog splits an ESP-IDF log line "L (ms) tag: msg". The time in
// parentheses may be milliseconds or a system time ("12:34:56.789").
func parseLog(s string) (level, tag, msg string, ok bool) {
	if len(s) < 6 || s[1] != ' ' || s[2] != '(' {
		return "", "", "", false
	}
	if level = levelName(s[0]); level == "" {
		return "", "", "", false
	}
	end := strings.IndexByte(s[3:], ')')
	if end < 0 || end > 32 {
		return "", "", "", false
	}
	rest := s[3+end+1:]
	if len(rest) < 2 || rest[0] != ' ' {
		return "", "", "", false
	}
	rest = rest[1:]
	colon := strings.Index(rest, ": ")
	if colon < 0 {
		if strings.HasSuffix(rest, ":") && !strings.ContainsRune(rest, ' ') {
			return level, rest[:len(rest)-1], "", true
		}
		return "", "", "", false
	}
	return level, rest[:colon], rest[colon+2:], true
}

// Clean removes ANSI escape sequences from raw and escapes what would make
// an unsafe log line: control characters other than tab, DEL, and invalid
// UTF-8 become \xNN; C1 controls, bidi overrides and other runes that are
// not graphic become \uNNNN (internal/termsafe has the rules). Printable
// ASCII lines are returned unchanged.
func Clean(raw []byte) string {
	s, _ := clean(raw)
	return s
}

// clean is Clean that also returns the length of the output up to and
// including the last escaped byte (0 when none was escaped). The rules are
// wsbench's one sanitiser's (internal/termsafe), which also makes frame
// strings safe.
func clean(raw []byte) (string, int) {
	return termsafe.Console(raw)
}

// StripHostTime removes a timestamp that a host program put in front of a
// line: "[12:34:56.789] ", "[2026-11-23 12:34:56.789] ",
// "2026-11-23 12:34:56.789 ", "12:34:56.789 -> " (Arduino monitor) and
// similar shapes made of digits and "-:./,TZ+". A prefix is only taken when
// it contains a ':' and at least four digits.
func StripHostTime(s string) string {
	if s == "" {
		return s
	}
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 || end > 40 || !stampLike(s[1:end], true) {
			return s
		}
		rest := s[end+1:]
		rest = strings.TrimPrefix(rest, " ")
		return rest
	}
	if s[0] < '0' || s[0] > '9' {
		return s
	}
	// Consume space-separated tokens that look like parts of a timestamp.
	pos := 0
	taken := 0
	for pos < len(s) && pos < 48 {
		end := strings.IndexByte(s[pos:], ' ')
		tok := s[pos:]
		if end >= 0 {
			tok = s[pos : pos+end]
		}
		if tok == "" || !stampLike(tok, false) {
			break
		}
		taken = pos + len(tok)
		if end < 0 {
			break
		}
		pos += end + 1
	}
	if taken == 0 || !stampLike(s[:taken], true) {
		return s
	}
	rest := strings.TrimPrefix(s[taken:], " ")
	return strings.TrimPrefix(rest, "-> ")
}

// stampLike reports whether s consists only of timestamp characters; with
// whole, it must also contain a ':' and at least four digits.
func stampLike(s string, whole bool) bool {
	if s == "" {
		return false
	}
	digits, colon := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == ':':
			colon = true
		case c == '-' || c == '.' || c == '/' || c == ',' || c == 'T' || c == 'Z' || c == '+':
		case c == ' ' && whole:
		default:
			return false
		}
	}
	if s[0] < '0' || s[0] > '9' {
		return false
	}
	return !whole || colon && digits >= 4
}
