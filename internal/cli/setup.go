package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/authcli/authcli/internal/atomicfile"
	"github.com/authcli/authcli/internal/config"
	"github.com/authcli/authcli/internal/credhelper/setup"
	"github.com/authcli/authcli/internal/provider"
)

// setupOptions are the setup-* commands' flags and the lookups they need.
type setupOptions struct {
	*globalOptions
	Provider   string
	Host       string // setup-git --host, setup-docker --registry
	Username   string
	IDToken    bool
	User       string // setup-kubectl --user
	Kubeconfig string
	// Executable and LookPath find the authcli binary the tools will run
	// (os.Executable and exec.LookPath outside tests); Git runs git.
	Executable func() (string, error)
	LookPath   func(string) (string, error)
	Git        setup.GitRunner
}

func newSetupOptions(g *globalOptions) *setupOptions {
	return &setupOptions{globalOptions: g, Executable: os.Executable, LookPath: exec.LookPath, Git: setup.ExecGit}
}

func newSetupGitCmd(env *Env, g *globalOptions) *cobra.Command {
	opts := newSetupOptions(g)
	cmd := &cobra.Command{
		Use:   "setup-git PROVIDER",
		Short: "Make git get HTTPS credentials for a host from authcli",
		Long: `Configures git, like gh auth setup-git, to ask authcli for the credentials of
https://HOST (the forge preset's host by default): it writes a [git."HOST"]
table to authcli's config and sets credential.https://HOST.helper in git's
global config. Running it again changes nothing.`,
		Example: "  authcli setup-git github\n  authcli setup-git corp --host git.corp.example --username oauth2",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Provider = args[0]
			return runSetupGit(cmd.Context(), env, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Host, "host", "", "git host, with :PORT when not 443 (default: the preset's, like github.com)")
	cmd.Flags().StringVar(&opts.Username, "username", "", "user name sent with the token (default: the preset's, like x-access-token for GitHub)")
	return cmd
}

func newSetupDockerCmd(env *Env, g *globalOptions) *cobra.Command {
	opts := newSetupOptions(g)
	cmd := &cobra.Command{
		Use:   "setup-docker PROVIDER --registry HOST",
		Short: "Make docker, podman and skopeo get a registry's credentials from authcli",
		Long: `Adds credHelpers["HOST"] = "authcli" to docker's config.json ($DOCKER_CONFIG,
else ~/.docker/config.json), keeping the rest of the file, and a
[docker."HOST"] table to authcli's config. The tools then run
docker-credential-authcli, which is authcli under that name: the release
installs the link; otherwise make one next to authcli.`,
		Example: "  authcli setup-docker corp --registry registry.corp.example",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Provider = args[0]
			return runSetupDocker(env, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Host, "registry", "", "registry host, with :PORT when not 443 (required)")
	cmd.Flags().StringVar(&opts.Username, "username", "", "user name sent with the token (default: the preset's)")
	cmd.Flags().BoolVar(&opts.IDToken, "id-token", false, "hand out the ID token instead of the access token")
	return cmd
}

func newSetupKubectlCmd(env *Env, g *globalOptions) *cobra.Command {
	opts := newSetupOptions(g)
	cmd := &cobra.Command{
		Use:   "setup-kubectl PROVIDER",
		Short: "Add a kubeconfig user whose token comes from authcli",
		Long: `Adds or updates one kubeconfig user (authcli-PROVIDER by default) whose exec
plugin runs authcli token PROVIDER --format exec-credential, keeping every
other byte of the file. The kubeconfig is --kubeconfig, else the first file
of $KUBECONFIG, else ~/.kube/config. Use --id-token for clusters that
authenticate OpenID Connect ID tokens (kube-apiserver --oidc-issuer-url).`,
		Example: "  authcli setup-kubectl corp --id-token\n  kubectl config set-context corp --cluster prod --user authcli-corp",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Provider = args[0]
			return runSetupKubectl(env, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.IDToken, "id-token", false, "send the ID token (OIDC clusters) instead of the access token")
	cmd.Flags().StringVar(&opts.User, "user", "", "kubeconfig user name (default authcli-PROVIDER)")
	cmd.Flags().StringVar(&opts.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: first of $KUBECONFIG, else ~/.kube/config)")
	return cmd
}

// setupProvider loads the whole config: setup is the time to learn that a
// provider is missing or broken, not the first git fetch.
func setupProvider(env *Env, opts *setupOptions) (*config.File, *config.Provider, error) {
	cfg, err := opts.loadConfig(env)
	if err != nil {
		return nil, nil, err
	}
	pc, err := cfg.Provider(opts.Provider)
	if err != nil {
		return nil, nil, err
	}
	return cfg, pc, nil
}

// setupHost checks a --host or --registry value: https only, no path.
func setupHost(flag, value string) (string, error) {
	v := strings.TrimSuffix(value, "/")
	if rest, ok := strings.CutPrefix(strings.ToLower(v), "http://"); ok {
		return "", usageErrorf("%s %s uses http, which would send the token in clear; authcli answers only https hosts", flag, rest)
	}
	if len(v) >= 8 && strings.EqualFold(v[:8], "https://") {
		v = v[8:]
	}
	host, problem := config.NormalizeHost(v)
	if problem != "" {
		return "", usageErrorf("%s %s", flag, problem)
	}
	return host, nil
}

func runSetupGit(ctx context.Context, env *Env, opts *setupOptions) error {
	cfg, pc, err := setupProvider(env, opts)
	if err != nil {
		return err
	}
	host := opts.Host
	if host == "" {
		if host = provider.GitHost(pc); host == "" {
			return usageErrorf("%s hosts no git repositories that authcli knows of; name the git server with --host HOST", pc.Name)
		}
	}
	if host, err = setupHost("--host", host); err != nil {
		return err
	}
	route := config.Route{Host: host, Provider: pc.Name, Kind: pc.Kind, Account: opts.Account, Username: opts.Username}
	if err := writeRoute(env, cfg.Path, config.RouteGit, route); err != nil {
		return err
	}
	exe, err := executable(opts.Executable, opts.LookPath)
	if err != nil {
		return err
	}
	helper := setup.GitHelperCommand(exe, opts.configArgs(cfg.Path)...)
	key, change, err := setup.GitHelper(ctx, opts.Git, host, helper)
	if err != nil {
		return fmt.Errorf("configure git: %w", err)
	}
	fmt.Fprintf(env.Out, "git: %s %s = %s in your global git config (after an empty value, which stops git from trying other helpers first).\n", change, key, helper)
	fmt.Fprintf(env.Out, "git now gets https://%s credentials from authcli: user name %s and the %s token.\n", host, routeUsername(route), pc.Name)
	if note := provider.GitScopeNote(pc); note != "" {
		fmt.Fprintf(env.Err, "authcli: note: %s.\n", note)
	}
	return nil
}

func runSetupDocker(env *Env, opts *setupOptions) error {
	if opts.Host == "" {
		return usageErrorf("setup-docker needs --registry HOST, the registry to get credentials for")
	}
	cfg, pc, err := setupProvider(env, opts)
	if err != nil {
		return err
	}
	host, err := setupHost("--registry", opts.Host)
	if err != nil {
		return err
	}
	route := config.Route{Host: host, Provider: pc.Name, Account: opts.Account, Username: opts.Username, IDToken: opts.IDToken}
	if err := writeRoute(env, cfg.Path, config.RouteDocker, route); err != nil {
		return err
	}
	dir := env.Getenv("DOCKER_CONFIG")
	if dir == "" {
		home, err := homeDir(env)
		if err != nil {
			return err
		}
		dir = filepath.Join(home, ".docker")
	}
	path := filepath.Join(dir, "config.json")
	change, err := editFile(path, "docker config", func(b []byte) ([]byte, setup.Change, error) {
		return setup.DockerConfig(b, host, "authcli")
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Out, "docker: %s credHelpers[%q] = \"authcli\" in %s.\n", change, host, path)
	if _, err := opts.LookPath(DockerCredentialHelper); err != nil {
		fmt.Fprintf(env.Err, "authcli: note: %s is not in PATH, so docker cannot run it yet; link it to authcli, for example: ln -s \"$(command -v authcli)\" /usr/local/bin/%s\n", DockerCredentialHelper, DockerCredentialHelper)
	}
	return nil
}

// configArgs repeat --config for the commands the tools will run, so they
// read the same file this setup did.
func (opts *setupOptions) configArgs(path string) []string {
	if opts.ConfigPath == "" {
		return nil
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return []string{"--config", path}
}

// writeRoute records the route in authcli's config file.
func writeRoute(env *Env, path, table string, route config.Route) error {
	change, err := editFile(path, "authcli config", func(b []byte) ([]byte, setup.Change, error) {
		return setup.AuthcliRoute(b, table, route)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Out, "authcli: %s [%s.%q] provider = %q in %s.\n", change, table, route.Host, route.Provider, path)
	return nil
}

// editFile applies edit to the file at path (a missing file is empty) and
// writes the result atomically when it changed. A symlinked file is
// edited where it points.
func editFile(path, what string, edit func([]byte) ([]byte, setup.Change, error)) (setup.Change, error) {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return setup.Unchanged, &exitError{code: ExitFailure, err: err, msg: fmt.Sprintf("cannot read the %s %s: %s", what, path, sentence(errors.Unwrap(err)))}
	}
	out, change, err := edit(b)
	if err != nil {
		return setup.Unchanged, &exitError{code: ExitUsage, err: err, msg: fmt.Sprintf("the %s %s was left as it was: %s", what, path, sentence(err))}
	}
	if change == setup.Unchanged {
		return change, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return setup.Unchanged, fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	if err := atomicfile.Write(path, "."+filepath.Base(path)+".tmp*", out); err != nil {
		return setup.Unchanged, &exitError{code: ExitFailure, err: err, msg: fmt.Sprintf("cannot write the %s %s: %s", what, path, sentence(err))}
	}
	return change, nil
}

func firstPath(list string) string {
	for _, p := range filepath.SplitList(list) {
		if p != "" {
			return p
		}
	}
	return ""
}

func homeDir(env *Env) (string, error) {
	if h := env.Getenv("HOME"); h != "" {
		return h, nil
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return "", usageErrorf("cannot find your home directory; set HOME")
	}
	return h, nil
}
