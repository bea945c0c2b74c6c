package wire

import (
	"bytes"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/tinylib/msgp/msgp"
)

func TestFrameRoundTrip(t *testing.T) {
	cases := []struct {
		name    string
		typ     FrameType
		payload []byte
	}{
		{"empty_payload", TypeReply, nil},
		{"one_byte", TypeSample, []byte{0x90}},
		{"payload_with_magic", TypeEvent, []byte{Magic0, Magic1, Magic0, Magic1}},
		{"largest_payload", TypeOwners, bytes.Repeat([]byte{0xa5}, MaxPayload)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			prefix := []byte("keep")
			f, err := AppendFrame(bytes.Clone(prefix), tc.typ, tc.payload)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(f, prefix) {
				t.Fatal("AppendFrame changed dst")
			}
			f = f[len(prefix):]
			if len(f) != len(tc.payload)+Overhead {
				t.Fatalf("frame of %d bytes, want %d", len(f), len(tc.payload)+Overhead)
			}
			r := runDemux(f, nil)
			if len(r.chunks) != 1 || r.chunks[0].Kind != ChunkFrame || r.chunks[0].Type != tc.typ ||
				!bytes.Equal(r.chunks[0].Payload, tc.payload) {
				t.Fatalf("demux gives %+v", r.chunks)
			}
		})
	}
}

func TestAppendFrameRejectsOversizedPayload(t *testing.T) {
	dst := []byte("x")
	out, err := AppendFrame(dst, TypeOwners, make([]byte, MaxPayload+1))
	if err == nil || !strings.Contains(err.Error(), "4097") {
		t.Fatalf("err = %v, want one naming the size", err)
	}
	if !bytes.Equal(out, dst) {
		t.Fatal("dst changed on error")
	}
}

func TestFrameTypeNames(t *testing.T) {
	want := []string{"type(0)", "hello", "run_start", "run_end", "sample", "heap_detail", "event", "owners", "reply",
		"type(9)"}
	for i, w := range want {
		if got := FrameType(i).String(); got != w {
			t.Errorf("FrameType(%d) = %q, want %q", i, got, w)
		}
		if known := i > 0 && i < 9; FrameType(i).Known() != known {
			t.Errorf("FrameType(%d).Known() = %v", i, !known)
		}
		if m := New(FrameType(i)); (m != nil) != FrameType(i).Known() ||
			m != nil && m.FrameType() != FrameType(i) {
			t.Errorf("New(%d) = %T", i, m)
		}
	}
}

func TestDecodeEveryType(t *testing.T) {
	for _, g := range goldenMessages() {
		t.Run(g.name, func(t *testing.T) {
			payload, err := g.msg.MarshalMsg(nil)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Decode(g.msg.FrameType(), payload)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(m, g.msg) {
				t.Fatalf("got %+v, want %+v", m, g.msg)
			}
			// Every strict prefix is an error, never a panic or a partial message.
			for n := 0; n < len(payload); n++ {
				if _, err := Decode(g.msg.FrameType(), payload[:n]); err == nil {
					t.Fatalf("prefix of %d/%d bytes decoded without error", n, len(payload))
				}
			}
			// Trailing bytes are an error.
			if _, err := Decode(g.msg.FrameType(), append(bytes.Clone(payload), 0xc0)); err == nil ||
				!strings.Contains(err.Error(), "trailing") {
				t.Fatalf("trailing byte: err = %v", err)
			}
		})
	}
	if _, err := Decode(FrameType(42), []byte{0x90}); err == nil {
		t.Fatal("unknown type decoded")
	}
}

