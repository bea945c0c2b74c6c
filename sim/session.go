package sim

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/wsbench/wsbench/sim/heap"
	"github.com/wsbench/wsbench/wire"
)

// networkTimeout is the client's network timeout (WEBSOCKET_NETWORK_TIMEOUT_MS
// 10*1000 in esp_websocket_client.c; esp_http_client uses the same default).
const networkTimeout = 10 * time.Second

// allocation methods of the modelled components.
type allocHow uint8

const (
	howMalloc   allocHow = iota // malloc/calloc: heap_caps_malloc_default routing
	howInternal                 // heap_caps_malloc(MALLOC_CAP_INTERNAL|MALLOC_CAP_8BIT): queues, TCBs, xTaskCreate stacks
	howTLS                      // the mbedTLS allocator, per MBEDTLS_MEM_ALLOC_MODE
	howSPIRAM                   // heap_caps_malloc(MALLOC_CAP_SPIRAM) (PR 980)
	howSPIRAM8                  // heap_caps_calloc(MALLOC_CAP_SPIRAM|MALLOC_CAP_8BIT) (PR 1117)
	howDefault                  // heap_caps_calloc(MALLOC_CAP_DEFAULT): PSRAM first when PSRAM is a heap (PR 1117, option off)
)

type block struct {
	label string
	ptr   heap.Ptr
}

// memSet is the memory one component holds.
type memSet struct{ blocks []block }

// alloc allocates n bytes for label; on failure it emits EventAllocFailed
// and returns false.
func (m *machine) alloc(s *memSet, session int, label string, n uint32, how allocHow) bool {
	var p heap.Ptr
	var ok bool
	var caps heap.Caps
	h := m.heaps
	switch how {
	case howMalloc:
		caps = heap.CapDefault
		p, ok = h.Malloc(n, label)
	case howInternal:
		caps = heap.CapInternal | heap.Cap8Bit
		p, ok = h.CapsMalloc(n, caps, label)
	case howSPIRAM:
		caps = heap.CapSPIRAM
		p, ok = h.CapsMalloc(n, caps, label)
	case howSPIRAM8:
		caps = heap.CapSPIRAM | heap.Cap8Bit
		p, ok = h.CapsMalloc(n, caps, label)
	case howDefault:
		caps = heap.CapDefault
		p, ok = h.CapsMalloc(n, caps, label)
	case howTLS:
		switch m.b.opts.MbedTLSAlloc {
		case MbedTLSAllocExternal:
			caps = heap.CapSPIRAM | heap.Cap8Bit
			p, ok = h.CapsMalloc(n, caps, label)
		case MbedTLSAllocDefault:
			caps = heap.CapDefault
			p, ok = h.Malloc(n, label)
		case MbedTLSAllocIRAM8:
			caps = heap.CapIRAM8Bit
			p, ok = h.CapsMallocPrefer(n, label, heap.CapIRAM8Bit, heap.CapInternal|heap.Cap8Bit)
		default: // internal; custom is modelled as internal (estimate)
			caps = heap.CapInternal | heap.Cap8Bit
			p, ok = h.CapsMalloc(n, caps, label)
		}
	}
	if !ok {
		m.event(wire.Event{Kind: wire.EventAllocFailed, Session: int16(session), Err: int32(caps), Size: n, Name: label})
		return false
	}
	s.blocks = append(s.blocks, block{label, p})
	return true
}

// free releases every block of s labelled label (all blocks when label is "").
func (m *machine) free(s *memSet, label string) {
	kept := s.blocks[:0]
	for _, b := range s.blocks {
		if label == "" || b.label == label {
			m.heaps.Free(b.ptr)
			continue
		}
		kept = append(kept, b)
	}
	s.blocks = kept
}

// freeShuffled releases the blocks labelled label in a seeded random order
// (the documented allocation-order variation).
func (m *machine) freeShuffled(s *memSet, label string) {
	var idx []int
	for i, b := range s.blocks {
		if b.label == label {
			idx = append(idx, i)
		}
	}
	m.run.rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	for _, i := range idx {
		m.heaps.Free(s.blocks[i].ptr)
	}
	m.free(s, label) // drops the freed entries (Free of a freed pointer is a no-op false)
}

