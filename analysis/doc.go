// Package analysis turns a run directory's captures into figures: per cell
// (steady free internal RAM, minimum ever, largest block, PSRAM used, stack
// high-water mark, resets, watchdog triggers, leak per churn cycle, handler
// latency), per group of repetitions (median with a 95% confidence interval
// as benchstat computes it), and per variant across N (internal RAM cost per
// TLS session and fixed cost, from a least-squares fit). It writes and reads
// summary.json and compares two summaries (Compare) for CI gates.
//
// It streams records.msgp and never holds a cell's samples in memory: order
// statistics come from stats.Counter, whose size is bounded by the range of
// a heap, not by the length of a capture. Figures that are computed but
// shaky (a reset inside the cell, a short steady window, failed sessions)
// carry Warnings; errors are kept for what stops the analysis.
//
// It never talks to a board, never renders HTML, and never changes a capture.
package analysis
