package accounts

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// SignIn is a finished sign-in as the CLI hands it over: who signed in,
// whether the provider may be trusted for email_verified, and what the
// tokens (stored in the vault by the caller) look like.
type SignIn struct {
	Provider           string
	Profile            Profile
	TrustEmailVerified bool // the provider's trust_email_verified config
	Scopes             []string
	TokenExpiry        time.Time
	Refreshable        bool
	Account            string // --account, may be ""
}

func (in SignIn) validate() error {
	if err := validateID("provider", in.Provider); err != nil {
		return err
	}
	return validateID("subject", in.Profile.Subject)
}

// Outcome is what a sign-in means for the accounts (CLI.md "Sign-in outcomes").
type Outcome int

// The outcomes. Resolve returns Known, Created or NeedsLink; Linked is what
// the CLI reports after an explicit Link.
const (
	Known     Outcome = iota + 1 // (provider, subject) already linked: refresh its metadata
	Created                      // new identity, new account
	NeedsLink                    // new identity that must be confirmed onto an existing account
	Linked                       // new identity attached by Link
)

// String returns the outcome as a lower-case word for logs and JSON.
func (o Outcome) String() string {
	switch o {
	case Known:
		return "known"
	case Created:
		return "created"
	case NeedsLink:
		return "needs_link"
	case Linked:
		return "linked"
	default:
		return fmt.Sprintf("outcome(%d)", int(o))
	}
}

// Resolution is Resolve's decision.
//
// Account is the account concerned: the owner for Known, the name the new
// account will get for Created, the account the identity would join for
// NeedsLink. Candidate is the account whose identity's email matched (the
// default account when several did, else the first), empty when no email
// matched; Candidates lists every matching account.
type Resolution struct {
	Outcome    Outcome
	Account    string
	Candidate  string
	Candidates []string
}

// Resolve decides what a sign-in means without changing the state:
//
//   - Known when (provider, subject) is on an account. in.Account is ignored;
//     Account names the owner so the CLI can say so if it differs.
//   - NeedsLink when the identity is new and in.Account names an existing
//     account (`login --account alice` never joins alice silently), or when
//     the email matches an identity of an existing account and both
//     Profile.EmailVerified and TrustEmailVerified are true. With
//     in.Account naming an existing account, Account is that account even if
//     the email matched another one (reported in Candidate).
//   - Created otherwise, with the new account's name: in.Account, else the
//     sanitised email local part, else PROVIDER-SUBJECT, made unique with
//     -2, -3, … An unverified or untrusted email never suggests a link.
func (st *State) Resolve(in SignIn) Resolution {
	if a, _, ok := st.owner(in.Provider, in.Profile.Subject); ok {
		return Resolution{Outcome: Known, Account: st.Accounts[a].Name}
	}
	var matched []string
	if in.Profile.EmailVerified && in.TrustEmailVerified && in.Profile.Email != "" {
		matched = st.accountsWithEmail(in.Profile.Email)
	}
	candidate := ""
	if len(matched) > 0 {
		candidate = matched[0]
		if slices.Contains(matched, st.Default) {
			candidate = st.Default
		}
	}
	if in.Account != "" && st.index(in.Account) >= 0 {
		return Resolution{Outcome: NeedsLink, Account: in.Account, Candidate: candidate, Candidates: matched}
	}
	if candidate != "" && in.Account == "" {
		return Resolution{Outcome: NeedsLink, Account: candidate, Candidate: candidate, Candidates: matched}
	}
	// A new account named explicitly wins over an email match: the user
	// asked for a separate account, so nothing is merged.
	name := in.Account
	if name == "" {
		name = st.uniqueName(baseName(in.Provider, in.Profile))
	}
	return Resolution{Outcome: Created, Account: name, Candidate: candidate, Candidates: matched}
}

