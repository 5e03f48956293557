package tui

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/tokens"
)

func TestListShowsAccountsAndHealth(t *testing.T) {
	h := newHarness(t, newFake(t))
	h.mustShow(
		"ada  (default)", "bob",
		"First IdP", "Second IdP", "ada@example.com", "ada-1",
		"valid, 59m left", "expires in 4m", "needs sign-in", "expired",
	)
	if r, ok := h.m.list.selected(); !ok || r.ref() != (identityRef{"ada", "first", "ada-1"}) {
		t.Errorf("the cursor starts on %+v, want ada's first identity", r)
	}
	// The cursor walks identities only and stops at the ends.
	for range 10 {
		h.key("down")
	}
	if r, _ := h.m.list.selected(); r.ref() != (identityRef{"bob", "second", "bob-2"}) {
		t.Errorf("after moving down past the end the cursor is on %+v", r.ref())
	}
	h.key("up")
	if r, _ := h.m.list.selected(); r.ref() != (identityRef{"bob", "first", "bob-1"}) {
		t.Errorf("after one up the cursor is on %+v", r.ref())
	}
	// vi keys (Bubble Tea v2 sends keys typed together one at a time; see
	// TestKeysTypedTogether).
	h.key("k")
	h.key("k")
	if r, _ := h.m.list.selected(); r.ref() != (identityRef{"ada", "first", "ada-1"}) {
		t.Errorf("after k k the cursor is on %+v", r.ref())
	}
	h.key("j")
	h.key("l")
	if h.m.screen != screenPicker || h.m.picker.account != "ada" {
		t.Errorf("j l did not move down and open the picker: screen %v", h.m.screen)
	}
}

