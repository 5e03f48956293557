package flow_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"regexp"
	"time"

	"github.com/authcli/authcli/internal/devidp"
	"github.com/authcli/authcli/internal/flow"
)

// ExampleDevice signs in with the device grant against the embedded
// provider. A person would read the code on stderr and approve it on another
// device; here the injected Sleep plays that person before the first poll.
func ExampleDevice() {
	idp, err := devidp.Start(devidp.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()

	var prompt bytes.Buffer
	userCode := regexp.MustCompile(`(?m)^    ([A-Z]{4}-[A-Z]{4})$`)
	d := &flow.Device{
		Provider: flow.Provider{Name: "demo", Issuer: idp.Issuer(), ClientID: devidp.DemoClientID},
		Stderr:   &prompt,
		Sleep: func(ctx context.Context, _ time.Duration) error {
			m := userCode.FindStringSubmatch(prompt.String())
			if m == nil {
				return fmt.Errorf("no user code in the prompt")
			}
			return idp.ApproveDevice(m[1], "ada@example.com")
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := d.Run(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Profile.Subject, res.Profile.Email, res.Profile.EmailVerified)
	// Output: ada ada@example.com true
}
