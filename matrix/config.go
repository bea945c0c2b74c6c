package matrix

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wsbench/wsbench/internal/didyoumean"
	"github.com/wsbench/wsbench/rundir"
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
	// BaselineVariant is the variant every other variant is judged against
	// (default int, or the first variant when there is no int).
	BaselineVariant string     `yaml:"baseline_variant" json:"baseline_variant,omitempty"`
	Thresholds      Thresholds `yaml:"thresholds" json:"thresholds"`
}

// Thresholds flag figures in verdicts.
type Thresholds struct {
	// WSStackHeadroom: a websocket task stack with fewer bytes never used
	// (ws_stack_hwm) is flagged; default 512.
	WSStackHeadroom int `yaml:"ws_stack_headroom" json:"ws_stack_headroom"`
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
	Name     string   `yaml:"name" json:"name"`
	Virtual  string   `yaml:"virtual" json:"virtual,omitempty"` // virtual profile, e.g. esp32s3-n8r8
	Count    int      `yaml:"count" json:"count,omitempty"`     // virtual boards of this profile run in parallel
	Port     string   `yaml:"port" json:"port,omitempty"`       // /dev/ttyUSB0, auto, rfc2217://host:port
	Baud     int      `yaml:"baud" json:"baud,omitempty"`
	Target   string   `yaml:"target" json:"target,omitempty"`       // esp32s3 or esp32, for hardware builds
	QEMU     string   `yaml:"qemu" json:"qemu,omitempty"`           // chip emulated in Espressif's QEMU: esp32s3 or esp32 (matrix/qemu.go)
	PSRAM    string   `yaml:"psram" json:"psram,omitempty"`         // qemu: emulated PSRAM, e.g. 8MB
	QEMUArgs []string `yaml:"qemu_args" json:"qemu_args,omitempty"` // qemu: extra qemu-system-xtensa arguments, appended last
	Flash    *bool    `yaml:"flash" json:"flash,omitempty"`         // hardware: build and flash each variant (default true)
	Realtime bool     `yaml:"realtime" json:"realtime,omitempty"`
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
	// Trusted are the boards' addresses (IPs, CIDR prefixes, "loopback"):
	// they keep a reserve of the peer's connection slots and are not held
	// to the per-address limits (docs/limits.md). Virtual boards' addresses
	// are added by wsbench run.
	Trusted  []string `yaml:"trusted" json:"trusted,omitempty"`
	WSURL    string   `yaml:"ws_url" json:"ws_url,omitempty"` // use an external peer instead of starting one
	HTTPSURL string   `yaml:"https_url" json:"https_url,omitempty"`
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

// Limits of a matrix file (see docs/limits.md). Each is checked before the
// work it bounds: the size before parsing, list lengths before checking
// entries, the cell count before expanding the matrix.
const (
	// MaxMatrixBytes is the largest matrix file. The default matrix is
	// about 2 KB; the largest example under 4 KB.
	MaxMatrixBytes = 1 << 20
	// MaxListLen is the longest list in a matrix (boards, variants,
	// scenarios, and a scenario's n, variants and boards).
	MaxListLen = 1024
	// MaxCells is the most cells one matrix expands to. The default matrix
	// has 90; 20,000 cells of the shortest real-board cell (a reboot, a
	// Wi-Fi join and a 10 s window) keep one board busy for days.
	MaxCells = 20000
	// maxErrors is how many problems one Parse reports.
	maxErrors = 20
)

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

// ParseErrors is every problem Parse found in a matrix file (at most 20),
// in the order of the file's lines. errors.As finds the first as a
// *ParseError.
type ParseErrors []*ParseError

func (es ParseErrors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// As lets errors.As find the first problem as a *ParseError.
func (es ParseErrors) As(target any) bool {
	if p, ok := target.(**ParseError); ok && len(es) > 0 {
		*p = es[0]
		return true
	}
	return false
}

func (es *ParseErrors) add(e *ParseError) {
	for _, o := range *es {
		if o.Line == e.Line && o.Msg == e.Msg {
			return
		}
	}
	switch {
	case len(*es) < maxErrors:
		*es = append(*es, e)
	case len(*es) == maxErrors:
		*es = append(*es, &ParseError{e.File, 0, "too many problems; fix these first"})
	}
}

// err returns nil, the one problem, or all of them sorted by line.
func (es ParseErrors) err() error {
	switch len(es) {
	case 0:
		return nil
	case 1:
		return es[0]
	}
	slices.SortStableFunc(es, func(a, b *ParseError) int {
		return a.Line - b.Line
	})
	return es
}

// Load reads and checks a matrix file. A file over MaxMatrixBytes is
// rejected before it is read.
func Load(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read matrix: %w", err)
	}
	defer fh.Close()
	if fi, err := fh.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > MaxMatrixBytes {
		return nil, &ParseError{path, 0, fmt.Sprintf("the file is %d bytes: a matrix file may have at most %d (see docs/limits.md)", fi.Size(), MaxMatrixBytes)}
	}
	b, err := io.ReadAll(io.LimitReader(fh, MaxMatrixBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read matrix: %w", err)
	}
	return Parse(path, b)
}

var (
	lineRe    = regexp.MustCompile(`^(?:yaml: )?(?:unmarshal errors:\n\s*)?line (\d+): (.*)$`)
	unknownRe = regexp.MustCompile(`^field (\S+) not found in type matrix\.(\w+)$`)
)

// yamlErrors turns a yaml.v3 error into ParseErrors with lines, in the
// matrix file's words: YAML field names, never Go type names.
func yamlErrors(name string, err error, errs *ParseErrors) {
	msgs := []string{err.Error()}
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msgs = te.Errors
	}
	for _, msg := range msgs {
		m := lineRe.FindStringSubmatch(msg)
		if m == nil {
			errs.add(&ParseError{name, 0, msg})
			continue
		}
		line, _ := strconv.Atoi(m[1])
		text := m[2]
		if u := unknownRe.FindStringSubmatch(text); u != nil {
			text = fmt.Sprintf("unknown field %q", u[1])
			if s := suggest(u[1], yamlFields(u[2])); s != "" {
				text += fmt.Sprintf(" (did you mean %q?)", s)
			}
		} else {
			text = strings.ReplaceAll(text, "in type matrix.", "in ")
		}
		errs.add(&ParseError{name, line, text})
	}
}

// Parse parses and checks matrix file content; name appears in errors. It
// reports every problem it finds (up to 20), each with its line.
func Parse(name string, b []byte) (*File, error) {
	if len(b) > MaxMatrixBytes {
		return nil, &ParseError{name, 0, fmt.Sprintf("the file is %d bytes or more: a matrix file may have at most %d (see docs/limits.md)", len(b), MaxMatrixBytes)}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		var errs ParseErrors
		yamlErrors(name, err, &errs)
		return nil, errs.err()
	}
	if root.Kind == 0 || root.Kind == yaml.DocumentNode && len(root.Content) == 0 {
		return nil, &ParseError{name, 0, "the file is empty: a matrix names boards, variants and scenarios (see wsbench run --print-default)"}
	}
	var errs ParseErrors
	checkBools(name, &root, reflect.TypeFor[File](), "", &errs)
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &ParseError{name, 0, "the file is empty: a matrix names boards, variants and scenarios (see wsbench run --print-default)"}
		}
		yamlErrors(name, err, &errs)
	}
	if len(errs) > 0 {
		// The values decoded so far may be partial: checking them would
		// report follow-on problems of these ones.
		return nil, errs.err()
	}
	if err := f.check(name, &root); err != nil {
		return nil, err
	}
	return &f, nil
}

