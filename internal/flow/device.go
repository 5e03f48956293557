package flow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/authcli/authcli/internal/termtext"
	"golang.org/x/oauth2"
)

// Sentinel errors of the device grant, written for a person like the others.
var (
	ErrDeviceDenied     = errors.New("the sign-in was denied on the verification page")
	ErrDeviceExpired    = errors.New("the code expired before the sign-in was approved; run the command again for a new one")
	ErrNoDeviceEndpoint = errors.New("the provider has no device authorization endpoint; set device_auth_url in the config or sign in with the browser")
	// ErrDeviceTimeout is ErrTimeout for the device grant: the context
	// ended while the code was still waiting for approval.
	ErrDeviceTimeout error = &timeoutError{"the code was not approved in time"}
)

// timeoutError is ErrTimeout with a detail; not fmt.Errorf at package
// level, which would run fmt at every start of every command.
type timeoutError struct{ detail string }

func (e *timeoutError) Error() string { return ErrTimeout.Error() + ": " + e.detail }
func (e *timeoutError) Unwrap() error { return ErrTimeout }

const (
	deviceGrantType = "urn:ietf:params:oauth:grant-type:device_code"
	// defaultDeviceInterval is RFC 8628 §3.2's polling interval when the
	// provider names none.
	defaultDeviceInterval = 5 * time.Second
	// slowDownStep is what every slow_down adds to the interval, for good
	// (RFC 8628 §3.5).
	slowDownStep = 5 * time.Second
	// maxPollFailures is how many polls in a row may fail at the network or
	// with a server error before the sign-in gives up; each failure doubles
	// the wait before the next poll (RFC 8628 §3.5 asks for a back-off).
	maxPollFailures = 3
	// maxDeviceSeconds bounds provider-supplied durations so that a hostile
	// number cannot overflow time.Duration.
	maxDeviceSeconds = 24 * 60 * 60
)

// Device is one sign-in with the device authorization grant (RFC 8628): for
// SSH sessions and machines without a browser. The person opens a page on
// any other device and enters a short code while authcli polls the token
// endpoint; the tokens then go through the same checks as the browser flow.
type Device struct {
	Provider   Provider
	HTTPClient *http.Client     // nil: NewHTTPClient(0)
	Stderr     io.Writer        // the verification URL and user code; nil discards
	Now        func() time.Time // nil: time.Now
	// Sleep waits between polls and must return early with ctx's error
	// when ctx ends; nil uses a real timer. Tests inject it to run the
	// polling schedule without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
	// Terminal says Stderr is a terminal: the prompt then shows a QR code of
	// the complete verification URI when it fits in Width columns, and a
	// countdown line that updates in place.
	Terminal bool
	Width    int
	Logf     func(format string, args ...any)
	// Keys keeps the provider's signing keys between processes (as
	// Login.Keys); they are read while the person approves the code.
	Keys KeyCache
	// OnCode, when set, is told the user code and verification URI once
	// the prompt is shown: `authcli demo --device` approves the code itself
	// when nobody can open the page.
	OnCode func(userCode, verificationURI string)
	// Verified is told the ID token's profile once the token is verified
	// (Login.Verified).
	Verified func(draft Profile)

	// shown, when set, receives the grant once the prompt is written; tests
	// use it to play the person approving on another device.
	shown func(g *deviceGrant)
}

// SupportsDevice reports whether the provider offers the device grant:
// discovery listed a device_authorization_endpoint or the config set one.
func SupportsDevice(e *Endpoints) bool {
	return e != nil && e.DeviceAuth != ""
}

// deviceGrant is the device authorization response (RFC 8628 §3.2).
// deviceCode is a credential: it never reaches a log line or the screen.
type deviceGrant struct {
	deviceCode              string
	userCode                string
	verificationURI         string
	verificationURIComplete string
	expiry                  time.Time // zero when the provider gave no lifetime
	interval                time.Duration
}

