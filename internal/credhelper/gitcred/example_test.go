package gitcred_test

import (
	"context"
	"os"
	"strings"
	"time"

	"github.com/authcli/authcli/internal/credhelper"
	"github.com/authcli/authcli/internal/credhelper/gitcred"
)

func ExampleHelper_Serve() {
	h := &gitcred.Helper{
		Routes: credhelper.Routes{"github.com": {Host: "github.com", Provider: "github", Username: "x-access-token"}},
		Tokens: func(context.Context, credhelper.Route) (credhelper.Token, error) {
			return credhelper.Token{Value: "gho_example", Expiry: time.Unix(1900000000, 0)}, nil
		},
	}
	// What git writes on the helper's stdin for https://github.com/org/repo.git.
	in := "protocol=https\nhost=github.com\n\n"
	_ = h.Serve(context.Background(), "get", strings.NewReader(in), os.Stdout)
	// Another host: no answer, so git asks its next helper.
	_ = h.Serve(context.Background(), "get", strings.NewReader("protocol=https\nhost=gitlab.com\n"), os.Stdout)
	// Output:
	// username=x-access-token
	// password=gho_example
	// password_expiry_utc=1900000000
}
