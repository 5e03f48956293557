package flow

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authcli/authcli/internal/oidctest"
)

func TestParseCallback(t *testing.T) {
	tests := []struct {
		name    string
		query   string
		want    callbackParams
		wantErr bool
	}{
		{"code", "code=abc&state=s1", callbackParams{Code: "abc", State: "s1"}, false},
		{"code with iss", "code=abc&state=s1&iss=https%3A%2F%2Fop", callbackParams{Code: "abc", State: "s1", Iss: "https://op"}, false},
		{"error", "error=access_denied&error_description=no&state=s1", callbackParams{Error: "access_denied", ErrorDescription: "no", State: "s1"}, false},
		{"missing state", "code=abc", callbackParams{}, true},
		{"empty state", "code=abc&state=", callbackParams{}, true},
		{"no code no error", "state=s1", callbackParams{}, true},
		{"code and error", "code=a&error=b&state=s1", callbackParams{}, true},
		{"repeated state", "code=a&state=s1&state=s2", callbackParams{}, true},
		{"repeated code", "code=a&code=b&state=s1", callbackParams{}, true},
		{"unknown parameters ignored", "code=a&state=s1&session_state=x", callbackParams{Code: "a", State: "s1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := url.ParseQuery(tt.query)
			got, err := parseCallback(v)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %t", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, errBadCallback) {
				t.Errorf("err %v is not errBadCallback", err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func FuzzParseCallback(f *testing.F) {
	for _, s := range []string{"code=abc&state=s1", "error=access_denied&state=x&error_description=%3Cb%3E", "state=a&state=b", "", "%zz", "code=&state=&iss=",
		// The iss of RFC 9207 given twice, and an error with markup, a
		// terminal escape and an error_uri.
		"code=a&state=s&iss=https%3A%2F%2Fop&iss=https%3A%2F%2Fevil",
		"error=access_denied&error_description=%3Cscript%3E%1B%5B2J&error_uri=https%3A%2F%2Fx&state=s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		p, err := parseCallback(v)
		if err != nil {
			return
		}
		if p.State == "" || (p.Code == "") == (p.Error == "") {
			t.Fatalf("accepted an incomplete response %+v from %q", p, raw)
		}
		for _, k := range []string{"state", "code", "error", "iss"} {
			if len(v[k]) > 1 {
				t.Fatalf("accepted repeated %s from %q", k, raw)
			}
		}
	})
}

// startListener returns a listener for state "good-state" and its base URL.
func startListener(t *testing.T, host string) (*listener, string) {
	t.Helper()
	ln, err := listen(host, 0, "/callback", "good-state")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ln.close)
	return ln, "http://" + ln.addr().String()
}

func get(t *testing.T, rawURL string, mutate func(*http.Request)) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(req)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestListenerBindsLoopbackOnly(t *testing.T) {
	ln, _ := startListener(t, "")
	for _, l := range ln.lns {
		ip := l.Addr().(*net.TCPAddr).IP
		if !ip.IsLoopback() {
			t.Errorf("listening on %s, want loopback only", ip)
		}
	}
	if !strings.HasPrefix(ln.redirectURI(), "http://127.0.0.1:") {
		t.Errorf("redirect URI %q must use the literal 127.0.0.1", ln.redirectURI())
	}
	if _, err := listen("0.0.0.0", 0, "", "s"); err == nil {
		t.Error("listen accepted 0.0.0.0")
	}
}

func TestListenerLocalhostRedirect(t *testing.T) {
	ln, _ := startListener(t, "localhost")
	if !strings.HasPrefix(ln.redirectURI(), "http://localhost:") {
		t.Errorf("redirect URI = %q", ln.redirectURI())
	}
}

// TestListenerIgnoresStrays: what is not the genuine redirect is answered
// and ignored; the listener keeps waiting and then takes the real one.
func TestListenerIgnoresStrays(t *testing.T) {
	ln, base := startListener(t, "")
	// A local attacker's connection that never sends a byte must not block.
	idle, err := net.Dial("tcp", ln.addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()

	strays := []struct {
		name   string
		path   string
		mutate func(*http.Request)
		status int
	}{
		{"favicon", "/favicon.ico", nil, http.StatusNotFound},
		{"other path", "/callback/../admin?code=x&state=good-state", nil, http.StatusNotFound},
		{"wrong state", "/callback?code=forged&state=bad-state", nil, http.StatusBadRequest},
		{"missing state", "/callback?code=forged", nil, http.StatusBadRequest},
		{"forged error", "/callback?error=access_denied&state=bad-state", nil, http.StatusBadRequest},
		{"repeated state", "/callback?code=forged&state=good-state&state=bad", nil, http.StatusBadRequest},
		{"foreign Host (DNS rebinding)", "/callback?code=forged&state=good-state", func(r *http.Request) { r.Host = "evil.example:80" }, http.StatusBadRequest},
		{"Host localhost when 127.0.0.1 was registered", "/callback?code=forged&state=good-state", func(r *http.Request) {
			r.Host = strings.Replace(r.Host, "127.0.0.1", "localhost", 1)
		}, http.StatusBadRequest},
		{"other method", "/callback?code=forged&state=good-state", func(r *http.Request) { r.Method = http.MethodPut }, http.StatusMethodNotAllowed},
	}
	for _, s := range strays {
		status, body := get(t, base+s.path, s.mutate)
		if status != s.status {
			t.Errorf("%s: status %d, want %d", s.name, status, s.status)
		}
		if strings.Contains(body, "signed in") {
			t.Errorf("%s: stray request got the success page", s.name)
		}
		select {
		case p := <-ln.results:
			t.Fatalf("%s: stray request was accepted as the callback: %+v", s.name, p)
		default:
		}
	}

	done := make(chan string, 1)
	go func() {
		resp, err := http.Get(base + "/callback?code=real&state=good-state")
		if err != nil {
			done <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- string(b)
	}()
	select {
	case p := <-ln.results:
		if p.Code != "real" {
			t.Fatalf("got code %q", p.Code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("genuine callback not delivered")
	}
	ln.finish(successPage("ada@example.com"))
	if body := <-done; !strings.Contains(body, "Signed in as ada@example.com") {
		t.Errorf("success page:\n%s", body)
	}
	// A replay after the answer is refused too.
	if status, _ := get(t, base+"/callback?code=real&state=good-state", nil); status != http.StatusBadRequest {
		t.Errorf("replayed callback: status %d", status)
	}
}

func TestListenerFormPost(t *testing.T) {
	ln, base := startListener(t, "")
	go func() {
		resp, err := http.Post(base+"/callback", "application/x-www-form-urlencoded", strings.NewReader("code=posted&state=good-state&user=%7B%7D"))
		if err == nil {
			resp.Body.Close()
		}
	}()
	select {
	case p := <-ln.results:
		if p.Code != "posted" {
			t.Fatalf("code = %q", p.Code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("form_post callback not delivered")
	}
	ln.finish(successPage(""))
}

func TestListenerFormPostLimits(t *testing.T) {
	_, base := startListener(t, "")
	for _, tt := range []struct{ ct, body string }{
		{"text/plain", "code=x&state=good-state"},
		{"application/x-www-form-urlencoded", "code=x&state=good-state&pad=" + strings.Repeat("a", maxCallbackBody)},
	} {
		resp, err := http.Post(base+"/callback", tt.ct, strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s, %d bytes: status %d, want 400", tt.ct, len(tt.body), resp.StatusCode)
		}
	}
}

// TestLoginSurvivesLocalAttacker runs a whole sign-in while forged
// callbacks and a silent connection hit the listener first.
func TestLoginSurvivesLocalAttacker(t *testing.T) {
	op := oidctest.New(t)
	var forgedStatuses []int
	res, err, _ := signIn(t, op, func(l *Login) {
		play := l.Ready
		l.Ready = func(authURL string) {
			u, _ := url.Parse(authURL)
			cb, _ := url.Parse(u.Query().Get("redirect_uri"))
			if c, err := net.Dial("tcp", cb.Host); err == nil {
				t.Cleanup(func() { c.Close() })
			}
			for _, q := range []string{"code=evil&state=guess", "error=access_denied&state=guess"} {
				resp, err := http.Get(cb.String() + "?" + q)
				if err == nil {
					forgedStatuses = append(forgedStatuses, resp.StatusCode)
					resp.Body.Close()
				}
			}
			play(authURL)
		}
	})
	if err != nil {
		t.Fatalf("sign-in failed after forged callbacks: %v", err)
	}
	if res.Profile.Subject != oidctest.Subject {
		t.Errorf("subject %q", res.Profile.Subject)
	}
	if len(forgedStatuses) != 2 || forgedStatuses[0] != 400 || forgedStatuses[1] != 400 {
		t.Errorf("forged callbacks answered %v, want two 400s", forgedStatuses)
	}
}

func TestListenerClosesAfterSignIn(t *testing.T) {
	ln, base := startListener(t, "")
	ln.close()
	c := &http.Client{Timeout: 2 * time.Second}
	if resp, err := c.Get(base + "/callback?code=x&state=good-state"); err == nil {
		resp.Body.Close()
		t.Fatal("listener still answers after close")
	}
}
