package accounts

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func ident(provider, subject, email string) Identity {
	return Identity{Provider: provider, Subject: subject, Email: email, EmailVerified: true,
		LinkedAt: t0, LastUsedAt: t0, Scopes: []string{"openid"}}
}

// fixture: alice (default) holds google/g-alice and github/gh-alice; work
// holds corp/c-bob and github/gh-bob.
func fixture(t *testing.T) *State {
	t.Helper()
	st := &State{Version: SchemaVersion, Default: "alice", Accounts: []Account{
		{Name: "alice", CreatedAt: t0, Identities: []Identity{
			ident("google", "g-alice", "alice@example.com"),
			ident("github", "gh-alice", "alice@users.example"),
		}},
		{Name: "work", CreatedAt: t0, Identities: []Identity{
			ident("corp", "c-bob", "Bob@Corp.Example"),
			ident("github", "gh-bob", ""),
		}},
	}}
	if err := st.check(); err != nil {
		t.Fatalf("fixture breaks invariants: %v", err)
	}
	return st
}

func signIn(provider, subject, email string, verified, trusted bool) SignIn {
	return SignIn{
		Provider:           provider,
		Profile:            Profile{Subject: subject, Email: email, EmailVerified: verified, Name: "N"},
		TrustEmailVerified: trusted,
		Scopes:             []string{"openid", "email"},
		TokenExpiry:        t0.Add(time.Hour),
		Refreshable:        true,
	}
}

func withAccount(in SignIn, account string) SignIn { in.Account = account; return in }

func TestResolve(t *testing.T) {
	tests := []struct {
		name string
		in   SignIn
		want Resolution
	}{
		{"known identity", signIn("google", "g-alice", "alice@example.com", true, true),
			Resolution{Outcome: Known, Account: "alice"}},
		{"known identity ignores --account", withAccount(signIn("google", "g-alice", "", false, false), "work"),
			Resolution{Outcome: Known, Account: "alice"}},
		{"same subject at another provider is new", signIn("gitlab", "g-alice", "", false, false),
			Resolution{Outcome: Created, Account: "gitlab-g-alice"}},
		{"new identity, no matching email", signIn("google", "g-carol", "carol@example.com", true, true),
			Resolution{Outcome: Created, Account: "carol"}},
		{"verified email, trusted provider", signIn("gitlab", "gl-1", "alice@example.com", true, true),
			Resolution{Outcome: NeedsLink, Account: "alice", Candidate: "alice", Candidates: []string{"alice"}}},
		{"verified email, untrusted provider", signIn("gitlab", "gl-1", "alice@example.com", true, false),
			Resolution{Outcome: Created, Account: "alice-2"}},
		{"unverified email, trusted provider", signIn("gitlab", "gl-1", "alice@example.com", false, true),
			Resolution{Outcome: Created, Account: "alice-2"}},
		{"email case-insensitive", signIn("gitlab", "gl-1", "ALICE@Example.COM", true, true),
			Resolution{Outcome: NeedsLink, Account: "alice", Candidate: "alice", Candidates: []string{"alice"}}},
		{"stored email case-insensitive", signIn("gitlab", "gl-2", "bob@corp.example", true, true),
			Resolution{Outcome: NeedsLink, Account: "work", Candidate: "work", Candidates: []string{"work"}}},
		{"--account existing, new identity", withAccount(signIn("gitlab", "gl-3", "x@y.example", true, true), "work"),
			Resolution{Outcome: NeedsLink, Account: "work"}},
		{"--account existing wins over email match", withAccount(signIn("gitlab", "gl-3", "alice@example.com", true, true), "work"),
			Resolution{Outcome: NeedsLink, Account: "work", Candidate: "alice", Candidates: []string{"alice"}}},
		{"--account new name creates despite email", withAccount(signIn("gitlab", "gl-4", "alice@example.com", true, true), "home"),
			Resolution{Outcome: Created, Account: "home", Candidate: "alice", Candidates: []string{"alice"}}},
		{"no email falls back to provider-subject", signIn("gitlab", "12345", "", false, false),
			Resolution{Outcome: Created, Account: "gitlab-12345"}},
		{"local part sanitised", signIn("gitlab", "7", "Jo.Hn+Dev Ops@x.example", false, false),
			Resolution{Outcome: Created, Account: "jo.hn-dev-ops"}},
		{"empty email never matches", signIn("gitlab", "8", "", true, true),
			Resolution{Outcome: Created, Account: "gitlab-8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := fixture(t)
			before := st.Clone()
			got := st.Resolve(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Resolve = %+v, want %+v", got, tt.want)
			}
			if !reflect.DeepEqual(st, before) {
				t.Error("Resolve modified the state")
			}
		})
	}
}

