package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/authcli/authcli/internal/tokens"
	"github.com/authcli/authcli/internal/vault"
)

// Want names the identity whose token must be fresh, as a command names
// it: the provider ("" for the default), optionally the account and the
// subject.
type Want struct {
	Provider string
	Account  string
	Subject  string
	MinTTL   time.Duration
	IDToken  bool
}

// FreshFunc returns tokens for w, reading and writing v: the sign-in
// use case's refresh, which the agent runs on behalf of its clients. It
// must keep its own cross-process refresh lock (other authcli processes
// without the agent may share the vault).
type FreshFunc func(ctx context.Context, v vault.Vault, w Want) (tokens.Record, error)

// Secret is what unlocks a file vault: its raw key (base64) or its
// passphrase. The OS keyring needs neither. String redacts.
type Secret struct {
	VaultKey   string
	Passphrase string
}

// String never prints the secret.
func (s Secret) String() string { return "agent.Secret(redacted)" }

// GoString matches String.
func (s Secret) GoString() string { return s.String() }

// Opener opens and checks the vault (a wrong key must fail here, not on
// first use), for start and for authcli agent unlock.
type Opener func(Secret) (vault.Vault, error)

// Config is what a Server needs; Open and Fresh are required.
type Config struct {
	Open  Opener
	Fresh FreshFunc
	// VaultKind names the backend for status ("keyring", "file").
	VaultKind string
	// Lifetime is how long the vault stays open after it was unlocked;
	// zero keeps it open until lock or stop.
	Lifetime time.Duration
	// ForwardAllow lists the providers forwarded connections may get
	// tokens for; empty allows every provider.
	ForwardAllow []string
	// ConfirmForwarded asks Confirm before each forwarded request, like
	// ssh-add -c. Without a Confirm function every such request is denied.
	ConfirmForwarded bool
	Confirm          func(ctx context.Context, prompt string) (bool, error)
	// Describe turns an error of Fresh or Open into a code and one
	// sentence for the client; nil uses the error's text.
	Describe func(error) (code, message string)
	// Logf receives one line per event worth keeping: refused
	// connections, forwarded requests, locks. Nil discards.
	Logf func(format string, args ...any)
	Now  func() time.Time
	// Memory describes how the process protects its memory (Harden's
	// answer), for status.
	Memory string
	// RefreshTimeout bounds one refresh; default 2 minutes.
	RefreshTimeout time.Duration
	// IdleAfter stops refreshing ahead for an identity nobody asked for
	// in this long; default 1 hour.
	IdleAfter time.Duration
	// UID is the only user allowed to connect; default os.Getuid().
	UID int
}

// Server is the agent. Create it with NewServer, give it listeners with
// Serve, and Close it when Done.
type Server struct {
	cfg Config

	mu         sync.Mutex
	held       *held // nil: locked
	lifetime   *time.Timer
	unlockedAt time.Time
	flights    map[ident]*flight
	recent     map[ident]*flight // refreshes that finished within settle
	inUse      map[ident]*use
	refreshes  int
	listeners  []net.Listener
	conns      map[net.Conn]struct{}
	closed     bool

	started time.Time
	done    chan struct{} // closed by a stop request
	stop    sync.Once
	connWG  sync.WaitGroup
	slots   chan struct{}
}

// held is one opened vault and the refreshes running against it: a lock
// waits for them before it forgets the vault, so a rotated refresh token
// is always written.
type held struct {
	v       vault.Vault
	flights sync.WaitGroup
}

// ident is an identity as clients name it; one refresh per ident runs at
// a time.
type ident struct {
	Provider, Account, Subject string
	IDToken                    bool
}

type flight struct {
	minTTL   time.Duration
	done     chan struct{}
	rec      tokens.Record
	err      error
	finished time.Time // set when the flight refreshed
}

type use struct {
	lastUsed time.Time
	minTTL   time.Duration
	expiry   time.Time
	aheadAt  time.Time
	timer    *time.Timer
}

// Limits of one connection: a client that sends nothing for idleConn is
// dropped, and no connection makes more than maxRequests requests.
const (
	idleConn       = 2 * time.Minute
	maxRequests    = 10000
	maxConnections = 512
)