// session is one TLS session: the websocket client or an HTTPS keep-alive
// client, with its TLS and lwIP memory and its real connection.
type session struct {
	idx    int
	ws     bool
	url    string
	prefix string // "ws", "ws[i]" or "https[i]"
	client memSet // client init allocations
	task   memSet // websocket task stack + TCB
	tls    memSet
	lwip   memSet
	open   bool // counted in machine.open
	// peerCert is what mbedTLS keeps of the chain the peer sent
	// (peerCertCost), chainDER its DER bytes and ecdsa whether its leaf's key
	// is ECDSA P-256; set when the real connection is made.
	peerCert uint32
	chainDER int
	ecdsa    bool
	wsConn   *websocket.Conn
	wsHTTP   *http.Client
	rx       chan []byte   // messages read by the session's reader goroutine
	rxDone   chan struct{} // closed when the reader ends
	rxErr    error         // why the reader ended (valid after rxDone)
	tlsConn  *tls.Conn
	stackCap uint32 // websocket task stack size
}

func (s *session) label(part string) string { return s.prefix + "/" + part }

func (s *session) tlsLabel(part string) string { return fmt.Sprintf("tls[%d]/%s", s.idx, part) }

func (s *session) lwipLabel(part string) string { return fmt.Sprintf("lwip[%d]/%s", s.idx, part) }

// closeNet closes the real connection.
func (s *session) closeNet() {
	if s.wsConn != nil {
		_ = s.wsConn.CloseNow()
		s.wsConn = nil
	}
	if s.wsHTTP != nil {
		s.wsHTTP.CloseIdleConnections()
		s.wsHTTP = nil
	}
	if s.tlsConn != nil {
		_ = s.tlsConn.Close()
		s.tlsConn = nil
	}
	if s.rxDone != nil {
		<-s.rxDone
		s.rxDone = nil
	}
}

// poke sends one keep-alive over the real connection (mutex released): a
// websocket PING, or a keep-alive GET on an HTTPS session.
func (m *machine) poke(ctx context.Context, s *session) error {
	m.mu.Unlock()
	defer m.mu.Lock()
	ctx, cancel := context.WithTimeout(ctx, networkTimeout)
	defer cancel()
	if s.wsConn != nil {
		select {
		case <-s.rxDone:
			return fmt.Errorf("websocket closed: %w", s.rxErr) // the peer ended it
		default:
		}
		return s.wsConn.Ping(ctx)
	}
	if s.tlsConn == nil {
		return errors.New("no connection")
	}
	host, path, _ := splitURL(s.url, "https")
	return httpGet(ctx, s.tlsConn, host, path)
}

// httpGet makes one keep-alive request on conn and reads the response.
func httpGet(ctx context.Context, conn *tls.Conn, host, path string) error {
	dl, _ := ctx.Deadline()
	_ = conn.SetDeadline(dl)
	defer conn.SetDeadline(time.Time{})
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: ESP32 HTTP Client/1.0\r\nConnection: keep-alive\r\n\r\n", path, host)
	if _, err := io.WriteString(conn, req); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return fmt.Errorf("read HTTP response: %w", err)
	}
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	if err != nil {
		return fmt.Errorf("read HTTP body: %w", err)
	}
	if resp.Close {
		return errors.New("server closed the keep-alive connection")
	}
	return nil
}

// splitURL checks a URL of the given scheme and returns host and path.
func splitURL(raw, scheme string) (host, path string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("parse %q: %w", raw, err)
	}
	if u.Scheme != scheme {
		return "", "", fmt.Errorf("%q: want a %s:// URL", raw, scheme)
	}
	if u.Host == "" {
		return "", "", fmt.Errorf("%q: no host", raw)
	}
	path = u.RequestURI()
	return u.Host, path, nil
}

// urlParts is what esp_websocket_client and esp_http_client keep of a URL
// (http_parser fields): host without port, port, path and query.
type urlParts struct{ host, port, path, query string }

func parseURLParts(raw string) urlParts {
	u, err := url.Parse(raw)
	if err != nil {
		return urlParts{}
	}
	return urlParts{host: u.Hostname(), port: u.Port(), path: u.EscapedPath(), query: u.RawQuery}
}

// allocStep is one allocation of a modelled init function.
type allocStep struct {
	label string
	n     uint32
	how   allocHow
}