// Apply carries out a Known or Created resolution. It resolves again first
// and returns ErrChanged if the state moved underneath (call Resolve and Apply
// inside one Store.Update to avoid that). NeedsLink is refused with
// ErrNeedsLink: linking takes confirmation and then Link.
//
// Known refreshes the identity's metadata (non-empty profile fields, scopes
// when given, expiry, refreshable, last used) and clears NeedsSignIn;
// nothing else changes. Created adds the account holding the identity and
// makes it the default when it is the first.
func (st *State) Apply(in SignIn, r Resolution, now time.Time) error {
	if err := in.validate(); err != nil {
		return err
	}
	now = now.UTC()
	switch r.Outcome {
	case Known, Created:
	case NeedsLink:
		return needsLinkError(in, r)
	default:
		return fmt.Errorf("apply sign-in: outcome %v cannot be applied; use Link", r.Outcome)
	}
	fresh := st.Resolve(in)
	if fresh.Outcome != r.Outcome || fresh.Account != r.Account {
		return errorf(ErrChanged, "accounts changed while signing in to %s (expected %v %q, now %v %q); try again",
			in.Provider, r.Outcome, r.Account, fresh.Outcome, fresh.Account)
	}
	if r.Outcome == Known {
		a, i, _ := st.owner(in.Provider, in.Profile.Subject)
		refresh(&st.Accounts[a].Identities[i], in, now)
		return nil
	}
	if err := ValidateName(r.Account); err != nil {
		return err
	}
	st.Accounts = append(st.Accounts, Account{
		Name:       r.Account,
		Identities: []Identity{newIdentity(in, now)},
		CreatedAt:  now,
	})
	if st.Default == "" {
		st.Default = r.Account
	}
	return nil
}

func needsLinkError(in SignIn, r Resolution) error {
	if r.Candidate != "" && r.Candidate == r.Account {
		return errorf(ErrNeedsLink,
			"the %s identity has the same verified email as account %s; to add it there run: authcli link %s --account %s",
			in.Provider, r.Account, in.Provider, r.Account)
	}
	return errorf(ErrNeedsLink,
		"the %s identity is new and account %s already exists; to add it there run: authcli link %s --account %s",
		in.Provider, r.Account, in.Provider, r.Account)
}

// Link attaches the signed-in identity to an existing account after the user
// confirmed it. It refuses an identity that is on another account
// (ErrLinkedElsewhere, naming that account); linking one already on the
// account just refreshes its metadata.
func (st *State) Link(in SignIn, account string, now time.Time) error {
	if err := in.validate(); err != nil {
		return err
	}
	now = now.UTC()
	target := st.index(account)
	if target < 0 {
		return errorf(ErrNoAccount, "there is no account %q; run authcli status to see the accounts", account)
	}
	if a, i, ok := st.owner(in.Provider, in.Profile.Subject); ok {
		if a != target {
			return errorf(ErrLinkedElsewhere,
				"the %s identity %s is already linked to account %s; unlink it there first",
				in.Provider, in.Profile.Subject, st.Accounts[a].Name)
		}
		refresh(&st.Accounts[a].Identities[i], in, now)
		return nil
	}
	st.Accounts[target].Identities = append(st.Accounts[target].Identities, newIdentity(in, now))
	return nil
}

// Unlink removes one identity and returns it so the caller can revoke and
// delete its tokens. With account "" every account is searched; with subject
// "" every identity of the provider matches. More than one match is an
// *AmbiguousError; removing an account's only identity is ErrLastIdentity.
func (st *State) Unlink(account, provider, subject string) (Identity, error) {
	if account != "" && st.index(account) < 0 {
		return Identity{}, errorf(ErrNoAccount, "there is no account %q; run authcli status to see the accounts", account)
	}
	var hits []ref
	for _, r := range st.refs() {
		id := st.at(r)
		if id.Provider != provider || subject != "" && id.Subject != subject {
			continue
		}
		if account != "" && st.Accounts[r.a].Name != account {
			continue
		}
		hits = append(hits, r)
	}
	what := describe(provider, subject, account)
	switch len(hits) {
	case 0:
		return Identity{}, errorf(ErrNotFound, "no %s is linked; run authcli status to see the identities", what)
	case 1:
	default:
		return Identity{}, st.ambiguous(what, "choose one with --subject or --account", hits)
	}
	h := hits[0]
	acc := &st.Accounts[h.a]
	id := acc.Identities[h.i]
	if len(acc.Identities) == 1 {
		return Identity{}, errorf(ErrLastIdentity,
			"%s is the only way to sign in to account %s; link another provider first or use logout",
			identityLabel(id), acc.Name)
	}
	acc.Identities = slices.Delete(acc.Identities, h.i, h.i+1)
	return id, nil
}

