package collector

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/wsbench/wsbench/record"
	"github.com/wsbench/wsbench/wire"
)

// runPipeline feeds b in chunks of size chunk (all of it at once when 0) and
// returns the records and counters.
func runPipeline(b []byte, chunk int) ([]record.Record, Stats) {
	var recs []record.Record
	p := newPipeline(func(r record.Record, _ []byte) { recs = append(recs, r) })
	if chunk <= 0 {
		chunk = len(b) + 1
	}
	for off := 0; off < len(b); off += chunk {
		p.feed(b[off:min(off+chunk, len(b))], int64(off))
	}
	p.close()
	return recs, p.Stats()
}

func summaries(recs []record.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, summary(r))
	}
	return out
}

func TestPipeline(t *testing.T) {
	build := func(f func(s *stream)) []byte {
		s := &stream{t: t}
		f(s)
		return s.b
	}
	tests := []struct {
		name  string
		in    []byte
		want  []string
		check func(t *testing.T, st Stats)
	}{
		{
			name: "crlf_cr_and_lf_end_lines_once",
			in:   []byte("a\r\nb\rc\nd\n\re"),
			want: []string{`0 console "a"`, `0 console "b"`, `0 console "c"`, `0 console "d"`, `0 console ""`, `0 console "e"`},
		},
		{
			name: "sample_seq_going_back_starts_a_segment_not_a_gap",
			in:   build(func(s *stream) { s.msg(sample(7)).msg(sample(8)).msg(sample(0)).msg(sample(1)) }),
			want: []string{"0 sample seq=7", "0 sample seq=8", "1 note segment", "1 sample seq=0", "1 sample seq=1"},
			check: func(t *testing.T, st Stats) {
				if st.SeqGaps != 0 || st.Segments != 2 {
					t.Errorf("gaps %d segments %d, want 0 and 2", st.SeqGaps, st.Segments)
				}
			},
		},
		{
			name: "unrequested_hello_after_samples_starts_a_segment",
			in:   build(func(s *stream) { s.msg(hello(1)).msg(sample(0)).msg(sample(1)).msg(hello(3)).msg(sample(5)) }),
			want: []string{"0 hello reason=1", "0 sample seq=0", "0 sample seq=1", "1 note segment", "1 hello reason=3", "1 sample seq=5"},
		},
		{
			name: "gap_counts_missing_samples",
			in:   build(func(s *stream) { s.msg(sample(1)).msg(sample(5)) }),
			want: []string{"0 sample seq=1", "0 note seq_gap", "0 sample seq=5"},
			check: func(t *testing.T, st Stats) {
				if st.SeqGaps != 3 {
					t.Errorf("gaps %d, want 3", st.SeqGaps)
				}
			},
		},
		{
			name: "frame_with_good_crc_and_bad_payload_is_a_decode_error_note",
			in: build(func(s *stream) {
				// A map-form Hello whose map header claims 2^32-1 entries.
				var err error
				s.b, err = wire.AppendFrame(s.b, wire.TypeHello, []byte{0xdf, 0xff, 0xff, 0xff, 0xff, 0xc6, 0xc6, 0xc6})
				if err != nil {
					t.Fatal(err)
				}
				s.msg(sample(0))
			}),
			want: []string{"0 note decode_error", "0 sample seq=0"},
			check: func(t *testing.T, st Stats) {
				if st.DecodeErrors != 1 || st.Frames != 1 {
					t.Errorf("decode errors %d frames %d, want 1 and 1", st.DecodeErrors, st.Frames)
				}
			},
		},
		{
			name: "frame_in_the_middle_of_a_line_keeps_the_line",
			in:   build(func(s *stream) { s.text("I (1) app: one ").msg(sample(0)).text("two\n") }),
			want: []string{"0 sample seq=0", `0 console "I (1) app: one two" I/app`},
		},
		{
			name: "long_line_is_split_with_one_note",
			in:   []byte(strings.Repeat("x", 2*MaxLine+10) + "\n"),
			want: []string{`0 console "` + strings.Repeat("x", MaxLine) + `"`, "0 note long_line",
				`0 console "` + strings.Repeat("x", MaxLine) + `"`, `0 console "xxxxxxxxxx"`},
		},
		{
			name: "banner_after_frames_starts_a_segment_first_banner_does_not",
			in: build(func(s *stream) {
				s.text("ESP-ROM:esp32s3-20210327\nrst:0x1 (POWERON),boot:0x8 (SPI_FAST_FLASH_BOOT)\n").msg(sample(0))
				s.text("ESP-ROM:esp32s3-20210327\nrst:0x3 (RTC_SW_SYS_RST),boot:0x8 (SPI_FAST_FLASH_BOOT)\n").msg(sample(0))
			}),
			want: []string{`0 console "ESP-ROM:esp32s3-20210327"`, `0 console "rst:0x1 (POWERON),boot:0x8 (SPI_FAST_FLASH_BOOT)"`,
				"0 reset esp32s3 POWERON poweron after=", "0 sample seq=0",
				"1 note segment", `1 console "ESP-ROM:esp32s3-20210327"`, `1 console "rst:0x3 (RTC_SW_SYS_RST),boot:0x8 (SPI_FAST_FLASH_BOOT)"`,
				"1 reset esp32s3 RTC_SW_SYS_RST software after=", "1 sample seq=0"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Every chunking gives the same records.
			var first []string
			for _, chunk := range []int{0, 1, 3, 64} {
				recs, st := runPipeline(tc.in, chunk)
				got := summaries(recs)
				if first == nil {
					first = got
					if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
						t.Errorf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
					}
					if tc.check != nil {
						tc.check(t, st)
					}
				} else if strings.Join(got, "\n") != strings.Join(first, "\n") {
					t.Errorf("chunks of %d give:\n%s", chunk, strings.Join(got, "\n"))
				}
			}
		})
	}
}

