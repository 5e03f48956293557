package flow

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// finishSignIn turns a token response into a Result. The browser and device
// flows both end here so that an identity passes the same checks whichever
// grant produced it: a usable bearer token, a verified ID token from OpenID
// providers, a userinfo subject matching it, and a normalised profile.
// nonce is empty for grants that send none (the device grant).
//
// verified, when not nil, is told the ID token's profile as soon as the
// token is verified, while userinfo may still be on its way
// (Login.Verified).
//
// keys, when not nil, gives the keys prefetched while the person signed
// in (Endpoints.prefetchKeys): an ID token signed with one of them is
// checked against them, one signed with any other key by the verifier
// Resolve made, which fetches the provider's keys anew.
func finishSignIn(ctx context.Context, client *http.Client, now func() time.Time, p Provider, e *Endpoints, keys func() *keySet, requested []string, tok *oauth2.Token, nonce string, verified func(draft Profile)) (*Result, error) {
	if err := CheckToken(tok); err != nil {
		return nil, err
	}
	claims := map[string]any{}
	rawID, _ := tok.Extra("id_token").(string)
	if e.Verifier != nil && rawID == "" {
		return nil, fmt.Errorf("%w: the provider sent no ID token", ErrIDToken)
	}
	userClaims, stop := p.startUserClaims(ctx, client, e, tok.AccessToken)
	if e.Verifier != nil {
		if keys != nil {
			if ks := keys(); ks != nil && ks.has(headerKID(rawID)) {
				e.useKeys(p, ks, now)
			}
		}
		var err error
		if claims, err = VerifyIDToken(ctx, e, p.ClientID, rawID, nonce, tok.AccessToken, now()); err != nil {
			stop()
			return nil, err
		}
		if verified != nil {
			// The subject as NormalizeProfile reads it is final: userinfo
			// must agree with the ID token's sub. The claims map is merged
			// with userinfo's next, so the draft holds none of it.
			if draft, err := NormalizeProfile(claims, p.Claims); err == nil && draft.Subject != "" {
				draft.Claims = nil
				verified(draft)
			}
		}
	}
	info, err := userClaims(claims)
	if err != nil {
		return nil, err
	}
	for k, v := range info {
		claims[k] = v
	}
	if len(claims) == 0 {
		return nil, fmt.Errorf("%w: the provider has neither an ID token nor a userinfo endpoint; set userinfo_url", ErrUserinfo)
	}
	prof, err := NormalizeProfile(claims, p.Claims)
	if err != nil {
		return nil, err
	}
	scopes := requested
	if s, ok := tok.Extra("scope").(string); ok && s != "" {
		scopes = strings.Fields(s)
	}
	return &Result{Token: tok, IDToken: rawID, Profile: prof, Scopes: scopes, Endpoints: e}, nil
}
