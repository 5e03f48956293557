// Command browserbot plays a person's browser for end-to-end tests, so a
// test can set BROWSER to it: it opens the URL it is given, fills and
// submits the forms it meets (login, consent), and follows redirects until
// it reaches authcli's loopback callback. It is a test tool: it is never
// built into authcli.
//
// Environment:
//
//	BROWSERBOT_FIELDS  form values to set, URL-encoded ("username=u&password=p&action=deny")
//	BROWSERBOT_LOG     file that receives the last page's URL, status and body
package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/net/html"
)

// maxSteps bounds how many forms the bot submits before giving up.
const maxSteps = 8

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: browserbot URL")
		os.Exit(2)
	}
	fields, err := url.ParseQuery(os.Getenv("BROWSERBOT_FIELDS"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "browserbot: BROWSERBOT_FIELDS: %v\n", err)
		os.Exit(2)
	}
	last, err := browse(os.Args[1], fields)
	if logPath := os.Getenv("BROWSERBOT_LOG"); logPath != "" {
		_ = os.WriteFile(logPath, []byte(last), 0o600)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "browserbot: %v\n", err)
		os.Exit(1)
	}
}

// browse returns a transcript of the last page it saw.
func browse(start string, fields url.Values) (string, error) {
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := client.Get(start)
	for step := 0; ; step++ {
		if err != nil {
			return "", err
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		transcript := fmt.Sprintf("URL: %s\nStatus: %d\n\n%s", resp.Request.URL, resp.StatusCode, body)
		if isCallback(resp.Request.URL) {
			return transcript, nil
		}
		if step == maxSteps {
			return transcript, errors.New("too many forms without reaching the callback")
		}
		req, ferr := submitFirstForm(resp.Request.URL, body, fields)
		if ferr != nil {
			return transcript, fmt.Errorf("at %s (HTTP %d): %w", resp.Request.URL, resp.StatusCode, ferr)
		}
		resp, err = client.Do(req)
	}
}

// isCallback: authcli's listener is the only loopback page under /callback
// (its own /callback/NAME, or another path it refuses).
func isCallback(u *url.URL) bool {
	ip := net.ParseIP(u.Hostname())
	return (u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback())) && (u.Path == "/callback" || strings.HasPrefix(u.Path, "/callback/"))
}

// submitFirstForm builds the request a person would send by filling the
// page's first form: hidden inputs kept, fields from the environment set,
// the first radio of each group chosen unless set, and the submit button
// named in fields (or the first one) pressed.
func submitFirstForm(base *url.URL, page []byte, fields url.Values) (*http.Request, error) {
	doc, err := html.Parse(strings.NewReader(string(page)))
	if err != nil {
		return nil, err
	}
	form := find(doc, func(n *html.Node) bool { return n.Data == "form" })
	if form == nil {
		return nil, errors.New("the page has no form")
	}
	values := url.Values{}
	var buttons []*html.Node
	walk(form, func(n *html.Node) {
		name := attr(n, "name")
		switch {
		case n.Data == "input" && name != "":
			switch strings.ToLower(attr(n, "type")) {
			case "radio":
				if !values.Has(name) {
					values.Set(name, attr(n, "value"))
				}
			case "submit":
				buttons = append(buttons, n)
			default:
				values.Set(name, attr(n, "value"))
			}
		case n.Data == "button" && strings.ToLower(attr(n, "type")) != "button":
			buttons = append(buttons, n)
		}
	})
	for k, v := range fields {
		values[k] = v
	}
	if len(buttons) > 0 {
		pressed := buttons[0]
		for _, b := range buttons {
			if want, ok := fields[attr(b, "name")]; ok && len(want) > 0 && want[0] == attr(b, "value") {
				pressed = b
			}
		}
		if name := attr(pressed, "name"); name != "" {
			values.Set(name, attr(pressed, "value"))
		}
	}
	action, err := base.Parse(attr(form, "action"))
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(attr(form, "method"), "post") {
		req, err := http.NewRequest(http.MethodPost, action.String(), strings.NewReader(values.Encode()))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req, nil
	}
	action.RawQuery = values.Encode()
	return http.NewRequest(http.MethodGet, action.String(), nil)
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func walk(n *html.Node, fn func(*html.Node)) {
	if n.Type == html.ElementNode {
		fn(n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func find(n *html.Node, match func(*html.Node) bool) *html.Node {
	if n.Type == html.ElementNode && match(n) {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if f := find(c, match); f != nil {
			return f
		}
	}
	return nil
}
