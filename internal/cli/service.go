package cli

import (
	"context"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/auth"
	"github.com/authcli/authcli/internal/config"
)

// newService builds the use-case layer for this process: this user's state
// directory, vault and accounts store, the config read only when a use
// case asks, and refreshes run where a killed caller cannot interrupt them
// (Env.Detach).
func newService(env *Env, g *globalOptions) (*auth.Service, error) {
	dir, err := config.StateDir(env.Getenv)
	if err != nil {
		return nil, &exitError{code: ExitUsage, msg: sentence(err), err: err}
	}
	v, err := openVault(env, dir)
	if err != nil {
		return nil, vaultError(err)
	}
	var cfg *config.File
	var cfgErr error
	loaded := false
	svc := &auth.Service{
		Config: func() (*config.File, error) {
			if !loaded {
				cfg, cfgErr = g.loadConfig(env)
				loaded = true
			}
			return cfg, cfgErr
		},
		Store:    accounts.OpenStore(dir),
		Vault:    v,
		StateDir: dir,
		HTTP:     env.HTTPClient,
		Now:      env.Now,
		Logf:     g.logf(env),
		SlowPath: func(ctx context.Context) context.Context { return env.watchSignals(ctx) },
	}
	switch c := agentClient(env); {
	case c != nil:
		svc.Refresher = agentRefresher{c}
	case env.Detach:
		svc.Refresher = &detachedRefresher{env: env, g: g, svc: svc}
	}
	if svc.Refresher != nil {
		// The grant runs in another process (the agent, or a detached
		// one): no signal to this one can cut it.
		svc.SlowPath = func(ctx context.Context) context.Context { return env.watchSignalsSoon(ctx) }
	}
	return svc, nil
}
