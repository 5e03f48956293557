package cli

import (
	"context"
	"strconv"

	"github.com/authcli/authcli/internal/auth"
	"github.com/authcli/authcli/internal/flow"
)

// signInPlan says how a sign-in meets the person.
type signInPlan struct {
	open   flow.Opener // nil: print the URL only
	device bool        // use the device authorization grant
	// autoDevice switches to the device grant when no browser can be
	// opened here and the provider supports it.
	autoDevice bool
	onCode     func(userCode, verificationURI string)
	openNote   string // what to say before opening (flow.Login.OpenNote)
}

// signInRequest turns the shared flags and a plan into the use case's
// sign-in settings.
func signInRequest(env *Env, g *globalOptions, plan signInPlan) auth.SignIn {
	return auth.SignIn{
		Device:           plan.device,
		AutoDevice:       plan.autoDevice,
		BrowserAvailable: func() bool { return flow.BrowserAvailable(env.Getenv) },
		Open:             plan.open,
		Port:             g.Port,
		Scopes:           g.Scopes,
		Timeout:          g.Timeout,
		Stderr:           env.Err,
		Terminal:         env.ErrTTY && env.Getenv("TERM") != "dumb",
		Width:            termWidth(env.Getenv),
		OpenNote:         plan.openNote,
		OnCode:           plan.onCode,
	}
}

// signIn runs the browser flow, or the device flow, with the shared flags,
// storing nothing (the demo).
func signIn(ctx context.Context, env *Env, g *globalOptions, p flow.Provider, plan signInPlan) (*flow.Result, error) {
	svc := &auth.Service{HTTP: env.HTTPClient, Now: env.Now, Logf: g.logf(env)}
	res, err := svc.Authorize(ctx, p, signInRequest(env, g, plan))
	// Nothing is stored, so nothing overlaps the listener's winding down.
	res.Wait()
	return res, err
}

func columnsEnv(getenv func(string) string) int {
	n, err := strconv.Atoi(getenv("COLUMNS"))
	if err != nil || n < 0 {
		return 0
	}
	return n
}
