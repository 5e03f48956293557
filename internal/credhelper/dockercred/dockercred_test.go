package dockercred

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/authcli/authcli/internal/credhelper"
)

var errSignIn = errors.New("no corp identity is signed in; sign in with: authcli login corp")

func newHelper(calls *int) *Helper {
	return &Helper{
		Routes: credhelper.Routes{
			"registry.corp.example": {Host: "registry.corp.example", Provider: "corp", Username: "oauth2"},
			"127.0.0.1:5000":        {Host: "127.0.0.1:5000", Provider: "local", Username: "authcli"},
			"gone.example":          {Host: "gone.example", Provider: "gone", Username: "u"},
		},
		Tokens: func(_ context.Context, r credhelper.Route) (credhelper.Token, error) {
			*calls++
			if r.Provider == "gone" {
				return credhelper.Token{}, errSignIn
			}
			return credhelper.Token{Value: "tok-" + r.Provider}, nil
		},
		Version: "v1.2.3",
	}
}

func TestServe(t *testing.T) {
	tests := []struct {
		name, action, in, want string
		calls                  int
		err                    error
	}{
		{"get", "get", "registry.corp.example\n", `{"ServerURL":"registry.corp.example","Username":"oauth2","Secret":"tok-corp"}` + "\n", 1, nil},
		{"get by URL", "get", "https://Registry.Corp.Example/v2/", `{"ServerURL":"https://Registry.Corp.Example/v2/","Username":"oauth2","Secret":"tok-corp"}` + "\n", 1, nil},
		{"get default port", "get", "registry.corp.example:443", `{"ServerURL":"registry.corp.example:443","Username":"oauth2","Secret":"tok-corp"}` + "\n", 1, nil},
		{"get with port", "get", "127.0.0.1:5000", `{"ServerURL":"127.0.0.1:5000","Username":"authcli","Secret":"tok-local"}` + "\n", 1, nil},
		{"unknown registry", "get", "index.docker.io\n", "credentials not found in native keychain\n", 0, ErrCredentialsNotFound},
		{"other port", "get", "registry.corp.example:5000", "credentials not found in native keychain\n", 0, ErrCredentialsNotFound},
		{"signed out", "get", "gone.example", errSignIn.Error() + "\n", 1, errSignIn},
		{"empty input", "get", "\n", "malformed docker credential input: expected one server URL\n", 0, ErrMalformed},
		{"two lines", "get", "a\nb\n", "malformed docker credential input: expected one server URL\n", 0, ErrMalformed},
		{"store ours", "store", `{"ServerURL":"registry.corp.example","Username":"u","Secret":"s"}`, "authcli does not keep registry passwords: registry.corp.example gets its token from authcli's sign-in, so docker login is not needed for it\n", 0, ErrNotStored},
		{"store bad json", "store", `{`, "malformed docker credential input: store takes a JSON credential with a ServerURL\n", 0, ErrMalformed},
		{"erase ours", "erase", "registry.corp.example", "", 0, nil},
		{"erase unknown", "erase", "index.docker.io", "credentials not found in native keychain\n", 0, ErrCredentialsNotFound},
		{"list", "list", "", `{"127.0.0.1:5000":"authcli","gone.example":"u","registry.corp.example":"oauth2"}` + "\n", 0, nil},
		{"version", "version", "", "docker-credential-authcli (authcli) v1.2.3\n", 0, nil},
		{"unknown action", "approve", "", `unknown docker credential action "approve" (one of get, store, erase, list, version)` + "\n", 0, ErrUnknownAction},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls int
			var out bytes.Buffer
			err := newHelper(&calls).Serve(context.Background(), tt.action, strings.NewReader(tt.in), &out)
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if out.String() != tt.want {
				t.Errorf("stdout\n%q\nwant\n%q", out.String(), tt.want)
			}
			if calls != tt.calls {
				t.Errorf("%d token calls, want %d", calls, tt.calls)
			}
		})
	}
}

func TestHost(t *testing.T) {
	for in, want := range map[string]string{
		"ghcr.io":                     "ghcr.io",
		"https://index.docker.io/v1/": "index.docker.io",
		"http://localhost:5000":       "localhost:5000",
		"Registry:5000/v2/":           "registry:5000",
		"ftp://x":                     "",
		"https://u:p@host":            "",
		"":                            "",
	} {
		got, err := Host(in)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("Host(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func FuzzServe(f *testing.F) {
	for _, s := range []string{"registry.corp.example", "https://x/v2/", `{"ServerURL":"a","Username":"b","Secret":"c"}`, "\x00", "a\nb"} {
		f.Add("get", s)
		f.Add("store", s)
	}
	f.Fuzz(func(t *testing.T, action, in string) {
		var calls int
		var out bytes.Buffer
		err := newHelper(&calls).Serve(context.Background(), action, strings.NewReader(in), &out)
		if err != nil {
			// Errors are one line of text on stdout, never a token.
			if s := out.String(); strings.Count(s, "\n") != 1 || strings.Contains(s, "tok-") {
				t.Fatalf("error output %q", s)
			}
			return
		}
		if calls > 1 {
			t.Fatalf("%d token calls for one action", calls)
		}
	})
}