// NewServer returns an agent holding v (nil: start locked).
func NewServer(cfg Config, v vault.Vault) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RefreshTimeout <= 0 {
		cfg.RefreshTimeout = 2 * time.Minute
	}
	if cfg.IdleAfter <= 0 {
		cfg.IdleAfter = time.Hour
	}
	if cfg.UID == 0 && os.Getuid() != 0 {
		cfg.UID = os.Getuid()
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	s := &Server{
		cfg: cfg, flights: map[ident]*flight{}, recent: map[ident]*flight{}, inUse: map[ident]*use{},
		conns: map[net.Conn]struct{}{}, started: cfg.Now(), done: make(chan struct{}),
		slots: make(chan struct{}, maxConnections),
	}
	if v != nil {
		s.hold(v)
	}
	return s
}

// Done is closed when a client asked the agent to stop.
func (s *Server) Done() <-chan struct{} { return s.done }

// hold makes v the open vault and starts its lifetime. Caller holds no
// lock.
func (s *Server) hold(v vault.Vault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held = &held{v: v}
	s.unlockedAt = s.cfg.Now()
	if s.lifetime != nil {
		s.lifetime.Stop()
	}
	s.lifetime = nil
	if s.cfg.Lifetime > 0 {
		h := s.held
		s.lifetime = time.AfterFunc(s.cfg.Lifetime, func() { s.lockHeld(h, "its lifetime ended") })
	}
}

// Lock forgets the vault; requests that need it fail with ErrLocked until
// an unlock. Refreshes already running finish first.
func (s *Server) Lock(reason string) {
	s.mu.Lock()
	h := s.held
	s.mu.Unlock()
	if h != nil {
		s.lockHeld(h, reason)
	}
}

// lockHeld locks h if it is still the held vault.
func (s *Server) lockHeld(h *held, reason string) {
	s.mu.Lock()
	if s.held != h {
		s.mu.Unlock()
		return
	}
	s.held = nil
	if s.lifetime != nil {
		s.lifetime.Stop()
		s.lifetime = nil
	}
	for id, u := range s.inUse {
		if u.timer != nil {
			u.timer.Stop()
		}
		delete(s.inUse, id)
	}
	clear(s.recent) // tokens read from a vault that is being forgotten
	s.mu.Unlock()
	h.flights.Wait()
	if f, ok := h.v.(interface{ Forget() }); ok {
		f.Forget()
	}
	s.cfg.Logf("locked: %s", reason)
}

// Serve accepts connections on ln until Close. forwarded marks every
// connection of ln as forwarded (the forwarding socket).
func (s *Server) Serve(ln net.Listener, forwarded bool) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ln.Close()
		return net.ErrClosed
	}
	s.listeners = append(s.listeners, ln)
	s.mu.Unlock()
	for {
		s.slots <- struct{}{}
		c, err := ln.Accept()
		if err != nil {
			<-s.slots
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = c.Close()
			<-s.slots
			return nil
		}
		s.conns[c] = struct{}{}
		s.connWG.Add(1)
		s.mu.Unlock()
		go func() {
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				_ = c.Close()
				<-s.slots
				s.connWG.Done()
			}()
			s.serveConn(c, forwarded)
		}()
	}
}

// Close stops the listeners and connections, waits for running refreshes
// (their rotated tokens must be stored), and forgets the vault.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for _, ln := range s.listeners {
		_ = ln.Close()
	}
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.connWG.Wait()
	s.Lock("the agent stopped")
	return nil
}

// serveConn answers the requests of one connection.
func (s *Server) serveConn(c net.Conn, forwarded bool) {
	peer, err := peerOf(c)
	if err != nil || peer.UID != s.cfg.UID {
		what := fmt.Sprintf("uid %d pid %d", peer.UID, peer.PID)
		if err != nil {
			what = err.Error()
		}
		s.cfg.Logf("refused a connection from another user (%s)", what)
		s.write(c, Response{V: Version, Error: failf(CodeForbidden, "the agent serves only the user who started it")})
		return
	}
	if !forwarded && peer.ViaSSH {
		forwarded = true
	}
	// A forwarded connection may only ask for tokens: no request of its
	// needs more than a few hundred bytes.
	limit := MaxMessage
	if forwarded {
		limit = maxForwardedMessage
	}
	r := bufio.NewReaderSize(c, 64<<10)
	for range maxRequests {
		_ = c.SetReadDeadline(time.Now().Add(idleConn))
		line, err := readLine(r, limit)
		if err != nil {
			if errors.Is(err, ErrProtocol) {
				s.write(c, Response{V: Version, Error: failf(CodeBadRequest, "%s", err.Error())})
			}
			return
		}
		req, err := DecodeRequest(line)
		var resp Response
		switch {
		case err != nil:
			resp = Response{Error: failf(CodeBadRequest, "%s", err.Error())}
		case req.V != Version:
			resp = Response{Error: failf(CodeVersion, "this agent speaks protocol version %d, not %d; use the authcli that started it", Version, req.V)}
		default:
			resp = s.handle(req, forwarded, peer)
		}
		resp.V = Version
		resp.OK = resp.Error == nil
		if !s.write(c, resp) {
			return
		}
		if err == nil && req.Op == OpStop && resp.OK {
			s.stop.Do(func() { close(s.done) })
			return
		}
	}
}

