package auth

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/config"
	"github.com/authcli/authcli/internal/flow"
	"github.com/authcli/authcli/internal/provider"
	"github.com/authcli/authcli/internal/tokens"
)

// SignIn is how one interactive sign-in runs and meets the person.
type SignIn struct {
	Provider string // "" for the default provider
	// Account names the account a first sign-in creates, or the account
	// the identity must already belong to (a different person signing in
	// then needs a link).
	Account string
	// LinkTo links the new identity to this account (authcli link).
	LinkTo string
	// Confirm asks whether a new identity may join the account whose
	// email matches (CLI.md outcome 3); nil refuses.
	Confirm tokens.Confirm

	Device bool // the device authorization grant (RFC 8628)
	// AutoDevice switches to the device grant when no browser can be
	// opened here (BrowserAvailable says no) and the provider offers it.
	AutoDevice       bool
	BrowserAvailable func() bool
	Open             flow.Opener // nil: only show the URL

	Port    int      // fixed loopback port; 0: the table's, else ephemeral
	Scopes  []string // replace the table's scopes
	Timeout time.Duration

	Stderr   io.Writer // prompts, the URL, the device code; nil discards
	Terminal bool      // Stderr is a terminal: animate, draw the QR code
	Width    int       // terminal columns, for the QR code; 0: unknown
	OpenNote string    // said before the browser opens (flow.Login.OpenNote)
	// OnURL receives the sign-in address once the listener is up
	// (flow.Login.Ready); OnCode the device grant's code and address.
	OnURL  func(url string)
	OnCode func(userCode, verificationURI string)

	// verified: flow.Login.Verified, set by SignIn to look the identity
	// up while userinfo is on its way.
	verified func(draft flow.Profile)
}

// SignedIn is a stored sign-in.
type SignedIn struct {
	Provider   *config.Provider
	Result     *flow.Result
	Resolution accounts.Resolution
	State      *accounts.State // after the sign-in
	// NoOfflineToken: offline access was asked for and the provider gave
	// no refresh token, so the tokens end with the access token's life.
	NoOfflineToken bool
}

// Build returns the flow provider of a config table, with sign-in
// overrides applied.
func (s *Service) Build(pc *config.Provider, port int, scopes []string) (flow.Provider, error) {
	if pc.Grant == config.GrantClientCredentials {
		return flow.Provider{}, &IdentityError{Provider: pc.Name, Err: ErrNoBrowserSignIn}
	}
	p, err := provider.Build(pc, s.Now)
	if err != nil {
		return flow.Provider{}, err
	}
	if port != 0 {
		p.RedirectPort = port
	}
	if len(scopes) > 0 {
		p.Scopes = scopes
	}
	return p, nil
}

// SignIn runs the sign-in and stores its result per the accounts rules:
// tokens in the vault, the identity in the accounts store. The vault is
// checked first, so nobody signs in for nothing.
func (s *Service) SignIn(ctx context.Context, in SignIn) (*SignedIn, error) {
	pc, err := s.providerConfig(in.Provider)
	if err != nil {
		return nil, err
	}
	p, err := s.Build(pc, in.Port, in.Scopes)
	if err != nil {
		return nil, err
	}
	if _, err := s.Vault.List(""); err != nil {
		return nil, err
	}
	k := s.keeper()
	go k.Prepare() // while the person is at the provider
	// The identity is looked up while the provider answers userinfo.
	var expected *tokens.Expected
	in.verified = func(draft flow.Profile) {
		expected = k.Expect(signInFor(pc, in.Account, &flow.Result{Profile: draft}))
	}
	defer func() { expected.Wait() }() // nothing reads the vault once SignIn has returned
	res, err := s.Authorize(ctx, p, in)
	if err != nil {
		return nil, err
	}
	// Stored while the tab gets its page; returned once it has it.
	defer res.Wait()
	signIn := signInFor(pc, in.Account, res)
	// The state as written: reading accounts.json again would cost a
	// second parse of the whole store (tens of ms at 1,000 identities).
	r, st, err := k.SaveExpected(expected, signIn, recordOf(res), in.LinkTo, in.Confirm)
	if err != nil {
		return nil, err
	}
	return &SignedIn{Provider: pc, Result: res, Resolution: r, State: st,
		NoOfflineToken: res.Token.RefreshToken == "" && asksOffline(p)}, nil
}

