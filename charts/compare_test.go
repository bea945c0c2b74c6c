package charts

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
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

// TestComparisonLeavesFailedCellsOutAndTellsBaseFromPR: a PR variant whose
// cells failed is not drawn (its figures are not measurements) and the
// caption says so with the reason; base and PR of one variant get
// different colours, so identical lines stay told apart.
func TestComparisonLeavesFailedCellsOutAndTellsBaseFromPR(t *testing.T) {
	nan := analysis.Float(math.NaN())
	summary := func(failBoth bool) *analysis.Summary {
		s := &analysis.Summary{}
		for _, v := range []string{"int", "both-ext"} {
			for _, n := range []int{1, 4} {
				k := analysis.Key{Board: "s3", Variant: v, Scenario: "sweep", N: n}
				c := analysis.CellResult{ID: fmt.Sprintf("%s-%d", v, n), Key: k, Rep: 1, Status: "ok"}
				if v == "both-ext" && failBoth {
					c.Status, c.Reason = "failed", "esp_websocket_client_init returned NULL"
				}
				s.Cells = append(s.Cells, c)
				free := 150000.0 - 30000*float64(n)
				s.Groups = append(s.Groups, analysis.GroupResult{Key: k, Metrics: []analysis.Metric{
					{Name: analysis.MetricInternalFreeSteady, Unit: "B", Value: free, Values: []float64{free}, N: 1, Lo: nan, Hi: nan}}})
			}
		}
		return s
	}
	cs, err := comparisonCharts(context.Background(), "", "", summary(false), summary(true))
	if err != nil {
		t.Fatal(err)
	}
	var steady *Chart
	for i := range cs {
		if cs[i].ID == "cmp-steady" {
			steady = &cs[i]
		}
	}
	if steady == nil {
		t.Fatal("no cmp-steady chart")
	}
	colour := map[string]string{}
	series, _ := steady.Option["series"].([]any)
	for _, x := range series {
		s := x.(map[string]any)
		name, _ := s["name"].(string)
		colour[name], _ = s["color"].(string)
	}
	if _, drawn := colour["both-ext PR"]; drawn {
		t.Errorf("the failed PR variant is drawn: %v", colour)
	}
	if colour["int base"] == "" || colour["int base"] == colour["int PR"] {
		t.Errorf("base and PR of int share a colour: %v", colour)
	}
	if !strings.Contains(steady.Caption, "both-ext PR: 2 failed cell(s) not drawn (esp_websocket_client_init returned NULL)") {
		t.Errorf("caption does not say what is left out: %q", steady.Caption)
	}
}
