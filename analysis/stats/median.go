package stats

import (
	"math"
	"slices"

	"golang.org/x/perf/benchmath"
)

// Summary is a median with its confidence interval over a small set of
// measurements (repetitions of a cell), as benchstat reports it.
type Summary struct {
	Center, Lo, Hi float64
	// Confidence is the actual level of [Lo, Hi]; it is at least the level
	// asked for (order statistics give discrete levels).
	Confidence float64
	N          int
	// Warnings explain infinite bounds ("need >= 6 samples ...").
	Warnings []string
}

// Median summarizes values with benchmath.AssumeNothing: the sample median
// and a distribution-free confidence interval from order statistics. values
// is not modified. With too few values the bounds are infinite and Warnings
// says how many are needed.
func Median(values []float64, confidence float64) Summary {
	if len(values) == 0 {
		return Summary{Center: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), Warnings: []string{"no values"}}
	}
	s := benchmath.NewSample(slices.Clone(values), &benchmath.DefaultThresholds)
	sum := benchmath.AssumeNothing.Summary(s, confidence)
	out := Summary{Center: sum.Center, Lo: sum.Lo, Hi: sum.Hi, Confidence: sum.Confidence, N: len(values)}
	for _, w := range sum.Warnings {
		out.Warnings = append(out.Warnings, w.Error())
	}
	return out
}

// Comparison is the outcome of a Mann-Whitney U test between two sets of
// measurements, as benchstat computes it.
type Comparison struct {
	P      float64
	N1, N2 int
	Alpha  float64
	// Warnings say when the samples are too small to ever be significant.
	Warnings []string
}

// Significant reports whether P is at most Alpha, benchstat's rule for
// printing a delta instead of "~".
func (c Comparison) Significant() bool { return c.P <= c.Alpha }

// Compare runs benchmath.AssumeNothing.Compare (a two-sided Mann-Whitney U
// test) on copies of old and new with the given alpha.
func Compare(old, new []float64, alpha float64) Comparison {
	th := &benchmath.Thresholds{CompareAlpha: alpha}
	c := benchmath.AssumeNothing.Compare(benchmath.NewSample(slices.Clone(old), th), benchmath.NewSample(slices.Clone(new), th))
	out := Comparison{P: c.P, N1: c.N1, N2: c.N2, Alpha: c.Alpha}
	for _, w := range c.Warnings {
		out.Warnings = append(out.Warnings, w.Error())
	}
	return out
}