func TestRequestedHelloDoesNotStartASegment(t *testing.T) {
	var recs []record.Record
	p := newPipeline(func(r record.Record, _ []byte) { recs = append(recs, r) })
	s := &stream{t: t}
	s.msg(hello(1)).msg(sample(0))
	p.feed(s.b, 1)
	p.sent(wire.CmdHello, "hello", 2)
	s.b = s.b[:0]
	s.msg(hello(1)).msg(sample(1))
	p.feed(s.b, 3)
	p.close()
	want := "0 hello reason=1|0 sample seq=0|0 note command|0 hello reason=1|0 sample seq=1"
	if got := strings.Join(summaries(recs), "|"); got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

func TestBadBaud(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	garbage := make([]byte, 3000)
	for i := range garbage {
		garbage[i] = byte(rng.IntN(256))
		if garbage[i] == wire.Magic0 {
			garbage[i] = 0xff
		}
	}
	notes := func(recs []record.Record) (n int) {
		for _, r := range recs {
			if nb, ok := r.Body.(*record.Note); ok && nb.Kind == "bad_baud" {
				n++
			}
		}
		return n
	}
	tests := []struct {
		name string
		in   []byte
		want int
	}{
		{"garbage_is_reported_once", append(append([]byte{}, garbage...), garbage...), 1},
		{"garbage_then_text_then_garbage_is_reported_twice",
			append(append(append([]byte{}, garbage...), "\nI (1) app: back at the right speed\n"...), garbage...), 2},
		{"text_is_never_reported", []byte(strings.Repeat("I (1) app: hello there, all is fine\n", 200)), 0},
		{"short_garbage_is_not_reported", garbage[:1000], 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs, st := runPipeline(tc.in, 256)
			if got := notes(recs); got != tc.want || st.BadBaud != int64(tc.want) {
				t.Errorf("%d bad_baud notes (stats %d), want %d", got, st.BadBaud, tc.want)
			}
		})
	}
}

