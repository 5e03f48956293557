package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/termtext"
)

type screen int

const (
	screenList screen = iota
	screenDetails
	screenPicker
	screenConfirm
)

// Default size until the terminal reports its own.
const (
	defaultWidth  = 80
	defaultHeight = 24
)

// clockInterval is how often token health is redrawn ("12m left").
const clockInterval = 30 * time.Second

// operation is the one slow action running; its spinner and, for a
// sign-in, the page's address (and the device grant's code) are drawn
// until it ends.
type operation struct {
	id       int
	label    string
	prompt   SignInPrompt
	cancel   context.CancelFunc
	canceled bool
}

type statusKind int

const (
	statusInfo statusKind = iota
	statusDone
	statusWarn
	statusError
)

// status is the one-sentence result of the last action.
type status struct {
	text string
	kind statusKind
}

// Model is the root of the TUI: it owns the accounts last loaded, routes
// keys to the current screen's model, and runs the Backend's slow work as
// tea.Cmd, one action at a time.
type Model struct {
	ctx     context.Context
	backend Backend
	opts    Options
	keys    keyMap
	st      styles
	spin    int // the spinner's frame

	width, height int

	state        *accounts.State
	providers    []Provider
	providersErr error
	loaded       bool

	screen  screen
	list    listModel
	details detailsModel
	picker  pickerModel
	confirm confirmModel

	busy     *operation
	nextOp   int
	status   status
	showHelp bool
	crashed  error // a panic caught in Update or a command; Run reports it
}

// New builds the TUI's root model; Run is the usual way in. ctx bounds
// every action the TUI starts.
func New(ctx context.Context, b Backend, opts Options) *Model {
	opts = opts.withDefaults()
	m := &Model{
		ctx:     ctx,
		backend: b,
		opts:    opts,
		keys:    newKeyMap(),
		width:   defaultWidth,
		height:  defaultHeight,
	}
	// Colour until the program reports its profile (tea.ColorProfileMsg):
	// Bubble Tea downsamples the first frames anyway, and NO_COLOR is
	// known now.
	m.st = newStyles(colorful(colorprofile.ANSI, opts.Getenv))
	return m
}

// clockTickedMsg: time passed; token health text may have changed.
type clockTickedMsg struct{}

func clockTick() tea.Cmd {
	return tea.Tick(clockInterval, func(time.Time) tea.Msg { return clockTickedMsg{} })
}

// Init loads the accounts.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(m.load(), clockTick())
}

// stop cancels the running action, if any (the TUI is going away).
func (m *Model) stop() {
	if m.busy != nil {
		m.busy.cancel()
	}
}

// Update handles one message. A panic in it (or in a command: crashedMsg)
// quits the program; Run then restores the terminal and returns ErrCrashed.
func (m *Model) Update(msg tea.Msg) (_ tea.Model, cmd tea.Cmd) {
	defer func() {
		if r := recover(); r != nil {
			m.crash(r)
			cmd = tea.Quit
		}
	}()
	return m, m.update(msg)
}

func (m *Model) crash(value any) {
	m.crashed = fmt.Errorf("%w (%s)", ErrCrashed, termtext.Line(fmt.Sprint(value)))
	m.stop()
}

func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case crashedMsg:
		m.crash(msg.value)
		return tea.Quit
	case tea.ColorProfileMsg:
		m.st = newStyles(colorful(msg.Profile, m.opts.Getenv))
		m.refreshDetails()
		return nil
	case tea.WindowSizeMsg:
		m.width, m.height = max(msg.Width, 20), max(msg.Height, 6)
		m.refreshDetails()
		return nil
	case tea.KeyPressMsg:
		return m.handleKey(msg)
	case clockTickedMsg:
		m.refreshDetails()
		return clockTick()
	case spinTickedMsg:
		if m.busy == nil || m.busy.id != msg.op {
			return nil // the spinner stops with its action
		}
		m.spin = (m.spin + 1) % len(spinFrames)
		return spinTick(msg.op)
	case accountsLoadedMsg:
		m.applyLoaded(msg)
		return nil
	case signInPromptShownMsg:
		if m.busy != nil && m.busy.id == msg.op {
			m.busy.prompt = msg.prompt
		}
		return nil
	case urlCopiedMsg:
		if msg.err != nil {
			m.setStatus(statusError, "The address could not be copied: "+msg.err.Error())
		} else {
			m.setStatus(statusInfo, "Copied the sign-in address to the clipboard.")
		}
		return nil
	}
	if done, ok := m.finished(msg); ok {
		return done
	}
	return nil
}

