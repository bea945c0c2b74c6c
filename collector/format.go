package collector

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/wsbench/wsbench/internal/termsafe"
	"github.com/wsbench/wsbench/record"
	"github.com/wsbench/wsbench/wire"
)

// Format renders r as one readable line: segment, stream offset, host time,
// type and the body's main fields.
func Format(r record.Record) string {
	ts := "-"
	if r.HostNS != 0 {
		ts = time.Unix(0, r.HostNS).UTC().Format("15:04:05.000000")
	}
	return fmt.Sprintf("%d %9d %s %-14s %s", r.Segment, r.Offset, ts, r.Type, FormatBody(r.Body))
}

// FormatBody renders a record body compactly. Strings a board sent (Hello,
// event, RunEnd and Reply fields, console text) are made safe for a
// terminal by internal/termsafe: the result can be printed as it is.
func FormatBody(body any) string {
	return termsafe.String(formatBody(body))
}

func formatBody(body any) string {
	switch b := body.(type) {
	case *record.Console:
		return b.Text
	case *wire.Sample:
		return fmt.Sprintf("seq=%d t=%.3fs phase=%s sessions=%d internal free=%d min=%d largest=%d spiram free=%d min=%d largest=%d ws_hwm=%d",
			b.Seq, float64(b.TimeUS)/1e6, b.Phase, b.Sessions, b.InternalFree, b.InternalMinFree, b.InternalLargest,
			b.SPIRAMFree, b.SPIRAMMinFree, b.SPIRAMLargest, b.WSStackHWM)
	case *wire.Hello:
		return fmt.Sprintf("board=%s chip=%s rev=%d idf=%s app=%s %s variant=%s behaviour=%s psram=%d reset=%s",
			b.Board, b.Chip, b.ChipRevision, b.IDFVersion, b.AppName, b.AppVersion, b.Variant, b.Behaviour, b.PSRAMSize,
			wire.ResetReasonName(b.ResetReason))
	case *wire.RunStart:
		return fmt.Sprintf("cell=%s scenario=%s n=%d period_ms=%d variant=%s", b.Params.Cell, b.Params.Scenario, b.Params.N, b.Params.PeriodMS, b.Variant)
	case *wire.RunEnd:
		s := fmt.Sprintf("cell=%s status=%s samples_sent=%d dropped=%d events=%d", b.Cell, b.Status, b.SamplesSent, b.SamplesDropped, b.Events)
		if b.Err != "" {
			s += " err=" + b.Err
		}
		return s
	case *wire.Event:
		return fmt.Sprintf("%s session=%d err=%d dur_us=%d size=%d name=%s", b.Kind, b.Session, b.Err, b.DurUS, b.Size, b.Name)
	case *wire.Reply:
		if b.OK {
			return b.Cmd + " ok"
		}
		return fmt.Sprintf("%s failed: %s", b.Cmd, b.Err)
	case *record.Note:
		return b.Kind + ": " + b.Text
	case *record.Reset:
		s := fmt.Sprintf("chip=%s rst=0x%x %s class=%s", b.Chip, b.Code, b.ROMName, b.Class)
		if b.After != "" {
			s += " after=" + b.After
		}
		return s
	case *record.Panic:
		return fmt.Sprintf("core %d: %s", b.Core, b.Cause)
	case *record.Watchdog:
		return fmt.Sprintf("starving [%s] running [%s] aborted=%t", strings.Join(b.Starving, ", "), strings.Join(b.Running, ", "), b.Aborted)
	case *record.StackOverflow:
		return "task " + b.Task
	case *record.Brownout:
		return "brownout detector triggered"
	}
	j, err := json.Marshal(body)
	if err != nil {
		return fmt.Sprintf("%T", body)
	}
	return string(j)
}
