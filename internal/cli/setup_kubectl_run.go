//go:build !authcli_lean

// setup-kubectl edits YAML: it is linked into the single binary and the
// companion, not into the lean release authcli (see companion.go).

package cli

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/authcli/authcli/internal/credhelper/execcred"
	"github.com/authcli/authcli/internal/credhelper/kubeconfig"
	"github.com/authcli/authcli/internal/credhelper/setup"
)

func runSetupKubectl(env *Env, opts *setupOptions) error {
	cfg, pc, err := setupProvider(env, opts)
	if err != nil {
		return err
	}
	path := opts.Kubeconfig
	if path == "" {
		path = firstPath(env.Getenv("KUBECONFIG"))
	}
	if path == "" {
		home, err := homeDir(env)
		if err != nil {
			return err
		}
		path = filepath.Join(home, ".kube", "config")
	}
	exe, err := executable(opts.Executable, opts.LookPath)
	if err != nil {
		return err
	}
	args := append([]string{"token", pc.Name, "--format", formatExecCredential}, opts.configArgs(cfg.Path)...)
	if opts.Account != "" {
		args = append(args, "--account", opts.Account)
	}
	if opts.IDToken {
		args = append(args, "--id-token")
	}
	user := opts.User
	if user == "" {
		user = "authcli-" + pc.Name
	}
	u := kubeconfig.User{Name: user, APIVersion: execcred.V1, Command: exe, Args: args, InteractiveMode: "IfAvailable"}
	change, err := editFile(path, "kubeconfig", func(b []byte) ([]byte, setup.Change, error) {
		return kubeconfig.Edit(b, u)
	})
	if err != nil {
		return err
	}
	which := "access"
	if opts.IDToken {
		which = "ID"
	}
	fmt.Fprintf(env.Out, "kubectl: %s user %s in %s: its exec plugin runs %s %s, which hands kubectl the %s %s token.\n", change, user, path, exe, strings.Join(args, " "), pc.Name, which)
	fmt.Fprintf(env.Out, "Use it in a context: kubectl config set-context NAME --cluster CLUSTER --user %s\n", user)
	return nil
}
