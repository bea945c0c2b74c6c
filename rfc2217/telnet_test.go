package rfc2217

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
)

type decoded struct {
	data   []byte
	events []string
}

func describe(ev event) string {
	switch ev.Kind {
	case evNegotiate:
		return fmt.Sprintf("neg %d %d", ev.Cmd, ev.Opt)
	case evSubneg:
		return fmt.Sprintf("sb %d % x", ev.Opt, ev.Data)
	case evCommand:
		return fmt.Sprintf("cmd %d", ev.Cmd)
	case evOverflow:
		return fmt.Sprintf("overflow %d", ev.Opt)
	}
	return "?"
}

// decodeChunks feeds chunks to one decoder and collects its output.
func decodeChunks(binary bool, chunks ...[]byte) decoded {
	d := decoder{binary: binary}
	var out decoded
	for _, c := range chunks {
		out.data = d.decode(out.data, c, func(ev event) { out.events = append(out.events, describe(ev)) })
	}
	if out.data == nil {
		out.data = []byte{}
	}
	return out
}

func TestDecoder(t *testing.T) {
	long := bytes.Repeat([]byte{'s'}, maxSubneg+10)
	tests := []struct {
		name   string
		binary bool
		in     []byte
		data   string
		events []string
	}{
		{"plain_data", true, []byte("hello"), "hello", nil},
		{"doubled_IAC_is_one_0xFF", true, []byte{'a', 0xff, 0xff, 'b', 0xff, 0xff, 0xff, 0xff}, "a\xffb\xff\xff", nil},
		{"negotiation_removed", true, []byte{'a', 0xff, cmdDO, 24, 'b', 0xff, cmdWILL, 1}, "ab", []string{"neg 253 24", "neg 251 1"}},
		{"subnegotiation_with_doubled_IAC", true,
			[]byte{'x', 0xff, cmdSB, 44, 101, 0, 0, 0xff, 0xff, 0xff, cmdSE, 'y'}, "xy", []string{"sb 44 65 00 00 ff"}},
		{"bare_commands_reported", true, []byte{0xff, cmdNOP, 'a', 0xff, 249}, "a", []string{"cmd 241", "cmd 249"}},
		{"stray_SE_ignored", true, []byte{'a', 0xff, cmdSE, 'b'}, "ab", nil},
		{"empty_subnegotiation_ignored", true, []byte{0xff, cmdSB, 0xff, cmdSE, 'a'}, "a", nil},
		{"command_inside_SB_ends_it", true,
			[]byte{0xff, cmdSB, 44, 107, 0x10, 0xff, cmdWILL, 3, 'z'}, "z", []string{"sb 44 6b 10", "neg 251 3"}},
		{"SB_inside_SB_restarts", true,
			[]byte{0xff, cmdSB, 44, 1, 0xff, cmdSB, 44, 106, 2, 0xff, cmdSE}, "", []string{"sb 44 01", "sb 44 6a 02"}},
		{"overlong_subnegotiation_dropped", true,
			append(append([]byte{0xff, cmdSB, 44}, long...), 0xff, cmdSE, 'k'), "k", []string{"overflow 44"}},
		{"binary_keeps_CR_NUL", true, []byte("a\r\x00b"), "a\r\x00b", nil},
		{"non_binary_CR_NUL_is_CR", false, []byte("a\r\x00b\r\nc\x00\r\r\x00"), "a\rb\r\nc\x00\r\r", nil},
		{"non_binary_CR_IAC_IAC", false, []byte{'\r', 0xff, 0xff, 0}, "\r\xff\x00", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			whole := decodeChunks(tc.binary, tc.in)
			if string(whole.data) != tc.data {
				t.Errorf("data %q, want %q", whole.data, tc.data)
			}
			if !reflect.DeepEqual(whole.events, tc.events) {
				t.Errorf("events %q, want %q", whole.events, tc.events)
			}
			// Every split point, and byte by byte, must decode the same.
			for i := 0; i <= len(tc.in); i++ {
				if got := decodeChunks(tc.binary, tc.in[:i], tc.in[i:]); !reflect.DeepEqual(got, whole) {
					t.Fatalf("split at %d: got %+v, want %+v", i, got, whole)
				}
			}
			var bytewise [][]byte
			for i := range tc.in {
				bytewise = append(bytewise, tc.in[i:i+1])
			}
			if got := decodeChunks(tc.binary, bytewise...); !reflect.DeepEqual(got, whole) {
				t.Fatalf("byte by byte: got %+v, want %+v", got, whole)
			}
		})
	}
}

