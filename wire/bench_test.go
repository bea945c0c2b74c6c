package wire

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkDemuxDecode measures what the collector does with every byte of a
// capture: demultiplex a realistic stream (ESP-IDF log lines around samples,
// heap details and events; about 70% of the bytes are frames) and decode
// every frame. Target: >= 50 MB/s on one core (issue 2), 40x USB full speed.
func BenchmarkDemuxDecode(b *testing.B) {
	in := realisticStream(b, 1<<20, 0)
	var frameBytes int64
	r := runDemux(in, nil)
	for _, c := range r.chunks {
		if c.Kind == ChunkFrame {
			frameBytes += int64(c.Size)
		}
	}
	b.Logf("stream %d bytes, %d frames, %.0f%% frame bytes", len(in), r.stats.Frames, 100*float64(frameBytes)/float64(len(in)))
	const feed = 4096 // a typical serial read
	var (
		sample Sample
		detail HeapDetail
		event  Event
	)
	msgs := map[FrameType]Message{TypeSample: &sample, TypeHeapDetail: &detail, TypeEvent: &event}
	var decodeErr error
	var frames int
	emit := func(c Chunk) {
		if c.Kind != ChunkFrame {
			return
		}
		frames++
		m := msgs[c.Type]
		if m == nil {
			if _, err := Decode(c.Type, c.Payload); err != nil {
				decodeErr = err
			}
			return
		}
		if err := DecodeInto(m, c.Payload); err != nil {
			decodeErr = err
		}
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		var d Demuxer
		for off := 0; off < len(in); off += feed {
			d.Feed(in[off:min(off+feed, len(in))], emit)
		}
		d.Close(emit)
		if decodeErr != nil {
			b.Fatal(decodeErr)
		}
	}
	b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
}

func benchSample() *Sample {
	return &Sample{Seq: 1234, TimeUS: 127455012, Phase: PhaseSteady, Sessions: 4, InternalFree: 71236,
		InternalMinFree: 52108, InternalLargest: 31744, SPIRAMFree: 8257012, SPIRAMMinFree: 8240128,
		SPIRAMLargest: 8126464, WSStackHWM: 1180}
}

// BenchmarkEncodeSample measures encoding and framing one sample.
func BenchmarkEncodeSample(b *testing.B) {
	s := benchSample()
	buf := make([]byte, 0, 64)
	var payload []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		payload, err = s.MarshalMsg(payload[:0])
		if err != nil {
			b.Fatal(err)
		}
		if buf, err = AppendFrame(buf[:0], TypeSample, payload); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkAppendMessageSample measures AppendMessage, the convenient path.
func BenchmarkAppendMessageSample(b *testing.B) {
	s := benchSample()
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendMessage(buf[:0], s); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkDecodeSample measures decoding one sample payload into a reused
// Sample, as the collector does.
func BenchmarkDecodeSample(b *testing.B) {
	payload, err := benchSample().MarshalMsg(nil)
	if err != nil {
		b.Fatal(err)
	}
	var s Sample
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if err := DecodeInto(&s, payload); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkDemuxGarbage measures the demultiplexer on random bytes, what a
// wrong baud rate produces: about one 0xA5 in 256 bytes, all text.
func BenchmarkDemuxGarbage(b *testing.B) {
	in := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range in {
		in[i] = byte(rng.Uint32())
	}
	var chunks int
	emit := func(Chunk) { chunks++ }
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		var d Demuxer
		for off := 0; off < len(in); off += 4096 {
			d.Feed(in[off:min(off+4096, len(in))], emit)
		}
		d.Close(emit)
	}
	b.ReportMetric(float64(chunks)/float64(b.N), "chunks/op")
}