// yamlFields lists the YAML keys of matrix type typ (a Go type name from a
// yaml.v3 message).
func yamlFields(typ string) []string {
	var t reflect.Type
	switch typ {
	case "File":
		t = reflect.TypeFor[File]()
	case "Component":
		t = reflect.TypeFor[Component]()
	case "Board":
		t = reflect.TypeFor[Board]()
	case "Variant":
		t = reflect.TypeFor[Variant]()
	case "Scenario":
		t = reflect.TypeFor[Scenario]()
	case "Peer":
		t = reflect.TypeFor[Peer]()
	default:
		return nil
	}
	var keys []string
	for i := range t.NumField() {
		if k := yamlKey(t.Field(i)); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

func yamlKey(f reflect.StructField) string {
	k, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if k == "-" || !f.IsExported() {
		return ""
	}
	if k == "" {
		return strings.ToLower(f.Name)
	}
	return k
}

// suggest returns the key of keys nearest to s when it is close enough to
// be a typo (edit distance at most 2, or 3 for long keys), else "".
func suggest(s string, keys []string) string {
	limit := 2
	if len(s) > 10 {
		limit = 3
	}
	return didyoumean.Closest(s, keys, limit)
}

// checkBools walks the YAML tree beside Go type t and rejects a bool field
// whose value YAML 1.2 does not read as a boolean: yaml.v3 takes "yes",
// "on", "y" for true in a bool field for YAML 1.1's sake, which makes
// "stack_in_ext_ram: yes" work but "stack_in_ext_ram: 'no'" ambiguous to
// every other tool. A matrix writes true or false.
func checkBools(name string, n *yaml.Node, t reflect.Type, field string, errs *ParseErrors) {
	if n == nil {
		return
	}
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) > 0 {
			checkBools(name, n.Content[0], t, field, errs)
		}
	case yaml.MappingNode:
		if t.Kind() != reflect.Struct {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			for j := range t.NumField() {
				if yamlKey(t.Field(j)) == key {
					sub := key
					if field != "" {
						sub = field + "." + key
					}
					checkBools(name, n.Content[i+1], t.Field(j).Type, sub, errs)
					break
				}
			}
		}
	case yaml.SequenceNode:
		if t.Kind() != reflect.Slice {
			return
		}
		for i, c := range n.Content {
			checkBools(name, c, t.Elem(), fmt.Sprintf("%s[%d]", field, i), errs)
		}
	case yaml.ScalarNode:
		if t.Kind() == reflect.Bool && n.ShortTag() != "!!bool" {
			errs.add(&ParseError{name, n.Line, fmt.Sprintf("%s: %s is not a boolean: write true or false", field, quoteValue(n.Value))})
		}
	}
}