func TestResolveSeveralEmailMatchesPrefersDefault(t *testing.T) {
	st := fixture(t)
	if err := st.Link(signIn("gitlab", "gl-x", "bob@corp.example", true, true), "alice", t0); err != nil {
		t.Fatal(err)
	}
	in := signIn("okta", "o-1", "BOB@corp.example", true, true)
	want := Resolution{Outcome: NeedsLink, Account: "alice", Candidate: "alice", Candidates: []string{"alice", "work"}}
	if got := st.Resolve(in); !reflect.DeepEqual(got, want) {
		t.Errorf("Resolve = %+v, want %+v", got, want)
	}
	if err := st.SetDefault("work"); err != nil {
		t.Fatal(err)
	}
	if got := st.Resolve(in); got.Candidate != "work" || got.Account != "work" {
		t.Errorf("with default work: Resolve = %+v, want candidate work", got)
	}
}

func TestSanitizeAndUniqueNames(t *testing.T) {
	long := strings.Repeat("a", 100)
	tests := []struct {
		provider, subject, email string
		taken                    []string
		want                     string
	}{
		{"google", "1", "Alice@example.com", nil, "alice"},
		{"google", "1", "alice@example.com", []string{"alice"}, "alice-2"},
		{"google", "1", "alice@example.com", []string{"alice", "alice-2", "alice-3"}, "alice-4"},
		{"google", "1", "a  b!!c@example.com", nil, "a-b-c"},
		{"google", "1", "--._x_.--@example.com", nil, "x"},
		{"google", "1", "ÄÖÜ@example.com", nil, "google-1"},
		{"google", "1", "@example.com", nil, "google-1"},
		{"google", "1", "no-at-sign", nil, "google-1"},
		{"Corp SSO", "Sub/With Slash", "", nil, "corp-sso-sub-with-slash"},
		{"google", "1", long + "@example.com", nil, long[:64]},
		{"google", "1", long + "@example.com", []string{long[:64]}, long[:62] + "-2"},
		{"google", "1", "a.-@example.com", []string{"a"}, "a-2"},
	}
	for _, tt := range tests {
		t.Run(tt.email+"/"+strings.Join(tt.taken, ","), func(t *testing.T) {
			st := &State{Version: SchemaVersion}
			for i, name := range tt.taken {
				st.Accounts = append(st.Accounts, Account{Name: name, Identities: []Identity{ident("x", string(rune('a'+i)), "")}})
			}
			got := st.uniqueName(baseName(tt.provider, Profile{Subject: tt.subject, Email: tt.email}))
			if got != tt.want {
				t.Errorf("name = %q, want %q", got, tt.want)
			}
			if err := ValidateName(got); err != nil {
				t.Errorf("generated name invalid: %v", err)
			}
		})
	}
}

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"a", "alice", "Work-2", "a.b_c", strings.Repeat("x", 64)} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("ValidateName(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "-a", ".a", "a b", "a/b", "é", strings.Repeat("x", 65), "a\n"} {
		if err := ValidateName(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidateName(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	// validName, the index's table of the same rules, agrees on every
	// byte in every place, and at the length bound.
	for c := range 256 {
		for _, name := range []string{string([]byte{byte(c)}), "a" + string([]byte{byte(c)}), string([]byte{byte(c)}) + "a", "a" + string([]byte{byte(c)}) + "b"} {
			if got, want := validName(name), ValidateName(name) == nil; got != want {
				t.Errorf("validName(%q) = %t, ValidateName says %t", name, got, want)
			}
		}
	}
	for _, n := range []int{0, 1, 63, 64, 65} {
		name := strings.Repeat("x", n)
		if got, want := validName(name), ValidateName(name) == nil; got != want {
			t.Errorf("validName of %d bytes = %t, ValidateName says %t", n, got, want)
		}
	}
}

func TestApplyKnownUpdatesOnlyMetadata(t *testing.T) {
	st := fixture(t)
	st.Accounts[0].Identities[0].NeedsSignIn = true
	st.Accounts[0].Identities[0].Name = "Alice Old"
	want := st.Clone()
	in := signIn("google", "g-alice", "alice@new.example", true, false)
	in.Profile.Name = ""
	in.Profile.AvatarURL = "https://img.example/a.png"
	in.Account = "work"
	r := st.Resolve(in)
	now := t0.Add(2 * time.Hour)
	if err := st.Apply(in, r, now); err != nil {
		t.Fatal(err)
	}
	w := &want.Accounts[0].Identities[0]
	w.Email, w.AvatarURL = "alice@new.example", "https://img.example/a.png"
	w.Scopes = []string{"openid", "email"}
	w.TokenExpiry, w.Refreshable, w.LastUsedAt, w.NeedsSignIn = in.TokenExpiry, true, now, false
	if !reflect.DeepEqual(st, want) {
		t.Errorf("after Known:\n got %+v\nwant %+v", st, want)
	}
}

func TestApplyCreated(t *testing.T) {
	st := &State{Version: SchemaVersion}
	in := signIn("google", "g-1", "alice@example.com", true, true)
	if err := st.Apply(in, st.Resolve(in), t0); err != nil {
		t.Fatal(err)
	}
	in2 := signIn("github", "gh-1", "alice@example.com", false, true)
	in2.Profile.Name = "Mallory\x1b]0;pwned\x07\n"
	if err := st.Apply(in2, st.Resolve(in2), t0); err != nil {
		t.Fatal(err)
	}
	if st.Default != "alice" || len(st.Accounts) != 2 || st.Accounts[1].Name != "alice-2" {
		t.Fatalf("state = %+v, want alice (default) and alice-2", st)
	}
	id := st.Accounts[0].Identities[0]
	if id.LinkedAt != t0 || id.LastUsedAt != t0 || id.TokenExpiry != in.TokenExpiry || !id.Refreshable || id.Key() != "google/g-1" {
		t.Errorf("identity = %+v", id)
	}
	if got := st.Accounts[1].Identities[0].Name; got != "Mallory]0;pwned" {
		t.Errorf("control characters kept in display name: %q", got)
	}
	if err := st.check(); err != nil {
		t.Errorf("invariants: %v", err)
	}
}

func TestApplyRefusals(t *testing.T) {
	tests := []struct {
		name    string
		in      SignIn
		resolve func(*State, SignIn) Resolution
		want    error
	}{
		{"needs link stores nothing", signIn("gitlab", "gl-1", "alice@example.com", true, true),
			(*State).Resolve, ErrNeedsLink},
		{"stale created", signIn("google", "g-alice", "", false, false),
			func(*State, SignIn) Resolution { return Resolution{Outcome: Created, Account: "google-g-alice"} }, ErrChanged},
		{"stale known", signIn("google", "g-new", "", false, false),
			func(*State, SignIn) Resolution { return Resolution{Outcome: Known, Account: "alice"} }, ErrChanged},
		{"created name taken meanwhile", signIn("google", "g-new", "", false, false),
			func(*State, SignIn) Resolution { return Resolution{Outcome: Created, Account: "alice"} }, ErrChanged},
		{"invalid --account", withAccount(signIn("google", "g-new", "", false, false), "bad name"),
			(*State).Resolve, ErrInvalid},
		{"empty subject", signIn("google", "", "", false, false), (*State).Resolve, ErrInvalid},
		{"provider with slash", signIn("a/b", "1", "", false, false), (*State).Resolve, ErrInvalid},
		{"control char subject", signIn("google", "x\x1b[2J", "", false, false), (*State).Resolve, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := fixture(t)
			before := st.Clone()
			err := st.Apply(tt.in, tt.resolve(st, tt.in), t0)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Apply = %v, want %v", err, tt.want)
			}
			if !reflect.DeepEqual(st, before) {
				t.Error("refused Apply modified the state")
			}
		})
	}
	st := fixture(t)
	err := st.Apply(signIn("gitlab", "gl-1", "alice@example.com", true, true), st.Resolve(signIn("gitlab", "gl-1", "alice@example.com", true, true)), t0)
	if !strings.Contains(err.Error(), "authcli link gitlab --account alice") {
		t.Errorf("needs-link message %q does not give the link command", err)
	}
}

