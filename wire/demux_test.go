package wire

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"testing"
)

// frameBytes frames payload, failing the test on error.
func frameBytes(tb testing.TB, t FrameType, payload []byte) []byte {
	tb.Helper()
	b, err := AppendFrame(nil, t, payload)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// rawFrame builds a frame with any header values and a correct CRC, for
// headers AppendFrame refuses to write.
func rawFrame(t FrameType, claimed uint16, payload []byte) []byte {
	b := []byte{Magic0, Magic1, byte(t), 0, 0}
	binary.LittleEndian.PutUint16(b[3:], claimed)
	b = append(b, payload...)
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b[2:]))
}

func sampleFrame(tb testing.TB, seq uint32) []byte {
	tb.Helper()
	b, err := AppendMessage(nil, &Sample{Seq: seq, TimeUS: 1000 * uint64(seq), Phase: PhaseSteady, Sessions: 4,
		InternalFree: 71236, InternalMinFree: 52108, InternalLargest: 31744, SPIRAMFree: 8257012,
		SPIRAMMinFree: 8240128, SPIRAMLargest: 8126464, WSStackHWM: 1180})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// piece is one expected demultiplexer output after adjacent text is merged.
type piece struct {
	text    string    // text, when typ == 0
	typ     FrameType // frame type
	payload string
}

func txt(s string) piece                    { return piece{text: s} }
func frm(t FrameType, payload string) piece { return piece{typ: t, payload: payload} }

func (p piece) String() string {
	if p.typ == 0 {
		return fmt.Sprintf("text %q", p.text)
	}
	return fmt.Sprintf("frame %s %x", p.typ, p.payload)
}

// demuxResult is what feeding one stream produced.
type demuxResult struct {
	chunks  []Chunk // cloned
	stats   DemuxStats
	maxPend int // largest look-ahead held between Feed calls (length or capacity)
}

// runDemux feeds in in the pieces given by cuts (increasing offsets) and
// closes the stream.
func runDemux(in []byte, cuts []int) demuxResult {
	var r demuxResult
	var d Demuxer
	emit := func(c Chunk) { r.chunks = append(r.chunks, cloneChunk(c)) }
	prev := 0
	for _, c := range append(cuts, len(in)) {
		d.Feed(in[prev:c], emit)
		prev = c
		r.maxPend = max(r.maxPend, len(d.pending), cap(d.pending))
	}
	d.Close(emit)
	r.stats = d.Stats()
	return r
}

// merged joins adjacent text chunks, giving a form independent of how the
// stream was cut into Feed calls.
func merged(chunks []Chunk) []piece {
	var out []piece
	var text []byte // text not yet closed by a frame
	flush := func() {
		if len(text) > 0 {
			out = append(out, txt(string(text)))
			text = text[:0]
		}
	}
	for _, c := range chunks {
		if c.Kind == ChunkText {
			text = append(text, c.Text...)
			continue
		}
		flush()
		out = append(out, frm(c.Type, string(c.Payload)))
	}
	flush()
	return out
}

// checkLossless checks that the chunks tile the input exactly: contiguous
// offsets from 0, text bytes equal to the input, frames equal to their
// re-encoding.
func checkLossless(tb testing.TB, in []byte, chunks []Chunk) {
	tb.Helper()
	var off int64
	var rebuilt []byte
	for i, c := range chunks {
		if c.Offset != off {
			tb.Fatalf("chunk %d at offset %d, want %d", i, c.Offset, off)
		}
		var b []byte
		switch c.Kind {
		case ChunkText:
			if len(c.Text) == 0 {
				tb.Fatalf("chunk %d: empty text chunk", i)
			}
			b = c.Text
		case ChunkFrame:
			var err error
			if b, err = AppendFrame(nil, c.Type, c.Payload); err != nil {
				tb.Fatalf("chunk %d: %v", i, err)
			}
		default:
			tb.Fatalf("chunk %d: kind %d", i, c.Kind)
		}
		if len(b) != c.Size {
			tb.Fatalf("chunk %d: Size %d, covers %d bytes", i, c.Size, len(b))
		}
		if end := int(off) + len(b); end > len(in) || !bytes.Equal(in[off:end], b) {
			tb.Fatalf("chunk %d at %d does not match the input", i, off)
		}
		rebuilt = append(rebuilt, b...)
		off += int64(len(b))
	}
	if !bytes.Equal(rebuilt, in) {
		tb.Fatalf("chunks rebuild %d bytes, input has %d", len(rebuilt), len(in))
	}
}

// chunkings returns the ways each case is fed: whole, byte by byte, and
// random cuts.
func chunkings(n int, seed uint64) map[string][]int {
	out := map[string][]int{"whole": nil}
	one := make([]int, 0, n)
	for i := 1; i < n; i++ {
		one = append(one, i)
	}
	out["byte_by_byte"] = one
	rng := rand.New(rand.NewPCG(seed, 7))
	for k := 0; k < 8; k++ {
		var cuts []int
		for i := 1 + rng.IntN(40); i < n; i += 1 + rng.IntN(1+[]int{3, 40, 700, 5000}[k%4]) {
			cuts = append(cuts, i)
		}
		out[fmt.Sprintf("random_%d", k)] = cuts
	}
	return out
}

func TestDemux(t *testing.T) {
	payload := []byte{0x93, 1, 2, 3}
	f := frameBytes(t, TypeSample, payload)
	s1, s2 := sampleFrame(t, 1), sampleFrame(t, 2)
	corrupt := bytes.Clone(s1)
	corrupt[7] ^= 0x40
	badCRC := bytes.Clone(f)
	badCRC[len(badCRC)-1] ^= 1
	maxFrame := frameBytes(t, TypeOwners, bytes.Repeat([]byte{0xc0}, MaxPayload))
	// A candidate whose CRC fails contains a valid frame: the resync rule
	// (reject, pass one byte, rescan one byte later) finds the inner frame.
	outer := rawFrame(TypeHello, uint16(len(f)+2), cat([]byte("xx"), f))
	outer[len(outer)-1] ^= 0xff

	cases := []struct {
		name  string
		in    []byte
		want  []piece
		stats DemuxStats // Bytes and TextBytes are checked separately
	}{
		{"empty_stream", nil, nil, DemuxStats{}},
		{"text_only", []byte("I (312) wsbench: boot\r\n"), []piece{txt("I (312) wsbench: boot\r\n")}, DemuxStats{}},
		{"one_frame", f, []piece{frm(TypeSample, string(payload))}, DemuxStats{Frames: 1}},
		{"text_frame_text", cat([]byte("a\n"), f, []byte("b\n")),
			[]piece{txt("a\n"), frm(TypeSample, string(payload)), txt("b\n")}, DemuxStats{Frames: 1}},
		{"frames_back_to_back", cat(s1, s2, f),
			[]piece{frm(TypeSample, string(s1[5:len(s1)-4])), frm(TypeSample, string(s2[5:len(s2)-4])),
				frm(TypeSample, string(payload))}, DemuxStats{Frames: 3}},
		{"largest_payload_is_a_frame", maxFrame, []piece{frm(TypeOwners, string(maxFrame[5:len(maxFrame)-4]))},
			DemuxStats{Frames: 1}},
		{"corrupted_payload_is_text_and_next_frame_survives", cat([]byte("x"), corrupt, s2),
			[]piece{txt("x" + string(corrupt)), frm(TypeSample, string(s2[5:len(s2)-4]))},
			DemuxStats{Frames: 1, CRCErrors: 1, Resyncs: 1}},
		{"corrupted_crc_is_text", cat(badCRC, []byte("\n")), []piece{txt(string(badCRC) + "\n")},
			DemuxStats{CRCErrors: 1, Resyncs: 1}},
		{"unknown_type_is_bad_header", cat([]byte{0xa5, 0x57, 0x00, 0x01, 0x00, 0x00}, f),
			[]piece{txt("\xa5\x57\x00\x01\x00\x00"), frm(TypeSample, string(payload))},
			DemuxStats{Frames: 1, BadHeaders: 1, Resyncs: 1}},
		{"type_beyond_this_version_is_bad_header", rawFrame(typeLimit, 1, []byte{0}),
			[]piece{txt(string(rawFrame(typeLimit, 1, []byte{0})))}, DemuxStats{BadHeaders: 1, Resyncs: 1}},
		{"huge_length_is_bad_header", cat([]byte{0xa5, 0x57, 0x04, 0xff, 0xff}, []byte("text\n"), f),
			[]piece{txt("\xa5\x57\x04\xff\xfftext\n"), frm(TypeSample, string(payload))},
			DemuxStats{Frames: 1, BadHeaders: 1, Resyncs: 1}},
		{"length_one_over_max_is_bad_header", rawFrame(TypeOwners, MaxPayload+1, make([]byte, MaxPayload+1)),
			[]piece{txt(string(rawFrame(TypeOwners, MaxPayload+1, make([]byte, MaxPayload+1))))},
			DemuxStats{BadHeaders: 1, Resyncs: 1}},
		{"truncated_at_end_is_text", cat([]byte("a"), f[:len(f)-1]), []piece{txt("a" + string(f[:len(f)-1]))},
			DemuxStats{Truncated: 1}},
		{"magic_alone_at_end", []byte("abc\xa5\x57"), []piece{txt("abc\xa5\x57")}, DemuxStats{Truncated: 1}},
		{"a5_alone_at_end", []byte("abc\xa5"), []piece{txt("abc\xa5")}, DemuxStats{}},
		{"a5_in_text", cat([]byte("price \xc2\xa5100 \xa5\xa5 \xa5w"), f, []byte("\xa5")),
			[]piece{txt("price \xc2\xa5100 \xa5\xa5 \xa5w"), frm(TypeSample, string(payload)), txt("\xa5")},
			DemuxStats{Frames: 1}},
		{"stray_a5_before_frame", cat([]byte{0xa5}, f), []piece{txt("\xa5"), frm(TypeSample, string(payload))},
			DemuxStats{Frames: 1}},
		{"frame_cut_by_reset_then_frames", cat(s1[:9], []byte("\r\nESP-ROM:esp32s3-20210327\r\n"), s2, f),
			[]piece{txt(string(s1[:9]) + "\r\nESP-ROM:esp32s3-20210327\r\n"), frm(TypeSample, string(s2[5:len(s2)-4])),
				frm(TypeSample, string(payload))},
			DemuxStats{Frames: 2, CRCErrors: 1, Resyncs: 1}},
		{"frame_after_false_header_at_end_is_found", cat([]byte{0xa5, 0x57, 0x07, 0x00, 0x0f}, []byte("log\n"), f),
			[]piece{txt("\xa5\x57\x07\x00\x0flog\n"), frm(TypeSample, string(payload))},
			DemuxStats{Frames: 1, Truncated: 1}},
		{"frame_inside_rejected_candidate", outer,
			[]piece{txt(string(outer[:7])), frm(TypeSample, string(payload)), txt(string(outer[7+len(f):]))},
			DemuxStats{Frames: 1, CRCErrors: 1, Resyncs: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var textBytes int64
			for _, p := range tc.want {
				textBytes += int64(len(p.text))
			}
			tc.stats.Bytes = int64(len(tc.in))
			tc.stats.TextBytes = textBytes
			for how, cuts := range chunkings(len(tc.in), uint64(len(tc.in))) {
				r := runDemux(tc.in, cuts)
				checkLossless(t, tc.in, r.chunks)
				if got := merged(r.chunks); fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Errorf("%s: got %v\nwant %v", how, got, tc.want)
				}
				if r.stats != tc.stats {
					t.Errorf("%s: stats %+v, want %+v", how, r.stats, tc.stats)
				}
				if r.maxPend > MaxPayload+Overhead {
					t.Errorf("%s: held %d bytes of look-ahead", how, r.maxPend)
				}
			}
		})
	}
}

