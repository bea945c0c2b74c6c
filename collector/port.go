package collector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"go.bug.st/serial"
	"go.bug.st/serial/enumerator"
)

// Port is a byte stream to and from a board. Read should return within
// about ReadTimeout when nothing arrives ((0, nil) is a timeout), so that a
// capture notices cancellation promptly; a Port whose Read blocks is closed
// to unblock it. Read returns io.EOF only when the source has ended for good
// (a file); any other error means the port was lost and is reopened.
type Port = io.ReadWriteCloser

// LineControl is implemented by ports that drive the modem lines (a USB
// serial bridge). ESP32 boards wire RTS to EN (reset) and DTR to GPIO0
// (boot mode).
type LineControl interface {
	SetDTR(bool) error
	SetRTS(bool) error
}

// Opener opens a port. A capture calls it once at the start and again,
// with backoff, after the port is lost.
type Opener func(ctx context.Context) (Port, error)

// DefaultBaud is the console speed of ESP-IDF apps.
const DefaultBaud = 115200

// ReadTimeout is the read timeout of serial ports opened here.
const ReadTimeout = 100 * time.Millisecond

// USB bridges that --port auto picks: vendor ID (upper-case hex, as the
// enumerator reports it) and what it is.
var autoVIDs = map[string]string{
	"303A": "Espressif USB",
	"10C4": "Silicon Labs CP210x",
	"1A86": "WCH CH340",
}

// SerialOpener opens name (a device path, or "auto") at baud with
// go.bug.st/serial. "auto" picks the one USB serial port whose vendor is
// Espressif, Silicon Labs (CP210x) or WCH (CH340), and looks again at every
// reopen (a board that re-enumerates may get a new name). On a real port the
// modem lines are set to DTR and RTS off so that the board runs; on a
// pseudo-terminal (/dev/pts/N), which cannot drive them, they are left alone.
func SerialOpener(name string, baud int) Opener {
	if baud <= 0 {
		baud = DefaultBaud
	}
	return func(ctx context.Context) (Port, error) {
		path := name
		if name == "auto" {
			var err error
			if path, err = AutoPort(); err != nil {
				return nil, err
			}
		}
		mode := &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit}
		if !isPTY(path) {
			mode.InitialStatusBits = &serial.ModemOutputBits{DTR: false, RTS: false}
		}
		p, err := serial.Open(path, mode)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		if err := p.SetReadTimeout(ReadTimeout); err != nil {
			p.Close()
			return nil, fmt.Errorf("open %s: set read timeout: %w", path, err)
		}
		return p, nil
	}
}

func isPTY(path string) bool { return strings.HasPrefix(path, "/dev/pts/") }

// AutoPort returns the one USB serial port made by a vendor ESP32 boards
// use. It fails, listing what it found, when there is none or more than one.
func AutoPort() (string, error) {
	ports, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return "", fmt.Errorf("port auto: list serial ports: %w", err)
	}
	return pickPort(ports)
}

func pickPort(ports []*enumerator.PortDetails) (string, error) {
	var match, all []string
	for _, p := range ports {
		desc := p.Name
		if p.IsUSB {
			desc = fmt.Sprintf("%s (USB %s:%s %s)", p.Name, p.VID, p.PID, p.Product)
			if vendor, ok := autoVIDs[strings.ToUpper(p.VID)]; ok {
				match = append(match, p.Name)
				desc = fmt.Sprintf("%s (%s %s:%s %s)", p.Name, vendor, p.VID, p.PID, p.Product)
			}
		}
		all = append(all, desc)
	}
	sort.Strings(match)
	switch len(match) {
	case 1:
		return match[0], nil
	case 0:
		if len(all) == 0 {
			return "", errors.New("port auto: no serial ports found; connect a board or give --port")
		}
		return "", fmt.Errorf("port auto: no Espressif, CP210x or CH340 USB serial port among: %s; give --port", strings.Join(all, ", "))
	}
	return "", fmt.Errorf("port auto: %d candidate ports (%s); give --port", len(match), strings.Join(match, ", "))
}

// ResetBoard resets an ESP32 through its auto-reset circuit (RTS low pulls
// EN low) when p can drive the modem lines; it reports whether it could.
func ResetBoard(ctx context.Context, p Port) (bool, error) {
	lc, ok := p.(LineControl)
	if !ok {
		return false, nil
	}
	if err := lc.SetDTR(false); err != nil {
		return false, fmt.Errorf("reset board: DTR: %w", err)
	}
	if err := lc.SetRTS(true); err != nil {
		return false, fmt.Errorf("reset board: RTS: %w", err)
	}
	t := time.NewTimer(100 * time.Millisecond)
	select {
	case <-ctx.Done():
		t.Stop()
	case <-t.C:
	}
	if err := lc.SetRTS(false); err != nil {
		return false, fmt.Errorf("reset board: RTS: %w", err)
	}
	return true, ctx.Err()
}

// FileOpener reads a saved capture as if it were a port: Read returns its
// bytes in chunks of up to 4 KiB, then io.EOF; Write fails.
func FileOpener(path string) Opener {
	return func(context.Context) (Port, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		return &filePort{f: f, name: path}, nil
	}
}

type filePort struct {
	f    *os.File
	name string
}

func (p *filePort) Read(b []byte) (int, error) {
	if len(b) > 4096 {
		b = b[:4096]
	}
	return p.f.Read(b)
}

func (p *filePort) Write([]byte) (int, error) {
	return 0, fmt.Errorf("%s: a saved capture cannot receive commands", p.name)
}

func (p *filePort) Close() error { return p.f.Close() }
