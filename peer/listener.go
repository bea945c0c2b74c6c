package peer

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// countConn is the TCP connection of a session: it counts wire bytes,
// remembers when the client last sent anything and how reading ended, and
// releases the session when closed unless a WebSocket handler holds it.
type countConn struct {
	net.Conn
	s       *session
	release func(*session)
	// onFirstByte runs once, in the read that returns the first byte.
	onFirstByte func()
	gotFirst    bool
}

func (c *countConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && !c.gotFirst {
		c.gotFirst = true
		if c.onFirstByte != nil {
			c.onFirstByte()
		}
	}
	if n > 0 {
		c.s.bytesIn.Add(uint64(n))
		c.s.lastRead.Store(time.Now().UnixNano())
	}
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.s.readEnd.CompareAndSwap(readOpen, readTimedOut)
		} else {
			c.s.readEnd.CompareAndSwap(readOpen, readFailed)
		}
	}
	return n, err
}

func (c *countConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.s.bytesOut.Add(uint64(n))
	}
	return n, err
}

func (c *countConn) Close() error {
	err := c.Conn.Close()
	if !c.s.held.Load() {
		c.release(c.s)
	}
	return err
}

// tlsListener accepts TCP connections, enforces the connection limit, and
// runs each TLS handshake in its own goroutine under HandshakeTimeout, so a
// slow client never holds up the accept loop. Accept hands out connections
// whose handshake is complete.
type tlsListener struct {
	srv    *Server
	name   string
	ln     net.Listener
	conf   *tls.Config
	ready  chan *guardConn
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed atomic.Bool
	once   sync.Once
}

func newTLSListener(srv *Server, name string, ln net.Listener, conf *tls.Config) *tlsListener {
	ctx, cancel := context.WithCancel(context.Background())
	l := &tlsListener{srv: srv, name: name, ln: ln, conf: conf, ready: make(chan *guardConn), ctx: ctx, cancel: cancel}
	l.wg.Add(1)
	go l.acceptLoop()
	return l
}

func (l *tlsListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case <-l.ctx.Done():
		return nil, net.ErrClosed
	}
}

// Close stops accepting and aborts handshakes in progress; wait waits for
// the goroutines.
func (l *tlsListener) Close() error {
	var err error
	l.once.Do(func() {
		l.closed.Store(true)
		l.cancel()
		err = l.ln.Close()
	})
	return err
}

func (l *tlsListener) Addr() net.Addr { return l.ln.Addr() }

func (l *tlsListener) wait() { l.wg.Wait() }

func (l *tlsListener) acceptLoop() {
	defer l.wg.Done()
	var backoff time.Duration
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if l.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Resource exhaustion (EMFILE and the like): back off as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			l.srv.cfg.Log.Warn("peer: accept", "listener", l.name, "err", err, "retry", backoff)
			select {
			case <-time.After(backoff):
			case <-l.ctx.Done():
				return
			}
			continue
		}
		backoff = 0
		ip := addrOf(c.RemoteAddr())
		if limit := l.srv.adm.acquire(ip); limit != "" {
			l.srv.reg.refuse()
			l.srv.cfg.Log.Info("peer: refused connection over a limit", "listener", l.name, "remote", c.RemoteAddr().String(), "limit", limit)
			c.Close()
			continue
		}
		s := l.srv.reg.open(l.name, c, time.Now())
		s.ip = ip
		cc := &countConn{Conn: c, s: s, release: l.srv.release}
		l.wg.Add(1)
		go l.handshake(cc)
	}
}

func (l *tlsListener) handshake(cc *countConn) {
	defer l.wg.Done()
	s := cc.s
	tc := tls.Server(cc, l.conf)
	// A deadline rather than a context: on expiry the read fails with a
	// timeout and the session is classified before anything closes it.
	start := time.Now()
	// Until the first byte (the ClientHello) the short deadline applies;
	// then the whole handshake's.
	_ = cc.SetDeadline(start.Add(min(l.srv.cfg.FirstByteTimeout, l.srv.cfg.HandshakeTimeout)))
	cc.onFirstByte = func() { _ = cc.SetDeadline(start.Add(l.srv.cfg.HandshakeTimeout)) }
	stop := context.AfterFunc(l.ctx, func() {
		s.setReason(ReasonShutdown)
		_ = cc.SetDeadline(time.Unix(1, 0))
	})
	err := tc.Handshake()
	if s.hsDone.CompareAndSwap(false, true) {
		l.srv.adm.handshaken(s.ip)
	}
	if !stop() || l.ctx.Err() != nil {
		s.setReason(ReasonShutdown)
		tc.Close()
		return
	}
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			s.setReason(ReasonHandshakeTimeout)
			l.srv.reg.count(func(t *Totals) { t.HandshakeErrors++; t.HandshakeTimeouts++ })
		} else {
			s.setReason(ReasonHandshakeFailed)
			l.srv.reg.count(func(t *Totals) { t.HandshakeErrors++ })
		}
		s.fail("tls handshake: " + err.Error())
		l.srv.cfg.Log.Info("peer: TLS handshake failed", "listener", l.name, "remote", s.remote, "err", err)
		tc.Close()
		return
	}
	_ = cc.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	s.mu.Lock()
	s.handshakes++
	s.handshakeNS = time.Since(start).Nanoseconds()
	s.tlsVersion = TLSVersionName(st.Version)
	s.cipher = tls.CipherSuiteName(st.CipherSuite)
	s.resumed = st.DidResume
	s.mu.Unlock()
	l.srv.reg.count(func(t *Totals) { t.Handshakes++ })
	g := &guardConn{Conn: tc, s: s, limit: l.srv.cfg.MaxMessageSize, hit: l.srv.frameTooBig}
	select {
	case l.ready <- g:
	case <-l.ctx.Done():
		s.setReason(ReasonShutdown)
		tc.Close()
	}
}