// Find picks the identity `token` and `logout` act on: with account set, that
// account's identity of the provider; otherwise the default account's, and
// failing that the only identity of the provider on any account. Provider ""
// matches every provider. No match is ErrNotFound (or ErrNoAccount), several
// an *AmbiguousError listing them.
func (st *State) Find(provider, account string) (Account, Identity, error) {
	return st.FindSubject(provider, account, "")
}

// FindSubject is Find narrowed to one subject when subject is not "": the
// way to choose among several identities of one provider on one account.
func (st *State) FindSubject(provider, account, subject string) (Account, Identity, error) {
	match := func(id Identity) bool {
		return (provider == "" || id.Provider == provider) && (subject == "" || id.Subject == subject)
	}
	what := describe(provider, subject, account)
	notFound := errorf(ErrNotFound, "no %s is linked; sign in with %s", what,
		strings.TrimSpace("authcli login "+provider))
	pick := func(hits []ref) (Account, Identity, error) {
		if len(hits) > 1 {
			// Name the flag that can still tell them apart.
			hint := "choose one with --account or --subject"
			if account != "" || sameAccount(hits) {
				hint = "choose one with --subject"
			}
			return Account{}, Identity{}, st.ambiguous(what, hint, hits)
		}
		h := hits[0]
		return cloneAccount(st.Accounts[h.a]), cloneIdentity(st.Accounts[h.a].Identities[h.i]), nil
	}
	if account != "" {
		a := st.index(account)
		if a < 0 {
			return Account{}, Identity{}, errorf(ErrNoAccount, "there is no account %q; run authcli status to see the accounts", account)
		}
		hits := st.refsIn(a, match)
		if len(hits) == 0 {
			return Account{}, Identity{}, notFound
		}
		return pick(hits)
	}
	if d := st.index(st.Default); d >= 0 {
		if hits := st.refsIn(d, match); len(hits) > 0 {
			return pick(hits)
		}
	}
	var hits []ref
	for a := range st.Accounts {
		hits = append(hits, st.refsIn(a, match)...)
	}
	if len(hits) == 0 {
		return Account{}, Identity{}, notFound
	}
	return pick(hits)
}

// RemoveAccount deletes an account and returns it so the caller can delete
// its identities' tokens. When it was the default, the first remaining
// account becomes the default.
func (st *State) RemoveAccount(name string) (Account, error) {
	a := st.index(name)
	if a < 0 {
		return Account{}, errorf(ErrNoAccount, "there is no account %q; run authcli status to see the accounts", name)
	}
	removed := st.Accounts[a]
	st.Accounts = slices.Delete(st.Accounts, a, a+1)
	if st.Default == name {
		st.Default = ""
		if len(st.Accounts) > 0 {
			st.Default = st.Accounts[0].Name
		}
	}
	return removed, nil
}

// SetDefault makes name the default account.
func (st *State) SetDefault(name string) error {
	if st.index(name) < 0 {
		return errorf(ErrNoAccount, "there is no account %q; run authcli status to see the accounts", name)
	}
	st.Default = name
	return nil
}

// MarkNeedsSignIn records that the provider rejected the identity's refresh
// token (or its tokens were logged out): status shows needs_sign_in until
// the next sign-in. The account is kept.
func (st *State) MarkNeedsSignIn(provider, subject string) error {
	a, i, ok := st.owner(provider, subject)
	if !ok {
		return errorf(ErrNotFound, "no %s is linked", describe(provider, subject, ""))
	}
	// No usable token is left: status must not show an old expiry or a
	// refresh that cannot happen.
	id := &st.Accounts[a].Identities[i]
	id.NeedsSignIn, id.Refreshable, id.TokenExpiry = true, false, time.Time{}
	return nil
}