func TestLink(t *testing.T) {
	tests := []struct {
		name, account string
		in            SignIn
		want          error
		mention       string
		identities    int // of account afterwards, when no error
	}{
		{"new identity", "alice", signIn("gitlab", "gl-1", "alice@example.com", true, true), nil, "", 3},
		{"already on that account", "alice", signIn("github", "gh-alice", "", false, false), nil, "", 2},
		{"linked elsewhere", "alice", signIn("corp", "c-bob", "", false, false), ErrLinkedElsewhere, "account work", 0},
		{"no such account", "nobody", signIn("gitlab", "gl-1", "", false, false), ErrNoAccount, "nobody", 0},
		{"invalid subject", "alice", signIn("gitlab", "", "", false, false), ErrInvalid, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := fixture(t)
			before := st.Clone()
			err := st.Link(tt.in, tt.account, t0.Add(time.Minute))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Link = %v, want %v", err, tt.want)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tt.mention) {
					t.Errorf("message %q does not mention %q", err, tt.mention)
				}
				if !reflect.DeepEqual(st, before) {
					t.Error("refused Link modified the state")
				}
				return
			}
			a, _ := st.Account(tt.account)
			if len(a.Identities) != tt.identities {
				t.Errorf("account has %d identities, want %d", len(a.Identities), tt.identities)
			}
			if _, id, ok := st.Owner(tt.in.Provider, tt.in.Profile.Subject); !ok || id.LastUsedAt != t0.Add(time.Minute) {
				t.Errorf("linked identity = %+v, %v", id, ok)
			}
			if err := st.check(); err != nil {
				t.Errorf("invariants: %v", err)
			}
		})
	}
}

