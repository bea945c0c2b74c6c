package firmware_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wsbench/wsbench/internal/testctx"
	"github.com/wsbench/wsbench/wire"
	"github.com/wsbench/wsbench/wire/wiretest"
)

// The C side truncates error texts to WSB_ERR_MSG_MAX-1 bytes.
const cErrMsgMax = 160 - 1

// cSources are the portable C files under test.
var cSources = []string{
	"components/wsbench_wire/wsbench_msgpack.c",
	"components/wsbench_wire/wsbench_frame.c",
	"components/wsbench_wire/wsbench_command.c",
	"test/host_harness.c",
}

// findCC returns the host C compiler ($WSBENCH_CC, $CC, or cc), or skips the
// test when there is none (outside CI; with CI=true a missing compiler fails).
func findCC(t testing.TB) string {
	t.Helper()
	// WSBENCH_CC picks the compiler for these tests only ($CC also drives cgo).
	cc := os.Getenv("WSBENCH_CC")
	if cc == "" {
		cc = os.Getenv("CC")
	}
	if cc == "" {
		cc = "cc"
	}
	path, err := exec.LookPath(cc)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("host C compiler %q not found (CI=true): %v", cc, err)
		}
		t.Skipf("host C compiler %q not found: %v", cc, err)
	}
	return path
}

// build compiles the harness with the given generated cases file.
func build(t testing.TB, casesC string) string {
	t.Helper()
	cc := findCC(t)
	dir := t.TempDir()
	cases := filepath.Join(dir, "harness_cases.c")
	if err := os.WriteFile(cases, []byte(casesC), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "harness")
	args := []string{"-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O1",
		"-Icomponents/wsbench_wire/include", "-Itest", "-o", bin}
	args = append(args, cSources...)
	args = append(args, cases)
	ctx := testctx.New(t) // a compiler that hangs is killed, and the test fails
	cmd := exec.CommandContext(ctx, cc, args...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("compile harness: %v (%v)\n%s\n%s", err, ctx.Err(), cmd, out)
	}
	return bin
}

func runHarness(t *testing.T, bin, mode string, stdin []byte) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(testctx.New(t), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, mode)
	cmd.WaitDelay = 5 * time.Second
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("harness %s: %v\n%s", mode, err, stderr.Bytes())
	}
	return strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
}

// ---- C initializers for Go messages ----

// cStr is a wsb_str_t initializer; every byte outside [A-Za-z0-9 ._/:-] is an
// octal escape so that no escape runs into the next character.
func cStr(s string) string {
	if s == "" {
		return "{NULL, 0}"
	}
	var b strings.Builder
	b.WriteString(`{"`)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(" ._/:-", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, `\%03o`, c)
		}
	}
	fmt.Fprintf(&b, `", %d}`, len(s))
	return b.String()
}

func cBool(v bool) string {
	if v {
		return "true"
	}
	return "false"
}

func cU64(v uint64) string { return fmt.Sprintf("UINT64_C(%d)", v) }

func cI32(v int32) string {
	if v == math.MinInt32 {
		return "INT32_MIN"
	}
	return strconv.Itoa(int(v))
}

func cOptions(o *wire.Options) string {
	return fmt.Sprintf("{.ws_task_stack_in_ext_ram = %s, .ws_alloc_in_ext_ram = %s, .ws_task_stack = %dU, "+
		".ws_buffer_size = %dU, .ws_dynamic_buffer = %s, .mbedtls_alloc = %s, .mbedtls_in_len = %dU, "+
		".mbedtls_out_len = %dU, .mbedtls_dynamic_buffer = %s, .mbedtls_keep_peer_cert = %s, .spiram_use = %s, "+
		".spiram_always_internal = %dU, .spiram_reserve_internal = %dU, .task_wdt_timeout_s = %d, .task_wdt_panic = %s}",
		cBool(o.WSTaskStackInExtRAM), cBool(o.WSAllocInExtRAM), o.WSTaskStack, o.WSBufferSize, cBool(o.WSDynamicBuffer),
		cStr(o.MbedTLSAlloc), o.MbedTLSInContentLen, o.MbedTLSOutContentLen, cBool(o.MbedTLSDynamicBuffer),
		cBool(o.MbedTLSKeepPeerCert), cStr(o.SPIRAMUse), o.SPIRAMAlwaysInternal, o.SPIRAMReserveInternal,
		o.TaskWDTTimeoutS, cBool(o.TaskWDTPanic))
}

