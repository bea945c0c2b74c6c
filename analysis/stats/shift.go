package stats

import (
	"math"
	"slices"
)

// Shift is the difference new - old between two sets of measurements: the
// Hodges-Lehmann estimate (the median of all pairwise differences) with
// its distribution-free confidence interval (Moses: order statistics of the
// pairwise differences at the critical values of the Mann-Whitney U
// distribution), and the Mann-Whitney p-value as benchmath computes it.
// The interval assumes the two distributions differ by a shift; it needs
// no other assumption about their shape.
type Shift struct {
	Delta, Lo, Hi float64
	// Confidence is the actual level of [Lo, Hi] (order statistics give
	// discrete levels); 0 when the samples are too small for an interval at
	// the level asked for (then Lo and Hi are NaN).
	Confidence float64
	P          float64
	N1, N2     int
}

// ShiftOf computes the shift of new against old at the given confidence
// level. Either sample empty gives NaN everywhere.
func ShiftOf(old, new []float64, confidence float64) Shift {
	m, n := len(old), len(new)
	s := Shift{Delta: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), P: math.NaN(), N1: m, N2: n}
	if m == 0 || n == 0 {
		return s
	}
	d := make([]float64, 0, m*n)
	for _, a := range old {
		for _, b := range new {
			d = append(d, b-a)
		}
	}
	slices.Sort(d)
	s.Delta = quantileSorted(d)
	s.P = Compare(old, new, 1-confidence).P
	c, level := mwCritical(m, n, 1-confidence)
	if c > 0 {
		s.Lo, s.Hi, s.Confidence = d[c-1], d[len(d)-c], level
	}
	return s
}

// quantileSorted is the median of sorted values.
func quantileSorted(v []float64) float64 {
	k := len(v)
	if k%2 == 1 {
		return v[k/2]
	}
	return (v[k/2-1] + v[k/2]) / 2
}

// mwCritical returns the largest c >= 1 with P(U <= c-1) <= alpha/2 under
// the null distribution of the Mann-Whitney U statistic for samples of m
// and n (no ties), and the two-sided level 1 - 2 P(U <= c-1) of the
// interval [D(c), D(mn+1-c)]. It returns 0 when no such c exists.
func mwCritical(m, n int, alpha float64) (int, float64) {
	if m > 60 || n > 60 {
		// The exact table would be large; a normal approximation is
		// precise at these sizes.
		mu := float64(m*n) / 2
		sd := math.Sqrt(float64(m*n*(m+n+1)) / 12)
		z := normalQuantile(1 - alpha/2)
		c := int(math.Floor(mu - z*sd))
		if c < 1 {
			return 0, 0
		}
		return c, 1 - alpha
	}
	counts := uCounts(m, n)
	total := 0.0
	for _, v := range counts {
		total += v
	}
	cum, c, level := 0.0, 0, 0.0
	for u := 0; u < len(counts); u++ {
		cum += counts[u]
		if cum/total > alpha/2 {
			break
		}
		c, level = u+1, 1-2*cum/total
	}
	return c, level
}

// uCounts returns, for U = 0..m*n, the number of arrangements of m and n
// items with that U (the null distribution's frequencies).
func uCounts(m, n int) []float64 {
	// f[i][j] is the distribution for samples of i and j.
	prev := make([][]float64, n+1)
	for j := range prev {
		prev[j] = []float64{1}
	}
	for i := 1; i <= m; i++ {
		cur := make([][]float64, n+1)
		cur[0] = []float64{1}
		for j := 1; j <= n; j++ {
			out := make([]float64, i*j+1)
			// f(i, j, u) = f(i-1, j, u-j) + f(i, j-1, u)
			for u, v := range prev[j] {
				out[u+j] += v
			}
			for u, v := range cur[j-1] {
				out[u] += v
			}
			cur[j] = out
		}
		prev = cur
	}
	return prev[n]
}

// normalQuantile is the standard normal quantile.
func normalQuantile(p float64) float64 { return math.Sqrt2 * math.Erfinv(2*p-1) }
