package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"

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

// signIn runs the browser flow, or the device flow, with the shared flags.
func signIn(ctx context.Context, env *Env, g *globalOptions, p flow.Provider, plan signInPlan) (*flow.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, g.Timeout)
	defer cancel()
	if !plan.device && plan.autoDevice && plan.open != nil && !flow.BrowserAvailable(env.Getenv) {
		e, err := p.Resolve(ctx, env.httpClient(), env.now)
		if err == nil && flow.SupportsDevice(e) {
			fmt.Fprintln(env.Err, "No browser can be opened here (an SSH session, or no display), so authcli signs in with a code you enter on a page of the provider instead.")
			plan.device = true
		} else {
			fmt.Fprintln(env.Err, "No browser can be opened here. Open the URL below in a browser on this machine; over SSH, forward the redirect port first (ssh -L PORT:127.0.0.1:PORT, with a fixed --port).")
			plan.open = nil
		}
	}
	if plan.device {
		stderr, onCode := env.Err, plan.onCode
		if show := env.OnDeviceCode; show != nil {
			stderr = io.Discard
			onCode = func(code, uri string) {
				show(code, uri)
				if plan.onCode != nil {
					plan.onCode(code, uri)
				}
			}
		}
		d := &flow.Device{
			Provider:   p,
			HTTPClient: env.httpClient(),
			Stderr:     stderr,
			Now:        env.Now,
			Terminal:   env.ErrTTY && env.Getenv("TERM") != "dumb",
			Width:      termWidth(env.Getenv),
			Logf:       g.logf(env),
			OnCode:     onCode,
		}
		return d.Run(ctx)
	}
	l := &flow.Login{
		Provider:   p,
		HTTPClient: env.httpClient(),
		Open:       plan.open,
		OpenNote:   plan.openNote,
		Stderr:     env.Err,
		Now:        env.Now,
		Progress:   env.ErrTTY && env.Getenv("TERM") != "dumb",
		Logf:       g.logf(env),
	}
	return l.Run(ctx)
}

func columnsEnv(getenv func(string) string) int {
	n, err := strconv.Atoi(getenv("COLUMNS"))
	if err != nil || n < 0 {
		return 0
	}
	return n
}