func cRunParams(p *wire.RunParams) string {
	return fmt.Sprintf("{.cell = %s, .scenario = %s, .n = %d, .period_ms = %dU, .detail_every = %d, "+
		".baseline_ms = %dU, .window_ms = %dU, .cycles = %dU, .handler = %s, .work_ms = %dU, .event_ms = %dU, "+
		".seed = %s, .ws_url = %s, .https_url = %s}",
		cStr(p.Cell), cStr(p.Scenario), p.N, p.PeriodMS, p.DetailEvery, p.BaselineMS, p.WindowMS, p.Cycles,
		cStr(p.HandlerMode), p.WorkMS, p.EventMS, cU64(p.Seed), cStr(p.WSURL), cStr(p.HTTPSURL))
}

func cHeapInfo(h *wire.HeapInfo) string {
	return fmt.Sprintf("{%dU, %dU, %dU, %dU, %dU, %dU, %dU}", h.Free, h.Allocated, h.Largest, h.MinFree,
		h.AllocatedBlocks, h.FreeBlocks, h.TotalBlocks)
}

// cMessage returns the C type, the initializer and any declarations the
// initializer needs (named after id).
func cMessage(id string, m wire.Message) (ctype, init, decls string) {
	switch m := m.(type) {
	case *wire.Hello:
		return "wsb_hello_t", fmt.Sprintf("{.protocol = %d, .board = %s, .is_virtual = %s, .chip = %s, .chip_rev = %d, "+
			".cores = %d, .flash_size = %dU, .psram_size = %dU, .internal_total = %dU, .spiram_total = %dU, "+
			".idf = %s, .app = %s, .app_version = %s, .elf_sha256 = %s, .component = %s, .component_version = %s, "+
			".component_commit = %s, .behaviour = %s, .variant = %s, .options = %s, .sampler_stack = %dU, "+
			".sampler_buffers = %dU, .reset_reason = %d, .emulator = %s}",
			m.Protocol, cStr(m.Board), cBool(m.Virtual), cStr(m.Chip), m.ChipRevision, m.Cores, m.FlashSize,
			m.PSRAMSize, m.InternalTotal, m.SPIRAMTotal, cStr(m.IDFVersion), cStr(m.AppName), cStr(m.AppVersion),
			cStr(m.ELFSHA256), cStr(m.Component), cStr(m.ComponentVersion), cStr(m.ComponentCommit),
			cStr(m.Behaviour), cStr(m.Variant), cOptions(&m.Options), m.SamplerStack, m.SamplerBuffers,
			m.ResetReason, cStr(m.Emulator)), ""
	case *wire.RunStart:
		return "wsb_run_start_t", fmt.Sprintf("{.params = %s, .t_us = %s, .variant = %s}",
			cRunParams(&m.Params), cU64(m.TimeUS), cStr(m.Variant)), ""
	case *wire.RunEnd:
		return "wsb_run_end_t", fmt.Sprintf("{.cell = %s, .t_us = %s, .status = %s, .err = %s, .samples_sent = %dU, "+
			".samples_dropped = %dU, .events = %dU}", cStr(m.Cell), cU64(m.TimeUS), cStr(m.Status), cStr(m.Err),
			m.SamplesSent, m.SamplesDropped, m.Events), ""
	case *wire.Sample:
		return "wsb_sample_t", fmt.Sprintf("{%dU, %s, %d, %d, %dU, %dU, %dU, %dU, %dU, %dU, %s}", m.Seq,
			cU64(m.TimeUS), m.Phase, m.Sessions, m.InternalFree, m.InternalMinFree, m.InternalLargest, m.SPIRAMFree,
			m.SPIRAMMinFree, m.SPIRAMLargest, cI32(m.WSStackHWM)), ""
	case *wire.HeapDetail:
		return "wsb_heap_detail_t", fmt.Sprintf("{%dU, %s, %s, %s}", m.Seq, cHeapInfo(&m.Internal),
			cHeapInfo(&m.DMA), cHeapInfo(&m.SPIRAM)), ""
	case *wire.Event:
		return "wsb_event_t", fmt.Sprintf("{%s, %d, %d, %s, %dU, %dU, %s}", cU64(m.TimeUS), m.Kind, m.Session,
			cI32(m.Err), m.DurUS, m.Size, cStr(m.Name)), ""
	case *wire.Owners:
		entries := "NULL"
		if len(m.Entries) > 0 {
			var b strings.Builder
			fmt.Fprintf(&b, "static const wsb_owner_use_t %s_entries[] = {\n", id)
			for _, e := range m.Entries {
				fmt.Fprintf(&b, "    {%s, %d, %dU, %dU},\n", cStr(e.Label), e.Heap, e.Bytes, e.Blocks)
			}
			b.WriteString("};\n")
			decls = b.String()
			entries = id + "_entries"
		}
		return "wsb_owners_t", fmt.Sprintf("{%dU, %d, %s, %d}", m.Seq, m.Phase, entries, len(m.Entries)), decls
	case *wire.Reply:
		return "wsb_reply_t", fmt.Sprintf("{%s, %s, %s}", cStr(m.Cmd), cBool(m.OK), cStr(m.Err)), ""
	}
	panic(fmt.Sprintf("no C initializer for %T", m))
}

