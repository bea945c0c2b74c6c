package console

import (
	"strconv"
	"strings"

	"github.com/wsbench/wsbench/record"
)

// ItemKind says what an Item is.
type ItemKind uint8

// Item kinds, in the order the classifier may produce them for one line:
// records completed by the arrival of the line (a block it ends), Boot when
// the line starts a ROM boot banner, Line for the line itself, then records
// the line completes.
const (
	ItemRecord ItemKind = 1 // a classified record: Type and Body
	ItemBoot   ItemKind = 2 // the line starts a ROM boot banner: a new boot segment begins before it
	ItemLine   ItemKind = 3 // the console line itself
)

// Item is one output of the classifier.
type Item struct {
	Kind   ItemKind
	Type   record.Type // ItemRecord
	Body   any         // ItemRecord: *record.Watchdog, *record.Panic, ...
	Line   *Line       // ItemLine
	Offset int64       // stream offset of the first line the item covers
	HostNS int64       // host time of the last line the item covers
}

// Bounds of the classifier's state.
const (
	// MaxBlockLines is the most lines a watchdog or panic block collects
	// before it is emitted as it stands.
	MaxBlockLines = 64
	// maxNames bounds the starving/running task lists of one watchdog.
	maxNames = 16
	// pairLines is how many lines after a crash a boot banner may come
	// and still be paired with it.
	pairLines = 200
	// bannerLines is how many lines after "ets ..." or "ESP-ROM:..." the
	// "rst:" line may come and still belong to the same banner.
	bannerLines = 8
	// maxField bounds a text field copied from a line (cause, backtrace, task).
	maxField = 512
)

type blockKind uint8

const (
	blockNone blockKind = iota
	blockWatchdog
	blockPanic
)

// Classifier turns console lines into records. The zero value is ready to
// use. Feed it every line of a stream in order.
type Classifier struct {
	block     blockKind
	wd        record.Watchdog
	pn        record.Panic
	blockOff  int64
	blockNS   int64
	blockLen  int
	afterType string // record type of the crash a coming banner pairs with
	afterWhy  string // its class: panic, int_wdt, task_wdt, brownout
	afterAge  int    // lines since the crash
	chip      string // chip named by the current banner's first line
	bannerAge int    // lines since that first line; -1 when none
	lastNS    int64
}

// Pending reports whether a multi-line block is open, and the host time of
// its last line.
func (c *Classifier) Pending() (bool, int64) { return c.block != blockNone, c.blockNS }

// Flush emits an open block as it stands (end of stream, or no line for a
// while).
func (c *Classifier) Flush(emit func(Item)) { c.endBlock(emit) }

