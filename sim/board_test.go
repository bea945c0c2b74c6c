package sim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsbench/wsbench/sim/heap"
	"github.com/wsbench/wsbench/wire"
)

// steadyOf runs a sweep and returns its last steady sample, its RunEnd and
// everything it sent.
func steadyOf(t *testing.T, cfg Config, p *peer, n uint16) (*wire.Sample, *wire.RunEnd, []wire.Message, string) {
	t.Helper()
	cfg.RootCAs = p.pool
	h := startBoard(t, cfg)
	waitHello(h, 1)
	end, msgs, text := h.runAndWait(sweepParams(p, "cell", n))
	s, _ := lastSample(msgs, wire.PhaseSteady)
	return s, end, msgs, text
}

func TestPlacementMovesExactlyTheModelledBytes(t *testing.T) {
	p := startPeer(t)
	const hdr = heap.HeaderSize
	stack := uint32(4096) // facts §1 default task stack
	for _, prof := range []string{"esp32s3-n8r8", "esp32-wrover"} {
		for _, beh := range []string{wire.BehaviourFallback, wire.BehaviourStrict} {
			for _, n := range []uint16{1, 4} {
				t.Run(fmt.Sprintf("%s/%s/n=%d", prof, beh, n), func(t *testing.T) {
					base, end, msgs, _ := steadyOf(t, Config{Profile: prof, Behaviour: beh, Seed: 3}, p, n)
					if end.Status != "ok" || base == nil {
						t.Fatalf("baseline run: %+v", end)
					}
					// A request takes a whole free block when the remainder would
					// be too small for a block of its own (up to
					// HeaderSize+MinBlock-4 extra bytes), so where blocks land
					// can move a figure by that much: allow two such blocks,
					// far below the 292 B of struct+config. When a session runs
					// out of memory its partial allocations are freed and leave
					// more holes: allow four then.
					slack := int64(2 * (heap.HeaderSize + heap.MinBlock))
					if failed := len(events(msgs, wire.EventSessionFailed)); failed > 0 {
						slack = int64(4 * (heap.HeaderSize + heap.MinBlock))
						t.Logf("%d of %d sessions ran out of memory; allowing %d bytes of fragmentation slack", failed, n, slack)
					}
					check := func(what string, got, want int64) {
						t.Helper()
						if got < want-slack || got > want+slack {
							t.Errorf("%s: %d, want %d (±%d)", what, got, want, slack)
						}
					}
					baseFailed := len(events(msgs, wire.EventSessionFailed))
					// sameSessions: the byte checks compare runs that hold the
					// same sessions. When the option's freed RAM lets a session
					// fit that ran out of memory without it, that is checked
					// instead.
					sameSessions := func(what string, m []wire.Message) bool {
						t.Helper()
						f := len(events(m, wire.EventSessionFailed))
						switch {
						case f == baseFailed:
							return true
						case f < baseFailed:
							t.Logf("%s: %d sessions out of memory, %d without the option: the freed RAM let a session fit", what, f, baseFailed)
						default:
							t.Errorf("%s: %d sessions out of memory, more than the %d without the option", what, f, baseFailed)
						}
						return false
					}
					opts := DefaultOptions(mustProfile(t, prof))
					opts.WSTaskStackInExtRAM = true
					st, end, stMsgs, _ := steadyOf(t, Config{Profile: prof, Behaviour: beh, Seed: 3, Options: opts}, p, n)
					if end.Status != "ok" {
						t.Fatalf("stack-ext run: %+v", end)
					}
					if !sameSessions("stack-ext", stMsgs) {
						return
					}
					// PR 1117's stack option also costs its static data
					// (stackExtStaticCost, measured in QEMU) from boot on.
					static := int64(0)
					if beh == wire.BehaviourStrict {
						static = stackExtStaticCost
					}
					check("stack option: internal free rise (want stack+header, less the option's static data)", int64(st.InternalFree)-int64(base.InternalFree), int64(stack+hdr)-static)
					if got, want := int64(base.SPIRAMFree)-int64(st.SPIRAMFree), int64(stack+hdr); got != want {
						t.Errorf("stack option: SPIRAM free fell by %d, want %d", got, want)
					}
					opts.WSAllocInExtRAM = true
					both, end, bothMsgs, _ := steadyOf(t, Config{Profile: prof, Behaviour: beh, Seed: 3, Options: opts}, p, n)
					if end.Status != "ok" {
						t.Fatalf("both run: %+v", end)
					}
					if !sameSessions("both-ext", bothMsgs) {
						return
					}
					// With the alloc option off, PR 1117 (strict) already puts the
					// struct and config in PSRAM (heap_caps_calloc(MALLOC_CAP_DEFAULT),
					// PSRAM heap first): the option moves nothing more.
					want := int64(stack + hdr + wsClientStruct + hdr + wsConfigStorage + hdr)
					if beh == wire.BehaviourStrict {
						want = int64(stack+hdr) - static
					}
					check("both options: internal free rise (want stack+header, plus struct+config+2 headers when the option moves them)", int64(both.InternalFree)-int64(base.InternalFree), want)
					if got := int64(base.SPIRAMFree) - int64(both.SPIRAMFree); got != want+static {
						t.Errorf("both options: SPIRAM free fell by %d, want %d", got, want+static)
					}
					t.Logf("internal free at steady: default %d, stack-ext %d (+%d), both %d (+%d)", base.InternalFree,
						st.InternalFree, st.InternalFree-base.InternalFree, both.InternalFree, both.InternalFree-base.InternalFree)
				})
			}
		}
	}
}