// allocSteps makes steps in order; it stops at the first that fails.
func (m *machine) allocSteps(set *memSet, s *session, steps []allocStep) error {
	for _, st := range steps {
		if !m.alloc(set, s.idx, s.label(st.label), st.n, st.how) {
			return errNoMem
		}
	}
	return nil
}

// str is the heap a C string of s takes (strdup, asprintf).
func str(s string) uint32 { return uint32(len(s) + 1) }

// transportSteps are esp_transport_tcp_init or esp_transport_ssl_init
// (item, foundation, error storage, transport_esp_tls_t) and
// esp_transport_list_add's copy of scheme.
func transportSteps(label, scheme string) []allocStep {
	return []allocStep{
		{label, transportItem, howMalloc}, {label, transportFound, howMalloc}, {label, transportErrors, howMalloc},
		{label, transportTLS, howMalloc}, {label, str(scheme), howMalloc},
	}
}

// errPlacement is a strict-behaviour placement failure: the run fails.
type errPlacement struct{ msg string }

func (e *errPlacement) Error() string { return e.msg }

// openSession creates, starts and connects session i. A failed session
// returns (nil, nil) after its events; a crash returns a *rebootError; a
// strict placement failure sets run.failed.
func (m *machine) openSession(ctx context.Context, i int, ws bool, rawURL string) (*session, error) {
	s := &session{idx: i, ws: ws, url: rawURL}
	switch {
	case ws && i == 0:
		s.prefix = "ws"
	case ws:
		s.prefix = fmt.Sprintf("ws[%d]", i)
	default:
		s.prefix = fmt.Sprintf("https[%d]", i)
	}
	var err error
	if ws {
		err = m.wsInit(s)
		if err == nil {
			m.event(wire.Event{Kind: wire.EventClientCreated, Session: int16(i), Name: s.prefix})
			err = m.wsStart(s)
		}
	} else {
		err = m.httpInit(s)
	}
	if err == nil {
		err = m.connect(ctx, s)
	}
	if err == nil {
		return s, nil
	}
	var rb *rebootError
	if errors.As(err, &rb) {
		s.closeNet() // the board is rebooting: nothing more is modelled
		return nil, err
	}
	if s.open {
		// A failed or interrupted connection is never reported as closed.
		s.open = false
		m.open--
	}
	if ctx.Err() != nil {
		m.closeSession(s)
		return nil, err
	}
	var ce *connectError
	var pe *errPlacement
	code := int32(espFail)
	switch {
	case errors.As(err, &ce):
		code = ce.code
	case errors.As(err, &pe):
		m.run.failed = err
	case errors.Is(err, errNoMem):
		code = espErrNoMem
	}
	m.logf('E', "wsbench", "session %d (%s): %v", i, s.prefix, err)
	m.event(wire.Event{Kind: wire.EventSessionFailed, Session: int16(i), Err: code, Name: s.prefix})
	m.closeSession(s)
	return nil, nil
}

var errNoMem = errors.New("out of memory (ESP_ERR_NO_MEM)")

