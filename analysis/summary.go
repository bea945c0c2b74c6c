package analysis

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"time"

	"github.com/wsbench/wsbench/rundir"
)

// SchemaVersion is the version of summary.json's layout. Metric names and
// units are stable within a version.
const SchemaVersion = 1

// Confidence is the level of every interval in a Summary.
const Confidence = 0.95

// Stable metric names in summary.json.
const (
	MetricInternalFreeBaseline = "internal_free_baseline"    // B, median over the baseline phase
	MetricInternalFreeSteady   = "internal_free_steady"      // B, median over the steady phase
	MetricInternalFreeMin      = "internal_free_min"         // B, minimum of the heap's minimum_free_bytes
	MetricInternalLargest      = "internal_largest_block"    // B, median largest free block in steady
	MetricFragmentation        = "internal_fragmentation"    // ratio, 1 - largest/free in steady
	MetricInternalUsed         = "internal_used_steady"      // B, internal total - steady free
	MetricPSRAMFreeSteady      = "psram_free_steady"         // B
	MetricPSRAMUsed            = "psram_used"                // B, spiram total - steady free
	MetricDMAFree              = "dma_free_steady"           // B, median DMA-capable free in steady (HeapDetail)
	MetricWSStackHWM           = "ws_stack_hwm"              // B, least unused websocket task stack
	MetricWSStackHeadroom      = "ws_stack_headroom"         // ratio, hwm / stack size
	MetricResets               = "resets"                    // count of reboots after the run began
	MetricWatchdogs            = "watchdogs"                 // count of triggers: the larger of console reports and watchdog_warning events
	MetricStackOverflows       = "stack_overflows"           // count
	MetricPanics               = "panics"                    // count
	MetricSessionFailures      = "session_failures"          // count of session_failed events
	MetricAllocFailures        = "alloc_failures"            // count of alloc_failed events
	MetricSamplesDropped       = "samples_dropped"           // count the board could not send
	MetricSessionsOpen         = "sessions_open_steady"      // count, median of Sample.sessions over the steady phase
	MetricLeakPerCycle         = "leak_per_cycle"            // B/cycle, -slope of internal free after each churn cycle
	MetricLatencyP50           = "handler_latency_p50"       // us
	MetricLatencyP90           = "handler_latency_p90"       // us
	MetricLatencyP99           = "handler_latency_p99"       // us
	MetricLatencyMax           = "handler_latency_max"       // us
	MetricPerSessionCost       = "per_session_internal_cost" // B/session, one TLS session (see CostModel)
	MetricPerSessionPSRAM      = "per_session_psram_cost"    // B/session, slope of PSRAM used against N
	MetricSteadyFreeAtZero     = "steady_free_at_zero"       // B, measured: median steady free internal of the N=0 sweep cells
	MetricFixedCost            = "fixed_internal_cost"       // B, one-time cost of the first session (the websocket client) besides its TLS session
	MetricCellsFailed          = "cells_failed"              // count of a group's cells that ended failed (compare only)
)

// Units.
const (
	UnitBytes        = "B"
	UnitBytesSession = "B/session"
	UnitBytesCycle   = "B/cycle"
	UnitCount        = "count"
	UnitRatio        = "ratio"
	UnitMicros       = "us"
)

// Direction says which way a metric improves, for verdicts.
type Direction string

// Directions.
const (
	HigherIsBetter Direction = "higher"
	LowerIsBetter  Direction = "lower"
)

// MetricInfo describes a stable metric.
type MetricInfo struct {
	Unit   string
	Better Direction
	// Core metrics decide a variant's verdict in Compare.
	Core bool
}

// Info returns the unit and direction of a stable metric.
func Info(name string) (MetricInfo, bool) {
	m, ok := metricInfo[name]
	return m, ok
}

