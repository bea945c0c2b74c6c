package peer

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Key types for generated certificates.
const (
	KeyECDSAP256 = "ecdsa-p256"
	KeyRSA2048   = "rsa-2048"
)

// Defaults used when the corresponding Config field is zero.
const (
	DefaultHost             = "127.0.0.1"
	DefaultMaxConns         = 256
	DefaultMaxMessageSize   = 64 << 10
	DefaultMaxHeaderBytes   = 8 << 10
	DefaultResponseSize     = 1024
	DefaultMaxResponseSize  = 16 << 20
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultHeaderTimeout    = 10 * time.Second
	DefaultIdleTimeout      = 60 * time.Second
	DefaultWriteTimeout     = 30 * time.Second
	DefaultSessionHistory   = 10000
	DefaultFirstByteTimeout = 2 * time.Second
	DefaultMaxConnsPerAddr  = 80 // a board holds at most 64 sessions (wire.MaxSessions), plus reconnects
	DefaultMaxPendingPerIP  = 8
	MinPushInterval         = time.Millisecond
)

// Config configures a Server. Zero values select the defaults above.
type Config struct {
	// Host is the address to listen on: an IP, a host name, or "0.0.0.0"/"::"
	// for every interface. Empty means loopback (127.0.0.1).
	Host string
	// AdvertiseHost is the host put into WSURL and HTTPSURL. Empty means Host,
	// or for a wildcard Host the first non-loopback IPv4 address.
	AdvertiseHost string
	// WSPort and HTTPSPort are the wss:// and https:// ports; 0 picks a free
	// port. Equal non-zero ports share one listener.
	WSPort, HTTPSPort int

	// CertDir holds generated files (ca.pem, ca-key.pem, server.pem,
	// server-key.pem); valid matching files there are reused. Empty means
	// DefaultCertDir().
	CertDir string
	// KeyType is KeyECDSAP256 (default) or KeyRSA2048, for generated
	// certificates.
	KeyType string
	// ExtraSANs are added to the generated server certificate (IPs or DNS
	// names, e.g. an mDNS name a board resolves).
	ExtraSANs []string
	// CertFile and KeyFile serve a user-supplied server certificate as is.
	// CAFile optionally names its CA (for CAFile() and CAPool()).
	CertFile, KeyFile, CAFile string
	// CAKeyFile with CAFile (and no CertFile) issues the server certificate
	// into CertDir from a user-supplied CA.
	CAKeyFile string

	// MinTLS and MaxTLS bound the TLS version (tls.VersionTLS12 or
	// tls.VersionTLS13); defaults 1.2 and 1.3.
	MinTLS, MaxTLS uint16

	// MaxConns bounds concurrent TCP connections over both listeners; a
	// connection over the limit is closed at once and counted as refused.
	MaxConns int
	// Connection slots are shared so that one address cannot take them
	// all, and the boards' addresses keep a reserve (docs/limits.md):
	//
	//   - MaxConnsPerAddr bounds the connections of one IP address that is
	//     not Trusted (default 80);
	//   - MaxPendingPerAddr bounds its connections still in the TLS
	//     handshake (default 8);
	//   - Reserve slots of MaxConns are only for Trusted addresses (default
	//     MaxConns/4): addresses that are not trusted share the rest.
	//
	// A connection over any of them is closed at once and counted as
	// refused. Trusted holds the boards' addresses: IPs or CIDR prefixes
	// ("192.168.1.0/24"); "loopback" stands for 127.0.0.0/8 and ::1. A nil
	// Trusted on a loopback Host means "loopback".
	MaxConnsPerAddr, MaxPendingPerAddr, Reserve int
	Trusted                                     []string
	// MaxMessageSize is the WebSocket message read limit and the HTTP
	// request body limit, in bytes.
	MaxMessageSize int64
	// MaxHeaderBytes bounds HTTP request headers.
	MaxHeaderBytes int

	// PushSize and PushInterval make the server push a binary message of
	// PushSize bytes every PushInterval on each WebSocket; 0 disables it. A
	// client may override both with ?push_size=N&push_every=D.
	PushSize     int
	PushInterval time.Duration
	// ResponseSize is the body size of GET /bytes without ?n=.
	ResponseSize int
	// MaxResponseSize bounds ?n= and ?push_size=.
	MaxResponseSize int

	// FirstByteTimeout bounds the wait for a client's first byte (its TLS
	// ClientHello, which a board sends as soon as TCP connects): a
	// connection that sends nothing frees its slot after it, not after the
	// whole HandshakeTimeout.
	FirstByteTimeout time.Duration
	// HandshakeTimeout bounds the TLS handshake, HeaderTimeout the reading of
	// an HTTP request header, IdleTimeout the time without a byte from the
	// client (keep-alive and WebSocket alike), WriteTimeout each response or
	// WebSocket write.
	HandshakeTimeout, HeaderTimeout, IdleTimeout, WriteTimeout time.Duration

	// SessionHistory bounds how many closed sessions Counters keeps; totals
	// always count every session.
	SessionHistory int

	// Log receives events (certificates, refused connections, timeouts);
	// nil discards them.
	Log *slog.Logger
}

