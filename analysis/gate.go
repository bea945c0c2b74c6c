package analysis

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/wsbench/wsbench/internal/didyoumean"
)

// GateKind says how a Gate judges a figure.
type GateKind int

// Gate kinds.
const (
	// GateChange fails when PR-base passes Limit (in the metric's unit). The
	// sign of Limit is the metric's worse direction: negative for a figure
	// that is better higher (a drop of more than -Limit fails), positive
	// for one that is better lower (a rise of more than Limit fails).
	GateChange GateKind = iota
	// GateRelative fails when the change in percent of the base passes
	// Limit; the sign follows the same rule as GateChange.
	GateRelative
	// GateSignificant fails when the metric got significantly worse; for
	// leak_per_cycle also when any PR cell shows a significant leak.
	GateSignificant
	// GateBelow is a floor: it fails when a PR repetition's value is below
	// Limit ("ws_stack_hwm<512B"). It needs no base.
	GateBelow
	// GateAbove is a ceiling: it fails when a PR repetition's value is
	// above Limit ("resets>0"). It needs no base.
	GateAbove
)

// Gate is one --fail-on rule, e.g. "internal_free_steady:-1KB",
// "internal_free_steady:-2%", "leak_per_cycle:significant",
// "ws_stack_hwm<512B", "internal_free_min<16KiB".
type Gate struct {
	Metric string
	Kind   GateKind
	// Limit is in the metric's unit (bytes, microseconds, a count, a ratio
	// as a fraction), or in percent for GateRelative.
	Limit float64
	Raw   string
}

func (g Gate) String() string { return g.Raw }

// GateSyntax is the one-paragraph description of --fail-on, for help texts.
const GateSyntax = `--fail-on takes one rule per flag (or several, comma-separated):
  METRIC:-AMOUNT     change: fails when PR - base drops by more than AMOUNT
  METRIC:+AMOUNT     change: fails when PR - base rises by more than AMOUNT
  METRIC:-P%         change relative to the base, e.g. internal_free_steady:-2%
  METRIC:significant fails when the figure got significantly worse (Mann-Whitney U)
  METRIC<VALUE       floor: fails when any PR repetition is below VALUE
  METRIC>VALUE       ceiling: fails when any PR repetition is above VALUE
A change limit must carry a sign, and the sign must be the metric's worse
direction: internal_free_steady:-1KB (free RAM is better higher, so a drop
fails), per_session_internal_cost:+512B (a cost is better lower, so a rise
fails). An unsigned or backwards limit is refused with the rule to write.
A change past its limit fails only when it is significant, or when there are
too few repetitions to test it (then the change alone decides). Floors and
ceilings are plain thresholds on the PR's values, e.g.
  --fail-on 'ws_stack_hwm<512B' --fail-on 'internal_free_min<16KiB' --fail-on 'resets>0'
Amounts take the metric's unit: bytes with B, KB/KiB/K (1024), MB/MiB/M;
latencies with us, ms, s; counts and ratios as plain numbers (a ratio also
as a percentage: internal_fragmentation>50%).`

