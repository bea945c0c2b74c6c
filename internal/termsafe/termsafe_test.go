package termsafe

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// safe reports the first byte or rune of s a terminal would act on.
func unsafeAt(s string) (int, string) {
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			if _, n := utf8.DecodeRuneInString(s[i:]); n <= 1 {
				return i, fmt.Sprintf("invalid UTF-8 %#x", s[i])
			}
		case r < 0x20 && r != '\t', r == 0x7f, r >= 0x80 && r < 0xa0:
			return i, fmt.Sprintf("control %U", r)
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c, r == 0x2028, r == 0x2029:
			return i, fmt.Sprintf("bidi or separator %U", r)
		}
	}
	return -1, ""
}

func TestStringEscapesEveryControl(t *testing.T) {
	// Every C0 and C1 control, DEL, alone and inside text.
	for r := rune(0); r < 0xa0; r++ {
		if r >= 0x20 && r < 0x7f || r == '\t' {
			continue
		}
		in := "a" + string(r) + "b"
		want := fmt.Sprintf(`a\x%02xb`, r)
		if r >= 0x80 {
			want = fmt.Sprintf(`a\u%04xb`, r)
		}
		if got := String(in); got != want {
			t.Errorf("%U: %q, want %q", r, got, want)
		}
	}
	// Every byte value as a lone byte (0x80-0xff are invalid UTF-8 alone).
	for c := 0; c < 256; c++ {
		got := String(string([]byte{byte(c)}))
		if i, what := unsafeAt(got); i >= 0 {
			t.Errorf("byte %#x: %q holds %s", c, got, what)
		}
	}
}

func TestStringCases(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text 1.2.3", "plain text 1.2.3"},
		{"tab\tkept", "tab\tkept"},
		{"\x1b]0;owned\x07", `\x1b]0;owned\x07`},                                   // window title
		{"\x1b[2J\x1b[H", `\x1b[2J\x1b[H`},                                         // clear screen, cursor home
		{"\x1b[31mFAKE: all cells ok\x1b[0m", `\x1b[31mFAKE: all cells ok\x1b[0m`}, // forged red line
		{"\u009b31m", `\u009b31m`}, {"\x9b31m", `\x9b31m`},                         // 8-bit CSI
		{"bell\a nul\x00 del\x7f", `bell\x07 nul\x00 del\x7f`},
		{"\xff\xfe\xc3", `\xff\xfe\xc3`},                         // invalid UTF-8
		{"\xe2\x80", `\xe2\x80`},                                 // cut rune
		{"\xed\xa0\x80", `\xed\xa0\x80`},                         // surrogate
		{"abc\u202edcba", `abc\u202edcba`},                       // right-to-left override
		{"\u202a\u202b\u202c\u202d", `\u202a\u202b\u202c\u202d`}, // embeddings, pop, LTR override
		{"\u2066\u2067\u2068\u2069", `\u2066\u2067\u2068\u2069`}, // isolates
		{"\u200e\u200f\u061c", `\u200e\u200f\u061c`},             // marks
		{"line\u2028sep\u2029", `line\u2028sep\u2029`},           // separators
		{"zero\u200bwidth\ufeff", `zero\u200bwidth\ufeff`},       // invisible
		{"\U000e0001tag", `\U000e0001tag`},                       // language tag (Cf, above U+FFFF)
		{"héllo wörld ✓ 日本 ¥", "héllo wörld ✓ 日本 ¥"},             // graphic runes stay
		{"C:\\path", "C:\\path"},
	}
	for _, tt := range tests {
		if got := String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := Bytes([]byte(tt.in)); got != tt.want {
			t.Errorf("Bytes(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestConsoleDropsANSIAndEscapesTheRest(t *testing.T) {
	tests := []struct {
		in, want string
		last     int
	}{
		{"\x1b[0;32mI (312) wifi: up\x1b[0m", "I (312) wifi: up", 0},
		{"\x1b]0;title\x07x", "x", 0},       // window title dropped
		{"\x1b]2;title\x1b\\x", "x", 0},     // ... also when ended by ST
		{"\x1b(Bx", "x", 0},                 // character set
		{"\u009b31mx\u009d0;t\ay", "xy", 0}, // 8-bit CSI and OSC
		{"a\x1b[?25lb", "ab", 0},            // private CSI
		{"\x00\x01I (1) t: m", `\x00\x01I (1) t: m`, 8},
		{"\u202eevil", `\u202eevil`, 6},
		{"\xc2\x85next", `\u0085next`, 6},
	}
	for _, tt := range tests {
		got, last := Console([]byte(tt.in))
		if got != tt.want || last != tt.last {
			t.Errorf("Console(%q) = %q, %d; want %q, %d", tt.in, got, last, tt.want, tt.last)
		}
	}
}

func TestJSONStaysJSONAndInert(t *testing.T) {
	in := map[string]string{"a": "\x1b[2J\a\x00\x7f\u0085\u202e\u2066x\U000e0001✓", "b": "\xff"}
	j, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	out := JSON(j)
	if i, what := unsafeAt(string(out)); i >= 0 {
		t.Fatalf("%s holds %s at byte %d", out, what, i)
	}
	var back map[string]string
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	var want map[string]string
	json.Unmarshal(j, &want)
	if back["a"] != want["a"] || back["b"] != want["b"] {
		t.Fatalf("value changed: %q, want %q", back, want)
	}
}

func FuzzString(f *testing.F) {
	for _, s := range []string{"", "a", "\x1b[31m", "\u202e", "\xff", "\xc2\x85"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, got := range []string{String(s), func() string { c, _ := Console([]byte(s)); return c }()} {
			if i, what := unsafeAt(got); i >= 0 {
				t.Fatalf("%q -> %q holds %s at byte %d", s, got, what, i)
			}
			if !utf8.ValidString(got) {
				t.Fatalf("%q -> %q is not UTF-8", s, got)
			}
		}
		if strings.ContainsRune(String(s), 0x1b) {
			t.Fatal("ESC survived")
		}
	})
}