func TestEscapeData(t *testing.T) {
	tests := []struct {
		name   string
		binary bool
		in     string
		want   string
	}{
		{"binary_doubles_IAC_only", true, "a\xff\r\x00\xff", "a\xff\xff\r\x00\xff\xff"},
		{"non_binary_bare_CR_gets_NUL", false, "a\rb\r\nc\r", "a\r\x00b\r\nc\r\x00"},
		{"non_binary_doubles_IAC", false, "\xff", "\xff\xff"},
		{"empty", true, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := escapeData(nil, []byte(tc.in), tc.binary)
			if string(got) != tc.want {
				t.Fatalf("escapeData(%q) = %q, want %q", tc.in, got, tc.want)
			}
			// Round trip through the decoder.
			if back := decodeChunks(tc.binary, got); string(back.data) != tc.in || back.events != nil {
				t.Fatalf("decoded back to %q %v", back.data, back.events)
			}
			if k := escapedPrefix([]byte(tc.in), tc.binary, len(got)); k != len(tc.in) {
				t.Fatalf("escapedPrefix(all %d wire bytes) = %d, want %d", len(got), k, len(tc.in))
			}
		})
	}
}

func TestEscapedPrefixCountsWholeSourceBytes(t *testing.T) {
	// "a\rb\r\nc\r" goes out as a CR NUL b CR LF c CR NUL without BINARY.
	src := []byte("a\rb\r\nc\r")
	want := []int{0, 1, 1, 2, 3, 4, 5, 6, 6, 7} // source bytes sent for 0..9 wire bytes
	for n, w := range want {
		if got := escapedPrefix(src, false, n); got != w {
			t.Errorf("escapedPrefix(n=%d) = %d, want %d", n, got, w)
		}
	}
	bin := []byte{'a', 0xff, 'b'} // a IAC IAC b
	for n, w := range []int{0, 1, 1, 2, 3} {
		if got := escapedPrefix(bin, true, n); got != w {
			t.Errorf("binary escapedPrefix(n=%d) = %d, want %d", n, got, w)
		}
	}
}

func TestSubneg(t *testing.T) {
	got := subneg(nil, cpSetBaudRate, []byte{0, 0, 0xff, 0})
	want := []byte{0xff, cmdSB, 44, 1, 0, 0, 0xff, 0xff, 0, 0xff, cmdSE}
	if !bytes.Equal(got, want) {
		t.Fatalf("subneg = % x, want % x", got, want)
	}
}

// FuzzDecoder checks that the decoder never panics, that splitting the input
// anywhere changes nothing, and that escaped data decodes back to itself.
func FuzzDecoder(f *testing.F) {
	for _, seed := range [][]byte{
		{},
		[]byte("plain"),
		{0xff, 0xff, 'a', 0xff, cmdDO, 24},
		{0xff, cmdSB, 44, 101, 0, 1, 0xc2, 0, 0xff, cmdSE},
		{0xff, cmdSB, 44, 0xff, 0xff, 0xff},
		[]byte("a\r\x00b\r\n"),
		{0xff, cmdSB, 0xff, cmdWILL, 0xff, 0xff},
	} {
		f.Add(seed, uint(len(seed)/2), true)
	}
	f.Fuzz(func(t *testing.T, in []byte, cut uint, binary bool) {
		whole := decodeChunks(binary, in)
		i := int(cut % uint(len(in)+1))
		if split := decodeChunks(binary, in[:i], in[i:]); !reflect.DeepEqual(split, whole) {
			t.Fatalf("split at %d: %+v vs %+v", i, split, whole)
		}
		if len(whole.data) > len(in) {
			t.Fatalf("decoded %d bytes from %d", len(whole.data), len(in))
		}
		esc := escapeData(nil, in, binary)
		if back := decodeChunks(binary, esc); !bytes.Equal(back.data, in) || back.events != nil {
			t.Fatalf("escape round trip: % x -> % x -> % x %v", in, esc, back.data, back.events)
		}
	})
}