func mustProfile(t *testing.T, name string) Profile {
	t.Helper()
	p, err := ProfileByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestOptionOffPlacement: with ESP_WS_CLIENT_ALLOC_IN_EXT_RAM off, PR 1117
// (strict) allocates the client struct and config with
// heap_caps_calloc(MALLOC_CAP_DEFAULT), which the PSRAM heap serves first, while
// PR 980 and release 1.8.0 (fallback here) use calloc, which keeps them
// internal. Measured in QEMU at PR 1117's merge commit (docs/qemu.md): the
// int build's PSRAM free falls by 292 B (160 + 124 + two headers) when the
// client is created, the same as alloc-ext's. Without PSRAM both stay internal.
func TestOptionOffPlacement(t *testing.T) {
	p := startPeer(t)
	const moved = int64(wsClientStruct + heap.HeaderSize + wsConfigStorage + heap.HeaderSize)
	for _, tc := range []struct {
		prof string
		want int64 // SPIRAM free, fallback minus strict
	}{
		{"esp32s3-n8r8", moved},
		{"esp32-wrover", moved},
		{"esp32s3-n8", 0},
	} {
		t.Run(tc.prof, func(t *testing.T) {
			fb, end, _, _ := steadyOf(t, Config{Profile: tc.prof, Behaviour: wire.BehaviourFallback, Seed: 3}, p, 1)
			if end.Status != "ok" || fb == nil {
				t.Fatalf("fallback run: %+v", end)
			}
			st, end, _, _ := steadyOf(t, Config{Profile: tc.prof, Behaviour: wire.BehaviourStrict, Seed: 3}, p, 1)
			if end.Status != "ok" || st == nil {
				t.Fatalf("strict run: %+v", end)
			}
			if got := int64(fb.SPIRAMFree) - int64(st.SPIRAMFree); got != tc.want {
				t.Errorf("SPIRAM free, fallback minus strict: %d, want %d", got, tc.want)
			}
			slack := int64(2 * (heap.HeaderSize + heap.MinBlock))
			if got := int64(st.InternalFree) - int64(fb.InternalFree); got < tc.want-slack || got > tc.want+slack {
				t.Errorf("internal free, strict minus fallback: %d, want %d (±%d)", got, tc.want, slack)
			}
		})
	}
}

func TestNoPSRAMBoard(t *testing.T) {
	p := startPeer(t)
	prof := mustProfile(t, "esp32s3-n8")
	both := DefaultOptions(prof)
	both.WSTaskStackInExtRAM, both.WSAllocInExtRAM = true, true
	stackOnly := DefaultOptions(prof)
	stackOnly.WSTaskStackInExtRAM = true
	base, end, _, _ := steadyOf(t, Config{Profile: prof.Name, Seed: 5}, p, 2)
	if end.Status != "ok" {
		t.Fatalf("default variant: %+v", end)
	}
	tests := []struct {
		name      string
		beh       string
		opts      wire.Options
		status    string
		errSubstr string
	}{
		{"fallback keeps working", wire.BehaviourFallback, both, "ok", ""},
		{"strict alloc option fails init", wire.BehaviourStrict, both, "failed", "esp_websocket_client_init returned NULL"},
		{"strict stack option fails start", wire.BehaviourStrict, stackOnly, "failed", "esp_websocket_client_start returned ESP_FAIL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, end, msgs, text := steadyOf(t, Config{Profile: prof.Name, Behaviour: tt.beh, Options: tt.opts, Seed: 5}, p, 2)
			if end.Status != tt.status || !strings.Contains(end.Err, tt.errSubstr) {
				t.Fatalf("RunEnd %+v, want status %s with %q", end, tt.status, tt.errSubstr)
			}
			fails := events(msgs, wire.EventAllocFailed)
			if len(fails) == 0 || fails[0].Err&int32(heap.CapSPIRAM) == 0 {
				t.Errorf("no SPIRAM EventAllocFailed: %+v", fails)
			}
			switch tt.status {
			case "ok":
				if len(events(msgs, wire.EventSessionConnected)) != 2 {
					t.Errorf("want 2 connected sessions")
				}
				if s.InternalFree != base.InternalFree {
					t.Errorf("fallback internal free %d, want the all-internal figure %d", s.InternalFree, base.InternalFree)
				}
				if !strings.Contains(text, "falling back") {
					t.Error("console does not say it fell back")
				}
			case "failed":
				sf := events(msgs, wire.EventSessionFailed)
				if len(sf) != 1 || sf[0].Session != 0 {
					t.Errorf("session failed events: %+v", sf)
				}
				if !strings.Contains(text, "E (") {
					t.Error("no error log line on the console")
				}
				if _, done := lastSample(msgs, wire.PhaseDone); done != nil {
					t.Error("no samples after the failure")
				}
			}
		})
	}
}

