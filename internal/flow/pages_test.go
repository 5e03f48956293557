package flow

import (
	"errors"
	"html/template"
	"strings"
	"testing"
)

// pageTemplate is the html/template the page used to be rendered with.
// render must produce exactly what it would, for any text: html/template's
// contextual escaping is the reference for what is safe.
const pageTemplate = `<main>
  {{if .OK}}<div class="mark ok" aria-hidden="true">&#10003;</div>{{else}}<div class="mark fail" aria-hidden="true">!</div>{{end}}
  <h1>{{.Heading}}</h1>
  <p>{{.Message}}</p>
  {{with .Detail}}<p class="detail">{{.}}</p>{{end}}`

func TestPageRenderMatchesHTMLTemplate(t *testing.T) {
	head, _, _ := strings.Cut(pageHead, "<main>")
	ref := template.Must(template.New("page").Parse(strings.Replace(head, "{{title}}", "{{.Title}}", 1) + pageTemplate + pageFoot))
	hostile := `<script>alert("x")</script> & 'quotes' "double" </p><img src=x onerror=alert(1)> ` + "\x00 nul é ✓"
	pages := []page{
		successPage(""),
		successPage(hostile),
		failurePage(errors.New(hostile)),
		failurePage(&ProviderError{Code: "access_denied", Description: hostile}),
		strayPage(hostile),
		{Title: hostile, Heading: hostile, Message: hostile, Detail: hostile},
		{OK: true, Title: "t"},
	}
	for i, p := range pages {
		var want, got strings.Builder
		if err := ref.Execute(&want, p); err != nil {
			t.Fatal(err)
		}
		if err := p.render(&got); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("page %d differs from html/template's rendering:\n got: %q\nwant: %q", i, got.String(), want.String())
		}
		if strings.Contains(got.String(), "<script>") || strings.Contains(got.String(), "<img") {
			t.Errorf("page %d reflects markup", i)
		}
	}
}