// Feed classifies one line at stream offset off, read at host time ns.
func (c *Classifier) Feed(l *Line, off, ns int64, emit func(Item)) {
	c.lastNS = ns
	m := l.Msg
	if l.Level == "" {
		m = strings.TrimLeft(m, " \t")
	}
	if c.afterType != "" {
		c.afterAge++
		if c.afterAge > pairLines {
			c.afterType, c.afterWhy = "", ""
		}
	}
	if c.bannerAge >= 0 && c.chip != "" {
		c.bannerAge++
		if c.bannerAge > bannerLines {
			c.chip, c.bannerAge = "", -1
		}
	}

	// Lines that continue an open block.
	switch c.block {
	case blockWatchdog:
		if c.watchdogLine(l, m) {
			c.blockNS = ns
			c.blockLen++
			emit(Item{Kind: ItemLine, Line: l, Offset: off, HostNS: ns})
			if c.wd.Aborted || c.blockLen >= MaxBlockLines {
				c.endBlock(emit)
			}
			return
		}
		c.endBlock(emit)
	case blockPanic:
		if !isBannerStart(m) && !strings.HasPrefix(m, "rst:0x") && !isGuru(m) && !isAbort(m) && !isWatchdogHeader(m) {
			c.blockNS = ns
			c.blockLen++
			emit(Item{Kind: ItemLine, Line: l, Offset: off, HostNS: ns})
			switch {
			case strings.HasPrefix(m, "Backtrace:"):
				c.pn.Backtrace = clip(strings.TrimSpace(m[len("Backtrace:"):]))
				c.endBlock(emit)
			case strings.HasPrefix(m, "ELF file SHA256") || strings.HasPrefix(m, "Rebooting...") ||
				c.blockLen >= MaxBlockLines:
				c.endBlock(emit)
			}
			return
		}
		c.endBlock(emit)
	}

	// ROM boot banner.
	if chip, ok := bannerChip(m); ok {
		c.chip, c.bannerAge = chip, 0
		emit(Item{Kind: ItemBoot, Offset: off, HostNS: ns})
		emit(Item{Kind: ItemLine, Line: l, Offset: off, HostNS: ns})
		return
	}
	if strings.HasPrefix(m, "rst:0x") {
		if rst, ok := parseRst(m); ok {
			if c.chip == "" {
				emit(Item{Kind: ItemBoot, Offset: off, HostNS: ns})
				rst.Chip = chipFromName(rst.ROMName)
			} else {
				rst.Chip = c.chip
			}
			c.chip, c.bannerAge = "", -1
			if c.afterType != "" && rst.Class != "poweron" {
				rst.After, rst.Class = c.afterType, c.afterWhy
			}
			c.afterType, c.afterWhy = "", ""
			emit(Item{Kind: ItemLine, Line: l, Offset: off, HostNS: ns})
			emit(Item{Kind: ItemRecord, Type: record.TypeReset, Body: rst, Offset: off, HostNS: ns})
			return
		}
	}

	emit(Item{Kind: ItemLine, Line: l, Offset: off, HostNS: ns})

	switch {
	case isWatchdogHeader(m):
		c.block, c.blockOff, c.blockNS, c.blockLen = blockWatchdog, off, ns, 1
		c.wd = record.Watchdog{}
	case isGuru(m):
		c.block, c.blockOff, c.blockNS, c.blockLen = blockPanic, off, ns, 1
		c.pn = parseGuru(m)
	case isAbort(m):
		c.block, c.blockOff, c.blockNS, c.blockLen = blockPanic, off, ns, 1
		c.pn = record.Panic{Cause: "abort()", Core: parseCore(m, " on core ")}
	case strings.HasPrefix(m, "***ERROR*** A stack overflow in task "):
		task := m[len("***ERROR*** A stack overflow in task "):]
		if i := strings.Index(task, " has been detected"); i >= 0 {
			task = task[:i]
		}
		c.setAfter("stack_overflow", "panic")
		emit(Item{Kind: ItemRecord, Type: record.TypeStackOverflow, Body: &record.StackOverflow{Task: clip(task)}, Offset: off, HostNS: ns})
	case strings.Contains(m, "Brownout detector was triggered"):
		c.setAfter("brownout", "brownout")
		emit(Item{Kind: ItemRecord, Type: record.TypeBrownout, Body: &record.Brownout{}, Offset: off, HostNS: ns})
	}
}

// setAfter remembers a crash for pairing with the next banner. A watchdog
// abort or a stack overflow is the root cause of the panic or abort that
// reports it next, so those are not replaced by it.
func (c *Classifier) setAfter(typ, class string) {
	if typ == "panic" && (c.afterType == "watchdog" || c.afterType == "stack_overflow") {
		return
	}
	c.afterType, c.afterWhy, c.afterAge = typ, class, 0
}

