package stats

import "math"

// LTTB downsamples the series (x, y), x ascending, to at most threshold
// points with Steinarsson's Largest-Triangle-Three-Buckets algorithm: the
// first and last points are kept, and from each of threshold-2 equal buckets
// the point forming the largest triangle with the previously kept point and
// the next bucket's average is kept. It returns indexes into x and y. With
// threshold >= len(x) or threshold < 3 every index is returned.
func LTTB(x, y []float64, threshold int) []int {
	n := min(len(x), len(y))
	if threshold >= n || threshold < 3 {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	out := make([]int, 0, threshold)
	out = append(out, 0)
	every := float64(n-2) / float64(threshold-2)
	a := 0
	for i := 0; i < threshold-2; i++ {
		// Average of the next bucket (the last point when it is the last bucket).
		avgStart := int(math.Floor(float64(i+1)*every)) + 1
		avgEnd := min(int(math.Floor(float64(i+2)*every))+1, n)
		if avgStart >= avgEnd {
			avgStart, avgEnd = n-1, n
		}
		var avgX, avgY float64
		for j := avgStart; j < avgEnd; j++ {
			avgX += x[j]
			avgY += y[j]
		}
		cnt := float64(avgEnd - avgStart)
		avgX /= cnt
		avgY /= cnt
		lo := int(math.Floor(float64(i)*every)) + 1
		hi := int(math.Floor(float64(i+1)*every)) + 1
		best, bestArea := lo, -1.0
		for j := lo; j < hi && j < n-1; j++ {
			area := math.Abs((x[a]-avgX)*(y[j]-y[a]) - (x[a]-x[j])*(avgY-y[a]))
			if area > bestArea {
				best, bestArea = j, area
			}
		}
		out = append(out, best)
		a = best
	}
	return append(out, n-1)
}
