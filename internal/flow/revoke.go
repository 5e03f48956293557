package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/authcli/authcli/internal/termtext"
)

// ErrNoRevocation means the provider offers no way to revoke tokens.
var ErrNoRevocation = errors.New("the provider has no revocation endpoint")

// Revoke asks the provider to revoke token at its RFC 7009 endpoint. hint
// is "refresh_token" or "access_token". A public client sends its client_id
// in the body; a confidential one authenticates with HTTP Basic.
func Revoke(ctx context.Context, client *http.Client, endpoint, clientID, clientSecret, token, hint string) error {
	if endpoint == "" {
		return ErrNoRevocation
	}
	if err := checkURL("revocation endpoint", endpoint); err != nil {
		return err
	}
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	if clientSecret == "" {
		form.Set("client_id", clientID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if clientSecret != "" {
		// RFC 6749 §2.3.1: both parts form-encoded before Basic encoding.
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret))
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("the revocation request failed: %w", requestErr(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	var oauthErr struct {
		Code        string `json:"error"`
		Description string `json:"error_description"`
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
	if json.Unmarshal(body, &oauthErr) == nil && oauthErr.Code != "" {
		return &ProviderError{Stage: "revocation", Code: termtext.Short(oauthErr.Code), Description: oauthErr.Description}
	}
	return fmt.Errorf("the revocation endpoint answered HTTP %d", resp.StatusCode)
}
