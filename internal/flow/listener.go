package flow

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// maxCallbackBody bounds a form_post callback body; a genuine one is a few
// hundred bytes.
const maxCallbackBody = 64 << 10

// listener is the RFC 8252 loopback redirect receiver for one sign-in.
type listener struct {
	lns      []net.Listener
	srv      *http.Server
	hostPort string // the only Host header accepted, e.g. "127.0.0.1:53682"
	path     string
	state    string

	claimOnce sync.Once
	results   chan callbackParams // the one genuine callback
	outcome   chan page           // what the genuine callback's tab shows
	claimed   chan struct{}       // closed when the genuine callback came
	served    chan struct{}       // closed once its tab has its page

	// The one-time start URL handed to the browser (see startURL).
	startPath string
	startMu   sync.Mutex
	authURL   string // "" until startURL; then "" again once used
	startUsed bool
	abortOnce sync.Once
	aborted   chan error // the start URL was opened twice
}

// legacyRedirectPath is the path every provider shared before each got its
// own; a browser that still arrives there is told why it is refused.
const legacyRedirectPath = "/callback"

// startPrefix begins the path of the one-time start URL.
const startPrefix = "/start/"

// ErrStartReused means the one-time sign-in link was opened twice: another
// program on this machine may have read it from the browser's command line
// and learnt the sign-in's state, so the sign-in stops.
var ErrStartReused = errors.New("the one-time sign-in link was opened twice (another program on this machine may have read it)")

// maxPortTries bounds how often an ephemeral port is drawn again when one
// of the addresses localhost names already has it taken.
const maxPortTries = 8

// listen binds the redirect listener on the loopback interface only: never
// 0.0.0.0, so nothing off this machine can reach it. host is the name the
// redirect URI uses: "127.0.0.1" (default) or "localhost".
//
// A browser may resolve localhost to any of its addresses and try them in
// turn (IPv6 first, usually), so every one of them must be ours: another
// user holding [::1]:PORT would otherwise receive the code. An address the
// machine does not have (no IPv6) cannot be reached by the browser either
// and is skipped; an address in use means another port (ephemeral) or a
// refusal naming the port (fixed).
func listen(host string, port int, path, state string) (*listener, error) {
	if host == "" {
		host = "127.0.0.1"
	}
	if path == "" {
		path = legacyRedirectPath
	}
	addrs, err := loopbackAddrs(host)
	if err != nil {
		return nil, err
	}
	var lns []net.Listener
	for try := 0; ; try++ {
		lns, err = bindAll(addrs, port)
		if err == nil {
			break
		}
		if port != 0 || try == maxPortTries || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, err
		}
	}
	l := &listener{
		lns:       lns,
		path:      path,
		state:     state,
		results:   make(chan callbackParams, 1),
		outcome:   make(chan page, 1),
		claimed:   make(chan struct{}),
		served:    make(chan struct{}),
		startPath: startPrefix + randomToken(),
		aborted:   make(chan error, 1),
	}
	actual := lns[0].Addr().(*net.TCPAddr).Port
	l.hostPort = net.JoinHostPort(host, strconv.Itoa(actual))
	l.srv = &http.Server{
		Handler:           l,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       30 * time.Second,
		MaxHeaderBytes:    32 << 10,
	}
	for _, ln := range l.lns {
		go func() { _ = l.srv.Serve(ln) }()
	}
	return l, nil
}

// loopbackAddrs lists the addresses a browser may connect to for host.
// For localhost that is 127.0.0.1, ::1 and whatever else the hosts file
// maps it to; a mapping off the loopback interface is refused.
func loopbackAddrs(host string) ([]string, error) {
	switch host {
	case "127.0.0.1":
		return []string{"127.0.0.1"}, nil
	case "localhost":
	default:
		return nil, fmt.Errorf("redirect host %q is not a loopback address; use 127.0.0.1 or localhost", host)
	}
	addrs := []string{"127.0.0.1", "::1"}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ips, _ := net.DefaultResolver.LookupIPAddr(ctx, host)
	for _, ip := range ips {
		if !ip.IP.IsLoopback() {
			return nil, fmt.Errorf("%w: localhost resolves to %s, which is not a loopback address; set redirect_host = \"127.0.0.1\"", ErrListen, ip.IP)
		}
		if a := ip.IP.String(); !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	return addrs, nil
}

// bindAll listens on port at every address, the first one choosing the
// port when it is 0. On any failure nothing stays bound.
func bindAll(addrs []string, port int) ([]net.Listener, error) {
	var lns []net.Listener
	fail := func(err error) ([]net.Listener, error) {
		for _, ln := range lns {
			_ = ln.Close()
		}
		return nil, err
	}
	for _, a := range addrs {
		ln, err := net.Listen("tcp", net.JoinHostPort(a, strconv.Itoa(port)))
		switch {
		case err == nil:
			lns = append(lns, ln)
			port = ln.Addr().(*net.TCPAddr).Port
		case len(lns) > 0 && (errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EAFNOSUPPORT)):
			// This machine has no such address (IPv6 switched off), so no
			// browser can be sent to it either.
		case errors.Is(err, syscall.EADDRINUSE):
			return fail(fmt.Errorf("%w: port %d is already in use on %s (another program, perhaps another user's, holds it)", ErrListen, port, a))
		default:
			return fail(fmt.Errorf("%w: %v", ErrListen, err))
		}
	}
	return lns, nil
}