func TestUnlink(t *testing.T) {
	single := func(t *testing.T) *State {
		st := fixture(t)
		if _, err := st.Unlink("work", "github", "gh-bob"); err != nil {
			t.Fatal(err)
		}
		return st
	}
	tests := []struct {
		name                       string
		state                      func(*testing.T) *State
		account, provider, subject string
		want                       error
		wantKey, mention           string
	}{
		{"by account", fixture, "alice", "github", "", nil, "github/gh-alice", ""},
		{"by subject anywhere", fixture, "", "github", "gh-bob", nil, "github/gh-bob", ""},
		{"ambiguous without subject", fixture, "", "github", "", ErrAmbiguous, "",
			"more than one github identity is linked (alice/github/gh-alice, work/github/gh-bob); choose one with --subject or --account"},
		{"last identity", single, "work", "corp", "", ErrLastIdentity,
			"", "is the only way to sign in to account work; link another provider first or use logout"},
		{"not on that account", fixture, "work", "google", "", ErrNotFound, "", "google identity on account work"},
		{"unknown subject", fixture, "", "github", "nobody", ErrNotFound, "", ""},
		{"no such account", fixture, "home", "github", "", ErrNoAccount, "", "home"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := tt.state(t)
			before := st.Clone()
			id, err := st.Unlink(tt.account, tt.provider, tt.subject)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Unlink = %v, want %v", err, tt.want)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tt.mention) {
					t.Errorf("message %q does not mention %q", err, tt.mention)
				}
				if !reflect.DeepEqual(st, before) {
					t.Error("refused Unlink modified the state")
				}
				return
			}
			if id.Key() != tt.wantKey {
				t.Errorf("removed %s, want %s", id.Key(), tt.wantKey)
			}
			if _, _, ok := st.Owner(id.Provider, id.Subject); ok {
				t.Error("identity still present")
			}
			if err := st.check(); err != nil {
				t.Errorf("invariants: %v", err)
			}
		})
	}
}

func TestFind(t *testing.T) {
	onlyWork := func(t *testing.T) *State {
		st := fixture(t)
		if err := st.Link(signIn("gitlab", "gl-w", "", false, false), "work", t0); err != nil {
			t.Fatal(err)
		}
		return st
	}
	twoInDefault := func(t *testing.T) *State {
		st := fixture(t)
		if err := st.Link(signIn("github", "gh-alice2", "", false, false), "alice", t0); err != nil {
			t.Fatal(err)
		}
		return st
	}
	tests := []struct {
		name              string
		state             func(*testing.T) *State
		provider, account string
		wantAccount       string
		wantKey           string
		want              error
		candidates        []string
	}{
		{"--account picks", fixture, "github", "work", "work", "github/gh-bob", nil, nil},
		{"default account first", fixture, "github", "", "alice", "github/gh-alice", nil, nil},
		{"only identity anywhere", onlyWork, "gitlab", "", "work", "gitlab/gl-w", nil, nil},
		{"other account's only identity", fixture, "corp", "", "work", "corp/c-bob", nil, nil},
		{"not found", fixture, "gitlab", "", "", "", ErrNotFound, nil},
		{"not on named account", fixture, "google", "work", "", "", ErrNotFound, nil},
		{"no such account", fixture, "github", "home", "", "", ErrNoAccount, nil},
		{"ambiguous in default", twoInDefault, "github", "", "", "", ErrAmbiguous,
			[]string{"alice/github/gh-alice", "alice/github/gh-alice2"}},
		{"ambiguous any provider", fixture, "", "work", "", "", ErrAmbiguous,
			[]string{"work/corp/c-bob", "work/github/gh-bob"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := tt.state(t)
			acc, id, err := st.Find(tt.provider, tt.account)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Find = %v, want %v", err, tt.want)
			}
			if err != nil {
				var amb *AmbiguousError
				if errors.As(err, &amb) != (tt.candidates != nil) {
					t.Fatalf("error %v: AmbiguousError expected %v", err, tt.candidates != nil)
				}
				if amb != nil {
					if !reflect.DeepEqual(amb.Candidates, tt.candidates) {
						t.Errorf("candidates = %v, want %v", amb.Candidates, tt.candidates)
					}
					for _, c := range tt.candidates {
						if !strings.Contains(err.Error(), c) {
							t.Errorf("message %q does not list %s", err, c)
						}
					}
				}
				return
			}
			if acc.Name != tt.wantAccount || id.Key() != tt.wantKey {
				t.Errorf("Find = %s %s, want %s %s", acc.Name, id.Key(), tt.wantAccount, tt.wantKey)
			}
		})
	}
}

