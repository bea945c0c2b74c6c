// Package qemutest is a stand-in for Espressif's qemu-system-xtensa, for
// tests of the qemu board kind on machines without QEMU (CI has none). It is
// for tests only.
//
// The stand-in is the test binary itself, started again by the code under
// test as $WSBENCH_QEMU: a test package's TestMain calls Run first, which
// becomes the stand-in when the environment says so. It then does what the
// real QEMU does with the command line wsbench builds: it parses the
// arguments (rejecting ones QEMU would), reads the flash image, listens on
// the console socket and waits for the first connection before it "boots".
// What it boots is a virtual board (package sim) configured from the image:
// the fake idf.py of the tests writes the build's sdkconfig layers into the
// app binary, so the stand-in runs the variant, behaviour and peer CA that
// were built and merged, and its network exists only when the image selects
// open_eth and the command line gives QEMU's open_eth NIC. Its sessions reach
// the host as QEMU's user networking does: 10.0.2.2 is the host's loopback,
// and TLS verifies the certificate for 10.0.2.2. Its Hello says
// emulator "qemu", as the firmware built with sdkconfig.defaults.qemu does.
package qemutest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsbench/wsbench/sim"
	"github.com/wsbench/wsbench/wire"
)

// envRun makes the test binary the stand-in; envLog names a file that gets
// one line per start with the arguments (separated by \x1f).
const (
	envRun = "WSBENCH_QEMU_STANDIN"
	envLog = "WSBENCH_QEMU_STANDIN_LOG"
	// EnvCrashOnRun makes the stand-in abort as a crashing QEMU does when
	// the board receives a run command (set it to "1" in a test).
	EnvCrashOnRun = "WSBENCH_QEMU_STANDIN_CRASH_ON_RUN"
)

// CrashMessage is what the stand-in prints when it aborts.
const CrashMessage = "qemu-system-xtensa: stand-in: unimplemented device access, aborting"

// crashOnRun aborts the process when the host sends a run command.
type crashOnRun struct{ net.Conn }

func (c crashOnRun) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if bytes.HasPrefix(b[:n], []byte("run ")) || bytes.Contains(b[:n], []byte("\nrun ")) {
		fmt.Fprintln(os.Stderr, CrashMessage)
		os.Exit(134)
	}
	return n, err
}

// AppOffset is where the stand-in reads the app in the flash image (the
// factory partition of ESP-IDF's single-app partition tables).
const AppOffset = 0x10000

// Run turns the process into the stand-in when it was started as one, and
// exits; otherwise it returns at once. Call it first in TestMain.
func Run() {
	if os.Getenv(envRun) != "1" {
		return
	}
	go exitWithParent(os.Getppid())
	os.Exit(standIn(os.Args[1:]))
}

// exitWithParent ends the stand-in once the process that started it is
// gone (a test binary killed by its timeout never sends SIGTERM), so that
// no stand-in outlives its test.
func exitWithParent(parent int) {
	for range time.Tick(500 * time.Millisecond) {
		if os.Getppid() != parent {
			fmt.Fprintln(os.Stderr, "qemu-system-xtensa (stand-in): parent gone, exiting")
			os.Exit(1)
		}
	}
}

// Install points $WSBENCH_QEMU at the stand-in (the running test binary)
// for the rest of the test, and returns the log of its starts.
func Install(t testing.TB) (log string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	log = filepath.Join(t.TempDir(), "qemu-starts.log")
	t.Setenv("WSBENCH_QEMU", exe)
	t.Setenv(envRun, "1")
	t.Setenv(envLog, log)
	return log
}

// Starts reads the log Install returned: the arguments of every start.
func Starts(t testing.TB, log string) [][]string {
	t.Helper()
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if l != "" {
			out = append(out, strings.Split(l, "\x1f"))
		}
	}
	return out
}

// options is the command line the stand-in understood.
type options struct {
	machine string
	memMB   int
	flash   string
	socket  string
	openeth bool
}

