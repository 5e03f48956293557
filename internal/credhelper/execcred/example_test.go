package execcred_test

import (
	"fmt"
	"os"
	"time"

	"github.com/authcli/authcli/internal/credhelper"
	"github.com/authcli/authcli/internal/credhelper/execcred"
)

func ExampleWrite() {
	// What kubectl puts in $KUBERNETES_EXEC_INFO for a v1beta1 plugin.
	info, err := execcred.ParseInfo(`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":false}}`, false)
	if err != nil {
		fmt.Println(err)
		return
	}
	tok := credhelper.Token{Value: "eyJ.example", Expiry: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	_ = execcred.Write(os.Stdout, info, tok)
	// Output:
	// {"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{},"status":{"token":"eyJ.example","expirationTimestamp":"2026-12-01T12:00:00Z"}}
}
