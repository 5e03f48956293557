package accounts

import (
	"encoding/json"
	"testing"
	"time"
)

func TestStatusJSON(t *testing.T) {
	st := &State{Version: SchemaVersion, Default: "alice", Accounts: []Account{
		{Name: "alice", CreatedAt: t0, Identities: []Identity{{
			Provider: "google", Subject: "1098", Email: "alice@example.com", EmailVerified: true,
			Name: "Alice Example", AvatarURL: "https://img.example/a.png",
			LinkedAt: t0, LastUsedAt: t0.Add(time.Hour), Scopes: []string{"openid", "email"},
			TokenExpiry: t0.Add(2 * time.Hour), Refreshable: true,
			Claims: map[string]any{"hd": "example.com"},
		}}},
		{Name: "work", CreatedAt: t0, Identities: []Identity{{
			Provider: "github", Subject: "42", LinkedAt: t0, LastUsedAt: t0,
		}}},
	}}
	got, err := st.StatusJSON(t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "default_account": "alice",
  "accounts": [
    {
      "name": "alice",
      "default": true,
      "identities": [
        {
          "provider": "google",
          "subject": "1098",
          "email": "alice@example.com",
          "email_verified": true,
          "name": "Alice Example",
          "avatar_url": "https://img.example/a.png",
          "linked_at": "2026-11-23T10:00:00Z",
          "last_used_at": "2026-11-23T11:00:00Z",
          "scopes": [
            "openid",
            "email"
          ],
          "token": {
            "health": "valid",
            "expiry": "2026-11-23T12:00:00Z",
            "refreshable": true
          }
        }
      ]
    },
    {
      "name": "work",
      "default": false,
      "identities": [
        {
          "provider": "github",
          "subject": "42",
          "email": "",
          "email_verified": false,
          "name": "",
          "avatar_url": "",
          "linked_at": "2026-11-23T10:00:00Z",
          "last_used_at": "2026-11-23T10:00:00Z",
          "scopes": [],
          "token": {
            "health": "valid",
            "refreshable": false
          }
        }
      ]
    }
  ]
}
`
	if string(got) != want {
		t.Errorf("StatusJSON:\n%s\nwant:\n%s", got, want)
	}
}

func TestStatusJSONHealthAndEmpty(t *testing.T) {
	empty, err := (&State{Version: SchemaVersion}).StatusJSON(t0)
	if err != nil {
		t.Fatal(err)
	}
	if string(empty) != "{\n  \"default_account\": \"\",\n  \"accounts\": []\n}\n" {
		t.Errorf("empty status = %s", empty)
	}
	st := fixture(t)
	st.Accounts[0].Identities[0].TokenExpiry = t0.Add(time.Minute)
	st.Accounts[0].Identities[1].TokenExpiry = t0.Add(-time.Minute)
	st.Accounts[1].Identities[0].NeedsSignIn = true
	st.Accounts[1].Identities[0].TokenExpiry = t0.Add(time.Hour).In(time.FixedZone("X", 3600))
	data, err := st.StatusJSON(t0)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Accounts []struct {
			Identities []struct {
				Token struct {
					Health string
					Expiry *string
				}
			}
		}
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var health []string
	for _, a := range doc.Accounts {
		for _, id := range a.Identities {
			health = append(health, id.Token.Health)
		}
	}
	want := []string{"expiring", "expired", "needs_sign_in", "valid"}
	for i := range want {
		if health[i] != want[i] {
			t.Errorf("health = %v, want %v", health, want)
			break
		}
	}
	if e := doc.Accounts[1].Identities[0].Token.Expiry; e == nil || *e != "2026-11-23T11:00:00Z" {
		t.Errorf("expiry not RFC 3339 UTC: %v", e)
	}
	if doc.Accounts[1].Identities[1].Token.Expiry != nil {
		t.Error("zero expiry not omitted")
	}
}
