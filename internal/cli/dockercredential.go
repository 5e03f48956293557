package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/authcli/authcli/internal/credhelper/dockercred"
)

// DockerCredentialHelper is the name docker, podman and skopeo run for
// credHelpers = "authcli"; the release ships it as a link to authcli.
const DockerCredentialHelper = "docker-credential-authcli"

// IsDockerCredentialHelper reports whether argv0 (the program name the
// binary was started by) is DockerCredentialHelper.
func IsDockerCredentialHelper(argv0 string) bool {
	base := filepath.Base(argv0)
	base = strings.TrimSuffix(strings.TrimSuffix(base, ".exe"), ".EXE")
	return base == DockerCredentialHelper
}

// RunDockerCredential speaks docker's credential-helper protocol: args are
// what follows the program name (one action). It returns the exit code the
// protocol expects: 0, or 1 with the message on stdout. A failure other
// than "not found" is also told on stderr, where a person sees it.
func RunDockerCredential(ctx context.Context, env *Env, args []string) int {
	// The detached refresh re-runs this binary by its own path, which on
	// some systems is still the link's name: that is authcli's command.
	if len(args) > 0 && args[0] == refreshWorkerCmd {
		return Run(ctx, env, args)
	}
	if len(args) != 1 {
		fmt.Fprintf(env.Err, "usage: %s get|store|erase|list|version\n", DockerCredentialHelper)
		return ExitFailure
	}
	g := &globalOptions{Timeout: 5 * time.Minute}
	h := &dockercred.Helper{Tokens: helperTokens(env, g), Version: env.Build.Version}
	if args[0] != "version" {
		routes, err := loadRoutes(env, g)
		if err != nil {
			_, msg := describe(err)
			fmt.Fprintln(env.Out, msg)
			fmt.Fprintf(env.Err, "authcli: %s.\n", msg)
			return ExitFailure
		}
		h.Routes = helperRoutes(routes.Docker)
	}
	err := h.Serve(ctx, args[0], env.In, env.Out)
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, dockercred.ErrCredentialsNotFound):
		return ExitFailure // the protocol's normal "not mine"
	}
	_, msg := describe(err)
	fmt.Fprintf(env.Err, "authcli: %s.\n", msg)
	return ExitFailure
}
