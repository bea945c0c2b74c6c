package idf

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// This file reads just enough of ESP-IDF's Kconfig language to tell, for a
// given sdkconfig, whether a symbol exists and whether its dependencies hold:
// config/menuconfig entries with their type, prompt (and prompt condition),
// depends on, select, range; if/endif blocks; menus with depends on and
// visible if; choice/endchoice; comment; source, rsource, osource, orsource
// with $VAR, ${VAR} and $(VAR) taken from config.env. Defaults are not
// evaluated: the values come from the sdkconfig that kconfgen wrote, and this
// code only explains them.

// kSymbol is one Kconfig symbol and every place that defines it.
type kSymbol struct {
	name      string
	typ       string // bool, tristate, int, hex, string, float; "" if no definition gave one
	defs      []*kDef
	selectors []kSelect // entries that `select` this symbol
}

// kDef is one definition (config or menuconfig entry) of a symbol.
type kDef struct {
	pos       string // file:line of the config line
	deps      kExpr  // depends on, if blocks, menu depends on, choice depends on; nil = always
	hasPrompt bool
	promptIf  kExpr // prompt `if` AND menu `visible if`s; nil = always
	choice    *kChoice
	ranges    []kRange
}

// kSelect is "select <target> [if cond]" in the entry of symbol from.
type kSelect struct {
	from string
	cond kExpr
}

type kRange struct {
	lo, hi string
	cond   kExpr
}

// kChoice is a choice block; its members are bool symbols of which one is y.
type kChoice struct {
	name    string // "" for an anonymous choice
	pos     string
	deps    kExpr
	members []string
}

// kTree is every symbol of a parsed Kconfig tree.
type kTree struct {
	syms  map[string]*kSymbol
	files []string // every file read, in order
}

func (t *kTree) sym(name string) *kSymbol {
	s := t.syms[name]
	if s == nil {
		s = &kSymbol{name: name}
		t.syms[name] = s
	}
	return s
}

// kconfigParser reads Kconfig files into a kTree.
type kconfigParser struct {
	tree *kTree
	env  map[string]string
	// lists replaces `source "$VAR"` by the files of a list: ESP-IDF's root
	// Kconfig sources $COMPONENT_KCONFIGS_SOURCE_FILE, a file of source lines
	// that prepare_kconfig_files.py writes from COMPONENT_KCONFIGS.
	lists map[string][]string
	depth int
}

// frame is an open block: menu, if, or choice.
type frame struct {
	kind    string // "menu", "if", "choice"
	deps    kExpr  // conditions the block adds to its entries' dependencies
	visible kExpr  // menu: visible if
	choice  *kChoice
	pos     string
}

var envRef = regexp.MustCompile(`\$\(([A-Za-z0-9_]+)\)|\$\{([A-Za-z0-9_]+)\}|\$([A-Za-z0-9_]+)`)

func (p *kconfigParser) expand(s string) string {
	return envRef.ReplaceAllStringFunc(s, func(m string) string {
		sub := envRef.FindStringSubmatch(m)
		name := sub[1] + sub[2] + sub[3]
		if v, ok := p.env[name]; ok {
			return v
		}
		return os.Getenv(name)
	})
}

// logicalLines reads a file, joining lines continued with a backslash. Each
// line keeps the number of its first physical line.
type kLine struct {
	n    int
	text string
}