// metricInfo lists every stable metric with its unit and direction; read
// it through Info.
var metricInfo = map[string]MetricInfo{
	MetricInternalFreeBaseline: {UnitBytes, HigherIsBetter, false},
	MetricInternalFreeSteady:   {UnitBytes, HigherIsBetter, true},
	MetricInternalFreeMin:      {UnitBytes, HigherIsBetter, true},
	MetricInternalLargest:      {UnitBytes, HigherIsBetter, false},
	MetricFragmentation:        {UnitRatio, LowerIsBetter, false},
	MetricInternalUsed:         {UnitBytes, LowerIsBetter, false},
	MetricPSRAMFreeSteady:      {UnitBytes, HigherIsBetter, false},
	MetricPSRAMUsed:            {UnitBytes, LowerIsBetter, false},
	MetricDMAFree:              {UnitBytes, HigherIsBetter, false},
	MetricWSStackHWM:           {UnitBytes, HigherIsBetter, true},
	MetricWSStackHeadroom:      {UnitRatio, HigherIsBetter, false},
	MetricResets:               {UnitCount, LowerIsBetter, true},
	MetricWatchdogs:            {UnitCount, LowerIsBetter, true},
	MetricStackOverflows:       {UnitCount, LowerIsBetter, true},
	MetricPanics:               {UnitCount, LowerIsBetter, true},
	MetricSessionFailures:      {UnitCount, LowerIsBetter, true},
	MetricAllocFailures:        {UnitCount, LowerIsBetter, false},
	MetricSamplesDropped:       {UnitCount, LowerIsBetter, false},
	MetricSessionsOpen:         {UnitCount, HigherIsBetter, false},
	MetricLeakPerCycle:         {UnitBytesCycle, LowerIsBetter, true},
	MetricLatencyP50:           {UnitMicros, LowerIsBetter, false},
	MetricLatencyP90:           {UnitMicros, LowerIsBetter, false},
	MetricLatencyP99:           {UnitMicros, LowerIsBetter, true},
	MetricLatencyMax:           {UnitMicros, LowerIsBetter, false},
	MetricPerSessionCost:       {UnitBytesSession, LowerIsBetter, true},
	MetricPerSessionPSRAM:      {UnitBytesSession, LowerIsBetter, false},
	MetricSteadyFreeAtZero:     {UnitBytes, HigherIsBetter, false},
	MetricFixedCost:            {UnitBytes, LowerIsBetter, false},
	MetricCellsFailed:          {UnitCount, LowerIsBetter, true},
}

// Float is a float64 that is written to JSON as null when it is NaN or
// infinite (an interval that could not be computed) and read back as NaN.
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(v)
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = Float(math.NaN())
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = Float(v)
	return nil
}

// Metric is one figure with its unit, interval and sample count.
type Metric struct {
	Name  string  `json:"name"`
	Unit  string  `json:"unit"`
	Value float64 `json:"value"`
	// Lo and Hi bound the confidence interval at level Confidence; null in
	// JSON when there is no interval (a single measurement, too few
	// repetitions).
	Lo         Float   `json:"ci_low"`
	Hi         Float   `json:"ci_high"`
	Confidence float64 `json:"confidence,omitempty"`
	// N is the number of measurements behind Value: samples for a cell
	// figure, repetitions for a group, cells for a fit across N.
	N int `json:"n"`
	// Values are the per-repetition values a group median was computed
	// from (Compare runs its Mann-Whitney test on them).
	Values []float64 `json:"values,omitempty"`
	// Significant is set for leak_per_cycle: the interval excludes zero.
	Significant *bool `json:"significant,omitempty"`
}

// HasInterval reports whether Lo and Hi are finite.
func (m Metric) HasInterval() bool {
	return !math.IsNaN(float64(m.Lo)) && !math.IsInf(float64(m.Lo), 0) && !math.IsNaN(float64(m.Hi)) && !math.IsInf(float64(m.Hi), 0)
}

// point is a metric without an interval.
func point(name string, v float64, n int) Metric {
	return Metric{Name: name, Unit: metricInfo[name].Unit, Value: v, Lo: Float(math.NaN()), Hi: Float(math.NaN()), N: n}
}