func (s *Server) write(c net.Conn, resp Response) bool {
	b, err := encodeLine(resp)
	if err != nil {
		b, _ = encodeLine(Response{V: Version, Error: failf(CodeFailed, "%s", err.Error())})
	}
	_ = c.SetWriteDeadline(time.Now().Add(30 * time.Second))
	_, err = c.Write(b)
	return err == nil
}

// maxForwardedMessage bounds a request on a forwarded connection.
const maxForwardedMessage = 16 << 10

// readLine reads one newline-terminated message of at most limit bytes.
func readLine(r *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > limit+1 {
			return nil, fmt.Errorf("%w: longer than %d bytes", ErrProtocol, limit)
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			return line[:len(line)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) > 0:
			return nil, fmt.Errorf("%w: the connection ended inside a message", ErrProtocol)
		default:
			return nil, err
		}
	}
}

// handle answers one decoded request.
func (s *Server) handle(req Request, forwarded bool, peer peerCred) Response {
	if forwarded {
		switch req.Op {
		case OpFresh:
			return s.forwardedFresh(req, peer)
		case OpStatus:
			st := s.status(true)
			return Response{Status: &st}
		default:
			s.cfg.Logf("forwarded request from pid %d refused: %s is not allowed over a forwarded connection", peer.PID, req.Op)
			return Response{Error: failf(CodeForbidden, "a forwarded connection may only ask for tokens, not %s", req.Op)}
		}
	}
	switch req.Op {
	case OpStatus:
		st := s.status(false)
		return Response{Status: &st}
	case OpGet:
		return s.withVault(func(v vault.Vault) (Response, error) {
			b, err := v.Get(req.Key)
			return Response{Value: b}, err
		})
	case OpSet:
		s.forgetRecent()
		return s.withVault(func(v vault.Vault) (Response, error) { return Response{}, v.Set(req.Key, req.Value) })
	case OpDelete:
		s.forgetRecent()
		return s.withVault(func(v vault.Vault) (Response, error) { return Response{}, v.Delete(req.Key) })
	case OpList:
		return s.withVault(func(v vault.Vault) (Response, error) {
			keys, err := v.List(req.Prefix)
			if keys == nil {
				keys = []string{}
			}
			return Response{Keys: keys}, err
		})
	case OpFresh:
		return s.freshResponse(req)
	case OpLock:
		s.Lock("authcli agent lock")
		return Response{}
	case OpUnlock:
		return s.unlock(Secret{VaultKey: req.VaultKey, Passphrase: req.Passphrase})
	case OpStop:
		s.cfg.Logf("stopping: authcli agent stop")
		return Response{}
	}
	return Response{Error: failf(CodeBadRequest, "unknown op %q", req.Op)}
}

// withVault runs f with the held vault; the vault stays held (a lock
// waits) until f returns, so a Set is never cut off by a lock.
func (s *Server) withVault(f func(vault.Vault) (Response, error)) Response {
	s.mu.Lock()
	h := s.held
	if h == nil {
		s.mu.Unlock()
		return Response{Error: lockedFailure()}
	}
	h.flights.Add(1)
	s.mu.Unlock()
	defer h.flights.Done()
	resp, err := f(h.v)
	if err != nil {
		return Response{Error: failure(err, s.cfg.Describe)}
	}
	return resp
}

// forgetRecent drops the results of recent refreshes: after a sign-in or
// a logout they may be stale.
func (s *Server) forgetRecent() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.recent)
}

func lockedFailure() *Failure {
	return failf(CodeLocked, "the agent is locked; unlock it with: authcli agent unlock")
}

