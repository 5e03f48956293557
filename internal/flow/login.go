package flow

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/authcli/authcli/internal/secret"
	"github.com/authcli/authcli/internal/termtext"
)

// clockSkew is how far in the future an ID token's iat may lie.
const clockSkew = 5 * time.Minute

// Opener opens url in the user's browser. It returns once the browser has
// been asked, not when the sign-in ends.
type Opener func(ctx context.Context, url string) error

// Login is one interactive sign-in: authorization code with PKCE (S256),
// state and nonce, a loopback redirect listener (RFC 8252), the code
// exchange, ID token verification and the userinfo call.
type Login struct {
	Provider   Provider
	HTTPClient *http.Client     // nil: NewHTTPClient(0)
	Open       Opener           // nil: only print the URL (--no-browser)
	Stderr     io.Writer        // prompts and the URL; nil discards
	Now        func() time.Time // nil: time.Now
	Progress   bool             // animate a waiting line: stderr is a terminal
	// OpenNote replaces the sentence said before Open is called ("Opening
	// the sign-in page in your browser."); the URL follows it either way.
	OpenNote string
	Logf     func(format string, args ...any)
	// Keys keeps the provider's signing keys between processes; nil
	// fetches them once per sign-in, while the person signs in.
	Keys KeyCache

	// Ready, when set, receives the authorization URL once the listener is
	// up and the browser was asked to open it: a TUI shows it from here
	// (nothing needs to read Stderr), tests play the browser with it. It
	// must not block.
	Ready func(authURL string)
	// Verified, when set, is told the profile the ID token gives once it
	// is verified, before userinfo has answered, so that the caller can
	// look the identity up meanwhile: its subject is final (userinfo must
	// agree), its other fields are a draft that userinfo's claims may
	// still change, and it has no Claims. The sign-in can still fail
	// after it; it is not called for a provider without ID tokens. It
	// must not block.
	Verified func(draft Profile)

	// windingDown, in tests, runs after a sign-in that succeeded, before
	// the listener closes: it holds the listener open to show that
	// Result.Wait is what waits for it.
	windingDown func()
}

// Result is a completed sign-in. Token holds secrets: never print it.
type Result struct {
	Token     *oauth2.Token
	IDToken   string
	Profile   Profile
	Scopes    []string
	Endpoints *Endpoints

	// closed ends once the loopback listener has given the tab its page
	// and stopped (nil: there was none).
	closed <-chan struct{}
}

// Wait returns once the browser tab has its page and the loopback
// listener is closed. Login.Run returns before that, so that the result is
// stored while the listener winds down; a process must call Wait before it
// exits, or the tab may get no page.
func (r *Result) Wait() {
	if r != nil && r.closed != nil {
		<-r.closed
	}
}

// Format prints a summary under every verb: a Result holds the tokens, and
// %v or %x of it in a log line must not show them.
func (r Result) Format(f fmt.State, _ rune) {
	secret.Format(f, fmt.Sprintf("flow.Result{subject: %q, refresh token: %t, ID token: %t}", r.Profile.Subject, r.Token != nil && r.Token.RefreshToken != "", r.IDToken != ""))
}

// protectedParams are authorization parameters the flow owns; config
// auth_params must not replace them.
var protectedParams = []string{"client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge", "code_challenge_method"}