// startURL returns the one-time loopback URL for the browser: opening it
// redirects to authURL. authURL carries state, which must not appear on a
// command line (/proc/PID/cmdline is readable by every user), so the
// browser is started with this URL instead. Its path is unguessable and
// works once; a second request stops the sign-in (ErrStartReused), since
// whoever made the first may now know the state.
func (l *listener) startURL(authURL string) string {
	l.startMu.Lock()
	l.authURL = authURL
	l.startMu.Unlock()
	return (&url.URL{Scheme: "http", Host: l.hostPort, Path: l.startPath}).String()
}

// serveStart answers the start URL: the redirect to the provider once,
// then a refusal that also ends the sign-in.
func (l *listener) serveStart(w http.ResponseWriter, r *http.Request) {
	l.startMu.Lock()
	target, used := l.authURL, l.startUsed
	if target != "" {
		l.startUsed, l.authURL = true, ""
	}
	l.startMu.Unlock()
	switch {
	case target != "":
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer")
		http.Redirect(w, r, target, http.StatusFound)
	case used:
		// The page first: the sign-in stops, and the listener with it,
		// as soon as it hears of the abort.
		strayPage("This sign-in link was already opened once, perhaps by another program on this machine; authcli stopped the sign-in to be safe. Run the command again.").write(w)
		l.abortOnce.Do(func() { l.aborted <- ErrStartReused })
	default:
		http.NotFound(w, r)
	}
}

// redirectURI is the URI registered with (and sent to) the provider.
func (l *listener) redirectURI() string {
	return (&url.URL{Scheme: "http", Host: l.hostPort, Path: l.path}).String()
}

// hostName is the redirect host without the port: what a provider that
// ignores loopback ports registers.
func (l *listener) hostName() string {
	h, _, _ := net.SplitHostPort(l.hostPort)
	return h
}

// addr is the bound address, for diagnostics and tests.
func (l *listener) addr() net.Addr { return l.lns[0].Addr() }

func (l *listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == l.startPath && r.Method == http.MethodGet && r.Host == l.hostPort {
		l.serveStart(w, r)
		return
	}
	if r.URL.Path != l.path {
		if r.URL.Path == legacyRedirectPath || strings.HasPrefix(r.URL.Path, legacyRedirectPath+"/") {
			// Another provider's answer, or one sent to the redirect URI
			// every provider shared before: never this sign-in's (mix-up).
			strayPage(fmt.Sprintf("This sign-in accepts its answer only at %s, the redirect path of the provider it started with. If that provider sent you here, register the redirect URI http://%s%s with it (see authcli's README on redirect URIs).", l.path, l.hostName(), l.path)).write(w)
			return
		}
		// favicon.ico and anything else a browser or a scanner asks for.
		http.NotFound(w, r)
		return
	}
	// DNS rebinding: a page on evil.example that resolves to 127.0.0.1
	// reaches this port with its own Host header.
	if r.Host != l.hostPort {
		strayPage("The request was addressed to a different host.").write(w)
		return
	}
	var values url.Values
	switch r.Method {
	case http.MethodGet:
		values = r.URL.Query()
	case http.MethodPost:
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if ct != "application/x-www-form-urlencoded" {
			strayPage("The request was not a form post.").write(w)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxCallbackBody)
		if err := r.ParseForm(); err != nil {
			strayPage("The request body could not be read.").write(w)
			return
		}
		values = r.PostForm
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p, err := parseCallback(values)
	if err != nil {
		strayPage("The request is not a complete authorization response.").write(w)
		return
	}
	p.form = values.Encode()
	if !equalSecret(p.State, l.state) {
		strayPage("The request's state does not match this sign-in.").write(w)
		return
	}
	claimed := false
	l.claimOnce.Do(func() { claimed = true })
	if !claimed {
		strayPage("This sign-in has already received its answer.").write(w)
		return
	}
	close(l.claimed)
	defer close(l.served)
	l.results <- p
	// Hold the tab until the terminal side knows whether the sign-in
	// worked, so the page tells the truth. The connection is not kept
	// alive: nothing else is coming, and close need not wait for it.
	select {
	case pg := <-l.outcome:
		w.Header().Set("Connection", "close")
		pg.write(w)
	case <-r.Context().Done():
	}
}

// finish shows pg to the browser tab of the genuine callback, if one came.
func (l *listener) finish(pg page) {
	select {
	case l.outcome <- pg:
	default:
	}
}

// closeGrace bounds how long close waits for the genuine callback's tab to
// get its page.
const closeGrace = 3 * time.Second

// close stops the listener once the genuine callback's tab has its page
// (page.write puts all of it on the socket before it returns). It does not
// wait for other connections to go idle as http.Server.Shutdown would:
// Shutdown polls them every millisecond or more, and a sign-in then stores
// its tokens that much later.
func (l *listener) close() {
	select {
	case <-l.claimed:
		select {
		case <-l.served:
		case <-time.After(closeGrace):
		}
	default:
	}
	_ = l.srv.Close()
}
