package flow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authcli/authcli/internal/devidp"
	"github.com/authcli/authcli/internal/oidctest"
	"github.com/authcli/authcli/internal/secret"
)

// fakeClock is an injected Now and Sleep: Sleep records what it was asked to
// wait and moves the clock on by that much, without waiting. then, when set,
// runs inside Sleep call n (from 1) and may end the run with an error.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	frozen bool // Sleep does not advance Now
	sleeps []time.Duration
	then   func(n int, d time.Duration) error
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	n := len(c.sleeps)
	if !c.frozen {
		c.now = c.now.Add(d)
	}
	then := c.then
	c.mu.Unlock()
	if n > 50 {
		return errors.New("fake clock: too many sleeps, the polling loop does not end")
	}
	if then != nil {
		if err := then(n, d); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sleeps)
}

func secs(ns ...int) []time.Duration {
	out := make([]time.Duration, len(ns))
	for i, n := range ns {
		out[i] = time.Duration(n) * time.Second
	}
	return out
}

// syncBuffer is a Stderr the countdown goroutine and the test may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ---- against the embedded provider ----

func startIDP(t *testing.T, opts devidp.Options) *devidp.Server {
	t.Helper()
	idp, err := devidp.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Close() })
	return idp
}

// idpDevice returns a Device for the embedded provider and the user code
// it will show, available once the prompt is written.
func idpDevice(idp *devidp.Server) (*Device, func() string) {
	var mu sync.Mutex
	var code string
	d := &Device{
		Provider:   Provider{Name: "demo", Issuer: idp.Issuer(), ClientID: devidp.DemoClientID},
		HTTPClient: NewHTTPClient(5 * time.Second),
	}
	d.shown = func(g *deviceGrant) {
		mu.Lock()
		code = g.userCode
		mu.Unlock()
	}
	return d, func() string {
		mu.Lock()
		defer mu.Unlock()
		return code
	}
}

func testCtx(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 20*time.Second)
}

// TestDeviceApprove runs the real timer: the first poll finds the request
// pending, the person approves while Run waits, and the second poll gets
// tokens that pass ID token verification.
func TestDeviceApprove(t *testing.T) {
	idp := startIDP(t, devidp.Options{DevicePollInterval: time.Second})
	d, userCode := idpDevice(idp)
	var stderr bytes.Buffer
	d.Stderr = &stderr
	var sleeps []time.Duration
	d.Sleep = func(ctx context.Context, dur time.Duration) error {
		sleeps = append(sleeps, dur)
		if len(sleeps) == 2 {
			if err := idp.ApproveDevice(userCode(), "grace"); err != nil {
				return err
			}
		}
		return sleepCtx(ctx, dur)
	}
	ctx, cancel := testCtx(t)
	defer cancel()
	res, err := d.Run(ctx)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !reflect.DeepEqual(sleeps, secs(1, 1)) {
		t.Errorf("sleeps = %v, want one pending poll, then the approved one", sleeps)
	}
	p := res.Profile
	if p.Subject != "grace" || p.Email != "grace@example.com" || !p.EmailVerified || p.Name != "Grace Hopper" {
		t.Errorf("profile = %+v", p)
	}
	if res.Token.AccessToken == "" || res.IDToken == "" || res.Endpoints.DeviceAuth == "" {
		t.Errorf("result incomplete: access=%t id=%t", res.Token.AccessToken != "", res.IDToken != "")
	}
	if !slices.Contains(res.Scopes, "openid") {
		t.Errorf("scopes = %v", res.Scopes)
	}
	out := stderr.String()
	for _, want := range []string{"To sign in to demo", idp.Issuer() + "/device", "\n    " + userCode() + "\n", "user_code=", "approved, for ", "s at most."} {
		if !strings.Contains(out, want) {
			t.Errorf("prompt lacks %q:\n%s", want, out)
		}
	}
	// The context (20 s) ends the wait long before the code's 10 minutes.
	if strings.Contains(out, "expires in") {
		t.Errorf("prompt promises the code's lifetime although the deadline comes first:\n%s", out)
	}
	if strings.Contains(out, "\033") {
		t.Errorf("escape sequences written to a non-terminal:\n%q", out)
	}
	if got := idp.Stats().DeviceAuthorizations; got != 1 {
		t.Errorf("device authorizations = %d, want 1", got)
	}
}

