package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/authcli/authcli/internal/agent"
	"github.com/authcli/authcli/internal/auth"
	"github.com/authcli/authcli/internal/termtext"
	"github.com/authcli/authcli/internal/tokens"
	"github.com/authcli/authcli/internal/vault"
)

// agentClient is the agent named by AUTHCLI_AGENT_SOCK, or nil: while it
// is set, commands use the agent for the vault and for refreshes and never
// open the vault themselves.
func agentClient(env *Env) *agent.Client {
	if sock := env.Getenv(agent.EnvSock); sock != "" {
		return &agent.Client{Path: sock}
	}
	return nil
}

// openVault is the agent's vault when there is an agent, else the vault
// AUTHCLI_VAULT selects.
func openVault(env *Env, dir string) (vault.Vault, error) {
	if c := agentClient(env); c != nil {
		return c.Vault(), nil
	}
	return vault.Open(env.Getenv, dir)
}

// freshFromAgent asks the agent for the token: the agent finds the
// identity in its accounts store and refreshes when needed.
func freshFromAgent(ctx context.Context, c *agent.Client, want auth.Want) (tokens.Record, error) {
	rec, err := c.Fresh(ctx, agent.Want{Provider: want.Provider, Account: want.Account, Subject: want.Subject, MinTTL: want.MinTTL, IDToken: want.IDToken})
	if err != nil {
		if e := agentError(err); e != nil {
			return tokens.Record{}, e
		}
		return tokens.Record{}, err
	}
	return rec, nil
}

// agentRefresher is the auth.Refresher of a Service whose vault is the
// agent's (the accounts screen, login): the agent runs the refresh. The
// caller's lock is released first, because the agent takes the same
// per-identity lock itself.
type agentRefresher struct{ c *agent.Client }

func (r agentRefresher) Refresh(ctx context.Context, job auth.Job, lock *tokens.Lock) (tokens.Record, error) {
	lock.Unlock()
	subject := job.Subject
	if subject == auth.MachineSubject {
		subject = "" // the agent finds the machine identity by its provider
	}
	return freshFromAgent(ctx, r.c, auth.Want{Provider: job.Provider, Subject: subject, MinTTL: job.Want.MinTTL, IDToken: job.Want.IDToken})
}

// agentError gives an agent's failure the exit code of CLI.md and its
// sentence; nil when err did not come from an agent.
func agentError(err error) error {
	var ae *agent.Error
	switch {
	case errors.Is(err, agent.ErrNotRunning):
		return &exitError{code: ExitVault, err: err, msg: fmt.Sprintf("%s; start one with: eval \"$(authcli agent start)\", or unset %s",
			strings.TrimPrefix(sentence(err), "agent: "), agent.EnvSock)}
	case errors.Is(err, agent.ErrVersion):
		return &exitError{code: ExitVault, err: err, msg: "the authcli agent is of another version; restart it with: authcli agent stop, then eval \"$(authcli agent start)\""}
	case errors.As(err, &ae):
		code := ExitFailure
		switch ae.Code {
		case agent.CodeSignIn, agent.CodeNotFound:
			code = ExitSignIn
		case agent.CodeUsage, agent.CodeBadRequest:
			code = ExitUsage
		case agent.CodeLocked, agent.CodeVault:
			code = ExitVault
		}
		msg := ae.Message
		if ae.Code == agent.CodeNotFound {
			// A vault lookup that found nothing: callers branch on
			// vault.ErrNotFound, which ae still matches.
			return err
		}
		// The agent's sentence, as text from another process.
		return &exitError{code: code, err: err, msg: trimPeriod(termtext.Line(msg))}
	}
	var opErr interface{ Timeout() bool }
	if errors.As(err, &opErr) && opErr.Timeout() {
		return &exitError{code: ExitFailure, err: err, msg: "the authcli agent did not answer in time"}
	}
	return nil
}

func trimPeriod(s string) string {
	for len(s) > 0 && s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s
}
