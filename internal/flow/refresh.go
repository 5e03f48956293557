package flow

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Refresh spends refreshToken at tokenURL (RFC 6749 §6) and returns the new
// tokens. When the provider rotates refresh tokens the new one is in the
// result; when it does not, x/oauth2 carries the old one over. A rejected
// refresh token comes back as a *ProviderError with Code "invalid_grant".
func (p Provider) Refresh(ctx context.Context, client *http.Client, tokenURL, refreshToken string) (*oauth2.Token, error) {
	if err := checkURL("token endpoint", tokenURL); err != nil {
		return nil, err
	}
	conf := p.oauth2Config(&Endpoints{Token: tokenURL}, "")
	ctx = context.WithValue(ctx, oauth2.HTTPClient, client)
	// An expired token forces x/oauth2 to refresh now.
	tok, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshToken, Expiry: time.Unix(1, 0)}).Token()
	if err != nil {
		return nil, tokenError("refresh", err)
	}
	if err := CheckToken(tok); err != nil {
		return nil, err
	}
	return tok, nil
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
		ClientSecret: p.ClientSecret,
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