// TestDeviceOutcomes covers the person's and the provider's other answers.
func TestDeviceOutcomes(t *testing.T) {
	tests := []struct {
		name   string
		opts   devidp.Options
		frozen bool
		act    func(t *testing.T, idp *devidp.Server, code string, n int) error
		want   error
		sleeps []time.Duration
	}{
		{
			name: "deny",
			act: func(t *testing.T, idp *devidp.Server, code string, n int) error {
				return idp.DenyDevice(code)
			},
			want:   ErrDeviceDenied,
			sleeps: secs(5),
		},
		{
			// The clock Run sees is frozen, so only the provider's
			// expired_token can end the run.
			name:   "expire",
			opts:   devidp.Options{DeviceCodeTTL: time.Second},
			frozen: true,
			act: func(t *testing.T, idp *devidp.Server, code string, n int) error {
				if n > 1 {
					return nil
				}
				deadline := time.Now().Add(10 * time.Second)
				for !errors.Is(idp.ApproveDevice(code, "no-such-user"), devidp.ErrUnknownUserCode) {
					if time.Now().After(deadline) {
						return errors.New("the device code never expired")
					}
					time.Sleep(20 * time.Millisecond)
				}
				return nil
			},
			want:   ErrDeviceExpired,
			sleeps: secs(1), // never longer than the code lives
		},
		{
			// Polls arrive at once on the fake clock, so the provider
			// answers the second one with slow_down; the next wait must be
			// 5 s longer. The third wait is interrupted like Ctrl-C.
			name: "slow_down then cancel",
			opts: devidp.Options{DevicePollInterval: time.Second},
			act: func(t *testing.T, idp *devidp.Server, code string, n int) error {
				if n == 3 {
					return context.Canceled
				}
				return nil
			},
			want:   ErrCanceled,
			sleeps: secs(1, 1, 6),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp := startIDP(t, tt.opts)
			d, userCode := idpDevice(idp)
			clock := newFakeClock()
			clock.frozen = tt.frozen
			ctx, cancel := testCtx(t)
			defer cancel()
			clock.then = func(n int, _ time.Duration) error {
				err := tt.act(t, idp, userCode(), n)
				if errors.Is(err, context.Canceled) {
					cancel()
					return nil
				}
				return err
			}
			d.Now, d.Sleep = clock.Now, clock.Sleep
			var logs []string
			d.Logf = func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) }
			res, err := d.Run(ctx)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Run = %v, %v; want %v", res, err, tt.want)
			}
			if got := clock.Sleeps(); !reflect.DeepEqual(got, tt.sleeps) {
				t.Errorf("sleeps = %v, want %v", got, tt.sleeps)
			}
			if tt.name == "slow_down then cancel" && !slices.ContainsFunc(logs, func(l string) bool { return strings.Contains(l, "polling every 6s") }) {
				t.Errorf("slow_down not logged: %q", logs)
			}
		})
	}
}

// TestDeviceCancelRealTimer checks that the default Sleep honours ctx: the
// run ends long before the provider's 5 s interval.
func TestDeviceCancelRealTimer(t *testing.T) {
	idp := startIDP(t, devidp.Options{})
	d, _ := idpDevice(idp)
	ctx, cancel := testCtx(t)
	defer cancel()
	d.shown = func(*deviceGrant) { time.AfterFunc(20*time.Millisecond, cancel) }
	start := time.Now()
	_, err := d.Run(ctx)
	if !errors.Is(err, ErrCanceled) {
		t.Fatalf("Run: %v, want ErrCanceled", err)
	}
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("cancel took %s", took)
	}
}

// TestDeviceTimeout checks that a deadline ending the wait is the device
// grant's own timeout error (no word of a browser), and still ErrTimeout.
func TestDeviceTimeout(t *testing.T) {
	idp := startIDP(t, devidp.Options{DevicePollInterval: time.Second})
	d, _ := idpDevice(idp)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	_, err := d.Run(ctx)
	if !errors.Is(err, ErrDeviceTimeout) || !errors.Is(err, ErrTimeout) {
		t.Fatalf("Run: %v, want ErrDeviceTimeout (an ErrTimeout)", err)
	}
	if strings.Contains(err.Error(), "browser") {
		t.Errorf("the device grant's timeout talks about a browser: %v", err)
	}
}