// Run performs the sign-in and returns once the provider's answer has been
// verified, the context ends (ErrTimeout, ErrCanceled), or a step fails.
func (l *Login) Run(ctx context.Context) (*Result, error) {
	client, now, stderr := withDefaults(l.HTTPClient, l.Now, l.Stderr)
	p := l.Provider

	e, err := p.Resolve(ctx, client, now)
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	l.logf("authorization endpoint %s, token endpoint %s", e.Auth, e.Token)
	if e.Auth == "" {
		return nil, errors.New("the provider has no authorization endpoint; set auth_url in the config")
	}

	if err := p.checkRelay(); err != nil {
		return nil, err
	}
	state, nonce, verifier := randomToken(), randomToken(), oauth2.GenerateVerifier()
	ln, err := listen(p.RedirectHost, p.RedirectPort, p.redirectPath(), state)
	if err != nil {
		return nil, err
	}
	windDown := false
	defer func() {
		if !windDown {
			ln.close()
		}
	}()
	l.logf("listening for the redirect on %s", ln.addr())

	redirectURI, err := p.redirectURIFor(ln)
	if err != nil {
		return nil, err
	}
	conf := p.oauth2Config(e, redirectURI)
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	if e.Verifier != nil {
		opts = append(opts, oauth2.SetAuthURLParam("nonce", nonce))
	}
	keys := make([]string, 0, len(p.AuthParams))
	for k := range p.AuthParams {
		if !slices.Contains(protectedParams, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		opts = append(opts, oauth2.SetAuthURLParam(k, p.AuthParams[k]))
	}
	authURL := conf.AuthCodeURL(state, opts...)
	prefetched := e.prefetchKeys(ctx, client, l.Keys, now)

	if l.Open != nil {
		note := l.OpenNote
		if note == "" {
			note = "Opening the sign-in page in your browser. If it does not open, visit:"
		}
		// The browser's command line is readable by every user; the
		// one-time start URL keeps the state off it.
		startURL := ln.startURL(authURL)
		fmt.Fprintf(stderr, "%s\n\n  %s\n\n", note, startURL)
		if err := l.Open(ctx, startURL); err != nil {
			fmt.Fprintf(stderr, "Could not open a browser (%s); open the URL above yourself.\n", termtext.Short(err.Error()))
		}
	} else {
		fmt.Fprintf(stderr, "Open this URL in a browser to sign in:\n\n  %s\n\n", authURL)
	}
	if l.Ready != nil {
		l.Ready(authURL)
	}

	stop := l.progress(ctx, stderr)
	cb, err := waitCallback(ctx, ln, e, p.RequireIss)
	stop()
	if err != nil {
		ln.finish(failurePage(err))
		return nil, err
	}

	res, err := l.complete(ctx, client, now, e, prefetched, conf, cb.Code, verifier, nonce)
	if err == nil {
		err = p.addCallbackClaims(res, cb.form)
	}
	if err != nil {
		err = ctxErr(ctx, err)
		ln.finish(failurePage(err))
		return nil, err
	}
	who := res.Profile.Email
	if who == "" {
		who = res.Profile.Name
	}
	ln.finish(successPage(who))
	// The success page is on its way; the caller stores the result while
	// the listener sends it and closes (Result.Wait). A failure still
	// closes before Run returns: nothing is stored then.
	closed := make(chan struct{})
	windDown, res.closed = true, closed
	go func() {
		defer close(closed)
		if l.windingDown != nil {
			l.windingDown()
		}
		ln.close()
	}()
	return res, nil
}

// withDefaults fills what a Login or Device left unset: the bounded HTTP
// client, the real clock, and a writer that discards.
func withDefaults(client *http.Client, now func() time.Time, w io.Writer) (*http.Client, func() time.Time, io.Writer) {
	if client == nil {
		client = NewHTTPClient(0)
	}
	if now == nil {
		now = time.Now
	}
	if w == nil {
		w = io.Discard
	}
	return client, now, w
}

// waitCallback waits for the genuine redirect. Forged or stray requests never
// reach here: the listener answers them and keeps waiting.
func waitCallback(ctx context.Context, ln *listener, e *Endpoints, requireIss bool) (callbackParams, error) {
	select {
	case cb := <-ln.results:
		// RFC 9207 §2.4: compare iss whenever it is present, and require it
		// when the provider said it would send it.
		if e.Issuer != "" {
			if cb.Iss != "" && !e.issuerMatches(cb.Iss) {
				return callbackParams{}, fmt.Errorf("%w: expected %q, got %q", ErrIssuerMismatch, e.Issuer, termtext.Short(cb.Iss))
			}
			if cb.Iss == "" && (e.IssParameter || requireIss) {
				return callbackParams{}, fmt.Errorf("%w: the iss parameter is missing", ErrIssuerMismatch)
			}
		}
		if cb.Error != "" {
			return callbackParams{}, &ProviderError{Stage: "authorization", Code: termtext.Short(cb.Error), Description: cb.ErrorDescription}
		}
		return cb, nil
	case err := <-ln.aborted:
		return callbackParams{}, err
	case <-ctx.Done():
		return callbackParams{}, ctxErr(ctx, ctx.Err())
	}
}

// ctxErr turns a context's end into the flow's sentinel errors.
func ctxErr(ctx context.Context, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return ErrTimeout
	case errors.Is(ctx.Err(), context.Canceled):
		return ErrCanceled
	}
	return err
}