func TestHugeLengthClaimKeepsMemoryBounded(t *testing.T) {
	// Headers claiming the largest lengths, then 8 MiB of bytes that are
	// never a valid frame.
	var in []byte
	for range 64 {
		in = append(in, wire.Magic0, wire.Magic1, byte(wire.TypeSample), 0xff, 0xff)
		in = append(in, wire.Magic0, wire.Magic1, byte(wire.TypeSample), 0x00, 0x10) // exactly MaxPayload
	}
	filler := bytes.Repeat([]byte{wire.Magic0, wire.Magic1, byte(wire.TypeHello), 0x00, 0x10, 0xc6, 0xff, 0xff}, 1<<20/8)
	var recs, lines int64
	p := newPipeline(func(r record.Record, _ []byte) {
		recs++
		if r.Type == record.TypeConsole {
			lines++
		}
	})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	p.feed(in, 0)
	for range 8 {
		p.feed(filler, 0)
	}
	runtime.ReadMemStats(&after)
	p.close()
	st := p.Stats()
	if st.Frames != 0 || st.BadHeaders < 64 {
		t.Errorf("frames %d bad headers %d", st.Frames, st.BadHeaders)
	}
	if st.Bytes != int64(len(in)+8*len(filler)) {
		t.Errorf("stats count %d bytes, fed %d", st.Bytes, len(in)+8*len(filler))
	}
	if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 16<<20 {
		t.Errorf("heap grew by %d bytes while feeding 8 MiB of false frames", grew)
	}
	if len(p.line) > MaxLine || cap(p.line) > 2*MaxLine {
		t.Errorf("line buffer %d/%d bytes", len(p.line), cap(p.line))
	}
}

// maxPipelineFuzzInput bounds FuzzPipeline inputs (and cuts its seed): a
// long input makes every minimisation of an interesting one stall.
const maxPipelineFuzzInput = 12 << 10

// FuzzPipeline feeds arbitrary bytes, cut into chunks of sizes the first
// byte picks, and checks that every byte is accounted for, that every
// record written can be read back, and that chunking does not change them.
func FuzzPipeline(f *testing.F) {
	data, _ := boardSession(&testing.T{})
	f.Add(data[:min(len(data), maxPipelineFuzzInput)])
	f.Add([]byte("ets Jun  8 2016 00:22:57\r\n\r\nrst:0xc (SW_CPU_RESET),boot:0x13\r\n"))
	f.Add([]byte{wire.Magic0, wire.Magic1, 4, 0xff, 0xff, 0, 0})
	f.Add([]byte("\r\r\n\n\x1b[0;31mE (1) task_wdt: Task watchdog got triggered. x did not reset the watchdog\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > maxPipelineFuzzInput {
			return
		}
		chunk := 1
		if len(in) > 0 {
			chunk = int(in[0])%97 + 1
		}
		var buf bytes.Buffer
		w := record.NewWriter(&buf)
		var n int
		p := newPipeline(func(r record.Record, payload []byte) {
			n++
			if err := WriteRecord(w, r, payload); err != nil {
				t.Fatal(err)
			}
		})
		for off := 0; off < len(in); off += chunk {
			p.feed(in[off:min(off+chunk, len(in))], int64(off))
			if cap(p.line) > 2*MaxLine {
				t.Fatalf("line buffer grew to %d bytes", cap(p.line))
			}
		}
		p.close()
		st := p.Stats()
		if st.Bytes != int64(len(in)) {
			t.Fatalf("stats count %d bytes of %d", st.Bytes, len(in))
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		r := record.NewReader(&buf, "fuzz")
		m := 0
		for {
			_, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("record %d does not read back: %v", m, err)
			}
			m++
		}
		if m != n {
			t.Fatalf("wrote %d records, read %d", n, m)
		}
		whole, _ := runPipeline(in, 0)
		if len(whole) != n {
			t.Fatalf("chunks of %d give %d records, one chunk gives %d", chunk, n, len(whole))
		}
	})
}
