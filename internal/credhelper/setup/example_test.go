package setup_test

import (
	"fmt"

	"github.com/authcli/authcli/internal/credhelper/setup"
)

func ExampleDockerConfig() {
	out, change, _ := setup.DockerConfig([]byte(`{"auths":{},"credsStore":"desktop"}`), "registry.corp.example", "authcli")
	fmt.Print(change, "\n", string(out))
	// Output:
	// added
	// {
	// 	"auths": {},
	// 	"credsStore": "desktop",
	// 	"credHelpers": {
	// 		"registry.corp.example": "authcli"
	// 	}
	// }
}
