package wire

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Line commands, host to board. A command is one line of at most
// MaxCommandLine bytes: a name, then key=value arguments separated by single
// spaces. Values are percent-encoded: every byte outside [A-Za-z0-9._~:/@,+-]
// is written %XX. Keys are [a-z0-9_]+ and appear at most once. The board
// answers every command with a Reply frame (docs/wire.md).
const MaxCommandLine = 512

// Command names.
const (
	CmdHello  = "hello"  // send Hello
	CmdRun    = "run"    // start a scenario (RunParams keys)
	CmdStop   = "stop"   // abort the run: RunEnd with status "aborted"
	CmdReset  = "reset"  // reboot (esp_restart)
	CmdOwners = "owners" // send Owners now
	CmdWiFi   = "wifi"   // ssid=, pass= (never logged or echoed)
	CmdFault  = "fault"  // virtual board only: leak=, small_stack=, psram_fail=, wdt_panic=
)

// Arg is one key=value argument.
type Arg struct {
	Key, Value string
}

// Command is a parsed command line.
type Command struct {
	Name string
	Args []Arg
}

// Get returns the value of key and whether it was given.
func (c Command) Get(key string) (string, bool) {
	for _, a := range c.Args {
		if a.Key == key {
			return a.Value, true
		}
	}
	return "", false
}

// String formats c as a command line without the newline.
func (c Command) String() string {
	var b strings.Builder
	b.WriteString(c.Name)
	for _, a := range c.Args {
		b.WriteByte(' ')
		b.WriteString(a.Key)
		b.WriteByte('=')
		escapeValue(&b, a.Value)
	}
	return b.String()
}

func plainValueByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("._~:/@,+-", c) >= 0
}