// wsInit models esp_websocket_client_init (facts §1).
func (m *machine) wsInit(s *session) error {
	o := m.b.opts
	strict := m.b.cfg.Behaviour == wire.BehaviourStrict
	c := &s.client
	place := func(label string, n uint32) error {
		if !o.WSAllocInExtRAM {
			// Option off. PR 1117 calls heap_caps_calloc(MALLOC_CAP_DEFAULT)
			// (ESP_WS_CLIENT_OBJ_MEMORY): the PSRAM heap, registered last
			// and so tried first, carries MALLOC_CAP_DEFAULT, so the struct
			// and config land in PSRAM whenever PSRAM is a heap, option or
			// not (measured in QEMU at PR 1117's merge commit: docs/qemu.md).
			// PR 980's head and release 1.8.0 call calloc, which keeps them
			// internal (SPIRAM_MALLOC_ALWAYSINTERNAL).
			how := howMalloc
			if strict {
				how = howDefault
			}
			if !m.alloc(c, s.idx, s.label(label), n, how) {
				return errNoMem
			}
			return nil
		}
		if strict {
			// PR 1117: heap_caps_calloc(MALLOC_CAP_SPIRAM|MALLOC_CAP_8BIT), no fallback.
			if !m.alloc(c, s.idx, s.label(label), n, howSPIRAM8) {
				m.logf('E', "websocket_client", "Failed to allocate %s in PSRAM (CONFIG_ESP_WS_CLIENT_ALLOC_IN_EXT_RAM)", label)
				return &errPlacement{fmt.Sprintf("esp_websocket_client_init returned NULL: %s: heap_caps_calloc(%d, MALLOC_CAP_SPIRAM|MALLOC_CAP_8BIT) failed (ALLOC_IN_EXT_RAM, strict: no fallback)", s.label(label), n)}
			}
			return nil
		}
		// PR 980: heap_caps_calloc(MALLOC_CAP_SPIRAM), falling back to calloc.
		if m.alloc(c, s.idx, s.label(label), n, howSPIRAM) {
			return nil
		}
		m.logf('W', "websocket_client", "PSRAM allocation of %s failed, falling back to internal RAM", label)
		if !m.alloc(c, s.idx, s.label(label), n, howMalloc) {
			return errNoMem
		}
		return nil
	}
	if err := place("client", wsClientStruct); err != nil {
		return err
	}
	u := parseURLParts(s.url)
	path := u.path
	if u.query != "" {
		path += "?" + u.query
	}
	// esp_event_loop_create (no task) and the client lock.
	if err := m.allocSteps(c, s, []allocStep{
		{"event_loop", wsEventLoopStruct, howMalloc},
		{"event_loop", wsEventQueue, howInternal},
		{"event_loop", wsEventLoopMutex, howInternal},
		{"lock", wsLockMutex, howInternal},
	}); err != nil {
		return err
	}
	if err := place("config", wsConfigStorage); err != nil {
		return err
	}
	// esp_websocket_client_set_uri (scheme, host, path) and set_config (uri
	// copy; the firmware sets no user agent, headers or subprotocol), the
	// buffers, the status bits, then the firmware's
	// esp_websocket_register_events.
	steps := []allocStep{
		{"strings", str("wss"), howMalloc},
		{"strings", str(u.host), howMalloc},
		{"strings", str(path), howMalloc},
		{"strings", str(s.url), howMalloc},
	}
	if !o.WSDynamicBuffer {
		steps = append(steps, allocStep{"rx_buf", o.WSBufferSize, howMalloc}, allocStep{"tx_buf", o.WSBufferSize, howMalloc})
	}
	steps = append(steps,
		allocStep{"event_group", wsEventGroup, howInternal},
		allocStep{"handler", evLoopNode, howMalloc}, allocStep{"handler", evBaseNode, howMalloc},
		allocStep{"handler", evHandlerNode, howMalloc}, allocStep{"handler", evHandlerCtx, howMalloc},
	)
	// esp_websocket_client_create_transport (at start; one-time all the
	// same): the list, the ssl transport, the ws transport on it (its path
	// copy, "/" replaced by the client's path) and its buffer.
	steps = append(steps, allocStep{"transport_list", transportList, howMalloc})
	steps = append(steps, transportSteps("transport_ssl", "_ssl")...)
	steps = append(steps,
		allocStep{"transport_ws", transportItem, howMalloc},
		allocStep{"transport_ws", transportWSState, howMalloc},
		allocStep{"transport_ws", str(path), howMalloc},
		allocStep{"ws_buf", wsTransportBuf, howMalloc},
		allocStep{"transport_ws", str("wss"), howMalloc},
	)
	steps = append(steps, allocStep{"unattributed", wsUnattributed, howInternal})
	return m.allocSteps(c, s, steps)
}