func readLogicalLines(path string) ([]kLine, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []kLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var cur strings.Builder
	start := 0
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`))
			cur.WriteByte(' ')
			continue
		}
		cur.WriteString(line)
		out = append(out, kLine{start, cur.String()})
		cur.Reset()
	}
	if cur.Len() > 0 {
		out = append(out, kLine{start, cur.String()})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

func indentOf(s string) int {
	n := 0
	for _, c := range s {
		switch c {
		case ' ':
			n++
		case '\t':
			n = (n/8 + 1) * 8
		default:
			return n
		}
	}
	return n
}

// stripComment removes a # comment outside double quotes.
func stripComment(s string) string {
	inq := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if inq {
				i++
			}
		case '"':
			inq = !inq
		case '#':
			if !inq {
				return s[:i]
			}
		}
	}
	return s
}

// parseFile reads one Kconfig file; stack is the enclosing open blocks,
// which a sourced file continues (a file may not close them, though).
func (p *kconfigParser) parseFile(path string, stack []*frame) error {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > 64 {
		return fmt.Errorf("%s: source nesting deeper than 64", path)
	}
	lines, err := readLogicalLines(path)
	if err != nil {
		return err
	}
	p.tree.files = append(p.tree.files, path)
	base := len(stack)
	var (
		entry     *kDef   // open config entry
		entryName string  // its symbol
		entryDeps []kExpr // its own depends on
		promptIf  kExpr   // its prompt condition
		menu      *frame  // a menu whose attributes (depends on, visible if) may follow
		choice    *frame  // a choice whose attributes may follow
		choiceDep []kExpr
	)
	ctxDeps := func() kExpr {
		var e kExpr
		for _, f := range stack {
			e = kAnd(e, f.deps)
		}
		return e
	}
	ctxVisible := func() kExpr {
		var e kExpr
		for _, f := range stack {
			e = kAnd(e, f.visible)
		}
		return e
	}
	inChoice := func() *kChoice {
		if len(stack) > 0 && stack[len(stack)-1].kind == "choice" {
			return stack[len(stack)-1].choice
		}
		return nil
	}
	finish := func() {
		if entry != nil {
			d := ctxDeps()
			for _, e := range entryDeps {
				d = kAnd(d, e)
			}
			entry.deps = d
			if entry.hasPrompt {
				entry.promptIf = kAnd(promptIf, ctxVisible())
			}
			if c := inChoice(); c != nil {
				entry.choice = c
				c.members = append(c.members, entryName)
			}
			p.tree.sym(entryName).defs = append(p.tree.sym(entryName).defs, entry)
		}
		if choice != nil {
			for _, e := range choiceDep {
				choice.deps = kAnd(choice.deps, e)
				choice.choice.deps = kAnd(choice.choice.deps, e)
			}
		}
		entry, entryDeps, promptIf, menu, choice, choiceDep = nil, nil, nil, nil, nil, nil
	}
	where := func(n int) string { return fmt.Sprintf("%s:%d", path, n) }
	for i := 0; i < len(lines); i++ {
		ln := lines[i]
		text := strings.TrimSpace(stripComment(ln.text))
		if text == "" {
			continue
		}
		// The keyword is the leading word: "if(X)" is "if" and "(X)".
		k := 0
		for k < len(text) && (text[k] == '_' || text[k] == '-' || text[k] >= 'a' && text[k] <= 'z' ||
			text[k] >= 'A' && text[k] <= 'Z' || text[k] >= '0' && text[k] <= '9') {
			k++
		}
		kw, rest := text[:k], strings.TrimSpace(text[k:])
		switch kw {
		case "help", "---help---":
			// The help text is every following line indented deeper than
			// its first line's indentation, blank lines included.
			helpIndent := -1
			for i+1 < len(lines) {
				next := lines[i+1].text
				if strings.TrimSpace(next) == "" {
					i++
					continue
				}
				ind := indentOf(next)
				if helpIndent < 0 {
					if ind <= indentOf(ln.text) {
						break
					}
					helpIndent = ind
				}
				if ind < helpIndent {
					break
				}
				i++
			}
			continue
		case "mainmenu":
			continue
		case "config", "menuconfig":
			finish()
			name := strings.TrimSpace(rest)
			if name == "" {
				return fmt.Errorf("%s: %s without a name", where(ln.n), kw)
			}
			entry = &kDef{pos: where(ln.n)}
			entryName = name
			continue
		case "menu":
			finish()
			f := &frame{kind: "menu", pos: where(ln.n)}
			stack = append(stack, f)
			menu = f
			continue
		case "endmenu", "endif", "endchoice":
			finish()
			want := map[string]string{"endmenu": "menu", "endif": "if", "endchoice": "choice"}[kw]
			if len(stack) <= base || stack[len(stack)-1].kind != want {
				return fmt.Errorf("%s: %s without %s", where(ln.n), kw, want)
			}
			stack = stack[:len(stack)-1]
			continue
		case "if":
			finish()
			e, err := parseKExpr(p.expand(rest))
			if err != nil {
				return fmt.Errorf("%s: if: %w", where(ln.n), err)
			}
			stack = append(stack, &frame{kind: "if", deps: e, pos: where(ln.n)})
			continue
		case "choice":
			finish()
			c := &kChoice{name: strings.TrimSpace(rest), pos: where(ln.n)}
			f := &frame{kind: "choice", choice: c, pos: where(ln.n)}
			stack = append(stack, f)
			choice = f
			continue
		case "comment":
			finish()
			continue
		case "source", "rsource", "osource", "orsource":
			finish()
			if err := p.source(kw, rest, path, where(ln.n), stack); err != nil {
				return err
			}
			continue
		}
		// Attributes of the open entry, menu or choice.
		switch {
		case entry != nil:
			if err := p.attribute(entry, entryName, kw, rest, &entryDeps, &promptIf); err != nil {
				return fmt.Errorf("%s: %w", where(ln.n), err)
			}
		case menu != nil:
			switch kw {
			case "depends":
				e, err := parseKExpr(p.expand(strings.TrimPrefix(rest, "on ")))
				if err != nil {
					return fmt.Errorf("%s: depends on: %w", where(ln.n), err)
				}
				menu.deps = kAnd(menu.deps, e)
			case "visible":
				e, err := parseKExpr(p.expand(strings.TrimPrefix(rest, "if ")))
				if err != nil {
					return fmt.Errorf("%s: visible if: %w", where(ln.n), err)
				}
				menu.visible = kAnd(menu.visible, e)
			}
		case choice != nil:
			if kw == "depends" {
				e, err := parseKExpr(p.expand(strings.TrimPrefix(rest, "on ")))
				if err != nil {
					return fmt.Errorf("%s: depends on: %w", where(ln.n), err)
				}
				choiceDep = append(choiceDep, e)
			}
			// prompt, default, bool, optional: not needed here.
		}
	}
	finish()
	if len(stack) > base {
		f := stack[len(stack)-1]
		return fmt.Errorf("%s: %s opened at %s is not closed in this file", path, f.kind, f.pos)
	}
	return nil
}

var typeWords = map[string]bool{"bool": true, "tristate": true, "int": true, "hex": true, "string": true, "float": true}

// attribute applies one attribute line to a config entry.
func (p *kconfigParser) attribute(d *kDef, name, kw, rest string, deps *[]kExpr, promptIf *kExpr) error {
	s := p.tree.sym(name)
	// A prompt is a quoted string, optionally followed by "if <expr>".
	prompt := func(r string) error {
		if !strings.HasPrefix(r, `"`) {
			return nil
		}
		end := closingQuote(r)
		if end < 0 {
			return fmt.Errorf("unterminated prompt %q", r)
		}
		d.hasPrompt = true
		after := strings.TrimSpace(r[end+1:])
		if c, ok := strings.CutPrefix(after, "if "); ok {
			e, err := parseKExpr(p.expand(c))
			if err != nil {
				return fmt.Errorf("prompt condition: %w", err)
			}
			*promptIf = e
		}
		return nil
	}
	switch {
	case typeWords[kw]:
		if s.typ == "" {
			s.typ = kw
		}
		return prompt(rest)
	case strings.HasPrefix(kw, "def_") && typeWords[strings.TrimPrefix(kw, "def_")]:
		if s.typ == "" {
			s.typ = strings.TrimPrefix(kw, "def_")
		}
	case kw == "prompt":
		return prompt(rest)
	case kw == "depends":
		e, err := parseKExpr(p.expand(strings.TrimPrefix(rest, "on ")))
		if err != nil {
			return fmt.Errorf("depends on: %w", err)
		}
		*deps = append(*deps, e)
	case kw == "select" || kw == "imply":
		if kw == "imply" {
			return nil // a weak select: the user value wins
		}
		target, cond, _ := strings.Cut(rest, " if ")
		var c kExpr
		if cond != "" {
			e, err := parseKExpr(p.expand(cond))
			if err != nil {
				return fmt.Errorf("select condition: %w", err)
			}
			c = e
		}
		t := p.tree.sym(strings.TrimSpace(target))
		t.selectors = append(t.selectors, kSelect{from: name, cond: c})
	case kw == "range":
		r, cond, _ := strings.Cut(rest, " if ")
		f := strings.Fields(r)
		if len(f) != 2 {
			return fmt.Errorf("range %q: want two bounds", rest)
		}
		var c kExpr
		if cond != "" {
			e, err := parseKExpr(p.expand(cond))
			if err != nil {
				return fmt.Errorf("range condition: %w", err)
			}
			c = e
		}
		d.ranges = append(d.ranges, kRange{lo: f[0], hi: f[1], cond: c})
	}
	// default, option, visible, optional, modules, ...: not needed.
	return nil
}

