package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/wsbench/wsbench/wire/wiretest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goldenMessages are the golden vectors: realistic messages from an
// ESP32-S3 N8R8 (8 MB flash, 8 MB PSRAM) running 4 TLS sessions. Values follow
// /work/shared/facts/esp32-memory.md: section 1 (websocket task stack 4096,
// buffer_size 1024), section 2 (mbedTLS IN/OUT content lengths 16384/4096,
// ~16717 B IN record buffer), section 3 (ESP32-S3 ~183.9 KB free with Wi-Fi;
// SPIRAM_MALLOC_ALWAYSINTERNAL 16384, RESERVE_INTERNAL 32768), section 4
// (reset reasons, task WDT 5 s). They are examples, not measurements.
//
// Adding a vector: add it here and run `go test ./wire -run TestGolden -update`.
// Never change an existing vector's values without a protocol reason: the
// firmware's tests read these files.
func goldenMessages() []struct {
	name string
	msg  Message
} {
	return []struct {
		name string
		msg  Message
	}{
		{"hello", &Hello{
			Protocol: ProtocolVersion, Board: "esp32s3-n8r8", Chip: "esp32s3", ChipRevision: 2, Cores: 2,
			FlashSize: 8 << 20, PSRAMSize: 8 << 20, InternalTotal: 337920, SPIRAMTotal: 8386279,
			IDFVersion: "v5.3.1", AppName: "wsbench_fw", AppVersion: "0.1.0", ELFSHA256: "3f9a0c2be41d7a58",
			Component: "espressif/esp_websocket_client", ComponentVersion: "1.4.0", ComponentCommit: "",
			Behaviour: BehaviourFallback, Variant: "fallback-stack-ext",
			Options: Options{
				WSTaskStackInExtRAM: true, WSAllocInExtRAM: true, WSTaskStack: 4096, WSBufferSize: 1024,
				MbedTLSAlloc: "internal", MbedTLSInContentLen: 16384, MbedTLSOutContentLen: 4096,
				MbedTLSKeepPeerCert: true, SPIRAMUse: "malloc", SPIRAMAlwaysInternal: 16384,
				SPIRAMReserveInternal: 32768, TaskWDTTimeoutS: 5,
			},
			SamplerStack: 3072, SamplerBuffers: 2048, ResetReason: 1,
		}},
		// The same firmware in Espressif's QEMU (-M esp32s3 -m 8M): Hello names
		// the emulator; figures are examples, not measurements.
		{"hello_qemu", &Hello{
			Protocol: ProtocolVersion, Board: "esp32s3", Chip: "esp32s3", ChipRevision: 0, Cores: 2,
			FlashSize: 8 << 20, PSRAMSize: 8 << 20, InternalTotal: 337920, SPIRAMTotal: 8386279,
			IDFVersion: "v5.5.1", AppName: "wsbench_fw", AppVersion: "0.1.0", ELFSHA256: "3f9a0c2be41d7a58",
			Component: "espressif/esp_websocket_client", ComponentVersion: "1.4.0", ComponentCommit: "",
			Behaviour: BehaviourFallback, Variant: "stack-ext",
			Options: Options{
				WSTaskStackInExtRAM: true, WSTaskStack: 4096, WSBufferSize: 1024,
				MbedTLSAlloc: "internal", MbedTLSInContentLen: 16384, MbedTLSOutContentLen: 4096,
				MbedTLSKeepPeerCert: true, SPIRAMUse: "malloc", SPIRAMAlwaysInternal: 16384,
				SPIRAMReserveInternal: 32768, TaskWDTTimeoutS: 5,
			},
			SamplerStack: 3072, SamplerBuffers: 2048, ResetReason: 1, Emulator: "qemu",
		}},
		{"run_start", &RunStart{
			Params: RunParams{Cell: "s3-fallback-both-n4-r1", Scenario: ScenarioSweep, N: 4, PeriodMS: 100,
				DetailEvery: 10, BaselineMS: 2000, WindowMS: 10000, Cycles: 20, HandlerMode: HandlerQueued,
				WorkMS: 50, EventMS: 100, Seed: 42, WSURL: "wss://192.168.4.2:8443/ws",
				HTTPSURL: "https://192.168.4.2:8443/"},
			TimeUS: 4210233, Variant: "fallback-stack-ext",
		}},
		{"run_end", &RunEnd{Cell: "s3-fallback-both-n4-r1", TimeUS: 21873005, Status: "ok", Err: "",
			SamplesSent: 176, SamplesDropped: 0, Events: 19}},
		{"run_end_failed", &RunEnd{Cell: "s3-strict-both-n8-r1", TimeUS: 9100512, Status: "failed",
			Err: "session 6: esp_websocket_client_start: ESP_FAIL", SamplesSent: 48, SamplesDropped: 3, Events: 14}},
		{"sample", &Sample{Seq: 1234, TimeUS: 127455012, Phase: PhaseSteady, Sessions: 4,
			InternalFree: 71236, InternalMinFree: 52108, InternalLargest: 31744,
			SPIRAMFree: 8257012, SPIRAMMinFree: 8240128, SPIRAMLargest: 8126464, WSStackHWM: 1180}},
		{"sample_large", &Sample{Seq: 70001, TimeUS: 4400000000, Phase: PhaseChurn, Sessions: 8,
			InternalFree: 24580, InternalMinFree: 9312, InternalLargest: 8192,
			SPIRAMFree: 7925336, SPIRAMMinFree: 7843008, SPIRAMLargest: 7798784, WSStackHWM: -1}},
		{"sample_idle", &Sample{Seq: 0, TimeUS: 812345, Phase: PhaseIdle, Sessions: 0,
			InternalFree: 188312, InternalMinFree: 187900, InternalLargest: 110592,
			SPIRAMFree: 8380415, SPIRAMMinFree: 8380415, SPIRAMLargest: 8257536, WSStackHWM: -1}},
		{"heap_detail", &HeapDetail{Seq: 1230,
			Internal: HeapInfo{Free: 71236, Allocated: 266684, Largest: 31744, MinFree: 52108,
				AllocatedBlocks: 1083, FreeBlocks: 21, TotalBlocks: 1104},
			DMA: HeapInfo{Free: 63044, Allocated: 258876, Largest: 31744, MinFree: 44116,
				AllocatedBlocks: 1051, FreeBlocks: 17, TotalBlocks: 1068},
			SPIRAM: HeapInfo{Free: 8257012, Allocated: 129267, Largest: 8126464, MinFree: 8240128,
				AllocatedBlocks: 212, FreeBlocks: 3, TotalBlocks: 215},
		}},
		{"event_session_connected", &Event{TimeUS: 6512004, Kind: EventSessionConnected, Session: 2,
			DurUS: 1843210}},
		{"event_session_failed", &Event{TimeUS: 7004311, Kind: EventSessionFailed, Session: 6,
			Err: 0x8017, DurUS: 5000120}}, // ESP_ERR_ESP_TLS_CONNECTION_TIMEOUT
		{"event_session_closed", &Event{TimeUS: 17321458, Kind: EventSessionClosed, Session: 3}},
		{"event_task_started", &Event{TimeUS: 6211870, Kind: EventTaskStarted, Session: 2,
			Err: int32(HeapSPIRAM), Size: 4096, Name: "websocket_task"}},
		{"event_alloc_failed", &Event{TimeUS: 8120044, Kind: EventAllocFailed, Session: 7,
			Err: 0x1800, Size: 16717, Name: "tls[7]/in_buf"}}, // MALLOC_CAP_INTERNAL|MALLOC_CAP_8BIT
		{"event_handler_latency", &Event{TimeUS: 30120333, Kind: EventHandlerLatency, Session: 0,
			DurUS: 50412}},
		{"event_watchdog_warning", &Event{TimeUS: 35000120, Kind: EventWatchdogWarning, Session: -1,
			Name: "IDLE0"}},
		{"event_cycle_end", &Event{TimeUS: 61200455, Kind: EventCycleEnd, Session: -1, Size: 17}},
		{"event_phase", &Event{TimeUS: 6200000, Kind: EventPhase, Session: -1, Name: "ramp"}},
		{"owners", &Owners{Seq: 1230, Phase: PhaseSteady, Entries: []OwnerUse{
			{Label: "ws/client", Heap: HeapSPIRAM, Bytes: 168, Blocks: 1},
			{Label: "ws/config", Heap: HeapSPIRAM, Bytes: 124, Blocks: 1},
			{Label: "ws/task_stack", Heap: HeapSPIRAM, Bytes: 4100, Blocks: 1},
			{Label: "ws/rx_buf", Heap: HeapInternal, Bytes: 1028, Blocks: 1},
			{Label: "ws/tx_buf", Heap: HeapInternal, Bytes: 1028, Blocks: 1},
			{Label: "tls[0]/in_buf", Heap: HeapInternal, Bytes: 16721, Blocks: 1},
			{Label: "tls[0]/out_buf", Heap: HeapInternal, Bytes: 4433, Blocks: 1},
			{Label: "tls[0]/ctx", Heap: HeapInternal, Bytes: 6230, Blocks: 57},
		}}},
		{"reply", &Reply{Cmd: CmdRun, OK: true}},
		{"reply_error", &Reply{Cmd: CmdRun, OK: false, Err: "run: n=65 exceeds 64 sessions"}},
	}
}

