package peer

import (
	"net"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Session kinds: what a TLS connection was used for.
const (
	KindNone      = ""          // no request completed (handshake failure, timeout, refused upgrade)
	KindHTTPS     = "https"     // keep-alive HTTPS requests
	KindWebSocket = "websocket" // upgraded to a WebSocket
)

// Close reasons recorded on sessions.
const (
	ReasonClientClosed     = "client closed"
	ReasonServerClosed     = "server closed" // e.g. after a 431 or a malformed request
	ReasonReadTimeout      = "read timeout"  // HTTPS: header or keep-alive idle deadline
	ReasonHandshakeFailed  = "handshake failed"
	ReasonHandshakeTimeout = "handshake timeout"
	ReasonIdleTimeout      = "idle timeout"
	ReasonReadLimit        = "read limit"
	ReasonWriteFailed      = "write failed"
	ReasonShutdown         = "shutdown"
)

// SessionStats are the counters of one TLS connection. Bytes are counted on
// the wire (TLS records included); payload bytes are WebSocket message
// payloads and HTTP bodies.
type SessionStats struct {
	ID          uint64    `json:"id"`
	Listener    string    `json:"listener"` // "wss" or "https": the port it arrived on
	Kind        string    `json:"kind"`     // KindHTTPS, KindWebSocket or empty
	Remote      string    `json:"remote"`
	Tag         string    `json:"tag,omitempty"` // ?tag= of the first request, e.g. a cell id
	Start       time.Time `json:"start"`
	End         time.Time `json:"end,omitzero"`
	TLSVersion  string    `json:"tls_version,omitempty"`
	CipherSuite string    `json:"cipher_suite,omitempty"`
	Resumed     bool      `json:"resumed,omitempty"`
	Handshakes  uint64    `json:"handshakes"`
	HandshakeNS int64     `json:"handshake_ns,omitempty"`
	BytesIn     uint64    `json:"bytes_in"`
	BytesOut    uint64    `json:"bytes_out"`
	PayloadIn   uint64    `json:"payload_in"`
	PayloadOut  uint64    `json:"payload_out"`
	MessagesIn  uint64    `json:"messages_in"`  // WebSocket messages or HTTP requests received
	MessagesOut uint64    `json:"messages_out"` // WebSocket messages (echo and push) or HTTP responses sent
	Pushes      uint64    `json:"pushes,omitempty"`
	Errors      uint64    `json:"errors"`
	LastError   string    `json:"last_error,omitempty"`
	CloseReason string    `json:"close_reason,omitempty"`
}

// Totals sum over every session since Start, including those no longer in
// Snapshot.Sessions.
type Totals struct {
	Accepted          uint64 `json:"accepted"` // TCP connections taken under the limit
	Refused           uint64 `json:"refused"`  // TCP connections closed at once: over MaxConns
	Active            int64  `json:"active"`
	Handshakes        uint64 `json:"handshakes"`
	HandshakeErrors   uint64 `json:"handshake_errors"`
	HandshakeTimeouts uint64 `json:"handshake_timeouts"`
	IdleTimeouts      uint64 `json:"idle_timeouts"` // WebSockets silent for IdleTimeout
	ReadTimeouts      uint64 `json:"read_timeouts"` // HTTPS connections closed by a header or keep-alive deadline
	ReadLimitHits     uint64 `json:"read_limit_hits"`
	WebSockets        uint64 `json:"websockets"`
	Requests          uint64 `json:"requests"`
	BytesIn           uint64 `json:"bytes_in"`
	BytesOut          uint64 `json:"bytes_out"`
	PayloadIn         uint64 `json:"payload_in"`
	PayloadOut        uint64 `json:"payload_out"`
	MessagesIn        uint64 `json:"messages_in"`
	MessagesOut       uint64 `json:"messages_out"`
	Errors            uint64 `json:"errors"`
}

// Snapshot is the server's counters at one moment; it is what the runner
// stores as peer.json.
type Snapshot struct {
	Taken    time.Time      `json:"taken"`
	Since    time.Time      `json:"since"` // server start, or the earlier snapshot of a delta
	Totals   Totals         `json:"totals"`
	Sessions []SessionStats `json:"sessions"`
	Dropped  uint64         `json:"dropped_sessions,omitempty"` // closed sessions beyond SessionHistory
}

// Delta is s minus an earlier snapshot prev of the same server: totals and
// each session's counters subtracted, sessions unchanged since prev left out.
func (s Snapshot) Delta(prev Snapshot) Snapshot {
	old := make(map[uint64]SessionStats, len(prev.Sessions))
	for _, p := range prev.Sessions {
		old[p.ID] = p
	}
	d := Snapshot{Taken: s.Taken, Since: prev.Taken, Dropped: s.Dropped - min(prev.Dropped, s.Dropped)}
	t, p := s.Totals, prev.Totals
	d.Totals = Totals{
		Accepted: t.Accepted - p.Accepted, Refused: t.Refused - p.Refused, Active: t.Active,
		Handshakes: t.Handshakes - p.Handshakes, HandshakeErrors: t.HandshakeErrors - p.HandshakeErrors,
		HandshakeTimeouts: t.HandshakeTimeouts - p.HandshakeTimeouts, IdleTimeouts: t.IdleTimeouts - p.IdleTimeouts,
		ReadTimeouts: t.ReadTimeouts - p.ReadTimeouts, ReadLimitHits: t.ReadLimitHits - p.ReadLimitHits, WebSockets: t.WebSockets - p.WebSockets,
		Requests: t.Requests - p.Requests, BytesIn: t.BytesIn - p.BytesIn, BytesOut: t.BytesOut - p.BytesOut,
		PayloadIn: t.PayloadIn - p.PayloadIn, PayloadOut: t.PayloadOut - p.PayloadOut,
		MessagesIn: t.MessagesIn - p.MessagesIn, MessagesOut: t.MessagesOut - p.MessagesOut, Errors: t.Errors - p.Errors,
	}
	for _, c := range s.Sessions {
		o, seen := old[c.ID]
		if seen {
			if c == o {
				continue
			}
			c.Handshakes -= o.Handshakes
			c.BytesIn -= o.BytesIn
			c.BytesOut -= o.BytesOut
			c.PayloadIn -= o.PayloadIn
			c.PayloadOut -= o.PayloadOut
			c.MessagesIn -= o.MessagesIn
			c.MessagesOut -= o.MessagesOut
			c.Pushes -= o.Pushes
			c.Errors -= o.Errors
		}
		d.Sessions = append(d.Sessions, c)
	}
	return d
}

// WithTag keeps the sessions whose first request carried ?tag=tag and
// recomputes the totals from them (Refused, which no session carries, is 0).
func (s Snapshot) WithTag(tag string) Snapshot {
	out := Snapshot{Taken: s.Taken, Since: s.Since}
	for _, c := range s.Sessions {
		if c.Tag != tag {
			continue
		}
		out.Sessions = append(out.Sessions, c)
		t := &out.Totals
		t.Accepted++
		if c.End.IsZero() {
			t.Active++
		}
		t.Handshakes += c.Handshakes
		switch c.CloseReason {
		case ReasonHandshakeFailed:
			t.HandshakeErrors++
		case ReasonHandshakeTimeout:
			t.HandshakeErrors++
			t.HandshakeTimeouts++
		case ReasonIdleTimeout:
			t.IdleTimeouts++
		case ReasonReadTimeout:
			t.ReadTimeouts++
		case ReasonReadLimit:
			t.ReadLimitHits++
		}
		if c.Kind == KindWebSocket {
			t.WebSockets++
		} else if c.Kind == KindHTTPS {
			t.Requests += c.MessagesIn
		}
		addSession(t, c)
	}
	return out
}

// session is the live state of one TCP/TLS connection. Counters are atomic
// because the connection's reader, writer and Snapshot run concurrently;
// the rest is guarded by mu.
type session struct {
	id       uint64
	listener string
	remote   string
	start    time.Time
	raw      net.Conn // the TCP connection, for deadlines and forced close
	ip       netip.Addr
	hsDone   atomic.Bool // past the TLS handshake (admission's pending count)

	bytesIn, bytesOut     atomic.Uint64
	payloadIn, payloadOut atomic.Uint64
	msgsIn, msgsOut       atomic.Uint64
	pushes, errs          atomic.Uint64
	lastRead              atomic.Int64 // unix ns of the last byte read
	readEnd               atomic.Int32 // how reading ended: readOpen, readFailed, readTimedOut
	held                  atomic.Bool  // a WebSocket handler releases the session, not Close
	released              sync.Once

	mu          sync.Mutex
	kind        string
	tag         string
	tlsVersion  string
	cipher      string
	resumed     bool
	handshakes  uint64
	handshakeNS int64
	lastError   string
	closeReason string
	end         time.Time
}

func (s *session) stats() SessionStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return SessionStats{
		ID: s.id, Listener: s.listener, Kind: s.kind, Remote: s.remote, Tag: s.tag,
		Start: s.start, End: s.end, TLSVersion: s.tlsVersion, CipherSuite: s.cipher, Resumed: s.resumed,
		Handshakes: s.handshakes, HandshakeNS: s.handshakeNS,
		BytesIn: s.bytesIn.Load(), BytesOut: s.bytesOut.Load(),
		PayloadIn: s.payloadIn.Load(), PayloadOut: s.payloadOut.Load(),
		MessagesIn: s.msgsIn.Load(), MessagesOut: s.msgsOut.Load(), Pushes: s.pushes.Load(),
		Errors: s.errs.Load(), LastError: s.lastError, CloseReason: s.closeReason,
	}
}

