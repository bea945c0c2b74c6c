// Package termsafe is wsbench's one sanitiser for text that comes from a
// board (frame strings, console lines) or from a file a board's data passed
// through, on its way to a terminal or a log line. It makes the text inert
// and visible: nothing it returns can move a cursor, set a window title,
// ring a bell, switch a terminal's character set or reorder what is shown
// (bidirectional overrides), and every byte that was there can still be
// seen.
//
// The rules, for String and Console alike:
//
//   - printable ASCII (0x20-0x7e) and tab are kept;
//   - other C0 controls, DEL and bytes that are not UTF-8 become \xNN
//     (ESC becomes \x1b, BEL \x07, NUL \x00, 0xff \xff);
//   - every rune that is not graphic in Go's unicode tables becomes \uNNNN
//     (\UNNNNNNNN above U+FFFF): the C1 controls U+0080-U+009F, format
//     characters (Cf: the bidi overrides U+202A-U+202E and isolates
//     U+2066-U+2069, U+200B-U+200F, U+FEFF, ...), the line and paragraph
//     separators U+2028/U+2029, private use and unassigned code points;
//   - every other rune (letters, marks, digits, punctuation, symbols,
//     spaces of category Zs) is kept as it is.
//
// Backslashes are kept, so an escape in the output may also have been typed
// by the board; the output is for reading, not for decoding back.
//
// Console additionally drops ANSI escape sequences (the colour codes of
// ESP-IDF logs) instead of showing them.
package termsafe

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// String returns s made safe for a terminal or a log line.
func String(s string) string {
	if plain(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	appendEscaped(&b, s, false)
	return b.String()
}

// Bytes is String of raw bytes.
func Bytes(p []byte) string {
	if plainBytes(p) {
		return string(p)
	}
	return String(string(p))
}

// Console returns a console line (without its line ending) made safe: ANSI
// escape sequences removed, everything else as String. last is the length
// of the output up to and including the last escape it wrote (0 when it
// wrote none): where text that was not text (line noise, a rejected frame)
// ends.
func Console(raw []byte) (text string, last int) {
	if plainBytes(raw) {
		return string(raw), 0
	}
	var b strings.Builder
	b.Grow(len(raw) + 16)
	last = appendEscaped(&b, string(raw), true)
	return b.String(), last
}

// JSON makes JSON text from encoding/json safe for a terminal: it writes the
// runes String would escape, which encoding/json leaves as they are (DEL,
// the C1 controls, bidi overrides and other non-graphic runes), as \uNNNN
// escapes. encoding/json already escapes C0 controls and replaces invalid
// UTF-8, and such runes only occur inside strings, so the result is the
// same JSON value.
func JSON(j []byte) []byte {
	if plainBytes(j) {
		return j
	}
	out := make([]byte, 0, len(j)+16)
	for i := 0; i < len(j); {
		c := j[i]
		if c < utf8.RuneSelf {
			if c == 0x7f || c < 0x20 && c != '\t' && c != '\n' {
				out = appendU(out, rune(c))
			} else {
				out = append(out, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(j[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			out = appendU(out, 0xfffd)
		case !graphic(r):
			if r > 0xffff {
				r1, r2 := surrogates(r)
				out = appendU(appendU(out, r1), r2)
			} else {
				out = appendU(out, r)
			}
		default:
			out = append(out, j[i:i+n]...)
		}
		i += n
	}
	return out
}

func surrogates(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff
}

const hexDigits = "0123456789abcdef"

func appendU(out []byte, r rune) []byte {
	return append(out, '\\', 'u', hexDigits[r>>12&15], hexDigits[r>>8&15], hexDigits[r>>4&15], hexDigits[r&15])
}

func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c >= 0x7f {
			return false
		}
	}
	return true
}

func plainBytes(p []byte) bool {
	for _, c := range p {
		if c < 0x20 && c != '\t' || c >= 0x7f {
			return false
		}
	}
	return true
}

// graphic reports whether r is shown as itself: Go's unicode.IsGraphic
// (letters, marks, numbers, punctuation, symbols, Zs spaces).
func graphic(r rune) bool { return unicode.IsGraphic(r) }

// appendEscaped writes s to b by the package rules, dropping ANSI escape
// sequences when dropANSI. It returns the output length up to the end of
// the last escape it wrote.
func appendEscaped(b *strings.Builder, s string, dropANSI bool) int {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case dropANSI && isSeqStart(s[i:]):
			i += ansiLen(s[i:])
			continue
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && n <= 1:
				escapeByte(b, c)
				last = b.Len()
				i++
			case !graphic(r):
				escapeRune(b, r)
				last = b.Len()
				i += n
			default:
				b.WriteString(s[i : i+n])
				i += n
			}
			continue
		case c < 0x20 && c != '\t' || c == 0x7f:
			escapeByte(b, c)
			last = b.Len()
			i++
			continue
		}
		j := i + 1
		for j < len(s) && (s[j] >= 0x20 && s[j] < 0x7f || s[j] == '\t') {
			j++
		}
		b.WriteString(s[i:j])
		i = j
	}
	return last
}