type msgCase struct {
	name string
	msg  wire.Message
	want []byte // expected frame; nil when Go refuses to frame it
}

func casesC(cases []msgCase) string {
	var b strings.Builder
	b.WriteString("/* Generated by firmware/host_test.go. */\n#include <stdint.h>\n#include \"harness.h\"\n#include \"wsbench_wire.h\"\n\n")
	var table strings.Builder
	for i, c := range cases {
		id := fmt.Sprintf("m%d", i)
		ctype, init, decls := cMessage(id, c.msg)
		b.WriteString(decls)
		fmt.Fprintf(&b, "static const %s %s = %s;\n", ctype, id, init)
		fmt.Fprintf(&table, "    {%q, %d, &%s},\n", c.name, c.msg.FrameType(), id)
	}
	if len(cases) == 0 {
		table.WriteString("    {NULL, 0, NULL},\n") // C has no empty initializer lists
	}
	fmt.Fprintf(&b, "\nconst harness_case_t harness_cases[] = {\n%s};\n", table.String())
	fmt.Fprintf(&b, "const size_t harness_n_cases = %d;\n", len(cases))
	return b.String()
}

// ---- Message cases ----

func goldenCases(t *testing.T) []msgCase {
	t.Helper()
	files, err := filepath.Glob("../wire/testdata/golden/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Log("no golden vectors in ../wire/testdata/golden; checking generated values only")
	}
	names := map[string]wire.FrameType{}
	for ft := wire.FrameType(1); ft.Known(); ft++ {
		names[ft.String()] = ft
	}
	var out []msgCase
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var env struct {
			Type    string          `json:"type"`
			Message json.RawMessage `json:"message"`
		}
		if err := json.Unmarshal(raw, &env); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		ft, ok := names[env.Type]
		if !ok {
			t.Fatalf("%s: unknown type %q", f, env.Type)
		}
		m := wire.New(ft)
		if err := json.Unmarshal(env.Message, m); err != nil {
			t.Fatalf("%s: message: %v", f, err)
		}
		bin, err := os.ReadFile(strings.TrimSuffix(f, ".json") + ".bin")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, msgCase{name: "golden/" + strings.TrimSuffix(filepath.Base(f), ".json"), msg: m, want: bin})
	}
	return out
}

var (
	uintEdges  = []uint64{0, 1, 127, 128, 255, 256, 65535, 65536, math.MaxUint32}
	u64Edges   = []uint64{math.MaxUint32 + 1, 1 << 53, math.MaxUint64}
	int32Edges = []int32{0, 1, 127, 128, 255, 256, 32767, 32768, math.MaxInt32, -1, -32, -33, -128, -129,
		-32768, -32769, math.MinInt32}
	strLens = []int{0, 1, 31, 32, 255, 256, 1000}
)

