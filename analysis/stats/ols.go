package stats

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// OLSFit is a least-squares fit y = X·b with t intervals for every
// coefficient. The model assumes independent errors of equal variance;
// the intervals are exact when the errors are normal and close to it
// otherwise (central limit), which the coverage tests check on synthetic
// data with uniform errors.
type OLSFit struct {
	Coef, SE, Lo, Hi []float64
	// Cov is the estimated covariance of the coefficients (k×k, row major).
	Cov []float64
	// ResidualSE is sqrt(SSE/DF).
	ResidualSE float64
	Confidence float64
	// N points, DF = N - k.
	N, DF int
}

// OLS fits y against the columns of x (x[i] is the row of point i; every
// row has the same length k) by least squares, with intervals at the given
// confidence level. It needs more points than coefficients and columns that
// are not collinear.
func OLS(x [][]float64, y []float64, confidence float64) (OLSFit, error) {
	n := len(y)
	if len(x) != n {
		return OLSFit{}, fmt.Errorf("ols: %d rows but %d y values", len(x), n)
	}
	if !(confidence > 0 && confidence < 1) {
		return OLSFit{}, fmt.Errorf("ols: confidence %v outside (0,1)", confidence)
	}
	if n == 0 {
		return OLSFit{}, ErrTooFewPoints
	}
	k := len(x[0])
	if k == 0 {
		return OLSFit{}, fmt.Errorf("ols: no columns")
	}
	if n <= k {
		return OLSFit{N: n, Confidence: confidence}, fmt.Errorf("ols: %d points for %d coefficients: %w", n, k, ErrTooFewPoints)
	}
	a := mat.NewDense(n, k, nil)
	for i, row := range x {
		if len(row) != k {
			return OLSFit{}, fmt.Errorf("ols: row %d has %d columns, want %d", i, len(row), k)
		}
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return OLSFit{}, fmt.Errorf("ols: x[%d][%d] = %v is not finite", i, j, v)
			}
			a.Set(i, j, v)
		}
		if math.IsNaN(y[i]) || math.IsInf(y[i], 0) {
			return OLSFit{}, fmt.Errorf("ols: y[%d] = %v is not finite", i, y[i])
		}
	}
	// Normal equations on centred-scale data are fine for k <= 3 and the
	// magnitudes here (bytes up to a few MB); the inverse is needed anyway
	// for the covariance.
	var xtx mat.Dense
	xtx.Mul(a.T(), a)
	var inv mat.Dense
	if err := inv.Inverse(&xtx); err != nil {
		return OLSFit{N: n, Confidence: confidence}, fmt.Errorf("ols: columns are collinear: %w", ErrTooFewPoints)
	}
	// A near-singular X'X inverts with a warning-level condition number;
	// reject it as collinear too.
	if c := mat.Cond(&xtx, 1); c > 1e12 || math.IsInf(c, 0) {
		return OLSFit{N: n, Confidence: confidence}, fmt.Errorf("ols: columns are collinear (condition %.3g): %w", c, ErrTooFewPoints)
	}
	yv := mat.NewVecDense(n, append([]float64(nil), y...))
	var xty, b mat.VecDense
	xty.MulVec(a.T(), yv)
	b.MulVec(&inv, &xty)
	var sse float64
	for i := range n {
		r := y[i] - mat.Dot(a.RowView(i), &b)
		sse += r * r
	}
	f := OLSFit{N: n, DF: n - k, Confidence: confidence}
	f.ResidualSE = math.Sqrt(sse / float64(f.DF))
	t := TQuantile(confidence, f.DF)
	s2 := f.ResidualSE * f.ResidualSE
	for j := range k {
		c := b.AtVec(j)
		se := math.Sqrt(s2 * inv.At(j, j))
		f.Coef = append(f.Coef, c)
		f.SE = append(f.SE, se)
		f.Lo = append(f.Lo, c-t*se)
		f.Hi = append(f.Hi, c+t*se)
	}
	for i := range k {
		for j := range k {
			f.Cov = append(f.Cov, s2*inv.At(i, j))
		}
	}
	return f, nil
}
