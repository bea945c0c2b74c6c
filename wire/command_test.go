package wire

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestCommandStringRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		cmd  Command
		line string
	}{
		{"bare_name", Command{Name: "hello"}, "hello"},
		{"plain_values", Command{Name: "fault", Args: []Arg{{"leak", "64"}, {"small_stack", "1"}}}, "fault leak=64 small_stack=1"},
		{"empty_value", Command{Name: "wifi", Args: []Arg{{"ssid", ""}}}, "wifi ssid="},
		{"space_and_specials_escaped", Command{Name: "wifi", Args: []Arg{{"ssid", "lab AP"}, {"pass", "p@ss%w0rd!="}}},
			"wifi ssid=lab%20AP pass=p@ss%25w0rd%21%3D"},
		{"url_kept_readable", Command{Name: "run", Args: []Arg{{"ws_url", "wss://192.168.4.2:8443/ws?a=b"}}},
			"run ws_url=wss://192.168.4.2:8443/ws%3Fa%3Db"},
		{"ipv6_brackets_escaped", Command{Name: "run", Args: []Arg{{"ws_url", "wss://[::1]:8443/"}}},
			"run ws_url=wss://%5B::1%5D:8443/"},
		{"control_and_high_bytes", Command{Name: "x", Args: []Arg{{"k", "\x00\n\xa5\xff"}}}, "x k=%00%0A%A5%FF"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cmd.String(); got != tc.line {
				t.Fatalf("String() = %q, want %q", got, tc.line)
			}
			for _, term := range []string{"", "\n", "\r\n"} {
				c, err := ParseCommand(tc.line + term)
				if err != nil {
					t.Fatalf("%q: %v", tc.line+term, err)
				}
				if !reflect.DeepEqual(c, tc.cmd) {
					t.Fatalf("%q parses to %+v, want %+v", tc.line+term, c, tc.cmd)
				}
			}
		})
	}
}

func TestParseCommandErrors(t *testing.T) {
	cases := []struct {
		name string
		line string
		col  int
		msg  string
	}{
		{"empty_line", "", 1, "expected a command name"},
		{"leading_space", " hello", 1, "expected a command name"},
		{"upper_case_name", "Hello", 1, "expected a command name"},
		{"trailing_space", "hello ", 7, "expected an argument name"},
		{"double_space", "run  n=1", 5, "expected an argument name"},
		{"missing_equals", "run n", 6, `argument "n": expected '='`},
		{"upper_case_key", "run N=4", 5, "expected an argument name"},
		{"duplicate_key_points_at_second", "run n=4 n=5", 9, `argument "n" given twice`},
		{"tab_separator", "run n=4\tx=1", 8, `argument "n": byte '\t' must be %-escaped`},
		{"unescaped_equals", "run cell=a=b", 11, `argument "cell": byte '=' must be %-escaped`},
		{"unescaped_quote", `wifi ssid=a"b`, 12, `argument "ssid": byte '"' must be %-escaped`},
		{"high_byte_named_as_hex", "run cell=\xa5", 10, `argument "cell": byte '\xa5' must be %-escaped`},
		{"percent_at_end", "wifi pass=100%", 14, `argument "pass": truncated %XX escape`},
		{"percent_one_digit", "wifi pass=%4", 11, `argument "pass": truncated %XX escape`},
		{"percent_bad_hex", "wifi pass=%zz", 11, `argument "pass": bad %XX escape "%zz"`},
		{"name_then_junk", "run\x00", 4, `unexpected byte '\x00'`},
		{"two_newlines", "hello\n\n", 6, `unexpected byte '\n'`},
		{"too_long", "run cell=" + strings.Repeat("a", MaxCommandLine), MaxCommandLine + 1, "line longer than 512 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCommand(tc.line)
			var ce *CommandError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *CommandError", err)
			}
			if ce.Col != tc.col || ce.Msg != tc.msg {
				t.Fatalf("got column %d %q, want column %d %q", ce.Col, ce.Msg, tc.col, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "column ") {
				t.Fatalf("Error() = %q", err.Error())
			}
		})
	}
	// The limit excludes the line terminator.
	exact := "run cell=" + strings.Repeat("a", MaxCommandLine-len("run cell="))
	if _, err := ParseCommand(exact + "\r\n"); err != nil {
		t.Fatalf("a %d-byte line: %v", len(exact), err)
	}
}