// goldenJSON is the content of a <name>.json golden file.
type goldenJSON struct {
	Type    string          `json:"type"`
	Message json.RawMessage `json:"message"`
}

func marshalGoldenJSON(m Message) ([]byte, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(goldenJSON{Type: m.FrameType().String(), Message: body}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

func frameTypeByName(name string) (FrameType, bool) {
	for t := FrameType(1); t.Known(); t++ {
		if t.String() == name {
			return t, true
		}
	}
	return 0, false
}

// checkGolden compares got with testdata file path, or rewrites it with -update.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./wire -run TestGolden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what this code produces:\n got: %x\nwant: %x", path, got, want)
	}
}

func TestGoldenMessages(t *testing.T) {
	seen := map[FrameType]bool{}
	names := map[string]bool{}
	for _, g := range goldenMessages() {
		t.Run(g.name, func(t *testing.T) {
			seen[g.msg.FrameType()] = true
			names[g.name] = true
			frame, err := AppendMessage(nil, g.msg)
			if err != nil {
				t.Fatal(err)
			}
			js, err := marshalGoldenJSON(g.msg)
			if err != nil {
				t.Fatal(err)
			}
			binPath := filepath.Join("testdata", "golden", g.name+".bin")
			jsonPath := filepath.Join("testdata", "golden", g.name+".json")
			checkGolden(t, binPath, frame)
			checkGolden(t, jsonPath, js)

			// The files on disk decode to the message, whichever way one reads them.
			bin, err := os.ReadFile(binPath)
			if err != nil {
				t.Fatal(err)
			}
			var chunks []Chunk
			var d Demuxer
			d.Feed(bin, func(c Chunk) { chunks = append(chunks, cloneChunk(c)) })
			d.Close(func(c Chunk) { chunks = append(chunks, cloneChunk(c)) })
			if len(chunks) != 1 || chunks[0].Kind != ChunkFrame {
				t.Fatalf("%s: want exactly one frame, got %+v", binPath, chunks)
			}
			if chunks[0].Type != g.msg.FrameType() {
				t.Fatalf("%s: frame type %s, want %s", binPath, chunks[0].Type, g.msg.FrameType())
			}
			got, err := Decode(chunks[0].Type, chunks[0].Payload)
			if err != nil {
				t.Fatalf("%s: %v", binPath, err)
			}
			if !reflect.DeepEqual(got, g.msg) {
				t.Errorf("%s decodes to %+v, want %+v", binPath, got, g.msg)
			}

			raw, err := os.ReadFile(jsonPath)
			if err != nil {
				t.Fatal(err)
			}
			var gj goldenJSON
			if err := json.Unmarshal(raw, &gj); err != nil {
				t.Fatalf("%s: %v", jsonPath, err)
			}
			ft, ok := frameTypeByName(gj.Type)
			if !ok || ft != g.msg.FrameType() {
				t.Fatalf("%s: type %q, want %q", jsonPath, gj.Type, g.msg.FrameType())
			}
			fromJSON := New(ft)
			dec := json.NewDecoder(bytes.NewReader(gj.Message))
			dec.DisallowUnknownFields()
			if err := dec.Decode(fromJSON); err != nil {
				t.Fatalf("%s: %v", jsonPath, err)
			}
			if !reflect.DeepEqual(fromJSON, g.msg) {
				t.Errorf("%s reads back as %+v, want %+v", jsonPath, fromJSON, g.msg)
			}
		})
	}
	for ft := FrameType(1); ft.Known(); ft++ {
		if !seen[ft] {
			t.Errorf("no golden vector for frame type %s", ft)
		}
	}
	// No stale files: every file under testdata/golden belongs to a vector.
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		base := filepath.Base(f)
		name := strings.TrimSuffix(strings.TrimSuffix(base, ".bin"), ".json")
		if !names[name] {
			t.Errorf("stale golden file %s (no vector named %q)", f, name)
		}
	}
}

