package idf

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/wsbench/wsbench/internal/termsafe"
	"gopkg.in/yaml.v3"
)

// The configure step of ESP-IDF (kconfgen) applies the SDKCONFIG_DEFAULTS
// layers to the Kconfig tree of the build and writes the sdkconfig. A line
// naming an option that does not exist, or one whose dependencies are off,
// is dropped with at most a warning in the configure log, and the image is
// built without it. CheckSDKConfig compares the generated sdkconfig with
// every line of the layers and explains each one that did not take effect.

// ConfigEnvFile is the file ESP-IDF's configure step writes in the build
// directory for kconfgen (tools/cmake/kconfig.cmake, from
// tools/kconfig_new/config.env.in): a JSON object with COMPONENT_KCONFIGS,
// COMPONENT_KCONFIGS_PROJBUILD and COMPONENT_SDKCONFIG_RENAMES (lists of
// paths separated by ";" since v5.0, by spaces before), IDF_PATH,
// IDF_TARGET and IDF_VERSION, among others.
const ConfigEnvFile = "config.env"

// ComponentUnderTest is the component whose version the check reports.
const ComponentUnderTest = "esp_websocket_client"

// LineProblem is one defaults line that did not take effect.
type LineProblem struct {
	File   string // layer file as given to SDKCONFIG_DEFAULTS (relative to the project, or absolute)
	Line   int
	Text   string // the line, trimmed
	Reason string
}

func (p LineProblem) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", printable(p.File), p.Line, printable(p.Text), printable(p.Reason))
}

// printable escapes what a terminal would interpret: the lines come from
// project files.
func printable(s string) string { return termsafe.String(s) }

// SDKConfigError lists every defaults line that did not take effect.
type SDKConfigError struct {
	SDKConfig string
	IDF       string // "ESP-IDF v5.3.5"
	Component string // "esp_websocket_client 1.8.0 (...)"
	Problems  []LineProblem
}

func (e *SDKConfigError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d line(s) of the sdkconfig defaults did not take effect in %s (%s, %s); the image would not be the variant it claims:",
		len(e.Problems), e.SDKConfig, e.IDF, e.Component)
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// SDKCheck is what CheckSDKConfig needs.
type SDKCheck struct {
	Project   string   // project directory: relative layers are read from here
	Layers    []string // SDKCONFIG_DEFAULTS entries, in order
	Target    string   // IDF target: ESP-IDF also loads <layer>.<target> after each layer
	SDKConfig string   // the generated sdkconfig
	ConfigEnv string   // the build directory's config.env
}

// CheckResult is a passed check: notes about lines that are fine but worth
// saying (an option switched off that this ESP-IDF or component lacks).
type CheckResult struct {
	IDF       string
	Component string
	Notes     []string
}

// request is one defaults line: CONFIG_<name>=<value> or "# CONFIG_<name> is not set".
type request struct {
	file  string
	line  int
	text  string
	name  string
	value string // unquoted; "n" for is-not-set
	order int
}

var (
	setLine   = regexp.MustCompile(`^CONFIG_([A-Za-z0-9_]+)=(.*)$`)
	unsetLine = regexp.MustCompile(`^#\s*CONFIG_([A-Za-z0-9_]+) is not set\s*$`)
)

func unquoteConfig(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		if s, err := strconv.Unquote(v); err == nil {
			return s
		}
		return v[1 : len(v)-1]
	}
	return v
}

