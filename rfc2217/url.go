package rfc2217

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Scheme is the URL scheme of RFC 2217 ports.
const Scheme = "rfc2217"

// Target is a parsed rfc2217:// URL.
type Target struct {
	// Addr is host:port for net.Dial (IPv6 hosts in brackets).
	Addr string
	// IgnoreSetControlAck is pyserial's ign_set_control option: do not wait
	// for, nor check, the server's answers to SET-CONTROL (DTR, RTS, BREAK).
	IgnoreSetControlAck bool
	// Timeout is pyserial's timeout=<seconds> option: how long to wait for
	// each negotiation answer. Zero when absent.
	Timeout time.Duration
}

// IsURL reports whether s names an RFC 2217 port rather than a local device.
func IsURL(s string) bool {
	return len(s) > len(Scheme)+3 && strings.EqualFold(s[:len(Scheme)+3], Scheme+"://")
}

// ParseURL parses rfc2217://host:port[?option[&option...]] the way pyserial's
// rfc2217 handler does (serial/rfc2217.py, Serial.from_url): the options are
// ign_set_control, poll_modem, logging=<level> and timeout=<seconds>; any
// other option is an error. poll_modem and logging are accepted so that URLs
// written for idf.py and esptool work unchanged; they change nothing here
// (modem state is taken from the server's NOTIFY-MODEMSTATE messages).
func ParseURL(raw string) (Target, error) {
	const form = "rfc2217://<host>:<port>[?option[&option...]]"
	u, err := url.Parse(raw)
	if err != nil {
		return Target{}, fmt.Errorf("rfc2217 url %q: %w", raw, err)
	}
	if !strings.EqualFold(u.Scheme, Scheme) {
		return Target{}, fmt.Errorf("rfc2217 url %q: scheme %q, want %s", raw, u.Scheme, form)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return Target{}, fmt.Errorf("rfc2217 url %q: unexpected user, path or fragment, want %s", raw, form)
	}
	host, portStr := u.Hostname(), u.Port()
	if host == "" || portStr == "" {
		return Target{}, fmt.Errorf("rfc2217 url %q: missing host or port, want %s", raw, form)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return Target{}, fmt.Errorf("rfc2217 url %q: port %q not in 1..65535", raw, portStr)
	}
	t := Target{Addr: net.JoinHostPort(host, portStr)}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Target{}, fmt.Errorf("rfc2217 url %q: options: %w", raw, err)
	}
	for name, values := range q {
		value := ""
		if len(values) > 0 {
			value = values[len(values)-1]
		}
		switch name {
		case "ign_set_control":
			t.IgnoreSetControlAck = true
		case "poll_modem":
		case "logging":
			switch value {
			case "debug", "info", "warning", "error":
			default:
				return Target{}, fmt.Errorf("rfc2217 url %q: option logging=%q: want debug, info, warning or error", raw, value)
			}
		case "timeout":
			sec, err := strconv.ParseFloat(value, 64)
			if err != nil || sec <= 0 || sec > 3600 {
				return Target{}, fmt.Errorf("rfc2217 url %q: option timeout=%q: want seconds in (0, 3600]", raw, value)
			}
			t.Timeout = time.Duration(sec * float64(time.Second))
		default:
			return Target{}, fmt.Errorf("rfc2217 url %q: unknown option %q (known: ign_set_control, poll_modem, logging, timeout)", raw, name)
		}
	}
	return t, nil
}