// genCases are values at every MessagePack size boundary plus random ones.
func genCases() []msgCase {
	r := rand.New(rand.NewPCG(6, 1))
	u := func(max uint64) uint64 {
		if r.IntN(3) == 0 {
			return r.Uint64() & max
		}
		for {
			v := uintEdges[r.IntN(len(uintEdges))]
			if max == math.MaxUint64 && r.IntN(3) == 0 {
				v = u64Edges[r.IntN(len(u64Edges))]
			}
			if v <= max {
				return v
			}
		}
	}
	i32 := func() int32 {
		if r.IntN(3) == 0 {
			return int32(r.Uint32())
		}
		return int32Edges[r.IntN(len(int32Edges))]
	}
	str := func() string {
		n := strLens[r.IntN(len(strLens))]
		if n > 40 && r.IntN(2) == 0 {
			n = r.IntN(300)
		}
		b := make([]byte, n)
		for i := range b {
			if r.IntN(4) == 0 {
				b[i] = byte(r.UintN(256))
			} else {
				b[i] = 'a' + byte(r.UintN(26))
			}
		}
		return string(b)
	}
	heap := func() wire.HeapInfo {
		return wire.HeapInfo{Free: uint32(u(math.MaxUint32)), Allocated: uint32(u(math.MaxUint32)),
			Largest: uint32(u(math.MaxUint32)), MinFree: uint32(u(math.MaxUint32)),
			AllocatedBlocks: uint32(u(math.MaxUint32)), FreeBlocks: uint32(u(math.MaxUint32)),
			TotalBlocks: uint32(u(math.MaxUint32))}
	}
	var out []msgCase
	add := func(name string, m wire.Message) { out = append(out, msgCase{name: name, msg: m}) }
	for i := range 40 {
		add(fmt.Sprintf("sample/%d", i), &wire.Sample{Seq: uint32(u(math.MaxUint32)), TimeUS: u(math.MaxUint64),
			Phase: wire.Phase(u(255)), Sessions: uint8(u(255)), InternalFree: uint32(u(math.MaxUint32)),
			InternalMinFree: uint32(u(math.MaxUint32)), InternalLargest: uint32(u(math.MaxUint32)),
			SPIRAMFree: uint32(u(math.MaxUint32)), SPIRAMMinFree: uint32(u(math.MaxUint32)),
			SPIRAMLargest: uint32(u(math.MaxUint32)), WSStackHWM: i32()})
		add(fmt.Sprintf("heap_detail/%d", i), &wire.HeapDetail{Seq: uint32(u(math.MaxUint32)), Internal: heap(),
			DMA: heap(), SPIRAM: heap()})
		add(fmt.Sprintf("event/%d", i), &wire.Event{TimeUS: u(math.MaxUint64), Kind: wire.EventKind(u(255)),
			Session: int16(i32()), Err: i32(), DurUS: uint32(u(math.MaxUint32)), Size: uint32(u(math.MaxUint32)),
			Name: str()})
		add(fmt.Sprintf("reply/%d", i), &wire.Reply{Cmd: str(), OK: r.IntN(2) == 0, Err: str()})
		add(fmt.Sprintf("run_end/%d", i), &wire.RunEnd{Cell: str(), TimeUS: u(math.MaxUint64), Status: str(),
			Err: str(), SamplesSent: uint32(u(math.MaxUint32)), SamplesDropped: uint32(u(math.MaxUint32)),
			Events: uint32(u(math.MaxUint32))})
		add(fmt.Sprintf("run_start/%d", i), &wire.RunStart{TimeUS: u(math.MaxUint64), Variant: str(),
			Params: wire.RunParams{Cell: str(), Scenario: str(), N: uint16(u(65535)),
				PeriodMS: uint32(u(math.MaxUint32)), DetailEvery: uint16(u(65535)),
				BaselineMS: uint32(u(math.MaxUint32)), WindowMS: uint32(u(math.MaxUint32)),
				Cycles: uint32(u(math.MaxUint32)), HandlerMode: str(), WorkMS: uint32(u(math.MaxUint32)),
				EventMS: uint32(u(math.MaxUint32)), Seed: u(math.MaxUint64), WSURL: str(), HTTPSURL: str()}})
		own := &wire.Owners{Seq: uint32(u(math.MaxUint32)), Phase: wire.Phase(u(255))}
		for range []int{0, 1, 3, 15, 16, 20}[i%6] {
			label := str()
			own.Entries = append(own.Entries, wire.OwnerUse{Label: label[:min(20, len(label))], Heap: wire.HeapKind(u(255)),
				Bytes: uint32(u(math.MaxUint32)), Blocks: uint32(u(math.MaxUint32))})
		}
		add(fmt.Sprintf("owners/%d", i), own)
		if i < 10 {
			add(fmt.Sprintf("hello/%d", i), &wire.Hello{Protocol: uint16(u(65535)), Board: str(),
				Virtual: r.IntN(2) == 0, Chip: str(), ChipRevision: uint16(u(65535)), Cores: uint8(u(255)),
				FlashSize: uint32(u(math.MaxUint32)), PSRAMSize: uint32(u(math.MaxUint32)),
				InternalTotal: uint32(u(math.MaxUint32)), SPIRAMTotal: uint32(u(math.MaxUint32)),
				IDFVersion: str(), AppName: str(), AppVersion: str(), ELFSHA256: str(), Component: str(),
				ComponentVersion: str(), ComponentCommit: str(), Behaviour: str(), Variant: str(),
				Options: wire.Options{WSTaskStackInExtRAM: r.IntN(2) == 0, WSAllocInExtRAM: r.IntN(2) == 0,
					WSTaskStack: uint32(u(math.MaxUint32)), WSBufferSize: uint32(u(math.MaxUint32)),
					WSDynamicBuffer: r.IntN(2) == 0, MbedTLSAlloc: str(), MbedTLSInContentLen: uint32(u(math.MaxUint32)),
					MbedTLSOutContentLen: uint32(u(math.MaxUint32)), MbedTLSDynamicBuffer: r.IntN(2) == 0,
					MbedTLSKeepPeerCert: r.IntN(2) == 0, SPIRAMUse: str(), SPIRAMAlwaysInternal: uint32(u(math.MaxUint32)),
					SPIRAMReserveInternal: uint32(u(math.MaxUint32)), TaskWDTTimeoutS: uint8(u(255)),
					TaskWDTPanic: r.IntN(2) == 0},
				SamplerStack: uint32(u(math.MaxUint32)), SamplerBuffers: uint32(u(math.MaxUint32)),
				ResetReason: uint8(u(255))})
		}
	}
	// Payload limits: exactly at and just over wire.MaxPayload.
	add("reply/at_max_payload", &wire.Reply{Cmd: "x", Err: strings.Repeat("e", wire.MaxPayload-17)})
	add("reply/over_max_payload", &wire.Reply{Cmd: "x", Err: strings.Repeat("e", wire.MaxPayload-16)})
	return out
}

