package devidp

import (
	"context"
	"crypto/subtle"
	"errors"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// machineRequest is a client credentials grant (RFC 6749 §4.4): the client
// acts for itself, so the subject is the client ID.
type machineRequest struct {
	clientID string
	scopes   []string
}

func (m *machineRequest) GetSubject() string    { return m.clientID }
func (m *machineRequest) GetAudience() []string { return []string{m.clientID} }
func (m *machineRequest) GetScopes() []string   { return m.scopes }

var _ op.ClientCredentialsStorage = (*storage)(nil)

// ClientCredentials authenticates a confidential client for the client
// credentials grant; public clients have no credentials to present.
func (s *storage) ClientCredentials(_ context.Context, clientID, clientSecret string) (op.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[clientID]
	if !ok || c.Secret == "" || subtle.ConstantTimeCompare([]byte(c.Secret), []byte(clientSecret)) != 1 {
		return nil, errors.New("invalid client credentials")
	}
	cl, _ := s.client(clientID)
	return cl, nil
}

// ClientCredentialsTokenRequest grants the scopes asked for, without
// openid: there is no person to identify.
func (s *storage) ClientCredentialsTokenRequest(_ context.Context, clientID string, scopes []string) (op.TokenRequest, error) {
	scopes = slices.DeleteFunc(slices.Clone(scopes), func(sc string) bool { return sc == "openid" || sc == "offline_access" })
	s.mu.Lock()
	s.counters.ClientCredentialsGrants++
	s.mu.Unlock()
	return &machineRequest{clientID: clientID, scopes: scopes}, nil
}

// machineGrant records a client credentials grant for its access token.
func machineGrant(id string, r *machineRequest, now time.Time) *grant {
	return &grant{id: id, subject: r.clientID, clientID: r.clientID, scopes: slices.Clone(r.scopes), authTime: now}
}
