package setup

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// GitRunner runs git with args and returns its stdout. Tests and the CLI
// inject how; ExecGit runs the real one.
type GitRunner func(ctx context.Context, args ...string) (string, error)

// ExecGit runs the git found in PATH.
func ExecGit(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out), &GitError{Args: args, Code: ee.ExitCode(), Stderr: strings.TrimSpace(stderr.String())}
		}
		if errors.Is(err, exec.ErrNotFound) {
			return "", fmt.Errorf("git is not installed or not in PATH: %w", err)
		}
		return "", fmt.Errorf("run git: %w", err)
	}
	return string(out), nil
}

// GitError is a git command that exited non-zero.
type GitError struct {
	Args   []string
	Code   int
	Stderr string
}

func (e *GitError) Error() string {
	msg := fmt.Sprintf("git %s exited with %d", strings.Join(e.Args, " "), e.Code)
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
}

// GitHelperCommand is the credential.helper value that runs authcli
// (with extra arguments such as --config FILE before the subcommand): "!"
// makes git run it through the shell, so every word is quoted.
func GitHelperCommand(authcli string, extra ...string) string {
	words := []string{shellWord(authcli)}
	for _, w := range extra {
		words = append(words, shellWord(w))
	}
	return "!" + strings.Join(words, " ") + " git-credential"
}

func shellWord(s string) string {
	safe := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:@%=,", r)) {
			safe = false
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// GitHelper makes git ask helper (a GitHelperCommand) for https://host
// credentials, in the user's global git config, the way gh auth setup-git
// does: an empty helper first, which clears the helpers git would otherwise
// try before it for that URL, then authcli's. It returns the key it set and
// whether anything changed; a second run changes nothing.
func GitHelper(ctx context.Context, git GitRunner, host, helper string) (key string, change Change, err error) {
	key = "credential.https://" + host + ".helper"
	cur, err := git(ctx, "config", "--global", "--get-all", key)
	var ge *GitError
	switch {
	case errors.As(err, &ge) && ge.Code == 1: // no such key
		change = Added
	case err != nil:
		return key, Unchanged, err
	default:
		if cur == "\n"+helper+"\n" {
			return key, Unchanged, nil
		}
		change = Updated
	}
	if _, err := git(ctx, "config", "--global", "--replace-all", key, ""); err != nil {
		return key, Unchanged, err
	}
	if _, err := git(ctx, "config", "--global", "--add", key, helper); err != nil {
		return key, Unchanged, err
	}
	return key, change, nil
}