// asksOffline: the request asked for a refresh token, by the OpenID scope
// or Google's access_type.
func asksOffline(p flow.Provider) bool {
	return slices.Contains(p.Scopes, "offline_access") || p.AuthParams["access_type"] == "offline"
}

// Authorize runs the browser flow, or the device flow, and stores nothing:
// SignIn stores, the demo does not. The caller calls the result's Wait
// before it exits (flow.Result.Wait).
func (s *Service) Authorize(ctx context.Context, p flow.Provider, in SignIn) (*flow.Result, error) {
	if in.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, in.Timeout)
		defer cancel()
	}
	stderr := in.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	device, open := in.Device, in.Open
	if !device && in.AutoDevice && open != nil && in.BrowserAvailable != nil && !in.BrowserAvailable() {
		e, err := p.Resolve(ctx, s.client(), s.Now)
		if err == nil && flow.SupportsDevice(e) {
			fmt.Fprintln(stderr, "No browser can be opened here (an SSH session, or no display), so authcli signs in with a code you enter on a page of the provider instead.")
			device = true
		} else {
			fmt.Fprintln(stderr, "No browser can be opened here. Open the URL below in a browser on this machine; over SSH, forward the redirect port first (ssh -L PORT:127.0.0.1:PORT, with a fixed --port).")
			open = nil
		}
	}
	if device {
		d := &flow.Device{
			Provider: p, HTTPClient: s.client(), Stderr: stderr, Now: s.Now,
			Terminal: in.Terminal, Width: in.Width, Logf: s.Logf, OnCode: in.OnCode, Keys: s.keyCache(),
			Verified: in.verified,
		}
		return d.Run(ctx)
	}
	l := &flow.Login{
		Provider: p, HTTPClient: s.client(), Open: open, OpenNote: in.OpenNote,
		Stderr: stderr, Now: s.Now, Progress: in.Terminal, Logf: s.Logf, Ready: in.OnURL, Keys: s.keyCache(),
		Verified: in.verified,
	}
	return l.Run(ctx)
}

func (s *Service) keeper() *tokens.Keeper {
	return &tokens.Keeper{Store: s.Store, Vault: s.Vault, Now: s.Now}
}

// recordOf is what the vault keeps from a sign-in: the tokens, and the
// endpoints a refresh or a logout will need without discovery.
func recordOf(res *flow.Result) tokens.Record {
	var rec tokens.Record
	if res.Token != nil {
		rec = tokens.Record{
			AccessToken:  res.Token.AccessToken,
			TokenType:    res.Token.TokenType,
			RefreshToken: res.Token.RefreshToken,
			Expiry:       res.Token.Expiry,
		}
	}
	// Without the ID token's own expiry, `token --id-token` would think it
	// never expires and print it long after its exp.
	rec.IDToken, rec.IDTokenExpiry = res.IDToken, tokens.IDTokenExpiry(res.IDToken)
	rec.Scopes = res.Scopes
	rec.Endpoints = endpointsOf(res.Endpoints)
	return rec
}

func signInFor(pc *config.Provider, account string, res *flow.Result) accounts.SignIn {
	p := res.Profile
	in := accounts.SignIn{
		Provider: pc.Name,
		Profile: accounts.Profile{
			Subject: p.Subject, Email: p.Email, EmailVerified: p.EmailVerified,
			Name: p.Name, AvatarURL: p.AvatarURL, Claims: p.Claims,
		},
		TrustEmailVerified: pc.TrustEmailVerified,
		Scopes:             res.Scopes,
		Account:            account,
	}
	if res.Token != nil {
		in.TokenExpiry = res.Token.Expiry
		in.Refreshable = res.Token.RefreshToken != ""
	}
	return in
}