func (l *Login) complete(ctx context.Context, client *http.Client, now func() time.Time, e *Endpoints, keys func() *keySet, conf *oauth2.Config, code, verifier, nonce string) (*Result, error) {
	tok, err := conf.Exchange(context.WithValue(ctx, oauth2.HTTPClient, client), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, tokenError("token", err)
	}
	return finishSignIn(ctx, client, now, l.Provider, e, keys, conf.Scopes, tok, nonce, l.Verified)
}

// CheckToken refuses token responses authcli cannot use safely. Sign-in,
// device grant, refresh and client credentials all pass through it, so
// nothing it refuses is ever stored or printed.
func CheckToken(tok *oauth2.Token) error {
	if tok == nil || tok.AccessToken == "" {
		return fmt.Errorf("%w: it has no access token", ErrTokenResponse)
	}
	// RFC 6749 Appendix A.12 and A.17: tokens are 1*VSCHAR. Anything else
	// (an escape sequence, a newline) would reach a terminal, a header or
	// an eval'd `token --format env` line verbatim.
	if !isVSCHAR(tok.AccessToken) {
		return fmt.Errorf("%w: its access token holds characters RFC 6749 does not allow in a token", ErrTokenResponse)
	}
	if tok.RefreshToken != "" && !isVSCHAR(tok.RefreshToken) {
		return fmt.Errorf("%w: its refresh token holds characters RFC 6749 does not allow in a token", ErrTokenResponse)
	}
	// An empty type is read as Bearer by x/oauth2 (some providers omit it);
	// anything else (DPoP, MAC) needs proof-of-possession authcli lacks.
	if tok.TokenType != "" && !strings.EqualFold(tok.TokenType, "bearer") {
		return fmt.Errorf("%w: token type %q is not supported", ErrTokenResponse, termtext.Short(tok.TokenType))
	}
	return nil
}

// ValidToken reports whether s may be kept as a token: RFC 6749's
// 1*VSCHAR.
func ValidToken(s string) bool { return s != "" && isVSCHAR(s) }

