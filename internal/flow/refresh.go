package flow

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/authcli/authcli/internal/termtext"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// RefreshGrant spends refreshToken at tokenURL (RFC 6749 §6) and returns
// the provider's answer unchecked: with a rotating provider the old token
// is spent the moment it answers, so the caller must be able to keep the
// answer's refresh token even when a check fails. VerifyRefresh checks the
// rest. A rejected refresh token comes back as a *ProviderError.
func (p Provider) RefreshGrant(ctx context.Context, client *http.Client, tokenURL, refreshToken string, now time.Time) (*oauth2.Token, error) {
	if err := checkURL("token endpoint", tokenURL); err != nil {
		return nil, err
	}
	// Not x/oauth2's TokenSource: it drops an answer it finds unusable
	// (no access_token), and with it a rotated refresh token.
	conf := p.oauth2Config(&Endpoints{Token: tokenURL}, "")
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	if conf.ClientSecret == "" || conf.Endpoint.AuthStyle == oauth2.AuthStyleInParams {
		form.Set("client_id", conf.ClientID)
	}
	ans, err := postForm(ctx, client, conf, tokenURL, form)
	if err != nil {
		if isNetworkError(err) {
			return nil, reachError("the refresh request", err)
		}
		return nil, fmt.Errorf("the refresh request failed: %w", err)
	}
	if ans.status < 200 || ans.status > 299 {
		if code := ans.str("error"); code != "" {
			return nil, &ProviderError{Stage: "refresh", Code: termtext.Short(code), Description: ans.str("error_description")}
		}
		return nil, fmt.Errorf("%w: the token endpoint answered HTTP %d", ErrTokenResponse, ans.status)
	}
	return ans.token(now), nil
}

// Refreshed is a refresh's verified answer.
type Refreshed struct {
	Token   *oauth2.Token
	IDToken string   // verified; "" when the answer carried none
	Scopes  []string // granted, when the answer says
}

// VerifyRefresh checks a refresh grant's answer as strictly as a sign-in's:
// a usable bearer access token, and an ID token, when there is one, that
// passes every check of the first one (signature, issuer, audience, expiry)
// for the same subject (OpenID Connect Core §12.2). e.Verifier nil means
// the provider is not an OpenID provider: an ID token is then ignored.
// Errors wrap ErrRefreshCheck; one signed with a key e does not know also
// wraps ErrUnknownKey, so the caller can fetch the keys again and retry.
func VerifyRefresh(ctx context.Context, e *Endpoints, clientID, subject string, tok *oauth2.Token, now time.Time) (*Refreshed, error) {
	if err := CheckToken(tok); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRefreshCheck, err)
	}
	out := &Refreshed{Token: tok}
	if s, ok := tok.Extra("scope").(string); ok && s != "" {
		out.Scopes = strings.Fields(s)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" || e == nil {
		return out, nil
	}
	if e.awaitKeys != nil {
		if err := e.awaitKeys(); err != nil {
			return nil, fmt.Errorf("%w: %w: the cached keys do not parse: %w", ErrRefreshCheck, ErrUnknownKey, err)
		}
	}
	if e.Verifier == nil {
		return out, nil
	}
	if e.keys != nil && !e.keys.has(headerKID(raw)) {
		return nil, fmt.Errorf("%w: %w", ErrRefreshCheck, ErrUnknownKey)
	}
	claims, err := VerifyIDToken(ctx, e, clientID, raw, "", tok.AccessToken, now)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRefreshCheck, err)
	}
	if sub := scalarString(claims["sub"]); sub != subject {
		return nil, fmt.Errorf("%w: %w: the refreshed ID token is for another subject", ErrRefreshCheck, ErrIDToken)
	}
	out.IDToken = raw
	return out, nil
}

// ClientCredentials gets a token for a machine identity (RFC 6749 §4.4):
// no browser, no person, no refresh token.
func (p Provider) ClientCredentials(ctx context.Context, client *http.Client, tokenURL string) (*oauth2.Token, error) {
	if err := checkURL("token endpoint", tokenURL); err != nil {
		return nil, err
	}
	if p.ClientSecret == "" {
		return nil, fmt.Errorf("the client credentials grant needs client_secret for %s", p.Name)
	}
	conf := clientcredentials.Config{
		ClientID:     p.ClientID,
		ClientSecret: p.ClientSecret.Reveal(),
		TokenURL:     tokenURL,
		Scopes:       p.Scopes,
		AuthStyle:    oauth2.AuthStyleInHeader,
	}
	tok, err := conf.Token(context.WithValue(ctx, oauth2.HTTPClient, client))
	if err != nil {
		return nil, tokenError("client credentials", err)
	}
	if err := CheckToken(tok); err != nil {
		return nil, err
	}
	return tok, nil
}
