package flow

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// MaxResponseBytes bounds every body authcli reads from a provider. Real
// discovery documents, JWKS, token and userinfo answers are a few KB.
const MaxResponseBytes = 512 << 10

// errBodyTooLarge is returned by a response body past MaxResponseBytes.
var errBodyTooLarge = errors.New("provider response larger than 512 KiB")

// NewHTTPClient returns the client authcli talks to providers with: every
// call has a deadline and no body is read past MaxResponseBytes.
func NewHTTPClient(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	base := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4,
		IdleConnTimeout:       30 * time.Second,
	}
	return &http.Client{Timeout: timeout, Transport: LimitBodies(base), CheckRedirect: CheckRedirect}
}

// ErrRedirect means a provider redirected a request where following could
// carry a secret off its origin or into plain http.
var ErrRedirect = errors.New("the provider redirected a request where following could expose a secret")

// maxRedirects is how many redirects a GET may follow (net/http's own
// default is 10).
const maxRedirects = 5

// CheckRedirect is the redirect policy of NewHTTPClient. A POST or any
// other method that carries a secret in its body or Basic authentication
// (token, revocation, device authorization requests: a 307 or 308 repeats
// the body) follows a redirect only to the same origin, and a GET
// (discovery, JWKS, userinfo with its bearer token) never from https to
// plain http, nor to plain http off the loopback interface. net/http
// already drops the Authorization header when the host changes.
func CheckRedirect(req *http.Request, via []*http.Request) error {
	first := via[0]
	switch {
	case len(via) > maxRedirects:
		return &RedirectError{From: first.URL, To: req.URL, Why: "too many redirects"}
	case first.Method != http.MethodGet && first.Method != http.MethodHead:
		if !sameOrigin(first.URL, req.URL) {
			return &RedirectError{From: first.URL, To: req.URL, Why: "a request carrying a secret is only followed to the same origin"}
		}
	case req.URL.Scheme != "https" && via[len(via)-1].URL.Scheme == "https":
		return &RedirectError{From: first.URL, To: req.URL, Why: "it would downgrade https to plain http"}
	}
	if err := checkURL("redirect target", req.URL.String()); err != nil {
		return &RedirectError{From: first.URL, To: req.URL, Why: "plain http is only allowed on a loopback address"}
	}
	return nil
}

// RedirectError is a redirect CheckRedirect refused.
type RedirectError struct {
	From, To *url.URL
	Why      string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("%v: %s redirected to %s (%s)", ErrRedirect, origin(e.From), origin(e.To), e.Why)
}

func (e *RedirectError) Is(target error) bool { return target == ErrRedirect }

// requestErr shows a refused redirect without net/http's "Post URL:"
// prefix; other errors pass unchanged.
func requestErr(err error) error {
	var re *RedirectError
	if errors.As(err, &re) {
		return re
	}
	return err
}

func sameOrigin(a, b *url.URL) bool {
	return a.Scheme == b.Scheme && strings.EqualFold(a.Host, b.Host)
}

// origin shows scheme and host only: a redirect's path or query may hold a
// code or a token.
func origin(u *url.URL) string {
	return u.Scheme + "://" + u.Host
}

// LimitBodies wraps a transport so that reading a response body past
// MaxResponseBytes fails instead of filling memory.
func LimitBodies(rt http.RoundTripper) http.RoundTripper {
	return limitTransport{rt}
}

type limitTransport struct{ rt http.RoundTripper }

func (t limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: MaxResponseBytes}
	return resp, nil
}

type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One more byte tells an exactly-full body from an oversized one.
		var one [1]byte
		if n, _ := b.rc.Read(one[:]); n > 0 {
			return 0, errBodyTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// IsLoopbackHost reports whether host (no port) is 127.0.0.0/8, ::1 or
// "localhost": the only hosts where plain http is acceptable (RFC 8252 §8.3).
func IsLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkURL refuses what authcli must never send secrets to: a relative or
// non-HTTP URL, or plain http to anything but a loopback address.
func checkURL(what, raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%s %q is not an absolute URL", what, raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if IsLoopbackHost(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("%w: %s %s", ErrInsecureURL, what, raw)
	default:
		return fmt.Errorf("%s %q must use https", what, raw)
	}
}
