package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// The release archives and packages ship authcli as two programs side by
// side, git-style. authcli itself is built with the authcli_lean tag: it
// has every command, flag and help text, but runs `demo` and `accounts`
// (and bare authcli on a terminal) by executing authcli-ui, found beside
// it. authcli-ui is the single binary under another name: cmd/authcli
// built without the tag, which links the demo provider (zitadel's op, with
// encoding/gob, OpenTelemetry and html/template) and the accounts screen
// (Bubble Tea). Their package initialisers and the pages they touch cost
// a cached `authcli token` about a quarter of its time, in every process;
// scripts run the lean one. `go build`, `go install` and `go run` of
// cmd/authcli without the tag still give one binary that holds everything.
const companionName = "authcli-ui"

// companionError says the lean authcli could not find or run its
// companion.
type companionError struct {
	command string // what the user ran: "demo", "accounts"
	path    string // where the companion should be
	err     error
}

func (e *companionError) Error() string {
	return fmt.Sprintf("authcli %s needs %s at %s: %v", e.command, companionName, e.path, e.err)
}

func (e *companionError) Unwrap() error { return e.err }

// companionPath is authcli-ui beside the running authcli, after symlinks:
// docker-credential-authcli and a link in ~/bin both lead to the
// directory the release put both programs in.
func companionPath(executable func() (string, error)) (string, error) {
	exe, err := executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		return "", err
	}
	name := companionName
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	return filepath.Join(filepath.Dir(exe), name), nil
}

// runCompanion hands the whole command line to authcli-ui, which parses it
// again with the same command tree: same flags, same errors, same exit
// codes. On Unix it replaces this process (signals, terminal and exit
// status are then the companion's own); elsewhere it runs it as a child.
func runCompanion(env *Env, command string) error {
	path, err := companionPath(os.Executable)
	if err != nil {
		return &companionError{command: command, path: companionName, err: err}
	}
	fi, err := os.Stat(path)
	if err == nil && (!fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 && runtime.GOOS != "windows") {
		err = errors.New("not an executable file")
	}
	if err != nil {
		return &companionError{command: command, path: path, err: err}
	}
	if err := runProgram(path, append([]string{companionName}, env.args...)); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			return err
		}
		return &companionError{command: command, path: path, err: err}
	}
	return nil
}
