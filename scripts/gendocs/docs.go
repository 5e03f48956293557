package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/authcli/authcli/internal/cli"
)

// Docs lives here, not in internal/cli: cobra/doc brings markdown and YAML
// packages whose init would run in every authcli process, `token` included.

// Docs writes the shell completions and man pages that release archives and
// packages ship, generated from the same command tree users run, so they
// cannot drift from the flags. It writes dir/completions/{authcli.bash,
// _authcli, authcli.fish, authcli.ps1} and dir/man/authcli*.1. The man pages
// carry version and date (not the wall clock), so a release build is
// reproducible.
func Docs(dir, version string, date time.Time) error {
	if dir == "" {
		return fmt.Errorf("generate docs: no output directory")
	}
	env := &cli.Env{
		In: strings.NewReader(""), Out: io.Discard, Err: io.Discard,
		Getenv: func(string) string { return "" },
		Now:    func() time.Time { return date },
		Build:  cli.BuildInfo{Version: version},
	}
	root := cli.Command(env)
	root.DisableAutoGenTag = true
	// Completion scripts come from the root as users have it, including the
	// `completion` command itself, so generate them before anything else.
	completions := []struct {
		name string
		gen  func(io.Writer) error
	}{
		{"authcli.bash", func(w io.Writer) error { return root.GenBashCompletionV2(w, true) }},
		{"_authcli", root.GenZshCompletion},
		{"authcli.fish", func(w io.Writer) error { return root.GenFishCompletion(w, true) }},
		{"authcli.ps1", root.GenPowerShellCompletionWithDesc},
	}
	for _, c := range completions {
		var buf bytes.Buffer
		if err := c.gen(&buf); err != nil {
			return fmt.Errorf("generate %s completion: %w", c.name, err)
		}
		if err := writeDocFile(filepath.Join(dir, "completions", c.name), buf.Bytes()); err != nil {
			return err
		}
	}
	source := "authcli"
	if version != "" {
		source += " " + version
	}
	return writeManPages(root, filepath.Join(dir, "man"), source, date)
}

// writeManPages writes one page per visible command, named the way man(1)
// finds them: "authcli login" is authcli-login.1.
func writeManPages(cmd *cobra.Command, dir, source string, date time.Time) error {
	for _, sub := range cmd.Commands() {
		if !sub.IsAvailableCommand() || sub.IsAdditionalHelpTopicCommand() {
			continue
		}
		if err := writeManPages(sub, dir, source, date); err != nil {
			return err
		}
	}
	d := date
	header := &doc.GenManHeader{Section: "1", Source: source, Manual: "authcli manual", Date: &d}
	var buf bytes.Buffer
	if err := doc.GenMan(cmd, header, &buf); err != nil {
		return fmt.Errorf("generate man page for %q: %w", cmd.CommandPath(), err)
	}
	name := strings.ReplaceAll(cmd.CommandPath(), " ", "-") + ".1"
	return writeDocFile(filepath.Join(dir, name), buf.Bytes())
}

// writeDocFile replaces path atomically, so an interrupted run never leaves
// a truncated page for a packager to pick up.
func writeDocFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