// isVSCHAR reports whether s is RFC 6749's VSCHAR*: printable ASCII,
// space included.
func isVSCHAR(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// tokenError turns a token endpoint failure into a ProviderError when the
// provider answered with an OAuth error.
func tokenError(stage string, err error) error {
	var redirect *RedirectError
	if errors.As(err, &redirect) {
		return fmt.Errorf("the %s request failed: %w", stage, redirect)
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.ErrorCode != "" {
		return &ProviderError{Stage: stage, Code: termtext.Short(re.ErrorCode), Description: re.ErrorDescription}
	}
	if re != nil {
		return fmt.Errorf("%w: the token endpoint answered HTTP %d", ErrTokenResponse, re.Response.StatusCode)
	}
	if strings.Contains(err.Error(), "missing access_token") {
		return fmt.Errorf("%w: it has no access token", ErrTokenResponse)
	}
	if isNetworkError(err) {
		return reachError("the "+stage+" request", err)
	}
	return fmt.Errorf("the %s request failed: %w", stage, libError{err})
}

// VerifyIDToken checks an ID token per OpenID Connect Core §3.1.3.7 and
// returns its claims. nonce and accessToken may be empty (a refresh).
func VerifyIDToken(ctx context.Context, e *Endpoints, clientID, raw, nonce, accessToken string, now time.Time) (map[string]any, error) {
	idt, err := e.Verifier.Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrIDToken, verifyProblem(err, raw))
	}
	if nonce != "" && !equalSecret(idt.Nonce, nonce) {
		return nil, fmt.Errorf("%w: its nonce does not match the one authcli sent", ErrIDToken)
	}
	if idt.IssuedAt.After(now.Add(clockSkew)) {
		return nil, fmt.Errorf("%w: it claims to be issued in the future", ErrIDToken)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrIDToken, err)
	}
	if e.issuerCheck != nil {
		if err := e.issuerCheck.Token(e.discovered, idt.Issuer, claims); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrIDToken, err)
		}
	}
	// With several audiences, azp must name us (Core §3.1.3.7 items 4-5).
	if azp, ok := claims["azp"].(string); ok && len(idt.Audience) > 1 && azp != clientID {
		return nil, fmt.Errorf("%w: it was issued to another client", ErrIDToken)
	}
	if idt.AccessTokenHash != "" && accessToken != "" {
		if err := idt.VerifyAccessToken(accessToken); err != nil {
			return nil, fmt.Errorf("%w: its at_hash does not match the access token", ErrIDToken)
		}
	}
	return claims, nil
}

// verifyProblem says in words why go-oidc refused an ID token; its own
// texts print Go values (times with monotonic readings, slices).
func verifyProblem(err error, raw string) string {
	var expired *oidc.TokenExpiredError
	msg := err.Error()
	switch {
	case errors.As(err, &expired):
		return "it expired at " + expired.Expiry.UTC().Format(time.RFC3339)
	case strings.Contains(msg, "before the nbf"):
		return "it is not valid yet (its nbf time is in the future)"
	case strings.Contains(msg, "unexpected signature algorithm"):
		return fmt.Sprintf("it is signed with algorithm %q, which the provider does not use", termtext.Short(headerAlg(raw)))
	case strings.Contains(msg, "expected audience"):
		return "its audience does not include this client ID"
	}
	return termtext.Short(libText(msg))
}

// headerAlg reads a compact JWT's alg header without trusting it.
func headerAlg(raw string) string {
	h, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return ""
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	_ = json.Unmarshal(b, &hdr)
	return hdr.Alg
}

// fetchUserinfo reads the userinfo endpoint (or an OAuth 2.0 provider's
// profile endpoint) as a JSON object, numbers kept exact.
func fetchUserinfo(ctx context.Context, client *http.Client, endpoint, accessToken string) (map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUserinfo, err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUserinfo, requestErr(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: HTTP %d", ErrUserinfo, resp.StatusCode)
	}
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct != "application/json" && !strings.HasSuffix(ct, "+json") {
		return nil, fmt.Errorf("%w: content type %q is not JSON", ErrUserinfo, termtext.Short(ct))
	}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	var info map[string]any
	if err := dec.Decode(&info); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUserinfo, err)
	}
	return info, nil
}

func (l *Login) logf(format string, args ...any) {
	if l.Logf != nil {
		l.Logf(format, args...)
	}
}

// progress animates one status line on a terminal until stop is called.
func (l *Login) progress(ctx context.Context, w io.Writer) (stop func()) {
	if !l.Progress {
		return func() {}
	}
	deadline, hasDeadline := ctx.Deadline()
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		frames := []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
		t := time.NewTicker(120 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			line := fmt.Sprintf("%c Waiting for the browser to finish signing in", frames[i%len(frames)])
			if hasDeadline {
				line += fmt.Sprintf(" (%s left)", time.Until(deadline).Round(time.Second))
			}
			fmt.Fprintf(w, "\r\033[K%s  Ctrl-C cancels", line)
			select {
			case <-done:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}
