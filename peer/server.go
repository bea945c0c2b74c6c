package peer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/wsbench/wsbench/rundir"
)

// Paths served on both ports.
const (
	WSPath    = "/ws"    // WebSocket: echo, plus push when configured
	BytesPath = "/bytes" // GET/HEAD/POST: a body of ?n= bytes (default ResponseSize)
)

// closeGrace bounds a server-initiated WebSocket close handshake before the
// TCP connection is closed under it.
const closeGrace = 2 * time.Second

// Server is a running peer. Its methods are safe for concurrent use.
type Server struct {
	cfg     Config
	certs   *certBundle
	tlsConf *tls.Config
	reg     *registry
	adm     *admission

	listeners []*tlsListener
	https     []*http.Server
	serveWG   sync.WaitGroup
	wsURL     string
	httpsURL  string
	pattern   []byte // read-only response body pattern

	baseCtx context.Context // cancelled when shutdown begins
	stop    context.CancelFunc
	mu      sync.Mutex
	closing bool
	wsWG    sync.WaitGroup // WebSocket handlers, which outlive http.Server's tracking

	shutdownOnce sync.Once
	shutdownErr  error
}

type sessionKey struct{}

// guardKey finds a request's guardConn in its context.
type guardKey struct{}

// frameTooBig records a WebSocket closed by guardConn.
func (s *Server) frameTooBig(sess *session) {
	sess.setReason(ReasonReadLimit)
	sess.fail(fmt.Sprintf("frame header announces a message over %d bytes", s.cfg.MaxMessageSize))
	s.reg.count(func(t *Totals) { t.ReadLimitHits++ })
}

// Start loads or generates the certificates, listens on the configured
// ports and serves until Shutdown or Close. ctx bounds the start only.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	sans, err := hostSANs(cfg.Host, cfg.ExtraSANs)
	if err != nil {
		return nil, err
	}
	if cfg.AdvertiseHost != "" {
		sans.add(cfg.AdvertiseHost)
	}
	now := time.Now()
	certs, err := loadCerts(cfg, sans, now)
	if err != nil {
		return nil, err
	}
	cfg.Log.Info("peer: certificate", "source", certs.source, "ca", certs.caFile, "key_type", certs.keyType, "sha256", certs.fingerprint())

	s := &Server{
		cfg:   cfg,
		certs: certs,
		adm:   newAdmission(cfg),
		reg:   newRegistry(cfg.SessionHistory, now),
		tlsConf: &tls.Config{
			Certificates: []tls.Certificate{certs.cert},
			MinVersion:   cfg.MinTLS,
			MaxVersion:   cfg.MaxTLS,
			NextProtos:   []string{"http/1.1"},
		},
		pattern: make([]byte, 32<<10),
	}
	for i := range s.pattern {
		s.pattern[i] = byte('a' + i%26)
	}
	s.baseCtx, s.stop = context.WithCancel(context.Background())

	adv := cfg.AdvertiseHost
	if adv == "" {
		adv = cfg.Host
		if isWildcard(cfg.Host) {
			adv = firstIPv4()
		}
	}
	var lc net.ListenConfig
	listen := func(name string, port int) (*tlsListener, error) {
		ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(port)))
		if err != nil {
			return nil, fmt.Errorf("peer: listen %s on %s port %d: %w", name, cfg.Host, port, err)
		}
		return newTLSListener(s, name, ln, s.tlsConf), nil
	}
	shared := cfg.WSPort == cfg.HTTPSPort && cfg.WSPort != 0
	wsName := "wss"
	if shared {
		wsName = "wss+https"
	}
	wsl, err := listen(wsName, cfg.WSPort)
	if err != nil {
		s.stop()
		return nil, err
	}
	httpsl := wsl
	s.listeners = []*tlsListener{wsl}
	if !shared {
		if httpsl, err = listen("https", cfg.HTTPSPort); err != nil {
			wsl.Close()
			wsl.wait()
			s.stop()
			return nil, err
		}
		s.listeners = append(s.listeners, httpsl)
	}
	port := func(l *tlsListener) string { return strconv.Itoa(l.Addr().(*net.TCPAddr).Port) }
	s.wsURL = "wss://" + net.JoinHostPort(adv, port(wsl)) + WSPath
	s.httpsURL = "https://" + net.JoinHostPort(adv, port(httpsl)) + BytesPath

	mux := http.NewServeMux()
	mux.HandleFunc(WSPath, s.handleWS)
	mux.HandleFunc(BytesPath, s.handleBytes)
	mux.HandleFunc("/", s.handleOther)
	for _, l := range s.listeners {
		protos := new(http.Protocols)
		protos.SetHTTP1(true)
		hs := &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: cfg.HeaderTimeout,
			WriteTimeout:      cfg.WriteTimeout,
			IdleTimeout:       cfg.IdleTimeout,
			MaxHeaderBytes:    cfg.MaxHeaderBytes,
			Protocols:         protos,
			ErrorLog:          slog.NewLogLogger(cfg.Log.Handler(), slog.LevelDebug),
			ConnContext: func(ctx context.Context, c net.Conn) context.Context {
				if g, ok := c.(*guardConn); ok {
					return context.WithValue(context.WithValue(ctx, sessionKey{}, g.s), guardKey{}, g)
				}
				return ctx
			},
		}
		s.https = append(s.https, hs)
		s.serveWG.Add(1)
		go func() {
			defer s.serveWG.Done()
			if err := hs.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				cfg.Log.Error("peer: serve", "listener", l.name, "err", err)
			}
		}()
	}
	cfg.Log.Info("peer: listening", "wss", s.wsURL, "https", s.httpsURL)
	return s, nil
}