// RecordRefresh notes a successful token refresh so status shows the new
// expiry; scopes are replaced only when the provider returned some.
func (st *State) RecordRefresh(provider, subject string, expiry time.Time, refreshable bool, scopes []string, now time.Time) error {
	a, i, ok := st.owner(provider, subject)
	if !ok {
		return errorf(ErrNotFound, "no %s is linked", describe(provider, subject, ""))
	}
	id := &st.Accounts[a].Identities[i]
	id.TokenExpiry = expiry.UTC()
	id.Refreshable = refreshable
	if len(scopes) > 0 {
		id.Scopes = slices.Clone(scopes)
	}
	id.LastUsedAt = now.UTC()
	id.NeedsSignIn = false
	return nil
}

// Account returns a copy of the named account.
func (st *State) Account(name string) (Account, bool) {
	a := st.index(name)
	if a < 0 {
		return Account{}, false
	}
	return cloneAccount(st.Accounts[a]), true
}

// Owner returns a copy of the account holding (provider, subject) and the identity.
func (st *State) Owner(provider, subject string) (Account, Identity, bool) {
	a, i, ok := st.owner(provider, subject)
	if !ok {
		return Account{}, Identity{}, false
	}
	return cloneAccount(st.Accounts[a]), cloneIdentity(st.Accounts[a].Identities[i]), true
}

// ref locates an identity inside the state.
type ref struct{ a, i int }

func (st *State) at(r ref) Identity { return st.Accounts[r.a].Identities[r.i] }

func (st *State) refs() []ref {
	var out []ref
	for a := range st.Accounts {
		out = append(out, st.refsIn(a, func(Identity) bool { return true })...)
	}
	return out
}

func (st *State) refsIn(a int, match func(Identity) bool) []ref {
	var out []ref
	for i, id := range st.Accounts[a].Identities {
		if match(id) {
			out = append(out, ref{a, i})
		}
	}
	return out
}

func sameAccount(hits []ref) bool {
	for _, h := range hits {
		if h.a != hits[0].a {
			return false
		}
	}
	return true
}

func (st *State) ambiguous(what, hint string, hits []ref) error {
	e := &AmbiguousError{What: what, Hint: hint}
	for _, h := range hits {
		e.Candidates = append(e.Candidates, st.Accounts[h.a].Name+"/"+st.at(h).Key())
	}
	return e
}

func (st *State) index(name string) int {
	if name == "" {
		return -1
	}
	return slices.IndexFunc(st.Accounts, func(a Account) bool { return a.Name == name })
}

func (st *State) owner(provider, subject string) (a, i int, ok bool) {
	for a, acc := range st.Accounts {
		for i, id := range acc.Identities {
			if id.Provider == provider && id.Subject == subject {
				return a, i, true
			}
		}
	}
	return 0, 0, false
}

// accountsWithEmail lists, in store order, the accounts holding an identity
// whose email equals email ignoring case.
func (st *State) accountsWithEmail(email string) []string {
	var out []string
	for _, acc := range st.Accounts {
		if slices.ContainsFunc(acc.Identities, func(id Identity) bool {
			return id.Email != "" && strings.EqualFold(id.Email, email)
		}) {
			out = append(out, acc.Name)
		}
	}
	return out
}

// uniqueName returns base, or base-2, base-3, … whichever is free. The loop
// ends because at most len(Accounts) names are taken.
func (st *State) uniqueName(base string) string {
	return uniqueName(base, func(name string) bool { return st.index(name) >= 0 })
}