// Key identifies a group of repetitions: everything that defines a cell
// except its repetition index. In a comparison, N is FitAcrossN for a row
// about a variant's fit across N.
type Key struct {
	Board     string `json:"board"`
	Variant   string `json:"variant"`
	Behaviour string `json:"behaviour,omitempty"`
	Branch    string `json:"branch,omitempty"`
	Scenario  string `json:"scenario"`
	Label     string `json:"label,omitempty"`
	N         int    `json:"n"`
}

// String renders k as "board=... variant=... n=...".
func (k Key) String() string {
	s := fmt.Sprintf("board=%s variant=%s", k.Board, k.Variant)
	if k.Behaviour != "" {
		s += " behaviour=" + k.Behaviour
	}
	if k.Branch != "" {
		s += " branch=" + k.Branch
	}
	s += " scenario=" + k.Scenario
	if k.Label != "" && k.Label != k.Scenario {
		s += " label=" + k.Label
	}
	if k.N < 0 {
		return s + " n=fit"
	}
	return s + fmt.Sprintf(" n=%d", k.N)
}

// VariantLabel is k's variant as tables show it: "variant (behaviour)".
func (k Key) VariantLabel() string {
	if k.Behaviour != "" {
		return k.Variant + " (" + k.Behaviour + ")"
	}
	return k.Variant
}

// ScenarioLabel is k's scenario (its label when it has one) and N as
// tables show them: "sweep N=4", or "sweep (fit across N)".
func (k Key) ScenarioLabel() string {
	s := k.Scenario
	if k.Label != "" && k.Label != k.Scenario {
		s = k.Label
	}
	if k.N >= 0 {
		return s + fmt.Sprintf(" N=%d", k.N)
	}
	return s + " (fit across N)"
}

// FitAcrossN is Key.N of a comparison row about a fit across every N.
const FitAcrossN = -1

// VariantKey identifies a variant on a board, the unit of a fit across N.
type VariantKey struct {
	Board     string `json:"board"`
	Variant   string `json:"variant"`
	Behaviour string `json:"behaviour,omitempty"`
	Branch    string `json:"branch,omitempty"`
}

// String renders k as "board=... variant=...".
func (k VariantKey) String() string {
	s := fmt.Sprintf("board=%s variant=%s", k.Board, k.Variant)
	if k.Behaviour != "" {
		s += " behaviour=" + k.Behaviour
	}
	if k.Branch != "" {
		s += " branch=" + k.Branch
	}
	return s
}

// Variant returns the variant part of k.
func (k Key) VariantKey() VariantKey {
	return VariantKey{Board: k.Board, Variant: k.Variant, Behaviour: k.Behaviour, Branch: k.Branch}
}

// OwnerUse is the memory one owner label held at the end of the steady phase.
type OwnerUse struct {
	Label  string `json:"label"`
	Heap   string `json:"heap"` // internal, spiram
	Bytes  uint32 `json:"bytes"`
	Blocks uint32 `json:"blocks"`
}

// CellResult holds the figures of one cell.
type CellResult struct {
	ID  string `json:"id"`
	Key Key    `json:"key"`
	Rep int    `json:"rep"`
	// Status and Reason are the cell's status from cell.json.
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	// From the board's Hello.
	// BoardKind is virtual, qemu or hardware (analysis/boardkind.go).
	BoardKind        string `json:"board_kind,omitempty"`
	Chip             string `json:"chip,omitempty"`
	IDFVersion       string `json:"idf,omitempty"`
	ComponentVersion string `json:"component_version,omitempty"`
	InternalTotal    uint32 `json:"internal_total,omitempty"`
	SPIRAMTotal      uint32 `json:"spiram_total,omitempty"`
	WSTaskStack      uint32 `json:"ws_task_stack,omitempty"`
	// Segments is the number of boots seen in the capture.
	Segments int      `json:"segments"`
	Samples  int      `json:"samples"`
	Metrics  []Metric `json:"metrics"`
	// Owners is the last owner snapshot of the steady phase (every Owners
	// frame of one seq), when the board reported one. OwnersInternalUsed is
	// internal total - internal free at the sample with the snapshot's seq;
	// OwnersUnattributed is that minus the internal bytes the owners name
	// (allocations without an owner label, allocator overhead).
	Owners             []OwnerUse `json:"owners,omitempty"`
	OwnersSeq          uint32     `json:"owners_seq,omitempty"`
	OwnersInternalUsed int64      `json:"owners_internal_used,omitempty"`
	OwnersUnattributed int64      `json:"owners_unattributed,omitempty"`
	Warnings           []string   `json:"warnings,omitempty"`
}