// firstIPv4 is the first non-loopback IPv4 interface address, or 127.0.0.1.
func firstIPv4() string {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
				return ipn.IP.String()
			}
		}
	}
	return "127.0.0.1"
}

// WSURL is the wss:// URL of the WebSocket endpoint.
func (s *Server) WSURL() string { return s.wsURL }

// HTTPSURL is the https:// URL of the bytes endpoint.
func (s *Server) HTTPSURL() string { return s.httpsURL }

// CAFile is the PEM file of the CA that signed the server certificate
// (empty when the user gave a certificate without its CA). Firmware builds
// embed this file.
func (s *Server) CAFile() string { return s.certs.caFile }

// CAPool holds that CA, for clients; nil when CAFile is empty.
func (s *Server) CAPool() *x509.CertPool { return s.certs.caPool }

// CertSource says where the certificate came from: CertGenerated,
// CertReused, CertReissued or CertUser.
func (s *Server) CertSource() string { return s.certs.source }

// Certificate is the server's leaf certificate (public part only).
func (s *Server) Certificate() *x509.Certificate { return s.certs.leaf }

// Info describes the server for a run manifest. It holds no key material.
func (s *Server) Info() rundir.PeerInfo {
	return rundir.PeerInfo{
		WSURL:           s.wsURL,
		HTTPSURL:        s.httpsURL,
		CAFile:          s.certs.caFile,
		CertSHA256:      s.certs.fingerprint(),
		CertKeyType:     s.certs.keyType,
		TLSMinVersion:   TLSVersionName(s.cfg.MinTLS),
		ServerTLSVerMax: TLSVersionName(s.cfg.MaxTLS),
	}
}

// Counters is a snapshot of the per-session counters and totals.
func (s *Server) Counters() Snapshot { return s.reg.snapshot(time.Now()) }

// release frees the session's connection slot and moves it to the history,
// once.
func (s *Server) release(sess *session) {
	sess.released.Do(func() {
		s.adm.release(sess.ip, !sess.hsDone.Load())
		s.reg.finish(sess, time.Now())
	})
}

// Close stops the server at once: it closes listeners and every
// connection without waiting for clients, then waits for its goroutines.
func (s *Server) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Shutdown(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// Shutdown stops accepting, lets HTTPS requests in flight finish, sends
// WebSocket clients a going-away close, and waits for them until ctx ends;
// then it closes what is left. Either way every connection is closed and
// every goroutine the server started has returned when it returns. It
// returns ctx's error when it had to force connections closed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() { s.shutdownErr = s.shutdown(ctx) })
	return s.shutdownErr
}

func (s *Server) shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.stop() // WebSocket supervisors begin their close handshakes

	var errs []error
	if ctx.Err() == nil {
		errc := make(chan error, len(s.https))
		for _, hs := range s.https {
			go func() { errc <- hs.Shutdown(ctx) }()
		}
		for range s.https {
			if err := <-errc; err != nil {
				errs = append(errs, err)
			}
		}
	}
	wsDone := make(chan struct{})
	go func() { s.wsWG.Wait(); close(wsDone) }()
	forced := false
	select {
	case <-wsDone:
	case <-ctx.Done():
	}
	if ctx.Err() != nil {
		forced = true
		for _, hs := range s.https {
			hs.Close()
		}
		for _, sess := range s.reg.liveSessions() {
			sess.setReason(ReasonShutdown)
			sess.raw.Close()
		}
	}
	<-wsDone
	for _, l := range s.listeners {
		l.Close()
		l.wait()
	}
	s.serveWG.Wait()
	if forced {
		return fmt.Errorf("peer shutdown: forced: %w", ctx.Err())
	}
	return errors.Join(errs...)
}

// beginWS admits a WebSocket handler unless the server is shutting down.
func (s *Server) beginWS() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.wsWG.Add(1)
	return true
}

