package flow

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/authcli/authcli/internal/termtext"
)

func TestNormalizeProfile(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		m       ClaimMap
		want    Profile
		wantErr bool
	}{
		{"oidc standard", `{"sub":"1","email":"a@x","email_verified":true,"name":"A","picture":"https://p"}`, ClaimMap{},
			Profile{Subject: "1", Email: "a@x", EmailVerified: true, Name: "A", AvatarURL: "https://p"}, false},
		{"email_verified as string", `{"sub":"1","email_verified":"true"}`, ClaimMap{}, Profile{Subject: "1", EmailVerified: true}, false},
		{"email_verified false string", `{"sub":"1","email_verified":"false"}`, ClaimMap{}, Profile{Subject: "1"}, false},
		{"numeric subject stays exact", `{"id":123456789012,"login":"octo","avatar_url":"https://a"}`,
			ClaimMap{Subject: "id", Name: "login", AvatarURL: "avatar_url"}, Profile{Subject: "123456789012", Name: "octo", AvatarURL: "https://a"}, false},
		{"nested picture", `{"id":"9","picture":{"data":{"url":"https://fb/p.jpg"}}}`,
			ClaimMap{Subject: "id", AvatarURL: "picture.data.url"}, Profile{Subject: "9", AvatarURL: "https://fb/p.jpg"}, false},
		{"null email", `{"sub":"1","email":null}`, ClaimMap{}, Profile{Subject: "1"}, false},
		{"missing subject", `{"email":"a@x"}`, ClaimMap{}, Profile{}, true},
		{"object subject", `{"sub":{"x":1}}`, ClaimMap{}, Profile{}, true},
		{"path through a scalar", `{"sub":"1","picture":"flat"}`, ClaimMap{AvatarURL: "picture.data.url"}, Profile{Subject: "1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dec := json.NewDecoder(strings.NewReader(tt.json))
			dec.UseNumber()
			var claims map[string]any
			if err := dec.Decode(&claims); err != nil {
				t.Fatal(err)
			}
			got, err := NormalizeProfile(claims, tt.m)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %t", err, tt.wantErr)
			}
			if err != nil {
				if !errors.Is(err, ErrUserinfo) {
					t.Errorf("err %v is not ErrUserinfo", err)
				}
				return
			}
			got.Claims = nil
			if got.Subject != tt.want.Subject || got.Email != tt.want.Email || got.EmailVerified != tt.want.EmailVerified ||
				got.Name != tt.want.Name || got.AvatarURL != tt.want.AvatarURL {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://login.example.com", true},
		{"http://127.0.0.1:8080", true},
		{"http://127.8.9.1", true},
		{"http://[::1]:9000/x", true},
		{"http://localhost:5556/dex", true},
		{"http://login.example.com", false},
		{"http://127.0.0.1.nip.io", false},
		{"http://localhost.evil.example", false},
		{"ftp://x.example", false},
		{"/relative", false},
	}
	for _, tt := range tests {
		err := checkURL("issuer", tt.url)
		if (err == nil) != tt.ok {
			t.Errorf("checkURL(%q) = %v, want ok=%t", tt.url, err, tt.ok)
		}
	}
}

func TestSanitize(t *testing.T) {
	got := termtext.Short("bad\x1b[2J\nthing\x07" + strings.Repeat("x", 400))
	if strings.ContainsAny(got, "\x1b\n\x07") {
		t.Errorf("control characters survived: %q", got)
	}
	if len(got) > 310 {
		t.Errorf("not bounded: %d bytes", len(got))
	}
}