func TestPSRAMFailFault(t *testing.T) {
	p := startPeer(t)
	prof := mustProfile(t, "esp32s3-n8r8")
	o := DefaultOptions(prof)
	o.WSAllocInExtRAM = true
	for _, beh := range []string{wire.BehaviourFallback, wire.BehaviourStrict} {
		t.Run(beh, func(t *testing.T) {
			_, end, _, _ := steadyOf(t, Config{Profile: prof.Name, Behaviour: beh, Options: o, Faults: Faults{PSRAMFail: true}}, p, 1)
			want := map[string]string{wire.BehaviourFallback: "ok", wire.BehaviourStrict: "failed"}[beh]
			if end.Status != want {
				t.Fatalf("status %s (%s), want %s", end.Status, end.Err, want)
			}
		})
	}
}

func TestSessionsAreReal(t *testing.T) {
	p := startPeer(t)
	h := startBoard(t, Config{Profile: "esp32s3-n8r8", RootCAs: p.pool})
	waitHello(h, 1)
	// A long steady window in realtime would be slow; instead check the
	// peer during a run that the test stops.
	par := sweepParams(p, "live", 1)
	par.HTTPSURL = ""
	par.WindowMS = 600_000
	h.send(wire.RunCommand(par).String())
	h.waitFor("steady phase", 20e9, func(_ string, msgs []wire.Message) bool {
		return len(events(msgs, wire.EventSessionConnected)) == 1
	})
	h.waitFor("the peer to see the websocket connection", 10e9, func(string, []wire.Message) bool { return p.openWS() == 1 })
	h.send("stop")
	_, msgs := h.waitFor("RunEnd", 20e9, func(_ string, msgs []wire.Message) bool {
		for _, m := range msgs {
			if e, ok := m.(*wire.RunEnd); ok {
				return e.Status == "aborted"
			}
		}
		return false
	})
	if s, _ := lastSample(msgs, wire.PhaseDone); s == nil || s.Sessions != 0 {
		t.Errorf("after stop: %+v", s)
	}
	h.waitFor("peer connection closed", 10e9, func(string, []wire.Message) bool { return p.openWS() == 0 })

	// A refused connection frees its memory and reports the error.
	bad := sweepParams(p, "refused", 2)
	bad.WSURL = "wss://127.0.0.1:1/ws"
	bad.HTTPSURL = "https://127.0.0.1:1/"
	end, msgs, _ := h.runAndWait(bad)
	fails := events(msgs, wire.EventSessionFailed)
	if end.Status != "ok" || len(fails) != 2 || fails[0].Err != espErrTLSFailedConnect {
		t.Errorf("refused: end %+v, failures %+v", end, fails)
	}
	b, _ := lastSample(msgs, wire.PhaseBaseline)
	d, _ := lastSample(msgs, wire.PhaseDone)
	if b.InternalFree != d.InternalFree {
		t.Errorf("refused sessions leaked: internal free %d before, %d after", b.InternalFree, d.InternalFree)
	}
}

