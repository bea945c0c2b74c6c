package analysis

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// GateKind says how a Gate judges a change.
type GateKind int

// Gate kinds.
const (
	// GateAbsolute fails when new-old passes Limit (in the metric's unit):
	// a negative Limit bounds a drop, a positive one a rise.
	GateAbsolute GateKind = iota
	// GateRelative fails when the change in percent passes Limit.
	GateRelative
	// GateSignificant fails when the metric got significantly worse; for
	// leak_per_cycle also when any PR cell shows a significant leak.
	GateSignificant
)

// Gate is one --fail-on rule, e.g. "internal_free_steady:-1KB",
// "internal_free_steady:-2%", "leak_per_cycle:significant".
type Gate struct {
	Metric string
	Kind   GateKind
	Limit  float64
	Raw    string
}

func (g Gate) String() string { return g.Raw }

// ParseGate parses "metric:limit". limit is "significant", a signed
// percentage ("-2%"), or a signed amount in the metric's unit with an
// optional byte suffix (B, KB, KiB, MB, MiB; K and M mean 1024 and
// 1024²). The sign says the direction that fails: "-1KB" fails a drop of
// more than 1 KiB, "+500B" a rise of more than 500 B. An unsigned amount
// fails in the metric's worse direction.
func ParseGate(s string) (Gate, error) {
	g := Gate{Raw: s}
	name, lim, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || name == "" || lim == "" {
		return g, fmt.Errorf("fail-on %q: want metric:limit, e.g. internal_free_steady:-1KB, internal_free_steady:-2%%, leak_per_cycle:significant", s)
	}
	info, known := metricInfo[name]
	if !known {
		return g, fmt.Errorf("fail-on %q: unknown metric %q", s, name)
	}
	g.Metric = name
	lim = strings.TrimSpace(lim)
	if strings.EqualFold(lim, "significant") {
		g.Kind = GateSignificant
		return g, nil
	}
	sign := 0.0
	switch lim[0] {
	case '-':
		sign, lim = -1, lim[1:]
	case '+':
		sign, lim = 1, lim[1:]
	}
	if sign == 0 {
		sign = 1
		if info.Better == HigherIsBetter {
			sign = -1
		}
	}
	mult := 1.0
	if strings.HasSuffix(lim, "%") {
		g.Kind = GateRelative
		lim = strings.TrimSuffix(lim, "%")
	} else {
		up := strings.ToUpper(lim)
		for _, u := range []struct {
			suffix string
			mult   float64
		}{{"KIB", 1024}, {"MIB", 1 << 20}, {"KB", 1024}, {"MB", 1 << 20}, {"K", 1024}, {"M", 1 << 20}, {"B", 1}} {
			if strings.HasSuffix(up, u.suffix) {
				if !strings.HasPrefix(info.Unit, "B") {
					return g, fmt.Errorf("fail-on %q: %s is in %s, not bytes", s, name, info.Unit)
				}
				mult, lim = u.mult, lim[:len(lim)-len(u.suffix)]
				break
			}
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(lim), 64)
	if err != nil || !(v >= 0) || math.IsInf(v, 0) {
		return g, fmt.Errorf("fail-on %q: limit %q is not a number", s, lim)
	}
	g.Limit = sign * v * mult
	return g, nil
}

// Thresholds configure Compare. Start from DefaultThresholds.
type Thresholds struct {
	// Alpha is the level below which a difference is significant.
	Alpha float64
	// Gates are the --fail-on rules.
	Gates []Gate
}

// DefaultThresholds are alpha 0.05 and no gates.
func DefaultThresholds() Thresholds { return Thresholds{Alpha: 0.05} }