func cloneChunk(c Chunk) Chunk {
	c.Text = bytes.Clone(c.Text)
	c.Payload = bytes.Clone(c.Payload)
	return c
}

// Command vectors, for the firmware's C parser. testdata/commands.txt holds
// one vector a line, fields separated by a TAB:
//
//	ok<TAB>LINE<TAB>NAME[<TAB>KEY=VALUE]...
//	err<TAB>LINE<TAB>COLUMN<TAB>MESSAGE
//
// LINE and VALUE are escaped: a backslash is written \\ and every byte outside
// 0x20..0x7E is written \xHH (lower-case hex). VALUE is the decoded value
// (percent escapes resolved). COLUMN is the 1-based byte column of the error
// in LINE as ParseCommand reports it; it is normative. MESSAGE is
// ParseCommand's wording, informative only. Lines starting with '#' are
// comments.
var commandVectors = []string{
	// valid
	"hello",
	"stop",
	"reset",
	"owners",
	"hello\n",
	"stop\r\n",
	"run cell=s3-fallback-both-n4-r1 scenario=sweep n=4 period_ms=100 detail_every=10 baseline_ms=2000 window_ms=10000 cycles=20 handler=queued work_ms=50 event_ms=100 seed=42 ws_url=wss://192.168.4.2:8443/ws https_url=https://192.168.4.2:8443/",
	"run scenario=churn n=1 cycles=50",
	"run scenario=handler handler=inline work_ms=200 event_ms=100",
	"wifi ssid=lab%20AP pass=p%40ss%25w0rd%21",
	"wifi ssid= pass=",
	"fault leak=64 small_stack=1",
	"fault psram_fail=1 wdt_panic=0",
	"owners cell=a%2Fb%3Dc",
	"x k=%00%ff%FF",
	"run ws_url=wss://[::1]:8443/ws",
	"run a=%5B%3A%3A1%5D",
	// malformed
	"",
	" hello",
	"Hello",
	"hello ",
	"hello  n=1",
	"hello n",
	"hello n=1 ",
	"hello =1",
	"run N=4",
	"run n=4 n=5",
	"run scenario=sweep scenario=churn",
	"run n=4\tscenario=sweep",
	"wifi ssid=lab AP",
	"wifi ssid=lab\"AP",
	"wifi pass=100%",
	"wifi pass=100%4",
	"wifi pass=%zz",
	"wifi pass=%4g",
	"0 0=%\u070e", // U+070E: C and Go once quoted it differently (Unicode printable sets differ)
	"run cell=%\u00e9",
	"run cell=a=b",
	"run\x00",
	"run cell=\xa5\x57",
	"hello\r",
	"hello\n\n",
	"run cell=" + strings.Repeat("a", MaxCommandLine-len("run cell=")),
	"run cell=" + strings.Repeat("a", MaxCommandLine+1-len("run cell=")),
}