func sessionOf(r *http.Request) *session {
	s, _ := r.Context().Value(sessionKey{}).(*session)
	return s
}

func (s *Server) handleOther(w http.ResponseWriter, r *http.Request) {
	sess := sessionOf(r)
	if sess == nil {
		http.Error(w, "no session", http.StatusInternalServerError)
		return
	}
	sess.use(KindHTTPS, r.URL.Query().Get("tag"))
	sess.msgsIn.Add(1)
	s.reg.count(func(t *Totals) { t.Requests++ })
	if r.URL.Path != "/" {
		sess.fail("not found: " + r.URL.Path)
		http.NotFound(w, r)
		sess.msgsOut.Add(1)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "wsbench peer\n"+WSPath+"  WebSocket echo; ?push_size=N&push_every=D for server push\n"+BytesPath+"  ?n=N bytes\n")
	sess.msgsOut.Add(1)
}

// handleBytes answers GET/HEAD/POST /bytes?n=N with N bytes; a POST body is
// read and discarded up to MaxMessageSize.
func (s *Server) handleBytes(w http.ResponseWriter, r *http.Request) {
	sess := sessionOf(r)
	if sess == nil {
		http.Error(w, "no session", http.StatusInternalServerError)
		return
	}
	q := r.URL.Query()
	sess.use(KindHTTPS, q.Get("tag"))
	sess.msgsIn.Add(1)
	s.reg.count(func(t *Totals) { t.Requests++ })
	reply := func(code int, msg string) {
		sess.fail(msg)
		http.Error(w, msg, code)
		sess.msgsOut.Add(1)
	}
	n := s.cfg.ResponseSize
	if v := q.Get("n"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		if err != nil || n < 0 || n > s.cfg.MaxResponseSize {
			reply(http.StatusBadRequest, fmt.Sprintf("n=%q: want 0..%d", v, s.cfg.MaxResponseSize))
			return
		}
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		body := http.MaxBytesReader(w, r.Body, s.cfg.MaxMessageSize)
		got, err := io.Copy(io.Discard, body)
		sess.payloadIn.Add(uint64(got))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				s.reg.count(func(t *Totals) { t.ReadLimitHits++ })
				reply(http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", s.cfg.MaxMessageSize))
				return
			}
			reply(http.StatusBadRequest, "read body: "+err.Error())
			return
		}
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		reply(http.StatusMethodNotAllowed, "method "+r.Method)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(n))
	w.WriteHeader(http.StatusOK)
	sess.msgsOut.Add(1)
	if r.Method == http.MethodHead {
		return
	}
	for left := n; left > 0; {
		k := min(left, len(s.pattern))
		wrote, err := w.Write(s.pattern[:k])
		sess.payloadOut.Add(uint64(wrote))
		if err != nil {
			sess.fail("write body: " + err.Error())
			return
		}
		left -= k
	}
}

// handleWS upgrades to a WebSocket, echoes every message, pushes when asked,
// and closes on idle timeout, read limit or shutdown.
func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	sess := sessionOf(r)
	if sess == nil {
		http.Error(w, "no session", http.StatusInternalServerError)
		return
	}
	q := r.URL.Query()
	pushSize, pushEvery := s.cfg.PushSize, s.cfg.PushInterval
	if v := q.Get("push_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > s.cfg.MaxResponseSize {
			sess.fail("bad push_size " + strconv.Quote(v))
			http.Error(w, fmt.Sprintf("push_size=%q: want 0..%d", v, s.cfg.MaxResponseSize), http.StatusBadRequest)
			return
		}
		pushSize = n
	}
	if v := q.Get("push_every"); v != "" {
		d, err := parseInterval(v)
		if err != nil || d < MinPushInterval {
			sess.fail("bad push_every " + strconv.Quote(v))
			http.Error(w, fmt.Sprintf("push_every=%q: want a duration of at least %v (or milliseconds)", v, MinPushInterval), http.StatusBadRequest)
			return
		}
		pushEvery = d
	}
	if pushSize > 0 && pushEvery < MinPushInterval {
		sess.fail("push_size without push_every")
		http.Error(w, "push_size needs push_every", http.StatusBadRequest)
		return
	}
	if !s.beginWS() {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	defer s.wsWG.Done()
	// The library closes the connection itself on a close frame, before Read
	// returns; holding the session keeps it open for the close reason.
	sess.held.Store(true)
	if g, ok := r.Context().Value(guardKey{}).(*guardConn); ok {
		g.arm() // from the upgrade on, the client sends frames
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		sess.held.Store(false) // not hijacked: net/http keeps serving it
		sess.fail(err.Error())
		return
	}
	defer s.release(sess)
	sess.use(KindWebSocket, q.Get("tag"))
	s.reg.count(func(t *Totals) { t.WebSockets++ })
	// net/http leaves its header and write deadlines on a hijacked
	// connection, and its aborted background read looks like a timeout; the
	// WebSocket runs under its own timeouts.
	_ = sess.raw.SetDeadline(time.Time{})
	sess.readEnd.Store(readOpen)
	c.SetReadLimit(s.cfg.MaxMessageSize)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.superviseWS(ctx, c, sess) })
	if pushSize > 0 {
		wg.Go(func() { s.pushWS(ctx, c, sess, pushSize, pushEvery) })
	}
	s.echoWS(c, sess)
	cancel()
	wg.Wait()
	c.CloseNow()
}