// TestDevicePromptWhere checks what the prompt says about where to go and
// how long it waits: any device for a page on the network, this machine
// (and how to forward the port) for a loopback page; the code's lifetime
// only when no earlier deadline ends the wait.
func TestDevicePromptWhere(t *testing.T) {
	now := time.Now()
	for _, tt := range []struct {
		name     string
		uri      string
		end      time.Duration
		terminal bool
		want     []string
		not      []string
	}{
		{"network page", "https://idp.example/device", 90 * time.Second, false,
			[]string{"open this page on any device:", "the code expires in 1m30s."}, []string{"this machine", "ssh -L", "at most"}},
		{"deadline first", "https://idp.example/device", 30 * time.Second, false,
			[]string{"approved, for 30s at most."}, []string{"expires in"}},
		{"loopback page", "http://127.0.0.1:5556/device", 90 * time.Second, false,
			[]string{"open this page in a browser on this machine:", "ssh -L 5556:127.0.0.1:5556 HOST"}, []string{"any device"}},
		{"network page on a terminal", "https://idp.example/device", 90 * time.Second, true,
			[]string{"Or scan this code", "\033[30;107m"}, []string{"Or open this link"}},
		{"loopback page on a terminal", "http://127.0.0.1:5556/device", 90 * time.Second, true,
			[]string{"Or open this link"}, []string{"Or scan this code", "\033[30;107m"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			d := &Device{Provider: Provider{Name: "demo"}, Terminal: tt.terminal, Width: 80}
			d.prompt(&buf, &deviceGrant{
				userCode:                "ABCD-EFGH",
				verificationURI:         tt.uri,
				verificationURIComplete: tt.uri + "?user_code=ABCD-EFGH",
				expiry:                  now.Add(90 * time.Second),
			}, now.Add(tt.end), func() time.Time { return now })
			out := buf.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("prompt lacks %q:\n%s", w, out)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(out, n) {
					t.Errorf("prompt has %q:\n%s", n, out)
				}
			}
		})
	}
}

func TestDeviceNoEndpoint(t *testing.T) {
	op := oidctest.New(t) // its discovery lists no device endpoint
	d := &Device{Provider: fakeProvider(op), HTTPClient: NewHTTPClient(5 * time.Second), Sleep: newFakeClock().Sleep}
	ctx, cancel := testCtx(t)
	defer cancel()
	if _, err := d.Run(ctx); !errors.Is(err, ErrNoDeviceEndpoint) {
		t.Fatalf("Run: %v, want ErrNoDeviceEndpoint", err)
	}
}

func TestSupportsDevice(t *testing.T) {
	for _, tt := range []struct {
		e    *Endpoints
		want bool
	}{
		{nil, false},
		{&Endpoints{Token: "https://idp.example/token"}, false},
		{&Endpoints{Token: "https://idp.example/token", DeviceAuth: "https://idp.example/device"}, true},
	} {
		if got := SupportsDevice(tt.e); got != tt.want {
			t.Errorf("SupportsDevice(%+v) = %t", tt.e, got)
		}
	}
}

// TestDeviceTerminal checks the terminal prompt and the countdown line. The
// demo provider's page is on loopback, so it never gets a QR code (a phone
// cannot reach it): TestDevicePromptWhere covers the QR code itself.
func TestDeviceTerminal(t *testing.T) {
	idp := startIDP(t, devidp.Options{})
	for _, tt := range []struct {
		width  int
		wantQR bool
	}{{80, false}, {20, false}, {0, false}} {
		t.Run(fmt.Sprint(tt.width), func(t *testing.T) {
			d, userCode := idpDevice(idp)
			var stderr syncBuffer
			d.Stderr, d.Terminal, d.Width = &stderr, true, tt.width
			clock := newFakeClock()
			clock.frozen = true // the countdown reads Now from its own goroutine
			clock.then = func(int, time.Duration) error { return idp.ApproveDevice(userCode(), "ada") }
			d.Now, d.Sleep = clock.Now, clock.Sleep
			ctx, cancel := testCtx(t)
			defer cancel()
			if _, err := d.Run(ctx); err != nil {
				t.Fatalf("Run: %v", err)
			}
			out := stderr.String()
			if got := strings.Contains(out, "\033[30;107m"); got != tt.wantQR {
				t.Errorf("QR shown = %t, want %t:\n%s", got, tt.wantQR, out)
			}
			if got := strings.Contains(out, "Or open this link"); got == tt.wantQR {
				t.Errorf("link shown = %t, want %t", got, !tt.wantQR)
			}
			for _, want := range []string{"\033[1m" + userCode() + "\033[0m", " left)  Ctrl-C cancels"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%q", want, out)
				}
			}
			if !strings.HasSuffix(out, "\r\033[K") {
				t.Errorf("countdown line not cleared at the end: %q", out[max(0, len(out)-40):])
			}
		})
	}
}