// quoteValue quotes a value from the file for an error, cut to 64 bytes.
func quoteValue(s string) string {
	if len(s) > 64 {
		return fmt.Sprintf("%q...", s[:64])
	}
	return fmt.Sprintf("%q", s)
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

// check applies defaults and rejects impossible values.
func (f *File) check(name string, root *yaml.Node) error {
	var errs ParseErrors
	bad := func(msg string, path ...any) {
		errs.add(&ParseError{name, lineOf(root, path...), msg})
	}
	if f.Name != "" {
		if err := rundir.CheckName("name", f.Name, rundir.MaxNameLen); err != nil {
			bad(err.Error(), "name")
		}
	}
	for _, l := range []struct {
		key string
		n   int
	}{{"boards", len(f.Boards)}, {"variants", len(f.Variants)}, {"scenarios", len(f.Scenarios)}} {
		if l.n > MaxListLen {
			bad(fmt.Sprintf("%s: %d entries: at most %d (see docs/limits.md)", l.key, l.n, MaxListLen), l.key)
		}
	}
	if len(errs) > 0 {
		return errs.err()
	}
	if f.Repetitions == 0 {
		f.Repetitions = 3
	}
	if f.Repetitions < 1 || f.Repetitions > 1000 {
		bad(fmt.Sprintf("repetitions: %d is out of range 1..1000", f.Repetitions), "repetitions")
	}
	if f.SamplePeriod == 0 {
		f.SamplePeriod = Duration(100 * time.Millisecond)
	}
	if f.SamplePeriod.D() < time.Millisecond || f.SamplePeriod.D() > time.Minute {
		bad(fmt.Sprintf("sample_period: %s is out of range 1ms..1m", f.SamplePeriod.D()), "sample_period")
	}
	if f.DetailEvery == 0 {
		f.DetailEvery = 10
	}
	if f.DetailEvery < 0 || f.DetailEvery > 65535 {
		bad(fmt.Sprintf("detail_every: %d is out of range 0..65535", f.DetailEvery), "detail_every")
	}
	if f.CellTimeout < 0 {
		bad("cell_timeout: must not be negative", "cell_timeout")
	}
	switch f.Component.Behaviour {
	case "":
		f.Component.Behaviour = wire.BehaviourFallback
	case wire.BehaviourFallback, wire.BehaviourStrict:
	default:
		bad(fmt.Sprintf("component.behaviour: %q: want %q or %q", f.Component.Behaviour, wire.BehaviourFallback, wire.BehaviourStrict), "component", "behaviour")
	}
	if len(f.Boards) == 0 {
		bad("boards: at least one board is needed", "boards")
	}
	seen := map[string]bool{}
	for i := range f.Boards {
		b := &f.Boards[i]
		if err := rundir.CheckName(fmt.Sprintf("boards[%d].name", i), b.Name, rundir.MaxNameLen); err != nil {
			bad(err.Error(), "boards", i, "name")
		}
		if seen[b.Name] {
			bad(fmt.Sprintf("boards: duplicate name %q", b.Name), "boards", i, "name")
		}
		seen[b.Name] = true
		switch kinds := len(slices.DeleteFunc([]string{b.Virtual, b.Port, b.QEMU}, func(s string) bool { return s == "" })); {
		case kinds > 1:
			bad(fmt.Sprintf("board %q: give one of virtual, port or qemu, not several", b.Name), "boards", i)
		case kinds == 0:
			bad(fmt.Sprintf("board %q: give virtual (a profile), port (a serial port) or qemu (an emulated chip)", b.Name), "boards", i)
		}
		if b.QEMU != "" {
			if msg, key := checkQEMUBoard(b); msg != "" {
				bad(msg, "boards", i, key)
			}
		} else if b.PSRAM != "" || len(b.QEMUArgs) > 0 {
			bad(fmt.Sprintf("board %q: psram and qemu_args apply to qemu boards only", b.Name), "boards", i)
		}
		if b.Virtual != "" {
			if _, err := sim.ProfileByName(b.Virtual); err != nil {
				bad(fmt.Sprintf("board %q: %v", b.Name, err), "boards", i, "virtual")
			}
		}
		if b.Count == 0 {
			b.Count = 1
		}
		if b.Count < 1 || b.Count > 64 {
			bad(fmt.Sprintf("board %q: count %d is out of range 1..64", b.Name, b.Count), "boards", i, "count")
		}
		if b.Port != "" && b.Count != 1 {
			bad(fmt.Sprintf("board %q: count applies to virtual and qemu boards only", b.Name), "boards", i, "count")
		}
		if b.Port != "" {
			switch b.Target {
			case "esp32", "esp32s3":
			case "":
				bad(fmt.Sprintf("board %q: target (esp32 or esp32s3) is required for a hardware board", b.Name), "boards", i)
			default:
				bad(fmt.Sprintf("board %q: target %q: want esp32 or esp32s3", b.Name, b.Target), "boards", i, "target")
			}
		}
		if b.Baud == 0 {
			b.Baud = 115200
		}
		if b.Baud < 300 || b.Baud > 10_000_000 {
			bad(fmt.Sprintf("board %q: baud %d is out of range", b.Name, b.Baud), "boards", i, "baud")
		}
		for k, v := range b.Faults {
			switch k {
			case "leak", "small_stack", "psram_fail":
			default:
				bad(fmt.Sprintf("board %q: unknown fault %q (want leak, small_stack, psram_fail)", b.Name, k), "boards", i, "faults")
			}
			if v < 0 {
				bad(fmt.Sprintf("board %q: fault %s=%d must not be negative", b.Name, k, v), "boards", i, "faults")
			}
		}
		if len(b.Faults) > 0 && b.Virtual == "" {
			bad(fmt.Sprintf("board %q: faults apply to virtual boards only", b.Name), "boards", i, "faults")
		}
	}
	if len(f.Variants) == 0 {
		bad("variants: at least one variant is needed", "variants")
	}
	seen = map[string]bool{}
	for i := range f.Variants {
		v := &f.Variants[i]
		if err := rundir.CheckName(fmt.Sprintf("variants[%d].name", i), v.Name, rundir.MaxNameLen); err != nil {
			bad(err.Error(), "variants", i, "name")
		}
		if seen[v.Name] {
			bad(fmt.Sprintf("variants: duplicate name %q", v.Name), "variants", i, "name")
		}
		seen[v.Name] = true
		switch v.MbedTLSAlloc {
		case "", "internal", "external", "default":
		default:
			bad(fmt.Sprintf("variant %q: mbedtls_alloc %q: want internal, external or default", v.Name, v.MbedTLSAlloc), "variants", i, "mbedtls_alloc")
		}
		if v.TaskStack != 0 && (v.TaskStack < 1024 || v.TaskStack > 65536) {
			bad(fmt.Sprintf("variant %q: task_stack %d is out of range 1024..65536", v.Name, v.TaskStack), "variants", i, "task_stack")
		}
		if v.BufferSize != 0 && (v.BufferSize < 64 || v.BufferSize > 65536) {
			bad(fmt.Sprintf("variant %q: buffer_size %d is out of range 64..65536", v.Name, v.BufferSize), "variants", i, "buffer_size")
		}
		for _, c := range []struct {
			key string
			v   int
		}{{"mbedtls_in_content_len", v.MbedTLSInContentLen}, {"mbedtls_out_content_len", v.MbedTLSOutContentLen}} {
			if c.v != 0 && (c.v < 512 || c.v > 16384) {
				bad(fmt.Sprintf("variant %q: %s %d is out of range 512..16384", v.Name, c.key, c.v), "variants", i, c.key)
			}
		}
	}
	switch {
	case f.BaselineVariant == "" && hasVariant(f.Variants, "int"):
		f.BaselineVariant = "int"
	case f.BaselineVariant == "" && len(f.Variants) > 0:
		f.BaselineVariant = f.Variants[0].Name
	case f.BaselineVariant != "" && !hasVariant(f.Variants, f.BaselineVariant):
		var names []string
		for _, v := range f.Variants {
			names = append(names, v.Name)
		}
		bad(fmt.Sprintf("baseline_variant: %q is not a variant of this matrix (have %s)", f.BaselineVariant, strings.Join(names, ", ")), "baseline_variant")
	}
	if f.Thresholds.WSStackHeadroom == 0 {
		f.Thresholds.WSStackHeadroom = 512
	}
	if f.Thresholds.WSStackHeadroom < 0 || f.Thresholds.WSStackHeadroom > 65536 {
		bad(fmt.Sprintf("thresholds.ws_stack_headroom: %d bytes is out of range 1..65536", f.Thresholds.WSStackHeadroom), "thresholds", "ws_stack_headroom")
	}
	if len(f.Scenarios) == 0 {
		bad("scenarios: at least one scenario is needed", "scenarios")
	}
	seen = map[string]bool{}
	for i := range f.Scenarios {
		s := &f.Scenarios[i]
		tooLong := false
		for _, l := range []struct {
			key string
			n   int
		}{{"n", len(s.N)}, {"variants", len(s.Variants)}, {"boards", len(s.Boards)}} {
			if l.n > MaxListLen {
				bad(fmt.Sprintf("scenarios[%d].%s: %d entries: at most %d (see docs/limits.md)", i, l.key, l.n, MaxListLen), "scenarios", i, l.key)
				tooLong = true
			}
		}
		if tooLong {
			return errs.err()
		}
		if s.Name == "" {
			s.Name = s.Scenario
			if s.Scenario == wire.ScenarioHandler && s.Handler != "" {
				s.Name = s.Scenario + "-" + s.Handler
			}
		}
		if err := rundir.CheckName(fmt.Sprintf("scenarios[%d].name", i), s.Name, rundir.MaxNameLen); err != nil {
			bad(err.Error(), "scenarios", i)
		}
		if seen[s.Name] {
			bad(fmt.Sprintf("scenarios: duplicate name %q", s.Name), "scenarios", i)
		}
		seen[s.Name] = true
		switch s.Scenario {
		case wire.ScenarioSweep, wire.ScenarioChurn, wire.ScenarioHandler:
		default:
			if s.Scenario == "" {
				bad(fmt.Sprintf("scenario %q: no scenario: field: add scenario: sweep, churn or handler", s.Name), "scenarios", i)
			} else if s.Name == s.Scenario {
				bad(fmt.Sprintf("scenarios[%d].scenario: %q: want sweep, churn or handler", i, s.Scenario), "scenarios", i, "scenario")
			} else {
				bad(fmt.Sprintf("scenario %q: scenario %q: want sweep, churn or handler", s.Name, s.Scenario), "scenarios", i, "scenario")
			}
		}
		if s.N != nil && len(s.N) == 0 {
			bad(fmt.Sprintf("scenario %q: n is an empty list (leave it out for the default)", s.Name), "scenarios", i, "n")
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
				bad(fmt.Sprintf("scenario %q: n=%d is out of range 0..%d", s.Name, n, wire.MaxSessions), "scenarios", i, "n", j)
			}
			if dup[n] {
				bad(fmt.Sprintf("scenario %q: n=%d listed twice", s.Name, n), "scenarios", i, "n", j)
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
			bad(fmt.Sprintf("scenario %q: durations must not be negative", s.Name), "scenarios", i)
		}
		for _, d := range []struct {
			key string
			v   Duration
			max time.Duration
		}{{"baseline", s.Baseline, 24 * time.Hour}, {"window", s.Window, 24 * time.Hour}, {"work", s.Work, 10 * time.Minute}, {"every", s.Every, 10 * time.Minute}} {
			if d.v.D() > d.max {
				bad(fmt.Sprintf("scenario %q: %s %s is longer than %s", s.Name, d.key, d.v.D(), d.max), "scenarios", i, d.key)
			}
		}
		if s.Window.D() < f.SamplePeriod.D() {
			bad(fmt.Sprintf("scenario %q: window %s is shorter than sample_period %s", s.Name, s.Window.D(), f.SamplePeriod.D()), "scenarios", i, "window")
		}
		switch s.Scenario {
		case wire.ScenarioChurn:
			if s.Cycles == 0 {
				s.Cycles = 20
			}
			if s.Cycles < 3 || s.Cycles > 100000 {
				bad(fmt.Sprintf("scenario %q: cycles %d is out of range 3..100000 (a leak slope needs at least 3)", s.Name, s.Cycles), "scenarios", i, "cycles")
			}
		case wire.ScenarioHandler:
			if s.Handler == "" {
				s.Handler = wire.HandlerQueued
			}
			if s.Handler != wire.HandlerInline && s.Handler != wire.HandlerQueued {
				bad(fmt.Sprintf("scenario %q: handler %q: want inline or queued", s.Name, s.Handler), "scenarios", i, "handler")
			}
			if s.Work == 0 {
				s.Work = Duration(50 * time.Millisecond)
			}
			if s.Every == 0 {
				s.Every = Duration(100 * time.Millisecond)
			}
		default:
			if s.Handler != "" || s.Cycles != 0 || s.Work != 0 || s.Every != 0 {
				bad(fmt.Sprintf("scenario %q: handler, cycles, work and every do not apply to %s", s.Name, s.Scenario), "scenarios", i)
			}
		}
		for j, v := range s.Variants {
			if !hasVariant(f.Variants, v) {
				bad(fmt.Sprintf("scenario %q: unknown variant %q", s.Name, v), "scenarios", i, "variants", j)
			}
		}
		for j, b := range s.Boards {
			if !hasBoard(f.Boards, b) {
				bad(fmt.Sprintf("scenario %q: unknown board %q", s.Name, b), "scenarios", i, "boards", j)
			}
		}
	}
	// Whether a built board's variants exist in the firmware project is
	// checked by CheckHardware, which knows the project.
	switch f.Peer.Key {
	case "":
		f.Peer.Key = "ecdsa-p256"
	case "ecdsa-p256", "rsa-2048":
	default:
		bad(fmt.Sprintf("peer.key %q: want ecdsa-p256 or rsa-2048", f.Peer.Key), "peer", "key")
	}
	for i, a := range f.Peer.Trusted {
		if a == "loopback" {
			continue
		}
		if _, err := netip.ParsePrefix(a); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(a); err != nil {
			bad(fmt.Sprintf("peer.trusted[%d]: %s: want an IP, a CIDR prefix (192.168.1.0/24) or loopback", i, quoteValue(a)), "peer", "trusted", i)
		}
	}
	if (f.Peer.WSURL == "") != (f.Peer.HTTPSURL == "") {
		bad("peer: give both ws_url and https_url to use an external peer, or neither", "peer")
	}
	if len(errs) == 0 {
		if n := f.countCells(MaxCells); n > MaxCells {
			bad(fmt.Sprintf("the matrix expands to more than %d cells (boards x variants x scenarios x n x repetitions); split it or lower repetitions (see docs/limits.md)", MaxCells))
		}
	}
	return errs.err()
}

// countCells is len(f.Cells()) computed without expanding the matrix; it
// stops counting once the count passes limit.
func (f *File) countCells(limit int) int {
	total := 0
	for _, s := range f.Scenarios {
		nv := len(f.Variants)
		if len(s.Variants) > 0 {
			want := map[string]bool{}
			for _, v := range s.Variants {
				want[v] = true
			}
			nv = 0
			for _, v := range f.Variants {
				if want[v.Name] {
					nv++
				}
			}
		}
		nb := len(f.Boards)
		if len(s.Boards) > 0 {
			want := map[string]bool{}
			for _, b := range s.Boards {
				want[b] = true
			}
			nb = 0
			for _, b := range f.Boards {
				if want[b.Name] {
					nb++
				}
			}
		}
		total += nb * nv * len(s.N) * f.Repetitions
		if total > limit {
			return total
		}
	}
	return total
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
