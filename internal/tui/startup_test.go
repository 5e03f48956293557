package tui

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestBinaryStartsWithoutProbingTheTerminal runs the real authcli binary,
// which links the TUI and its libraries, as `authcli version` on a
// pseudo-terminal that never answers: the worst case for any package that
// asks the terminal something while it initialises (bubbletea v1 sent an
// OSC 11 background query and waited five seconds for the answer). Inside
// a pretend tmux session whose tmux records being run, it also catches
// packages that probe the terminal's capabilities by running `tmux info`
// (as Lip Gloss v2 does at init). Nothing may be asked, nothing may be run,
// and the command must finish well before any query's timeout.
func TestBinaryStartsWithoutProbingTheTerminal(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs util-linux script(1) to provide a pseudo-terminal")
	}
	need := func(tool, why string) string {
		path, err := exec.LookPath(tool)
		if err == nil {
			return path
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing; CI must install it (%s)", tool, why)
		}
		t.Skipf("%s is not installed; %s", tool, why)
		return ""
	}
	scriptBin := need("script", "util-linux script(1) gives the child a terminal")
	goBin := need("go", "the test builds cmd/authcli")

	dir := t.TempDir()
	bin := filepath.Join(dir, "authcli")
	build := exec.Command(goBin, "build", "-o", bin, "../../cmd/authcli")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	// A tmux that leaves a mark when anything runs it.
	fakeBin := filepath.Join(dir, "bin")
	ranTmux := filepath.Join(dir, "tmux-ran")
	if err := os.Mkdir(fakeBin, 0o700); err != nil {
		t.Fatal(err)
	}
	fakeTmux := "#!/bin/sh\necho \"$*\" >> " + shellQuote(ranTmux) + "\n"
	if err := os.WriteFile(filepath.Join(fakeBin, "tmux"), []byte(fakeTmux), 0o700); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, scriptBin, "-qfec", shellQuote(bin)+" version", os.DevNull)
	cmd.Env = []string{
		"PATH=" + fakeBin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + dir,
		// A 256-colour terminal in tmux: what makes a colour-profile
		// detection consult terminfo and tmux instead of stopping at the
		// environment.
		"TERM=xterm-256color",
		"TMUX=" + filepath.Join(dir, "tmux-socket") + ",1,0",
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("authcli version on a terminal: %v\n%q", err, out.String())
	}
	if !strings.Contains(out.String(), "authcli") {
		t.Fatalf("authcli version printed %q", out.String())
	}
	// `authcli version` writes plain text: any escape sequence on the
	// terminal is a query (OSC 10/11, DSR, DA, DECRQM, XTVERSION, …).
	if i := strings.IndexByte(out.String(), '\x1b'); i >= 0 {
		t.Errorf("the terminal was sent an escape sequence at start-up: %q", out.String()[i:])
	}
	if ran, err := os.ReadFile(ranTmux); err == nil {
		t.Errorf("tmux was run at start-up (tmux %s)", strings.TrimSpace(string(ran)))
	}
	// Queries wait two seconds (Lip Gloss v2) to five (bubbletea v1) for
	// an answer; `authcli version` itself takes milliseconds.
	if elapsed > 1500*time.Millisecond {
		t.Errorf("authcli version took %v on a silent terminal", elapsed)
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
