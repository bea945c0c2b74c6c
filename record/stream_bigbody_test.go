package record

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/wsbench/wsbench/wire"
)

// A Hello body is several hundred bytes: the reader must accept bodies up
// to maxBody and report exact byte offsets.
func TestReaderLargeBodiesAndOffsets(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	recs := []Record{
		{Type: TypeReset, Body: &Reset{Chip: "esp32s3", Class: "poweron"}},
		{Type: TypeHello, Body: &wire.Hello{Board: "esp32s3-n8r8", IDFVersion: strings.Repeat("v", 600)}},
		{Type: TypeSample, Body: &wire.Sample{Seq: 1, InternalFree: 1234}},
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	// Offsets of each envelope, from re-encoding them one by one.
	var want []int64
	var n int64
	for _, r := range recs {
		want = append(want, n)
		var one bytes.Buffer
		ow := NewWriter(&one)
		_ = ow.Write(r)
		_ = ow.Flush()
		n += int64(one.Len())
	}
	rd := NewReader(bytes.NewReader(buf.Bytes()), "t")
	for i := range recs {
		env, off, err := rd.NextEnvelope()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if off != want[i] || env.Type != recs[i].Type {
			t.Errorf("record %d: type %s at %d, want %s at %d", i, env.Type, off, recs[i].Type, want[i])
		}
	}
	if _, _, err := rd.NextEnvelope(); err != io.EOF {
		t.Errorf("end: %v", err)
	}
}