func (s *Server) unlock(sec Secret) Response {
	s.mu.Lock()
	already := s.held != nil
	s.mu.Unlock()
	if already {
		return Response{}
	}
	v, err := s.cfg.Open(sec)
	if err != nil {
		return Response{Error: failure(err, s.cfg.Describe)}
	}
	s.hold(v)
	s.cfg.Logf("unlocked")
	return Response{}
}

// forwardedFresh applies the forwarding rules, then answers like a local
// fresh request.
func (s *Server) forwardedFresh(req Request, peer peerCred) Response {
	what := fmt.Sprintf("token for provider %q", req.Provider)
	if req.Account != "" {
		what += fmt.Sprintf(" account %q", req.Account)
	}
	if req.IDToken {
		what = "ID " + what
	}
	if len(s.cfg.ForwardAllow) > 0 && !slices.Contains(s.cfg.ForwardAllow, req.Provider) {
		s.cfg.Logf("forwarded request (pid %d) refused: %s, provider not in --forward-allow", peer.PID, what)
		if req.Provider == "" {
			return Response{Error: failf(CodeForbidden, "a forwarded connection must name the provider (one of %v)", s.cfg.ForwardAllow)}
		}
		return Response{Error: failf(CodeForbidden, "the agent does not give %s tokens to forwarded connections (allowed: %v)", req.Provider, s.cfg.ForwardAllow)}
	}
	if s.cfg.ConfirmForwarded {
		ok := false
		var err error
		if s.cfg.Confirm != nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			ok, err = s.cfg.Confirm(ctx, "Allow a forwarded authcli connection to get a "+what+"?")
			cancel()
		}
		if !ok {
			reason := "not confirmed"
			if err != nil {
				reason = "confirmation failed: " + err.Error()
			}
			s.cfg.Logf("forwarded request (pid %d) denied: %s, %s", peer.PID, what, reason)
			return Response{Error: failf(CodeDenied, "the agent's user did not confirm this forwarded request")}
		}
	}
	resp := s.freshResponse(req)
	outcome := "allowed"
	if resp.Error != nil {
		outcome = "failed (" + resp.Error.Code + ")"
	}
	s.cfg.Logf("forwarded request (pid %d) %s: %s", peer.PID, outcome, what)
	return resp
}

func (s *Server) freshResponse(req Request) Response {
	w := Want{Provider: req.Provider, Account: req.Account, Subject: req.Subject, MinTTL: req.MinTTL(), IDToken: req.IDToken}
	rec, err := s.Fresh(context.Background(), w)
	if err != nil {
		return Response{Error: failure(err, s.cfg.Describe)}
	}
	return Response{Token: &Token{
		AccessToken: rec.AccessToken, TokenType: rec.TokenType, IDToken: rec.IDToken,
		Expiry: rec.Expiry, IDTokenExpiry: rec.IDTokenExpiry, Scopes: rec.Scopes,
	}}
}

func (s *Server) status(forwarded bool) Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Status{
		PID: os.Getpid(), Started: s.started.UTC(), Locked: s.held == nil, Vault: s.cfg.VaultKind,
		Forwarded: forwarded, Forward: slices.Clone(s.cfg.ForwardAllow), Confirm: s.cfg.ConfirmForwarded,
		Memory: s.cfg.Memory, Refreshes: s.refreshes, Identities: []InUse{},
	}
	if st.Forward == nil {
		st.Forward = []string{}
	}
	if s.held != nil {
		st.UnlockedAt = s.unlockedAt.UTC()
		if s.cfg.Lifetime > 0 {
			st.LocksAt = s.unlockedAt.Add(s.cfg.Lifetime).UTC()
		}
	}
	if forwarded {
		return st // which identities the agent serves is not the remote side's business
	}
	for id, u := range s.inUse {
		st.Identities = append(st.Identities, InUse{
			Provider: id.Provider, Account: id.Account, Subject: id.Subject, IDToken: id.IDToken,
			LastUsed: u.lastUsed.UTC(), Expiry: u.expiry.UTC(), Ahead: u.aheadAt.UTC(),
		})
	}
	slices.SortFunc(st.Identities, func(a, b InUse) int {
		if a.Provider != b.Provider {
			if a.Provider < b.Provider {
				return -1
			}
			return 1
		}
		if a.Account < b.Account {
			return -1
		}
		if a.Account > b.Account {
			return 1
		}
		return 0
	})
	return st
}