// GroupResult summarizes the repetitions of one Key: each metric is the
// median across repetitions with its confidence interval.
type GroupResult struct {
	Key      Key      `json:"key"`
	Cells    []string `json:"cells"`
	Metrics  []Metric `json:"metrics"`
	Warnings []string `json:"warnings,omitempty"`
}

// CostResult is the fit of steady free internal RAM against the sessions
// open for one variant (sweep cells only), under CostModel:
//
//	free = b0 - fixed·1[n≥1] - per_session·n
//
// Session 0 is the websocket client (docs/wire.md), so free internal RAM
// steps down once when the first session opens (the client's task stack,
// struct and config, besides its own TLS session) and then by one TLS
// session per session. fixed_internal_cost is that one-time step without
// the client's TLS session; per_session_internal_cost is one TLS session
// (the client's included). b0 is the mean steady free of the N=0 cells;
// b0 - fixed and per_session are a least-squares line through the cells
// with sessions open. The two parts keep their own noise (with no session
// there is no network traffic, so N=0 cells vary less): one pooled
// residual variance would make the per-session interval too narrow
// (coverage 90 and 92.5% instead of 95% over 200 synthetic runs) and the one-time one too
// wide. See CostModel. steady_free_at_zero is measured, not fitted: the
// median steady free internal RAM of the variant's N=0 cells (absent
// without such cells; then b0 comes from every cell's baseline phase).
type CostResult struct {
	Variant  VariantKey `json:"variant"`
	Scenario string     `json:"scenario"`
	Ns       []int      `json:"ns"`
	Metrics  []Metric   `json:"metrics"`
	// Model states the fitted model in words; B0 is its b0 (the mean free
	// internal RAM with no session), for drawing the fit.
	Model string  `json:"model,omitempty"`
	B0    float64 `json:"b0,omitempty"`
	// SlopeSE and FixedSE are the standard errors of the per-session and
	// one-time costs, SlopeDF and FixedDF their degrees of freedom (Welch
	// for the one-time cost), ResidualSE that of the line through the cells
	// with sessions open; for comparing fits.
	SlopeSE    float64  `json:"slope_se"`
	SlopeDF    int      `json:"slope_df"`
	FixedSE    float64  `json:"fixed_se"`
	FixedDF    float64  `json:"fixed_df"`
	ResidualSE float64  `json:"residual_se"`
	Warnings   []string `json:"warnings,omitempty"`
}

// Summary is the analysis of one run directory, written as summary.json.
type Summary struct {
	Schema     int       `json:"schema"`
	RunID      string    `json:"run_id,omitempty"`
	Generated  time.Time `json:"generated"`
	Confidence float64   `json:"confidence"`
	// Definitions says in words what the less obvious figures mean.
	Definitions map[string]string `json:"definitions"`
	Cells       []CellResult      `json:"cells"`
	Groups      []GroupResult     `json:"groups"`
	Costs       []CostResult      `json:"costs"`
	// Judgement is what the verdicts were judged with: the baseline variant
	// and the thresholds (from the matrix, or the defaults).
	Judgement Judgement `json:"judgement"`
	// Verdicts judge every variant against the baseline variant of its
	// board; VerdictLines say it in one sentence per variant.
	Verdicts     []Verdict     `json:"verdicts"`
	VerdictLines []VerdictLine `json:"verdict_lines"`
	// Static is the static memory of every firmware image a hardware run
	// flashed (idf.py size); empty for virtual boards.
	Static []StaticMemory `json:"static,omitempty"`
	// BoardKinds maps each board to the kind of board its Hellos reported:
	// virtual, qemu or hardware.
	BoardKinds map[string]string `json:"board_kinds,omitempty"`
	Warnings   []string          `json:"warnings,omitempty"`
}

