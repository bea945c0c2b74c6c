package charts

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/wsbench/wsbench/analysis"
)

// TestComparisonPairsVariantsAcrossBranches: base and PR of two component
// behaviours (fallback, strict) put the same variant in one category with
// a base and a PR value, as compare pairs them.
func TestComparisonPairsVariantsAcrossBranches(t *testing.T) {
	summary := func(behaviour, branch string, cost float64) *analysis.Summary {
		s := &analysis.Summary{}
		for _, v := range []string{"int", "stack-ext"} {
			s.Costs = append(s.Costs, analysis.CostResult{
				Variant: analysis.VariantKey{Board: "s3", Variant: v, Behaviour: behaviour, Branch: branch},
				Metrics: []analysis.Metric{{Name: analysis.MetricPerSessionCost, Unit: "B/session", Value: cost}},
			})
		}
		return s
	}
	tests := []struct {
		name     string
		base, pr *analysis.Summary
	}{
		{"same behaviour, two branches", summary("fallback", "main", 32768), summary("fallback", "pr", 31744)},
		{"fallback against strict", summary("fallback", "pr-980", 32768), summary("strict", "pr-1117", 31744)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := comparisonCharts(context.Background(), t.TempDir(), t.TempDir(), tt.base, tt.pr)
			if err != nil {
				t.Fatal(err)
			}
			var cost map[string]any
			for _, c := range cs {
				if c.ID == "cmp-cost" {
					cost = c.Option
				}
			}
			if cost == nil {
				t.Fatal("no cmp-cost chart")
			}
			var got struct {
				XAxis []struct {
					Data []string `json:"data"`
				} `json:"xAxis"`
				Series []struct {
					Name string `json:"name"`
					Data []struct {
						Value any `json:"value"`
					} `json:"data"`
				} `json:"series"`
			}
			b, _ := json.Marshal(cost)
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if len(got.XAxis) != 1 || len(got.XAxis[0].Data) != 2 {
				t.Fatalf("categories %+v, want one per variant (2)", got.XAxis)
			}
			for _, sr := range got.Series {
				for i, d := range sr.Data {
					if _, ok := d.Value.(float64); !ok {
						t.Errorf("series %s, category %s: value %v, want a number", sr.Name, got.XAxis[0].Data[i], d.Value)
					}
				}
			}
		})
	}
}

// TestChartOptionsHaveNumericLineHeights: echarts mislays wrapped axis
// labels whose lineHeight is a string (go-echarts' AxisLabel.LineHeight
// is one), and overlaps their lines without one; every wrapped label of a
// report or a comparison has a numeric one.
func TestChartOptionsHaveNumericLineHeights(t *testing.T) {
	dir, s := fixtureRun(t, 20)
	report, err := Build(context.Background(), dir, s)
	if err != nil {
		t.Fatal(err)
	}
	cmp, err := comparisonCharts(context.Background(), dir, dir, s, s)
	if err != nil {
		t.Fatal(err)
	}
	var walk func(path string, v any, bad *[]string)
	walk = func(path string, v any, bad *[]string) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if _, isString := e.(string); isString && k == "lineHeight" {
					*bad = append(*bad, path+"."+k)
				}
				if k == "axisLabel" {
					if al, ok := e.(map[string]any); ok && al["overflow"] == "break" && al["lineHeight"] == nil {
						*bad = append(*bad, path+"."+k+" (wrapped, no lineHeight)")
					}
				}
				walk(path+"."+k, e, bad)
			}
		case []any:
			for i, e := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), e, bad)
			}
		}
	}
	for _, set := range []struct {
		name   string
		charts []Chart
	}{{"report", report}, {"comparison", cmp}} {
		t.Run(set.name, func(t *testing.T) {
			if len(set.charts) == 0 {
				t.Fatal("no charts")
			}
			for _, c := range set.charts {
				var bad []string
				walk(c.ID, c.Option, &bad)
				if len(bad) > 0 {
					t.Errorf("bad lineHeight at %v", bad)
				}
			}
		})
	}
}
