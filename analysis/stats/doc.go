// Package stats holds the pure statistics wsbench's analysis needs: least-
// squares fits with t-distribution confidence intervals, exact quantiles of
// integer-valued streams in memory bounded by the number of distinct values,
// and medians with confidence intervals computed by golang.org/x/perf's
// benchmath exactly as benchstat computes them.
//
// Slices in, values out: it never reads a file, never knows what a cell or a
// board is, and never formats a number for a person.
package stats
