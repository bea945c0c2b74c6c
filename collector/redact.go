package collector

import (
	"bytes"

	"github.com/wsbench/wsbench/wire"
)

// Redaction is the one place where a capture does not keep the bytes as
// received: a secret wsbench itself handed to the board (the Wi-Fi
// password of the "wifi" command, WSBENCH_WIFI_PASS) is replaced in the
// byte stream, before raw.bin is written and before anything is decoded,
// by as many '*' bytes. Every file of the capture (raw.bin, raw.idx,
// records.msgp, console.log, capture.json) derives from the redacted
// stream, so none holds the secret; lengths and stream offsets are those
// of the bytes received. A frame that carried the secret no longer matches
// its CRC and is kept as console text. capture.json counts the redactions.
//
// The secret is matched as sent and as the command line encodes it
// (%XX escapes, either case). A secret split across reads is still found:
// the end of a read that could begin the secret is held back until the next
// read (or the end of the capture) decides it.

// redactor replaces secrets in a byte stream cut into arbitrary chunks.
type redactor struct {
	forms [][]byte // every form of every secret
	held  []byte   // the end of the stream so far that could begin a secret
	count int64    // occurrences replaced
}

// secretArg reports whether a command argument carries a secret.
func secretArg(key string) bool {
	return key == "pass" || key == "password" || key == "psk"
}

// add registers secret s (empty: nothing).
func (r *redactor) add(s string) {
	if s == "" {
		return
	}
	enc := wire.Command{Name: "x", Args: []wire.Arg{{Key: "k", Value: s}}}.String()[len("x k="):]
	r.addForm(s)
	r.addForm(enc)
	// The command line writes %XX with upper-case hex; a board might echo
	// it lower-cased.
	r.addForm(lowerEscapes(enc))
}

func (r *redactor) addForm(f string) {
	for _, o := range r.forms {
		if string(o) == f {
			return
		}
	}
	r.forms = append(r.forms, []byte(f))
}

// lowerEscapes lower-cases the hex digits of %XX escapes.
func lowerEscapes(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1] = toLowerHex(b[i+1])
			b[i+2] = toLowerHex(b[i+2])
			i += 2
		}
	}
	return string(b)
}

func toLowerHex(c byte) byte {
	if c >= 'A' && c <= 'F' {
		return c + 'a' - 'A'
	}
	return c
}

// active reports whether there is anything to redact or hold.
func (r *redactor) active() bool { return len(r.forms) > 0 }

// process takes the next chunk of the stream and returns the bytes that can
// be passed on now, redacted; it may hold back the chunk's end. The result
// is valid until the next call.
func (r *redactor) process(chunk []byte) []byte {
	if len(r.forms) == 0 {
		return chunk
	}
	data := append(r.held, chunk...)
	r.held = nil
	// Mark every occurrence (overlapping ones too) in the unmodified data,
	// then replace.
	var spans [][2]int
	for _, f := range r.forms {
		for i := 0; i <= len(data)-len(f); {
			j := bytes.Index(data[i:], f)
			if j < 0 {
				break
			}
			spans = append(spans, [2]int{i + j, i + j + len(f)})
			r.count++
			i += j + 1
		}
	}
	for _, s := range spans {
		for k := s[0]; k < s[1]; k++ {
			data[k] = '*'
		}
	}
	hold := 0
	for _, f := range r.forms {
		for k := min(len(f)-1, len(data)); k > hold; k-- {
			if bytes.HasSuffix(data, f[:k]) {
				hold = k
				break
			}
		}
	}
	if hold > 0 {
		r.held = append([]byte(nil), data[len(data)-hold:]...)
		data = data[:len(data)-hold]
	}
	return data
}

// flush returns the held bytes (the stream ended: they cannot become a
// secret any more).
func (r *redactor) flush() []byte {
	h := r.held
	r.held = nil
	return h
}