// parseArgs accepts the options QEMU has that wsbench uses, and rejects
// anything else as QEMU would ("invalid option").
func parseArgs(args []string) (options, error) {
	var o options
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := func() (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("%s: requires an argument", a)
			}
			i++
			return args[i], nil
		}
		v, err := "", error(nil)
		switch a {
		case "-M", "-m", "-display", "-monitor", "-drive", "-global", "-nic", "-serial":
			if v, err = val(); err != nil {
				return o, err
			}
		case "-nographic":
			continue
		default:
			return o, fmt.Errorf("%s: invalid option", a)
		}
		switch a {
		case "-M":
			o.machine = v
		case "-m":
			n, err := strconv.Atoi(strings.TrimSuffix(v, "M"))
			if err != nil || !strings.HasSuffix(v, "M") {
				return o, fmt.Errorf("-m %s: the stand-in takes sizes in M", v)
			}
			o.memMB = n
		case "-drive":
			kv := optMap(v)
			if kv["if"] != "mtd" || kv["format"] != "raw" || kv["file"] == "" {
				return o, fmt.Errorf("-drive %s: want file=...,if=mtd,format=raw", v)
			}
			o.flash = kv["file"]
		case "-nic":
			switch v {
			case "user,model=open_eth":
				o.openeth = true
			case "none":
			default:
				return o, fmt.Errorf("-nic %s: the stand-in knows user,model=open_eth and none", v)
			}
		case "-serial":
			rest, ok := strings.CutPrefix(v, "unix:")
			kv := optMap("path=" + rest)
			if !ok || kv["server"] != "on" || kv["wait"] != "on" {
				return o, fmt.Errorf("-serial %s: want unix:PATH,server=on,wait=on", v)
			}
			o.socket = kv["path"]
		}
	}
	switch {
	case o.machine != "esp32s3" && o.machine != "esp32":
		return o, fmt.Errorf("-M %q: unsupported machine type", o.machine)
	case o.flash == "":
		return o, errors.New("no flash image (-drive if=mtd)")
	case o.socket == "":
		return o, errors.New("no console socket (-serial unix:...)")
	}
	return o, nil
}

// optMap splits QEMU's key=value,key=value (",," is a literal comma).
func optMap(s string) map[string]string {
	m := map[string]string{}
	s = strings.ReplaceAll(s, ",,", "\x00")
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = strings.ReplaceAll(v, "\x00", ",")
	}
	return m
}

// image is what the stand-in reads from the app in the flash image.
type image struct {
	config map[string]string // CONFIG_ name without the prefix -> value ("n" when not set)
	peerCA string
}

// readImage checks the flash image's size and reads the fake app.
func readImage(path string) (image, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return image{}, err
	}
	switch len(b) {
	case 2 << 20, 4 << 20, 8 << 20, 16 << 20:
	default:
		return image{}, fmt.Errorf("flash image %s: %d bytes; QEMU takes 2, 4, 8 or 16 MB", path, len(b))
	}
	app := b[AppOffset:]
	if i := bytes.IndexByte(app, 0xFF); i >= 0 {
		app = app[:i]
	}
	img := image{config: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(app))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if name, ok := strings.CutPrefix(line, "# CONFIG_"); ok && strings.HasSuffix(name, " is not set") {
			img.config[strings.TrimSuffix(name, " is not set")] = "n"
			continue
		}
		if v, ok := strings.CutPrefix(line, "WSBENCH_PEER_CA="); ok {
			img.peerCA = v
			continue
		}
		if kv, ok := strings.CutPrefix(line, "CONFIG_"); ok {
			k, v, _ := strings.Cut(kv, "=")
			img.config[k] = strings.Trim(v, `"`)
		}
	}
	if img.config["WSBENCH_VARIANT"] == "" {
		return image{}, fmt.Errorf("flash image %s: no app at 0x%x (no CONFIG_WSBENCH_VARIANT)", path, AppOffset)
	}
	return img, nil
}