// fail counts an error on the session and remembers it.
func (s *session) fail(msg string) {
	s.errs.Add(1)
	s.mu.Lock()
	s.lastError = msg
	s.mu.Unlock()
}

// setReason records why the session ends; the first reason wins.
func (s *session) setReason(r string) {
	s.mu.Lock()
	if s.closeReason == "" {
		s.closeReason = r
	}
	s.mu.Unlock()
}

// use records what the session is used for and its tag (first request).
func (s *session) use(kind, tag string) {
	s.mu.Lock()
	if s.kind == KindNone {
		s.kind = kind
		s.tag = tag
	}
	s.mu.Unlock()
}

// How a session's reading ended, to tell who closed it.
const (
	readOpen int32 = iota
	readFailed
	readTimedOut
)

// registry holds live sessions and a bounded history of closed ones.
type registry struct {
	mu       sync.Mutex
	nextID   uint64
	live     map[uint64]*session
	closed   []SessionStats
	dropped  uint64
	history  int
	started  time.Time
	totals   Totals // counters not derivable from sessions: Accepted, Refused, ...
	retained Totals // sums of closed sessions, including dropped ones
}

func newRegistry(history int, now time.Time) *registry {
	return &registry{live: make(map[uint64]*session), history: history, started: now}
}

func (r *registry) open(listener string, raw net.Conn, now time.Time) *session {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nextID++
	s := &session{id: r.nextID, listener: listener, remote: raw.RemoteAddr().String(), start: now, raw: raw}
	s.lastRead.Store(now.UnixNano())
	r.live[s.id] = s
	r.totals.Accepted++
	return s
}