func TestCommandsAreAnswered(t *testing.T) {
	h := startBoard(t, Config{Profile: "esp32-wrover"})
	waitHello(h, 1)
	tests := []struct {
		line string
		ok   bool
		err  string
	}{
		{"hello", true, ""},
		{"owners", true, ""},
		{"fault leak=100", true, ""},
		{"fault bogus=1", false, "unknown fault"},
		{"run scenario=sweep n=1", false, "needs ws_url"},
		{"run scenario=churn cycles=1", false, "churn needs ws_url"},
		{"run scenario=nope", false, "unknown scenario"},
		{"run n=1 n=2", false, "given twice"},
		{"stop", false, "no run"},
		{"frobnicate", false, "unknown command"},
		{"bad line!", false, "column"},
		{"wifi ssid=x pass=y", true, ""},
		{"run cell=" + strings.Repeat("x", 600), false, "longer than"},
		{"\x00\xff\xa5W garbage", false, "column 1"},
	}
	for i, tt := range tests {
		h.send(tt.line)
		_, msgs := h.waitFor("reply to "+tt.line, 5e9, func(_ string, msgs []wire.Message) bool {
			n := 0
			for _, m := range msgs {
				if _, ok := m.(*wire.Reply); ok {
					n++
				}
			}
			return n == i+1
		})
		var r *wire.Reply
		for _, m := range msgs {
			if x, ok := m.(*wire.Reply); ok {
				r = x
			}
		}
		if r.OK != tt.ok || !strings.Contains(r.Err, tt.err) {
			t.Errorf("%q: reply %+v, want ok=%v err~%q", tt.line, r, tt.ok, tt.err)
		}
	}
	text, msgs := h.cap.snapshot()
	if strings.Contains(text, "pass=y") || strings.Contains(text, "ssid=x") {
		t.Error("wifi credentials echoed")
	}
	var owners int
	for _, m := range msgs {
		if o, ok := m.(*wire.Owners); ok {
			owners += len(o.Entries)
		}
	}
	if owners == 0 {
		t.Error("owners command sent no entries")
	}
}

