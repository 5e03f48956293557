package devidp_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/authcli/authcli/internal/devidp"
)

// Example signs in to the embedded provider the way authcli does: discovery,
// authorization code with PKCE S256 through a loopback redirect, code
// exchange and ID token verification. PlayBrowser stands in for the person.
func Example() {
	idp, err := devidp.Start(devidp.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	httpClient := &http.Client{Timeout: 10 * time.Second}
	ctx = oidc.ClientContext(ctx, httpClient)

	// The client's loopback listener: any port matches the registered
	// http://127.0.0.1/callback/* (any provider name).
	codes := make(chan string, 1)
	listener := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		codes <- r.URL.Query().Get("code")
		fmt.Fprintln(w, "You can close this window.")
	}))
	defer listener.Close()

	provider, err := oidc.NewProvider(ctx, idp.Issuer())
	if err != nil {
		log.Fatal(err)
	}
	cfg := &oauth2.Config{
		ClientID:    devidp.DemoClientID,
		Endpoint:    provider.Endpoint(),
		RedirectURL: listener.URL + "/callback/demo",
		Scopes:      []string{oidc.ScopeOpenID, "email", "profile"},
	}
	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL("state-123", oauth2.S256ChallengeOption(verifier), oidc.Nonce("nonce-456"))

	if err := devidp.PlayBrowser(ctx, httpClient, authURL, devidp.Choice{User: "grace@example.com"}); err != nil {
		log.Fatal(err)
	}
	tok, err := cfg.Exchange(ctx, <-codes, oauth2.VerifierOption(verifier))
	if err != nil {
		log.Fatal(err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idToken, err := provider.Verifier(&oidc.Config{ClientID: devidp.DemoClientID}).Verify(ctx, rawID)
	if err != nil {
		log.Fatal(err)
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
		Name          string `json:"name"`
	}
	if err := idToken.Claims(&claims); err != nil {
		log.Fatal(err)
	}
	fmt.Println(idToken.Subject, claims.Email, claims.EmailVerified, claims.Name, idToken.Nonce)
	fmt.Println("code grants:", idp.Stats().AuthCodeGrants)
	// Output:
	// grace grace@example.com true Grace Hopper nonce-456
	// code grants: 1
}