func (r *registry) refuse() {
	r.mu.Lock()
	r.totals.Refused++
	r.mu.Unlock()
}

// count adds to a totals counter that sessions do not derive.
func (r *registry) count(f func(t *Totals)) {
	r.mu.Lock()
	f(&r.totals)
	r.mu.Unlock()
}

// finish moves a session to the history.
func (r *registry) finish(s *session, now time.Time) {
	s.mu.Lock()
	s.end = now
	timedOut := false
	if s.closeReason == "" {
		switch s.readEnd.Load() {
		case readTimedOut:
			s.closeReason = ReasonReadTimeout
			timedOut = true
		case readFailed:
			s.closeReason = ReasonClientClosed
		default:
			s.closeReason = ReasonServerClosed
		}
	}
	s.mu.Unlock()
	st := s.stats()
	r.mu.Lock()
	defer r.mu.Unlock()
	if timedOut {
		r.totals.ReadTimeouts++
	}
	delete(r.live, s.id)
	addSession(&r.retained, st)
	r.closed = append(r.closed, st)
	if over := len(r.closed) - r.history; over > 0 {
		r.closed = append(r.closed[:0], r.closed[over:]...)
		r.dropped += uint64(over)
	}
}

func addSession(t *Totals, c SessionStats) {
	t.BytesIn += c.BytesIn
	t.BytesOut += c.BytesOut
	t.PayloadIn += c.PayloadIn
	t.PayloadOut += c.PayloadOut
	t.MessagesIn += c.MessagesIn
	t.MessagesOut += c.MessagesOut
	t.Errors += c.Errors
}

func (r *registry) snapshot(now time.Time) Snapshot {
	r.mu.Lock()
	live := make([]*session, 0, len(r.live))
	for _, s := range r.live {
		live = append(live, s)
	}
	snap := Snapshot{Taken: now, Since: r.started, Dropped: r.dropped}
	snap.Sessions = append(make([]SessionStats, 0, len(r.closed)+len(live)), r.closed...)
	t := r.totals
	sum := r.retained
	r.mu.Unlock()
	for _, s := range live {
		st := s.stats()
		addSession(&sum, st)
		snap.Sessions = append(snap.Sessions, st)
	}
	t.Active = int64(len(live))
	t.BytesIn, t.BytesOut = sum.BytesIn, sum.BytesOut
	t.PayloadIn, t.PayloadOut = sum.PayloadIn, sum.PayloadOut
	t.MessagesIn, t.MessagesOut = sum.MessagesIn, sum.MessagesOut
	t.Errors = sum.Errors
	snap.Totals = t
	sort.Slice(snap.Sessions, func(i, j int) bool { return snap.Sessions[i].ID < snap.Sessions[j].ID })
	return snap
}

// liveSessions lists the open sessions.
func (r *registry) liveSessions() []*session {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*session, 0, len(r.live))
	for _, s := range r.live {
		out = append(out, s)
	}
	return out
}
