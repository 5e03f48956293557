package flow

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
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
}

// listen binds the redirect listener on the loopback interface only: never
// 0.0.0.0, so nothing off this machine can reach it. host is the name the
// redirect URI uses: "127.0.0.1" (default) or "localhost", which also
// listens on ::1 when the machine has it because browsers may resolve
// localhost to either.
func listen(host string, port int, path, state string) (*listener, error) {
	if host == "" {
		host = "127.0.0.1"
	}
	if path == "" {
		path = "/callback"
	}
	if host != "127.0.0.1" && host != "localhost" {
		return nil, fmt.Errorf("redirect host %q is not a loopback address; use 127.0.0.1 or localhost", host)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrListen, err)
	}
	l := &listener{
		lns:     []net.Listener{ln},
		path:    path,
		state:   state,
		results: make(chan callbackParams, 1),
		outcome: make(chan page, 1),
	}
	actual := ln.Addr().(*net.TCPAddr).Port
	l.hostPort = net.JoinHostPort(host, strconv.Itoa(actual))
	if host == "localhost" {
		if ln6, err := net.Listen("tcp", net.JoinHostPort("::1", strconv.Itoa(actual))); err == nil {
			l.lns = append(l.lns, ln6)
		}
	}
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

// redirectURI is the URI registered with (and sent to) the provider.
func (l *listener) redirectURI() string {
	return (&url.URL{Scheme: "http", Host: l.hostPort, Path: l.path}).String()
}

// addr is the bound address, for diagnostics and tests.
func (l *listener) addr() net.Addr { return l.lns[0].Addr() }

func (l *listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != l.path {
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
	l.results <- p
	// Hold the tab until the terminal side knows whether the sign-in
	// worked, so the page tells the truth.
	select {
	case pg := <-l.outcome:
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

// close stops the listener; a connection that never sends anything cannot
// hold it open longer than the grace period.
func (l *listener) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := l.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		_ = l.srv.Close()
	}
}