// watchdogLine reports whether l continues a task watchdog report, and
// records what it says.
func (c *Classifier) watchdogLine(l *Line, m string) bool {
	if l.Level != "" && l.Tag != "task_wdt" || isWatchdogHeader(m) {
		return false
	}
	t := strings.TrimLeft(m, " \t")
	switch {
	case strings.HasPrefix(t, "- "):
		if len(c.wd.Starving) < maxNames {
			c.wd.Starving = append(c.wd.Starving, clip(strings.TrimSpace(t[2:])))
		}
	case strings.HasPrefix(t, "Tasks currently running"):
	case strings.HasPrefix(t, "CPU ") && strings.Contains(t, ": "):
		if len(c.wd.Running) < maxNames {
			c.wd.Running = append(c.wd.Running, clip(strings.TrimSpace(t)))
		}
	case strings.HasPrefix(t, "Aborting"):
		c.wd.Aborted = true
	case strings.HasPrefix(t, "Print CPU"), strings.HasPrefix(t, "Backtrace:"), t == "":
	default:
		// Any other task_wdt log line belongs to the report too.
		return l.Tag == "task_wdt"
	}
	return true
}

func (c *Classifier) endBlock(emit func(Item)) {
	switch c.block {
	case blockWatchdog:
		wd := c.wd
		c.wd = record.Watchdog{}
		if wd.Aborted {
			c.setAfter("watchdog", "task_wdt")
		}
		emit(Item{Kind: ItemRecord, Type: record.TypeWatchdog, Body: &wd, Offset: c.blockOff, HostNS: c.blockNS})
	case blockPanic:
		pn := c.pn
		c.pn = record.Panic{}
		class := "panic"
		switch {
		case strings.Contains(pn.Cause, "Interrupt wdt"):
			class = "int_wdt"
		case strings.Contains(pn.Cause, "Task watchdog"):
			class = "task_wdt"
		}
		c.setAfter("panic", class)
		emit(Item{Kind: ItemRecord, Type: record.TypePanic, Body: &pn, Offset: c.blockOff, HostNS: c.blockNS})
	}
	c.block, c.blockLen = blockNone, 0
}

func isWatchdogHeader(m string) bool {
	return strings.HasPrefix(m, "Task watchdog got triggered") && strings.Contains(m, "did not reset the watchdog")
}

func isGuru(m string) bool { return strings.HasPrefix(m, "Guru Meditation Error: Core") }

func isAbort(m string) bool { return strings.HasPrefix(m, "abort() was called at PC") }

// parseGuru reads "Guru Meditation Error: Core  N panic'ed (CAUSE). ...".
func parseGuru(m string) record.Panic {
	p := record.Panic{Core: parseCore(m, "Core")}
	if i := strings.Index(m, "panic'ed ("); i >= 0 {
		cause := m[i+len("panic'ed ("):]
		if j := strings.IndexByte(cause, ')'); j >= 0 {
			cause = cause[:j]
		}
		p.Cause = clip(cause)
	}
	return p
}

// parseCore reads the decimal number after the first occurrence of key
// (spaces allowed in between); -1 when there is none.
func parseCore(m, key string) int {
	i := strings.Index(m, key)
	if i < 0 {
		return -1
	}
	s := strings.TrimLeft(m[i+len(key):], " ")
	n := 0
	for n < len(s) && n < 3 && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	v, err := strconv.Atoi(s[:n])
	if err != nil {
		return -1
	}
	return v
}

func isBannerStart(m string) bool {
	_, ok := bannerChip(m)
	return ok
}