// wsStart models esp_websocket_client_start: the websocket task (facts §1
// placement rows, §3 TCB row).
func (m *machine) wsStart(s *session) error {
	o := m.b.opts
	stack := o.WSTaskStack
	if m.b.getFaults().SmallStack {
		stack = wsSmallStackSize
	}
	s.stackCap = stack
	t := &s.task
	inPSRAM := false
	switch {
	case !o.WSTaskStackInExtRAM:
		// xTaskCreate: stack then TCB, both internal (facts §3 "xTaskCreate stacks").
		if !m.alloc(t, s.idx, s.label("stack"), stack, howInternal) || !m.alloc(t, s.idx, s.label("tcb"), tcbSize, howInternal) {
			return errNoMem
		}
	case m.b.cfg.Behaviour == wire.BehaviourStrict:
		// PR 1117: xTaskCreatePinnedToCoreWithCaps(..., MALLOC_CAP_SPIRAM): TCB internal, stack SPIRAM.
		if !m.alloc(t, s.idx, s.label("tcb"), tcbSize, howInternal) {
			return errNoMem
		}
		if !m.alloc(t, s.idx, s.label("stack"), stack, howSPIRAM) {
			m.logf('E', "websocket_client", "Error create websocket task")
			return &errPlacement{fmt.Sprintf("esp_websocket_client_start returned ESP_FAIL: %s: %d-byte task stack not allocatable with MALLOC_CAP_SPIRAM (TASK_STACK_IN_EXT_RAM, strict: no fallback)", s.label("stack"), stack)}
		}
		inPSRAM = true
	default:
		// PR 980: heap_caps_malloc(stack, MALLOC_CAP_SPIRAM) + internal TCB,
		// xTaskCreateStaticPinnedToCore; xTaskCreate when PSRAM fails.
		if m.alloc(t, s.idx, s.label("stack"), stack, howSPIRAM) {
			if !m.alloc(t, s.idx, s.label("tcb"), tcbSize, howInternal) {
				return errNoMem
			}
			inPSRAM = true
		} else {
			m.logf('W', "websocket_client", "Failed to allocate task stack in PSRAM, falling back to xTaskCreate")
			if !m.alloc(t, s.idx, s.label("stack"), stack, howInternal) || !m.alloc(t, s.idx, s.label("tcb"), tcbSize, howInternal) {
				return errNoMem
			}
		}
	}
	kind := wire.HeapInternal
	if inPSRAM {
		kind = wire.HeapSPIRAM
	}
	if s.prefix == "ws" {
		m.wsHWM = int32(stack) - wsStackIdleUse
	}
	m.event(wire.Event{Kind: wire.EventTaskStarted, Session: int16(s.idx), Name: "websocket_task", Size: stack, Err: int32(kind)})
	return nil
}

// httpInit models esp_http_client_init as the firmware calls it (url,
// cert_pem, keep-alive; sizes in model.go).
func (m *machine) httpInit(s *session) error {
	u := parseURLParts(s.url)
	hostHeader := u.host
	if u.port != "" {
		hostHeader += ":" + u.port
	}
	steps := []allocStep{
		{"client", httpClientStruct, howMalloc}, {"client", httpParser, howMalloc}, {"client", httpParserSettings, howMalloc},
		{"client", httpAuthData, howMalloc},
		{"request", httpData, howMalloc}, {"request", httpHeaderList, howMalloc}, {"request", httpBufferStruct, howMalloc},
		{"response", httpData, howMalloc}, {"response", httpHeaderList, howMalloc}, {"response", httpBufferStruct, howMalloc},
		{"transport_list", transportList, howMalloc},
	}
	steps = append(steps, transportSteps("transport_tcp", "http")...)
	steps = append(steps, transportSteps("transport_ssl", "https")...)
	// connection_info strings (esp_http_client_set_url), the buffers, the
	// User-Agent and Host headers.
	steps = append(steps,
		allocStep{"strings", str(u.host), howMalloc}, allocStep{"strings", str("https"), howMalloc},
		allocStep{"strings", str(u.path), howMalloc},
	)
	if u.query != "" {
		steps = append(steps, allocStep{"strings", str(u.query), howMalloc})
	}
	steps = append(steps,
		allocStep{"tx_buf", httpBuffer, howMalloc}, allocStep{"rx_buf", httpBuffer, howMalloc},
		allocStep{"headers", httpHeaderItem, howMalloc}, allocStep{"headers", str("User-Agent"), howMalloc}, allocStep{"headers", str(httpUserAgent), howMalloc},
		allocStep{"headers", httpHeaderItem, howMalloc}, allocStep{"headers", str("Host"), howMalloc}, allocStep{"headers", str(hostHeader), howMalloc},
	)
	return m.allocSteps(&s.client, s, steps)
}

// connectError carries an esp_err_t for EventSessionFailed.
type connectError struct {
	code int32
	err  error
}

func (e *connectError) Error() string { return fmt.Sprintf("connect (0x%x): %v", e.code, e.err) }
func (e *connectError) Unwrap() error { return e.err }