func TestBootMatchesFactsSheet(t *testing.T) {
	for _, prof := range Profiles() {
		t.Run(prof.Name, func(t *testing.T) {
			b, err := New(Config{Profile: prof.Name})
			if err != nil {
				t.Fatal(err)
			}
			m := &machine{b: b, out: newOutput(t.Context(), discard{}), reason: resetPowerOn, wsHWM: -1}
			m.rng = newRand(1, 1)
			if err := m.bootSequence(); err != nil {
				t.Fatal(err)
			}
			// Free DEFAULT-capable internal heap at app start = facts §3,
			// minus the PSRAM DMA reserve and the sampler.
			got := m.heaps.Info(heap.CapInternal | heap.Cap8Bit | heap.CapDefault).Free
			want := prof.FreeAtStart - (samplerStack + tcbSize + samplerBuffers + 3*heap.HeaderSize)
			if prof.PSRAMSize > 0 {
				want -= 32768 + heap.HeaderSize
			}
			if got != want {
				t.Errorf("free 8-bit internal after boot = %d, want %d", got, want)
			}
			if err := m.heaps.Check(); err != nil {
				t.Error(err)
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestResetCommandReboots(t *testing.T) {
	h := startBoard(t, Config{Profile: "esp32s3-n8"})
	if r := waitHello(h, 1).ResetReason; r != resetPowerOn {
		t.Fatalf("first boot reason %d, want POWERON", r)
	}
	h.send("reset")
	if r := waitHello(h, 2).ResetReason; r != resetSW {
		t.Fatalf("after reset: reason %d, want SW (3)", r)
	}
	text, _ := h.cap.snapshot()
	if strings.Count(text, "ESP-ROM:esp32s3-20210327") != 2 || !strings.Contains(text, "rst:0xc (RTC_SW_CPU_RST)") {
		t.Errorf("want a second ROM banner with a software CPU reset:\n%s", tail(text, 2000))
	}
}

func TestLostConnectionIsReportedAndFreed(t *testing.T) {
	p := startPeer(t)
	h := startBoard(t, Config{Profile: "esp32s3-n8r8", RootCAs: p.pool})
	waitHello(h, 1)
	par := sweepParams(p, "drop", 2)
	par.WSURL = strings.Replace(p.wsURL(), "/ws", "/ws-drop", 1)
	par.WindowMS = 25_000 // two keep-alive rounds
	end, msgs, text := h.runAndWait(par)
	if end.Status != "ok" {
		t.Fatalf("RunEnd %+v", end)
	}
	fails := events(msgs, wire.EventSessionFailed)
	if len(fails) != 1 || fails[0].Session != 0 || fails[0].Err != espErrTLSTCPClosedFIN || !strings.Contains(text, "connection lost") {
		t.Fatalf("session failures %+v (err %#x)", fails, fails[0].Err)
	}
	var before, after *wire.Sample
	for _, m := range msgs {
		if s, ok := m.(*wire.Sample); ok && s.Phase == wire.PhaseSteady {
			if s.TimeUS < fails[0].TimeUS {
				before = s
			} else if after == nil {
				after = s
			}
		}
	}
	if before.Sessions != 2 || after.Sessions != 1 || after.InternalFree <= before.InternalFree+20000 || after.WSStackHWM != -1 {
		t.Errorf("before the loss %+v, after %+v", before, after)
	}
}

func TestTrustFromCAFile(t *testing.T) {
	p := startPeer(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(good, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	// A CA of our own that never signed the peer's certificate.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "other.pem")
	if err := os.WriteFile(bad, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     Config
		wantErr int32 // 0: connects
	}{
		{"the peer's CA file is trusted", Config{CAFile: good}, 0},
		{"another CA is refused", Config{CAFile: bad}, espErrMbedTLSHandshake},
		{"insecure skips verification", Config{InsecureSkipVerify: true}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Profile = "esp32s3-n8r8"
			h := startBoard(t, tt.cfg)
			waitHello(h, 1)
			par := sweepParams(p, "trust", 2)
			_, msgs, _ := h.runAndWait(par)
			fails := events(msgs, wire.EventSessionFailed)
			if tt.wantErr == 0 && len(fails) != 0 || tt.wantErr != 0 && (len(fails) != 2 || fails[0].Err != tt.wantErr) {
				t.Errorf("failures %+v, want err %#x", fails, tt.wantErr)
			}
		})
	}
	if _, err := New(Config{Profile: "esp32s3-n8r8", CAFile: filepath.Join(dir, "missing.pem")}); err == nil {
		t.Error("a missing CA file was accepted")
	}
}

func TestSweepWithoutSessions(t *testing.T) {
	h := startBoard(t, Config{Profile: "esp32s3-n8r8"})
	waitHello(h, 1)
	end, msgs, _ := h.runAndWait(wire.RunParams{Cell: "n0", Scenario: wire.ScenarioSweep, PeriodMS: 100, DetailEvery: 10,
		BaselineMS: 500, WindowMS: 1000, HandlerMode: wire.HandlerQueued})
	if end.Status != "ok" {
		t.Fatalf("RunEnd %+v", end)
	}
	b, _ := lastSample(msgs, wire.PhaseBaseline)
	s, _ := lastSample(msgs, wire.PhaseSteady)
	if s == nil || s.Sessions != 0 || s.InternalFree != b.InternalFree || s.WSStackHWM != -1 {
		t.Errorf("steady %+v, baseline %+v", s, b)
	}
}