func TestLinkShowsTheAddressAndLinks(t *testing.T) {
	f := newFake(t)
	release := make(chan struct{})
	const url = "http://127.0.0.1:43123/authorize?client_id=authcli&state=xyz"
	f.link = func(ctx context.Context, show func(SignInPrompt)) error {
		show(SignInPrompt{URL: url})
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	h := newHarness(t, f)
	h.key("l")
	// ada has identities at first and second: only the others are offered.
	h.mustShow("Link a provider to account ada", "Third IdP (third)", "Fourth IdP (fourth)", "not ready: client_id is not set")
	h.mustNotShow("First IdP (first)", "Second IdP (second)", "already linked")
	h.key("enter") // third is not ready
	h.mustShow("third is not ready: client_id is not set")
	if h.m.busy != nil {
		t.Fatal("a provider that is not ready started a sign-in")
	}
	h.key("down")
	h.key("enter")
	h.waitFor("the address", func() bool { return h.m.busy != nil && h.m.busy.prompt.URL != "" })
	h.mustShow("Signing in to Fourth IdP to link it to account ada", "Finish in your browser", url, "esc cancel")

	h.key("c") // copies the address while waiting
	h.waitFor("the address on the clipboard", func() bool { return strings.Contains(h.clip.String(), base64.StdEncoding.EncodeToString([]byte(url))) })

	close(release)
	h.waitIdle()
	h.mustShow("Linked the Fourth IdP identity to account ada.", "linked-fourth")
	if got := f.callLog(); !slices.Contains(got, "link fourth ada") {
		t.Errorf("backend calls %v", got)
	}
}

func TestLinkCanceledWithEsc(t *testing.T) {
	f := newFake(t)
	var sawCancel bool
	f.link = func(ctx context.Context, show func(SignInPrompt)) error {
		show(SignInPrompt{URL: "http://127.0.0.1:1/authorize"})
		<-ctx.Done()
		sawCancel = true
		return fmt.Errorf("the sign-in was canceled: %w", ctx.Err())
	}
	h := newHarness(t, f)
	before := h.view()
	h.key("l")
	h.key("down")
	h.key("enter")
	h.waitFor("the address", func() bool { return h.m.busy != nil && h.m.busy.prompt.URL != "" })
	h.key("esc")
	h.waitIdle()
	if !sawCancel {
		t.Error("esc did not cancel the sign-in's context")
	}
	h.mustShow("Sign-in canceled; nothing was stored.")
	if !strings.Contains(before, "ada-1") || strings.Contains(h.view(), "linked-fourth") {
		t.Errorf("the accounts changed:\n%s", h.view())
	}
}

// TestLinkDeviceCode: where the CLI would use the device grant, the link
// shows the page and the code to enter there, never "Finish in your
// browser".
func TestLinkDeviceCode(t *testing.T) {
	f := newFake(t)
	release := make(chan struct{})
	const page = "http://127.0.0.1:5556/device"
	f.link = func(ctx context.Context, show func(SignInPrompt)) error {
		show(SignInPrompt{URL: page, UserCode: "WDJB-MJHT"})
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	h := newHarness(t, f)
	h.key("l")
	h.key("down")
	h.key("enter")
	h.waitFor("the code", func() bool { return h.m.busy != nil && h.m.busy.prompt.UserCode != "" })
	h.mustShow("open this page in a browser and enter the code WDJB-MJHT", page, "esc cancel")
	h.mustNotShow("Finish in your browser")
	h.key("c") // copies the page's address
	h.waitFor("the page on the clipboard", func() bool { return strings.Contains(h.clip.String(), base64.StdEncoding.EncodeToString([]byte(page))) })
	close(release)
	h.waitIdle()
	h.mustShow("Linked the Fourth IdP identity to account ada.")
}

// TestPickerAllLinked: an account linked everywhere it can be is told so,
// not offered providers it already has.
func TestPickerAllLinked(t *testing.T) {
	f := newFake(t)
	f.providers = testProviders()[:2]
	h := newHarness(t, f)
	h.key("l")
	h.mustShow("Account ada is linked to every configured provider")
	h.mustNotShow("First IdP (first)", "Second IdP (second)")
	h.key("enter")
	if h.m.busy != nil {
		t.Fatal("enter on an empty picker started a sign-in")
	}
}

// TestResultClearsOnTheNextKey: a result line describes the last action;
// it goes once the person does something else.
func TestResultClearsOnTheNextKey(t *testing.T) {
	f := newFake(t)
	h := newHarness(t, f)
	h.selectIdentity("bob", "second", "bob-2")
	h.key("d")
	h.waitIdle()
	h.mustShow("bob is now the default account.")
	h.key("up")
	h.mustNotShow("is now the default account")
	h.key("d")
	h.mustShow("bob is already the default account.")
	h.key("enter") // details
	h.mustNotShow("already the default account")
}

func TestLinkFailureIsShown(t *testing.T) {
	f := newFake(t)
	f.link = func(context.Context, func(SignInPrompt)) error {
		return errors.New("the Second IdP identity is already linked to account bob; unlink it there first")
	}
	h := newHarness(t, f)
	h.key("l")
	h.key("down")
	h.key("enter")
	h.waitIdle()
	h.mustShow("Not linked: the Second IdP identity is already linked to account bob; unlink it there first.")
}

func TestUnlinkAsksThenUnlinks(t *testing.T) {
	f := newFake(t)
	h := newHarness(t, f)
	h.selectIdentity("ada", "second", "ada-2")
	h.key("u")
	h.mustShow("Unlink the Second IdP identity ada@example.com from account ada?", "y: yes")
	if h.m.screen != screenConfirm {
		t.Fatal("no confirmation was asked")
	}
	h.key("y")
	h.waitIdle()
	h.mustShow("Unlinked the Second IdP identity ada@example.com from account ada; its tokens were revoked and deleted.")
	if h.listed("ada", "second", "ada-2") {
		t.Error("the unlinked identity is still listed")
	}
	if got := f.callLog(); !slices.Contains(got, "unlink ada second ada-2") {
		t.Errorf("backend calls %v", got)
	}
}

func TestUnlinkDeclined(t *testing.T) {
	for _, answer := range []string{"n", "esc", "x"} {
		t.Run(answer, func(t *testing.T) {
			f := newFake(t)
			h := newHarness(t, f)
			h.selectIdentity("ada", "second", "ada-2")
			h.key("u")
			h.key(answer)
			if answer == "x" {
				// Anything but y or n is ignored: still asking.
				if h.m.screen != screenConfirm {
					t.Fatal("an unrelated key answered the question")
				}
				h.key("n")
			}
			h.mustShow("Nothing changed.", "ada-2")
			if got := f.callLog(); len(got) != 0 {
				t.Errorf("backend calls %v", got)
			}
		})
	}
}

func TestUnlinkLastIdentityRefused(t *testing.T) {
	f := newFake(t)
	// Leave bob with one identity.
	if _, err := f.state.Unlink("bob", "second", "bob-2"); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, f)
	h.selectIdentity("bob", "first", "bob-1")
	h.key("u")
	if h.m.screen == screenConfirm {
		t.Fatal("asked to confirm an unlink the accounts rules refuse")
	}
	h.mustShow("Not unlinked:", "is the only way to sign in to account bob", "Nothing changed.", "bob-1")
	if got := f.callLog(); len(got) != 0 {
		t.Errorf("backend calls %v", got)
	}
}

func TestUnlinkRefusedByBackend(t *testing.T) {
	// Another authcli unlinked the other identity meanwhile: the backend's
	// refusal is shown the same way.
	f := newFake(t)
	f.unlinkErr = fmt.Errorf("wrapped: %w", accounts.ErrLastIdentity)
	h := newHarness(t, f)
	h.selectIdentity("ada", "second", "ada-2")
	h.key("u")
	h.key("y")
	h.waitIdle()
	h.mustShow("Not unlinked: wrapped: last identity of the account. Nothing changed.", "ada-2")
}

func TestUnlinkRevocationFailureIsAWarning(t *testing.T) {
	f := newFake(t)
	f.unlinkErr = fmt.Errorf("%w for second/ada-2: %w", tokens.ErrRevocation, errRevocationForTest)
	h := newHarness(t, f)
	h.selectIdentity("ada", "second", "ada-2")
	h.key("u")
	h.key("y")
	h.waitIdle()
	h.mustShow("Unlinked the Second IdP identity ada@example.com from account ada and deleted its tokens here, but the provider did not confirm the revocation")
	if h.listed("ada", "second", "ada-2") {
		t.Error("the unlinked identity is still listed")
	}
	if h.m.status.kind != statusWarn {
		t.Errorf("status kind %v, want a warning", h.m.status.kind)
	}
}

func TestRefreshNow(t *testing.T) {
	f := newFake(t)
	h := newHarness(t, f)
	h.selectIdentity("ada", "second", "ada-2")
	h.mustShow("expires in 4m")
	h.key("r")
	h.waitIdle()
	h.mustShow("Refreshed the tokens of the Second IdP identity ada@example.com.", "valid, 2h left")
	h.mustNotShow("expires in 4m")
	if got := f.callLog(); !slices.Contains(got, "refresh second ada") {
		t.Errorf("backend calls %v", got)
	}
}

func TestRefreshFailureAndCancel(t *testing.T) {
	t.Run("failure", func(t *testing.T) {
		f := newFake(t)
		f.refresh = func(context.Context) error {
			return errors.New("the second tokens cannot be refreshed (invalid_grant); sign in again with: authcli login second")
		}
		h := newHarness(t, f)
		h.key("r")
		h.waitIdle()
		h.mustShow("Not refreshed: the second tokens cannot be refreshed (invalid_grant); sign in again with: authcli login second.")
		if h.m.status.kind != statusError {
			t.Errorf("status kind %v, want an error", h.m.status.kind)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		f := newFake(t)
		started := make(chan struct{})
		f.refresh = func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		}
		h := newHarness(t, f)
		h.key("r")
		h.waitFor("the refresh to start", func() bool {
			select {
			case <-started:
				return true
			default:
				return false
			}
		})
		h.key("esc")
		h.mustShow("Canceling…")
		h.waitIdle()
		h.mustShow("Refresh canceled.", "valid, 59m left")
	})
}

func TestSetDefault(t *testing.T) {
	f := newFake(t)
	h := newHarness(t, f)
	h.key("d")
	h.mustShow("ada is already the default account.")
	h.selectIdentity("bob", "second", "bob-2")
	h.key("d")
	h.waitIdle()
	h.mustShow("bob is now the default account.", "bob  (default)")
	h.mustNotShow("ada  (default)")
	if got := f.callLog(); !slices.Equal(got, []string{"default bob"}) {
		t.Errorf("backend calls %v", got)
	}
	// The cursor stayed on the identity it was on.
	if r, _ := h.m.list.selected(); r.ref() != (identityRef{"bob", "second", "bob-2"}) {
		t.Errorf("cursor moved to %+v", r.ref())
	}
}

func TestSignInAgain(t *testing.T) {
	f := newFake(t)
	h := newHarness(t, f)
	h.selectIdentity("bob", "first", "bob-1")
	h.key("s")
	h.waitIdle()
	h.mustShow("Signed in to First IdP again; account bob has fresh tokens.")
	if got := f.callLog(); !slices.Equal(got, []string{"signin first bob"}) {
		t.Errorf("backend calls %v", got)
	}

	f.signIn = func(context.Context, func(SignInPrompt)) error {
		return errors.New("the first identity is new and account bob already exists; to add it there run: authcli link first --account bob")
	}
	h.key("s")
	h.waitIdle()
	h.mustShow("Not signed in: the first identity is new and account bob already exists")
}

func TestCopyTokenNeverShowsIt(t *testing.T) {
	f := newFake(t)
	h := newHarness(t, f)
	h.selectIdentity("ada", "second", "ada-2")
	h.key("c")
	h.waitIdle()
	want := "\x1b]52;c;" + base64.StdEncoding.EncodeToString([]byte("tok-SECRET-123")) + "\a"
	if got := h.clip.String(); got != want {
		t.Errorf("clipboard got %q, want %q", got, want)
	}
	h.mustShow("Copied the access token of the Second IdP identity ada@example.com to the clipboard")
	for _, v := range append(h.views, h.view()) {
		if strings.Contains(v, "tok-SECRET") || strings.Contains(v, base64.StdEncoding.EncodeToString([]byte("tok-SECRET-123"))) {
			t.Fatalf("the token was drawn:\n%s", v)
		}
	}
	if got := f.callLog(); !slices.Equal(got, []string{"token second ada"}) {
		t.Errorf("backend calls %v", got)
	}
}

func TestDetails(t *testing.T) {
	h := newHarness(t, newFake(t))
	h.selectIdentity("ada", "second", "ada-2")
	h.key("enter")
	h.mustShow("Second IdP identity on account ada (default)", "Subject", "ada-2",
		"ada@example.com (verified)", "expires in 4m", "2026-11-23 10:04:00 UTC",
		"openid email profile offline_access", "Claims", "email_verified", "true")
	// Actions work from the details too.
	h.key("r")
	h.waitIdle()
	h.mustShow("Refreshed the tokens", "valid, 2h left", "Subject")
	h.key("esc")
	if h.m.screen != screenList {
		t.Errorf("esc left the screen at %v", h.m.screen)
	}
}

func TestDetailsCloseWhenTheIdentityIsGone(t *testing.T) {
	h := newHarness(t, newFake(t))
	h.selectIdentity("ada", "second", "ada-2")
	h.key("enter")
	h.key("u")
	h.key("y")
	h.waitIdle()
	if h.m.screen != screenList {
		t.Errorf("the details of an unlinked identity are still open")
	}
	h.mustShow("Unlinked the Second IdP identity")
}

func TestFirstSignInWhenThereAreNoAccounts(t *testing.T) {
	f := newFake(t)
	f.state = &accounts.State{Version: accounts.SchemaVersion}
	h := newHarness(t, f)
	h.mustShow("No accounts yet. Press l to sign in")
	for _, k := range []string{"u", "r", "c", "d", "s", "enter"} {
		h.key(k) // nothing selected: nothing happens
	}
	if len(f.callLog()) != 0 || h.m.busy != nil {
		t.Fatalf("keys without a selection did something: %v", f.callLog())
	}
	h.key("l")
	h.mustShow("Sign in with a provider")
	h.key("enter")
	h.waitIdle()
	h.mustShow("Signed in to First IdP.")
	if got := f.callLog(); !slices.Equal(got, []string{"signin first "}) {
		t.Errorf("backend calls %v", got)
	}
}

func TestLoadErrorIsShown(t *testing.T) {
	f := newFake(t)
	f.loadErr = errors.New("the file vault is locked: set AUTHCLI_VAULT_KEY")
	h := newHarness(t, f)
	h.mustShow("The accounts could not be read: the file vault is locked: set AUTHCLI_VAULT_KEY")
	h.key("q")
	h.waitFor("quit", func() bool { return h.quit })
}

func TestHelpIsGenerated(t *testing.T) {
	h := newHarness(t, newFake(t))
	h.mustShow("enter details", "l link", "u unlink", "r refresh", "c copy token", "? help", "q quit")
	h.mustNotShow("make default")
	h.mustNotShow("sign in again")
	h.selectIdentity("bob", "first", "bob-1") // needs a sign-in: offered instead of refresh
	h.mustShow("s sign in again")
	h.mustNotShow("r refresh")
	h.key("?")
	h.mustShow("make default", "sign in again", "copy token", "r refresh")
	h.key("?")
	h.mustNotShow("make default")
}

func TestQuitCancelsTheRunningAction(t *testing.T) {
	f := newFake(t)
	canceled := make(chan struct{})
	f.link = func(ctx context.Context, _ func(SignInPrompt)) error {
		<-ctx.Done()
		close(canceled)
		return ctx.Err()
	}
	h := newHarness(t, f)
	h.key("l")
	h.key("down")
	h.key("enter")
	h.waitFor("the sign-in", func() bool { return h.m.busy != nil })
	h.key("ctrl+c")
	h.waitFor("quit", func() bool { return h.quit })
	h.waitFor("the cancellation", func() bool {
		select {
		case <-canceled:
			return true
		default:
			return false
		}
	})
}

func TestOtherKeysWaitWhileBusy(t *testing.T) {
	f := newFake(t)
	release := make(chan struct{})
	f.refresh = func(context.Context) error { <-release; return nil }
	h := newHarness(t, f)
	h.key("r")
	h.waitFor("the refresh", func() bool { return h.m.busy != nil })
	for _, k := range []string{"d", "u", "l", "c", "s", "r", "down"} {
		h.key(k)
	}
	close(release)
	h.waitIdle()
	if got := f.callLog(); !slices.Equal(got, []string{"refresh first ada"}) {
		t.Errorf("keys pressed during an action started others: %v", got)
	}
}

func TestResizeKeepsTheScreenInside(t *testing.T) {
	h := newHarness(t, newFake(t))
	for _, size := range []tea.WindowSizeMsg{{Width: 80, Height: 24}, {Width: 100, Height: 30}, {Width: 60, Height: 12}, {Width: 40, Height: 10}} {
		h.send(size)
		for _, screenKeys := range [][]string{nil, {"enter"}, {"esc", "l"}, {"esc", "?"}} {
			for _, k := range screenKeys {
				h.key(k)
			}
			lines := strings.Split(h.view(), "\n")
			if len(lines) != size.Height {
				t.Errorf("%dx%d after %v: %d lines", size.Width, size.Height, screenKeys, len(lines))
			}
			for _, l := range lines {
				if w := ansi.StringWidth(l); w > size.Width {
					t.Errorf("%dx%d after %v: line of %d cells: %q", size.Width, size.Height, screenKeys, w, l)
				}
			}
		}
		h.key("?")
		h.key("esc")
	}
}

func TestProviderTextCannotDriveTheTerminal(t *testing.T) {
	f := newFake(t)
	in := signInFor("first", "eve-1", "eve@example.com\x1b]0;owned\a", testNow.Add(time.Hour))
	in.Profile.Claims["note"] = "\x1b[31mred\u009b"
	in.Account = "eve"
	if err := f.state.Apply(in, f.state.Resolve(in), testNow); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, f)
	h.selectIdentity("eve", "first", "eve-1")
	h.key("enter")
	for _, v := range append(h.views, h.view()) {
		if strings.ContainsAny(v, "\x1b\x07\u009b") {
			t.Errorf("control characters reached the screen: %q", v)
		}
	}
	h.mustShow("eve@example.com]0;owned", "[31mred")
}

