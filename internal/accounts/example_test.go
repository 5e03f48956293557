package accounts_test

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/authcli/authcli/internal/accounts"
)

// A first sign-in creates an account; a second provider asserting the same
// verified email is not merged but needs an explicit link, which the user
// then confirms.
func ExampleState_Resolve() {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	st := &accounts.State{Version: accounts.SchemaVersion}

	google := accounts.SignIn{
		Provider:           "google",
		Profile:            accounts.Profile{Subject: "1098", Email: "alice@example.com", EmailVerified: true},
		TrustEmailVerified: true,
	}
	r := st.Resolve(google)
	fmt.Println(r.Outcome, r.Account)
	if err := st.Apply(google, r, now); err != nil {
		fmt.Println(err)
	}

	corp := accounts.SignIn{
		Provider:           "corp",
		Profile:            accounts.Profile{Subject: "a.example", Email: "Alice@Example.com", EmailVerified: true},
		TrustEmailVerified: true,
	}
	r = st.Resolve(corp)
	fmt.Println(r.Outcome, r.Account)
	if err := st.Apply(corp, r, now); errors.Is(err, accounts.ErrNeedsLink) {
		fmt.Println(err)
	}
	if err := st.Link(corp, r.Candidate, now); err != nil {
		fmt.Println(err)
	}

	r = st.Resolve(google)
	fmt.Println(r.Outcome, r.Account)
	acc, id, _ := st.Find("corp", "")
	fmt.Println(acc.Name, len(acc.Identities), id.Key(), st.Default)
	// Output:
	// created alice
	// needs_link alice
	// the corp identity has the same verified email as account alice; to add it there run: authcli link corp --account alice
	// known alice
	// alice 2 corp/a.example alice
}

// Store.Update runs the decision and the change under the store's lock, so
// a concurrent sign-in cannot slip in between.
func ExampleStore_Update() {
	dir, err := os.MkdirTemp("", "authcli-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	in := accounts.SignIn{Provider: "github", Profile: accounts.Profile{Subject: "583231", Email: "octo@example.com"}}
	var r accounts.Resolution
	err = accounts.OpenStore(dir).Update(func(st *accounts.State) error {
		r = st.Resolve(in)
		return st.Apply(in, r, time.Now())
	})
	fmt.Println(r.Outcome, r.Account, err)
	// Output:
	// created octo <nil>
}
