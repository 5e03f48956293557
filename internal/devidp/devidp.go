// Package devidp is the embedded OpenID provider behind `authcli demo` and the
// project's tests. It runs the real protocol (discovery, JWKS, authorization
// code with PKCE, refresh with rotation and reuse detection, revocation,
// introspection, userinfo and the device grant) through the maintained
// github.com/zitadel/oidc/v3/pkg/op library, on the loopback interface only,
// with an in-memory store and a plain login page instead of passwords.
//
// Nothing here runs at package load: keys, templates and the library's router
// are built by Start, so linking this package costs `authcli token` nothing.
package devidp

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// DemoClientID is the public client that Start registers when Options.Clients
// is empty; `authcli demo` signs in with it.
const DemoClientID = "authcli-demo"

// Sentinel errors callers branch on.
var (
	// ErrNotLoopback is returned by Start when Options.Addr names a host that
	// is not a loopback address: the provider has no real authentication and
	// must never be reachable from another machine.
	ErrNotLoopback = errors.New("devidp: listen address is not a loopback address")
	// ErrUnknownUser means a subject or email matches none of the users.
	ErrUnknownUser = errors.New("devidp: unknown user")
	// ErrUnknownUserCode means a device user code is unknown, expired or
	// already decided.
	ErrUnknownUserCode = errors.New("devidp: unknown or expired user code")
	// ErrProviderPage is returned by PlayBrowser when the provider answered
	// with an error page instead of continuing the sign-in.
	ErrProviderPage = errors.New("devidp: provider showed an error page")
)

// User is an account of the demo provider. Subject is the stable identifier
// (the ID token's sub); the other fields become the standard claims.
type User struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
	Picture       string
}

// Client is a registered OAuth client.
type Client struct {
	ID string
	// Secret is empty for a public client, which authenticates with nothing
	// ("none") and must use PKCE S256. A client with a secret may send it with
	// HTTP Basic or in the form body.
	Secret string
	// RedirectURIs are compared exactly, except that for loopback URIs
	// (127.0.0.1, [::1], localhost) the port is ignored (RFC 8252 §7.3).
	RedirectURIs []string
	// Name is shown on the login page; the ID when empty.
	Name string
}

// Options configures Start. The zero value is a working demo provider.
type Options struct {
	// Addr is the listen address, default "127.0.0.1:0". Only loopback hosts
	// are accepted; "localhost" listens on 127.0.0.1.
	Addr string
	// Users default to DemoUsers().
	Users []User
	// Clients default to one public client DemoClientID with the redirect
	// URIs http://127.0.0.1/callback/* and http://localhost/callback/*: any
	// provider name authcli's config gives it (see SubPathWildcard).
	Clients []Client
	// AccessTokenTTL is the lifetime of access and ID tokens, default 1h.
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is the lifetime of refresh tokens, default 30 days.
	RefreshTokenTTL time.Duration
	// NoRotation keeps a refresh token valid across uses. By default every
	// refresh returns a new refresh token and presenting a used one again
	// revokes the whole sign-in (reuse detection, RFC 9700 §4.14.2).
	NoRotation bool
	// Now is the provider's clock for token bookkeeping: access and refresh
	// token expiry, auth_time, code and login page lifetimes. Default
	// time.Now. The op library itself stamps ID token iat/exp, expires_in
	// and device code expiry with the wall clock, so a custom clock should
	// advance with real time (an offset is fine, a frozen clock is not).
	Now func() time.Time
	// DevicePollInterval is the device grant's polling interval, default 5s,
	// rounded to whole seconds (at least 1s).
	DevicePollInterval time.Duration
	// DeviceCodeTTL is how long a device code can be approved, default 10m.
	DeviceCodeTTL time.Duration
	// ApproveDevicesAs, a subject or email of one of the users, approves
	// every device authorization as that user the moment it is made: for
	// `authcli demo --serve --user` on a machine where nobody can open the
	// verification page (a container). Start refuses an unknown user.
	ApproveDevicesAs string
	// SigningAlg signs ID tokens: "ES256" (default, cheap to generate) or
	// "RS256".
	SigningAlg string
	// Logger receives the provider's own events (sign-ins approved, reuse
	// detected). Nil discards them. See Start for the library's own logging.
	Logger *slog.Logger
	// OnRequest, when set, sees every request the provider accepts before
	// it is handled (bench/flows counts requests per path with it). It must
	// not keep or change the request.
	OnRequest func(*http.Request)
}

// Stats are counters of what the provider did, for tests.
type Stats struct {
	AuthCodeGrants       int // successful authorization_code exchanges
	RefreshGrants        int // successful refresh_token exchanges
	RefreshReuseDetected int // used refresh tokens presented again
	Revocations          int // revocation requests that revoked a known token
	DeviceAuthorizations int // device authorization requests
	UserinfoRequests     int // requests to the userinfo endpoint
	// ClientCredentialsGrants counts client credentials token requests
	// from authenticated confidential clients.
	ClientCredentialsGrants int
}