// TestCEncoderMatchesGo frames the golden vectors and generated values with
// the C encoder and checks that the bytes equal Go's and that the collector's
// demultiplexer and decoder read them back.
func TestCEncoderMatchesGo(t *testing.T) {
	cases := append(goldenCases(t), genCases()...)
	for i := range cases {
		frame, err := wire.AppendMessage(nil, cases[i].msg)
		if cases[i].want != nil {
			if err != nil || !bytes.Equal(frame, cases[i].want) {
				t.Fatalf("%s: Go's own frame differs from the golden .bin (err %v); regenerate wire goldens", cases[i].name, err)
			}
		} else if err == nil {
			cases[i].want = frame
		}
	}
	bin := build(t, casesC(cases))
	lines := runHarness(t, bin, "msg", nil)
	if len(lines) != len(cases) {
		t.Fatalf("harness printed %d lines for %d cases", len(lines), len(cases))
	}
	var stream []byte
	var sent []msgCase
	checked := 0
	for i, line := range lines {
		c := cases[i]
		name, out, _ := strings.Cut(line, " ")
		if name != c.name {
			t.Fatalf("line %d: case %q, want %q", i, name, c.name)
		}
		if c.want == nil {
			// 2 is WSB_ERR_TOO_LARGE; 1 (WSB_ERR_NO_SPACE) when the payload
			// does not even fit the harness's buffer.
			if out != "ERR 2" && !(out == "ERR 1" && c.name != "reply/over_max_payload") {
				t.Errorf("%s: Go refuses to frame it (payload over %d bytes), C gave %q", c.name, wire.MaxPayload, out)
			}
			continue
		}
		got, err := hex.DecodeString(out)
		if err != nil {
			t.Errorf("%s: C output %q: %v", c.name, out, err)
			continue
		}
		if !bytes.Equal(got, c.want) {
			t.Errorf("%s: C frame differs from Go\n C: % x\nGo: % x", c.name, got, c.want)
			continue
		}
		checked++
		stream = append(stream, fmt.Sprintf("I (%d) wsbench: text between frames\n", i)...)
		stream = append(stream, got...)
		sent = append(sent, c)
	}
	t.Logf("%d frames byte-identical to Go (%d golden vectors)", checked, len(goldenCases(t)))

	// The collector's path: demultiplex the stream, decode every frame.
	var d wire.Demuxer
	var frames []wire.Chunk
	d.Feed(stream, func(ch wire.Chunk) {
		if ch.Kind == wire.ChunkFrame {
			ch.Payload = bytes.Clone(ch.Payload)
			frames = append(frames, ch)
		}
	})
	d.Close(func(wire.Chunk) {})
	if len(frames) != len(sent) {
		t.Fatalf("demuxer found %d frames in the C stream, want %d (stats %+v)", len(frames), len(sent), d.Stats())
	}
	for i, f := range frames {
		c := sent[i]
		m, err := wire.Decode(f.Type, f.Payload)
		if err != nil {
			t.Errorf("%s: decode C frame: %v", c.name, err)
			continue
		}
		if f.Type != c.msg.FrameType() {
			t.Errorf("%s: frame type %s, want %s", c.name, f.Type, c.msg.FrameType())
		}
		if o, ok := c.msg.(*wire.Owners); ok && len(o.Entries) == 0 {
			continue // nil and empty slices differ only in Go
		}
		if !reflect.DeepEqual(m, c.msg) {
			t.Errorf("%s: decoded %+v, want %+v", c.name, m, c.msg)
		}
	}
}