func keyByte(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' }

func escapeValue(b *strings.Builder, v string) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(v); i++ {
		c := v[i]
		if plainValueByte(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
}

// quote quotes a string in an error the way the firmware's parser does:
// strconv.QuoteToASCII, so printable means printable ASCII (0x20-0x7e), a
// set both parsers define the same way (Unicode's printable set depends on
// the tables' version: C and Go disagreed on U+070E).
func quote(s string) string { return strconv.QuoteToASCII(s) }

// quoteByte quotes one byte of a command line: 'a', '\t', or '\xa5' for a
// byte outside ASCII (%q of a byte would print the rune U+00A5 instead).
func quoteByte(c byte) string {
	if c < utf8.RuneSelf {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("'\\x%02x'", c)
}

// CommandError is a malformed command line; Col is the 1-based byte column.
type CommandError struct {
	Col int
	Msg string
}

func (e *CommandError) Error() string { return fmt.Sprintf("column %d: %s", e.Col, e.Msg) }

// ParseCommand parses one command line (a trailing "\r\n" or "\n" is allowed).
func ParseCommand(line string) (Command, error) {
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if len(line) > MaxCommandLine {
		return Command{}, &CommandError{MaxCommandLine + 1, fmt.Sprintf("line longer than %d bytes", MaxCommandLine)}
	}
	var c Command
	i := 0
	for i < len(line) && keyByte(line[i]) {
		i++
	}
	if i == 0 {
		return c, &CommandError{1, "expected a command name"}
	}
	c.Name = line[:i]
	for i < len(line) {
		if line[i] != ' ' {
			return c, &CommandError{i + 1, "unexpected byte " + quoteByte(line[i])}
		}
		i++
		start := i
		for i < len(line) && keyByte(line[i]) {
			i++
		}
		if i == start {
			return c, &CommandError{i + 1, "expected an argument name"}
		}
		key := line[start:i]
		if i >= len(line) || line[i] != '=' {
			return c, &CommandError{i + 1, fmt.Sprintf("argument %s: expected '='", quote(key))}
		}
		i++
		var v []byte
		for i < len(line) && line[i] != ' ' {
			ch := line[i]
			switch {
			case ch == '%':
				if i+2 >= len(line) {
					return c, &CommandError{i + 1, fmt.Sprintf("argument %s: truncated %%XX escape", quote(key))}
				}
				h, err := strconv.ParseUint(line[i+1:i+3], 16, 8)
				if err != nil {
					return c, &CommandError{i + 1, fmt.Sprintf("argument %s: bad %%XX escape %s", quote(key), quote(line[i:i+3]))}
				}
				v = append(v, byte(h))
				i += 3
			case plainValueByte(ch):
				v = append(v, ch)
				i++
			default:
				return c, &CommandError{i + 1, fmt.Sprintf("argument %s: byte %s must be %%-escaped", quote(key), quoteByte(ch))}
			}
		}
		if _, dup := c.Get(key); dup {
			return c, &CommandError{start + 1, fmt.Sprintf("argument %s given twice", quote(key))}
		}
		c.Args = append(c.Args, Arg{key, string(v)})
	}
	return c, nil
}

// Scenario names.
const (
	ScenarioSweep   = "sweep"
	ScenarioChurn   = "churn"
	ScenarioHandler = "handler"
)

// Handler modes.
const (
	HandlerInline = "inline"
	HandlerQueued = "queued"
)

// Limits the board enforces on run parameters.
const (
	MaxSessions = 64
	MinPeriodMS = 1
)

// RunCommand formats p as a "run" command.
func RunCommand(p RunParams) Command {
	c := Command{Name: CmdRun}
	add := func(k, v string) { c.Args = append(c.Args, Arg{k, v}) }
	u := func(k string, v uint64) { add(k, strconv.FormatUint(v, 10)) }
	add("cell", p.Cell)
	add("scenario", p.Scenario)
	u("n", uint64(p.N))
	u("period_ms", uint64(p.PeriodMS))
	u("detail_every", uint64(p.DetailEvery))
	u("baseline_ms", uint64(p.BaselineMS))
	u("window_ms", uint64(p.WindowMS))
	u("cycles", uint64(p.Cycles))
	if p.HandlerMode != "" {
		add("handler", p.HandlerMode)
	}
	u("work_ms", uint64(p.WorkMS))
	u("event_ms", uint64(p.EventMS))
	u("seed", p.Seed)
	add("ws_url", p.WSURL)
	add("https_url", p.HTTPSURL)
	return c
}

// ParseRunParams reads and checks the arguments of a "run" command.
// Defaults: period_ms=100, detail_every=10, baseline_ms=2000, window_ms=10000,
// cycles=20, handler=queued, work_ms=50, event_ms=100.
func ParseRunParams(c Command) (RunParams, error) {
	p := RunParams{PeriodMS: 100, DetailEvery: 10, BaselineMS: 2000, WindowMS: 10000, Cycles: 20,
		HandlerMode: HandlerQueued, WorkMS: 50, EventMS: 100}
	if c.Name != CmdRun {
		return p, fmt.Errorf("not a run command: %s", quote(c.Name))
	}
	for _, a := range c.Args {
		var err error
		num := func(bits int) uint64 {
			var v uint64
			v, err = strconv.ParseUint(a.Value, 10, bits)
			if err != nil {
				err = fmt.Errorf("argument %s=%s: want an unsigned %d-bit number", a.Key, quote(a.Value), bits)
			}
			return v
		}
		switch a.Key {
		case "cell":
			p.Cell = a.Value
		case "scenario":
			p.Scenario = a.Value
		case "n":
			p.N = uint16(num(16))
		case "period_ms":
			p.PeriodMS = uint32(num(32))
		case "detail_every":
			p.DetailEvery = uint16(num(16))
		case "baseline_ms":
			p.BaselineMS = uint32(num(32))
		case "window_ms":
			p.WindowMS = uint32(num(32))
		case "cycles":
			p.Cycles = uint32(num(32))
		case "handler":
			p.HandlerMode = a.Value
		case "work_ms":
			p.WorkMS = uint32(num(32))
		case "event_ms":
			p.EventMS = uint32(num(32))
		case "seed":
			p.Seed = num(64)
		case "ws_url":
			p.WSURL = a.Value
		case "https_url":
			p.HTTPSURL = a.Value
		default:
			return p, fmt.Errorf("run: unknown argument %s", quote(a.Key))
		}
		if err != nil {
			return p, fmt.Errorf("run: %w", err)
		}
	}
	switch p.Scenario {
	case ScenarioSweep, ScenarioChurn, ScenarioHandler:
	case "":
		return p, fmt.Errorf("run: argument scenario is required (sweep, churn, handler)")
	default:
		return p, fmt.Errorf("run: unknown scenario %s (want sweep, churn, handler)", quote(p.Scenario))
	}
	if p.HandlerMode != HandlerInline && p.HandlerMode != HandlerQueued {
		return p, fmt.Errorf("run: handler=%s: want inline or queued", quote(p.HandlerMode))
	}
	if p.N > MaxSessions {
		return p, fmt.Errorf("run: n=%d exceeds %d sessions", p.N, MaxSessions)
	}
	if p.PeriodMS < MinPeriodMS {
		return p, fmt.Errorf("run: period_ms must be at least %d", MinPeriodMS)
	}
	if p.Scenario == ScenarioHandler && p.EventMS == 0 {
		return p, fmt.Errorf("run: event_ms must be positive for the handler scenario")
	}
	return p, nil
}