// ---- the polling loop against a scripted provider ----

type scriptedAnswer struct {
	status int
	body   string
	form   bool // form-encoded, as GitHub answers without Accept
}

// scriptedOP is a plain OAuth 2.0 provider whose device and token endpoints
// answer from a script, one entry per request.
type scriptedOP struct {
	t      *testing.T
	srv    *httptest.Server
	device scriptedAnswer

	mu      sync.Mutex
	polls   []scriptedAnswer
	forms   []url.Values // every request's form, device request first
	auths   []string     // every request's Authorization header
	npolls  int
	secret  string
	hijacks int // close the connection instead of answering this many polls
}

func newScriptedOP(t *testing.T, device string, polls ...scriptedAnswer) *scriptedOP {
	s := &scriptedOP{t: t, device: scriptedAnswer{status: 200, body: device}, polls: polls}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *scriptedOP) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/userinfo" {
		if r.Header.Get("Authorization") != "Bearer at-device" {
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		}
		writeJSON(w, map[string]any{"sub": 42, "email": "ada@example.com", "name": "Ada"})
		return
	}
	_ = r.ParseForm()
	s.mu.Lock()
	s.forms = append(s.forms, r.PostForm)
	s.auths = append(s.auths, r.Header.Get("Authorization"))
	var a scriptedAnswer
	switch r.URL.Path {
	case "/device":
		a = s.device
	case "/token":
		s.npolls++
		if s.hijacks > 0 {
			s.hijacks--
			s.mu.Unlock()
			conn, _, _ := w.(http.Hijacker).Hijack()
			_ = conn.Close()
			return
		}
		if len(s.polls) == 0 {
			s.mu.Unlock()
			s.t.Errorf("unexpected poll %d", s.npolls)
			http.Error(w, "script exhausted", http.StatusTeapot)
			return
		}
		a, s.polls = s.polls[0], s.polls[1:]
	default:
		s.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	s.mu.Unlock()
	if a.form {
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(a.status)
	_, _ = w.Write([]byte(a.body))
}

func (s *scriptedOP) provider() Provider {
	return Provider{
		Name: "scripted", ClientID: "cid", ClientSecret: secret.Secret(s.secret), Scopes: []string{"read", "write"},
		TokenURL: s.srv.URL + "/token", DeviceAuthURL: s.srv.URL + "/device", UserinfoURL: s.srv.URL + "/userinfo",
	}
}

const (
	deviceOK    = `{"device_code":"dc-secret-77","user_code":"WDJB-MJHT","verification_uri":"https://example.com/device","verification_uri_complete":"https://example.com/device?user_code=WDJB-MJHT","expires_in":600,"interval":3}`
	tokensOK    = `{"access_token":"at-device","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-device","scope":"read"}`
	pendingBody = `{"error":"authorization_pending"}`
)

func jsonAnswer(status int, body string) scriptedAnswer {
	return scriptedAnswer{status: status, body: body}
}

var (
	pending  = jsonAnswer(400, pendingBody)
	slowDown = jsonAnswer(400, `{"error":"slow_down"}`)
	tokens   = jsonAnswer(200, tokensOK)
)

func TestDevicePolling(t *testing.T) {
	tests := []struct {
		name    string
		device  string
		polls   []scriptedAnswer
		hijacks int
		want    error  // nil: success
		text    string // in the error
		sleeps  []time.Duration
		npolls  int
	}{
		{name: "pending twice, slow_down, tokens", device: deviceOK,
			polls:  []scriptedAnswer{pending, pending, slowDown, tokens},
			sleeps: secs(3, 3, 3, 8), npolls: 4},
		{name: "slow_down is permanent", device: deviceOK,
			polls:  []scriptedAnswer{slowDown, pending, slowDown, pending, tokens},
			sleeps: secs(3, 8, 8, 13, 13), npolls: 5},
		{name: "no interval means 5 s", device: `{"device_code":"dc","user_code":"U","verification_uri":"https://example.com/d","expires_in":600}`,
			polls: []scriptedAnswer{pending, tokens}, sleeps: secs(5, 5), npolls: 2},
		{name: "zero interval means 5 s", device: `{"device_code":"dc","user_code":"U","verification_uri":"https://example.com/d","expires_in":"600","interval":0}`,
			polls: []scriptedAnswer{tokens}, sleeps: secs(5), npolls: 1},
		{name: "expires_in ends the wait", device: `{"device_code":"dc","user_code":"U","verification_uri":"https://example.com/d","expires_in":10,"interval":4}`,
			polls: []scriptedAnswer{pending, pending}, want: ErrDeviceExpired, sleeps: secs(4, 4, 2), npolls: 2},
		{name: "access_denied", device: deviceOK, polls: []scriptedAnswer{pending, jsonAnswer(400, `{"error":"access_denied"}`)},
			want: ErrDeviceDenied, sleeps: secs(3, 3), npolls: 2},
		{name: "expired_token", device: deviceOK, polls: []scriptedAnswer{jsonAnswer(400, `{"error":"expired_token"}`)},
			want: ErrDeviceExpired, sleeps: secs(3), npolls: 1},
		{name: "other OAuth error", device: deviceOK, polls: []scriptedAnswer{jsonAnswer(400, `{"error":"invalid_grant","error_description":"bad \u001b[2J code"}`)},
			text: "the provider refused the device request (invalid_grant: bad [2J code)", sleeps: secs(3), npolls: 1},
		{name: "errors with HTTP 200, form-encoded (GitHub)", device: deviceOK,
			polls:  []scriptedAnswer{{status: 200, body: "error=authorization_pending", form: true}, {status: 200, body: "access_token=at-device&token_type=bearer&scope=read%2Cwrite", form: true}},
			sleeps: secs(3, 3), npolls: 2},
		{name: "server errors back off", device: deviceOK, polls: []scriptedAnswer{jsonAnswer(503, ""), jsonAnswer(500, "oops"), tokens},
			sleeps: secs(3, 6, 12), npolls: 3},
		{name: "connection drops back off", device: deviceOK, hijacks: 1, polls: []scriptedAnswer{pending, tokens},
			sleeps: secs(3, 6, 3), npolls: 3},
		{name: "gives up after repeated failures", device: deviceOK, polls: []scriptedAnswer{jsonAnswer(500, ""), jsonAnswer(500, ""), jsonAnswer(502, ""), jsonAnswer(500, "")},
			text: "failed 4 times in a row: HTTP 500", sleeps: secs(3, 6, 12, 24), npolls: 4},
		{name: "no access token", device: deviceOK, polls: []scriptedAnswer{jsonAnswer(200, `{"token_type":"Bearer"}`)},
			want: ErrTokenResponse, sleeps: secs(3), npolls: 1},
		{name: "not JSON", device: deviceOK, polls: []scriptedAnswer{{status: 200, body: "<html>", form: false}},
			want: ErrTokenResponse, sleeps: secs(3), npolls: 1},
		{name: "device endpoint refuses", device: `{"error":"unauthorized_client","error_description":"no device grant for you"}`,
			text: "the provider refused the device request (unauthorized_client: no device grant for you)"},
		{name: "device answer without user code", device: `{"device_code":"dc","verification_uri":"https://example.com/d"}`,
			text: "it has no user_code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newScriptedOP(t, tt.device, tt.polls...)
			op.hijacks = tt.hijacks
			if strings.Contains(tt.device, `"error"`) {
				op.device.status = 400
			}
			clock := newFakeClock()
			var stderr bytes.Buffer
			var logs []string
			d := &Device{
				Provider: op.provider(), HTTPClient: NewHTTPClient(5 * time.Second), Stderr: &stderr,
				Now: clock.Now, Sleep: clock.Sleep,
				Logf: func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) },
			}
			ctx, cancel := testCtx(t)
			defer cancel()
			res, err := d.Run(ctx)
			switch {
			case tt.want == nil && tt.text == "":
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				if res.Profile.Subject != "42" || res.Profile.Email != "ada@example.com" || res.Token.AccessToken != "at-device" {
					t.Errorf("result = %+v", res.Profile)
				}
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Fatalf("Run: %v, want %v", err, tt.want)
			case tt.text != "" && (err == nil || !strings.Contains(err.Error(), tt.text)):
				t.Fatalf("Run: %v, want text %q", err, tt.text)
			}
			if got := clock.Sleeps(); !reflect.DeepEqual(got, tt.sleeps) && (len(got) != 0 || len(tt.sleeps) != 0) {
				t.Errorf("sleeps = %v, want %v", got, tt.sleeps)
			}
			op.mu.Lock()
			defer op.mu.Unlock()
			if op.npolls != tt.npolls {
				t.Errorf("polls = %d, want %d", op.npolls, tt.npolls)
			}
			if dev := op.forms[0]; dev.Get("client_id") != "cid" || dev.Get("scope") != "read write" {
				t.Errorf("device request form = %v", dev)
			}
			for _, f := range op.forms[1:] {
				if f.Get("grant_type") != deviceGrantType || f.Get("client_id") != "cid" || f.Get("device_code") == "" {
					t.Errorf("poll form = %v", f)
				}
			}
			all := stderr.String() + strings.Join(logs, "\n")
			if err != nil {
				all += err.Error()
			}
			if strings.Contains(all, "dc-secret-77") {
				t.Error("the device code reached the screen, a log line or an error")
			}
		})
	}
}

