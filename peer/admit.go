package peer

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
)

// admission shares the connection slots: MaxConns in all, MaxConnsPerAddr
// and MaxPendingPerAddr per address that is not trusted, and Reserve slots
// that only trusted addresses (the boards') may take. A flood from one
// address gets at most MaxConnsPerAddr slots, of which at most
// MaxPendingPerAddr wait in a handshake, each for at most FirstByteTimeout
// when it sends nothing; a flood from many addresses still leaves the
// reserve to the boards.
type admission struct {
	maxConns, perAddr, pendingPerAddr, reserve int
	trusted                                    []netip.Prefix

	mu     sync.Mutex
	active int
	addrs  map[netip.Addr]*addrUse
}

type addrUse struct{ conns, pending int }

func newAdmission(cfg Config) *admission {
	a := &admission{maxConns: cfg.MaxConns, perAddr: cfg.MaxConnsPerAddr, pendingPerAddr: cfg.MaxPendingPerAddr,
		reserve: cfg.Reserve, addrs: map[netip.Addr]*addrUse{}}
	for _, t := range cfg.Trusted {
		ps, _ := parseTrusted(t) // checked by withDefaults
		a.trusted = append(a.trusted, ps...)
	}
	return a
}

// parseTrusted reads an IP, a CIDR prefix, or "loopback".
func parseTrusted(s string) ([]netip.Prefix, error) {
	if s == "loopback" {
		return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}, nil
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%q: want an IP, a CIDR prefix or loopback", s)
		}
		return []netip.Prefix{p.Masked()}, nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return nil, fmt.Errorf("%q: want an IP, a CIDR prefix or loopback", s)
	}
	return []netip.Prefix{netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen())}, nil
}

// addrOf is the IP of a remote address (the zero Addr when it has none).
func addrOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

func (a *admission) isTrusted(ip netip.Addr) bool {
	for _, p := range a.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// acquire takes a slot for a new connection from ip; "" means taken,
// otherwise the limit that refused it.
func (a *admission) acquire(ip netip.Addr) string {
	trusted := a.isTrusted(ip)
	a.mu.Lock()
	defer a.mu.Unlock()
	u := a.addrs[ip]
	if u == nil {
		u = &addrUse{}
	}
	switch {
	case a.active >= a.maxConns:
		return "max_conns"
	case trusted:
	case a.active >= a.maxConns-a.reserve:
		return "reserve" // the rest is kept for the boards
	case u.conns >= a.perAddr:
		return "max_conns_per_addr"
	case u.pending >= a.pendingPerAddr:
		return "max_pending_per_addr"
	}
	a.active++
	u.conns++
	u.pending++
	a.addrs[ip] = u
	return ""
}

// handshaken marks a connection from ip as past its TLS handshake (or
// failed in it).
func (a *admission) handshaken(ip netip.Addr) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if u := a.addrs[ip]; u != nil && u.pending > 0 {
		u.pending--
	}
}

// release frees a connection's slot; pending says it never got past the
// handshake.
func (a *admission) release(ip netip.Addr, pending bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.active--
	if u := a.addrs[ip]; u != nil {
		u.conns--
		if pending && u.pending > 0 {
			u.pending--
		}
		if u.conns <= 0 {
			delete(a.addrs, ip)
		}
	}
}

// isLoopbackHost reports whether host (an IP or "localhost") is loopback.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
