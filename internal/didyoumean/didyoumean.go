// Package didyoumean finds the known name closest to a misspelt one, for
// "unknown X; did you mean Y?" messages (matrix keys, --fail-on metrics).
package didyoumean

// maxLen bounds how much of a name Distance reads, so that a hostile name
// costs little: known names are far shorter.
const maxLen = 64

// Closest returns the first of known at the smallest edit distance from s,
// if that distance is at most maxDist, else "".
func Closest(s string, known []string, maxDist int) string {
	best, bestD := "", maxDist+1
	for _, k := range known {
		if d := Distance(s, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// Distance is the Levenshtein distance of a and b in bytes; a is cut at 64
// bytes so the cost stays bounded.
func Distance(a, b string) int {
	if len(a) > maxLen {
		a = a[:maxLen]
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
