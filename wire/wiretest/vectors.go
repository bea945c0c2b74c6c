// Package wiretest reads the wire package's test vectors (testdata/) for the
// tests of other implementations of the protocol, such as the firmware's C
// parser. It does not import package wire, so wire's own tests can use it.
package wiretest

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// CommandVector is one line of testdata/commands.txt:
//
//	ok<TAB>LINE<TAB>NAME[<TAB>KEY=VALUE]...
//	err<TAB>LINE<TAB>COLUMN<TAB>MESSAGE
//
// LINE and VALUE are escaped: a backslash is written \\ and every byte
// outside 0x20..0x7E as \xHH. COLUMN is normative; MESSAGE is the Go parser's
// wording, informative only.
type CommandVector struct {
	At   string // file:line, for messages
	OK   bool   // a valid command line
	Line string // the command line, unescaped
	// Valid lines: the parsed name and arguments (values decoded).
	Name string
	Args [][2]string
	// Malformed lines: the 1-based byte column and the message.
	Col int
	Msg string
}

// ReadCommandVectors reads a commands.txt file. Errors name the file and line.
func ReadCommandVectors(path string) ([]CommandVector, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []CommandVector
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		if text == "" || text[0] == '#' {
			continue
		}
		at := fmt.Sprintf("%s:%d", path, n)
		fields := strings.Split(text, "\t")
		if len(fields) < 3 {
			return nil, fmt.Errorf("%s: %d fields, want at least 3", at, len(fields))
		}
		line, err := Unescape(fields[1])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", at, err)
		}
		v := CommandVector{At: at, Line: line}
		switch fields[0] {
		case "ok":
			v.OK, v.Name = true, fields[2]
			for _, kv := range fields[3:] {
				k, val, _ := strings.Cut(kv, "=")
				if val, err = Unescape(val); err != nil {
					return nil, fmt.Errorf("%s: %w", at, err)
				}
				v.Args = append(v.Args, [2]string{k, val})
			}
		case "err":
			if len(fields) != 4 {
				return nil, fmt.Errorf("%s: an err vector has 4 fields, this one %d", at, len(fields))
			}
			if v.Col, err = strconv.Atoi(fields[2]); err != nil {
				return nil, fmt.Errorf("%s: column %q: %w", at, fields[2], err)
			}
			v.Msg = fields[3]
		default:
			return nil, fmt.Errorf("%s: unknown kind %q (want ok or err)", at, fields[0])
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// Escape writes s as a vector field: \\ for a backslash, \xHH for every byte
// outside 0x20..0x7E.
func Escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			b.WriteString(`\\`)
		case c < 0x20 || c > 0x7e:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Unescape reverses Escape.
func Unescape(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case i+1 < len(s) && s[i+1] == '\\':
			b.WriteByte('\\')
			i++
		case i+3 < len(s) && s[i+1] == 'x':
			v, err := strconv.ParseUint(s[i+2:i+4], 16, 8)
			if err != nil {
				return "", fmt.Errorf("bad escape at byte %d of %q", i, s)
			}
			b.WriteByte(byte(v))
			i += 3
		default:
			return "", fmt.Errorf("bad escape at byte %d of %q", i, s)
		}
	}
	return b.String(), nil
}
