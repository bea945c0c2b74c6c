package sim

import (
	"testing"

	"github.com/wsbench/wsbench/wire"
)

func TestSmokeSweep(t *testing.T) {
	p := startPeer(t)
	h := startBoard(t, Config{Profile: "esp32s3-n8r8", Seed: 1, RootCAs: p.pool})
	hello := waitHello(h, 1)
	t.Logf("hello %+v", hello)
	end, msgs, text := h.runAndWait(sweepParams(p, "c1", 4))
	t.Logf("end %+v", end)
	for _, ph := range []wire.Phase{wire.PhaseBaseline, wire.PhaseSteady, wire.PhaseDone} {
		s, err := lastSample(msgs, ph)
		t.Logf("%v %+v %v", ph, s, err)
	}
	for _, m := range msgs {
		if o, ok := m.(*wire.Owners); ok && o.Phase == wire.PhaseSteady {
			for _, e := range o.Entries {
				t.Logf("owner %-24s %-8v %6d %3d", e.Label, e.Heap, e.Bytes, e.Blocks)
			}
		}
	}
	t.Log(tail(text, 2500))
}
