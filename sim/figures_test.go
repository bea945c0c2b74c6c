package sim

import (
	"testing"
	"time"

	"github.com/wsbench/wsbench/wire"
)

// sessionCost runs a one-session HTTPS sweep and returns the internal RAM
// the session holds at steady state and its peak (from minimum-ever free).
func sessionCost(t *testing.T, p *peer, cfg Config) (steady, peak int64) {
	t.Helper()
	cfg.RootCAs = p.pool
	h := startBoard(t, cfg)
	waitHello(h, 1)
	par := sweepParams(p, "cost", 1)
	par.WSURL = ""
	end, msgs, _ := h.runAndWait(par)
	if end.Status != "ok" || len(events(msgs, wire.EventSessionConnected)) != 1 {
		t.Fatalf("run: %+v", end)
	}
	b, _ := lastSample(msgs, wire.PhaseBaseline)
	s, _ := lastSample(msgs, wire.PhaseSteady)
	return int64(b.InternalFree) - int64(s.InternalFree), int64(b.InternalMinFree) - int64(s.InternalMinFree)
}

// TestPerSessionCostMatchesPublishedFigures checks the TLS session model
// against facts §2: ~42.2 KB peak with defaults, ~22 KB peak with dynamic
// buffers, a few KB idle with dynamic buffers, keep-peer-cert off saving the
// certificate.
func TestPerSessionCostMatchesPublishedFigures(t *testing.T) {
	p := startPeer(t)
	prof := mustProfile(t, "esp32s3-n8")
	def := DefaultOptions(prof)
	steady, peak := sessionCost(t, p, Config{Profile: prof.Name})
	t.Logf("default: steady %d B, peak %d B per HTTPS session (internal)", steady, peak)
	// Published 42196 B is mbedTLS alone; the session adds lwIP, the HTTP
	// client and block headers (~2.5 KB, estimates).
	if peak < 42196 || peak > 42196+4000 {
		t.Errorf("default peak %d, want 42196..46196", peak)
	}
	if steady < 25000 || steady > 34000 {
		t.Errorf("default steady %d, want 25-30 KB of TLS plus ~2.5 KB", steady)
	}
	noCert := def
	noCert.MbedTLSKeepPeerCert = false
	s2, p2 := sessionCost(t, p, Config{Profile: prof.Name, Options: noCert})
	t.Logf("keep_peer_cert=n: steady %d B, peak %d B", s2, p2)
	// Blocks are rounded to 4 bytes and carry a 4-byte header.
	if d, want := steady-s2, int64((tlsPeerCert+3)&^3-tlsPeerDigest); d != want {
		t.Errorf("keep_peer_cert=n saves %d B at steady state, want %d", d, want)
	}
	if p2 >= peak {
		t.Errorf("keep_peer_cert=n does not lower the peak (%d vs %d)", p2, peak)
	}
	dyn := def
	dyn.MbedTLSDynamicBuffer = true
	s3, p3 := sessionCost(t, p, Config{Profile: prof.Name, Options: dyn})
	t.Logf("dynamic buffers: steady %d B, peak %d B", s3, p3)
	if p3 < 22013*85/100 || p3 > 22013*115/100 {
		t.Errorf("dynamic-buffer peak %d, want 22013 ±15%%", p3)
	}
	if s3 > 10000 {
		t.Errorf("dynamic-buffer idle session holds %d B, want a few KB", s3)
	}
	ext := DefaultOptions(mustProfile(t, "esp32s3-n8r8"))
	ext.MbedTLSAlloc = MbedTLSAllocExternal
	s4, _ := sessionCost(t, p, Config{Profile: "esp32s3-n8r8", Options: ext})
	t.Logf("mbedtls_alloc=external on esp32s3-n8r8: steady internal %d B", s4)
	// esp_tls_t (esp-tls calloc), lwIP and the HTTP client stay internal.
	if s4 > 6000 {
		t.Errorf("external mbedTLS allocation still holds %d B internal per session", s4)
	}
}

func TestRealtimePacesVirtualTime(t *testing.T) {
	p := startPeer(t)
	h := startBoard(t, Config{Profile: "esp32s3-n8r8", RootCAs: p.pool, Realtime: true})
	waitHello(h, 1)
	par := sweepParams(p, "rt", 1)
	par.HTTPSURL = ""
	par.BaselineMS, par.WindowMS = 300, 500
	start := time.Now()
	end, msgs, _ := h.runAndWait(par)
	wall := time.Since(start)
	var rs *wire.RunStart
	for _, m := range msgs {
		if x, ok := m.(*wire.RunStart); ok {
			rs = x
		}
	}
	virt := time.Duration(end.TimeUS-rs.TimeUS) * time.Microsecond
	// Pacing only ever waits: wall time cannot be shorter than virtual time.
	if wall < virt*95/100 {
		t.Errorf("realtime run took %v of wall time for %v of virtual time", wall, virt)
	}
}