func TestFindReturnsCopies(t *testing.T) {
	st := fixture(t)
	acc, id, err := st.Find("google", "")
	if err != nil {
		t.Fatal(err)
	}
	id.Scopes[0] = "changed"
	acc.Identities[0].Scopes[0] = "changed"
	if st.Accounts[0].Identities[0].Scopes[0] != "openid" {
		t.Error("Find result aliases the state")
	}
}

func TestRemoveAccountAndDefault(t *testing.T) {
	st := fixture(t)
	if err := st.SetDefault("nobody"); !errors.Is(err, ErrNoAccount) {
		t.Errorf("SetDefault(nobody) = %v", err)
	}
	if _, err := st.RemoveAccount("nobody"); !errors.Is(err, ErrNoAccount) {
		t.Errorf("RemoveAccount(nobody) = %v", err)
	}
	removed, err := st.RemoveAccount("alice")
	if err != nil || removed.Name != "alice" || len(removed.Identities) != 2 {
		t.Fatalf("RemoveAccount = %+v, %v", removed, err)
	}
	if st.Default != "work" {
		t.Errorf("default after removing it = %q, want work", st.Default)
	}
	if _, err := st.RemoveAccount("work"); err != nil {
		t.Fatal(err)
	}
	if st.Default != "" || len(st.Accounts) != 0 {
		t.Errorf("empty state = %+v", st)
	}
	if err := st.check(); err != nil {
		t.Errorf("invariants: %v", err)
	}
}

func TestMarkNeedsSignInAndRecordRefresh(t *testing.T) {
	st := fixture(t)
	if err := st.MarkNeedsSignIn("google", "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("MarkNeedsSignIn(unknown) = %v", err)
	}
	if err := st.MarkNeedsSignIn("google", "g-alice"); err != nil {
		t.Fatal(err)
	}
	_, id, _ := st.Owner("google", "g-alice")
	if id.Health(t0, time.Minute) != HealthNeedsSignIn {
		t.Errorf("health = %s", id.Health(t0, time.Minute))
	}
	exp := t0.Add(time.Hour)
	if err := st.RecordRefresh("google", "g-alice", exp, false, nil, t0); err != nil {
		t.Fatal(err)
	}
	_, id, _ = st.Owner("google", "g-alice")
	if id.NeedsSignIn || id.TokenExpiry != exp || id.Refreshable || !reflect.DeepEqual(id.Scopes, []string{"openid"}) {
		t.Errorf("after refresh: %+v", id)
	}
}

func TestHealth(t *testing.T) {
	tests := []struct {
		name string
		id   Identity
		want Health
	}{
		{"no expiry", Identity{}, HealthValid},
		{"far", Identity{TokenExpiry: t0.Add(time.Hour)}, HealthValid},
		{"within window", Identity{TokenExpiry: t0.Add(time.Minute)}, HealthExpiring},
		{"at the window edge", Identity{TokenExpiry: t0.Add(5 * time.Minute)}, HealthExpiring},
		{"now", Identity{TokenExpiry: t0}, HealthExpired},
		{"past, refreshable", Identity{TokenExpiry: t0.Add(-time.Second), Refreshable: true}, HealthExpired},
		{"needs sign-in beats valid", Identity{TokenExpiry: t0.Add(time.Hour), NeedsSignIn: true}, HealthNeedsSignIn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.id.Health(t0, 5*time.Minute); got != tt.want {
				t.Errorf("Health = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[Outcome]string{Known: "known", Created: "created", NeedsLink: "needs_link", Linked: "linked", 0: "outcome(0)"} {
		if o.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(o), o.String(), want)
		}
	}
}
