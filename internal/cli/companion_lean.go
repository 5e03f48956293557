//go:build authcli_lean

package cli

import "context"

// In the lean authcli, the demo, the accounts screen and the kubeconfig
// editor are authcli-ui's (companion.go). The command line was already
// parsed here with the same definitions, so flag errors are identical;
// everything after is the companion's.

func runDemo(_ context.Context, env *Env, _ *demoOptions) error {
	return runCompanion(env, "demo")
}

func runAccounts(_ context.Context, env *Env, _ *globalOptions) error {
	return runCompanion(env, "accounts")
}

func runSetupKubectl(env *Env, _ *setupOptions) error {
	return runCompanion(env, "setup-kubectl")
}