// ---- Commands ----

// cmdResult is what either parser made of a line.
type cmdResult struct {
	ok    bool
	col   int
	msg   string
	name  string
	args  []wire.Arg
	isRun bool
	runOK bool
	run   []byte // RunParams MessagePack when runOK
	rmsg  string // ParseRunParams error otherwise
}

func goParse(line string) cmdResult {
	c, err := wire.ParseCommand(line)
	if err != nil {
		var ce *wire.CommandError
		if !errors.As(err, &ce) {
			return cmdResult{msg: "not a CommandError: " + err.Error()}
		}
		return cmdResult{col: ce.Col, msg: ce.Error()}
	}
	res := cmdResult{ok: true, name: c.Name, args: c.Args}
	if c.Name == wire.CmdRun {
		res.isRun = true
		p, err := wire.ParseRunParams(c)
		if err != nil {
			res.rmsg = err.Error()
		} else {
			res.runOK = true
			res.run, _ = p.MarshalMsg(nil)
		}
	}
	return res
}

func unhexField(t testing.TB, s string) string {
	t.Helper()
	if s == "-" {
		return ""
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("harness field %q: %v", s, err)
	}
	return string(b)
}

func parseHarnessLine(t testing.TB, line string) cmdResult {
	t.Helper()
	f := strings.Fields(line)
	if len(f) == 3 && f[0] == "E" {
		col, err := strconv.Atoi(f[1])
		if err != nil {
			t.Fatalf("harness line %q", line)
		}
		return cmdResult{col: col, msg: unhexField(t, f[2])}
	}
	if len(f) < 3 || f[0] != "O" {
		t.Fatalf("harness line %q", line)
	}
	res := cmdResult{ok: true, name: unhexField(t, f[1])}
	n, err := strconv.Atoi(f[2])
	if err != nil || len(f) < 3+n {
		t.Fatalf("harness line %q", line)
	}
	for _, kv := range f[3 : 3+n] {
		k, v, _ := strings.Cut(kv, "=")
		res.args = append(res.args, wire.Arg{Key: unhexField(t, k), Value: unhexField(t, v)})
	}
	rest := f[3+n:]
	if len(rest) == 2 {
		res.isRun = true
		switch rest[0] {
		case "R":
			res.runOK = true
			res.run = []byte(unhexField(t, rest[1]))
		case "X":
			res.rmsg = unhexField(t, rest[1])
		default:
			t.Fatalf("harness line %q", line)
		}
	} else if len(rest) != 0 {
		t.Fatalf("harness line %q", line)
	}
	return res
}

// sameMsg compares error texts; the C side keeps only the first cErrMsgMax bytes.
func sameMsg(c, goMsg string) bool {
	if len(goMsg) > cErrMsgMax {
		return c == goMsg[:cErrMsgMax]
	}
	return c == goMsg
}

// vectorLines reads wire/testdata/commands.txt (package wiretest): every
// command line, plus the normative column of each malformed one.
func vectorLines(t testing.TB) (lines []string, cols map[string]int) {
	t.Helper()
	cols = map[string]int{}
	vs, err := wiretest.ReadCommandVectors("../wire/testdata/commands.txt")
	if errors.Is(err, os.ErrNotExist) {
		t.Log("no ../wire/testdata/commands.txt; checking own lines only")
		return nil, cols
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		lines = append(lines, v.Line)
		if !v.OK {
			cols[v.Line] = v.Col
		}
	}
	return lines, cols
}

