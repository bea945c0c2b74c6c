// Package charts renders a run's Summary and timelines as one self-contained
// HTML report (report.html) and renders the comparison of two runs: summary
// tables and go-echarts charts (free internal RAM over time with resets and
// watchdog triggers marked, steady free RAM against N with interval bands,
// per-session and fixed cost, internal vs PSRAM use, stack headroom, leak
// per cycle, handler latency, owner breakdown).
//
// The page opens offline: the echarts library from the npm package pinned in
// package-lock.json is inlined, and nothing is loaded from the network. Every
// string that came from a board or a matrix file is escaped: HTML goes
// through html/template and chart options through encoding/json, which
// escapes <, > and & (go-echarts' own page renderer does not, so it is not
// used). Long series are downsampled with LTTB for display only.
//
// It never computes a figure that summary.json does not hold and never
// changes a capture.
package charts
