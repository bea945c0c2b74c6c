package console

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wsbench/wsbench/record"
)

// run feeds text (lines separated by \n) through a classifier and returns
// its items rendered compactly: "boot", "line:<text>", or "<type> <json>".
func run(text string) []string {
	var c Classifier
	var out []string
	emit := func(it Item) {
		switch it.Kind {
		case ItemBoot:
			out = append(out, "boot")
		case ItemLine:
		case ItemRecord:
			b, _ := json.Marshal(it.Body)
			out = append(out, it.Type.String()+" "+string(b))
		}
	}
	for i, l := range strings.Split(text, "\n") {
		line := Parse([]byte(l))
		c.Feed(&line, int64(i), int64(i), emit)
	}
	c.Flush(emit)
	return out
}

const (
	esc = "\x1b"
	red = esc + "[0;31m"
	off = esc + "[0m"
)

func TestClassifier(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{
			name: "idf5_task_watchdog_with_ansi_print_only",
			in: red + "E (15336) task_wdt: Task watchdog got triggered. The following tasks/users did not reset the watchdog in time:" + off + "\n" +
				red + "E (15336) task_wdt:  - IDLE0 (CPU 0)" + off + "\n" +
				red + "E (15336) task_wdt: Tasks currently running:" + off + "\n" +
				red + "E (15336) task_wdt: CPU 0: websocket_task" + off + "\n" +
				red + "E (15336) task_wdt: CPU 1: IDLE1" + off + "\n" +
				red + "E (15336) task_wdt: Print CPU 0 (current core) backtrace" + off + "\n" +
				"Backtrace: 0x400D1234:0x3FFB1230 0x40089ABC:0x3FFB1250\n" +
				"I (15400) app: still alive",
			want: []string{`watchdog {"starving":["IDLE0 (CPU 0)"],"running":["CPU 0: websocket_task","CPU 1: IDLE1"],"aborted":false}`},
		},
		{
			name: "idf4_task_watchdog_aborting_then_sw_cpu_reset_is_task_wdt",
			in: "E (10205) task_wdt: Task watchdog got triggered. The following tasks did not reset the watchdog in time:\n" +
				"E (10205) task_wdt:  - IDLE0 (CPU 0)\n" +
				"E (10205) task_wdt:  - IDLE1 (CPU 1)\n" +
				"E (10205) task_wdt: Tasks currently running:\n" +
				"E (10205) task_wdt: CPU 0: busy_task\n" +
				"E (10205) task_wdt: CPU 1: loopTask\n" +
				"E (10205) task_wdt: Aborting.\n" +
				"abort() was called at PC 0x400d2f7b on core 0\n" +
				"\n" +
				"Backtrace:0x40083a1d:0x3ffbe1a0 0x40088b1d:0x3ffbe1c0\n" +
				"\n" +
				"ELF file SHA256: 0123456789abcdef\n" +
				"\n" +
				"Rebooting...\n" +
				"ets Jun  8 2016 00:22:57\n" +
				"\n" +
				"rst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\n" +
				"configsip: 0, SPIWP:0xee",
			want: []string{
				`watchdog {"starving":["IDLE0 (CPU 0)","IDLE1 (CPU 1)"],"running":["CPU 0: busy_task","CPU 1: loopTask"],"aborted":true}`,
				`panic {"cause":"abort()","core":0,"backtrace":"0x40083a1d:0x3ffbe1a0 0x40088b1d:0x3ffbe1c0"}`,
				"boot",
				`reset {"chip":"esp32","code":12,"rom_name":"SW_CPU_RESET","class":"task_wdt","after":"watchdog"}`,
			},
		},
		{
			name: "guru_load_prohibited_then_banner_is_panic",
			in: "Guru Meditation Error: Core  1 panic'ed (LoadProhibited). Exception was unhandled.\n" +
				"\n" +
				"Core  1 register dump:\n" +
				"PC      : 0x400d1d2e  PS      : 0x00060830  A0      : 0x800d1e5c  A1      : 0x3ffb1f50  \n" +
				"\n" +
				"Backtrace: 0x400d1d2b:0x3ffb1f50 0x400d1e59:0x3ffb1f70 0x40089fd1:0x3ffb1f90\n" +
				"\n" +
				"ELF file SHA256: 8bf7b1d1b9a4a4e1\n" +
				"\n" +
				"Rebooting...\n" +
				"ets Jul 29 2019 12:21:46\n" +
				"\n" +
				"rst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)",
			want: []string{
				`panic {"cause":"LoadProhibited","core":1,"backtrace":"0x400d1d2b:0x3ffb1f50 0x400d1e59:0x3ffb1f70 0x40089fd1:0x3ffb1f90"}`,
				"boot",
				`reset {"chip":"esp32","code":12,"rom_name":"SW_CPU_RESET","class":"panic","after":"panic"}`,
			},
		},
		{
			name: "interrupt_wdt_on_s3_with_host_timestamps_is_int_wdt",
			in: "[12:34:56.789] Guru Meditation Error: Core 0 panic'ed (Interrupt wdt timeout on CPU0). \n" +
				"[12:34:56.790] Core  0 register dump:\n" +
				"[12:34:56.791] Backtrace: 0x40375c5a:0x3fc98a30 0x4037a1b5:0x3fc98a50\n" +
				"[12:34:56.800] ESP-ROM:esp32s3-20210327\n" +
				"[12:34:56.800] Build:Mar 27 2021\n" +
				"[12:34:56.801] rst:0xc (RTC_SW_CPU_RST),boot:0x8 (SPI_FAST_FLASH_BOOT)",
			want: []string{
				`panic {"cause":"Interrupt wdt timeout on CPU0","core":0,"backtrace":"0x40375c5a:0x3fc98a30 0x4037a1b5:0x3fc98a50"}`,
				"boot",
				`reset {"chip":"esp32s3","code":12,"rom_name":"RTC_SW_CPU_RST","class":"int_wdt","after":"panic"}`,
			},
		},
		{
			name: "stack_overflow_with_date_timestamps_then_reset_is_panic",
			in: "2026-11-23 12:34:56.789 ***ERROR*** A stack overflow in task websocket_task has been detected.\n" +
				"2026-11-23 12:34:56.789 \n" +
				"2026-11-23 12:34:56.790 Backtrace: 0x40081d6a:0x3ffc8a50 0x40089a4d:0x3ffc8a70\n" +
				"2026-11-23 12:34:56.800 ESP-ROM:esp32s3-20210327\n" +
				"2026-11-23 12:34:56.801 rst:0x3 (RTC_SW_SYS_RST),boot:0x8 (SPI_FAST_FLASH_BOOT)",
			want: []string{
				`stack_overflow {"task":"websocket_task"}`,
				"boot",
				`reset {"chip":"esp32s3","code":3,"rom_name":"RTC_SW_SYS_RST","class":"panic","after":"stack_overflow"}`,
			},
		},
		{
			name: "brownout_then_brownout_reset",
			in: "\x1b[0;33mBrownout detector was triggered\x1b[0m\n" +
				"\n" +
				"ets Jun  8 2016 00:22:57\n" +
				"\n" +
				"rst:0xf (RTCWDT_BROWN_OUT_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)",
			want: []string{
				`brownout {}`,
				"boot",
				`reset {"chip":"esp32","code":15,"rom_name":"RTCWDT_BROWN_OUT_RESET","class":"brownout","after":"brownout"}`,
			},
		},
		{
			name: "poweron_banner_alone",
			in:   "ets Jun  8 2016 00:22:57\n\nrst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\nconfigsip: 0, SPIWP:0xee",
			want: []string{"boot", `reset {"chip":"esp32","code":1,"rom_name":"POWERON_RESET","class":"poweron"}`},
		},
		{
			name: "s3_usb_reset_and_tg_watchdog_unpaired",
			in: "ESP-ROM:esp32s3-20210327\nBuild:Mar 27 2021\nrst:0x15 (USB_UART_CHIP_RESET),boot:0x8 (SPI_FAST_FLASH_BOOT)\n" +
				"ESP-ROM:esp32s3-20210327\nBuild:Mar 27 2021\nrst:0x7 (TG0WDT_SYS_RST),boot:0x8 (SPI_FAST_FLASH_BOOT)",
			want: []string{
				"boot", `reset {"chip":"esp32s3","code":21,"rom_name":"USB_UART_CHIP_RESET","class":"usb"}`,
				"boot", `reset {"chip":"esp32s3","code":7,"rom_name":"TG0WDT_SYS_RST","class":"other_wdt"}`,
			},
		},
		{
			name: "crash_then_poweron_is_not_paired",
			in:   "Brownout detector was triggered\nESP-ROM:esp32s3-20210327\nrst:0x1 (POWERON),boot:0x8 (SPI_FAST_FLASH_BOOT)",
			want: []string{`brownout {}`, "boot", `reset {"chip":"esp32s3","code":1,"rom_name":"POWERON","class":"poweron"}`},
		},
		{
			name: "rst_line_without_banner_head_starts_boot",
			in:   "rst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)",
			want: []string{"boot", `reset {"chip":"esp32","code":12,"rom_name":"SW_CPU_RESET","class":"software"}`},
		},
		{
			name: "panic_cut_off_by_banner_is_emitted_without_backtrace",
			in:   "Guru Meditation Error: Core  0 panic'ed (IllegalInstruction). Exception was unhandled.\nCore  0 register dump:\nets Jun  8 2016 00:22:57\nrst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)",
			want: []string{
				`panic {"cause":"IllegalInstruction","core":0}`,
				"boot",
				`reset {"chip":"esp32","code":12,"rom_name":"SW_CPU_RESET","class":"panic","after":"panic"}`,
			},
		},
		{
			name: "watchdog_block_ended_by_end_of_stream",
			in:   "E (5000) task_wdt: Task watchdog got triggered. The following tasks/users did not reset the watchdog in time:\nE (5000) task_wdt:  - IDLE1 (CPU 1)",
			want: []string{`watchdog {"starving":["IDLE1 (CPU 1)"],"running":null,"aborted":false}`},
		},
		{
			name: "two_reports_in_a_row_are_two_records",
			in: "E (5000) task_wdt: Task watchdog got triggered. The following tasks/users did not reset the watchdog in time:\n" +
				"E (5000) task_wdt:  - IDLE0 (CPU 0)\n" +
				"E (5000) task_wdt: Print CPU 0 (current core) backtrace\n\n\nBacktrace: 0x42008000:0x3fc9a000\n" +
				"E (10000) task_wdt: Task watchdog got triggered. The following tasks/users did not reset the watchdog in time:\n" +
				"E (10000) task_wdt:  - IDLE1 (CPU 1)\n" +
				"I (10001) app: next",
			want: []string{
				`watchdog {"starving":["IDLE0 (CPU 0)"],"running":null,"aborted":false}`,
				`watchdog {"starving":["IDLE1 (CPU 1)"],"running":null,"aborted":false}`,
			},
		},
		{
			name: "ordinary_log_lines_give_nothing",
			in:   "I (312) cpu_start: Starting scheduler on PRO CPU.\nW (1200) wifi: something\nets is not a banner\nrst: no",
			want: nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := run(tc.in)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name                  string
		in                    string
		text, level, tag, msg string
	}{
		{"plain_log_line", "I (312) cpu_start: Starting scheduler", "I (312) cpu_start: Starting scheduler", "I", "cpu_start", "Starting scheduler"},
		{"ansi_colour_removed", red + "E (15) wifi: fail" + off, "E (15) wifi: fail", "E", "wifi", "fail"},
		{"system_time_log", "W (12:34:56.789) app: low memory", "W (12:34:56.789) app: low memory", "W", "app", "low memory"},
		{"bracket_host_time_kept_in_text", "[12:34:56.789] I (5) app: hi", "[12:34:56.789] I (5) app: hi", "I", "app", "hi"},
		{"date_host_time", "2026-11-23 12:34:56.789 D (5) app: hi", "2026-11-23 12:34:56.789 D (5) app: hi", "D", "app", "hi"},
		{"arduino_monitor_arrow", "12:34:56.789 -> V (5) app: hi", "12:34:56.789 -> V (5) app: hi", "V", "app", "hi"},
		{"invalid_utf8_and_controls_escaped", "ok\xff\x00\x7f end", `ok\xff\x00\x7f end`, "", "", " end"},
		{"rejected_frame_bytes_before_log_line", "\xa5W\x04*\x00\x9bCxE (15) task_wdt: Aborting.", `\xa5W\x04*\x00\x9bCxE (15) task_wdt: Aborting.`, "E", "task_wdt", "Aborting."},
		{"noise_before_guru", "\x00\x02zzGuru Meditation Error: Core 1 panic'ed (X).", `\x00\x02zzGuru Meditation Error: Core 1 panic'ed (X).`, "", "", "Guru Meditation Error: Core 1 panic'ed (X)."},
		{"valid_utf8_kept", "temp 25°C", "temp 25°C", "", "", "temp 25°C"},
		{"not_a_log_line", "E(5) no space", "E(5) no space", "", "", "E(5) no space"},
		{"digits_without_colon_are_not_a_timestamp", "2026 was a year", "2026 was a year", "", "", "2026 was a year"},
		{"cut_off_ansi_sequence", "x" + esc + "[0;3", "x", "", "", "x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := Parse([]byte(tc.in))
			if l.Text != tc.text || l.Level != tc.level || l.Tag != tc.tag || l.Msg != tc.msg {
				t.Errorf("Parse(%q) = %+v, want text %q level %q tag %q msg %q", tc.in, l, tc.text, tc.level, tc.tag, tc.msg)
			}
		})
	}
}

