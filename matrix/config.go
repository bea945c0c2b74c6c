package matrix

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wsbench/wsbench/idf"
	"github.com/wsbench/wsbench/sim"
	"github.com/wsbench/wsbench/wire"
	"gopkg.in/yaml.v3"
)

// File is a matrix file as written by a user.
type File struct {
	Name         string     `yaml:"name" json:"name"`
	Seed         uint64     `yaml:"seed" json:"seed"`
	Repetitions  int        `yaml:"repetitions" json:"repetitions"`
	SamplePeriod Duration   `yaml:"sample_period" json:"sample_period"`
	DetailEvery  int        `yaml:"detail_every" json:"detail_every"`
	CellTimeout  Duration   `yaml:"cell_timeout" json:"cell_timeout,omitempty"`
	Component    Component  `yaml:"component" json:"component"`
	Boards       []Board    `yaml:"boards" json:"boards"`
	Variants     []Variant  `yaml:"variants" json:"variants"`
	Scenarios    []Scenario `yaml:"scenarios" json:"scenarios"`
	Peer         Peer       `yaml:"peer" json:"peer"`
}

// Component is the component under test: which placement behaviour (branch)
// it has, and for hardware builds where its source is.
type Component struct {
	Behaviour string `yaml:"behaviour" json:"behaviour"` // fallback or strict
	Branch    string `yaml:"branch" json:"branch,omitempty"`
	Path      string `yaml:"path" json:"path,omitempty"` // local checkout for hardware builds
}

// Board is one board, or a pool of identical virtual boards.
type Board struct {
	Name     string `yaml:"name" json:"name"`
	Virtual  string `yaml:"virtual" json:"virtual,omitempty"` // virtual profile, e.g. esp32s3-n8r8
	Count    int    `yaml:"count" json:"count,omitempty"`     // virtual boards of this profile run in parallel
	Port     string `yaml:"port" json:"port,omitempty"`       // /dev/ttyUSB0, auto, rfc2217://host:port
	Baud     int    `yaml:"baud" json:"baud,omitempty"`
	Target   string `yaml:"target" json:"target,omitempty"` // esp32s3 or esp32, for hardware builds
	Flash    *bool  `yaml:"flash" json:"flash,omitempty"`   // hardware: build and flash each variant (default true)
	Realtime bool   `yaml:"realtime" json:"realtime,omitempty"`
	// Faults are virtual-board faults switched on for every cell of this board
	// (leak, small_stack, psram_fail).
	Faults map[string]int `yaml:"faults" json:"faults,omitempty"`
}

// Variant is a named set of build options.
type Variant struct {
	Name                 string `yaml:"name" json:"name"`
	StackInExtRAM        bool   `yaml:"stack_in_ext_ram" json:"stack_in_ext_ram"` // ESP_WS_CLIENT_TASK_STACK_IN_EXT_RAM
	AllocInExtRAM        bool   `yaml:"alloc_in_ext_ram" json:"alloc_in_ext_ram"` // ESP_WS_CLIENT_ALLOC_IN_EXT_RAM
	TaskStack            int    `yaml:"task_stack" json:"task_stack,omitempty"`
	BufferSize           int    `yaml:"buffer_size" json:"buffer_size,omitempty"`
	MbedTLSAlloc         string `yaml:"mbedtls_alloc" json:"mbedtls_alloc,omitempty"` // internal, external, default
	MbedTLSDynamicBuffer bool   `yaml:"mbedtls_dynamic_buffer" json:"mbedtls_dynamic_buffer,omitempty"`
	MbedTLSKeepPeerCert  *bool  `yaml:"mbedtls_keep_peer_cert" json:"mbedtls_keep_peer_cert,omitempty"`
	MbedTLSInContentLen  int    `yaml:"mbedtls_in_content_len" json:"mbedtls_in_content_len,omitempty"`
	MbedTLSOutContentLen int    `yaml:"mbedtls_out_content_len" json:"mbedtls_out_content_len,omitempty"`
	TaskWDTPanic         *bool  `yaml:"task_wdt_panic" json:"task_wdt_panic,omitempty"`
}