// bannerChip recognises the first line of a ROM boot banner: ESP32
// "ets Jun  8 2016 00:22:57", or "ESP-ROM:esp32s3-20210327" on later chips.
func bannerChip(m string) (string, bool) {
	if rest, ok := strings.CutPrefix(m, "ESP-ROM:"); ok {
		chip := rest
		if i := strings.IndexAny(chip, "- "); i >= 0 {
			chip = chip[:i]
		}
		if chip == "" || len(chip) > 16 {
			return "", false
		}
		return chip, true
	}
	// "ets Mmm dd yyyy hh:mm:ss": month, day (space padded), year, time.
	if len(m) < 24 || !strings.HasPrefix(m, "ets ") {
		return "", false
	}
	d := m[4:24]
	if !isUpper(d[0]) || !isLower(d[1]) || !isLower(d[2]) || d[3] != ' ' ||
		!(d[4] == ' ' || isDigit(d[4])) || !isDigit(d[5]) || d[6] != ' ' ||
		!allDigits(d[7:11]) || d[11] != ' ' || !allDigits(d[12:14]) || d[14] != ':' ||
		!allDigits(d[15:17]) || d[17] != ':' || !allDigits(d[18:20]) {
		return "", false
	}
	return "esp32", true
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// parseRst reads "rst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)".
func parseRst(m string) (*record.Reset, bool) {
	s := m[len("rst:0x"):]
	n := 0
	for n < len(s) && n < 2 && strings.IndexByte("0123456789abcdefABCDEF", s[n]) >= 0 {
		n++
	}
	code, err := strconv.ParseUint(s[:n], 16, 8)
	if err != nil {
		return nil, false
	}
	r := &record.Reset{Code: uint8(code)}
	s = strings.TrimLeft(s[n:], " ")
	if strings.HasPrefix(s, "(") {
		if j := strings.IndexByte(s, ')'); j > 0 {
			r.ROMName = clip(s[1:j])
		}
	}
	r.Class = classOf(r.ROMName)
	return r, true
}

// romClasses maps ROM reset names of ESP32 and ESP32-S3 (facts sheet,
// section 4) to reason classes.
var romClasses = map[string]string{
	"POWERON_RESET": "poweron", "SW_RESET": "software", "DEEPSLEEP_RESET": "deepsleep",
	"TG0WDT_SYS_RESET": "other_wdt", "TG1WDT_SYS_RESET": "other_wdt", "RTCWDT_SYS_RESET": "other_wdt",
	"TGWDT_CPU_RESET": "other_wdt", "SW_CPU_RESET": "software", "RTCWDT_CPU_RESET": "other_wdt",
	"RTCWDT_BROWN_OUT_RESET": "brownout", "RTCWDT_RTC_RESET": "other_wdt",
	"POWERON": "poweron", "RTC_SW_SYS_RST": "software", "TG0WDT_SYS_RST": "other_wdt",
	"TG1WDT_SYS_RST": "other_wdt", "RTC_SW_CPU_RST": "software", "BROWNOUT_RST": "brownout",
	"USB_UART_CHIP_RESET": "usb", "DSLEEP": "deepsleep", "RTCWDT_SYS_RST": "other_wdt",
	"RTCWDT_CPU_RST": "other_wdt", "RTCWDT_RTC_RST": "other_wdt", "TG0WDT_CPU_RST": "other_wdt",
	"TG1WDT_CPU_RST": "other_wdt", "SUPER_WDT_RST": "other_wdt", "USB_JTAG_CHIP_RESET": "usb",
}

// classOf classifies a ROM reset name; names not in the table are judged by
// what they contain.
func classOf(name string) string {
	if c, ok := romClasses[name]; ok {
		return c
	}
	switch {
	case name == "":
		return "unknown"
	case strings.Contains(name, "USB"):
		return "usb"
	case strings.Contains(name, "BROWN"):
		return "brownout"
	case strings.Contains(name, "WDT"):
		return "other_wdt"
	case strings.Contains(name, "SLEEP"):
		return "deepsleep"
	case strings.Contains(name, "POWERON"):
		return "poweron"
	case strings.Contains(name, "SW"):
		return "software"
	}
	return "unknown"
}

// chipFromName guesses the chip from a ROM reset name when the banner's
// first line was not seen: ESP32 names end in _RESET, later chips' in _RST.
func chipFromName(name string) string {
	if strings.HasSuffix(name, "_RESET") && name != "USB_UART_CHIP_RESET" && name != "USB_JTAG_CHIP_RESET" {
		return "esp32"
	}
	return ""
}

func clip(s string) string {
	if len(s) > maxField {
		return s[:maxField]
	}
	return s
}
