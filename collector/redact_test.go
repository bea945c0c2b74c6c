package collector

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// The redactor finds a secret however the stream is cut into reads.
func TestRedactorAcrossReads(t *testing.T) {
	const secret = "hunter2 pass%word!"
	stream := []byte("boot\r\nwifi ssid=lab pass=" + "hunter2%20pass%25word%21" + "\r\necho: " + secret + " and " + secret + secret +
		"\r\nlower: hunter2%20pass%25word%21" + " hunter2%20pass%25word%21" + " tail " + secret[:5])
	want := 5 // raw, encoded, twice raw back to back, encoded
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 500 {
		var r redactor
		r.add(secret)
		var out []byte
		for rest := stream; len(rest) > 0; {
			n := 1 + rng.IntN(min(len(rest), 1+trial%40))
			out = append(out, r.process(rest[:n])...)
			rest = rest[n:]
		}
		out = append(out, r.flush()...)
		if len(out) != len(stream) {
			t.Fatalf("trial %d: %d bytes out of %d", trial, len(out), len(stream))
		}
		if bytes.Contains(out, []byte(secret)) || bytes.Contains(out, []byte("hunter2%20pass%25word%21")) {
			t.Fatalf("trial %d: secret left in %q", trial, out)
		}
		if r.count < int64(want) {
			t.Fatalf("trial %d: %d redactions, want at least %d: %q", trial, r.count, want, out)
		}
		// Only the secret's bytes changed.
		for i := range out {
			if out[i] != stream[i] && out[i] != '*' {
				t.Fatalf("trial %d: byte %d changed to %q", trial, i, out[i])
			}
		}
		if !bytes.HasSuffix(out, []byte(" tail "+secret[:5])) {
			t.Fatalf("trial %d: a prefix of the secret at the end was not given back: %q", trial, out)
		}
	}
}

func TestRedactorLowerCaseEscapes(t *testing.T) {
	var r redactor
	r.add("a\u00e9\u00ffc")
	out := append(r.process([]byte("x a%C3%A9%C3%BFc y a%c3%a9%c3%bfc z")), r.flush()...)
	if string(out) != "x ************** y ************** z" {
		t.Fatalf("%q", out)
	}
}