// TestDeviceScopesFromAnswer checks that the granted scopes come from the
// token answer, whichever encoding it used.
func TestDeviceScopesFromAnswer(t *testing.T) {
	op := newScriptedOP(t, deviceOK, tokens)
	clock := newFakeClock()
	d := &Device{Provider: op.provider(), HTTPClient: NewHTTPClient(5 * time.Second), Now: clock.Now, Sleep: clock.Sleep}
	ctx, cancel := testCtx(t)
	defer cancel()
	res, err := d.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.Scopes, []string{"read"}) || res.Token.RefreshToken != "rt-device" {
		t.Errorf("scopes = %v, refresh token present = %t", res.Scopes, res.Token.RefreshToken != "")
	}
	if want := clock.Now().Add(time.Hour); !res.Token.Expiry.Equal(want) {
		t.Errorf("expiry = %v, want %v (Now at the answer + expires_in)", res.Token.Expiry, want)
	}
}

// TestDeviceClientAuthentication checks that a confidential client
// authenticates both requests with HTTP Basic, and never puts the secret
// in the form.
func TestDeviceClientAuthentication(t *testing.T) {
	op := newScriptedOP(t, deviceOK, tokens)
	op.secret = "s3cret/+"
	clock := newFakeClock()
	d := &Device{Provider: op.provider(), HTTPClient: NewHTTPClient(5 * time.Second), Now: clock.Now, Sleep: clock.Sleep}
	ctx, cancel := testCtx(t)
	defer cancel()
	if _, err := d.Run(ctx); err != nil {
		t.Fatal(err)
	}
	op.mu.Lock()
	defer op.mu.Unlock()
	r := &http.Request{Header: http.Header{}}
	r.SetBasicAuth("cid", url.QueryEscape("s3cret/+"))
	for i, a := range op.auths {
		if a != r.Header.Get("Authorization") {
			t.Errorf("request %d Authorization = %q", i, a)
		}
		if op.forms[i].Has("client_secret") {
			t.Errorf("request %d sent the secret in the form", i)
		}
	}
	if len(op.auths) != 2 {
		t.Errorf("requests = %d, want 2", len(op.auths))
	}
}

