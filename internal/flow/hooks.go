package flow

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/authcli/authcli/internal/termtext"
	"golang.org/x/oauth2"
)

// ProfileFunc reads who signed in from a provider whose profile is not one
// OpenID userinfo GET away (GitHub needs two calls; Microsoft's ID token
// already says everything). It returns raw claims for NormalizeProfile, or
// nil when the ID token alone is the profile. Provider.Profile, when set, is
// called instead of the userinfo endpoint.
type ProfileFunc func(ctx context.Context, client *http.Client, accessToken string) (map[string]any, error)

// IssuerCheck replaces go-oidc's exact issuer comparison for providers whose
// issuer is not the URL discovery is fetched from: Microsoft's multi-tenant
// endpoints announce "https://login.microsoftonline.com/{tenantid}/v2.0"
// and put the real tenant in each ID token. Both methods must refuse what
// they do not positively recognise; the signature, audience, expiry, nonce
// and at_hash checks stay in force.
type IssuerCheck interface {
	// Discovered accepts or refuses the issuer the discovery document
	// announces.
	Discovered(issuer string) error
	// Token accepts or refuses a verified ID token's iss, given the issuer
	// discovery announced and the token's other claims (tid, for instance).
	// claims is nil for the authorization response's RFC 9207 iss
	// parameter, which carries none: iss is then judged by its shape.
	Token(discovered, iss string, claims map[string]any) error
}

// RevokeFunc revokes a provider's grant for tok (logout, unlink): it picks
// the token the provider wants and the request shape it documents. It
// returns ErrNoRevocation when the provider has nowhere to revoke at.
type RevokeFunc func(ctx context.Context, client *http.Client, tok *oauth2.Token) error

// CallbackClaimsFunc reads claims a provider sends only in the
// authorization response itself: Apple posts the user's name, once, in a
// `user` form field. The values are not signed, so they only fill claims
// the ID token and userinfo left out; they never replace one.
type CallbackClaimsFunc func(form url.Values) map[string]any

// startUserClaims starts reading the provider's profile claims after the
// token exchange: Provider.Profile when set, else the userinfo endpoint
// when there is one. The request needs only the access token, so it runs
// while the caller checks the ID token; the sign-in then waits on one
// round trip fewer. The returned function waits for the answer (its
// context is the caller's), which for an OpenID provider must name the ID
// token's subject idClaims holds; stop abandons it, as when the ID token
// fails. Either must be called.
func (p Provider) startUserClaims(ctx context.Context, client *http.Client, e *Endpoints, accessToken string) (wait func(idClaims map[string]any) (map[string]any, error), stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	type answer struct {
		info map[string]any
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		var a answer
		switch {
		case p.Profile != nil:
			a.info, a.err = p.Profile(ctx, client, accessToken)
		case e.Userinfo != "":
			a.info, a.err = fetchUserinfo(ctx, client, e.Userinfo, accessToken)
		}
		got <- a
	}()
	wait = func(idClaims map[string]any) (map[string]any, error) {
		defer cancel()
		a := <-got
		if a.err != nil || a.info == nil {
			return nil, a.err
		}
		if e.Verifier != nil {
			if got, want := scalarString(a.info["sub"]), scalarString(idClaims["sub"]); got != want {
				return nil, fmt.Errorf("%w (%q instead of %q)", ErrSubjectMismatch, termtext.Short(got), want)
			}
		}
		return a.info, nil
	}
	return wait, cancel
}

// addCallbackClaims fills res's profile from the authorization response's
// extra fields (Provider.CallbackClaims), without replacing any claim.
func (p Provider) addCallbackClaims(res *Result, rawForm string) error {
	if p.CallbackClaims == nil || res == nil {
		return nil
	}
	form, err := url.ParseQuery(rawForm)
	if err != nil {
		return fmt.Errorf("%w: the authorization response could not be read again: %w", ErrUserinfo, err)
	}
	extra := p.CallbackClaims(form)
	if len(extra) == 0 {
		return nil
	}
	claims := res.Profile.Claims
	if claims == nil {
		claims = map[string]any{}
	}
	for k, v := range extra {
		if _, ok := claims[k]; !ok {
			claims[k] = v
		}
	}
	prof, err := NormalizeProfile(claims, p.Claims)
	if err != nil {
		return err
	}
	res.Profile = prof
	return nil
}

// redirectURIFor is the redirect URI sent to the provider: the HTTPS relay
// when one is configured (the listener still receives the final request),
// else the loopback listener's own address.
func (p Provider) redirectURIFor(ln *listener) (string, error) {
	if p.RedirectURI == "" {
		return ln.redirectURI(), nil
	}
	if err := checkURL("redirect URI", p.RedirectURI); err != nil {
		return "", err
	}
	return p.RedirectURI, nil
}

// redirectPath is where the listener waits. Without a configured path each
// provider gets its own, /callback/NAME: a redirect URI that no other
// provider shares is RFC 9700 §4.4.2's defence against mix-up.
func (p Provider) redirectPath() string {
	switch {
	case p.RedirectPath != "":
		return p.RedirectPath
	case p.Name != "":
		return legacyRedirectPath + "/" + url.PathEscape(p.Name)
	default:
		return legacyRedirectPath
	}
}

// checkRelay refuses a relay redirect URI with an ephemeral port: the relay
// forwards to a fixed loopback address, so the listener must be there.
func (p Provider) checkRelay() error {
	if p.RedirectURI != "" && p.RedirectPort == 0 {
		return fmt.Errorf("redirect_uri %s relays to the loopback listener, which then needs a fixed port; set redirect_port", p.RedirectURI)
	}
	return nil
}

// issuerMatches judges an RFC 9207 iss authorization response parameter.
// With an IssuerCheck it carries no claims, so the check judges its shape.
func (e *Endpoints) issuerMatches(iss string) bool {
	if e.issuerCheck != nil {
		return e.issuerCheck.Token(e.discovered, iss, nil) == nil
	}
	return iss == e.Issuer
}
