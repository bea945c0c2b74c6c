package record

import (
	"errors"
	"fmt"
	"io"

	"github.com/tinylib/msgp/msgp"
	"github.com/wsbench/wsbench/wire"
)

// maxBody bounds a record body; frame bodies are at most wire.MaxPayload.
const maxBody = 1 << 20

// Encode returns the on-disk envelope of r.
func Encode(r Record) (Envelope, error) {
	env := Envelope{Type: r.Type, HostNS: r.HostNS, Offset: r.Offset, Segment: r.Segment}
	m, ok := r.Body.(msgp.Marshaler)
	if !ok {
		return env, fmt.Errorf("record %s: body %T cannot be encoded", r.Type, r.Body)
	}
	var err error
	env.Body, err = m.MarshalMsg(nil)
	if err != nil {
		return env, fmt.Errorf("record %s: %w", r.Type, err)
	}
	return env, nil
}

// Decode returns the record an envelope holds.
func Decode(env Envelope) (Record, error) {
	r := Record{Type: env.Type, HostNS: env.HostNS, Offset: env.Offset, Segment: env.Segment}
	if env.Type.IsFrame() {
		m, err := wire.Decode(wire.FrameType(env.Type), env.Body)
		if err != nil {
			return r, err
		}
		r.Body = m
		return r, nil
	}
	body, err := newBody(env.Type)
	if err != nil {
		return r, err
	}
	rest, err := body.(msgp.Unmarshaler).UnmarshalMsg(env.Body)
	if err != nil {
		return r, fmt.Errorf("record %s: %w", env.Type, err)
	}
	if len(rest) != 0 {
		return r, fmt.Errorf("record %s: %d trailing bytes", env.Type, len(rest))
	}
	r.Body = body
	return r, nil
}

// Writer appends records to a MessagePack stream. Call Flush to push them to
// the underlying writer; a stream cut anywhere stays readable up to the last
// whole record.
type Writer struct {
	w *msgp.Writer
	n int64
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: msgp.NewWriter(w)} }

// Write appends one record.
func (w *Writer) Write(r Record) error {
	env, err := Encode(r)
	if err != nil {
		return err
	}
	return w.WriteEnvelope(&env)
}

// WriteEnvelope appends one envelope as it is (for frames whose payload is
// already encoded).
func (w *Writer) WriteEnvelope(env *Envelope) error {
	if err := env.EncodeMsg(w.w); err != nil {
		return fmt.Errorf("write record %d: %w", w.n, err)
	}
	w.n++
	return nil
}

// Flush writes buffered records to the underlying writer.
func (w *Writer) Flush() error { return w.w.Flush() }

// Reader reads records from a MessagePack stream.
type Reader struct {
	r    *msgp.Reader
	cr   *countingReader
	name string
	env  Envelope
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// NewReader returns a Reader on r; name (a file name) appears in errors.
func NewReader(r io.Reader, name string) *Reader {
	cr := &countingReader{r: r}
	mr := msgp.NewReaderSize(cr, 64<<10) // one buffer, so offset() is exact
	mr.SetMaxElements(maxBody)
	mr.SetMaxStringLength(maxBody)
	return &Reader{r: mr, cr: cr, name: name}
}

// offset is the stream offset of the next unread byte.
func (r *Reader) offset() int64 { return r.cr.n - int64(r.r.Buffered()) }

// Next returns the next record, io.EOF at a clean end of stream, or an error
// naming the file and byte offset (a truncated last record is an error that
// wraps io.ErrUnexpectedEOF).
func (r *Reader) Next() (Record, error) {
	env, off, err := r.NextEnvelope()
	if err != nil {
		return Record{}, err
	}
	rec, err := Decode(*env)
	if err != nil {
		return rec, fmt.Errorf("%s: record at byte %d: %w", r.name, off, err)
	}
	return rec, nil
}

// NextEnvelope returns the next envelope without decoding its body (valid
// until the next call) and its byte offset in the stream.
func (r *Reader) NextEnvelope() (*Envelope, int64, error) {
	off := r.offset()
	if _, err := r.r.R.Peek(1); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, off, io.EOF
		}
		return nil, off, fmt.Errorf("%s: byte %d: %w", r.name, off, err)
	}
	r.env.Body = r.env.Body[:0]
	if err := r.env.DecodeMsg(r.r); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, off, fmt.Errorf("%s: record at byte %d: %w", r.name, off, err)
	}
	return &r.env, off, nil
}
