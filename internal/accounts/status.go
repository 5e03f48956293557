package accounts

import (
	"encoding/json"
	"fmt"
	"time"
)

// The `status --json` document of CLI.md. These types are separate from the
// store's so the stable output cannot drift when the file format changes.
type statusDoc struct {
	DefaultAccount string          `json:"default_account"`
	Accounts       []statusAccount `json:"accounts"`
}

type statusAccount struct {
	Name       string           `json:"name"`
	Default    bool             `json:"default"`
	Identities []statusIdentity `json:"identities"`
}

type statusIdentity struct {
	Provider      string      `json:"provider"`
	Subject       string      `json:"subject"`
	Email         string      `json:"email"`
	EmailVerified bool        `json:"email_verified"`
	Name          string      `json:"name"`
	AvatarURL     string      `json:"avatar_url"`
	LinkedAt      string      `json:"linked_at"`
	LastUsedAt    string      `json:"last_used_at"`
	Scopes        []string    `json:"scopes"`
	Token         statusToken `json:"token"`
}

type statusToken struct {
	Health      Health `json:"health"`
	Expiry      string `json:"expiry,omitempty"`
	Refreshable bool   `json:"refreshable"`
}

// StatusJSON renders the state as the `authcli status --json` document of
// CLI.md: every field always present (empty strings, [] for no scopes) except
// token.expiry, omitted when the provider gave none. Times are RFC 3339 in
// UTC; health uses DefaultExpiringWithin. Claims are not included.
func (st *State) StatusJSON(now time.Time) ([]byte, error) {
	doc := statusDoc{DefaultAccount: st.Default, Accounts: []statusAccount{}}
	for _, a := range st.Accounts {
		sa := statusAccount{Name: a.Name, Default: a.Name == st.Default, Identities: []statusIdentity{}}
		for _, id := range a.Identities {
			si := statusIdentity{
				Provider:      id.Provider,
				Subject:       id.Subject,
				Email:         id.Email,
				EmailVerified: id.EmailVerified,
				Name:          id.Name,
				AvatarURL:     id.AvatarURL,
				LinkedAt:      rfc3339(id.LinkedAt),
				LastUsedAt:    rfc3339(id.LastUsedAt),
				Scopes:        append([]string{}, id.Scopes...),
				Token: statusToken{
					Health:      id.Health(now, DefaultExpiringWithin),
					Refreshable: id.Refreshable,
				},
			}
			if !id.TokenExpiry.IsZero() {
				si.Token.Expiry = rfc3339(id.TokenExpiry)
			}
			sa.Identities = append(sa.Identities, si)
		}
		doc.Accounts = append(doc.Accounts, sa)
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode status: %w", err)
	}
	return append(out, '\n'), nil
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
