package devidp

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

const (
	maxBrowserHops     = 10
	maxBrowserPage     = 1 << 20
	defaultPageTimeout = 30 * time.Second
)

// PlayBrowser plays a person's browser through a sign-in without any browser
// installed: it opens authURL, follows redirects to the login page, clicks
// the choice, and follows redirects until the client's redirect URI (any URL
// outside the provider's origin) has been requested, so a client waiting on
// a loopback listener gets its callback. It returns nil once that request is
// answered, whatever the client answers, and an error wrapping
// ErrProviderPage if the provider showed an error page on the way.
//
// client supplies the transport and timeout (nil means a fresh client with
// a 30 s timeout); PlayBrowser does not modify it and uses its own cookie
// jar when client has none.
func PlayBrowser(ctx context.Context, client *http.Client, authURL string, c Choice) error {
	start, err := url.Parse(authURL)
	if err != nil || (start.Scheme != "http" && start.Scheme != "https") || start.Host == "" {
		return fmt.Errorf("devidp: play browser: invalid authorization URL")
	}
	b := &browser{origin: origin(start)}
	b.http = &http.Client{
		Timeout:       defaultPageTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if client != nil {
		b.http.Transport, b.http.Jar, b.http.Timeout = client.Transport, client.Jar, client.Timeout
	}
	if b.http.Jar == nil {
		jar, err := cookiejar.New(nil)
		if err != nil {
			return fmt.Errorf("devidp: play browser: cookie jar: %w", err)
		}
		b.http.Jar = jar
	}

	// The client may hand the browser a link of its own that redirects to
	// the provider (authcli's one-time loopback start URL): follow that
	// first hop like a browser, and make the provider's origin the one
	// navigate stays inside. The link works once, so it is requested once.
	start, err = b.firstHop(ctx, start)
	if err != nil {
		return err
	}
	b.origin = origin(start)

	page, done, err := b.navigate(ctx, http.MethodGet, start, nil)
	if err != nil || done {
		return err
	}
	form, err := parseLoginForm(page.body)
	if err != nil {
		return fmt.Errorf("devidp: play browser: page at %s: %w", page.url.Path, err)
	}
	user, err := form.pick(c.User)
	if err != nil {
		return fmt.Errorf("devidp: play browser: %w", err)
	}
	action, err := page.url.Parse(form.action)
	if err != nil {
		return fmt.Errorf("devidp: play browser: form action: %w", err)
	}
	values := url.Values{"id": {form.id}, "user": {user}, "action": {"allow"}}
	if c.Deny {
		values.Set("action", "deny")
	}
	_, done, err = b.navigate(ctx, http.MethodPost, action, values)
	if err != nil {
		return err
	}
	if !done {
		return fmt.Errorf("devidp: play browser: the provider did not send the browser back to the client")
	}
	return nil
}

// firstHop requests start once and returns where its redirect leads, or
// start itself when it answers without one.
func (b *browser) firstHop(ctx context.Context, start *url.URL) (*url.URL, error) {
	resp, err := b.do(ctx, http.MethodGet, start, nil)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBrowserPage))
	_ = resp.Body.Close()
	if resp.StatusCode < 300 || resp.StatusCode >= 400 {
		return start, nil
	}
	next, err := resp.Location()
	if err != nil {
		return nil, fmt.Errorf("devidp: play browser: redirect without location from %s", start.Path)
	}
	return next, nil
}

type browser struct {
	http   *http.Client
	origin string
}

type page struct {
	url  *url.URL
	body string
}

func origin(u *url.URL) string { return strings.ToLower(u.Scheme + "://" + u.Host) }