// appendFields re-encodes a tuple payload with extra trailing fields, as a
// later protocol version would send it.
func appendFields(t *testing.T, payload []byte, extra ...any) []byte {
	t.Helper()
	n, body, err := msgp.ReadArrayHeaderBytes(payload)
	if err != nil {
		t.Fatal(err)
	}
	out := msgp.AppendArrayHeader(nil, n+uint32(len(extra)))
	out = append(out, body...)
	for _, e := range extra {
		if out, err = msgp.AppendIntf(out, e); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestDecodeForwardCompatibility(t *testing.T) {
	extras := []struct {
		name  string
		extra []any
	}{
		{"one_uint", []any{uint32(123456)}},
		{"string_and_negative", []any{"psram_dma", int64(-7)}},
		{"nested_map_and_array", []any{map[string]any{"k": []any{1, "x", nil}}, []byte{1, 2, 3}}},
		{"many_fields", make([]any, 40)},
	}
	for _, g := range goldenMessages() {
		if tupleFields(g.msg.FrameType()) == 0 {
			continue
		}
		payload, err := g.msg.MarshalMsg(nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range extras {
			t.Run(g.name+"/"+e.name, func(t *testing.T) {
				newer := appendFields(t, payload, e.extra...)
				m, err := Decode(g.msg.FrameType(), newer)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(m, g.msg) {
					t.Fatalf("known prefix decodes to %+v, want %+v", m, g.msg)
				}
				// A newer frame cut inside its extra fields is still an error.
				if _, err := Decode(g.msg.FrameType(), newer[:len(newer)-1]); err == nil {
					t.Fatal("truncated extra field decoded without error")
				}
			})
		}
	}
}

func TestDecodeFewerFieldsIsAnError(t *testing.T) {
	for _, g := range goldenMessages() {
		want := tupleFields(g.msg.FrameType())
		if want == 0 {
			continue
		}
		t.Run(g.name, func(t *testing.T) {
			payload, _ := g.msg.MarshalMsg(nil)
			_, body, _ := msgp.ReadArrayHeaderBytes(payload)
			// Drop the last field: re-encode the fields one by one.
			var fields [][]byte
			for rest := body; len(rest) > 0; {
				next, err := msgp.Skip(rest)
				if err != nil {
					t.Fatal(err)
				}
				fields = append(fields, rest[:len(rest)-len(next)])
				rest = next
			}
			older := msgp.AppendArrayHeader(nil, want-1)
			older = append(older, bytes.Join(fields[:want-1], nil)...)
			_, err := Decode(g.msg.FrameType(), older)
			if err == nil {
				t.Fatal("decoded a tuple with a missing field")
			}
			if !strings.Contains(err.Error(), "this version needs") || !strings.Contains(err.Error(), g.msg.FrameType().String()) {
				t.Fatalf("unclear error: %v", err)
			}
		})
	}
}

func TestDecodeMapMessagesSkipUnknownKeys(t *testing.T) {
	r := &Reply{Cmd: "run", OK: true, Err: ""}
	payload, _ := r.MarshalMsg(nil)
	// Rebuild the map with two extra keys a later version might add.
	n, body, _ := msgp.ReadMapHeaderBytes(payload)
	newer := msgp.AppendMapHeader(nil, n+2)
	newer = msgp.AppendString(newer, "elapsed_us")
	newer = msgp.AppendUint32(newer, 1234)
	newer = append(newer, body...)
	newer = msgp.AppendString(newer, "detail")
	newer = msgp.AppendMapHeader(newer, 1)
	newer = msgp.AppendString(newer, "x")
	newer = msgp.AppendArrayHeader(newer, 2)
	newer = msgp.AppendNil(newer)
	newer = msgp.AppendBool(newer, true)
	m, err := Decode(TypeReply, newer)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, r) {
		t.Fatalf("got %+v, want %+v", m, r)
	}
	// Absent keys stay zero.
	partial := msgp.AppendMapHeader(nil, 1)
	partial = msgp.AppendString(partial, "cmd")
	partial = msgp.AppendString(partial, "stop")
	if m, err = Decode(TypeReply, partial); err != nil || !reflect.DeepEqual(m, &Reply{Cmd: "stop"}) {
		t.Fatalf("got %+v, %v", m, err)
	}
}

// TestDecodeCraftedLengthsFailFast checks that payloads whose headers claim
// huge arrays, maps or strings fail without allocating for the claim.
func TestDecodeCraftedLengthsFailFast(t *testing.T) {
	cases := []struct {
		name    string
		typ     FrameType
		payload []byte
	}{
		{"hello_map32_of_2^32-1_keys", TypeHello, []byte{0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 'x'}},
		{"hello_map16_garbage", TypeHello, []byte{0xde, 0xc6, 0xc6, 0xc6, 0xc6, 0xc6, 0xc6, 0xc6}},
		{"hello_key_str32_of_4GB", TypeHello, []byte{0x81, 0xdb, 0xff, 0xff, 0xff, 0xf0, 'a'}},
		{"hello_board_str32_of_2GB", TypeHello, []byte{0x81, 0xa5, 'b', 'o', 'a', 'r', 'd', 0xdb, 0x7f, 0xff, 0xff, 0xf0}},
		{"hello_unknown_key_array32", TypeHello, []byte{0x81, 0xa1, 'z', 0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0}},
		{"hello_unknown_key_bin32", TypeHello, []byte{0x81, 0xa1, 'z', 0xc6, 0xff, 0xff, 0xff, 0xff, 0xc0}},
		{"sample_array32_of_2^32-1_fields", TypeSample, append([]byte{0xdd, 0xff, 0xff, 0xff, 0xff},
			mustMarshal(t, &Sample{})[1:]...)},
		{"owners_entries_array32", TypeOwners, []byte{0x93, 0x01, 0x03, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x94}},
		{"owners_entries_513", TypeOwners, []byte{0x93, 0x01, 0x03, 0xdc, 0x02, 0x01, 0x94}},
		{"owners_label_str32", TypeOwners, []byte{0x93, 0x01, 0x03, 0x91, 0x94, 0xdb, 0xff, 0xff, 0xff, 0xff}},
		{"event_name_str32", TypeEvent, []byte{0x97, 0, 1, 0, 0, 0, 0, 0xdb, 0xff, 0xff, 0xff, 0xff}},
		{"run_start_params_map32", TypeRunStart, []byte{0x81, 0xa6, 'p', 'a', 'r', 'a', 'm', 's', 0xdf, 0xff, 0xff, 0xff, 0xff}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			_, err := Decode(tc.typ, tc.payload)
			runtime.ReadMemStats(&ms1)
			if err == nil {
				t.Fatal("decoded without error")
			}
			if a := ms1.TotalAlloc - ms0.TotalAlloc; a > 64<<10 {
				t.Fatalf("allocated %d bytes for a %d-byte payload (%v)", a, len(tc.payload), err)
			}
			t.Logf("%v", err)
		})
	}
	// The limits the generated code enforces.
	if _, err := Decode(TypeOwners, []byte{0x93, 0x01, 0x03, 0xdc, 0x02, 0x01}); !errors.Is(err, msgp.ErrLimitExceeded) {
		t.Errorf("513 owner entries: %v, want msgp.ErrLimitExceeded", err)
	}
	if _, err := Decode(TypeHello, []byte{0xde, 0x00, 0x41}); !errors.Is(err, msgp.ErrLimitExceeded) {
		t.Errorf("a Hello of 65 keys: %v, want msgp.ErrLimitExceeded", err)
	}
}

// TestStreamDecodeNeedsReaderLimits documents why wire decodes payloads with
// UnmarshalMsg (bounded by the payload) and why a msgp.Reader over untrusted
// bytes needs SetMaxStringLength: the generated limits cover arrays and maps,
// not strings.
func TestStreamDecodeNeedsReaderLimits(t *testing.T) {
	crafted := []byte{0x81, 0xa5, 'b', 'o', 'a', 'r', 'd', 0xdb, 0x7f, 0xff, 0xff, 0xf0}
	r := msgp.NewReader(bytes.NewReader(crafted))
	r.SetMaxStringLength(MaxPayload)
	r.SetMaxElements(MaxPayload)
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	var h Hello
	err := h.DecodeMsg(r)
	runtime.ReadMemStats(&ms1)
	if !errors.Is(err, msgp.ErrLimitExceeded) {
		t.Fatalf("DecodeMsg with limits: %v, want msgp.ErrLimitExceeded", err)
	}
	if a := ms1.TotalAlloc - ms0.TotalAlloc; a > 64<<10 {
		t.Fatalf("allocated %d bytes", a)
	}
}

func mustMarshal(t *testing.T, m Message) []byte {
	t.Helper()
	b, err := m.MarshalMsg(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSampleSize checks the 48-byte budget of a typical sample payload and
// logs the sizes docs/wire.md quotes.
func TestSampleSize(t *testing.T) {
	const budget = 48
	var typical, idle, large Message
	for _, g := range goldenMessages() {
		switch g.name {
		case "sample":
			typical = g.msg
		case "sample_idle":
			idle = g.msg
		case "sample_large":
			large = g.msg
		}
	}
	worst := &Sample{Seq: ^uint32(0), TimeUS: ^uint64(0), Phase: 255, Sessions: 255, InternalFree: ^uint32(0),
		InternalMinFree: ^uint32(0), InternalLargest: ^uint32(0), SPIRAMFree: ^uint32(0), SPIRAMMinFree: ^uint32(0),
		SPIRAMLargest: ^uint32(0), WSStackHWM: -1 << 31}
	sizes := []struct {
		name   string
		m      Message
		budget int
	}{
		{"typical_steady_4_sessions", typical, budget},
		{"idle_no_ws_task", idle, budget},
		{"large_values", large, budget},
		{"worst_case", worst, 0},
	}
	for _, s := range sizes {
		p := mustMarshal(t, s.m)
		t.Logf("sample %-26s payload %2d B, frame %2d B (Msgsize bound %d)", s.name, len(p), len(p)+Overhead,
			s.m.(msgp.Sizer).Msgsize())
		if s.budget > 0 && len(p) > s.budget {
			t.Errorf("sample %s: payload %d bytes exceeds %d", s.name, len(p), s.budget)
		}
	}
	for _, g := range goldenMessages() {
		if g.msg.FrameType() != TypeSample {
			t.Logf("%-26s payload %4d B", g.name, len(mustMarshal(t, g.msg)))
		}
	}
}

func TestAppendMessage(t *testing.T) {
	s := benchSample()
	payload := mustMarshal(t, s)
	want := frameBytes(t, TypeSample, payload)
	out, err := AppendMessage([]byte("log\n"), s)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, append([]byte("log\n"), want...)) {
		t.Fatalf("AppendMessage = %x, want log\\n + %x", out, want)
	}
	if n := testing.AllocsPerRun(100, func() { out, _ = AppendMessage(out[:0], s) }); n != 0 {
		t.Errorf("AppendMessage into a large enough buffer allocates %.0f times", n)
	}

	// An Owners too big for one frame is refused and dst is left as it was.
	big := &Owners{Seq: 1, Phase: PhaseSteady}
	for i := range 200 {
		big.Entries = append(big.Entries, OwnerUse{Label: "tls[" + strings.Repeat("x", 10) + "]/in_buf", Bytes: uint32(i)})
	}
	dst := []byte("keep")
	out, err = AppendMessage(dst, big)
	if err == nil || !strings.Contains(err.Error(), "exceeds 4096") {
		t.Fatalf("err = %v", err)
	}
	if string(out) != "keep" {
		t.Fatalf("dst became %q", out)
	}
}

// TestDecodeAcceptsEveryIntegerForm checks that a field decodes whatever
// MessagePack integer form the sender chose, as long as the value fits: a C
// encoder may write fixed widths instead of the smallest form.
func TestDecodeAcceptsEveryIntegerForm(t *testing.T) {
	want := benchSample()
	be := func(b []byte, v uint64, n int) []byte {
		for i := n - 1; i >= 0; i-- {
			b = append(b, byte(v>>(8*i)))
		}
		return b
	}
	fields := func(seq []byte) []byte {
		b := msgp.AppendArrayHeader(nil, 11)
		b = append(b, seq...)
		b = be(append(b, 0xcf), want.TimeUS, 8)                    // uint64 form
		b = append(b, 0xd0, byte(want.Phase), 0xcc, want.Sessions) // int8 and uint8 forms
		for _, v := range []uint32{want.InternalFree, want.InternalMinFree, want.InternalLargest,
			want.SPIRAMFree, want.SPIRAMMinFree, want.SPIRAMLargest} {
			b = be(append(b, 0xd3), uint64(v), 8) // int64 form
		}
		return be(append(b, 0xd2), uint64(uint32(want.WSStackHWM)), 4) // int32 form
	}
	got, err := Decode(TypeSample, fields(be([]byte{0xce}, uint64(want.Seq), 4)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	// A value that does not fit is an error, not a silent truncation.
	if _, err := Decode(TypeSample, fields(be([]byte{0xcf}, 1<<32, 8))); err == nil {
		t.Fatal("a seq of 2^32 decoded into a uint32")
	}
	if _, err := Decode(TypeSample, fields([]byte{0xff})); err == nil {
		t.Fatal("a seq of -1 decoded into a uint32")
	}
}
