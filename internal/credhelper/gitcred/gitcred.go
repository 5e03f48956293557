// Package gitcred speaks git's credential-helper protocol
// (https://git-scm.com/docs/git-credential#IOFMT): git writes key=value
// lines describing the URL it needs credentials for, the helper answers
// with key=value lines. authcli answers `get` for the hosts it was set up
// for, and stays silent for every other host so that git asks its next
// helper. `store` and `erase` never change authcli's tokens: git offers the
// credential it used back to every helper, and only the provider may decide
// what authcli keeps. An `erase` of the token authcli handed out (git does
// that when the server answered 401) is reported through Helper.Rejected.
package gitcred

import (
	"bufio"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/authcli/authcli/internal/credhelper"
)

// ErrMalformed means git's input is not the credential protocol.
var ErrMalformed = errors.New("malformed git credential input")

// Limits on what git may send: a credential description is a few hundred
// bytes, so anything near these is not git.
const (
	maxInput = 64 << 10
	maxLines = 1024
)

// Request is git's description of the credential it wants.
type Request struct {
	Protocol string // "https"
	Host     string // with ":port" when the URL had one
	Path     string // only with credential.useHttpPath
	Username string
	Password string // the credential on store and erase
	// Credential and AuthType are the pre-encoded form (git ≥ 2.46, with
	// capability[]=authtype): "Bearer" and the token.
	Credential string
	AuthType   string
	// WWWAuth are the WWW-Authenticate headers of the server's 401
	// (git ≥ 2.41), Capabilities what this git understands in answers.
	WWWAuth      []string
	Capabilities []string
}

// Parse reads one credential description: key=value lines up to a blank
// line or the end of input. Unknown keys are ignored, as git asks helpers
// to do; a key ending in [] collects values, and an empty value clears
// them. A "url" key is split into its parts, as `git credential` does.
func Parse(r io.Reader) (Request, error) {
	var req Request
	sc := bufio.NewScanner(io.LimitReader(r, maxInput+1))
	sc.Buffer(make([]byte, 4096), maxInput+1)
	read, lines := 0, 0
	for sc.Scan() {
		line := sc.Text()
		read += len(line) + 1
		if read > maxInput {
			return Request{}, fmt.Errorf("%w: more than %d bytes", ErrMalformed, maxInput)
		}
		if lines++; lines > maxLines {
			return Request{}, fmt.Errorf("%w: more than %d lines", ErrMalformed, maxLines)
		}
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			break
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || key == "" {
			return Request{}, fmt.Errorf("%w: line %d is not key=value", ErrMalformed, lines)
		}
		if strings.ContainsRune(value, 0) || strings.ContainsRune(key, 0) {
			return Request{}, fmt.Errorf("%w: line %d holds a NUL byte", ErrMalformed, lines)
		}
		switch key {
		case "protocol":
			req.Protocol = value
		case "host":
			req.Host = value
		case "path":
			req.Path = value
		case "username":
			req.Username = value
		case "password":
			req.Password = value
		case "credential":
			req.Credential = value
		case "authtype":
			req.AuthType = value
		case "url":
			if err := req.setURL(value); err != nil {
				return Request{}, fmt.Errorf("%w: line %d: %w", ErrMalformed, lines, err)
			}
		case "wwwauth[]":
			req.WWWAuth = appendOrReset(req.WWWAuth, value)
		case "capability[]":
			req.Capabilities = appendOrReset(req.Capabilities, value)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return Request{}, fmt.Errorf("%w: a line longer than %d bytes", ErrMalformed, maxInput)
		}
		return Request{}, fmt.Errorf("read git credential input: %w", err)
	}
	return req, nil
}

func appendOrReset(list []string, value string) []string {
	if value == "" {
		return nil
	}
	return append(list, value)
}

func (r *Request) setURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("url is not a URL")
	}
	r.Protocol, r.Host, r.Path = u.Scheme, u.Host, strings.TrimPrefix(u.Path, "/")
	if u.User != nil {
		r.Username = u.User.Username()
		if p, ok := u.User.Password(); ok {
			r.Password = p
		}
	}
	return nil
}

func (r Request) has(capability string) bool {
	for _, c := range r.Capabilities {
		if c == capability {
			return true
		}
	}
	return false
}

