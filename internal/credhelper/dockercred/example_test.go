package dockercred_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/authcli/authcli/internal/credhelper"
	"github.com/authcli/authcli/internal/credhelper/dockercred"
)

func ExampleHelper_Serve() {
	h := &dockercred.Helper{
		Routes: credhelper.Routes{"registry.corp.example": {Host: "registry.corp.example", Provider: "corp", Username: "oauth2"}},
		Tokens: func(context.Context, credhelper.Route) (credhelper.Token, error) {
			return credhelper.Token{Value: "at-example"}, nil
		},
	}
	_ = h.Serve(context.Background(), "get", strings.NewReader("https://registry.corp.example/v2/"), os.Stdout)
	err := h.Serve(context.Background(), "get", strings.NewReader("index.docker.io"), os.Stdout)
	fmt.Println(err == dockercred.ErrCredentialsNotFound)
	// Output:
	// {"ServerURL":"https://registry.corp.example/v2/","Username":"oauth2","Secret":"at-example"}
	// credentials not found in native keychain
	// true
}
