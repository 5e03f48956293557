package tui

import (
	"bytes"
	"context"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"
)

// TestGoldenScreens runs the real Bubble Tea program at 80×24 with NO_COLOR
// and a fixed clock, and compares each main screen with
// testdata/TestGoldenScreens/NAME.golden (go test -update rewrites them).
func TestGoldenScreens(t *testing.T) {
	cases := []struct {
		name  string
		setup func(*fakeBackend)
		keys  []string // keyPress names
		wait  string   // text that shows the keys' screen is drawn
	}{
		{name: "list"},
		{name: "details", keys: []string{"down", "enter"}, wait: "email_verified"},
		{name: "picker", keys: []string{"l"}, wait: "not ready"},
		{name: "confirm_unlink", keys: []string{"down", "u"}, wait: "y: yes"},
		{name: "help", keys: []string{"?"}, wait: "make default"},
		{
			name: "last_identity_refused",
			setup: func(f *fakeBackend) {
				if _, err := f.state.Unlink("bob", "second", "bob-2"); err != nil {
					t.Fatal(err)
				}
			},
			keys: []string{"down", "down", "u"},
			wait: "Not unlinked",
		},
		{name: "empty", setup: func(f *fakeBackend) { f.state.Accounts, f.state.Default = nil, "" }},
		{
			// No browser here: the device grant's page and code.
			name: "link_device",
			setup: func(f *fakeBackend) {
				f.link = func(ctx context.Context, show func(SignInPrompt)) error {
					show(SignInPrompt{URL: "http://127.0.0.1:5556/device", UserCode: "WDJB-MJHT"})
					<-ctx.Done()
					return ctx.Err()
				}
			},
			keys: []string{"l", "down", "enter"},
			wait: "5556/device",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			opts := testOptions(&syncBuffer{})
			tm := teatest.NewTestModel(t, New(ctx, f, opts), teatest.WithInitialTermSize(80, 24),
				teatest.WithProgramOptions(tea.WithEnvironment(teaEnvironment(opts.Getenv))))
			// The output is read as it comes: wait for the list once, then
			// for what the keys bring up.
			ready := "needs sign-in"
			if tc.name == "empty" {
				ready = "No accounts yet"
			}
			waitOutput(t, tm, ready)
			for _, k := range tc.keys {
				tm.Send(keyPress(k))
			}
			if len(tc.keys) > 0 {
				waitOutput(t, tm, tc.wait)
			}
			if err := tm.Quit(); err != nil {
				t.Fatal(err)
			}
			m := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
			golden.RequireEqual(t, []byte(m.View().Content))
		})
	}
}

func waitOutput(t *testing.T, tm *teatest.TestModel, text string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		return bytes.Contains(b, []byte(text))
	}, teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(5*time.Millisecond))
}