// Metric returns the metric called name and whether it is there.
func metricByName(ms []Metric, name string) (Metric, bool) {
	for _, m := range ms {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

// Metric returns the named metric of the cell.
func (c *CellResult) Metric(name string) (Metric, bool) { return metricByName(c.Metrics, name) }

// Metric returns the named metric of the group.
func (g *GroupResult) Metric(name string) (Metric, bool) { return metricByName(g.Metrics, name) }

// Metric returns the named metric of the fit.
func (c *CostResult) Metric(name string) (Metric, bool) { return metricByName(c.Metrics, name) }

var definitions = map[string]string{
	MetricInternalFreeSteady: "median of MALLOC_CAP_INTERNAL free bytes over every sample of the steady phase",
	MetricInternalFreeMin:    "smallest minimum_free_bytes any sample reported (the heap's low-water mark)",
	MetricFragmentation:      "1 - largest free block / free bytes, both medians over the steady phase",
	MetricPSRAMUsed:          "spiram_total from Hello minus the median SPIRAM free bytes over the steady phase",
	MetricWSStackHWM:         "smallest websocket task stack high-water mark (bytes never used) over samples with a task running",
	MetricWSStackHeadroom:    "ws_stack_hwm divided by the websocket task's stack size",
	MetricResets:             "boot banners seen after the run began",
	MetricWatchdogs:          "task watchdog triggers: the larger of the console's watchdog reports and the board's watchdog_warning events (a board reports one trigger both ways)",
	MetricLeakPerCycle:       "minus the least-squares slope of internal free bytes (first sample after each cycle_end) against the cycle index; the first cycle is a warm-up and is left out when at least 4 cycles ran; flagged when the 95% interval excludes zero",
	MetricPerSessionCost:     "internal RAM one more TLS session takes: per_session in the fit free = b0 - fixed*1[n>=1] - per_session*n of steady free internal bytes against the sessions open in steady (sessions_open_steady; N when the board does not say), least squares over every sweep cell of a variant, 95% t interval",
	MetricSessionsOpen:       "median number of TLS sessions open over the steady phase; below N when sessions failed",
	MetricSteadyFreeAtZero:   "measured, not fitted: median steady free internal bytes of the variant's N=0 sweep cells (no session, no client), with the group's 95% interval",
	MetricFixedCost:          "one-time internal RAM when the first session opens, besides that session's TLS cost: fixed in the same fit; session 0 is the websocket client, so this is its task stack, struct, config and event loop (plus any first-use allocation), 95% t interval",
	VerdictSessionsFit:       "most TLS sessions open in any sweep group of a variant (sessions_open_steady, median over repetitions; every sweep counts, whatever its label); its bound is \"limit\" when a group with a larger N held fewer (sessions beyond the figure failed) and \"floor\" when every N tried held its sessions (at least that many fit: no limit reached); flagged fewer only when the variant's limit lies below the baseline's figure",
	"group":                  "figures of a group are medians across repetitions with a distribution-free 95% interval (golang.org/x/perf/benchmath AssumeNothing)",
}

// WriteSummary writes s as summary.json in runDir.
func WriteSummary(runDir string, s *Summary) error {
	return rundir.WriteJSON(filepath.Join(runDir, rundir.SummaryFile), s)
}

// ReadSummary reads summary.json from runDir (or a summary.json path).
func ReadSummary(path string) (*Summary, error) {
	if filepath.Base(path) != rundir.SummaryFile {
		path = filepath.Join(path, rundir.SummaryFile)
	}
	var s Summary
	if err := rundir.ReadJSON(path, &s); err != nil {
		return nil, fmt.Errorf("read summary: %w", err)
	}
	if s.Schema != SchemaVersion {
		return nil, fmt.Errorf("%s: schema %d, this wsbench reads %d", path, s.Schema, SchemaVersion)
	}
	return &s, nil
}