// options of the image, as main/wsbench_hello.c reports them.
func (img image) wireOptions() wire.Options {
	on := func(k string) bool { return img.config[k] == "y" }
	o := wire.Options{WSTaskStackInExtRAM: on("ESP_WS_CLIENT_TASK_STACK_IN_EXT_RAM"),
		WSAllocInExtRAM: on("ESP_WS_CLIENT_ALLOC_IN_EXT_RAM"), MbedTLSDynamicBuffer: on("MBEDTLS_DYNAMIC_BUFFER"),
		MbedTLSAlloc: "internal"}
	switch {
	case on("MBEDTLS_EXTERNAL_MEM_ALLOC"):
		o.MbedTLSAlloc = "external"
	case on("MBEDTLS_DEFAULT_MEM_ALLOC"):
		o.MbedTLSAlloc = "default"
	}
	return o
}

func standIn(args []string) int {
	if p := os.Getenv(envLog); p != "" {
		if f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			fmt.Fprintln(f, strings.Join(args, "\x1f"))
			f.Close()
		}
	}
	o, err := parseArgs(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "qemu-system-xtensa (stand-in):", err)
		return 1
	}
	img, err := readImage(o.flash)
	if err != nil {
		fmt.Fprintln(os.Stderr, "qemu-system-xtensa (stand-in):", err)
		return 1
	}
	profile := map[string]string{"esp32s3": "esp32s3-n8r8", "esp32": "esp32-wrover"}[o.machine]
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	board, err := sim.New(sim.Config{
		Profile: profile, Variant: img.config["WSBENCH_VARIANT"], Options: img.wireOptions(),
		Behaviour: map[bool]string{true: wire.BehaviourStrict, false: wire.BehaviourFallback}[img.config["WSBENCH_BEHAVIOUR_STRICT"] == "y"],
		CAFile:    img.peerCA,
		Dial:      slirp(o.openeth && img.config["WSBENCH_NET_OPENETH"] == "y"),
		EditHello: func(h *wire.Hello) {
			h.Virtual = false
			// As main/wsbench_hello.c: the emulator is named by the image
			// built for it (open_eth), not by the machine it runs on.
			if img.config["WSBENCH_NET_OPENETH"] == "y" {
				h.Emulator = "qemu"
			}
			h.Board, h.Chip, h.ChipRevision = o.machine, o.machine, 0
			h.PSRAMSize = uint32(o.memMB) << 20
			if name := img.config["WSBENCH_BOARD_NAME"]; name != "" {
				h.Board = name
			}
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "qemu-system-xtensa (stand-in):", err)
		return 1
	}
	_ = os.Remove(o.socket)
	// Like QEMU, say something on stderr (wsbench keeps it as emulator.log).
	fmt.Fprintf(os.Stderr, "qemu-system-xtensa (stand-in): %s, %d MB PSRAM, open_eth %t, waiting for a connection on %s\n",
		o.machine, o.memMB, o.openeth, o.socket)
	ln, err := net.Listen("unix", o.socket)
	if err != nil {
		fmt.Fprintln(os.Stderr, "qemu-system-xtensa (stand-in):", err)
		return 1
	}
	defer ln.Close()
	go func() { <-ctx.Done(); ln.Close() }()
	// wait=on: the guest starts with the first connection; a later
	// connection gets the console of a new boot (the stand-in's simplification).
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return 0
			}
			fmt.Fprintln(os.Stderr, "qemu-system-xtensa (stand-in):", err)
			return 1
		}
		var rw net.Conn = conn
		if os.Getenv(EnvCrashOnRun) == "1" {
			rw = crashOnRun{conn}
		}
		err = board.Serve(ctx, rw)
		conn.Close()
		if ctx.Err() != nil {
			return 0
		}
		_ = err // the client went away; wait for the next one
	}
}

// slirp dials like QEMU's user networking: 10.0.2.2 is the host's loopback;
// without the open_eth NIC (or an image without its driver) there is no
// network at all.
func slirp(up bool) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if !up {
			return nil, fmt.Errorf("dial %s: no network interface (open_eth needs -nic user,model=open_eth and CONFIG_WSBENCH_NET_OPENETH)", addr)
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if host != "10.0.2.2" {
			return nil, fmt.Errorf("dial %s: the stand-in routes only the gateway 10.0.2.2 (the host)", addr)
		}
		var d net.Dialer
		return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
	}
}