// ownLines are hand-written lines for ParseRunParams' defaults and checks.
var ownLines = []string{
	"run scenario=sweep",
	"run scenario=handler",
	"run scenario=handler event_ms=0",
	"run scenario=churn event_ms=0",
	"run",
	"run n=4",
	"run scenario=flood",
	"run scenario=sweep handler=both",
	"run scenario=sweep n=64",
	"run scenario=sweep n=65",
	"run scenario=sweep n=65536",
	"run scenario=sweep n=-1",
	"run scenario=sweep n=%2B1",
	"run scenario=sweep n=",
	"run scenario=sweep period_ms=0",
	"run scenario=sweep period_ms=4294967295",
	"run scenario=sweep period_ms=4294967296",
	"run scenario=sweep seed=18446744073709551615",
	"run scenario=sweep seed=18446744073709551616",
	"run scenario=sweep seed=007",
	"run scenario=sweep colour=red",
	"run colour=red scenario=flood",
	"run scenario=sweep detail_every=0 baseline_ms=0 window_ms=0 cycles=0 work_ms=0",
	"run scenario=sweep cell=%E2%82%AC%ED%A0%80%C2%85%00 n=x%FF",
	"run scenario=%E2%80%A8",
	"run scenario=sweep ws_url=wss://10.0.0.2:8443/ws https_url=https://10.0.0.2:8443/",
	"hello\r\n",
	"hello\n\r",
	"hello\r",
	"x_1 a_b=%41%4a%4A",
	strings.Repeat("a", wire.MaxCommandLine),
	strings.Repeat("a", wire.MaxCommandLine) + "\r\n",
	strings.Repeat("a", wire.MaxCommandLine+1),
	"run " + strings.Repeat("k", 300) + "=1 " + strings.Repeat("k", 150) + "=%",
}

// randomLines are lines built from command-like tokens with random damage.
func randomLines(n int) []string {
	r := rand.New(rand.NewPCG(6, 2))
	names := []string{"run", "run", "run", "hello", "wifi", "stop", "x", "Run", "", "r-n"}
	keys := []string{"n", "cell", "scenario", "period_ms", "seed", "handler", "event_ms", "work_ms", "detail_every",
		"cycles", "window_ms", "baseline_ms", "ws_url", "https_url", "bogus", "N", "", "k_1"}
	vals := []string{"4", "64", "65", "65535", "65536", "0", "18446744073709551615", "18446744073709551616",
		"sweep", "churn", "handler", "inline", "queued", "x", "%41", "%zz", "%4", "%", "a b", "", "+1", "-1",
		"0x10", "007", "\t", "\xa5", "%e2%82%ac", "%c3%a9", "%ed%a0%80", "%7f", "\"q\"", "'", "\\", "wss://h:1/ws"}
	seps := []string{" ", " ", " ", " ", " ", "  ", "\t", "=", ""}
	ends := []string{"", "", "\n", "\r\n", "\r", "\n\n", " "}
	out := make([]string, 0, n)
	runKeys := keys[:14]
	runVals := vals[:13]
	for i := range n {
		var b strings.Builder
		if i%2 == 0 {
			// Well-formed run commands: exercise ParseRunParams, not the grammar.
			b.WriteString("run")
			if r.IntN(5) != 0 {
				b.WriteString(" scenario=" + vals[8+r.IntN(3)])
			}
			for range r.IntN(6) {
				b.WriteString(" " + runKeys[r.IntN(len(runKeys))] + "=" + runVals[r.IntN(len(runVals))])
			}
			out = append(out, b.String())
			continue
		}
		b.WriteString(names[r.IntN(len(names))])
		for range r.IntN(7) {
			b.WriteString(seps[r.IntN(len(seps))])
			b.WriteString(keys[r.IntN(len(keys))])
			if r.IntN(12) != 0 {
				b.WriteByte('=')
			}
			b.WriteString(vals[r.IntN(len(vals))])
		}
		line := []byte(b.String())
		for range r.IntN(3) {
			if r.IntN(3) == 0 && len(line) > 0 {
				line[r.IntN(len(line))] = byte(r.UintN(256))
			}
		}
		out = append(out, string(line)+ends[r.IntN(len(ends))])
	}
	return out
}

