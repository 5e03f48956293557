package flow

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/authcli/authcli/internal/oidctest"
)

type issuerCheckFunc struct {
	discovered func(string) error
	token      func(discovered, iss string, claims map[string]any) error
}

func (c issuerCheckFunc) Discovered(iss string) error { return c.discovered(iss) }
func (c issuerCheckFunc) Token(d, iss string, claims map[string]any) error {
	return c.token(d, iss, claims)
}

func TestLoginHooks(t *testing.T) {
	refuse := errors.New("refused by the check")
	accept := func(string) error { return nil }
	tests := []struct {
		name    string
		tweak   func(l *Login)
		wantErr error
		text    string
		check   func(t *testing.T, res *Result)
	}{
		{"profile hook replaces userinfo", func(l *Login) {
			l.Provider.Profile = func(_ context.Context, _ *http.Client, at string) (map[string]any, error) {
				return map[string]any{"sub": "user-1", "picture": "https://img.example/hook.png", "seen_token": at != ""}, nil
			}
		}, nil, "", func(t *testing.T, res *Result) {
			if res.Profile.AvatarURL != "https://img.example/hook.png" || res.Profile.Claims["seen_token"] != true {
				t.Errorf("profile hook not used: %+v", res.Profile)
			}
		}},
		{"profile hook returning nil keeps the ID token", func(l *Login) {
			l.Provider.Profile = func(context.Context, *http.Client, string) (map[string]any, error) { return nil, nil }
		}, nil, "", func(t *testing.T, res *Result) {
			if res.Profile.Name != "Ada Lovelace" || res.Profile.AvatarURL != "" {
				t.Errorf("profile = %+v, want the ID token's claims only", res.Profile)
			}
		}},
		{"profile hook naming another subject", func(l *Login) {
			l.Provider.Profile = func(context.Context, *http.Client, string) (map[string]any, error) {
				return map[string]any{"sub": "user-2"}, nil
			}
		}, ErrSubjectMismatch, "", nil},
		{"callback claims fill, never replace", func(l *Login) {
			l.Provider.CallbackClaims = func(form url.Values) map[string]any {
				return map[string]any{"name": "Forged Name", "nickname": "from-" + form.Get("state")[:1]}
			}
		}, nil, "", func(t *testing.T, res *Result) {
			if res.Profile.Name != "Ada Lovelace" || !strings.HasPrefix(res.Profile.Claims["nickname"].(string), "from-") {
				t.Errorf("claims = %v", res.Profile.Claims)
			}
		}},
		{"issuer check refuses discovery", func(l *Login) {
			l.Provider.IssuerCheck = issuerCheckFunc{func(string) error { return refuse }, nil}
		}, ErrDiscovery, "refused", nil},
		{"issuer check refuses the ID token", func(l *Login) {
			l.Provider.IssuerCheck = issuerCheckFunc{accept, func(string, string, map[string]any) error { return refuse }}
		}, ErrIDToken, "refused", nil},
		{"issuer check sees discovery's issuer and the token's claims", func(l *Login) {
			l.Provider.IssuerCheck = issuerCheckFunc{accept, func(d, iss string, c map[string]any) error {
				if d != iss || c["sub"] != "user-1" {
					return refuse
				}
				return nil
			}}
		}, nil, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := oidctest.New(t)
			res, err, _ := signIn(t, op, tt.tweak)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.text) {
					t.Fatalf("error = %v, want %v mentioning %q", err, tt.wantErr, tt.text)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, res)
			}
		})
	}
}

func TestLoginRelayNeedsFixedPort(t *testing.T) {
	op := oidctest.New(t)
	l := &Login{Provider: fakeProvider(op)}
	l.Provider.RedirectURI = "https://relay.example/callback"
	_, err := l.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "redirect_port") {
		t.Fatalf("error = %v, want one asking for redirect_port", err)
	}
	if len(op.AuthRequests()) != 0 {
		t.Error("the browser was sent to the provider anyway")
	}
}