// DefaultCertDir is where generated certificates live unless Config.CertDir
// says otherwise: a directory in the user's configuration directory, so that
// a CA embedded in firmware stays valid across runs.
func DefaultCertDir() string {
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "wsbench", "certs")
	}
	return filepath.Join(os.TempDir(), "wsbench-certs")
}

// withDefaults returns c with zero fields filled in, or an error naming the
// first invalid field.
func (c Config) withDefaults() (Config, error) {
	if c.Host == "" {
		c.Host = DefaultHost
	}
	if c.CertDir == "" {
		c.CertDir = DefaultCertDir()
	}
	if c.KeyType == "" {
		c.KeyType = KeyECDSAP256
	}
	if c.KeyType != KeyECDSAP256 && c.KeyType != KeyRSA2048 {
		return c, fmt.Errorf("peer config: KeyType %q: want %q or %q", c.KeyType, KeyECDSAP256, KeyRSA2048)
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return c, errors.New("peer config: CertFile and KeyFile go together")
	}
	if c.CAKeyFile != "" && c.CAFile == "" {
		return c, errors.New("peer config: CAKeyFile needs CAFile")
	}
	if c.CAKeyFile != "" && c.CertFile != "" {
		return c, errors.New("peer config: CAKeyFile (issue a certificate) and CertFile (serve a given one) exclude each other")
	}
	if c.WSPort < 0 || c.WSPort > 65535 {
		return c, fmt.Errorf("peer config: WSPort %d out of range", c.WSPort)
	}
	if c.HTTPSPort < 0 || c.HTTPSPort > 65535 {
		return c, fmt.Errorf("peer config: HTTPSPort %d out of range", c.HTTPSPort)
	}
	if c.MinTLS == 0 {
		c.MinTLS = tls.VersionTLS12
	}
	if c.MaxTLS == 0 {
		c.MaxTLS = tls.VersionTLS13
	}
	for _, v := range []struct {
		name string
		v    uint16
	}{{"MinTLS", c.MinTLS}, {"MaxTLS", c.MaxTLS}} {
		if v.v != tls.VersionTLS12 && v.v != tls.VersionTLS13 {
			return c, fmt.Errorf("peer config: %s %#04x: want TLS 1.2 or 1.3", v.name, v.v)
		}
	}
	if c.MinTLS > c.MaxTLS {
		return c, fmt.Errorf("peer config: MinTLS %s above MaxTLS %s", TLSVersionName(c.MinTLS), TLSVersionName(c.MaxTLS))
	}
	// Zero means the default; a negative limit or timeout is a mistake.
	for _, v := range []struct {
		name string
		neg  bool
	}{{"MaxConns (--max-conns)", c.MaxConns < 0}, {"MaxMessageSize", c.MaxMessageSize < 0}, {"MaxHeaderBytes", c.MaxHeaderBytes < 0},
		{"MaxResponseSize", c.MaxResponseSize < 0}, {"ResponseSize (--response-size)", c.ResponseSize < 0},
		{"HandshakeTimeout", c.HandshakeTimeout < 0}, {"HeaderTimeout", c.HeaderTimeout < 0}, {"IdleTimeout", c.IdleTimeout < 0},
		{"WriteTimeout", c.WriteTimeout < 0}, {"SessionHistory", c.SessionHistory < 0},
		{"FirstByteTimeout", c.FirstByteTimeout < 0}, {"MaxConnsPerAddr", c.MaxConnsPerAddr < 0},
		{"MaxPendingPerAddr", c.MaxPendingPerAddr < 0}, {"Reserve", c.Reserve < 0}} {
		if v.neg {
			return c, fmt.Errorf("peer config: %s must not be negative (0 means the default)", v.name)
		}
	}
	if c.MaxConns <= 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.MaxConnsPerAddr <= 0 {
		c.MaxConnsPerAddr = DefaultMaxConnsPerAddr
	}
	if c.MaxPendingPerAddr <= 0 {
		c.MaxPendingPerAddr = DefaultMaxPendingPerIP
	}
	if c.Reserve <= 0 {
		c.Reserve = c.MaxConns / 4
	}
	if c.Reserve >= c.MaxConns {
		return c, fmt.Errorf("peer config: Reserve %d must be below MaxConns %d", c.Reserve, c.MaxConns)
	}
	if c.FirstByteTimeout <= 0 {
		c.FirstByteTimeout = DefaultFirstByteTimeout
	}
	// A server on loopback only hears this host: its virtual boards are all
	// one address, and nobody else can connect.
	if c.Trusted == nil && isLoopbackHost(c.Host) {
		c.Trusted = []string{"loopback"}
	}
	for _, t := range c.Trusted {
		if _, err := parseTrusted(t); err != nil {
			return c, fmt.Errorf("peer config: Trusted: %w", err)
		}
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if c.MaxResponseSize <= 0 {
		c.MaxResponseSize = DefaultMaxResponseSize
	}
	if c.ResponseSize <= 0 {
		c.ResponseSize = DefaultResponseSize
	}
	if c.ResponseSize > c.MaxResponseSize {
		return c, fmt.Errorf("peer config: ResponseSize %d above MaxResponseSize %d", c.ResponseSize, c.MaxResponseSize)
	}
	if c.PushSize < 0 || c.PushSize > c.MaxResponseSize {
		return c, fmt.Errorf("peer config: PushSize %d outside 0..%d", c.PushSize, c.MaxResponseSize)
	}
	if c.PushSize > 0 && c.PushInterval < MinPushInterval {
		return c, fmt.Errorf("peer config: PushInterval %v below %v (PushSize %d)", c.PushInterval, MinPushInterval, c.PushSize)
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.HeaderTimeout <= 0 {
		c.HeaderTimeout = DefaultHeaderTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.SessionHistory <= 0 {
		c.SessionHistory = DefaultSessionHistory
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// ParseTLSVersion parses "1.2" or "1.3" (also "tls1.2", "TLS 1.3").
func ParseTLSVersion(s string) (uint16, error) {
	t := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	t = strings.TrimPrefix(t, "tls")
	switch t {
	case "1.2", "12":
		return tls.VersionTLS12, nil
	case "1.3", "13":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("TLS version %q: want 1.2 or 1.3", s)
}

// TLSVersionName is "1.2" or "1.3" (or the hex value for anything else).
func TLSVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "1.0"
	case tls.VersionTLS11:
		return "1.1"
	case tls.VersionTLS12:
		return "1.2"
	case tls.VersionTLS13:
		return "1.3"
	case 0:
		return ""
	}
	return fmt.Sprintf("%#04x", v)
}