// uniqueName is State.uniqueName with the names taken as taken says; it
// ends when taken holds finitely many names.
func uniqueName(base string, taken func(string) bool) string {
	if !taken(base) {
		return base
	}
	for n := 2; ; n++ {
		suffix := fmt.Sprintf("-%d", n)
		name := strings.TrimRight(truncate(base, maxNameLen-len(suffix)), "-._") + suffix
		if !taken(name) {
			return name
		}
	}
}

// baseName derives a new account's name from the email's local part, else
// from PROVIDER-SUBJECT, sanitised to satisfy ValidateName.
func baseName(provider string, p Profile) string {
	if at := strings.LastIndexByte(p.Email, '@'); at > 0 {
		if name := sanitize(p.Email[:at]); name != "" {
			return name
		}
	}
	if name := sanitize(provider + "-" + p.Subject); name != "" {
		return name
	}
	return "account"
}

// sanitize lower-cases s, turns every run of other characters into one '-',
// and trims it to a valid account name (possibly empty).
func sanitize(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_':
			b.WriteRune(r)
			dash = false
		default:
			if !dash {
				b.WriteByte('-')
				dash = true
			}
		}
		if b.Len() > maxNameLen {
			break
		}
	}
	out := strings.TrimLeft(b.String(), "-._")
	return strings.TrimRight(truncate(out, maxNameLen), "-._")
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func newIdentity(in SignIn, now time.Time) Identity {
	p := in.Profile
	return Identity{
		Provider:      in.Provider,
		Subject:       p.Subject,
		Email:         boundedLine(p.Email, MaxEmailBytes),
		EmailVerified: p.EmailVerified,
		Name:          displayName(p.Name),
		AvatarURL:     boundedLine(p.AvatarURL, MaxAvatarURLBytes),
		LinkedAt:      now,
		LastUsedAt:    now,
		Scopes:        slices.Clone(in.Scopes),
		TokenExpiry:   in.TokenExpiry.UTC(),
		Refreshable:   in.Refreshable,
		Claims:        capClaims(p.Claims),
	}
}

// refresh updates a known identity after a new sign-in. Empty profile fields
// keep the stored values (a provider may omit them on later sign-ins).
func refresh(id *Identity, in SignIn, now time.Time) {
	p := in.Profile
	if p.Email != "" {
		id.Email, id.EmailVerified = boundedLine(p.Email, MaxEmailBytes), p.EmailVerified
	}
	if p.Name != "" {
		id.Name = displayName(p.Name)
	}
	if p.AvatarURL != "" {
		id.AvatarURL = boundedLine(p.AvatarURL, MaxAvatarURLBytes)
	}
	if p.Claims != nil {
		id.Claims = capClaims(p.Claims)
	}
	if len(in.Scopes) > 0 {
		id.Scopes = slices.Clone(in.Scopes)
	}
	id.TokenExpiry = in.TokenExpiry.UTC()
	id.Refreshable = in.Refreshable
	id.LastUsedAt = now
	id.NeedsSignIn = false
}

func cloneIdentity(id Identity) Identity {
	id.Scopes = slices.Clone(id.Scopes)
	id.Claims = maps.Clone(id.Claims)
	return id
}

func cloneAccount(a Account) Account {
	ids := make([]Identity, len(a.Identities))
	for i, id := range a.Identities {
		ids[i] = cloneIdentity(id)
	}
	a.Identities = ids
	return a
}

// Clone returns a deep copy, for callers that want to compare or roll back.
func (st *State) Clone() *State {
	c := &State{Version: st.Version, Default: st.Default}
	for _, a := range st.Accounts {
		c.Accounts = append(c.Accounts, cloneAccount(a))
	}
	return c
}

func describe(provider, subject, account string) string {
	s := "identity"
	if provider != "" {
		s = provider + " identity"
	}
	if subject != "" {
		s += " " + subject
	}
	if account != "" {
		s += " on account " + account
	}
	return s
}

func identityLabel(id Identity) string {
	if id.Email != "" {
		return fmt.Sprintf("the %s identity %s (%s)", id.Provider, id.Subject, id.Email)
	}
	return fmt.Sprintf("the %s identity %s", id.Provider, id.Subject)
}
