package wire

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
)

// maxFuzzStream bounds FuzzDemux inputs: 4 frames of the largest size are
// enough for any look-ahead case, and minimising an interesting input costs
// executions in proportion to its length (long inputs stalled it).
const maxFuzzStream = 4 * (MaxPayload + Overhead)

// FuzzDemux checks that the demultiplexer never panics, never loses or
// invents a byte, gives the same result however the stream is cut into Feed
// calls, and holds at most MaxPayload+Overhead bytes of look-ahead.
func FuzzDemux(f *testing.F) {
	for _, g := range goldenMessages() {
		b, err := AppendMessage(nil, g.msg)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint16(1))
		f.Add(append([]byte("I (10) x: y\r\n"), b[:len(b)-2]...), uint16(3))
	}
	s := realisticStream(f, 2048, 2)
	f.Add(s, uint16(7))
	f.Add(s, uint16(300))
	f.Add([]byte{0xa5, 0x57, 0x04, 0xff, 0x0f, 'x'}, uint16(2))
	f.Add([]byte{0xa5, 0xa5, 0x57, 0x08, 0x01, 0x00, 0x80}, uint16(1))
	f.Add([]byte("\xa5\x57\x07\x00\x0flog\n"), uint16(5))
	f.Fuzz(func(t *testing.T, in []byte, step uint16) {
		if len(in) > maxFuzzStream {
			return // a few frames of look-ahead are enough; BenchmarkDemux* covers volume
		}
		whole := runDemux(in, nil)
		checkLossless(t, in, whole.chunks)
		// Cut the stream in pieces of varying size derived from step.
		var cuts []int
		n := 1 + int(step%257)
		for i := n; i < len(in); i += n {
			cuts = append(cuts, i)
			n = 1 + (n*31+int(step))%509
		}
		cut := runDemux(in, cuts)
		checkLossless(t, in, cut.chunks)
		if fmt.Sprint(merged(cut.chunks)) != fmt.Sprint(merged(whole.chunks)) {
			t.Fatalf("cuts %v change the chunks", cuts)
		}
		if cut.stats != whole.stats {
			t.Fatalf("cuts %v: stats %+v, whole %+v", cuts, cut.stats, whole.stats)
		}
		st := whole.stats
		if st.Bytes != int64(len(in)) || st.Resyncs != st.CRCErrors+st.BadHeaders {
			t.Fatalf("inconsistent stats %+v for %d bytes", st, len(in))
		}
		for _, r := range []demuxResult{whole, cut} {
			if r.maxPend > MaxPayload+Overhead {
				t.Fatalf("held %d bytes of look-ahead", r.maxPend)
			}
		}
		// Every frame decodes or fails cleanly.
		for _, c := range whole.chunks {
			if c.Kind == ChunkFrame {
				_, _ = Decode(c.Type, c.Payload)
			}
		}
	})
}

// FuzzDecode checks that decoding any payload of any known frame type never
// panics, and that whatever decodes re-encodes to something that decodes to
// the same message.
func FuzzDecode(f *testing.F) {
	for _, g := range goldenMessages() {
		p, err := g.msg.MarshalMsg(nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(g.msg.FrameType()), p)
		f.Add(uint8(g.msg.FrameType()), p[:len(p)/2])
	}
	f.Add(uint8(TypeHello), []byte{0xde, 0xc6, 0xc6, 0xc6, 0xc6, 0xc6, 0xc6, 0xc6})
	f.Add(uint8(TypeHello), []byte{0x81, 0xa5, 'b', 'o', 'a', 'r', 'd', 0xdb, 0x7f, 0xff, 0xff, 0xf0})
	f.Add(uint8(TypeSample), []byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Add(uint8(TypeOwners), []byte{0x93, 0x01, 0x03, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x94})
	f.Fuzz(func(t *testing.T, typ uint8, payload []byte) {
		if len(payload) > MaxPayload {
			return // a frame never carries more
		}
		ft := FrameType(typ % uint8(typeLimit+1)) // mostly known types, sometimes 0 or 9
		m, err := Decode(ft, payload)
		if !ft.Known() {
			if err == nil {
				t.Fatalf("type %d decoded", ft)
			}
			return
		}
		if err != nil {
			return
		}
		again, err := m.MarshalMsg(nil)
		if err != nil {
			t.Fatalf("re-encode %s: %v", ft, err)
		}
		m2, err := Decode(ft, again)
		if err != nil {
			t.Fatalf("re-encoded %s does not decode: %v", ft, err)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("%s: %+v re-decodes as %+v", ft, m, m2)
		}
	})
}

// FuzzParseCommand checks that parsing never panics, errors carry a column
// inside the line, and a parsed command formats to a line that parses back
// to the same command.
func FuzzParseCommand(f *testing.F) {
	for _, l := range commandVectors {
		f.Add(l)
	}
	f.Add("run cell=%e2%82%ac scenario=sweep")
	f.Add("x k=%+1")
	f.Add("x k=%-1 j=%_1")
	f.Fuzz(func(t *testing.T, line string) {
		c, err := ParseCommand(line)
		if err != nil {
			var ce *CommandError
			if !errors.As(err, &ce) {
				t.Fatalf("%q: error %T", line, err)
			}
			if ce.Col < 1 || ce.Col > len(line)+1 || ce.Msg == "" {
				t.Fatalf("%q: column %d of %d bytes: %q", line, ce.Col, len(line), ce.Msg)
			}
			return
		}
		s := c.String()
		if len(s) > len(line) {
			t.Fatalf("%q formats longer: %q", line, s)
		}
		c2, err := ParseCommand(s)
		if err != nil {
			t.Fatalf("%q formats as %q which fails: %v", line, s, err)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("%q -> %+v -> %q -> %+v", line, c, s, c2)
		}
		if c2.String() != s {
			t.Fatalf("String is not stable: %q then %q", s, c2.String())
		}
	})
}