func parseInterval(v string) (time.Duration, error) {
	if ms, err := strconv.Atoi(v); err == nil {
		return time.Duration(ms) * time.Millisecond, nil
	}
	return time.ParseDuration(v)
}

// echoWS echoes messages until the connection ends.
func (s *Server) echoWS(c *websocket.Conn, sess *session) {
	for {
		typ, b, err := c.Read(context.Background())
		if err != nil {
			switch {
			case errors.Is(err, websocket.ErrMessageTooBig):
				sess.setReason(ReasonReadLimit)
				sess.fail(fmt.Sprintf("message over %d bytes", s.cfg.MaxMessageSize))
				s.reg.count(func(t *Totals) { t.ReadLimitHits++ })
			case websocket.CloseStatus(err) != -1:
				sess.setReason(ReasonClientClosed)
			default:
				sess.mu.Lock()
				ours := sess.closeReason != ""
				sess.mu.Unlock()
				if !ours {
					sess.fail("read: " + err.Error())
				}
			}
			return
		}
		sess.msgsIn.Add(1)
		sess.payloadIn.Add(uint64(len(b)))
		wctx, cancel := context.WithTimeout(context.Background(), s.cfg.WriteTimeout)
		err = c.Write(wctx, typ, b)
		cancel()
		if err != nil {
			sess.setReason(ReasonWriteFailed)
			sess.fail("echo write: " + err.Error())
			return
		}
		sess.msgsOut.Add(1)
		sess.payloadOut.Add(uint64(len(b)))
	}
}

// superviseWS closes the WebSocket when the client has sent nothing (not
// even a ping) for IdleTimeout, or when the server shuts down.
func (s *Server) superviseWS(ctx context.Context, c *websocket.Conn, sess *session) {
	idle := s.cfg.IdleTimeout
	t := time.NewTimer(idle)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.baseCtx.Done():
			sess.setReason(ReasonShutdown)
			s.closeWS(c, sess, websocket.StatusGoingAway, "server shutting down")
			return
		case <-t.C:
			since := time.Since(time.Unix(0, sess.lastRead.Load()))
			if since < idle {
				t.Reset(idle - since)
				continue
			}
			sess.setReason(ReasonIdleTimeout)
			s.reg.count(func(t *Totals) { t.IdleTimeouts++ })
			s.cfg.Log.Info("peer: WebSocket idle timeout", "remote", sess.remote, "idle", idle)
			s.closeWS(c, sess, websocket.StatusPolicyViolation, "idle timeout")
			return
		}
	}
}

// closeWS runs the close handshake for at most closeGrace (or WriteTimeout
// if shorter), then closes the TCP connection under it.
func (s *Server) closeWS(c *websocket.Conn, sess *session, code websocket.StatusCode, reason string) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Close(code, reason)
	}()
	t := time.NewTimer(min(closeGrace, s.cfg.WriteTimeout))
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		sess.raw.Close()
		<-done
	}
}

// pushWS sends a binary message of size bytes every interval: an 8-byte
// big-endian sequence number, then the send time in Unix ns, then filler.
func (s *Server) pushWS(ctx context.Context, c *websocket.Conn, sess *session, size int, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	buf := make([]byte, size)
	copy(buf, s.pattern)
	for i := len(s.pattern); i < size; i += len(s.pattern) {
		copy(buf[i:], s.pattern)
	}
	var seq uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		seq++
		if size >= 8 {
			binary.BigEndian.PutUint64(buf, seq)
		}
		if size >= 16 {
			binary.BigEndian.PutUint64(buf[8:], uint64(time.Now().UnixNano()))
		}
		wctx, cancel := context.WithTimeout(ctx, s.cfg.WriteTimeout)
		err := c.Write(wctx, websocket.MessageBinary, buf)
		cancel()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				sess.fail("push write: " + err.Error())
			}
			return
		}
		sess.pushes.Add(1)
		sess.msgsOut.Add(1)
		sess.payloadOut.Add(uint64(size))
	}
}