// applyLoaded takes in a fresh copy of the accounts.
func (m *Model) applyLoaded(msg accountsLoadedMsg) {
	m.loaded = true
	m.providers, m.providersErr = msg.providers, msg.providersErr
	if m.screen == screenPicker {
		m.picker.providers, m.picker.err = linkable(msg.providers, msg.state, m.picker.account), msg.providersErr
		m.picker.move(0)
	}
	if msg.err != nil {
		m.setStatus(statusError, "The accounts could not be read: "+msg.err.Error())
		return
	}
	keep, _ := m.list.selected()
	m.state = msg.state
	m.list = newListModel(m.state, keep.ref())
	if m.screen == screenDetails && !m.refreshDetails() {
		m.screen = screenList
	}
}

// refreshDetails redraws the details screen; false when its identity is
// no longer there.
func (m *Model) refreshDetails() bool {
	if m.screen != screenDetails {
		return true
	}
	return m.details.refresh(m.state, m.width, m.bodyHeight(), m.opts.Now(), m.providerNames(), m.st)
}

func (m *Model) providerNames() map[string]string {
	names := make(map[string]string, len(m.providers))
	for _, p := range m.providers {
		names[p.Name] = p.DisplayName
	}
	return names
}

func (m *Model) setStatus(kind statusKind, text string) {
	m.status = status{text: termtext.Line(text), kind: kind}
}

func (m *Model) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	if msg.String() == "ctrl+c" {
		m.stop()
		return tea.Quit
	}
	if m.busy != nil {
		return m.busyKey(msg)
	}
	// The last result stays until the next key: after that it would
	// describe something the person has moved on from.
	m.status = status{}
	if m.screen == screenConfirm {
		return m.confirmKey(msg)
	}
	switch {
	case key.Matches(msg, m.keys.Quit):
		return tea.Quit
	case key.Matches(msg, m.keys.Help):
		m.showHelp = !m.showHelp
		m.refreshDetails()
		return nil
	}
	switch m.screen {
	case screenDetails:
		return m.detailsKey(msg)
	case screenPicker:
		return m.pickerKey(msg)
	}
	return m.listKey(msg)
}

func (m *Model) busyKey(msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, m.keys.Cancel):
		if !m.busy.canceled {
			m.busy.canceled = true
			m.busy.cancel()
		}
	case key.Matches(msg, m.keys.CopyURL) && m.busy.prompt.URL != "":
		return copyURL(m.opts.Clipboard, m.busy.prompt.URL)
	case key.Matches(msg, m.keys.Quit):
		m.stop()
		return tea.Quit
	}
	return nil
}

func (m *Model) listKey(msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, m.keys.Up):
		m.list.move(-1)
	case key.Matches(msg, m.keys.Down):
		m.list.move(1)
	case key.Matches(msg, m.keys.PageUp):
		m.list.move(-max(m.bodyHeight()-1, 1))
	case key.Matches(msg, m.keys.PageDown):
		m.list.move(max(m.bodyHeight()-1, 1))
	case key.Matches(msg, m.keys.Back):
		m.status = status{}
	case key.Matches(msg, m.keys.Link):
		return m.openPicker()
	case key.Matches(msg, m.keys.Details):
		if r, ok := m.list.selected(); ok {
			m.details = newDetailsModel(r.ref())
			m.screen = screenDetails
			m.refreshDetails()
		}
	default:
		if r, ok := m.list.selected(); ok {
			return m.identityKey(msg, r.ref())
		}
	}
	return nil
}