// TestDemuxChunkingInvariance feeds a long realistic stream in many ways and
// checks every way gives the same frames, merged text and counters.
func TestDemuxChunkingInvariance(t *testing.T) {
	in := realisticStream(t, 64<<10, 3)
	ref := runDemux(in, nil)
	checkLossless(t, in, ref.chunks)
	if ref.stats.Frames == 0 || ref.stats.CRCErrors == 0 || ref.stats.BadHeaders == 0 {
		t.Fatalf("stream lacks variety: %+v", ref.stats)
	}
	want := fmt.Sprint(merged(ref.chunks))
	for how, cuts := range chunkings(len(in), 11) {
		r := runDemux(in, cuts)
		checkLossless(t, in, r.chunks)
		if got := fmt.Sprint(merged(r.chunks)); got != want {
			t.Errorf("%s: chunks differ from feeding the stream whole", how)
		}
		if r.stats != ref.stats {
			t.Errorf("%s: stats %+v, want %+v", how, r.stats, ref.stats)
		}
	}
	t.Logf("%d bytes: %+v", len(in), ref.stats)
}

// TestDemuxLookAheadBoundedWhateverTheFeedSize feeds megabyte slices while a
// candidate is pending: the look-ahead buffer must not grow with them.
func TestDemuxLookAheadBoundedWhateverTheFeedSize(t *testing.T) {
	in := realisticStream(t, 2<<20, 5)
	var cuts []int
	for _, c := range []int{3, 512 << 10, 512<<10 + 1, 1<<20 + 7, 3 << 19} {
		for c < len(in) && in[c] != Magic0 { // cut just after the start of a frame
			c++
		}
		cuts = append(cuts, c+1)
	}
	r := runDemux(in, cuts)
	checkLossless(t, in, r.chunks)
	if r.maxPend > MaxPayload+Overhead {
		t.Fatalf("look-ahead grew to %d bytes", r.maxPend)
	}
	if want := runDemux(in, nil); r.stats != want.stats {
		t.Fatalf("stats %+v, fed whole %+v", r.stats, want.stats)
	}
}

