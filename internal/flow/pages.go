package flow

import (
	"errors"
	"html/template"
	"net/http"
	"sync"

	"github.com/authcli/authcli/internal/termtext"
)

// page is what the browser tab shows after the redirect. Every field goes
// through html/template, so provider-supplied text (error_description) can
// never become markup.
type page struct {
	Status  int
	OK      bool
	Title   string
	Heading string
	Message string
	Detail  string
}

// The template is parsed on first use, not at package load: `authcli token`
// links this package and must not pay for it at start-up.
var pageTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Parse(pageHTML))
})

const pageHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}} · authcli</title>
<style>
  body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; background: #f5f6f8; color: #1d2330; margin: 0; }
  main { max-width: 32rem; margin: 12vh auto; background: #fff; border-radius: 12px; padding: 2rem 2.25rem; box-shadow: 0 2px 12px rgba(0,0,0,.08); }
  .mark { width: 3rem; height: 3rem; border-radius: 50%; display: grid; place-items: center; font-size: 1.6rem; color: #fff; }
  .ok { background: #1f9d55; } .fail { background: #c53030; }
  h1 { font-size: 1.35rem; margin: 1rem 0 .5rem; }
  p { margin: .5rem 0; }
  .detail { font-family: ui-monospace, monospace; font-size: .9rem; background: #f1f2f4; padding: .6rem .8rem; border-radius: 6px; overflow-wrap: anywhere; }
  .hint { color: #5b6475; font-size: .95rem; }
</style>
</head>
<body>
<main>
  {{if .OK}}<div class="mark ok" aria-hidden="true">&#10003;</div>{{else}}<div class="mark fail" aria-hidden="true">!</div>{{end}}
  <h1>{{.Heading}}</h1>
  <p>{{.Message}}</p>
  {{with .Detail}}<p class="detail">{{.}}</p>{{end}}
  <p class="hint">You can close this tab and return to the terminal.</p>
</main>
</body>
</html>
`

func (p page) write(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	status := p.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_ = pageTemplate().Execute(w, p)
}

func successPage(who string) page {
	msg := "authcli has your tokens."
	if who != "" {
		msg = "Signed in as " + who + "."
	}
	return page{OK: true, Title: "Signed in", Heading: "You are signed in", Message: msg}
}

func failurePage(err error) page {
	var pe *ProviderError
	if errors.As(err, &pe) && pe.Code == "access_denied" {
		detail := pe.Code
		if d := termtext.Short(pe.Description); d != "" {
			detail += ": " + d
		}
		return page{
			Status:  http.StatusBadRequest,
			Title:   "Sign-in cancelled",
			Heading: "Sign-in cancelled",
			Message: "Access was not allowed at the provider, so nothing was stored. Run the command again to sign in.",
			Detail:  detail,
		}
	}
	return page{
		Status:  http.StatusBadRequest,
		Title:   "Sign-in failed",
		Heading: "Sign-in failed",
		Message: "authcli could not complete the sign-in. The terminal says what to do next.",
		Detail:  err.Error(),
	}
}

// strayPage answers requests that are not the redirect authcli waits for
// (a forged or replayed callback, a wrong Host). The sign-in goes on.
func strayPage(reason string) page {
	return page{
		Status:  http.StatusBadRequest,
		Title:   "Not this sign-in",
		Heading: "This is not the sign-in authcli is waiting for",
		Message: "The request was ignored; the sign-in started in your terminal is still waiting.",
		Detail:  reason,
	}
}
