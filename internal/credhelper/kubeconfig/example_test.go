package kubeconfig_test

import (
	"fmt"

	"github.com/authcli/authcli/internal/credhelper/kubeconfig"
)

func ExampleEdit() {
	existing := []byte(`apiVersion: v1
kind: Config
users:
- name: admin
  user:
    token: static # kept as it is
`)
	u := kubeconfig.User{
		Name: "authcli-corp", APIVersion: "client.authentication.k8s.io/v1", Command: "authcli",
		Args: []string{"token", "corp", "--format", "exec-credential"}, InteractiveMode: "IfAvailable",
	}
	out, change, err := kubeconfig.Edit(existing, u)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(change, "\n", string(out))
	_, again, _ := kubeconfig.Edit(out, u)
	fmt.Println(again)
	// Output:
	// added
	// apiVersion: v1
	// kind: Config
	// users:
	// - name: admin
	//   user:
	//     token: static # kept as it is
	// - name: authcli-corp
	//   user:
	//     exec:
	//       apiVersion: client.authentication.k8s.io/v1
	//       command: authcli
	//       args:
	//       - token
	//       - corp
	//       - --format
	//       - exec-credential
	//       interactiveMode: IfAvailable
	//       provideClusterInfo: false
	// unchanged
}
