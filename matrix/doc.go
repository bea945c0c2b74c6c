// Package matrix says what a benchmark run measures and runs it: it parses
// matrix files (boards, variants, component behaviour, scenarios,
// repetitions), expands them into cells, and runs the cells on virtual or
// real boards against a peer server, storing each cell's capture in a run
// directory. It never decodes bytes itself (package collector does) and
// never computes figures (package analysis does).
package matrix