// Choice is what PlayBrowser clicks on the login page.
type Choice struct {
	// User is a subject or an email; "" picks the first user on the page.
	User string
	// Deny clicks "deny" instead of "allow".
	Deny bool
}

// DemoUsers returns the default users: two with verified emails and one whose
// email is not verified (to exercise account linking rules that must not
// trust an unverified email).
func DemoUsers() []User {
	return []User{
		{Subject: "ada", Email: "ada@example.com", EmailVerified: true, Name: "Ada Lovelace", Picture: "https://example.com/avatars/ada.png"},
		{Subject: "grace", Email: "grace@example.com", EmailVerified: true, Name: "Grace Hopper", Picture: "https://example.com/avatars/grace.png"},
		{Subject: "alan", Email: "alan@example.com", EmailVerified: false, Name: "Alan Turing", Picture: "https://example.com/avatars/alan.png"},
	}
}

// DemoClient returns the client registered when Options.Clients is empty.
func DemoClient() Client {
	return Client{
		ID:           DemoClientID,
		Name:         "authcli demo",
		RedirectURIs: []string{"http://127.0.0.1/callback/" + SubPathWildcard, "http://localhost/callback/" + SubPathWildcard},
	}
}

// Server is a running provider. Its methods are safe for concurrent use.
type Server struct {
	issuer   string
	listener net.Listener
	srv      *http.Server
	store    *storage
	served   chan struct{}

	onRequest func(*http.Request)

	closeOnce sync.Once
	closeErr  error
}

const (
	shutdownGrace   = 2 * time.Second
	deviceFormPath  = "/device"
	loginPath       = "/login"
	userinfoPath    = "/userinfo"
	maxFormBodySize = 64 << 10
)