// compareCommand reports every difference between what Go (want) and C
// (got) made of line, and returns a category for the statistics.
func compareCommand(t testing.TB, l string, want, got cmdResult) string {
	t.Helper()
	switch {
	case want.ok != got.ok:
		t.Errorf("%q: Go ok=%v (%s), C ok=%v (%s)", l, want.ok, want.msg, got.ok, got.msg)
		return "mismatch"
	case !want.ok:
		if got.col != want.col || !sameMsg(got.msg, want.msg) {
			t.Errorf("%q:\n Go: %s\n  C: %s (column %d)", l, want.msg, got.msg, got.col)
		}
		return "rejected"
	}
	if got.name != want.name || !reflect.DeepEqual(got.args, want.args) {
		t.Errorf("%q: C %q %q, Go %q %q", l, got.name, got.args, want.name, want.args)
	}
	if got.isRun != want.isRun || got.runOK != want.runOK {
		t.Errorf("%q: run params: C ok=%v %q, Go ok=%v %q", l, got.runOK, got.rmsg, want.runOK, want.rmsg)
		return "mismatch"
	}
	switch {
	case want.isRun && want.runOK:
		if !bytes.Equal(got.run, want.run) {
			t.Errorf("%q: run params differ\n C: % x\nGo: % x", l, got.run, want.run)
		}
		return "run ok"
	case want.isRun:
		if !sameMsg(got.rmsg, want.rmsg) {
			t.Errorf("%q: run params error\n Go: %s\n  C: %s", l, want.rmsg, got.rmsg)
		}
		return "run rejected"
	}
	return "accepted"
}

// TestCCommandParserMatchesGo runs the command vectors, hand-written run
// lines and random lines through both parsers: same accept/reject, same
// column, same message, same name and arguments, and for "run" the same
// parameters (as RunParams MessagePack) or the same ParseRunParams error.
func TestCCommandParserMatchesGo(t *testing.T) {
	vectors, cols := vectorLines(t)
	lines := append(append(append([]string{}, vectors...), ownLines...), randomLines(3000)...)
	bin := build(t, casesC(nil))
	var in bytes.Buffer
	for _, l := range lines {
		if l == "" {
			in.WriteString("-\n")
			continue
		}
		in.WriteString(hex.EncodeToString([]byte(l)))
		in.WriteByte('\n')
	}
	out := runHarness(t, bin, "cmd", in.Bytes())
	if len(out) != len(lines) {
		t.Fatalf("harness printed %d lines for %d inputs", len(out), len(lines))
	}
	stats := map[string]int{}
	for i, l := range lines {
		got := parseHarnessLine(t, out[i])
		if col, ok := cols[l]; ok && got.col != col {
			t.Errorf("%q: C column %d, commands.txt says %d", l, got.col, col)
		}
		stats[compareCommand(t, l, goParse(l), got)]++
	}
	keys := make([]string, 0, len(stats))
	for k := range stats {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var summary []string
	for _, k := range keys {
		summary = append(summary, fmt.Sprintf("%s=%d", k, stats[k]))
	}
	t.Logf("%d lines (%d vectors): %s", len(lines), len(vectors), strings.Join(summary, " "))
}

// FuzzCCommandParser feeds each input line to one long-running harness and
// to wire.ParseCommand / wire.ParseRunParams, which must agree exactly.
// Seeds: the command vectors and the hand-written lines.
func FuzzCCommandParser(f *testing.F) {
	vectors, _ := vectorLines(f)
	for _, l := range append(vectors, ownLines...) {
		f.Add([]byte(l))
	}
	bin := build(f, casesC(nil))
	// The harness lives for the whole fuzz run: no overall deadline, but
	// every exchange with it has one, and cleanup kills it if closing its
	// input does not end it.
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "cmd")
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		f.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		f.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		f.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	f.Cleanup(func() {
		stdin.Close()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cancel() // kills it
			<-exited // bounded by WaitDelay
		}
		cancel()
	})
	// The pipes are *os.File in the runtime poller: deadlines apply.
	in, out := stdin.(*os.File), stdout.(*os.File)
	answers := bufio.NewReader(stdout)
	f.Fuzz(func(t *testing.T, line []byte) {
		if len(line) > 2*wire.MaxCommandLine {
			t.Skip("longer than the harness's line buffer")
		}
		hexLine := "-"
		if len(line) > 0 {
			hexLine = hex.EncodeToString(line)
		}
		in.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(stdin, hexLine+"\n"); err != nil {
			t.Fatalf("write to harness: %v", err)
		}
		out.SetReadDeadline(time.Now().Add(10 * time.Second))
		ans, err := answers.ReadString('\n')
		if err != nil {
			t.Fatalf("read from harness: %v", err)
		}
		compareCommand(t, string(line), goParse(string(line)), parseHarnessLine(t, strings.TrimSuffix(ans, "\n")))
	})
}