func closingQuote(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

func (p *kconfigParser) source(kw, rest, from, where string, stack []*frame) error {
	arg := strings.TrimSpace(rest)
	if strings.HasPrefix(arg, `"`) {
		end := closingQuote(arg)
		if end < 0 {
			return fmt.Errorf("%s: unterminated %s path", where, kw)
		}
		arg = arg[1:end]
	}
	if m := regexp.MustCompile(`^\$\{?\(?([A-Za-z0-9_]+)\)?\}?$`).FindStringSubmatch(arg); m != nil {
		if files, ok := p.lists[m[1]]; ok {
			for _, f := range files {
				if err := p.parseFile(f, stack); err != nil {
					return err
				}
			}
			return nil
		}
	}
	path := p.expand(arg)
	if kw == "rsource" || kw == "orsource" {
		path = filepath.Join(filepath.Dir(from), path)
	} else if !filepath.IsAbs(path) {
		// Relative to the directory kconfgen runs in; ESP-IDF uses absolute
		// paths ($IDF_PATH/...) for plain source.
		if idf := p.env["IDF_PATH"]; idf != "" {
			path = filepath.Join(idf, path)
		}
	}
	optional := kw == "osource" || kw == "orsource"
	matches, err := filepath.Glob(path)
	if err != nil || len(matches) == 0 {
		if optional {
			return nil
		}
		return fmt.Errorf("%s: %s %q: file not found (%s)", where, kw, arg, path)
	}
	for _, m := range matches {
		if err := p.parseFile(m, stack); err != nil {
			return err
		}
	}
	return nil
}

// ---- expressions ----

// kExpr is a Kconfig expression: kSymRef, kNot, kBin ("&&", "||") or kCmp.
type kExpr interface{ String() string }

type kSymRef struct{ name string } // a symbol, or a constant: y, n, m, a number, a "string"
type kNot struct{ x kExpr }
type kBin struct {
	op   string
	a, b kExpr
}
type kCmp struct {
	op   string
	a, b kExpr
}

func (e kSymRef) String() string { return e.name }
func (e kNot) String() string {
	if _, ok := e.x.(kSymRef); ok {
		return "!" + e.x.String()
	}
	return "!(" + e.x.String() + ")"
}
func (e kBin) String() string {
	wrap := func(x kExpr) string {
		if b, ok := x.(kBin); ok && b.op != e.op {
			return "(" + x.String() + ")"
		}
		return x.String()
	}
	return wrap(e.a) + " " + e.op + " " + wrap(e.b)
}
func (e kCmp) String() string { return e.a.String() + " " + e.op + " " + e.b.String() }

func kAnd(a, b kExpr) kExpr {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return kBin{"&&", a, b}
}

func tokenizeKExpr(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '"' || c == '\'':
			j := i + 1
			for j < len(s) && s[j] != c {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated string in %q", s)
			}
			toks = append(toks, `"`+s[i+1:j]+`"`)
			i = j + 1
		case strings.HasPrefix(s[i:], "&&"), strings.HasPrefix(s[i:], "||"), strings.HasPrefix(s[i:], "!="),
			strings.HasPrefix(s[i:], "<="), strings.HasPrefix(s[i:], ">="):
			toks = append(toks, s[i:i+2])
			i += 2
		case strings.ContainsRune("!()=<>", rune(c)):
			toks = append(toks, string(c))
			i++
		default:
			j := i
			for j < len(s) && (s[j] == '_' || s[j] == '-' || s[j] == '.' || s[j] >= '0' && s[j] <= '9' ||
				s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z') {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("unexpected %q in %q", c, s)
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks, nil
}

// parseKExpr parses "A && (B || !C) && D = "x"" (Kconfig precedence: || below
// && below ! below comparisons).
func parseKExpr(s string) (kExpr, error) {
	toks, err := tokenizeKExpr(strings.TrimSpace(s))
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("empty expression")
	}
	ep := &exprParser{toks: toks}
	e, err := ep.or()
	if err != nil {
		return nil, err
	}
	if ep.i != len(toks) {
		return nil, fmt.Errorf("unexpected %q in %q", toks[ep.i], s)
	}
	return e, nil
}

type exprParser struct {
	toks []string
	i    int
}

func (p *exprParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *exprParser) or() (kExpr, error) {
	a, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.peek() == "||" {
		p.i++
		b, err := p.and()
		if err != nil {
			return nil, err
		}
		a = kBin{"||", a, b}
	}
	return a, nil
}

func (p *exprParser) and() (kExpr, error) {
	a, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.peek() == "&&" {
		p.i++
		b, err := p.unary()
		if err != nil {
			return nil, err
		}
		a = kBin{"&&", a, b}
	}
	return a, nil
}

func (p *exprParser) unary() (kExpr, error) {
	switch p.peek() {
	case "!":
		p.i++
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return kNot{x}, nil
	case "(":
		p.i++
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("missing )")
		}
		p.i++
		return x, nil
	}
	a, err := p.atom()
	if err != nil {
		return nil, err
	}
	switch op := p.peek(); op {
	case "=", "!=", "<", ">", "<=", ">=":
		p.i++
		b, err := p.atom()
		if err != nil {
			return nil, err
		}
		return kCmp{op, a, b}, nil
	}
	return a, nil
}