// Start listens on Options.Addr and serves the provider in the background
// until Close.
//
// The op library logs through slog's process-wide default logger and offers
// no per-provider logger in v3.51.17 (its WithLogger option is a no-op), so
// library diagnostics such as refused token requests reach slog.Default();
// a program that wants silence sets slog's default, which this package does
// not do behind the caller's back.
func Start(opts Options) (*Server, error) {
	opts, err := withDefaults(opts)
	if err != nil {
		return nil, err
	}
	listenAddr, err := loopbackListenAddr(opts.Addr)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", listenAddr)
	if err != nil {
		return nil, fmt.Errorf("devidp: listen on %s: %w", listenAddr, err)
	}
	s, err := newServer(ln, opts)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

func newServer(ln net.Listener, opts Options) (*Server, error) {
	issuer := "http://" + ln.Addr().String()
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	key, err := newSigningKey(jose.SignatureAlgorithm(opts.SigningAlg))
	if err != nil {
		return nil, err
	}
	store := newStorage(issuer, opts, key, logger)

	var cryptoKey [32]byte
	if _, err := rand.Read(cryptoKey[:]); err != nil {
		return nil, fmt.Errorf("devidp: generate token encryption key: %w", err)
	}
	config := &op.Config{
		CryptoKey:             cryptoKey,
		CodeMethodS256:        true,
		AuthMethodPost:        true,
		GrantTypeRefreshToken: true,
		SupportedUILocales:    []language.Tag{language.English},
		SupportedScopes:       []string{"openid", "profile", "email", "offline_access"},
		SupportedClaims: []string{
			"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "azp", "at_hash", "c_hash",
			"name", "picture", "email", "email_verified",
		},
		DeviceAuthorization: op.DeviceAuthorizationConfig{
			Lifetime:     opts.DeviceCodeTTL,
			PollInterval: opts.DevicePollInterval,
			UserFormPath: deviceFormPath,
			UserCode:     op.UserCodeBase20,
		},
	}
	provider, err := op.NewProvider(config, store, op.StaticIssuer(issuer), op.WithAllowInsecure())
	if err != nil {
		return nil, fmt.Errorf("devidp: create provider: %w", err)
	}
	pg, err := newPages(issuer, store, provider, logger)
	if err != nil {
		return nil, err
	}

	s := &Server{
		issuer:   issuer,
		listener: ln,
		store:    store,
		served:   make(chan struct{}),

		onRequest: opts.OnRequest,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+loginPath, pg.loginForm)
	mux.HandleFunc("POST "+loginPath, pg.loginSubmit)
	mux.HandleFunc("GET "+deviceFormPath, pg.deviceForm)
	mux.HandleFunc("POST "+deviceFormPath, pg.deviceSubmit)
	mux.Handle(userinfoPath, s.countUserinfo(provider))
	mux.Handle("/", provider)

	s.srv = &http.Server{
		Handler:           s.loopbackHostsOnly(mux),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       30 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	return s, nil
}

func withDefaults(opts Options) (Options, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Users == nil {
		opts.Users = DemoUsers()
	}
	if opts.Clients == nil {
		opts.Clients = []Client{DemoClient()}
	}
	if opts.AccessTokenTTL <= 0 {
		opts.AccessTokenTTL = time.Hour
	}
	if opts.RefreshTokenTTL <= 0 {
		opts.RefreshTokenTTL = 30 * 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.DevicePollInterval <= 0 {
		opts.DevicePollInterval = 5 * time.Second
	}
	opts.DevicePollInterval = opts.DevicePollInterval.Round(time.Second)
	if opts.DevicePollInterval < time.Second {
		opts.DevicePollInterval = time.Second
	}
	if opts.SigningAlg == "" {
		opts.SigningAlg = string(jose.ES256)
	}
	if a := opts.ApproveDevicesAs; a != "" && !slices.ContainsFunc(opts.Users, func(u User) bool {
		return u.Subject == a || (u.Email != "" && strings.EqualFold(u.Email, a))
	}) {
		return opts, fmt.Errorf("%w: %q (ApproveDevicesAs)", ErrUnknownUser, a)
	}
	if opts.DeviceCodeTTL <= 0 {
		opts.DeviceCodeTTL = 10 * time.Minute
	}
	if len(opts.Users) == 0 {
		return opts, errors.New("devidp: no users")
	}
	subjects := make(map[string]bool, len(opts.Users))
	for _, u := range opts.Users {
		if u.Subject == "" {
			return opts, errors.New("devidp: a user has an empty subject")
		}
		if subjects[u.Subject] {
			return opts, fmt.Errorf("devidp: duplicate user subject %q", u.Subject)
		}
		subjects[u.Subject] = true
	}
	ids := make(map[string]bool, len(opts.Clients))
	for _, c := range opts.Clients {
		if c.ID == "" {
			return opts, errors.New("devidp: a client has an empty ID")
		}
		if ids[c.ID] {
			return opts, fmt.Errorf("devidp: duplicate client ID %q", c.ID)
		}
		ids[c.ID] = true
	}
	return opts, nil
}

// loopbackListenAddr checks that addr names a loopback host and returns the
// address to listen on.
func loopbackListenAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("devidp: listen address %q: %w", addr, err)
	}
	if strings.EqualFold(host, "localhost") {
		return net.JoinHostPort("127.0.0.1", port), nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return "", fmt.Errorf("%w: %q", ErrNotLoopback, addr)
	}
	return net.JoinHostPort(ip.String(), port), nil
}

// loopbackHostsOnly refuses requests whose Host header is not this server's
// loopback address, so a web page cannot reach the provider through DNS
// rebinding.
func (s *Server) loopbackHostsOnly(next http.Handler) http.Handler {
	_, port, _ := net.SplitHostPort(s.listener.Addr().String())
	allowed := map[string]bool{
		strings.TrimPrefix(s.issuer, "http://"): true,
		net.JoinHostPort("localhost", port):     true,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowed[strings.ToLower(r.Host)] {
			http.Error(w, "unexpected Host header", http.StatusMisdirectedRequest)
			return
		}
		if s.onRequest != nil {
			s.onRequest(r)
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) countUserinfo(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.store.countUserinfo()
		next.ServeHTTP(w, r)
	})
}

// Issuer is the provider's issuer URL, exactly as discovery states it.
func (s *Server) Issuer() string { return s.issuer }

// Close stops serving. In-flight requests get a short grace period, then
// connections are closed; Close never blocks longer than that.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			_ = s.srv.Close()
			if !errors.Is(err, context.DeadlineExceeded) {
				s.closeErr = fmt.Errorf("devidp: shut down: %w", err)
			}
		}
		select {
		case <-s.served:
		case <-time.After(shutdownGrace):
		}
	})
	return s.closeErr
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats { return s.store.stats() }

// RotateSigningKey adds a new signing key (same algorithm) with a new kid. Tokens issued from
// now on are signed with it; the JWKS keeps serving the old keys so tokens
// already issued still verify.
func (s *Server) RotateSigningKey() error {
	key, err := newSigningKey(s.store.signingAlg())
	if err != nil {
		return err
	}
	s.store.addSigningKey(key)
	return nil
}

// ApproveDevice approves the device authorization with userCode for the user
// with the given subject (or email). The device's next poll gets tokens.
func (s *Server) ApproveDevice(userCode, subject string) error {
	return s.store.decideDevice(userCode, subject, true)
}

// DenyDevice denies the device authorization with userCode; the device's next
// poll gets access_denied.
func (s *Server) DenyDevice(userCode string) error {
	return s.store.decideDevice(userCode, "", false)
}

// parseTemplates runs in Start so nothing is parsed at package load.
func parseTemplates() (*template.Template, error) {
	t, err := template.New("page").Parse(pageTemplate)
	if err != nil {
		return nil, fmt.Errorf("devidp: parse page templates: %w", err)
	}
	return t, nil
}