func TestParseRunParams(t *testing.T) {
	defaults := RunParams{PeriodMS: 100, DetailEvery: 10, BaselineMS: 2000, WindowMS: 10000, Cycles: 20,
		HandlerMode: HandlerQueued, WorkMS: 50, EventMS: 100}
	with := func(f func(*RunParams)) RunParams {
		p := defaults
		f(&p)
		return p
	}
	cases := []struct {
		name string
		line string
		want RunParams
		err  string
	}{
		{"defaults", "run scenario=sweep", with(func(p *RunParams) { p.Scenario = ScenarioSweep }), ""},
		{"every_key", "run cell=c1 scenario=churn n=8 period_ms=50 detail_every=0 baseline_ms=1 window_ms=2 cycles=3 " +
			"handler=inline work_ms=4 event_ms=5 seed=18446744073709551615 ws_url=wss://h/ws https_url=https://h/",
			RunParams{Cell: "c1", Scenario: ScenarioChurn, N: 8, PeriodMS: 50, DetailEvery: 0, BaselineMS: 1,
				WindowMS: 2, Cycles: 3, HandlerMode: HandlerInline, WorkMS: 4, EventMS: 5, Seed: 1<<64 - 1,
				WSURL: "wss://h/ws", HTTPSURL: "https://h/"}, ""},
		{"max_sessions", "run scenario=sweep n=64", with(func(p *RunParams) { p.Scenario = ScenarioSweep; p.N = 64 }), ""},
		{"handler_scenario", "run scenario=handler event_ms=20", with(func(p *RunParams) {
			p.Scenario = ScenarioHandler
			p.EventMS = 20
		}), ""},
		{"not_run", "stop", RunParams{}, `not a run command: "stop"`},
		{"scenario_missing", "run n=4", RunParams{}, "argument scenario is required"},
		{"scenario_unknown", "run scenario=soak", RunParams{}, `unknown scenario "soak"`},
		{"unknown_key", "run scenario=sweep sessions=4", RunParams{}, `unknown argument "sessions"`},
		{"too_many_sessions", "run scenario=sweep n=65", RunParams{}, "n=65 exceeds 64 sessions"},
		{"n_overflows_16_bits", "run scenario=sweep n=65536", RunParams{}, `n="65536": want an unsigned 16-bit number`},
		{"negative_number", "run scenario=sweep period_ms=-1", RunParams{}, `period_ms="-1": want an unsigned 32-bit number`},
		{"not_a_number", "run scenario=sweep cycles=ten", RunParams{}, `cycles="ten"`},
		{"zero_period", "run scenario=sweep period_ms=0", RunParams{}, "period_ms must be at least 1"},
		{"bad_handler_mode", "run scenario=handler handler=async", RunParams{}, `handler="async": want inline or queued`},
		{"handler_needs_events", "run scenario=handler event_ms=0", RunParams{}, "event_ms must be positive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCommand(tc.line)
			if err != nil {
				t.Fatal(err)
			}
			p, err := ParseRunParams(c)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p != tc.want {
				t.Fatalf("got %+v\nwant %+v", p, tc.want)
			}
		})
	}
}

func TestRunCommandRoundTrip(t *testing.T) {
	for _, g := range goldenMessages() {
		rs, ok := g.msg.(*RunStart)
		if !ok {
			continue
		}
		for _, p := range []RunParams{rs.Params, {Scenario: ScenarioHandler, PeriodMS: 10, HandlerMode: HandlerInline,
			EventMS: 1, Cell: "odd cell/with=chars", WSURL: "wss://[::1]:8443/ws"}} {
			line := RunCommand(p).String()
			if len(line) > MaxCommandLine {
				t.Fatalf("run command of %d bytes", len(line))
			}
			c, err := ParseCommand(line + "\n")
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			got, err := ParseRunParams(c)
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			if got != p {
				t.Fatalf("%q\nparses to %+v\nwant      %+v", line, got, p)
			}
		}
	}
}
