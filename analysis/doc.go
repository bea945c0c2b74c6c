// Package analysis turns a run directory's captures into figures: per cell
// (steady free internal RAM, minimum ever, largest block, PSRAM used, stack
// high-water mark, resets, watchdog triggers, leak per churn cycle, handler
// latency), per group of repetitions (median with a 95% confidence interval
// as benchstat computes it), per variant across N (the websocket client's
// one-time internal RAM cost and the cost per TLS session, see CostModel),
// and per variant against the run's baseline variant (Judge: internal RAM
// freed at each N with its interval and p-value, and what broke). It writes
// and reads summary.json and compares two summaries (Compare) for CI gates.
//
// It streams records.msgp and never holds a cell's samples in memory: order
// statistics come from stats.Counter, whose size is bounded by the range of
// a heap, not by the length of a capture. Figures that are computed but
// shaky (a reset inside the cell, a short steady window, failed sessions)
// carry Warnings; errors are kept for what stops the analysis.
//
// It never talks to a board, never renders HTML, and never changes a capture.
package analysis
