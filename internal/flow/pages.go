package flow

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/authcli/authcli/internal/termtext"
)

// page is what the browser tab shows after the redirect. Every field is
// text, escaped by render, so provider-supplied text (error_description)
// can never become markup.
type page struct {
	Status  int
	OK      bool
	Title   string
	Heading string
	Message string
	Detail  string
}

// The page is fixed markup around escaped text, not an html/template:
// `authcli token` links this package, and any use of html/template keeps
// its whole machinery (and text/template's reflection-driven evaluator) in
// the binary, which every process start pays for in page faults. Every
// field sits in element content, where escaping the HTML specials is the
// whole job (TestPageRenderMatchesHTMLTemplate holds it to html/template's
// output).
const pageHead = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{title}} · authcli</title>
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
  `

const pageFoot = `
  <p class="hint">You can close this tab and return to the terminal.</p>
</main>
</body>
</html>
`

// escapeText makes s safe as HTML element content and attribute values
// alike, as html/template would, NUL included.
func escapeText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "\x00", "\uFFFD").Replace(s)
}

// render writes the page's HTML.
func (p page) render(w io.Writer) error {
	head, rest, _ := strings.Cut(pageHead, "{{title}}")
	var b strings.Builder
	b.WriteString(head)
	b.WriteString(escapeText(p.Title))
	b.WriteString(rest)
	if p.OK {
		b.WriteString(`<div class="mark ok" aria-hidden="true">&#10003;</div>`)
	} else {
		b.WriteString(`<div class="mark fail" aria-hidden="true">!</div>`)
	}
	b.WriteString("\n  <h1>" + escapeText(p.Heading) + "</h1>\n  <p>" + escapeText(p.Message) + "</p>\n  ")
	if p.Detail != "" {
		b.WriteString(`<p class="detail">` + escapeText(p.Detail) + `</p>`)
	}
	b.WriteString(pageFoot)
	_, err := io.WriteString(w, b.String())
	return err
}

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
	// Rendered first so that the length is known: the whole answer is then
	// on the socket when write returns (see listener.close).
	var body bytes.Buffer
	_ = p.render(&body)
	h.Set("Content-Length", strconv.Itoa(body.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(body.Bytes())
	_ = http.NewResponseController(w).Flush()
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