func TestBlockIsBounded(t *testing.T) {
	var c Classifier
	var recs int
	emit := func(it Item) {
		if it.Kind == ItemRecord {
			recs++
			if wd, ok := it.Body.(*record.Watchdog); ok && len(wd.Starving) > maxNames {
				t.Fatalf("watchdog kept %d starving tasks", len(wd.Starving))
			}
		}
	}
	l := Parse([]byte("E (1) task_wdt: Task watchdog got triggered. The following tasks did not reset the watchdog in time:"))
	c.Feed(&l, 0, 0, emit)
	for i := 0; i < 10*MaxBlockLines; i++ {
		l := Parse([]byte("E (1) task_wdt:  - IDLE0 (CPU 0)"))
		c.Feed(&l, int64(i), 0, emit)
	}
	if recs != 1 {
		t.Fatalf("got %d records, want 1 (block emitted at %d lines)", recs, MaxBlockLines)
	}
	if open, _ := c.Pending(); open {
		t.Fatal("block still open after the bound")
	}
}

func FuzzClassifier(f *testing.F) {
	seeds := []string{
		"E (15336) task_wdt: Task watchdog got triggered. The following tasks/users did not reset the watchdog in time:\nE (1) task_wdt:  - IDLE0 (CPU 0)\nE (1) task_wdt: CPU 0: x\nE (1) task_wdt: Aborting.",
		"Guru Meditation Error: Core  0 panic'ed (LoadProhibited). Exception was unhandled.\nBacktrace: 0x1:0x2",
		"abort() was called at PC 0x400d2f7b on core 1",
		"***ERROR*** A stack overflow in task t has been detected.",
		"Brownout detector was triggered",
		"ets Jun  8 2016 00:22:57\n\nrst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)",
		"ESP-ROM:esp32s3-20210327\nrst:0x1 (POWERON),boot:0x8",
		"[12:34:56.789] " + red + "I (5) app: hi" + off,
		"rst:0x", "rst:0xzz (", "ESP-ROM:", "Guru Meditation Error: Core", "\x1b[", "[1:2]", "abort() was called at PC on core 99999999999",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c Classifier
		n := 0
		emit := func(it Item) {
			if it.Kind == ItemLine {
				n++
			}
		}
		lines := strings.Split(string(b), "\n")
		for i, s := range lines {
			l := Parse([]byte(s))
			if len(l.Text) > 4*len(s)+8 {
				t.Fatalf("cleaned text grew from %d to %d bytes", len(s), len(l.Text))
			}
			c.Feed(&l, int64(i), 0, emit)
		}
		c.Flush(emit)
		if n != len(lines) {
			t.Fatalf("%d lines in, %d line items out", len(lines), n)
		}
	})
}