func formatCommandVectors() []byte {
	var b strings.Builder
	b.WriteString("# wsbench line-command vectors (docs/wire.md, \"Commands\"). Generated by\n")
	b.WriteString("# go test ./wire -run TestGoldenCommands -update; do not edit by hand.\n")
	b.WriteString("# Fields are separated by one TAB:\n")
	b.WriteString("#   ok<TAB>LINE<TAB>NAME[<TAB>KEY=VALUE]...\n")
	b.WriteString("#   err<TAB>LINE<TAB>COLUMN<TAB>MESSAGE\n")
	b.WriteString("# LINE and VALUE: '\\' is written \\\\, bytes outside 0x20..0x7e as \\xHH. VALUE is decoded\n")
	b.WriteString("# (percent escapes resolved). COLUMN (1-based byte column in LINE) is normative; MESSAGE is\n")
	b.WriteString("# the Go parser's wording, informative only.\n")
	for _, line := range commandVectors {
		c, err := ParseCommand(line)
		if err != nil {
			var ce *CommandError
			col, msg := 0, err.Error()
			if errors.As(err, &ce) {
				col, msg = ce.Col, ce.Msg
			}
			fmt.Fprintf(&b, "err\t%s\t%d\t%s\n", wiretest.Escape(line), col, wiretest.Escape(msg))
			continue
		}
		fmt.Fprintf(&b, "ok\t%s\t%s", wiretest.Escape(line), c.Name)
		for _, a := range c.Args {
			fmt.Fprintf(&b, "\t%s=%s", a.Key, wiretest.Escape(a.Value))
		}
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

func TestGoldenCommands(t *testing.T) {
	path := filepath.Join("testdata", "commands.txt")
	checkGolden(t, path, formatCommandVectors())

	// Read the file back the way the firmware's test will, and check every
	// vector against ParseCommand.
	vs, err := wiretest.ReadCommandVectors(path)
	if err != nil {
		t.Fatal(err)
	}
	var nOK, nErr int
	kinds := map[string]bool{}
	for _, v := range vs {
		where, line := v.At, v.Line
		c, perr := ParseCommand(line)
		switch v.OK {
		case true:
			nOK++
			if perr != nil {
				t.Errorf("%s: %q: %v", where, line, perr)
				continue
			}
			want := Command{Name: v.Name}
			for _, kv := range v.Args {
				want.Args = append(want.Args, Arg{kv[0], kv[1]})
			}
			if !reflect.DeepEqual(c, want) {
				t.Errorf("%s: %q parses to %+v, want %+v", where, line, c, want)
			}
		case false:
			nErr++
			var ce *CommandError
			if !errors.As(perr, &ce) {
				t.Errorf("%s: %q: want a *CommandError, got %v", where, line, perr)
				continue
			}
			if ce.Col != v.Col {
				t.Errorf("%s: %q: column %d, want %d", where, line, ce.Col, v.Col)
			}
			kinds[ce.Msg] = true
		}
	}
	if nOK < 10 || nErr < 15 {
		t.Errorf("%d ok and %d err vectors: the file lost vectors", nOK, nErr)
	}
	msgs := make([]string, 0, len(kinds))
	for m := range kinds {
		msgs = append(msgs, m)
	}
	sort.Strings(msgs)
	t.Logf("%d valid, %d malformed vectors; %d distinct error messages", nOK, nErr, len(msgs))
}