func classify(err error) int32 {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.As(err, &dnsErr):
		return espErrTLSCannotResolve
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return espErrTLSConnectionTimeout
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return espErrTLSFailedConnect
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return espErrTLSFailedConnect
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed), websocket.CloseStatus(err) != -1:
		return espErrTLSTCPClosedFIN
	}
	var recErr tls.RecordHeaderError
	var certErr *tls.CertificateVerificationError
	var alert tls.AlertError
	if errors.As(err, &recErr) || errors.As(err, &certErr) || errors.As(err, &alert) || strings.Contains(err.Error(), "tls:") {
		return espErrMbedTLSHandshake
	}
	return espFail
}

// dial opens the real connection (mutex released): the TLS handshake, and
// for websocket sessions the HTTP upgrade, for HTTPS sessions one keep-alive
// GET. It returns the wall time it took.
func (m *machine) dial(ctx context.Context, s *session) (time.Duration, error) {
	tc := m.b.tlsConf.Clone()
	m.mu.Unlock()
	defer m.mu.Lock()
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, networkTimeout)
	defer cancel()
	if s.ws {
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tc, DisableCompression: true, DialContext: m.b.cfg.Dial}}
		c, resp, err := websocket.Dial(ctx, s.url, &websocket.DialOptions{HTTPClient: hc})
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		if err != nil {
			hc.CloseIdleConnections()
			return time.Since(start), &connectError{classify(err), err}
		}
		s.wsConn, s.wsHTTP = c, hc
		if resp != nil && resp.TLS != nil {
			s.setPeerChain(resp.TLS.PeerCertificates)
		}
		// Like the websocket task, read everything the peer sends (this
		// also answers its pings and lets Ping see pongs).
		s.rx, s.rxDone = make(chan []byte, 64), make(chan struct{})
		go func() {
			defer close(s.rxDone)
			for {
				_, data, err := c.Read(context.Background())
				if err != nil {
					s.rxErr = err
					return
				}
				select {
				case s.rx <- data:
				default: // nobody waits for it: dropped, as an unhandled DATA event
				}
			}
		}()
		return time.Since(start), nil
	}
	host, path, _ := splitURL(s.url, "https")
	addr := host
	if _, _, err := net.SplitHostPort(host); err != nil {
		addr = net.JoinHostPort(host, "443")
	}
	if h, _, err := net.SplitHostPort(addr); err == nil && tc.ServerName == "" {
		tc.ServerName = h
	}
	var tconn *tls.Conn
	if dial := m.b.cfg.Dial; dial != nil {
		raw, err := dial(ctx, "tcp", addr)
		if err != nil {
			return time.Since(start), &connectError{classify(err), err}
		}
		tconn = tls.Client(raw, tc)
		if err := tconn.HandshakeContext(ctx); err != nil {
			_ = raw.Close()
			return time.Since(start), &connectError{classify(err), err}
		}
	} else {
		d := &tls.Dialer{Config: tc}
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return time.Since(start), &connectError{classify(err), err}
		}
		tconn = conn.(*tls.Conn)
	}
	if err := httpGet(ctx, tconn, host, path); err != nil {
		_ = tconn.Close()
		return time.Since(start), &connectError{classify(err), err}
	}
	s.tlsConn = tconn
	s.setPeerChain(tconn.ConnectionState().PeerCertificates)
	return time.Since(start), nil
}

// setPeerChain records what the session's memory model needs of the chain
// the peer sent.
func (s *session) setPeerChain(chain []*x509.Certificate) {
	s.peerCert = peerCertCost(chain)
	s.chainDER = 0
	for _, c := range chain {
		s.chainDER += len(c.Raw)
	}
	s.ecdsa = len(chain) > 0 && isECDSAP256(chain[0])
}

func isECDSAP256(c *x509.Certificate) bool {
	k, ok := c.PublicKey.(*ecdsa.PublicKey)
	return ok && k.Curve == elliptic.P256()
}

// peerCertCost is what mbedTLS keeps of a peer's certificate chain with
// MBEDTLS_SSL_KEEP_PEER_CERTIFICATE: per certificate, by its key
// (tlsPeerCertECDSAP256 measured in QEMU, tlsPeerCertRSA2048 an estimate
// used for every other key). An unknown chain costs one RSA-2048
// certificate. The cost depends on the key only, never on the DER's exact
// length, so that runs with freshly generated certificates give the same
// figures.
func peerCertCost(chain []*x509.Certificate) uint32 {
	if len(chain) == 0 {
		return tlsPeerCertRSA2048
	}
	var n uint32
	for _, c := range chain {
		if isECDSAP256(c) {
			n += tlsPeerCertECDSAP256
		} else {
			n += tlsPeerCertRSA2048
		}
	}
	return n
}