func (m *Model) detailsKey(msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, m.keys.Back):
		m.screen = screenList
	case key.Matches(msg, m.keys.Up):
		m.details.scroll(-1)
	case key.Matches(msg, m.keys.Down):
		m.details.scroll(1)
	case key.Matches(msg, m.keys.PageUp):
		m.details.scroll(-max(m.bodyHeight()-1, 1))
	case key.Matches(msg, m.keys.PageDown):
		m.details.scroll(max(m.bodyHeight()-1, 1))
	default:
		return m.identityKey(msg, m.details.ref)
	}
	return nil
}

// identityKey runs the actions on one identity, from the list or details.
func (m *Model) identityKey(msg tea.KeyMsg, ref identityRef) tea.Cmd {
	switch {
	case key.Matches(msg, m.keys.Refresh):
		return m.refresh(ref)
	case key.Matches(msg, m.keys.SignIn):
		return m.signInAgain(ref)
	case key.Matches(msg, m.keys.Copy):
		return m.copyToken(ref)
	case key.Matches(msg, m.keys.Default):
		return m.setDefault(ref.account)
	case key.Matches(msg, m.keys.Unlink):
		return m.askUnlink(ref)
	}
	return nil
}

func (m *Model) pickerKey(msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, m.keys.Up):
		m.picker.move(-1)
	case key.Matches(msg, m.keys.Down):
		m.picker.move(1)
	case key.Matches(msg, m.keys.Back):
		m.screen = screenList
	case key.Matches(msg, m.keys.Choose):
		p, ok := m.picker.selected()
		if !ok {
			return nil
		}
		if !p.Ready {
			m.setStatus(statusError, p.Name+" is not ready: "+p.Problem)
			return nil
		}
		m.screen = screenList
		if m.picker.account == "" {
			return m.firstSignIn(p)
		}
		return m.link(p, m.picker.account)
	}
	return nil
}

func (m *Model) confirmKey(msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, m.keys.Yes):
		m.screen = m.confirm.back
		return m.confirm.yes()
	case key.Matches(msg, m.keys.No), key.Matches(msg, m.keys.Quit):
		m.screen = m.confirm.back
		m.setStatus(statusInfo, "Nothing changed.")
	}
	return nil
}

// openPicker shows the providers for the selected account (or for a first
// sign-in when there are no accounts).
func (m *Model) openPicker() tea.Cmd {
	account := ""
	if r, ok := m.list.selected(); ok {
		account = r.account
	} else if !m.list.empty() || !m.loaded || m.state == nil {
		return nil
	}
	m.picker = newPickerModel(account, linkable(m.providers, m.state, account), m.providersErr)
	m.screen = screenPicker
	return nil
}

// askUnlink refuses an account's last identity at once (the accounts
// package's own rule, checked on a copy: nothing changes) and asks before
// anything else.
func (m *Model) askUnlink(ref identityRef) tea.Cmd {
	if m.state == nil {
		return nil
	}
	if _, err := m.state.Clone().Unlink(ref.account, ref.provider, ref.subject); err != nil {
		m.setStatus(statusWarn, "Not unlinked: "+sentence(err)+". Nothing changed.")
		return nil
	}
	who := m.identityLabel(ref)
	m.confirm = confirmModel{
		question: "Unlink " + who + " from account " + ref.account + "?",
		detail:   "Its tokens are revoked at the provider and deleted here. You can link it again later.",
		yes:      func() tea.Cmd { return m.unlink(ref) },
		back:     m.screen,
	}
	m.screen = screenConfirm
	return nil
}

// identityLabel names an identity for sentences: "the Second IdP identity
// ada@example.com".
func (m *Model) identityLabel(ref identityRef) string {
	who := termtext.Line(ref.subject)
	if _, id, ok := findIdentity(m.state, ref); ok && id.Email != "" {
		who = termtext.Line(id.Email)
	}
	return "the " + providerName(ref.provider, m.providerNames()) + " identity " + who
}

// sentence is an error as one sentence without its final period.
func sentence(err error) string {
	return strings.TrimSuffix(termtext.Line(err.Error()), ".")
}