// Run asks the provider for a device code, shows the person where to enter
// it, polls until they approve or deny it, the code expires or ctx ends
// (ErrCanceled on Ctrl-C), then verifies the tokens like Login does. There is
// no nonce in this grant; everything else about the ID token is checked.
func (d *Device) Run(ctx context.Context) (*Result, error) {
	client, now, stderr := withDefaults(d.HTTPClient, d.Now, d.Stderr)
	sleep := d.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}

	e, err := d.Provider.Resolve(ctx, client, now)
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	if !SupportsDevice(e) {
		return nil, ErrNoDeviceEndpoint
	}
	d.logf("device authorization endpoint %s, token endpoint %s", e.DeviceAuth, e.Token)
	conf := d.Provider.oauth2Config(e, "")

	g, err := d.authorize(ctx, client, conf, now)
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	d.logf("polling every %s", g.interval)
	// The person is told when waiting ends: at the code's expiry, or at
	// the caller's deadline (--timeout) when that comes first.
	// The deadline is on the wall clock; end is on d.Now's.
	end := g.expiry
	if dl, ok := ctx.Deadline(); ok {
		if byDeadline := now().Add(time.Until(dl)); end.IsZero() || byDeadline.Before(end) {
			end = byDeadline
		}
	}
	d.prompt(stderr, g, end, now)
	if d.OnCode != nil {
		d.OnCode(g.userCode, g.verificationURI)
	}
	if d.shown != nil {
		d.shown(g)
	}

	keys := e.prefetchKeys(ctx, client, d.Keys, now)
	stop := d.countdown(stderr, end, now)
	tok, err := d.poll(ctx, client, conf, g, now, sleep)
	stop()
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, ErrDeviceTimeout
		}
		return nil, ctxErr(ctx, err)
	}
	res, err := finishSignIn(ctx, client, now, d.Provider, e, keys, conf.Scopes, tok, "", d.Verified)
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	return res, nil
}

// authorize sends the device authorization request (RFC 8628 §3.1).
func (d *Device) authorize(ctx context.Context, client *http.Client, conf *oauth2.Config, now func() time.Time) (*deviceGrant, error) {
	form := url.Values{"client_id": {conf.ClientID}}
	if len(conf.Scopes) > 0 {
		form.Set("scope", strings.Join(conf.Scopes, " "))
	}
	start := now()
	ans, err := postForm(ctx, client, conf, conf.Endpoint.DeviceAuthURL, form)
	if err != nil {
		return nil, fmt.Errorf("the device authorization request failed: %w", err)
	}
	if code := ans.str("error"); code != "" {
		return nil, &ProviderError{Stage: "device", Code: termtext.Short(code), Description: ans.str("error_description")}
	}
	if ans.status < 200 || ans.status > 299 {
		return nil, fmt.Errorf("the device authorization endpoint answered HTTP %d", ans.status)
	}
	g := &deviceGrant{
		deviceCode:              ans.str("device_code"),
		userCode:                ans.str("user_code"),
		verificationURI:         ans.str("verification_uri"),
		verificationURIComplete: ans.str("verification_uri_complete"),
		interval:                defaultDeviceInterval,
	}
	if g.verificationURI == "" {
		g.verificationURI = ans.str("verification_url") // Google's spelling
	}
	for _, f := range []struct{ name, v string }{{"device_code", g.deviceCode}, {"user_code", g.userCode}, {"verification_uri", g.verificationURI}} {
		if f.v == "" {
			return nil, fmt.Errorf("the provider's device authorization answer is not usable: it has no %s", f.name)
		}
	}
	if n, ok := ans.seconds("interval"); ok && n > 0 {
		g.interval = n
	}
	if n, ok := ans.seconds("expires_in"); ok && n > 0 {
		g.expiry = start.Add(n)
	}
	return g, nil
}