// navigate performs a request and follows redirects inside the provider. It
// returns the first page the provider answers with, or done once a URL
// outside the provider's origin (the client) has been requested.
func (b *browser) navigate(ctx context.Context, method string, target *url.URL, form url.Values) (page, bool, error) {
	for hop := 0; hop < maxBrowserHops; hop++ {
		if origin(target) != b.origin {
			return page{}, true, b.visitClient(ctx, target)
		}
		resp, err := b.do(ctx, method, target, form)
		if err != nil {
			return page{}, false, err
		}
		body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxBrowserPage))
		_ = resp.Body.Close()
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			next, err := resp.Location()
			if err != nil {
				return page{}, false, fmt.Errorf("devidp: play browser: redirect without location from %s", target.Path)
			}
			target, method, form = next, http.MethodGet, nil
			continue
		case resp.StatusCode >= 400:
			return page{}, false, fmt.Errorf("%w: %s answered %d: %s", ErrProviderPage, target.Path, resp.StatusCode, pageText(string(body)))
		}
		if readErr != nil {
			return page{}, false, fmt.Errorf("devidp: play browser: read %s: %w", target.Path, readErr)
		}
		return page{url: target, body: string(body)}, false, nil
	}
	return page{}, false, fmt.Errorf("devidp: play browser: more than %d redirects", maxBrowserHops)
}

func (b *browser) do(ctx context.Context, method string, target *url.URL, form url.Values) (*http.Response, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target.String(), body)
	if err != nil {
		return nil, fmt.Errorf("devidp: play browser: %w", err)
	}
	req.Header.Set("Accept", "text/html")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.origin)
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("devidp: play browser: %s %s: %w", method, where(target), unwrapURLError(err))
	}
	return resp, nil
}

// visitClient requests the client's redirect URI, as a browser would, and
// does not follow the client's own redirects: where the client sends the
// person afterwards is not part of the sign-in.
func (b *browser) visitClient(ctx context.Context, target *url.URL) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		return fmt.Errorf("devidp: play browser: %w", err)
	}
	req.Header.Set("Accept", "text/html")
	resp, err := b.http.Do(req)
	if err != nil {
		// The URL carries the code and state: name only where it went.
		return fmt.Errorf("devidp: play browser: request the client's redirect URI %s: %w", where(target), unwrapURLError(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBrowserPage))
	_ = resp.Body.Close()
	return nil
}

// where names a URL without its query, which may carry a code or state.
func where(u *url.URL) string { return u.Scheme + "://" + u.Host + u.Path }

// unwrapURLError drops *url.Error's copy of the URL, which holds the code.
func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// pageText reduces an error page to a short line of text for an error.
func pageText(body string) string {
	tags := regexp.MustCompile(`(?s)<style.*?</style>|<[^>]*>`)
	text := strings.Join(strings.Fields(html.UnescapeString(tags.ReplaceAllString(body, " "))), " ")
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	return text
}

type loginForm struct {
	action string
	id     string
	users  []radio
}

type radio struct{ subject, email string }

// parseLoginForm reads the provider's own login page: the form's action, the
// hidden id and the user radio buttons.
func parseLoginForm(body string) (loginForm, error) {
	tagRE := regexp.MustCompile(`(?i)<(form|input)\b([^>]*)>`)
	attrRE := regexp.MustCompile(`([a-zA-Z_:-]+)(?:\s*=\s*"([^"]*)")?`)
	var f loginForm
	sawForm := false
	for _, m := range tagRE.FindAllStringSubmatch(body, -1) {
		attrs := map[string]string{}
		for _, a := range attrRE.FindAllStringSubmatch(m[2], -1) {
			attrs[strings.ToLower(a[1])] = html.UnescapeString(a[2])
		}
		switch {
		case strings.EqualFold(m[1], "form") && !sawForm:
			sawForm, f.action = true, attrs["action"]
		case attrs["name"] == "id" && attrs["type"] == "hidden":
			f.id = attrs["value"]
		case attrs["name"] == "user" && attrs["type"] == "radio":
			f.users = append(f.users, radio{subject: attrs["value"], email: attrs["data-email"]})
		}
	}
	if !sawForm || f.id == "" || len(f.users) == 0 {
		return f, fmt.Errorf("%w: not the login page", ErrProviderPage)
	}
	return f, nil
}

func (f loginForm) pick(user string) (string, error) {
	if user == "" {
		return f.users[0].subject, nil
	}
	for _, r := range f.users {
		if r.subject == user {
			return r.subject, nil
		}
	}
	for _, r := range f.users {
		if r.email != "" && strings.EqualFold(r.email, user) {
			return r.subject, nil
		}
	}
	return "", fmt.Errorf("%w: %q is not on the login page", ErrUnknownUser, user)
}