func (p *exprParser) atom() (kExpr, error) {
	t := p.peek()
	if t == "" || strings.ContainsAny(t[:1], "()!=<>&|") {
		return nil, fmt.Errorf("expected a symbol, got %q", t)
	}
	p.i++
	return kSymRef{t}, nil
}

// ---- evaluation against an sdkconfig ----

// kValues is an sdkconfig: symbol name (without CONFIG_) to value, strings
// unquoted; "n" for "# CONFIG_X is not set".
type kValues map[string]string

func isConstant(name string) bool {
	if strings.HasPrefix(name, `"`) {
		return true
	}
	if name == "y" || name == "n" || name == "m" {
		return true
	}
	_, err := strconv.ParseInt(name, 0, 64)
	return err == nil
}

// value is the string value of a symbol reference.
func (t *kTree) value(e kSymRef, v kValues) string {
	if strings.HasPrefix(e.name, `"`) {
		return strings.Trim(e.name, `"`)
	}
	if isConstant(e.name) {
		return e.name
	}
	s, defined := t.syms[e.name]
	if !defined || len(s.defs) == 0 {
		// kconfiglib treats an undefined name in a comparison as a constant.
		return e.name
	}
	if x, ok := v[e.name]; ok {
		return x
	}
	if s.typ == "bool" || s.typ == "tristate" {
		return "n"
	}
	return ""
}

