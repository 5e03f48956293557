package oidctest_test

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/authcli/authcli/internal/oidctest"
)

// Example breaks one rule: the discovery document names another issuer,
// which a client must refuse.
func Example() {
	op := oidctest.Start()
	defer op.Close()
	op.DiscoveryIssuer = "https://evil.example"

	resp, err := http.Get(op.Issuer() + "/.well-known/openid-configuration")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var doc struct {
		Issuer string `json:"issuer"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(doc.Issuer)
	// Output: https://evil.example
}