// TestDetailsScroll: on a short terminal the details scroll line by line
// and by page, stop at the last line and at the title, and keep the screen
// its height.
func TestDetailsScroll(t *testing.T) {
	h := newHarness(t, newFake(t))
	h.send(tea.WindowSizeMsg{Width: 80, Height: 12})
	h.key("enter")
	h.mustShow("First IdP identity on account ada", "Provider")
	h.mustNotShow("email_verified")
	for range 40 { // far past the end
		h.key("j")
	}
	h.mustShow("email_verified", "sub             ada-1")
	h.mustNotShow("First IdP identity on account ada")
	last := h.view()
	h.key("f")
	if h.view() != last {
		t.Errorf("a page down past the end moved the details:\n%s", h.view())
	}
	h.key("b")
	h.key("k")
	h.key("up")
	h.mustShow("First IdP identity on account ada")
	if lines := strings.Split(h.view(), "\n"); len(lines) != 12 {
		t.Errorf("the screen has %d lines, want 12", len(lines))
	}
}

// TestSpinnerTurnsWithItsAction: ticks of the running action advance the
// spinner and ask for the next; stale ones, and any after the action, do
// nothing, so only one chain of ticks ever runs.
func TestSpinnerTurnsWithItsAction(t *testing.T) {
	f := newFake(t)
	release := make(chan struct{})
	f.refresh = func(context.Context) error { <-release; return nil }
	h := newHarness(t, f)
	h.key("r")
	h.waitFor("the refresh", func() bool { return h.m.busy != nil })
	h.mustShow("| Refreshing the tokens")
	op := h.m.busy.id
	if _, cmd := h.m.Update(spinTickedMsg{op: op}); cmd == nil {
		t.Error("a tick of the running action did not ask for the next")
	}
	h.mustShow("/ Refreshing the tokens")
	if _, cmd := h.m.Update(spinTickedMsg{op: op - 1}); cmd != nil {
		t.Error("a tick of an earlier action asked for another")
	}
	h.mustShow("/ Refreshing the tokens")
	close(release)
	h.waitIdle()
	if _, cmd := h.m.Update(spinTickedMsg{op: op}); cmd != nil {
		t.Error("a tick after the action ended asked for another")
	}
}
