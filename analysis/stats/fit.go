package stats

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Fit is an ordinary least-squares line y = Intercept + Slope*x with
// confidence intervals from Student's t distribution with N-2 degrees of
// freedom.
type Fit struct {
	Slope, SlopeLo, SlopeHi             float64
	Intercept, InterceptLo, InterceptHi float64
	// SlopeSE and InterceptSE are the standard errors of the estimates.
	SlopeSE, InterceptSE float64
	// ResidualSE is the residual standard error, sqrt(SSE/(N-2)).
	ResidualSE float64
	// Confidence is the level of the intervals, e.g. 0.95.
	Confidence float64
	// N is the number of points; DF = N-2.
	N int
}

// ErrTooFewPoints is returned when a fit has fewer than three points or
// fewer than two distinct x values: no interval can be computed.
var ErrTooFewPoints = errors.New("need at least 3 points with 2 distinct x values for a fit with an interval")

// LinearFit fits y against x by least squares and computes confidence
// intervals at the given level for the slope and the intercept. Points
// whose x or y is not finite are an error.
func LinearFit(x, y []float64, confidence float64) (Fit, error) {
	if len(x) != len(y) {
		return Fit{}, fmt.Errorf("linear fit: %d x values but %d y values", len(x), len(y))
	}
	if !(confidence > 0 && confidence < 1) {
		return Fit{}, fmt.Errorf("linear fit: confidence %v outside (0,1)", confidence)
	}
	n := len(x)
	for i := range x {
		if math.IsNaN(x[i]) || math.IsInf(x[i], 0) || math.IsNaN(y[i]) || math.IsInf(y[i], 0) {
			return Fit{}, fmt.Errorf("linear fit: point %d (%v, %v) is not finite", i, x[i], y[i])
		}
	}
	if n < 3 {
		return Fit{N: n, Confidence: confidence}, ErrTooFewPoints
	}
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(n)
	my /= float64(n)
	var sxx, sxy float64
	for i := range x {
		dx := x[i] - mx
		sxx += dx * dx
		sxy += dx * (y[i] - my)
	}
	if sxx == 0 {
		return Fit{N: n, Confidence: confidence}, ErrTooFewPoints
	}
	f := Fit{N: n, Confidence: confidence}
	f.Slope = sxy / sxx
	f.Intercept = my - f.Slope*mx
	var sse float64
	for i := range x {
		r := y[i] - (f.Intercept + f.Slope*x[i])
		sse += r * r
	}
	df := float64(n - 2)
	f.ResidualSE = math.Sqrt(sse / df)
	f.SlopeSE = f.ResidualSE / math.Sqrt(sxx)
	f.InterceptSE = f.ResidualSE * math.Sqrt(1/float64(n)+mx*mx/sxx)
	t := TQuantile(confidence, n-2)
	f.SlopeLo, f.SlopeHi = f.Slope-t*f.SlopeSE, f.Slope+t*f.SlopeSE
	f.InterceptLo, f.InterceptHi = f.Intercept-t*f.InterceptSE, f.Intercept+t*f.InterceptSE
	return f, nil
}

// ExcludesZero reports whether the slope's interval lies wholly on one side
// of zero: the slope is significantly different from zero at the fit's level.
func (f Fit) ExcludesZero() bool { return f.SlopeLo > 0 || f.SlopeHi < 0 }

// TQuantile is the two-sided critical value of Student's t distribution with
// df degrees of freedom at the given confidence level: the (1+confidence)/2
// quantile.
func TQuantile(confidence float64, df int) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}.Quantile((1 + confidence) / 2)
}

// SlopeDiffP is the two-sided p-value of the hypothesis that two fits have
// the same slope: t = (b1-b2)/sqrt(se1²+se2²) with N1+N2-4 degrees of
// freedom. It returns 1 when either fit has no standard error.
func SlopeDiffP(a, b Fit) float64 {
	df := a.N + b.N - 4
	se := math.Hypot(a.SlopeSE, b.SlopeSE)
	if df < 1 || a.N < 3 || b.N < 3 {
		return 1
	}
	d := a.Slope - b.Slope
	if se == 0 {
		if d == 0 {
			return 1
		}
		return 0
	}
	t := math.Abs(d) / se
	return 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}.Survival(t)
}