// challenges reports which schemes the server's 401 offered. With no
// WWW-Authenticate information (older git, or the first request) both
// are assumed possible.
func (r Request) challenges() (basic, bearer bool) {
	if len(r.WWWAuth) == 0 {
		return true, false
	}
	for _, h := range r.WWWAuth {
		scheme, _, _ := strings.Cut(strings.TrimSpace(h), " ")
		switch strings.ToLower(scheme) {
		case "basic":
			basic = true
		case "bearer":
			bearer = true
		}
	}
	return basic, bearer
}

// Answer is what the helper tells git. The zero Answer says nothing: git
// goes on to its next helper.
type Answer struct {
	Username, Password string
	// AuthType and Credential answer a git that announced
	// capability[]=authtype, for a server that only takes Bearer.
	AuthType, Credential string
	Expiry               time.Time
}

// Write prints the answer in git's format. It refuses values that would
// break the line format rather than let a token inject keys.
func (a Answer) Write(w io.Writer) error {
	if a == (Answer{}) {
		return nil
	}
	var b strings.Builder
	put := func(k, v string) {
		if v != "" {
			b.WriteString(k + "=" + v + "\n")
		}
	}
	for _, v := range []string{a.Username, a.Password, a.AuthType, a.Credential} {
		if strings.ContainsAny(v, "\n\r\x00") {
			return errors.New("a credential value holds a line break; refusing to send it to git")
		}
	}
	if a.AuthType != "" {
		put("capability[]", "authtype")
		put("authtype", a.AuthType)
		put("credential", a.Credential)
		// git must not keep a pre-encoded credential in other helpers:
		// authcli refreshes it.
		put("ephemeral", "1")
	} else {
		put("username", a.Username)
		put("password", a.Password)
	}
	if !a.Expiry.IsZero() {
		put("password_expiry_utc", strconv.FormatInt(a.Expiry.Unix(), 10))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Helper answers git for the configured routes.
type Helper struct {
	Routes credhelper.Routes
	Tokens credhelper.Tokens
	// Rejected is told that the server refused the token authcli handed
	// out for route (git's erase after a 401); optional. It may refresh so
	// that git's next attempt gets a new token.
	Rejected func(ctx context.Context, route credhelper.Route, token credhelper.Token) error
}

// Serve runs one helper action: it reads git's description from in and,
// for get, writes the answer to out. A host authcli was not set up for, or
// a protocol other than https, gets no answer and no error. An action other
// than get, store and erase is ignored, as gitcredentials(7) asks, so that
// git can add operations that older helpers skip.
func (h *Helper) Serve(ctx context.Context, action string, in io.Reader, out io.Writer) error {
	switch action {
	case "get", "store", "erase":
	default:
		return nil
	}
	req, err := Parse(in)
	if err != nil {
		return err
	}
	// Tokens never go out over plain http: no answer, git tries the
	// next helper (or asks the user).
	if req.Protocol != "https" {
		return nil
	}
	route, ok := h.Routes.Lookup(req.Host, "443")
	if !ok {
		return nil
	}
	switch action {
	case "get":
		// A username in the URL that is not ours is for another helper
		// (https://other@host/...).
		if req.Username != "" && req.Username != route.Username {
			return nil
		}
		a, err := h.answer(ctx, req, route)
		if err != nil {
			return err
		}
		return a.Write(out)
	case "erase":
		given := req.Password
		if req.Credential != "" {
			given = req.Credential
		}
		if given == "" || h.Rejected == nil {
			return nil
		}
		tok, err := h.Tokens(ctx, route)
		if err != nil {
			return nil // nothing of ours to reconsider
		}
		if subtle.ConstantTimeCompare([]byte(given), []byte(tok.Value)) != 1 {
			return nil // not the token authcli gave: someone else's
		}
		return h.Rejected(ctx, route, tok)
	}
	return nil // store: authcli keeps only what the provider issued
}

func (h *Helper) answer(ctx context.Context, req Request, route credhelper.Route) (Answer, error) {
	basic, bearer := req.challenges()
	if !basic && !bearer {
		return Answer{}, nil // the server wants a scheme a token cannot satisfy
	}
	tok, err := h.Tokens(ctx, route)
	if err != nil {
		return Answer{}, err
	}
	if !basic && req.has("authtype") {
		return Answer{AuthType: "Bearer", Credential: tok.Value, Expiry: tok.Expiry}, nil
	}
	return Answer{Username: route.Username, Password: tok.Value, Expiry: tok.Expiry}, nil
}
