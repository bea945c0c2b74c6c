package wiretest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEscapeRoundTrip(t *testing.T) {
	for _, s := range []string{"", "hello", `a\b`, "\x00\xff\n\r\t", "100%", "\xa5W"} {
		got, err := Unescape(Escape(s))
		if err != nil || got != s {
			t.Errorf("%q: round trip gives %q, %v", s, got, err)
		}
	}
	for _, bad := range []string{`\`, `\x4`, `\xzz`, `\q`} {
		if _, err := Unescape(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestReadCommandVectors(t *testing.T) {
	vs, err := ReadCommandVectors(filepath.Join("..", "testdata", "commands.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var ok, bad int
	for _, v := range vs {
		if v.OK {
			ok++
		} else {
			bad++
		}
	}
	if ok == 0 || bad == 0 {
		t.Fatalf("%d valid and %d malformed vectors", ok, bad)
	}
	p := filepath.Join(t.TempDir(), "c.txt")
	if err := os.WriteFile(p, []byte("# c\nok\thello\thello\nmaybe\tx\ty\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadCommandVectors(p); err == nil || !strings.Contains(err.Error(), p+":3: unknown kind") {
		t.Fatalf("error %v, want one naming %s:3", err, p)
	}
}
