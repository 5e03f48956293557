package gitcred

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authcli/authcli/internal/credhelper"
)

var errSignIn = errors.New("no corp identity is signed in; sign in with: authcli login corp")

func helper(calls *int, rejected *[]string) *Helper {
	exp := time.Unix(1900000000, 0)
	return &Helper{
		Routes: credhelper.Routes{
			"git.corp.example":   {Host: "git.corp.example", Provider: "corp", Username: "oauth2"},
			"127.0.0.1:8443":     {Host: "127.0.0.1:8443", Provider: "local", Username: "x-access-token"},
			"signed-out.example": {Host: "signed-out.example", Provider: "gone", Username: "oauth2"},
		},
		Tokens: func(_ context.Context, r credhelper.Route) (credhelper.Token, error) {
			*calls++
			if r.Provider == "gone" {
				return credhelper.Token{}, errSignIn
			}
			return credhelper.Token{Value: "tok-" + r.Provider, Expiry: exp}, nil
		},
		Rejected: func(_ context.Context, r credhelper.Route, tok credhelper.Token) error {
			*rejected = append(*rejected, r.Provider+":"+tok.Value)
			return nil
		},
	}
}

func TestServe(t *testing.T) {
	tests := []struct {
		name, action, in, want string
		tokenCalls             int
		rejected               string
		err                    error
	}{
		{"get", "get", "protocol=https\nhost=git.corp.example\npath=org/repo.git\n\n", "username=oauth2\npassword=tok-corp\npassword_expiry_utc=1900000000\n", 1, "", nil},
		{"get with port", "get", "protocol=https\nhost=127.0.0.1:8443\n", "username=x-access-token\npassword=tok-local\npassword_expiry_utc=1900000000\n", 1, "", nil},
		{"default port", "get", "protocol=https\nhost=GIT.corp.example:443\n", "username=oauth2\npassword=tok-corp\npassword_expiry_utc=1900000000\n", 1, "", nil},
		{"url form", "get", "url=https://git.corp.example/org/repo.git\n", "username=oauth2\npassword=tok-corp\npassword_expiry_utc=1900000000\n", 1, "", nil},
		{"unknown host", "get", "protocol=https\nhost=github.com\n", "", 0, "", nil},
		{"plain http", "get", "protocol=http\nhost=git.corp.example\n", "", 0, "", nil},
		{"someone else's username", "get", "protocol=https\nhost=git.corp.example\nusername=alice\n", "", 0, "", nil},
		{"bearer for a git that can", "get", "capability[]=authtype\nprotocol=https\nhost=git.corp.example\nwwwauth[]=Bearer realm=\"x\"\n", "capability[]=authtype\nauthtype=Bearer\ncredential=tok-corp\nephemeral=1\npassword_expiry_utc=1900000000\n", 1, "", nil},
		{"basic when offered", "get", "capability[]=authtype\nprotocol=https\nhost=git.corp.example\nwwwauth[]=Bearer\nwwwauth[]=Basic realm=\"x\"\n", "username=oauth2\npassword=tok-corp\npassword_expiry_utc=1900000000\n", 1, "", nil},
		{"cleared list", "get", "capability[]=authtype\ncapability[]=\nprotocol=https\nhost=git.corp.example\nwwwauth[]=Bearer\n", "username=oauth2\npassword=tok-corp\npassword_expiry_utc=1900000000\n", 1, "", nil},
		{"negotiate only", "get", "protocol=https\nhost=git.corp.example\nwwwauth[]=Negotiate\n", "", 0, "", nil},
		{"store changes nothing", "store", "protocol=https\nhost=git.corp.example\nusername=oauth2\npassword=other\n", "", 0, "", nil},
		{"erase of our token", "erase", "protocol=https\nhost=git.corp.example\nusername=oauth2\npassword=tok-corp\n", "", 1, "corp:tok-corp", nil},
		{"erase of another token", "erase", "protocol=https\nhost=git.corp.example\nusername=oauth2\npassword=typed-by-hand\n", "", 1, "", nil},
		{"erase, unknown host", "erase", "protocol=https\nhost=github.com\npassword=tok-corp\n", "", 0, "", nil},
		{"signed out", "get", "protocol=https\nhost=signed-out.example\n", "", 1, "", errSignIn},
		{"not key=value", "get", "protocol=https\nhost\n", "", 0, "", ErrMalformed},
		{"NUL", "get", "protocol=https\nhost=a\x00b\n", "", 0, "", ErrMalformed},
		{"a future action is ignored", "approve", "protocol=https\nhost=git.corp.example\n", "", 0, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls int
			var rejected []string
			var out bytes.Buffer
			err := helper(&calls, &rejected).Serve(context.Background(), tt.action, strings.NewReader(tt.in), &out)
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if out.String() != tt.want {
				t.Errorf("answer\n%q\nwant\n%q", out.String(), tt.want)
			}
			if calls != tt.tokenCalls {
				t.Errorf("%d token calls, want %d", calls, tt.tokenCalls)
			}
			if got := strings.Join(rejected, ","); got != tt.rejected {
				t.Errorf("rejected %q, want %q", got, tt.rejected)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	if _, err := Parse(strings.NewReader(strings.Repeat("x=y\n", maxLines+1))); !errors.Is(err, ErrMalformed) {
		t.Errorf("too many lines: %v", err)
	}
	if _, err := Parse(strings.NewReader("host=" + strings.Repeat("a", maxInput) + "\n")); !errors.Is(err, ErrMalformed) {
		t.Errorf("too long: %v", err)
	}
	// Input after the blank line is not part of the description.
	req, err := Parse(strings.NewReader("host=a\n\nhost=b\n"))
	if err != nil || req.Host != "a" {
		t.Errorf("stops at the blank line: %+v %v", req, err)
	}
}

func TestAnswerRefusesLineBreaks(t *testing.T) {
	var out bytes.Buffer
	if err := (Answer{Username: "u", Password: "a\nhost=evil"}).Write(&out); err == nil || out.Len() != 0 {
		t.Errorf("a token with a newline was written: %q %v", out.String(), err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"protocol=https\nhost=github.com\npath=a/b.git\nusername=x\npassword=y\n\n",
		"url=https://u:p@h:1/p\n",
		"capability[]=authtype\nwwwauth[]=Bearer realm=\"r\"\nwwwauth[]=\n",
		"host\n",
		"=\n",
		"a=b\r\n\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		req, err := Parse(strings.NewReader(in))
		if err != nil {
			return
		}
		// Whatever parsed, the answer for it is well formed.
		h := &Helper{
			Routes: credhelper.Routes{strings.ToLower(req.Host): {Username: "u"}},
			Tokens: func(context.Context, credhelper.Route) (credhelper.Token, error) {
				return credhelper.Token{Value: "t"}, nil
			},
		}
		var out bytes.Buffer
		if err := h.Serve(context.Background(), "get", strings.NewReader(in), &out); err != nil {
			t.Fatalf("Serve after a good Parse: %v", err)
		}
		for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
			if line != "" && !strings.Contains(line, "=") {
				t.Fatalf("answer line %q is not key=value", line)
			}
		}
	})
}