// TestDevicePromptSanitizes checks that provider text cannot rewrite the
// terminal and that a link which is not a web page is neither printed as
// one nor drawn as a QR code.
func TestDevicePromptSanitizes(t *testing.T) {
	now := time.Now()
	for _, terminal := range []bool{false, true} {
		var buf bytes.Buffer
		d := &Device{Provider: Provider{Name: "evil\033[2J"}, Terminal: terminal, Width: 200}
		d.prompt(&buf, &deviceGrant{
			userCode:                "AB\033]0;pwned\aCD",
			verificationURI:         "https://idp.example/device\r\nfake line",
			verificationURIComplete: "javascript:alert(1)",
			expiry:                  now.Add(90 * time.Second),
		}, now.Add(90*time.Second), func() time.Time { return now })
		out := buf.String()
		if terminal {
			out = strings.NewReplacer("\033[1m", "", "\033[0m", "").Replace(out)
		}
		if strings.ContainsAny(out, "\033\a\r") {
			t.Errorf("terminal=%t: control characters reached the screen: %q", terminal, out)
		}
		if strings.Contains(out, "javascript") || strings.Contains(out, "Or ") {
			t.Errorf("terminal=%t: a non-web link was offered: %q", terminal, out)
		}
		if !strings.Contains(out, "AB]0;pwnedCD") {
			t.Errorf("terminal=%t: user code missing: %q", terminal, out)
		}
		if got := strings.Contains(out, "the code expires in 1m30s"); got == terminal {
			t.Errorf("terminal=%t: static expiry line shown = %t", terminal, got)
		}
	}
}
