package stats

import (
	"math"
	"slices"
)

// Counter accumulates a stream of non-negative integers (heap sizes in
// bytes, latencies in microseconds) and answers exact order statistics. It
// stores one count per distinct value, so its memory is bounded by the range
// of the quantity (a heap of 512 KiB has at most 512 Ki distinct free sizes),
// never by the length of the stream.
type Counter struct {
	counts   map[uint32]uint64
	n        uint64
	min, max uint32
	sum      float64
}

// Add counts one value.
func (c *Counter) Add(v uint32) {
	if c.counts == nil {
		c.counts = make(map[uint32]uint64)
		c.min, c.max = v, v
	}
	c.counts[v]++
	c.n++
	c.sum += float64(v)
	c.min = min(c.min, v)
	c.max = max(c.max, v)
}

// N is the number of values added.
func (c *Counter) N() int { return int(c.n) }

// Min and Max are the extreme values, 0 when empty.
func (c *Counter) Min() uint32 { return c.min }

// Max is the largest value added, 0 when empty.
func (c *Counter) Max() uint32 { return c.max }

// Mean is the arithmetic mean, NaN when empty.
func (c *Counter) Mean() float64 {
	if c.n == 0 {
		return math.NaN()
	}
	return c.sum / float64(c.n)
}

// Quantiles returns the q-quantiles (0 <= q <= 1) for each q in qs, as
// Percentile computes them over the sorted stream; NaN when empty.
func (c *Counter) Quantiles(qs ...float64) []float64 {
	out := make([]float64, len(qs))
	if c.n == 0 {
		for i := range out {
			out[i] = math.NaN()
		}
		return out
	}
	keys := make([]uint32, 0, len(c.counts))
	for k := range c.counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	// at returns the value of 0-based rank r in the sorted stream.
	at := func(r uint64) float64 {
		var seen uint64
		for _, k := range keys {
			seen += c.counts[k]
			if r < seen {
				return float64(k)
			}
		}
		return float64(keys[len(keys)-1])
	}
	for i, q := range qs {
		lo, hi, frac := rank(int(c.n), q)
		a := at(uint64(lo))
		if frac == 0 {
			out[i] = a
			continue
		}
		out[i] = a + frac*(at(uint64(hi))-a)
	}
	return out
}

// Median is the 0.5-quantile.
func (c *Counter) Median() float64 { return c.Quantiles(0.5)[0] }

// Percentile returns the q-quantile of sorted (ascending) values by linear
// interpolation between closest ranks (the "R-7" definition used by numpy's
// default and by stats.Sample.Quantile in go-moremath); NaN when empty.
func Percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	lo, hi, frac := rank(len(sorted), q)
	return sorted[lo] + frac*(sorted[hi]-sorted[lo])
}

func rank(n int, q float64) (lo, hi int, frac float64) {
	q = min(max(q, 0), 1)
	pos := q * float64(n-1)
	lo = int(math.Floor(pos))
	hi = min(lo+1, n-1)
	return lo, hi, pos - float64(lo)
}