// readConfigLines reads sdkconfig-format lines. stopAtDeprecated stops at
// kconfgen's "Deprecated options for backward compatibility" section.
func readConfigLines(path string, stopAtDeprecated bool) ([]request, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []request
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if stopAtDeprecated && strings.HasPrefix(line, "# Deprecated options for backward compatibility") {
			break
		}
		if m := setLine.FindStringSubmatch(line); m != nil {
			out = append(out, request{line: n, text: line, name: m[1], value: unquoteConfig(m[2])})
		} else if m := unsetLine.FindStringSubmatch(line); m != nil {
			out = append(out, request{line: n, text: line, name: m[1], value: "n"})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// rename maps an old option name to its new one; invert for "!CONFIG_NEW".
type rename struct {
	to     string
	invert bool
	file   string
}

func readRenames(paths []string) (map[string]rename, error) {
	out := map[string]rename{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("sdkconfig.rename: %w", err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || line[0] == '#' {
				continue
			}
			f := strings.Fields(line)
			if len(f) != 2 {
				return nil, fmt.Errorf("%s:%d: want \"CONFIG_OLD CONFIG_NEW\", got %q", p, i+1, line)
			}
			old := strings.TrimPrefix(f[0], "CONFIG_")
			to, invert := strings.CutPrefix(f[1], "!")
			out[old] = rename{to: strings.TrimPrefix(to, "CONFIG_"), invert: invert, file: p}
		}
	}
	return out, nil
}

// resolve follows renames (old -> new, possibly in several steps).
func resolveRename(renames map[string]rename, name string) (string, bool, []string) {
	invert := false
	var chain []string
	for range 16 {
		r, ok := renames[name]
		if !ok {
			break
		}
		chain = append(chain, r.file)
		name = r.to
		invert = invert != r.invert
	}
	return name, invert, chain
}

// configEnv is the part of config.env the check reads.
type configEnv struct {
	raw map[string]string
}

func readConfigEnv(path string) (configEnv, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return configEnv{}, err
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return configEnv{}, fmt.Errorf("%s: %w", path, err)
	}
	env := configEnv{raw: map[string]string{}}
	for k, v := range raw {
		if s, ok := v.(string); ok {
			env.raw[k] = s
		}
	}
	for _, k := range []string{"COMPONENT_KCONFIGS", "COMPONENT_KCONFIGS_PROJBUILD"} {
		if _, ok := env.raw[k]; !ok {
			return configEnv{}, fmt.Errorf("%s: no %s (not written by ESP-IDF's configure step?)", path, k)
		}
	}
	return env, nil
}

// list splits a path list: ";" (ESP-IDF v5) or whitespace (older, docs).
func (e configEnv) list(key string) []string {
	v := strings.TrimSpace(e.raw[key])
	if v == "" {
		return nil
	}
	var parts []string
	if strings.Contains(v, ";") {
		parts = strings.Split(v, ";")
	} else {
		parts = strings.Fields(v)
	}
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// idfVersion names the ESP-IDF of a build: config.env's IDF_VERSION, else
// $IDF_PATH/tools/cmake/version.cmake.
func (e configEnv) idfVersion() string {
	if v := e.raw["IDF_VERSION"]; v != "" {
		return "ESP-IDF v" + strings.TrimPrefix(v, "v")
	}
	if idf := e.raw["IDF_PATH"]; idf != "" {
		if b, err := os.ReadFile(filepath.Join(idf, "tools", "cmake", "version.cmake")); err == nil {
			ver := map[string]string{}
			for _, m := range regexp.MustCompile(`set\(IDF_VERSION_(MAJOR|MINOR|PATCH)\s+(\d+)\)`).FindAllStringSubmatch(string(b), -1) {
				ver[m[1]] = m[2]
			}
			if ver["MAJOR"] != "" {
				return fmt.Sprintf("ESP-IDF v%s.%s.%s", ver["MAJOR"], ver["MINOR"], ver["PATCH"])
			}
		}
		return "ESP-IDF at " + idf + " (version unknown)"
	}
	return "ESP-IDF (version unknown)"
}

// componentVersion describes the component under test from the Kconfig list:
// the version in its idf_component.yml, the version the project's
// dependencies.lock resolved (a commit for a git source) and its directory.
func componentVersion(env configEnv, project string) string {
	var dir string
	for _, k := range append(env.list("COMPONENT_KCONFIGS"), env.list("COMPONENT_KCONFIGS_PROJBUILD")...) {
		d := filepath.Dir(k)
		if strings.HasSuffix(filepath.Base(d), ComponentUnderTest) {
			dir = d
			break
		}
	}
	if dir == "" {
		return ComponentUnderTest + " (not in the build, or without a Kconfig)"
	}
	version := "version unknown"
	if b, err := os.ReadFile(filepath.Join(dir, "idf_component.yml")); err == nil {
		var m struct {
			Version string `yaml:"version"`
		}
		if yaml.Unmarshal(b, &m) == nil && m.Version != "" {
			version = m.Version
		}
	}
	desc := ComponentUnderTest + " " + version
	if project != "" {
		if b, err := os.ReadFile(filepath.Join(project, "dependencies.lock")); err == nil {
			var lock struct {
				Dependencies map[string]struct {
					Version string `yaml:"version"`
					Source  struct {
						Type string `yaml:"type"`
						Git  string `yaml:"git"`
					} `yaml:"source"`
				} `yaml:"dependencies"`
			}
			if yaml.Unmarshal(b, &lock) == nil {
				if d, ok := lock.Dependencies["espressif/"+ComponentUnderTest]; ok && d.Source.Type == "git" && d.Version != "" {
					desc += " (git " + d.Source.Git + " at " + d.Version + ")"
				}
			}
		}
	}
	return desc + " from " + dir
}

// CheckSDKConfig checks that every line of the defaults layers took effect in
// the generated sdkconfig. It returns a *SDKConfigError listing the lines that
// did not, with the reason for each.
func CheckSDKConfig(c SDKCheck) (CheckResult, error) {
	env, err := readConfigEnv(c.ConfigEnv)
	if err != nil {
		return CheckResult{}, fmt.Errorf("check sdkconfig: %w", err)
	}
	res := CheckResult{IDF: env.idfVersion(), Component: componentVersion(env, c.Project)}
	lists := map[string][]string{
		"COMPONENT_KCONFIGS_SOURCE_FILE":           env.list("COMPONENT_KCONFIGS"),
		"COMPONENT_KCONFIGS_PROJBUILD_SOURCE_FILE": env.list("COMPONENT_KCONFIGS_PROJBUILD"),
	}
	root := ""
	if idf := env.raw["IDF_PATH"]; idf != "" {
		if p := filepath.Join(idf, "Kconfig"); fileExists(p) {
			root = p
		}
	}
	tree, err := parseKconfigTree(root, env.raw, lists,
		[]string{"COMPONENT_KCONFIGS_SOURCE_FILE", "COMPONENT_KCONFIGS_PROJBUILD_SOURCE_FILE"})
	if err != nil {
		return res, fmt.Errorf("check sdkconfig: read Kconfig: %w", err)
	}
	renameFiles := env.list("COMPONENT_SDKCONFIG_RENAMES")
	if idf := env.raw["IDF_PATH"]; idf != "" {
		if p := filepath.Join(idf, "sdkconfig.rename"); fileExists(p) {
			renameFiles = append([]string{p}, renameFiles...)
		}
	}
	renames, err := readRenames(renameFiles)
	if err != nil {
		return res, fmt.Errorf("check sdkconfig: %w", err)
	}
	have, err := readConfigLines(c.SDKConfig, true)
	if err != nil {
		return res, fmt.Errorf("check sdkconfig: %w", err)
	}
	vals := kValues{}
	for _, r := range have {
		vals[r.name] = r.value
	}

	// The requests in the order kconfgen applies them: each layer, then
	// <layer>.<target> when it exists (tools/cmake/kconfig.cmake).
	var reqs []request
	for _, l := range c.Layers {
		files := []string{l}
		if c.Target != "" && !strings.HasSuffix(l, "."+c.Target) {
			files = append(files, l+"."+c.Target)
		}
		for i, f := range files {
			p := f
			if !filepath.IsAbs(p) {
				p = filepath.Join(c.Project, p)
			}
			rs, err := readConfigLines(p, false)
			if err != nil {
				if i > 0 && errors.Is(err, os.ErrNotExist) {
					continue
				}
				return res, fmt.Errorf("check sdkconfig: defaults layer: %w", err)
			}
			for _, r := range rs {
				r.file = f
				r.order = len(reqs)
				reqs = append(reqs, r)
			}
		}
	}
	// Only the last request for a symbol (after renames) counts; an earlier
	// y for a member of a choice also gives way to a later y for a sibling.
	type target struct {
		name   string
		invert bool
		via    []string
	}
	resolved := make([]target, len(reqs))
	last := map[string]int{}
	for i, r := range reqs {
		n, inv, via := resolveRename(renames, r.name)
		resolved[i] = target{n, inv, via}
		last[n] = i
	}
	choiceOf := func(name string) *kChoice {
		if s := tree.syms[name]; s != nil {
			for _, d := range s.defs {
				if d.choice != nil {
					return d.choice
				}
			}
		}
		return nil
	}
	overridden := func(i int) bool {
		if last[resolved[i].name] != i {
			return true
		}
		want := wantValue(reqs[i].value, resolved[i].invert)
		ch := choiceOf(resolved[i].name)
		if ch == nil || want != "y" {
			return false
		}
		for j := i + 1; j < len(reqs); j++ {
			if resolved[j].name != resolved[i].name && slices.Contains(ch.members, resolved[j].name) &&
				wantValue(reqs[j].value, resolved[j].invert) == "y" {
				return true
			}
		}
		return false
	}
	for i, r := range reqs {
		if overridden(i) {
			continue
		}
		t := resolved[i]
		want := wantValue(r.value, t.invert)
		reason := explainRequest(tree, vals, t.name, want, res)
		if len(t.via) > 0 && reason != "" {
			reason = fmt.Sprintf("(renamed to CONFIG_%s by %s) %s", t.name, t.via[len(t.via)-1], reason)
		}
		switch {
		case reason == "":
		case strings.HasPrefix(reason, noteMark):
			res.Notes = append(res.Notes, printable(fmt.Sprintf("%s:%d: %s: %s", r.file, r.line, r.text, strings.TrimPrefix(reason, noteMark))))
		default:
			if e, ok := err.(*SDKConfigError); ok {
				e.Problems = append(e.Problems, LineProblem{r.file, r.line, r.text, reason})
			} else {
				err = &SDKConfigError{SDKConfig: c.SDKConfig, IDF: res.IDF, Component: res.Component,
					Problems: []LineProblem{{r.file, r.line, r.text, reason}}}
			}
		}
	}
	return res, err
}

const noteMark = "note: "

func wantValue(v string, invert bool) string {
	if !invert {
		return v
	}
	switch v {
	case "y":
		return "n"
	case "n":
		return "y"
	}
	return v
}

// sameValue compares a requested and a generated value of a symbol type.
func sameValue(typ, want, have string) bool {
	switch typ {
	case "bool", "tristate":
		if have == "" {
			have = "n"
		}
		return want == have
	case "int", "hex":
		a, errA := strconv.ParseInt(want, 0, 64)
		b, errB := strconv.ParseInt(have, 0, 64)
		if errA == nil && errB == nil {
			return a == b
		}
	}
	return want == have
}

// explainRequest returns "" when CONFIG_<name> has the value want in vals,
// a note (noteMark prefix) when it is fine but worth saying, else the reason
// it did not take effect.
func explainRequest(tree *kTree, vals kValues, name, want string, res CheckResult) string {
	undefined := func(n string) string {
		return n + " is not defined in " + res.IDF + " or " + shortComponent(res.Component)
	}
	s := tree.syms[name]
	if s == nil || len(s.defs) == 0 {
		if want == "n" {
			return noteMark + fmt.Sprintf("no option CONFIG_%s in %s or %s; it is off, as asked", name, res.IDF, res.Component)
		}
		return fmt.Sprintf("no option CONFIG_%s in any Kconfig of %s or %s", name, res.IDF, res.Component)
	}
	have, present := vals[name]
	if sameValue(s.typ, want, have) && (present || s.typ == "bool" || s.typ == "tristate") {
		return ""
	}
	shown := have
	if !present {
		shown = "absent"
		if s.typ == "bool" || s.typ == "tristate" {
			shown = "n (absent)"
		}
	}
	got := fmt.Sprintf("sdkconfig has %s", shown)
	// Dependencies: every definition's depends on is off.
	var off *kDef
	for _, d := range s.defs {
		if tree.truth(d.deps, vals) == 2 {
			off = nil
			break
		}
		if off == nil {
			off = d
		}
	}
	if off != nil {
		why := tree.whyFalse(off.deps, vals, undefined)
		return fmt.Sprintf("%s: it depends on %s (%s), which is off: %s", got, off.deps, off.pos, strings.Join(why, ", "))
	}
	// Selected by another option that is on.
	if want == "n" {
		var by []string
		for _, sel := range s.selectors {
			if tree.truth(kSymRef{sel.from}, vals) == 2 && tree.truth(sel.cond, vals) == 2 {
				by = append(by, "CONFIG_"+sel.from)
			}
		}
		if len(by) > 0 {
			return fmt.Sprintf("%s: it is selected by %s", got, strings.Join(by, ", "))
		}
	}
	// No prompt, or a hidden one: user values are ignored.
	settable := false
	var hidden *kDef
	for _, d := range s.defs {
		if !d.hasPrompt {
			continue
		}
		if tree.truth(d.promptIf, vals) == 2 {
			settable = true
			break
		}
		hidden = d
	}
	if !settable {
		if hidden != nil {
			return fmt.Sprintf("%s: its prompt is hidden by %s (%s): %s", got, hidden.promptIf, hidden.pos,
				strings.Join(tree.whyFalse(hidden.promptIf, vals, undefined), ", "))
		}
		return fmt.Sprintf("%s: the option has no prompt (%s), so its value comes from its defaults, not from a defaults file", got, s.defs[0].pos)
	}
	// A choice whose dependencies are off, or another member selected.
	for _, d := range s.defs {
		if d.choice == nil {
			continue
		}
		if tree.truth(d.choice.deps, vals) != 2 {
			return fmt.Sprintf("%s: its choice (%s) depends on %s, which is off: %s", got, d.choice.pos, d.choice.deps,
				strings.Join(tree.whyFalse(d.choice.deps, vals, undefined), ", "))
		}
		if want == "y" {
			for _, m := range d.choice.members {
				if m != name && vals[m] == "y" {
					return fmt.Sprintf("%s: CONFIG_%s is selected in its choice (%s) instead", got, m, d.choice.pos)
				}
			}
		}
	}
	// Out of range.
	if s.typ == "int" || s.typ == "hex" {
		for _, d := range s.defs {
			for _, r := range d.ranges {
				if tree.truth(r.cond, vals) != 2 {
					continue
				}
				lo, hi := tree.value(kSymRef{r.lo}, vals), tree.value(kSymRef{r.hi}, vals)
				if compareKValues(want, lo) < 0 || compareKValues(want, hi) > 0 {
					return fmt.Sprintf("%s: %s is outside the option's range %s..%s (%s)", got, want, lo, hi, d.pos)
				}
			}
		}
	}
	return got + " (changed by hand, or by menuconfig, after the defaults were applied? delete the sdkconfig and build again)"
}

// shortComponent is "esp_websocket_client 1.8.0" without the directory.
func shortComponent(desc string) string {
	if i := strings.Index(desc, " from "); i >= 0 {
		return desc[:i]
	}
	return desc
}