// Scenario is one scenario entry with its parameters.
type Scenario struct {
	Name     string   `yaml:"name" json:"name"`         // label, unique: e.g. handler-inline
	Scenario string   `yaml:"scenario" json:"scenario"` // sweep, churn, handler
	N        []int    `yaml:"n" json:"n"`               // sweep: session counts; churn: sessions held open besides the client
	Baseline Duration `yaml:"baseline" json:"baseline"`
	Window   Duration `yaml:"window" json:"window"`
	Cycles   int      `yaml:"cycles" json:"cycles,omitempty"`
	Handler  string   `yaml:"handler" json:"handler,omitempty"` // inline or queued
	Work     Duration `yaml:"work" json:"work,omitempty"`
	Every    Duration `yaml:"every" json:"every,omitempty"`       // handler: one event every
	Variants []string `yaml:"variants" json:"variants,omitempty"` // only these variants (default all)
	Boards   []string `yaml:"boards" json:"boards,omitempty"`     // only these boards (default all)
}

// Peer configures the peer server wsbench starts.
type Peer struct {
	Listen       string   `yaml:"listen" json:"listen,omitempty"` // address to listen on; loopback by default
	Key          string   `yaml:"key" json:"key,omitempty"`       // ecdsa-p256 or rsa-2048
	CertDir      string   `yaml:"cert_dir" json:"cert_dir,omitempty"`
	PushSize     int      `yaml:"push_size" json:"push_size,omitempty"`
	PushEvery    Duration `yaml:"push_every" json:"push_every,omitempty"`
	ResponseSize int      `yaml:"response_size" json:"response_size,omitempty"`
	TLSMin       string   `yaml:"tls_min" json:"tls_min,omitempty"`
	WSURL        string   `yaml:"ws_url" json:"ws_url,omitempty"` // use an external peer instead of starting one
	HTTPSURL     string   `yaml:"https_url" json:"https_url,omitempty"`
}

// Duration is a time.Duration written as "10s" in YAML and JSON.
type Duration time.Duration

// UnmarshalYAML reads a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (e.g. 10s, 500ms)", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Duration(d).String() + `"`), nil
}

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	v, err := time.ParseDuration(strings.Trim(string(b), `"`))
	*d = Duration(v)
	return err
}

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// ParseError is a problem in a matrix file, with its line.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Load reads and checks a matrix file.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read matrix: %w", err)
	}
	return Parse(path, b)
}

var lineRe = regexp.MustCompile(`^(?:yaml: )?(?:unmarshal errors:\n\s*)?line (\d+): (.*)$`)

// yamlError turns a yaml.v3 error into a ParseError with its line.
func yamlError(name string, err error) error {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if m := lineRe.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &ParseError{name, line, strings.ReplaceAll(m[2], "in type matrix.", "in ")}
	}
	return &ParseError{name, 0, msg}
}

// Parse parses and checks matrix file content; name appears in errors.
func Parse(name string, b []byte) (*File, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &ParseError{name, 0, "the file is empty: a matrix names boards, variants and scenarios (see wsbench run --print-default)"}
		}
		return nil, yamlError(name, err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, &ParseError{name, 0, err.Error()}
	}
	if err := f.check(name, &root); err != nil {
		return nil, err
	}
	return &f, nil
}

// lineOf finds the line of the node at path (map keys and list indices) in
// a parsed YAML document, or 0.
func lineOf(root *yaml.Node, path ...any) int {
	n := root
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, p := range path {
		if n == nil {
			return 0
		}
		switch k := p.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return n.Line
			}
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == k {
					next = n.Content[i+1]
					if next.Kind == yaml.ScalarNode {
						return next.Line
					}
					break
				}
			}
			if next == nil {
				return n.Line
			}
			n = next
		case int:
			if n.Kind != yaml.SequenceNode || k >= len(n.Content) {
				return n.Line
			}
			n = n.Content[k]
		}
	}
	if n == nil {
		return 0
	}
	return n.Line
}

var nameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,47}$`)

// check applies defaults and rejects impossible values.
func (f *File) check(name string, root *yaml.Node) error {
	bad := func(msg string, path ...any) error {
		return &ParseError{name, lineOf(root, path...), msg}
	}
	if f.Repetitions == 0 {
		f.Repetitions = 3
	}
	if f.Repetitions < 1 || f.Repetitions > 1000 {
		return bad(fmt.Sprintf("repetitions: %d is out of range 1..1000", f.Repetitions), "repetitions")
	}
	if f.SamplePeriod == 0 {
		f.SamplePeriod = Duration(100 * time.Millisecond)
	}
	if f.SamplePeriod.D() < time.Millisecond || f.SamplePeriod.D() > time.Minute {
		return bad(fmt.Sprintf("sample_period: %s is out of range 1ms..1m", f.SamplePeriod.D()), "sample_period")
	}
	if f.DetailEvery == 0 {
		f.DetailEvery = 10
	}
	if f.DetailEvery < 0 || f.DetailEvery > 65535 {
		return bad(fmt.Sprintf("detail_every: %d is out of range 0..65535", f.DetailEvery), "detail_every")
	}
	if f.CellTimeout < 0 {
		return bad("cell_timeout: must not be negative", "cell_timeout")
	}
	switch f.Component.Behaviour {
	case "":
		f.Component.Behaviour = wire.BehaviourFallback
	case wire.BehaviourFallback, wire.BehaviourStrict:
	default:
		return bad(fmt.Sprintf("component.behaviour: %q: want %q or %q", f.Component.Behaviour, wire.BehaviourFallback, wire.BehaviourStrict), "component", "behaviour")
	}
	if len(f.Boards) == 0 {
		return bad("boards: at least one board is needed", "boards")
	}
	seen := map[string]bool{}
	for i := range f.Boards {
		b := &f.Boards[i]
		if !nameRe.MatchString(b.Name) {
			return bad(fmt.Sprintf("boards[%d].name: %q: want 1-48 characters of [A-Za-z0-9._-]", i, b.Name), "boards", i, "name")
		}
		if seen[b.Name] {
			return bad(fmt.Sprintf("boards: duplicate name %q", b.Name), "boards", i, "name")
		}
		seen[b.Name] = true
		switch {
		case b.Virtual != "" && b.Port != "":
			return bad(fmt.Sprintf("board %q: give either virtual or port, not both", b.Name), "boards", i)
		case b.Virtual == "" && b.Port == "":
			return bad(fmt.Sprintf("board %q: give virtual (a profile) or port (a serial port)", b.Name), "boards", i)
		}
		if b.Virtual != "" {
			if _, err := sim.ProfileByName(b.Virtual); err != nil {
				return bad(fmt.Sprintf("board %q: %v", b.Name, err), "boards", i, "virtual")
			}
		}
		if b.Count == 0 {
			b.Count = 1
		}
		if b.Count < 1 || b.Count > 64 {
			return bad(fmt.Sprintf("board %q: count %d is out of range 1..64", b.Name, b.Count), "boards", i, "count")
		}
		if b.Port != "" && b.Count != 1 {
			return bad(fmt.Sprintf("board %q: count applies to virtual boards only", b.Name), "boards", i, "count")
		}
		if b.Port != "" {
			switch b.Target {
			case "esp32", "esp32s3":
			case "":
				return bad(fmt.Sprintf("board %q: target (esp32 or esp32s3) is required for a hardware board", b.Name), "boards", i)
			default:
				return bad(fmt.Sprintf("board %q: target %q: want esp32 or esp32s3", b.Name, b.Target), "boards", i, "target")
			}
		}
		if b.Baud == 0 {
			b.Baud = 115200
		}
		if b.Baud < 300 || b.Baud > 10_000_000 {
			return bad(fmt.Sprintf("board %q: baud %d is out of range", b.Name, b.Baud), "boards", i, "baud")
		}
		for k, v := range b.Faults {
			switch k {
			case "leak", "small_stack", "psram_fail":
			default:
				return bad(fmt.Sprintf("board %q: unknown fault %q (want leak, small_stack, psram_fail)", b.Name, k), "boards", i, "faults")
			}
			if v < 0 {
				return bad(fmt.Sprintf("board %q: fault %s=%d must not be negative", b.Name, k, v), "boards", i, "faults")
			}
		}
		if len(b.Faults) > 0 && b.Port != "" {
			return bad(fmt.Sprintf("board %q: faults apply to virtual boards only", b.Name), "boards", i, "faults")
		}
	}
	if len(f.Variants) == 0 {
		return bad("variants: at least one variant is needed", "variants")
	}
	seen = map[string]bool{}
	for i := range f.Variants {
		v := &f.Variants[i]
		if !nameRe.MatchString(v.Name) {
			return bad(fmt.Sprintf("variants[%d].name: %q: want 1-48 characters of [A-Za-z0-9._-]", i, v.Name), "variants", i, "name")
		}
		if seen[v.Name] {
			return bad(fmt.Sprintf("variants: duplicate name %q", v.Name), "variants", i, "name")
		}
		seen[v.Name] = true
		switch v.MbedTLSAlloc {
		case "", "internal", "external", "default":
		default:
			return bad(fmt.Sprintf("variant %q: mbedtls_alloc %q: want internal, external or default", v.Name, v.MbedTLSAlloc), "variants", i, "mbedtls_alloc")
		}
		if v.TaskStack != 0 && (v.TaskStack < 1024 || v.TaskStack > 65536) {
			return bad(fmt.Sprintf("variant %q: task_stack %d is out of range 1024..65536", v.Name, v.TaskStack), "variants", i, "task_stack")
		}
		if v.BufferSize != 0 && (v.BufferSize < 64 || v.BufferSize > 65536) {
			return bad(fmt.Sprintf("variant %q: buffer_size %d is out of range 64..65536", v.Name, v.BufferSize), "variants", i, "buffer_size")
		}
		for _, c := range []struct {
			key string
			v   int
		}{{"mbedtls_in_content_len", v.MbedTLSInContentLen}, {"mbedtls_out_content_len", v.MbedTLSOutContentLen}} {
			if c.v != 0 && (c.v < 512 || c.v > 16384) {
				return bad(fmt.Sprintf("variant %q: %s %d is out of range 512..16384", v.Name, c.key, c.v), "variants", i, c.key)
			}
		}
	}
	if len(f.Scenarios) == 0 {
		return bad("scenarios: at least one scenario is needed", "scenarios")
	}
	seen = map[string]bool{}
	for i := range f.Scenarios {
		s := &f.Scenarios[i]
		if s.Name == "" {
			s.Name = s.Scenario
			if s.Scenario == wire.ScenarioHandler && s.Handler != "" {
				s.Name = s.Scenario + "-" + s.Handler
			}
		}
		if !nameRe.MatchString(s.Name) {
			return bad(fmt.Sprintf("scenarios[%d].name: %q: want 1-48 characters of [A-Za-z0-9._-]", i, s.Name), "scenarios", i)
		}
		if seen[s.Name] {
			return bad(fmt.Sprintf("scenarios: duplicate name %q", s.Name), "scenarios", i)
		}
		seen[s.Name] = true
		switch s.Scenario {
		case wire.ScenarioSweep, wire.ScenarioChurn, wire.ScenarioHandler:
		default:
			return bad(fmt.Sprintf("scenario %q: scenario %q: want sweep, churn or handler", s.Name, s.Scenario), "scenarios", i, "scenario")
		}
		if s.N != nil && len(s.N) == 0 {
			return bad(fmt.Sprintf("scenario %q: n is an empty list (leave it out for the default)", s.Name), "scenarios", i, "n")
		}
		if len(s.N) == 0 {
			s.N = []int{1}
			if s.Scenario == wire.ScenarioHandler {
				s.N = []int{0}
			}
		}
		dup := map[int]bool{}
		for j, n := range s.N {
			if n < 0 || n > wire.MaxSessions {
				return bad(fmt.Sprintf("scenario %q: n=%d is out of range 0..%d", s.Name, n, wire.MaxSessions), "scenarios", i, "n", j)
			}
			if dup[n] {
				return bad(fmt.Sprintf("scenario %q: n=%d listed twice", s.Name, n), "scenarios", i, "n", j)
			}
			dup[n] = true
		}
		if s.Baseline == 0 {
			s.Baseline = Duration(2 * time.Second)
		}
		if s.Window == 0 {
			s.Window = Duration(10 * time.Second)
		}
		if s.Baseline < 0 || s.Window < 0 || s.Work < 0 || s.Every < 0 {
			return bad(fmt.Sprintf("scenario %q: durations must not be negative", s.Name), "scenarios", i)
		}
		for _, d := range []struct {
			key string
			v   Duration
			max time.Duration
		}{{"baseline", s.Baseline, 24 * time.Hour}, {"window", s.Window, 24 * time.Hour}, {"work", s.Work, 10 * time.Minute}, {"every", s.Every, 10 * time.Minute}} {
			if d.v.D() > d.max {
				return bad(fmt.Sprintf("scenario %q: %s %s is longer than %s", s.Name, d.key, d.v.D(), d.max), "scenarios", i, d.key)
			}
		}
		if s.Window.D() < f.SamplePeriod.D() {
			return bad(fmt.Sprintf("scenario %q: window %s is shorter than sample_period %s", s.Name, s.Window.D(), f.SamplePeriod.D()), "scenarios", i, "window")
		}
		switch s.Scenario {
		case wire.ScenarioChurn:
			if s.Cycles == 0 {
				s.Cycles = 20
			}
			if s.Cycles < 3 || s.Cycles > 100000 {
				return bad(fmt.Sprintf("scenario %q: cycles %d is out of range 3..100000 (a leak slope needs at least 3)", s.Name, s.Cycles), "scenarios", i, "cycles")
			}
		case wire.ScenarioHandler:
			if s.Handler == "" {
				s.Handler = wire.HandlerQueued
			}
			if s.Handler != wire.HandlerInline && s.Handler != wire.HandlerQueued {
				return bad(fmt.Sprintf("scenario %q: handler %q: want inline or queued", s.Name, s.Handler), "scenarios", i, "handler")
			}
			if s.Work == 0 {
				s.Work = Duration(50 * time.Millisecond)
			}
			if s.Every == 0 {
				s.Every = Duration(100 * time.Millisecond)
			}
		default:
			if s.Handler != "" || s.Cycles != 0 || s.Work != 0 || s.Every != 0 {
				return bad(fmt.Sprintf("scenario %q: handler, cycles, work and every do not apply to %s", s.Name, s.Scenario), "scenarios", i)
			}
		}
		for j, v := range s.Variants {
			if !hasVariant(f.Variants, v) {
				return bad(fmt.Sprintf("scenario %q: unknown variant %q", s.Name, v), "scenarios", i, "variants", j)
			}
		}
		for j, b := range s.Boards {
			if !hasBoard(f.Boards, b) {
				return bad(fmt.Sprintf("scenario %q: unknown board %q", s.Name, b), "scenarios", i, "boards", j)
			}
		}
	}
	// Real boards run images built from firmware/variants/<name>.defaults:
	// a variant without such a file would fail only after a build.
	for _, b := range f.Boards {
		if b.Port == "" || (b.Flash != nil && !*b.Flash) {
			continue
		}
		for i, v := range f.Variants {
			if !slices.Contains(idf.Variants(), v.Name) {
				return bad(fmt.Sprintf("variant %q: board %q is built and flashed, but the firmware has no variants/%s.defaults (it has %s)",
					v.Name, b.Name, v.Name, strings.Join(idf.Variants(), ", ")), "variants", i, "name")
			}
		}
	}
	switch f.Peer.Key {
	case "":
		f.Peer.Key = "ecdsa-p256"
	case "ecdsa-p256", "rsa-2048":
	default:
		return bad(fmt.Sprintf("peer.key %q: want ecdsa-p256 or rsa-2048", f.Peer.Key), "peer", "key")
	}
	if (f.Peer.WSURL == "") != (f.Peer.HTTPSURL == "") {
		return bad("peer: give both ws_url and https_url to use an external peer, or neither", "peer")
	}
	return nil
}

func hasVariant(vs []Variant, name string) bool {
	for _, v := range vs {
		if v.Name == name {
			return true
		}
	}
	return false
}

func hasBoard(bs []Board, name string) bool {
	for _, b := range bs {
		if b.Name == name {
			return true
		}
	}
	return false
}
