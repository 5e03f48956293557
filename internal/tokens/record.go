// Package tokens keeps an identity's provider tokens: the record stored in
// the vault, and fresh access tokens for scripts (cache check, cross-process
// lock, refresh, rotation, persistence).
package tokens

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/authcli/authcli/internal/secret"
)

// RecordVersion is the format of Record in the vault.
const RecordVersion = 1

// ErrBadRecord means a vault value is not a token record authcli wrote.
var ErrBadRecord = errors.New("the stored token record is damaged; sign in again with authcli login")

// Record is one identity's tokens as kept in the vault, under the
// identity's key ("PROVIDER/SUBJECT"). It never goes anywhere else.
type Record struct {
	Version      int       `json:"v"`
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	IDToken      string    `json:"id_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
	// IDTokenExpiry is the ID token's exp: `token --id-token` is fresh by
	// it, not by the access token's expiry.
	IDTokenExpiry time.Time `json:"id_token_expiry,omitzero"`
	Scopes        []string  `json:"scopes,omitempty"`
	// Profile is ProfileDigest of the profile the sign-in that wrote this
	// record gave the accounts store: a later sign-in giving the same one
	// need not rewrite accounts.json (Keeper.SaveState). Refreshes keep it.
	Profile string `json:"profile,omitempty"`
	Endpoints
	// UpdatedAt orders writes: a refresh never replaces a newer record.
	UpdatedAt time.Time `json:"updated_at"`
}

// Endpoints are remembered from the sign-in so that a refresh or a logout
// needs no discovery round trip: where to refresh and revoke, and how to
// verify a refreshed ID token (issuer, keys, algorithms).
type Endpoints struct {
	Issuer        string   `json:"issuer,omitempty"`
	TokenURL      string   `json:"token_url,omitempty"`
	RevocationURL string   `json:"revocation_url,omitempty"`
	JWKSURL       string   `json:"jwks_url,omitempty"`
	SigningAlgs   []string `json:"signing_algs,omitempty"`
}

// Encode serialises r for the vault. Times are written in UTC: a time
// in the local zone makes the first encode load the zone database, a
// tenth of a millisecond on the path of every refresh and sign-in.
func (r Record) Encode() ([]byte, error) {
	r.Version = RecordVersion
	r.Expiry, r.IDTokenExpiry, r.UpdatedAt = r.Expiry.UTC(), r.IDTokenExpiry.UTC(), r.UpdatedAt.UTC()
	return json.Marshal(r)
}

// Decode parses a vault value. It refuses anything that is not a complete
// record of a known version: a damaged value must never be used as a token.
func Decode(b []byte) (Record, error) {
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return Record{}, fmt.Errorf("%w (%v)", ErrBadRecord, err)
	}
	switch {
	case r.Version != RecordVersion:
		return Record{}, fmt.Errorf("%w (format version %d)", ErrBadRecord, r.Version)
	case r.AccessToken == "" && r.RefreshToken == "":
		return Record{}, fmt.Errorf("%w (no token in it)", ErrBadRecord)
	}
	return r, nil
}

// String never prints a token: records travel through code that logs.
func (r Record) String() string {
	return fmt.Sprintf("tokens.Record{expiry: %s, refresh: %t, id_token: %t}", r.Expiry.Format(time.RFC3339), r.RefreshToken != "", r.IDToken != "")
}

// GoString matches String so %#v cannot leak either.
func (r Record) GoString() string { return r.String() }

// Format prints String under every verb: without it %d or %x of a Record
// printed its tokens' bytes.
func (r Record) Format(f fmt.State, _ rune) { secret.Format(f, r.String()) }

// IDTokenExpiry reads the exp claim of an ID token that was already
// verified when it was received; "" or a malformed token gives zero.
func IDTokenExpiry(raw string) time.Time {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}
	}
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return time.Time{}
	}
	sec, err := claims.Exp.Int64()
	if err != nil {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}
