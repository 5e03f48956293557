//go:build !authcli_lean

// The demo provider (zitadel's op, with encoding/gob and OpenTelemetry)
// is linked into the single binary and the companion, not into the lean
// release authcli (see companion.go).

package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/authcli/authcli/internal/devidp"
	"github.com/authcli/authcli/internal/flow"
	"github.com/authcli/authcli/internal/termtext"
)

func runDemo(ctx context.Context, env *Env, opts *demoOptions) error {
	if err := opts.validate(); err != nil {
		return err
	}
	// The OP library logs through slog's default logger; the demo's output
	// is the terminal conversation, not the provider's internals.
	if !opts.Verbose {
		prev := slog.Default()
		slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
		defer slog.SetDefault(prev)
	}
	if opts.TTL < time.Second {
		return usageErrorf("--access-token-ttl must be at least 1s")
	}
	if err := checkDemoUser(opts.User); err != nil {
		return err
	}
	idpOpts := devidp.Options{Addr: opts.Addr, AccessTokenTTL: opts.TTL}
	if opts.Serve {
		idpOpts.ApproveDevicesAs = opts.User
	}
	idp, err := devidp.Start(idpOpts)
	if err != nil {
		return usageErrorf("cannot start the demo provider on %s: %s", opts.Addr, sentence(err))
	}
	defer idp.Close()
	if opts.Serve {
		return serveDemo(ctx, env, idp, opts.User)
	}
	fmt.Fprintf(env.Err, "Started the demo OpenID provider at %s (this machine only; it stops when the demo ends).\n", idp.Issuer())

	p := flow.Provider{
		Name:         "demo",
		Issuer:       idp.Issuer(),
		ClientID:     devidp.DemoClientID,
		Scopes:       []string{"openid", "email", "profile", "offline_access"},
		RedirectPort: opts.Port,
	}
	if len(opts.Scopes) > 0 {
		p.Scopes = opts.Scopes
	}
	// Playing the browser can fail (the page changed, a user it does not
	// list): then the sign-in cannot finish, so it stops with that error
	// instead of waiting for --timeout.
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	plan := signInPlan{device: opts.Device}
	if !opts.NoBrowser {
		plan.open = demoOpener(env, env.opener(), opts.User, stop)
		if env.Open == nil && !flow.BrowserAvailable(env.Getenv) {
			// Say so first, rather than promise a browser that will not come.
			plan.open = playBrowser(env, opts.User, stop)
			plan.openNote = "No browser can be opened here, so authcli plays the browser's part: it opens this page and signs in as " +
				demoWho(opts.User) + ", as you would by clicking:"
			if opts.Device {
				fmt.Fprintf(env.Err, "No browser can be opened here, so once the code is shown authcli plays your part: it enters the code on the demo provider's page and approves as %s.\n", demoWho(opts.User))
				plan.onCode = approveDemoCode(env, idp, opts.User, stop)
			}
		}
	}
	res, err := signIn(ctx, env, opts.globalOptions, p, plan)
	if cause := context.Cause(ctx); err != nil && cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	if err != nil {
		return err
	}
	printSignedIn(env.Out, "the demo provider", res, env.now())
	fmt.Fprintln(env.Err, "The demo keeps its tokens in memory only; they are gone when it exits.")
	return nil
}

// demoOpener opens the real browser; if that turns out impossible (an
// opener that fails), it plays the browser's part against the embedded
// provider, so `authcli demo` still ends with a signed-in user.
func demoOpener(env *Env, open flow.Opener, user string, fail context.CancelCauseFunc) flow.Opener {
	play := playBrowser(env, user, fail)
	return func(ctx context.Context, url string) error {
		err := open(ctx, url)
		if err == nil || !errors.Is(err, flow.ErrNoBrowser) {
			return err
		}
		fmt.Fprintf(env.Err, "No browser could be opened, so authcli plays the browser's part: it opens the page above and signs in as %s, as you would by clicking.\n", demoWho(user))
		return play(ctx, url)
	}
}

// playBrowser clicks through the demo provider's page in the background;
// if that fails, fail ends the sign-in with the reason.
func playBrowser(env *Env, user string, fail context.CancelCauseFunc) flow.Opener {
	return func(ctx context.Context, url string) error {
		go func() {
			if err := devidp.PlayBrowser(ctx, env.httpClient(), url, devidp.Choice{User: user}); err != nil && ctx.Err() == nil {
				fail(fmt.Errorf("playing the browser on the demo provider's page failed: %w", err))
			}
		}()
		return nil
	}
}

// checkDemoUser refuses a --user the demo provider does not have, before
// anything starts: otherwise the sign-in would wait for a click that never
// comes.
func checkDemoUser(user string) error {
	if user == "" {
		return nil
	}
	var names []string
	for _, u := range devidp.DemoUsers() {
		if user == u.Subject || strings.EqualFold(user, u.Email) {
			return nil
		}
		names = append(names, u.Email)
	}
	return usageErrorf("the demo provider has no user %q; choose one of %s with --user", termtext.Line(user), strings.Join(names, ", "))
}

func demoWho(user string) string {
	if user == "" {
		return devidp.DemoUsers()[0].Email
	}
	return user
}

// approveDemoCode plays the person on "another device" when nobody can
// open the demo provider's /device page: it approves the code as they
// would, and says so.
func approveDemoCode(env *Env, idp *devidp.Server, user string, fail context.CancelCauseFunc) func(string, string) {
	return func(code, _ string) {
		who := demoWho(user)
		fmt.Fprintf(env.Err, "Entering the code and approving as %s, as you would on the page.\n", who)
		if err := idp.ApproveDevice(code, who); err != nil {
			fail(fmt.Errorf("approving the demo code failed: %w", err))
		}
	}
}

// serveDemo keeps the demo provider up for use with a real config, and
// prints the lines to put in it.
func serveDemo(ctx context.Context, env *Env, idp *devidp.Server, approveAs string) error {
	fmt.Fprintf(env.Out, `# The demo OpenID provider is running; add this to your config file
# (or save it and point AUTHCLI_CONFIG at it), then: authcli login demo
[providers.demo]
kind = "oidc"
display_name = "authcli demo"
issuer = %q
client_id = %q
trust_email_verified = true
`, idp.Issuer(), devidp.DemoClientID)
	if approveAs != "" {
		fmt.Fprintf(env.Err, "Every device code is approved at once as %s (--user), for machines where nobody can open the page.\n", termtext.Line(approveAs))
	}
	fmt.Fprintln(env.Err, "Serving until Ctrl-C. Its tokens and keys vanish when it stops, so identities signed in to it will need a new sign-in.")
	<-ctx.Done()
	st := idp.Stats()
	fmt.Fprintf(env.Err, "Stopped. The provider saw %d code exchanges, %d device codes, %d refreshes (%d reused refresh tokens), %d revocations.\n",
		st.AuthCodeGrants, st.DeviceAuthorizations, st.RefreshGrants, st.RefreshReuseDetected, st.Revocations)
	return nil
}