func escapeByte(b *strings.Builder, c byte) {
	b.WriteString(`\x`)
	b.WriteByte(hexDigits[c>>4])
	b.WriteByte(hexDigits[c&15])
}

func escapeRune(b *strings.Builder, r rune) {
	if r > 0xffff {
		b.WriteString(`\U`)
		for shift := 28; shift >= 0; shift -= 4 {
			b.WriteByte(hexDigits[r>>shift&15])
		}
		return
	}
	b.WriteString(`\u`)
	for shift := 12; shift >= 0; shift -= 4 {
		b.WriteByte(hexDigits[r>>shift&15])
	}
}

// ansiLen is the length of the terminal control sequence at the start of
// s, which starts with ESC or the C1 CSI (U+009B, UTF-8 C2 9B) or OSC
// (U+009D): a CSI sequence "ESC [ params intermediates final", an OSC
// sequence "ESC ] ... BEL" or "ESC ] ... ESC \" (a window title), a
// character set designation "ESC ( X" (also ")", "*", "+"), or ESC and one
// more byte. A sequence cut off by the end of the line runs to the end.
func ansiLen(s string) int {
	if len(s) < 2 {
		return len(s)
	}
	i := 2 // past ESC x, or past the two bytes of U+009B / U+009D
	kind := s[1]
	if s[0] == 0xc2 {
		kind = '['
		if s[1] == 0x9d {
			kind = ']'
		}
	}
	switch kind {
	case '[':
		for i < len(s) && s[i] >= 0x20 && s[i] <= 0x3f {
			i++
		}
		if i < len(s) && s[i] >= 0x40 && s[i] <= 0x7e {
			return i + 1
		}
		return i
	case ']':
		for ; i < len(s); i++ {
			if s[i] == 0x07 {
				return i + 1
			}
			if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '\\' {
				return i + 2
			}
		}
		return len(s)
	case '(', ')', '*', '+':
		return min(3, len(s))
	}
	return 2
}

// isSeqStart reports whether s starts a control sequence Console drops.
func isSeqStart(s string) bool {
	return s[0] == 0x1b || len(s) >= 2 && s[0] == 0xc2 && (s[1] == 0x9b || s[1] == 0x9d)
}

// Strip returns raw with everything that is not text removed: control
// sequences (as Console drops them), control characters other than tab,
// bytes that are not UTF-8 and runes that are not graphic. It is for
// parsing a line whose text was interrupted by them, never for display.
func Strip(raw []byte) string {
	s := string(raw)
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case isSeqStart(s[i:]):
			i += ansiLen(s[i:])
		case c == '\t' || c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
			i++
		case c < utf8.RuneSelf:
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if !(r == utf8.RuneError && n <= 1) && graphic(r) {
				b.WriteString(s[i : i+n])
			}
			i += n
		}
	}
	return b.String()
}
