package auth

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCachedPathLinksNoDemoOrTUI: every package the cached token path runs
// through is free of what only `authcli demo` and the TUI need (the embedded
// provider's html/template, encoding/gob and OpenTelemetry, charmbracelet),
// so that only internal/cli's demo and accounts commands link them, and
// moving those out of the binary stays a change to two files.
func TestCachedPathLinksNoDemoOrTUI(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	out, err := exec.Command(goTool, "list", "-deps", "github.com/authcli/authcli/internal/auth").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, heavy := range []string{"html/template", "text/template", "encoding/gob", "go.opentelemetry.io/", "charm.land/", "github.com/charmbracelet/", "github.com/zitadel/", "internal/devidp", "internal/tui"} {
			if pkg == heavy || strings.HasPrefix(pkg, heavy) || strings.HasSuffix(pkg, heavy) {
				t.Errorf("the cached token path links %s", pkg)
			}
		}
	}
}