// truth evaluates e as a bool: 2 = y, 1 = m, 0 = n.
func (t *kTree) truth(e kExpr, v kValues) int {
	switch e := e.(type) {
	case nil:
		return 2
	case kSymRef:
		if strings.HasPrefix(e.name, `"`) {
			return 0
		}
		switch e.name {
		case "y":
			return 2
		case "m":
			return 1
		case "n":
			return 0
		}
		s := t.syms[e.name]
		if s == nil || len(s.defs) == 0 || (s.typ != "bool" && s.typ != "tristate") {
			return 0
		}
		switch v[e.name] {
		case "y":
			return 2
		case "m":
			return 1
		}
		return 0
	case kNot:
		return 2 - t.truth(e.x, v)
	case kBin:
		a, b := t.truth(e.a, v), t.truth(e.b, v)
		if e.op == "&&" {
			return min(a, b)
		}
		return max(a, b)
	case kCmp:
		a, b := t.value(e.a.(kSymRef), v), t.value(e.b.(kSymRef), v)
		c := compareKValues(a, b)
		ok := false
		switch e.op {
		case "=":
			ok = c == 0
		case "!=":
			ok = c != 0
		case "<":
			ok = c < 0
		case ">":
			ok = c > 0
		case "<=":
			ok = c <= 0
		case ">=":
			ok = c >= 0
		}
		if ok {
			return 2
		}
		return 0
	}
	return 0
}

