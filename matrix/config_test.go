package matrix

import (
	"strings"
	"testing"
)

func TestDefaultMatrix(t *testing.T) {
	f, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	cells := f.Cells()
	count := map[string]int{}
	for _, c := range cells {
		count[c.Label]++
	}
	// 4 variants x 6 N x 6 repetitions; churn on 4 variants x 6; handler modes on one variant x 6.
	want := map[string]int{"sweep": 144, "churn": 24, "handler-inline": 6, "handler-queued": 6}
	for k, v := range want {
		if count[k] != v {
			t.Errorf("%s: %d cells, want %d", k, count[k], v)
		}
	}
	ids := map[string]bool{}
	for _, c := range cells {
		if ids[c.ID] {
			t.Fatalf("duplicate cell id %s", c.ID)
		}
		ids[c.ID] = true
		if c.Params.Seed == 0 || c.Params.Cell != c.ID {
			t.Fatalf("cell %s: params not filled: %+v", c.ID, c.Params)
		}
	}
}

// baseline_variant defaults to int, or to the first variant without one;
// thresholds.ws_stack_headroom to 512 B.
func TestBaselineVariantAndThresholdDefaults(t *testing.T) {
	tests := []struct {
		name, variants, extra, baseline string
		headroom                        int
	}{
		{"int by default", "  - name: stack-ext\n  - name: int\n", "", "int", 512},
		{"first without int", "  - name: a\n  - name: b\n", "", "a", 512},
		{"named", "  - name: int\n  - name: b\n", "baseline_variant: b\nthresholds: {ws_stack_headroom: 1024}\n", "b", 1024},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			y := "boards:\n  - name: a\n    virtual: esp32s3-n8r8\nvariants:\n" + tt.variants + "scenarios:\n  - scenario: sweep\n    n: [0, 1]\n" + tt.extra
			f, err := Parse("m.yaml", []byte(y))
			if err != nil {
				t.Fatal(err)
			}
			if f.BaselineVariant != tt.baseline || f.Thresholds.WSStackHeadroom != tt.headroom {
				t.Errorf("baseline %q, headroom %d; want %q, %d", f.BaselineVariant, f.Thresholds.WSStackHeadroom, tt.baseline, tt.headroom)
			}
		})
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	base := `boards:
  - name: a
    virtual: esp32s3-n8r8
variants:
  - name: int
scenarios:
  - scenario: sweep
    n: [0, 1]
`
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown top-level key", base + "colour: red\n", ":9: unknown field \"colour\""},
		{"unknown board key", strings.Replace(base, "    virtual:", "    virtal: x\n    virtual:", 1), ":3: unknown field \"virtal\" (did you mean \"virtual\"?)"},
		{"duplicate variant", base + "", ""},
		{"duplicate variant name", strings.Replace(base, "  - name: int\n", "  - name: int\n  - name: int\n", 1), ":6: variants: duplicate name \"int\""},
		{"n out of range", strings.Replace(base, "n: [0, 1]", "n: [0, 99]", 1), ":8: scenario \"sweep\": n=99 is out of range"},
		{"bad duration", base + "sample_period: fast\n", ":9: \"fast\" is not a duration"},
		{"board without device", strings.Replace(base, "    virtual: esp32s3-n8r8\n", "", 1), ":2: board \"a\": give virtual"},
		{"hardware board needs target", strings.Replace(base, "virtual: esp32s3-n8r8", "port: /dev/ttyUSB0", 1), ":2: board \"a\": target"},
		{"unknown scenario", strings.Replace(base, "scenario: sweep", "scenario: soak", 1), ":7: scenarios[0].scenario: \"soak\": want sweep, churn or handler"},
		{"scenario without kind", strings.Replace(base, "scenario: sweep", "name: sweeep", 1), ":7: scenario \"sweeep\": no scenario: field: add scenario: sweep, churn or handler"},
		{"bad behaviour", base + "component:\n  behaviour: maybe\n", ":10: component.behaviour"},
		{"unknown variant in scenario", base + "    variants: [nope]\n", ":9: scenario \"sweep\": unknown variant \"nope\""},
		{"unknown virtual profile", strings.Replace(base, "esp32s3-n8r8", "esp32s3-n8r9", 1), ":3: board \"a\": unknown board profile \"esp32s3-n8r9\""},
		{"empty file", "", ": the file is empty"},
		{"only a comment", "# nothing yet\n", ": the file is empty"},
		{"wrong type", strings.Replace(base, "n: [0, 1]", "n: lots", 1), ":8:"},
		{"hardware variant of a project's own", strings.Replace(strings.Replace(base, "virtual: esp32s3-n8r8", "port: /dev/ttyACM0\n    target: esp32s3", 1), "name: int", "name: turbo", 1), ""}, // checked against the project by CheckHardware
		{"empty n", strings.Replace(base, "n: [0, 1]", "n: []", 1), ":8: scenario \"sweep\": n is an empty list"},
		{"window of days", base + "    window: 100h\n", ":9: scenario \"sweep\": window 100h0m0s is longer than 24h0m0s"},
		{"unknown baseline variant", base + "baseline_variant: intt\n", ":9: baseline_variant: \"intt\" is not a variant of this matrix (have int)"},
		{"negative headroom threshold", base + "thresholds:\n  ws_stack_headroom: -1\n", ":10: thresholds.ws_stack_headroom: -1 bytes is out of range"},
		{"unknown threshold", base + "thresholds:\n  ws_stack_hwm: 512\n", ":10: unknown field \"ws_stack_hwm\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("m.yaml", []byte(tt.yaml))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), "m.yaml"+tt.want) {
				t.Fatalf("error %q does not contain %q", err, "m.yaml"+tt.want)
			}
		})
	}
}

func TestShardsPartitionTheMatrix(t *testing.T) {
	f, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	cells := f.Cells()
	for _, n := range []int{1, 2, 3, 7, 200} {
		seen := map[string]int{}
		for i := 1; i <= n; i++ {
			s, err := Shard(cells, i, n)
			if err != nil {
				t.Fatal(err)
			}
			if d := len(s) - len(cells)/n; d < 0 || d > 1 {
				t.Errorf("n=%d shard %d: %d cells of %d, unbalanced", n, i, len(s), len(cells))
			}
			for _, c := range s {
				seen[c.ID]++
			}
		}
		if len(seen) != len(cells) {
			t.Fatalf("n=%d: union has %d cells, want %d", n, len(seen), len(cells))
		}
		for id, k := range seen {
			if k != 1 {
				t.Fatalf("n=%d: cell %s in %d shards", n, id, k)
			}
		}
	}
	if _, err := Shard(cells, 3, 2); err == nil {
		t.Fatal("shard 3/2 accepted")
	}
}
