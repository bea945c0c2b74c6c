// Package pty opens Linux pseudo-terminal pairs whose descriptors stay in
// the Go runtime's poller, so that read and write deadlines apply and Close
// unblocks a pending Read or Write.
//
// It replaces github.com/creack/pty (v1.1.24), whose Open calls os.File.Fd
// on the master (in ptsname and unlockpt). Fd switches a file to blocking
// mode for good ("SetDeadline methods will stop working", os.File.Fd):
// a Write to a master whose slave nobody reads then blocks in the write
// system call forever, whatever SetWriteDeadline said, and closing the
// master does not end it. That hung rfc2217's TestSer2netKilledMidStream
// on a busy machine (issue 10). Here every ioctl goes through
// SyscallConn().Control, which leaves the descriptor non-blocking.
//
// Callers must not call Fd on the files either; use Control, Termios or
// MakeRaw.
package pty

import (
	"fmt"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// Open opens a new pseudo-terminal pair: the master (/dev/ptmx) and its
// slave (/dev/pts/N, opened without becoming the controlling terminal). The
// slave is in raw mode (cfmakeraw), so bytes pass unchanged and a full
// buffer makes the writer wait instead of the line discipline dropping
// input. Both files are non-blocking and support deadlines.
func Open() (master, slave *os.File, err error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	var n uint32
	if err := Control(m, func(fd int) error {
		var err error
		if n, err = unix.IoctlGetUint32(fd, unix.TIOCGPTN); err != nil {
			return fmt.Errorf("ptsname (TIOCGPTN): %w", err)
		}
		if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
			return fmt.Errorf("unlockpt (TIOCSPTLCK): %w", err)
		}
		return nil
	}); err != nil {
		m.Close()
		return nil, nil, err
	}
	name := "/dev/pts/" + strconv.FormatUint(uint64(n), 10)
	s, err := os.OpenFile(name, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("open pty slave: %w", err)
	}
	if err := MakeRaw(s); err != nil {
		m.Close()
		s.Close()
		return nil, nil, err
	}
	return m, s, nil
}

// Control runs fn with f's descriptor without switching f to blocking mode
// (as os.File.Fd would).
func Control(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("%s: %w", f.Name(), err)
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return fmt.Errorf("%s: %w", f.Name(), err)
	}
	return ferr
}

// Termios returns the terminal settings of f (TCGETS2, which carries the
// actual baud rates in Ispeed and Ospeed).
func Termios(f *os.File) (*unix.Termios, error) {
	var tio *unix.Termios
	err := Control(f, func(fd int) error {
		var err error
		tio, err = unix.IoctlGetTermios(fd, unix.TCGETS2)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("tcgets2 %s: %w", f.Name(), err)
	}
	return tio, nil
}

// MakeRaw puts the terminal f in raw mode, as cfmakeraw(3) does: no echo,
// no line editing, no signals, no translation, 8 data bits, no parity;
// a read returns as soon as one byte is there.
func MakeRaw(f *os.File) error {
	return Control(f, func(fd int) error {
		tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		if err != nil {
			return fmt.Errorf("tcgets %s: %w", f.Name(), err)
		}
		tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		tio.Oflag &^= unix.OPOST
		tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		tio.Cflag &^= unix.CSIZE | unix.PARENB
		tio.Cflag |= unix.CS8
		tio.Cc[unix.VMIN] = 1
		tio.Cc[unix.VTIME] = 0
		if err := unix.IoctlSetTermios(fd, unix.TCSETS, tio); err != nil {
			return fmt.Errorf("tcsets %s: %w", f.Name(), err)
		}
		return nil
	})
}