// poll asks the token endpoint for the tokens (RFC 8628 §3.4) until the
// person decides. It never polls sooner than the interval after the previous
// poll; slow_down raises the interval by 5 s for all later polls.
func (d *Device) poll(ctx context.Context, client *http.Client, conf *oauth2.Config, g *deviceGrant, now func() time.Time, sleep func(context.Context, time.Duration) error) (*oauth2.Token, error) {
	form := url.Values{
		"grant_type":  {deviceGrantType},
		"device_code": {g.deviceCode},
		"client_id":   {conf.ClientID},
	}
	interval, wait, failures := g.interval, g.interval, 0
	for {
		if !g.expiry.IsZero() {
			left := g.expiry.Sub(now())
			if left <= 0 {
				return nil, ErrDeviceExpired
			}
			// Sleeping past the expiry only delays the bad news.
			wait = min(wait, left)
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, ctxErr(ctx, err)
		}
		if !g.expiry.IsZero() && !now().Before(g.expiry) {
			return nil, ErrDeviceExpired
		}
		ans, err := postForm(ctx, client, conf, conf.Endpoint.TokenURL, form)
		if errors.Is(err, ErrTokenResponse) || errors.Is(err, errBodyTooLarge) {
			return nil, err
		}
		transient := err != nil
		if err == nil {
			code := ans.str("error")
			switch {
			case code == "authorization_pending":
				failures, wait = 0, interval
				continue
			case code == "slow_down":
				interval += slowDownStep
				failures, wait = 0, interval
				d.logf("the provider asked to slow down: polling every %s", interval)
				continue
			case code == "access_denied":
				return nil, ErrDeviceDenied
			case code == "expired_token":
				return nil, ErrDeviceExpired
			case code != "":
				return nil, &ProviderError{Stage: "device", Code: termtext.Short(code), Description: ans.str("error_description")}
			case ans.status >= 200 && ans.status <= 299:
				return ans.token(now()), nil
			case ans.status == http.StatusTooManyRequests || ans.status >= 500:
				transient = true
				err = fmt.Errorf("HTTP %d", ans.status)
			default:
				return nil, fmt.Errorf("%w: the token endpoint answered HTTP %d", ErrTokenResponse, ans.status)
			}
		}
		if transient {
			if ctx.Err() != nil {
				return nil, ctxErr(ctx, err)
			}
			failures++
			if failures > maxPollFailures {
				return nil, fmt.Errorf("the device token request failed %d times in a row: %w", failures, err)
			}
			wait = interval << failures
			d.logf("device token request failed (%v); retrying in %s", err, wait)
		}
	}
}

// prompt shows where to go and what to type, prominently: this is the one
// thing the person has to read. end is when the waiting stops (the code's
// expiry or the caller's deadline, whichever is first; zero: neither).
func (d *Device) prompt(w io.Writer, g *deviceGrant, end time.Time, now func() time.Time) {
	target := "To sign in"
	if d.Provider.Name != "" {
		target += " to " + termtext.Short(d.Provider.Name)
	}
	code := termtext.Short(g.userCode)
	if d.Terminal {
		code = "\033[1m" + code + "\033[0m"
	}
	page := termtext.Short(g.verificationURI)
	// A page on a loopback address (a provider on this machine, like the
	// demo's) opens only in a browser here, or through a forwarded port:
	// "any device" would send the person to a phone that cannot reach it.
	local, port := loopbackPage(page)
	where := "open this page on any device"
	if local {
		where = "open this page in a browser on this machine"
	}
	fmt.Fprintf(w, "\n%s, %s:\n\n    %s\n\nand enter the code:\n\n    %s\n\n", target, where, page, code)
	if local {
		fmt.Fprintf(w, "The page is on this machine's loopback address: from another machine, forward its port first (ssh -L %s:127.0.0.1:%s HOST).\n\n", port, port)
	}
	// The complete link is opened without reading (a QR code is scanned
	// blindly), so it must be a web page: https, or http on loopback. A
	// loopback link gets no QR code: no phone can reach it.
	if complete := termtext.Short(g.verificationURIComplete); complete != "" && checkURL("verification_uri_complete", complete) == nil {
		if qr, ok := renderQR(complete, d.Width); d.Terminal && ok && !local {
			fmt.Fprintf(w, "Or scan this code, which opens the page with the code filled in:\n\n%s\n", qr)
		} else {
			fmt.Fprintf(w, "Or open this link, which fills in the code:\n\n    %s\n\n", complete)
		}
	}
	if d.Terminal {
		return // the countdown line takes over
	}
	switch {
	case end.IsZero():
		fmt.Fprintln(w, "Waiting for the sign-in to be approved.")
	case end.Equal(g.expiry):
		fmt.Fprintf(w, "Waiting for the sign-in to be approved; the code expires in %s.\n", end.Sub(now()).Round(time.Second))
	default:
		fmt.Fprintf(w, "Waiting for the sign-in to be approved, for %s at most.\n", end.Sub(now()).Round(time.Second))
	}
}

