package collector

import (
	"fmt"
	"io"
	"testing"

	"github.com/wsbench/wsbench/collector/console"
	"github.com/wsbench/wsbench/record"
	"github.com/wsbench/wsbench/wire"
)

// realistic builds about size bytes of what a board running a sweep sends:
// samples, a heap detail every 10 samples, session events, and ESP-IDF log
// lines (some coloured), with a task watchdog report now and then.
func realistic(tb testing.TB, size int) []byte {
	s := &stream{t: nil}
	var err error
	add := func(m wire.Message) {
		if s.b, err = wire.AppendMessage(s.b, m); err != nil {
			tb.Fatal(err)
		}
	}
	add(hello(1))
	for seq := uint32(0); len(s.b) < size; seq++ {
		add(sample(seq))
		if seq%10 == 0 {
			add(&wire.HeapDetail{Seq: seq, Internal: wire.HeapInfo{Free: 150000, Allocated: 120000, Largest: 90000, MinFree: 140000, AllocatedBlocks: 800, FreeBlocks: 40, TotalBlocks: 840}})
		}
		if seq%4 == 0 {
			add(&wire.Event{TimeUS: uint64(seq) * 100000, Kind: wire.EventSessionConnected, Session: int16(seq % 8), DurUS: 42000})
		}
		if seq%3 == 0 {
			s.text(fmt.Sprintf("\x1b[0;32mI (%d) websocket_client: Sending ping to wss://peer.local/ws session %d\x1b[0m\r\n", seq*100, seq%8))
		}
		if seq%500 == 499 {
			s.text("E (15336) task_wdt: Task watchdog got triggered. The following tasks/users did not reset the watchdog in time:\r\n")
			s.text("E (15336) task_wdt:  - IDLE0 (CPU 0)\r\nE (15336) task_wdt: Tasks currently running:\r\nE (15336) task_wdt: CPU 0: websocket_task\r\n")
		}
	}
	return s.b
}

// BenchmarkPipeline measures everything the collector does with a byte
// after it is on disk: demultiplex, decode frames, assemble and classify
// console lines, track segments, and encode records.msgp. Target: >= 50
// MB/s on one core (issue 2); run with -cpu=1.
func BenchmarkPipeline(b *testing.B) {
	in := realistic(b, 1<<20)
	const feed = 4096 // a typical serial read
	w := record.NewWriter(io.Discard)
	var recs int64
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		p := newPipeline(func(r record.Record, payload []byte) {
			recs++
			if err := WriteRecord(w, r, payload); err != nil {
				b.Fatal(err)
			}
		})
		for off := 0; off < len(in); off += feed {
			p.feed(in[off:min(off+feed, len(in))], int64(off))
		}
		p.close()
		if st := p.Stats(); st.DecodeErrors != 0 || st.CRCErrors != 0 {
			b.Fatalf("stream does not decode cleanly: %+v", st)
		}
	}
	b.ReportMetric(float64(recs)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkClassifyLine measures cleaning, parsing and classifying one
// coloured ESP-IDF log line.
func BenchmarkClassifyLine(b *testing.B) {
	line := []byte("\x1b[0;32mI (1234) websocket_client: Sending ping to wss://peer.local/ws session 3\x1b[0m")
	var c console.Classifier
	emit := func(console.Item) {}
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		l := console.Parse(line)
		c.Feed(&l, 0, 0, emit)
	}
}