// connect models the TCP connection, the mbedTLS session and its handshake
// (facts §2) around the real connection.
func (m *machine) connect(ctx context.Context, s *session) error {
	o := m.b.opts
	r := m.run
	i := s.idx
	// lwIP socket (estimates).
	for _, st := range []struct {
		l string
		n uint32
	}{{"pcb", lwipPCB}, {"netconn", lwipNetconn}, {"recvmbox", lwipMboxHead}, {"recvmbox", lwipMboxQueue}} {
		if !m.alloc(&s.lwip, i, s.lwipLabel(st.l), st.n, howInternal) {
			return errNoMem
		}
	}
	// esp_tls_t (esp-tls calloc) and mbedtls_ssl_setup buffers.
	if !m.alloc(&s.tls, i, s.tlsLabel("ctx"), tlsCtx, howMalloc) ||
		!m.alloc(&s.tls, i, s.tlsLabel("ca_chain"), tlsCAChain, howTLS) {
		return errNoMem
	}
	inLen := o.MbedTLSInContentLen + tlsRecordOverhead
	outLen := o.MbedTLSOutContentLen + tlsRecordOverhead
	if o.MbedTLSDynamicBuffer {
		if !m.alloc(&s.tls, i, s.tlsLabel("in_buf"), tlsDynIdleIn+tlsDynWrapper, howTLS) {
			return errNoMem
		}
	} else if !m.alloc(&s.tls, i, s.tlsLabel("in_buf"), inLen, howTLS) || !m.alloc(&s.tls, i, s.tlsLabel("out_buf"), outLen, howTLS) {
		return errNoMem
	}
	s.open = true
	m.open++
	// The real connection.
	// Virtual time takes the model's network time, never the wall time of
	// the real connection (which varies from run to run).
	_, err := m.dial(ctx, s)
	cpu := tlsHandshakeCPUESP32S3
	if m.b.prof.Chip == "esp32" {
		cpu = tlsHandshakeCPUESP32
	}
	hsTime := int64(float64(cpu)*(1+tlsHandshakeCPUJitter*(2*r.rng.Float64()-1))) + netConnectTime
	if err != nil {
		_ = m.advance(ctx, netConnectTime)
		return err
	}
	step := hsTime / 6
	adv := func() error { return m.advance(ctx, step) }
	// Server flight arrives: rx pbufs, handshake params, peer certificate.
	for k := 0; k < rxPbufs(s.chainDER); k++ {
		if !m.alloc(&s.lwip, i, s.lwipLabel("rx_pbuf"), lwipRxPbuf, howInternal) {
			return errNoMem
		}
	}
	if o.MbedTLSDynamicBuffer {
		m.free(&s.tls, s.tlsLabel("in_buf"))
		if !m.alloc(&s.tls, i, s.tlsLabel("in_buf"), tlsDynHandshakeRecord+tlsRecordOverhead+tlsDynWrapper, howTLS) {
			return errNoMem
		}
	}
	if !m.alloc(&s.tls, i, s.tlsLabel("handshake"), tlsHandshake, howTLS) ||
		!m.alloc(&s.tls, i, s.tlsLabel("peer_cert"), s.peerCert, howTLS) {
		return errNoMem
	}
	if err := m.stackUse(s, wsStackTLSUse/2); err != nil {
		return err
	}
	if err := adv(); err != nil {
		return err
	}
	// Certificate verified.
	if !o.MbedTLSKeepPeerCert {
		m.free(&s.tls, s.tlsLabel("peer_cert"))
		if !m.alloc(&s.tls, i, s.tlsLabel("peer_digest"), tlsPeerDigest, howTLS) {
			return errNoMem
		}
	}
	if o.MbedTLSDynamicBuffer {
		// MBEDTLS_DYNAMIC_FREE_CA_CERT (facts §2, default y with dynamic buffers).
		m.free(&s.tls, s.tlsLabel("ca_chain"))
	}
	m.freeShuffled(&s.lwip, s.lwipLabel("rx_pbuf"))
	// Key exchange: the peak.
	kex := uint32(tlsKexTotal)
	if s.ecdsa {
		kex = tlsKexECDSAP256
	}
	for k := 0; k < tlsKexBlocks; k++ {
		n := uint32(float64(kex/tlsKexBlocks) * (1 + tlsKexJitter*(2*r.rng.Float64()-1)))
		if !m.alloc(&s.tls, i, s.tlsLabel("kex"), n, howTLS) {
			return errNoMem
		}
	}
	if !m.alloc(&s.tls, i, s.tlsLabel("transform"), tlsTransform, howTLS) ||
		!m.alloc(&s.tls, i, s.tlsLabel("session"), tlsSession, howTLS) {
		return errNoMem
	}
	if m.b.prof.SoftwareCrypto {
		if !m.alloc(&s.tls, i, s.tlsLabel("sw_aes_sha"), tlsSoftCryptoCtx, howTLS) {
			return errNoMem
		}
	} else if !m.hwCrypto {
		// The accelerator drivers' state, taken once and kept (hwCryptoFirstUse).
		var kept memSet // never freed: the drivers keep it until reboot
		if !m.alloc(&kept, i, "idf/hw_crypto", hwCryptoFirstUse, howInternal) {
			return errNoMem
		}
		m.hwCrypto = true
	}
	if err := m.stackUse(s, wsStackTLSPeak(r.rng)); err != nil {
		return err
	}
	if err := adv(); err != nil {
		return err
	}
	if err := adv(); err != nil {
		return err
	}
	m.freeShuffled(&s.tls, s.tlsLabel("kex"))
	if o.MbedTLSDynamicBuffer {
		if !m.alloc(&s.tls, i, s.tlsLabel("out_buf"), outLen+tlsDynWrapper, howTLS) {
			return errNoMem
		}
	}
	if err := adv(); err != nil {
		return err
	}
	m.free(&s.tls, s.tlsLabel("handshake"))
	if o.MbedTLSDynamicBuffer {
		m.free(&s.tls, s.tlsLabel("out_buf"))
		m.free(&s.tls, s.tlsLabel("in_buf"))
		if !m.alloc(&s.tls, i, s.tlsLabel("in_buf"), tlsDynIdleIn+tlsDynWrapper, howTLS) {
			return errNoMem
		}
	}
	if err := m.advance(ctx, hsTime-4*step); err != nil {
		return err
	}
	m.event(wire.Event{Kind: wire.EventSessionConnected, Session: int16(i), DurUS: uint32(min(hsTime, 1<<32-1)), Name: s.prefix})
	m.logf('I', "wsbench", "session %d (%s) connected in %d ms", i, s.prefix, hsTime/1000)
	return nil
}

