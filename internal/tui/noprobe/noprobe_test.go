package noprobe_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	_ "github.com/charmbracelet/bubbletea"

	_ "github.com/authcli/authcli/internal/tui/noprobe"
)

// TestMain doubles as the child process of TestNoTerminalQueryAtStart: by
// the time it runs, every package init (bubbletea's included) is over.
func TestMain(m *testing.M) {
	if os.Getenv("NOPROBE_CHILD") == "1" {
		fmt.Print("child started")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestNoTerminalQueryAtStart runs this test binary (which links bubbletea)
// on a pseudo-terminal that never answers, the worst case for bubbletea's
// background-colour query: without noprobe the child writes OSC 11 and
// waits five seconds.
func TestNoTerminalQueryAtStart(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs util-linux script(1) to provide a pseudo-terminal")
	}
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("script(1) is missing; CI must install util-linux")
		}
		t.Skip("script(1) is not installed; cannot give the child a terminal")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, scriptBin, "-qfec", "'"+strings.ReplaceAll(self, "'", `'\''`)+"' -test.run=^$", os.DevNull)
	cmd.Env = append(os.Environ(), "NOPROBE_CHILD=1", "TERM=xterm-256color", "CI=")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\n%q", err, out.String())
	}
	elapsed := time.Since(start)
	if !strings.Contains(out.String(), "child started") {
		t.Fatalf("the child did not run: %q", out.String())
	}
	if strings.Contains(out.String(), "\x1b]11;") || strings.Contains(out.String(), "\x1b[6n") {
		t.Errorf("the terminal was queried at start-up: %q", out.String())
	}
	if elapsed > 4*time.Second { // the query waits 5s for an answer
		t.Errorf("start-up took %v on a silent terminal", elapsed)
	}
}
