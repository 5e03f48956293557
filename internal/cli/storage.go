package cli

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/termtext"
	"github.com/authcli/authcli/internal/tokens"
	"github.com/authcli/authcli/internal/vault"
)

// vaultError gives vault failures CLI.md's exit code 5 and a way out.
func vaultError(err error) error {
	if e := agentError(err); e != nil {
		return e
	}
	switch {
	case errors.Is(err, vault.ErrUnavailable):
		return &exitError{code: ExitVault, err: err, msg: "the OS keyring is unavailable or locked (" + trimVault(err) +
			"); unlock it, or use the encrypted file vault instead: export AUTHCLI_VAULT=file and AUTHCLI_VAULT_KEY=\"$(head -c 32 /dev/urandom | base64)\" (keep that key safe)"}
	case errors.Is(err, vault.ErrNoKey):
		return &exitError{code: ExitVault, err: err, msg: "the file vault is locked: set AUTHCLI_VAULT_KEY (base64 of 32 random bytes) or AUTHCLI_VAULT_PASSPHRASE"}
	case errors.Is(err, vault.ErrDecrypt):
		return &exitError{code: ExitVault, err: err, msg: "the file vault cannot be opened: the key or passphrase is wrong, or the file was damaged; check AUTHCLI_VAULT_KEY or AUTHCLI_VAULT_PASSPHRASE"}
	case errors.Is(err, vault.ErrPermissions):
		return &exitError{code: ExitVault, err: err, msg: trimVault(err) + "; make the vault readable by you only (chmod 600 the file, 700 its directory)"}
	case errors.Is(err, vault.ErrInvalidConfig):
		return &exitError{code: ExitUsage, err: err, msg: trimVault(err)}
	}
	return &exitError{code: ExitVault, err: err, msg: "the token vault failed: " + trimVault(err)}
}

func trimVault(err error) string {
	return strings.ReplaceAll(sentence(err), "vault: ", "")
}

// confirmLink asks on the terminal (CLI.md outcome 3); --yes answers for
// the person; without a terminal nobody can answer, so it is a no.
func confirmLink(env *Env, g *globalOptions) tokens.Confirm {
	return func(in accounts.SignIn, r accounts.Resolution) (bool, error) {
		if g.Yes {
			return true, nil
		}
		if !env.InTTY || !env.ErrTTY {
			return false, nil
		}
		who := in.Profile.Email
		if who == "" {
			who = in.Profile.Subject
		}
		fmt.Fprintf(env.Err, "The %s identity %s is new, and account %s matches it", in.Provider, termtext.Line(who), r.Account)
		if r.Candidate == r.Account {
			fmt.Fprint(env.Err, " by its verified email")
		}
		fmt.Fprintf(env.Err, ".\nLink it to account %s? [y/N] ", r.Account)
		line, err := bufio.NewReader(env.In).ReadString('\n')
		if err != nil && line == "" {
			return false, nil
		}
		answer := strings.ToLower(strings.TrimSpace(line))
		return answer == "y" || answer == "yes", nil
	}
}

// describeOutcome tells the person what the sign-in did to their accounts.
func describeOutcome(r accounts.Resolution, provider string, st *accounts.State) string {
	switch r.Outcome {
	case accounts.Known:
		return fmt.Sprintf("Updated the tokens of this %s identity on account %s.", provider, r.Account)
	case accounts.Created:
		s := fmt.Sprintf("Created account %s with this %s identity", r.Account, provider)
		if st != nil && st.Default == r.Account {
			s += "; it is the default account"
		}
		return s + "."
	case accounts.Linked:
		return fmt.Sprintf("Linked this %s identity to account %s.", provider, r.Account)
	}
	return ""
}

// warnRevocation reports a failed revocation; the local tokens are gone
// either way, so it is a warning, not a failure.
func warnRevocation(env *Env, err error) {
	if err == nil {
		return
	}
	for _, e := range unjoin(err) {
		fmt.Fprintf(env.Err, "authcli: warning: %s; the local tokens were deleted anyway.\n", sentence(e))
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