// stackUse records websocket task stack use; a use beyond the stack is an
// overflow: the sampler sees a high-water mark of 0, FreeRTOS reports the
// overflow and the board reboots.
func (m *machine) stackUse(s *session, used int32) error {
	if s.prefix != "ws" {
		return nil
	}
	hwm := int32(s.stackCap) - used
	if hwm < m.wsHWM || m.wsHWM < 0 {
		m.wsHWM = max(hwm, 0)
	}
	if hwm > 0 {
		return nil
	}
	m.sample(false)
	m.stackOverflow("websocket_task")
	return &rebootError{resetPanic}
}

// closeSession stops and destroys a session: the real connection, the
// websocket task, the TLS session, the socket and the client, with events.
func (m *machine) closeSession(s *session) {
	s.closeNet()
	m.free(&s.tls, "")
	m.free(&s.lwip, "")
	if s.open {
		s.open = false
		m.open--
		m.event(wire.Event{Kind: wire.EventSessionClosed, Session: int16(s.idx), Name: s.prefix})
	}
	if len(s.task.blocks) > 0 {
		m.free(&s.task, "")
		if s.prefix == "ws" {
			m.wsHWM = -1
		}
		m.event(wire.Event{Kind: wire.EventTaskStopped, Session: int16(s.idx), Name: "websocket_task"})
	}
	m.destroy(s)
}

// destroy frees the client's own memory (esp_websocket_client_destroy,
// esp_http_client_cleanup).
func (m *machine) destroy(s *session) {
	if len(s.client.blocks) == 0 {
		return
	}
	m.free(&s.client, "")
	if s.ws {
		m.event(wire.Event{Kind: wire.EventClientDestroyed, Session: int16(s.idx), Name: s.prefix})
	}
}