// compareKValues compares numerically when both parse as integers, else as strings.
func compareKValues(a, b string) int {
	x, errA := strconv.ParseInt(a, 0, 64)
	y, errB := strconv.ParseInt(b, 0, 64)
	if errA == nil && errB == nil {
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	}
	return strings.Compare(a, b)
}

// whyFalse names the parts of a false expression that make it false, with
// their values: "SPIRAM=n", "FREERTOS_X is not defined".
func (t *kTree) whyFalse(e kExpr, v kValues, undefined func(string) string) []string {
	if t.truth(e, v) == 2 {
		return nil
	}
	switch e := e.(type) {
	case kSymRef:
		if isConstant(e.name) {
			return []string{e.name}
		}
		if s := t.syms[e.name]; s == nil || len(s.defs) == 0 {
			return []string{undefined(e.name)}
		}
		if s := t.syms[e.name]; s.typ != "bool" && s.typ != "tristate" {
			return []string{e.name + " (a " + s.typ + ") counts as n"}
		}
		if val, ok := v[e.name]; ok && val != "n" {
			return []string{e.name + "=" + val}
		}
		return []string{e.name + " is not set"}
	case kNot:
		return []string{e.x.String() + " is on"}
	case kBin:
		var out []string
		for _, x := range []kExpr{e.a, e.b} {
			if t.truth(x, v) != 2 {
				out = append(out, t.whyFalse(x, v, undefined)...)
			}
		}
		return out
	case kCmp:
		a, b := e.a.(kSymRef), e.b.(kSymRef)
		return []string{fmt.Sprintf("%s is %q", e.String(), t.value(a, v)+" vs "+t.value(b, v))}
	}
	return []string{e.String()}
}

// parseKconfigTree reads a root Kconfig (ESP-IDF's $IDF_PATH/Kconfig) with
// the lists that replace `source "$<list>"`. With root "", the listed files
// are read at the top level instead (a tree without ESP-IDF's root).
func parseKconfigTree(root string, env map[string]string, lists map[string][]string, order []string) (*kTree, error) {
	p := &kconfigParser{tree: &kTree{syms: map[string]*kSymbol{}}, env: env, lists: lists}
	if root != "" {
		if err := p.parseFile(root, nil); err != nil {
			return nil, err
		}
		return p.tree, nil
	}
	for _, name := range order {
		for _, f := range lists[name] {
			if err := p.parseFile(f, nil); err != nil {
				return nil, err
			}
		}
	}
	return p.tree, nil
}