// MetricNames returns the names of every stable metric, sorted.
func MetricNames() []string {
	names := make([]string, 0, len(metricInfo))
	for n := range metricInfo {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// suggest returns the known metric closest to name (edit distance at most
// 3), or "".
func suggest(name string) string {
	return didyoumean.Closest(strings.ToLower(name), MetricNames(), 3)
}

// ParseGate parses one --fail-on rule; see GateSyntax.
func ParseGate(s string) (Gate, error) {
	g := Gate{Raw: strings.TrimSpace(s)}
	src := g.Raw
	var name, lim string
	if i := strings.IndexAny(src, ":<>"); i >= 0 {
		name, lim = strings.TrimSpace(src[:i]), strings.TrimSpace(src[i+1:])
		switch src[i] {
		case '<':
			g.Kind = GateBelow
		case '>':
			g.Kind = GateAbove
		}
	}
	if name == "" || lim == "" {
		return g, fmt.Errorf("fail-on %q: want METRIC:CHANGE, METRIC<FLOOR or METRIC>CEILING, e.g. internal_free_steady:-1KB, ws_stack_hwm<512B, leak_per_cycle:significant", s)
	}
	info, known := metricInfo[name]
	if !known {
		hint := ""
		if m := suggest(name); m != "" {
			hint = fmt.Sprintf(" (did you mean %s?)", m)
		}
		return g, fmt.Errorf("fail-on %q: unknown metric %q%s; known: %s", s, name, hint, strings.Join(MetricNames(), ", "))
	}
	g.Metric = name
	if g.Kind == GateChange && strings.EqualFold(lim, "significant") {
		g.Kind = GateSignificant
		return g, nil
	}
	worse := "+"
	if info.Better == HigherIsBetter {
		worse = "-"
	}
	if g.Kind == GateBelow || g.Kind == GateAbove {
		if lim[0] == '+' || lim[0] == '-' || lim[0] == '=' {
			return g, fmt.Errorf("fail-on %q: a floor or ceiling is a plain value (%s<512B, resets>0), not a signed change", s, name)
		}
		v, err := parseAmount(lim, info.Unit, true)
		if err != nil {
			return g, fmt.Errorf("fail-on %q: %w", s, err)
		}
		g.Limit = v
		return g, nil
	}
	sign := 0.0
	switch lim[0] {
	case '-':
		sign, lim = -1, lim[1:]
	case '+':
		sign, lim = 1, lim[1:]
	}
	direction := map[string]string{"-": "drop", "+": "rise"}
	if sign == 0 {
		return g, fmt.Errorf("fail-on %q: a change limit needs a sign: write %s:%s%s to fail when %s %ss by more than %s (%s is better); for a floor or ceiling write %s<VALUE or %s>VALUE",
			s, name, worse, lim, name, direction[worse], lim, info.Better, name, name)
	}
	if (sign < 0) != (worse == "-") {
		given := map[bool]string{true: "-", false: "+"}[sign < 0]
		return g, fmt.Errorf("fail-on %q: %s is better %s, so %s%s would fail when it improves; write %s:%s%s to fail when it %ss by more than %s",
			s, name, info.Better, given, lim, name, worse, lim, direction[worse], lim)
	}
	if strings.HasSuffix(lim, "%") {
		g.Kind = GateRelative
		v, err := parseNumber(strings.TrimSuffix(lim, "%"))
		if err != nil {
			return g, fmt.Errorf("fail-on %q: %w", s, err)
		}
		g.Limit = sign * v
		return g, nil
	}
	v, err := parseAmount(lim, info.Unit, false)
	if err != nil {
		return g, fmt.Errorf("fail-on %q: %w", s, err)
	}
	g.Limit = sign * v
	return g, nil
}

func parseNumber(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !(v >= 0) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("limit %q is not a number", s)
	}
	return v, nil
}

// parseAmount parses an unsigned amount in unit with an optional suffix.
// percentOK allows a ratio written as a percentage.
func parseAmount(s, unit string, percentOK bool) (float64, error) {
	type suffix struct {
		s    string
		mult float64
	}
	var sufs []suffix
	var want string
	switch unit {
	case UnitBytes, UnitBytesSession, UnitBytesCycle:
		sufs = []suffix{{"KIB", 1024}, {"MIB", 1 << 20}, {"KB", 1024}, {"MB", 1 << 20}, {"K", 1024}, {"M", 1 << 20}, {"B", 1}}
		want = "bytes (B, KB, KiB, MB, MiB)"
	case UnitMicros:
		sufs = []suffix{{"US", 1}, {"µS", 1}, {"MS", 1000}, {"S", 1e6}}
		want = "time (us, ms, s)"
	case UnitRatio:
		if percentOK {
			sufs = []suffix{{"%", 0.01}}
		}
		want = "a ratio (0.5 or 50%)"
	default:
		want = "a count (a plain number)"
	}
	up := strings.ToUpper(strings.TrimSpace(s))
	mult := 1.0
	for _, u := range sufs {
		if strings.HasSuffix(up, u.s) {
			mult, up = u.mult, strings.TrimSpace(up[:len(up)-len(u.s)])
			break
		}
	}
	if up != "" && strings.IndexFunc(up, func(r rune) bool { return (r < '0' || r > '9') && r != '.' && r != 'E' && r != '+' && r != '-' }) >= 0 {
		return 0, fmt.Errorf("limit %q: the metric is %s", s, want)
	}
	v, err := parseNumber(up)
	if err != nil {
		return 0, fmt.Errorf("limit %q is not a number (the metric is %s)", s, want)
	}
	v *= mult
	if math.IsInf(v, 0) {
		return 0, fmt.Errorf("limit %q is too large", s)
	}
	return v, nil
}

// Thresholds configure Compare. Start from DefaultThresholds.
type Thresholds struct {
	// Alpha is the level below which a difference is significant.
	Alpha float64
	// Gates are the --fail-on rules.
	Gates []Gate
	// AllowFailedCells keeps cells that fail in the PR (and not in the
	// base) from failing the comparison; they are still reported.
	AllowFailedCells bool
}

// DefaultThresholds are alpha 0.05 and no gates.
func DefaultThresholds() Thresholds { return Thresholds{Alpha: 0.05} }
