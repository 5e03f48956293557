//go:build !unix

package cli

import (
	"errors"
	"os"
	"os/exec"
)

// runProgram runs path as a child on this console and ends with its exit
// code (Windows has no exec; Ctrl-C reaches the child directly).
func runProgram(path string, argv []string) error {
	cmd := exec.Command(path, argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		// The companion already said what happened.
		return &exitError{code: ee.ExitCode(), err: err}
	}
	return err
}
