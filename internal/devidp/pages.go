package devidp

import (
	"bytes"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// pages serves the person-facing HTML: the login page the authorize endpoint
// redirects to and the device page of the device grant. Everything a client
// or person can influence goes through html/template's escaping.
type pages struct {
	issuer   string
	store    *storage
	provider *op.Provider
	tmpl     *template.Template
	log      *slog.Logger
}

func newPages(issuer string, store *storage, provider *op.Provider, log *slog.Logger) (*pages, error) {
	t, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	return &pages{issuer: issuer, store: store, provider: provider, tmpl: t, log: log}, nil
}

type userView struct {
	Subject, Email, Name string
	EmailVerified        bool
	Checked              bool
}

type pageData struct {
	Title      string
	Heading    string
	Message    string
	Error      string
	ClientName string
	Scopes     []string
	Users      []userView
	// login form
	RequestID string
	// device form
	UserCode string
}

func (p *pages) render(w http.ResponseWriter, status int, name string, data pageData) {
	data.Title = "authcli demo provider"
	var buf bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		p.log.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	// No form-action directive: browsers apply it to the redirect that follows
	// the login form, and that redirect must reach the client's listener.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	// same-origin, not no-referrer: with no-referrer Chromium sends
	// "Origin: null" on the login form post, which sameOrigin must refuse.
	h.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

func (p *pages) errorPage(w http.ResponseWriter, status int, msg string) {
	p.render(w, status, "message", pageData{Heading: "Something went wrong", Error: msg})
}

func (p *pages) users(selected string) []userView {
	views := make([]userView, 0, len(p.store.users))
	match := -1
	if u, ok := p.store.findUser(selected); ok && selected != "" {
		for i, v := range p.store.users {
			if v.Subject == u.Subject {
				match = i
			}
		}
	}
	for i, u := range p.store.users {
		views = append(views, userView{
			Subject: u.Subject, Email: u.Email, Name: u.Name, EmailVerified: u.EmailVerified,
			Checked: i == match || (match < 0 && i == 0),
		})
	}
	return views
}

func (p *pages) clientName(id string) string {
	c, ok := p.store.clients[id]
	if !ok || c.Name == "" {
		return id
	}
	return c.Name
}

// sameOrigin refuses a form POST that a browser says came from another site.
// Browsers send Origin on form posts; tools that send none are let through.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	return origin == "" || origin == "http://"+r.Host
}

func (p *pages) parsePost(w http.ResponseWriter, r *http.Request) bool {
	if !sameOrigin(r) {
		p.errorPage(w, http.StatusForbidden, "This form was submitted from another site.")
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBodySize)
	if err := r.ParseForm(); err != nil {
		p.errorPage(w, http.StatusBadRequest, "The form could not be read.")
		return false
	}
	return true
}

// loginForm is GET /login?id=AUTHREQ.
func (p *pages) loginForm(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	a, ok := p.store.pendingAuthRequest(id)
	if !ok {
		p.errorPage(w, http.StatusBadRequest, "This sign-in request is unknown or has expired. Start the sign-in again from your application.")
		return
	}
	p.render(w, http.StatusOK, "login", pageData{
		Heading:    "Sign in to " + p.clientName(a.clientID),
		ClientName: p.clientName(a.clientID),
		Scopes:     a.scopes,
		Users:      p.users(a.loginHint),
		RequestID:  a.id,
	})
}

// loginSubmit is POST /login: allow completes the auth request and sends the
// browser to the library's callback, which redirects to the client with a
// code; deny redirects to the client with error=access_denied.
func (p *pages) loginSubmit(w http.ResponseWriter, r *http.Request) {
	if !p.parsePost(w, r) {
		return
	}
	id := r.PostForm.Get("id")
	a, ok := p.store.pendingAuthRequest(id)
	if !ok {
		p.errorPage(w, http.StatusBadRequest, "This sign-in request is unknown or has expired. Start the sign-in again from your application.")
		return
	}
	switch r.PostForm.Get("action") {
	case "allow":
		subject := r.PostForm.Get("user")
		if err := p.store.completeAuthRequest(id, subject); err != nil {
			if errors.Is(err, ErrUnknownUser) {
				p.errorPage(w, http.StatusBadRequest, "Choose one of the listed users.")
				return
			}
			p.errorPage(w, http.StatusBadRequest, "This sign-in request is unknown or has expired.")
			return
		}
		p.log.Info("sign-in approved", "client_id", a.clientID, "sub", subject)
		callback := op.AuthCallbackURL(p.provider)(op.ContextWithIssuer(r.Context(), p.issuer), id)
		http.Redirect(w, r, callback, http.StatusSeeOther)
	case "deny":
		p.store.removeAuthRequest(id)
		p.log.Info("sign-in denied", "client_id", a.clientID)
		target, err := errorRedirect(a.redirectURI, a.state)
		if err != nil {
			p.errorPage(w, http.StatusBadRequest, "The application's redirect address is invalid.")
			return
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
	default:
		p.errorPage(w, http.StatusBadRequest, "Choose allow or deny.")
	}
}

// errorRedirect builds the access_denied authorization response (RFC 6749
// §4.1.2.1). No iss parameter: the library does not send one on its own
// responses either, so the provider does not advertise RFC 9207 support.
func errorRedirect(redirectURI, state string) (string, error) {
	u, err := url.Parse(redirectURI)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("error", "access_denied")
	q.Set("error_description", "The user denied the sign-in request.")
	if state != "" {
		q.Set("state", state)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// deviceForm is GET /device[?user_code=...].
func (p *pages) deviceForm(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("user_code")
	data := pageData{Heading: "Connect a device", UserCode: code, Users: p.users("")}
	if code != "" {
		if clientID, scopes, ok := p.store.pendingDevice(code); ok {
			data.ClientName, data.Scopes = p.clientName(clientID), scopes
		}
	}
	p.render(w, http.StatusOK, "device", data)
}

// deviceSubmit is POST /device with user_code, user and action.
func (p *pages) deviceSubmit(w http.ResponseWriter, r *http.Request) {
	if !p.parsePost(w, r) {
		return
	}
	code := strings.TrimSpace(r.PostForm.Get("user_code"))
	retry := pageData{Heading: "Connect a device", UserCode: code, Users: p.users(r.PostForm.Get("user"))}
	var err error
	switch r.PostForm.Get("action") {
	case "allow":
		err = p.store.decideDevice(code, r.PostForm.Get("user"), true)
		if err == nil {
			p.render(w, http.StatusOK, "message", pageData{Heading: "Device connected", Message: "You can return to your device now."})
			return
		}
	case "deny":
		err = p.store.decideDevice(code, "", false)
		if err == nil {
			p.render(w, http.StatusOK, "message", pageData{Heading: "Request denied", Message: "The device was not connected. You can close this page."})
			return
		}
	default:
		retry.Error = "Choose allow or deny."
		p.render(w, http.StatusBadRequest, "device", retry)
		return
	}
	switch {
	case errors.Is(err, ErrUnknownUser):
		retry.Error = "Choose one of the listed users."
	default:
		retry.Error = "That code is unknown or has expired. Check the code shown on your device."
	}
	p.render(w, http.StatusBadRequest, "device", retry)
}

const pageTemplate = `{{define "head"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f4f5f7;color:#1f2328;margin:0}
main{max-width:28rem;margin:3rem auto;background:#fff;border-radius:12px;box-shadow:0 1px 4px rgba(0,0,0,.12);padding:2rem}
h1{font-size:1.3rem;margin:0 0 .25rem}
.sub{color:#57606a;font-size:.9rem;margin:0 0 1.5rem}
fieldset{border:0;padding:0;margin:0 0 1.25rem}
legend{font-weight:600;margin-bottom:.5rem}
label.user{display:flex;gap:.6rem;align-items:flex-start;padding:.6rem;border:1px solid #d0d7de;border-radius:8px;margin-bottom:.5rem;cursor:pointer}
.email{color:#57606a;font-size:.85rem}
.unverified{color:#9a6700;font-size:.8rem}
ul.scopes{margin:.25rem 0 1.25rem;padding-left:1.2rem}
input[type=text]{font-size:1.2rem;letter-spacing:.1em;padding:.4rem;width:100%;box-sizing:border-box;text-transform:uppercase}
.buttons{display:flex;gap:.75rem}
button{flex:1;font-size:1rem;padding:.6rem;border-radius:8px;border:1px solid #d0d7de;background:#f6f8fa;cursor:pointer}
button[value=allow]{background:#1f883d;border-color:#1f883d;color:#fff}
.error{background:#ffebe9;border:1px solid #ff8182;border-radius:8px;padding:.6rem;margin-bottom:1rem}
footer{color:#57606a;font-size:.8rem;margin-top:1.5rem}
</style>
</head>
<body>
<main>
<p class="sub">{{.Title}}</p>
<h1>{{.Heading}}</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{end}}

{{define "foot"}}<footer>A local provider for trying authcli. Nobody checks passwords here.</footer>
</main>
</body>
</html>
{{end}}

{{define "users"}}<fieldset>
<legend>Continue as</legend>
{{range .Users}}<label class="user"><input type="radio" name="user" value="{{.Subject}}" data-email="{{.Email}}"{{if .Checked}} checked{{end}}>
<span><strong>{{.Name}}</strong><br><span class="email">{{.Email}}</span>{{if not .EmailVerified}} <span class="unverified">(email not verified)</span>{{end}}</span></label>
{{end}}</fieldset>
{{end}}

{{define "scopes"}}{{if .Scopes}}<p><strong>{{.ClientName}}</strong> asks for:</p>
<ul class="scopes">{{range .Scopes}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{end}}

{{define "login"}}{{template "head" .}}
{{template "scopes" .}}
<form method="post" action="/login">
<input type="hidden" name="id" value="{{.RequestID}}">
{{template "users" .}}
{{template "buttons"}}
</form>
{{template "foot" .}}{{end}}

{{define "device"}}{{template "head" .}}
{{template "scopes" .}}
<form method="post" action="/device">
<fieldset>
<legend><label for="user_code">Code shown on your device</label></legend>
<input type="text" id="user_code" name="user_code" value="{{.UserCode}}" autocomplete="off" autocapitalize="characters" required>
</fieldset>
{{template "users" .}}
{{template "buttons"}}
</form>
{{template "foot" .}}{{end}}

{{define "buttons"}}<div class="buttons">
<button type="submit" name="action" value="allow">Allow</button>
<button type="submit" name="action" value="deny">Deny</button>
</div>{{end}}

{{define "message"}}{{template "head" .}}
{{if .Message}}<p>{{.Message}}</p>{{end}}
{{template "foot" .}}{{end}}
`