func TestDemuxOffset(t *testing.T) {
	f := frameBytes(t, TypeReply, []byte{0x80})
	var d Demuxer
	d.Feed([]byte("ab"), func(Chunk) {})
	if got := d.Offset(); got != 2 {
		t.Fatalf("Offset after 2 bytes = %d", got)
	}
	d.Feed(f[:4], func(Chunk) {})
	if got := d.Offset(); got != 6 {
		t.Fatalf("Offset with a pending header = %d, want 6", got)
	}
	var got []Chunk
	d.Feed(f[4:], func(c Chunk) { got = append(got, c) })
	if len(got) != 1 || got[0].Offset != 2 || got[0].Size != len(f) {
		t.Fatalf("frame chunk %+v, want offset 2 size %d", got, len(f))
	}
}

// realisticStream builds about size bytes of what a board prints during a
// run: ESP-IDF log lines, samples, heap details, events, and (when corrupt >
// 0) that many corrupted frames and false headers. Frames make up roughly 70%
// of the bytes.
func realisticStream(tb testing.TB, size int, corrupt int) []byte {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	lines := []string{
		"I (%[1]d) websocket_client: Started\r\n",
		"I (%[1]d) wsbench: session %[2]d connected in 1843 ms\r\n",
		"W (%[1]d) transport_base: poll_read select error 113, errno = Software caused connection abort, fd = 54\r\n",
		"\x1b[0;32mI (%[1]d) wsbench: phase steady, %[2]d sessions\x1b[0m\r\n",
		"D (%[1]d) esp-tls-mbedtls: handshake in progress...\r\n",
	}
	var out []byte
	var seq uint32
	var textBytes int
	for len(out) < size {
		if textBytes*10 < len(out)*3 { // keep text near 30% of the bytes
			l := fmt.Sprintf(lines[rng.IntN(len(lines))], 1000+len(out)/10, rng.IntN(8))
			out = append(out, l...)
			textBytes += len(l)
			continue
		}
		seq++
		var m Message = &Sample{Seq: seq, TimeUS: 100000 * uint64(seq), Phase: PhaseSteady, Sessions: 4,
			InternalFree: 71236 - uint32(rng.IntN(4096)), InternalMinFree: 52108, InternalLargest: 31744,
			SPIRAMFree: 8257012 - uint32(rng.IntN(1<<16)), SPIRAMMinFree: 8240128, SPIRAMLargest: 8126464,
			WSStackHWM: 1180}
		switch {
		case seq%10 == 0:
			m = &HeapDetail{Seq: seq, Internal: HeapInfo{71236, 266684, 31744, 52108, 1083, 21, 1104},
				DMA:    HeapInfo{63044, 258876, 31744, 44116, 1051, 17, 1068},
				SPIRAM: HeapInfo{8257012, 129267, 8126464, 8240128, 212, 3, 215}}
		case seq%7 == 0:
			m = &Event{TimeUS: 100000 * uint64(seq), Kind: EventHandlerLatency, Session: 1, DurUS: 50412}
		}
		f, err := AppendMessage(nil, m)
		if err != nil {
			tb.Fatal(err)
		}
		if corrupt > 0 && seq%97 == 0 {
			corrupt--
			f[len(f)/2] ^= 0x10                             // CRC error
			out = append(out, 0xa5, 0x57, 0x63, 0x01, 0x00) // bad header
		}
		out = append(out, f...)
	}
	return out
}
