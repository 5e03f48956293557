package flow

import (
	"errors"
	"testing"

	"golang.org/x/oauth2"
)

func TestCheckToken(t *testing.T) {
	tests := []struct {
		name string
		tok  *oauth2.Token
		ok   bool
	}{
		{"bearer", &oauth2.Token{AccessToken: "ya29.a0-_~+/=", TokenType: "Bearer", RefreshToken: "1//0g"}, true},
		{"no type", &oauth2.Token{AccessToken: "abc"}, true},
		{"VSCHAR includes space", &oauth2.Token{AccessToken: "a b"}, true},
		{"nil", nil, false},
		{"empty", &oauth2.Token{}, false},
		{"DPoP", &oauth2.Token{AccessToken: "abc", TokenType: "DPoP"}, false},
		{"terminal escape in access token", &oauth2.Token{AccessToken: "abc\x1b]0;pwned\x07\x1b[2J"}, false},
		{"newline in access token", &oauth2.Token{AccessToken: "abc\nexport X=1"}, false},
		{"DEL", &oauth2.Token{AccessToken: "abc\x7f"}, false},
		{"non-ASCII", &oauth2.Token{AccessToken: "abc\u202e"}, false},
		{"escape in refresh token", &oauth2.Token{AccessToken: "abc", RefreshToken: "r\x1b[2J"}, false},
	}
	for _, tt := range tests {
		err := CheckToken(tt.tok)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok %t", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrTokenResponse) {
			t.Errorf("%s: %v is not ErrTokenResponse", tt.name, err)
		}
	}
}