// loopbackPage reports whether a verification page is on a loopback
// address, and its port.
func loopbackPage(raw string) (bool, string) {
	u, err := url.Parse(raw)
	if err != nil || !IsLoopbackHost(u.Hostname()) {
		return false, ""
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"https": "443"}[u.Scheme]
		if port == "" {
			port = "80"
		}
	}
	return true, port
}

// countdown keeps one status line up to date on a terminal until stop is
// called, so the person sees how long the code stays valid (or, when the
// caller's deadline comes first, how long authcli keeps waiting).
func (d *Device) countdown(w io.Writer, end time.Time, now func() time.Time) (stop func()) {
	if !d.Terminal {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			line := "Waiting for the sign-in to be approved"
			if !end.IsZero() {
				left := max(end.Sub(now()), 0).Truncate(time.Second)
				line += fmt.Sprintf(" (%d:%02d left)", int(left.Minutes()), int(left.Seconds())%60)
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

func (d *Device) logf(format string, args ...any) {
	if d.Logf != nil {
		d.Logf(format, args...)
	}
}

// sleepCtx is the real clock's Sleep.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// formAnswer is a device or token endpoint's answer: its status and the
// fields of its body, which is JSON or, from some providers, form-encoded.
type formAnswer struct {
	status int
	fields map[string]any
}

// postForm sends an OAuth request with the client authentication the token
// exchange uses (RFC 6749 §2.3.1) and reads the answer, bounded in size.
func postForm(ctx context.Context, client *http.Client, conf *oauth2.Config, endpoint string, form url.Values) (formAnswer, error) {
	form = cloneValues(form)
	basic := conf.ClientSecret != "" && conf.Endpoint.AuthStyle != oauth2.AuthStyleInParams
	if conf.ClientSecret != "" && !basic {
		form.Set("client_secret", conf.ClientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return formAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if basic {
		req.SetBasicAuth(url.QueryEscape(conf.ClientID), url.QueryEscape(conf.ClientSecret))
	}
	resp, err := client.Do(req)
	if err != nil {
		return formAnswer{}, requestErr(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return formAnswer{}, err
	}
	if len(body) > MaxResponseBytes {
		return formAnswer{}, errBodyTooLarge
	}
	ans := formAnswer{status: resp.StatusCode}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&ans.fields); err == nil {
		return ans, nil
	}
	ans.fields = nil
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if ct == "application/x-www-form-urlencoded" || ct == "text/plain" {
		if vals, err := url.ParseQuery(string(body)); err == nil {
			ans.fields = make(map[string]any, len(vals))
			for k := range vals {
				ans.fields[k] = vals.Get(k)
			}
			return ans, nil
		}
	}
	if ans.status >= 200 && ans.status <= 299 {
		return formAnswer{}, fmt.Errorf("%w: the answer is not JSON", ErrTokenResponse)
	}
	return ans, nil
}

func cloneValues(v url.Values) url.Values {
	c := make(url.Values, len(v))
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

// str returns a string field, "" when absent or not a string.
func (a formAnswer) str(key string) string {
	s, _ := a.fields[key].(string)
	return s
}

// seconds reads a whole number of seconds sent as a JSON number or string.
func (a formAnswer) seconds(key string) (time.Duration, bool) {
	var n int64
	var err error
	switch v := a.fields[key].(type) {
	case json.Number:
		n, err = v.Int64()
	case string:
		n, err = strconv.ParseInt(v, 10, 64)
	default:
		return 0, false
	}
	if err != nil {
		return 0, false
	}
	return time.Duration(min(n, maxDeviceSeconds)) * time.Second, true
}

// token builds the oauth2.Token of a successful answer; CheckToken later
// refuses one without an access token.
func (a formAnswer) token(now time.Time) *oauth2.Token {
	tok := &oauth2.Token{
		AccessToken:  a.str("access_token"),
		TokenType:    a.str("token_type"),
		RefreshToken: a.str("refresh_token"),
	}
	if n, ok := a.seconds("expires_in"); ok && n > 0 {
		tok.ExpiresIn = int64(n / time.Second)
		tok.Expiry = now.Add(n)
	}
	return tok.WithExtra(a.fields)
}
