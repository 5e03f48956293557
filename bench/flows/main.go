// Command flows times refresh and browser sign-in of authcli side by side
// with kubelogin's, on one embedded provider (internal/devidp) on
// 127.0.0.1, for bench/flows.sh. Every client is a real process; the
// provider counts the HTTP requests each one makes, and its grants.
//
// Refresh: each client is signed in once, then called round after round,
// the rows alternating (paired, as bench/pair does): a cached call of each
// client, and a forced refresh (authcli token --min-ttl beyond the tokens'
// life, at 1 and 1,000 identities; kubelogin get-token --force-refresh). A
// refresh counts only if the provider saw exactly one more refresh grant
// and no reused refresh token: rotation is on, so N clean rounds mean N
// rotated refresh tokens stored. Then the same refresh through an agent
// (authcli agent start), whose process does the grant where a standalone
// call starts a detached one: fewer rounds, 2.1 s apart, since the agent
// hands a refresh's result to callers within 2 s of it.
//
// Sign-in: this program is the browser. $BROWSER (authcli) and
// --browser-command (kubelogin) run this same binary, which hands the URL
// back over a unix socket; the harness signs in at the provider and times
// from sending the callback request (the provider's answer reaching the
// client) to the client process exiting, its tokens stored.
//
// Usage: flows -authcli PATH -mkstate PATH [-kubelogin PATH] [-runs N] [-warmup N]
package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/authcli/authcli/internal/devidp"
)

const (
	browserSockEnv = "FLOWS_BROWSER_SOCK" // set: this process is the browser helper
	browserUA      = "bench-flows-browser"
	clientID       = "bench"
	user           = "grace" // no e-mail shared with bench/mkstate's identities
	minTTL         = "2h"    // longer than the provider's 1h tokens: every call refreshes
)

type client struct {
	name    string
	env     []string
	argv    []string
	grants  int           // refresh grants each call must make
	prepare func()        // before each sign-in
	user    func() string // who signs in; nil: user
	agent   bool          // the grant is the agent's: strace of the caller does not see it
}

type harness struct {
	idp    *devidp.Server
	urls   chan string
	self   string
	work   string
	mu     sync.Mutex
	counts map[string]int
	seen   []request                       // since take
	after  map[string]map[string][]float64 // client → request → ms after the answer
}

type request struct {
	what string
	at   time.Time
}

func main() {
	if sock := os.Getenv(browserSockEnv); sock != "" {
		os.Exit(handOver(sock, os.Args[len(os.Args)-1]))
	}
	authcli := flag.String("authcli", "", "the lean authcli binary")
	mkstate := flag.String("mkstate", "", "the bench/mkstate binary")
	kubelogin := flag.String("kubelogin", os.Getenv("KUBELOGIN"), "kubelogin binary (default $KUBELOGIN); empty skips its rows")
	runs := flag.Int("runs", 50, "measured rounds")
	warmup := flag.Int("warmup", 5, "untimed rounds first")
	flag.Parse()
	if *authcli == "" || *mkstate == "" {
		fmt.Fprintln(os.Stderr, "usage: flows -authcli PATH -mkstate PATH [-kubelogin PATH] [-runs N]")
		os.Exit(2)
	}
	if err := run(*authcli, *mkstate, *kubelogin, *runs, *warmup); err != nil {
		fmt.Fprintln(os.Stderr, "flows:", err)
		os.Exit(1)
	}
}

func run(authcli, mkstate, kubelogin string, runs, warmup int) error {
	work, err := os.MkdirTemp("", "flows-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	h := &harness{urls: make(chan string, 1), work: work, counts: map[string]int{}, after: map[string]map[string][]float64{}}
	if h.self, err = os.Executable(); err != nil {
		return err
	}
	// Users of their own for the rows that sign in a new identity each time.
	users := devidp.DemoUsers()
	for i := range 2 * (runs + warmup + 1) { // two rows of them
		sub := fmt.Sprintf("new-%04d", i)
		users = append(users, devidp.User{Subject: sub, Email: sub + "@example.org", EmailVerified: true, Name: "New " + sub})
	}
	newUser := 0
	h.idp, err = devidp.Start(devidp.Options{
		Users: users,
		Clients: []devidp.Client{{ID: clientID, RedirectURIs: []string{
			"http://127.0.0.1/callback/" + devidp.SubPathWildcard, // authcli
			"http://localhost", // kubelogin's loopback default
		}}},
		AccessTokenTTL: time.Hour,
		OnRequest:      h.count,
	})
	if err != nil {
		return err
	}
	defer h.idp.Close()
	sock := filepath.Join(work, "browser.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return err
	}
	defer ln.Close()
	go h.acceptURLs(ln)

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	vaultEnv := []string{"AUTHCLI_VAULT=file", "AUTHCLI_VAULT_KEY=" + base64.StdEncoding.EncodeToString(key)}
	cfg := filepath.Join(work, "config.toml")
	toml := fmt.Sprintf("[providers.bench]\nkind = \"oidc\"\nissuer = %q\nclient_id = %q\n", h.idp.Issuer(), clientID)
	if err := os.WriteFile(cfg, []byte(toml), 0o600); err != nil {
		return err
	}
	authcliIn := func(state string) []string {
		return append([]string{"AUTHCLI_STATE_DIR=" + filepath.Join(work, state), "AUTHCLI_CONFIG=" + cfg,
			"BROWSER=" + h.self, browserSockEnv + "=" + sock, "DISPLAY=", "WAYLAND_DISPLAY=", "AUTHCLI_AGENT_SOCK="}, vaultEnv...)
	}
	for n, dir := range map[int]string{1: "one", 1000: "many"} {
		if _, err := h.timed([]string{mkstate, "-dir", filepath.Join(work, dir), "-n", fmt.Sprint(n)}, vaultEnv); err != nil {
			return fmt.Errorf("mkstate: %w", err)
		}
	}
	// One state dir per size; each is signed in once first and then both
	// refreshed (rows below) and signed in again (sign-in rows).
	login := []string{authcli, "login", "bench"}
	one, many := authcliIn("one"), authcliIn("many")
	signers := []client{
		{name: "authcli, 1 identity", env: one, argv: login},
		{name: "authcli, 1,000 identities", env: many, argv: login},
	}
	setup := slices.Clone(signers)
	fresh := func() string { newUser++; return fmt.Sprintf("new-%04d", newUser-1) }
	signers = append(signers,
		client{name: "authcli, 1, new identity", env: one, argv: login, user: fresh},
		client{name: "authcli, 1,000, new identity", env: many, argv: login, user: fresh})
	token := []string{authcli, "token", "bench", "--subject", user}
	refresh := append(slices.Clone(token), "--min-ttl", minTTL)
	// Through an agent (authcli agent start, one per state dir, started
	// after the first sign-ins): the refresh is the agent's, in its own
	// process, where a standalone call starts a detached one so that no
	// fate of the caller can cut it (internal/cli/refresh.go).
	agentSock := func(state string) string { return filepath.Join(work, "agent-"+state+".sock") }
	viaAgent := func(state string) []string {
		return append(authcliIn(state), "AUTHCLI_AGENT_SOCK="+agentSock(state))
	}
	rows := []client{
		{name: "authcli token, cached", env: one, argv: token},
		{name: "authcli, 1 identity", env: one, argv: refresh, grants: 1},
		{name: "authcli, 1,000 identities", env: many, argv: refresh, grants: 1},
	}
	agentRows := []client{
		{name: "authcli via agent, 1", env: viaAgent("one"), argv: refresh, grants: 1, agent: true},
		{name: "authcli via agent, 1,000", env: viaAgent("many"), argv: refresh, grants: 1, agent: true},
		rows[1],
	}
	if kubelogin == "" {
		fmt.Println("(KUBELOGIN is not set: kubelogin's rows are skipped)")
	} else {
		kl := func(dir string, more ...string) []string {
			return append([]string{kubelogin, "get-token", "--oidc-issuer-url=" + h.idp.Issuer(), "--oidc-client-id=" + clientID,
				"--oidc-extra-scope=email,profile,offline_access", "--token-cache-storage=disk",
				"--token-cache-dir=" + filepath.Join(work, dir), "--browser-command=" + h.self,
				"--listen-address=127.0.0.1:" + freePort()}, more...)
		}
		env := []string{browserSockEnv + "=" + sock}
		setup = append(setup, client{name: "kubelogin", env: env, argv: kl("kl")})
		force := client{name: "kubelogin --force-refresh", env: env, argv: kl("kl", "--force-refresh"), grants: 1}
		rows = append(rows, client{name: "kubelogin get-token, cached", env: env, argv: kl("kl")}, force)
		agentRows = append(agentRows, force)
		signers = append(signers, client{name: "kubelogin, empty cache", env: env, argv: kl("kl-signin"),
			prepare: func() { _ = os.RemoveAll(filepath.Join(work, "kl-signin")) }})
	}
	for _, c := range setup {
		if _, _, err := h.signIn(c, nil); err != nil {
			return fmt.Errorf("%s: first sign-in: %w", c.name, err)
		}
	}
	for _, state := range []string{"one", "many"} {
		if _, err := h.timed([]string{authcli, "agent", "start", "--socket", agentSock(state)}, authcliIn(state)); err != nil {
			return fmt.Errorf("agent start: %w", err)
		}
		defer func() { _, _ = h.timed([]string{authcli, "agent", "stop"}, viaAgent(state)) }()
	}

	fmt.Printf("\n== refresh (--min-ttl %s, longer than the 1 h tokens, or --force-refresh), %d paired rounds; ratio: to the last row\n", minTTL, runs)
	refreshOnce := func(c client) (float64, float64, error) {
		before := h.idp.Stats()
		d, t0, err := h.timedFrom(c.argv, c.env)
		after := h.idp.Stats()
		h.noteAfter(c.name, t0)
		if err == nil && (after.RefreshGrants != before.RefreshGrants+c.grants || after.RefreshReuseDetected != before.RefreshReuseDetected) {
			err = fmt.Errorf("not %d clean refresh grants: %+v then %+v", c.grants, before, after)
		}
		return ms(d), 0, err
	}
	times, _, reqs, err := h.rounds(rows, runs, warmup, refreshOnce)
	if err != nil {
		return err
	}
	report(rows, times, reqs, runs)
	h.printAfter(rows, times, runs)

	// An agent hands a refresh's result to the callers that come within
	// 2 s of it (internal/agent/flight.go: settle), so its rounds wait
	// that long first: fewer of them.
	agentRuns := max(runs/4, 5)
	fmt.Printf("\n== refresh through the agent (the grant in the agent's process), %d paired rounds %s apart; ratio: to the last row\n", agentRuns, agentSettle)
	times, _, reqs, err = h.rounds(agentRows, agentRuns, 1, func(c client) (float64, float64, error) {
		if c.name == agentRows[0].name {
			time.Sleep(agentSettle)
			// A cached call first, so that the machine is as warm for
			// the first row as for the others.
			if _, err := h.timed(token, one); err != nil {
				return 0, 0, err
			}
		}
		return refreshOnce(c)
	})
	if err != nil {
		return err
	}
	report(agentRows, times, reqs, agentRuns)
	h.printAfter(agentRows, times, agentRuns)

	fmt.Printf("\n== sign-in as %s (a known identity; \"new identity\": another user each time), provider's answer → process exit, %d paired rounds; ratio: to the last row\n", user, runs)
	times, pages, reqs, err := h.rounds(signers, runs, warmup, func(c client) (float64, float64, error) {
		exit, page, err := h.signIn(c, nil)
		return ms(exit), ms(page), err
	})
	if err != nil {
		return err
	}
	report(signers, times, reqs, runs)
	fmt.Println("  after the answer, medians: when the provider got each request, the callback page came back, the process exited")
	for i, c := range signers {
		fmt.Printf("  %-28s %s, page %.2f, exit %.2f ms\n", c.name, h.afterLine(c.name, runs/2), median(pages[i]), median(times[i]))
	}
	st := h.idp.Stats()
	fmt.Printf("\nprovider: %d code exchanges, %d refreshes, %d reused refresh tokens\n", st.AuthCodeGrants, st.RefreshGrants, st.RefreshReuseDetected)
	return h.straceAll(slices.DeleteFunc(rows, func(c client) bool { return c.grants == 0 || c.agent }), signers)
}

// agentSettle is a little more than the agent's settle.
const agentSettle = 2100 * time.Millisecond

// printAfter prints, for the clients that refresh, when the provider got
// each of their requests and when they exited.
func (h *harness) printAfter(cs []client, times [][]float64, runs int) {
	fmt.Println("  after the start, medians: when the provider got each request, the process exited")
	for i, c := range cs {
		if c.grants > 0 {
			fmt.Printf("  %-28s %s, exit %.2f ms\n", c.name, h.afterLine(c.name, runs/2), median(times[i]))
		}
	}
}

// rounds runs measure on each client in turn, round after round, and
// returns the two series it measures and the requests the provider saw
// from each client in the measured rounds.
func (h *harness) rounds(cs []client, runs, warmup int, measure func(client) (float64, float64, error)) (a, b [][]float64, reqs []map[string]int, err error) {
	a, b, reqs = make([][]float64, len(cs)), make([][]float64, len(cs)), make([]map[string]int, len(cs))
	// What noteAfter keeps is one section's: a sign-in row has the name
	// of the refresh row of its state dir, whose requests it must not
	// show.
	h.mu.Lock()
	h.after = map[string]map[string][]float64{}
	h.mu.Unlock()
	for round := -warmup; round < runs; round++ {
		for i, c := range cs {
			h.take()
			x, y, err := measure(c)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("%s: %w", c.name, err)
			}
			if round >= 0 {
				a[i], b[i] = append(a[i], x), append(b[i], y)
				reqs[i] = merge(reqs[i], h.take())
			}
		}
	}
	return a, b, reqs, nil
}

// report prints one row per client: median, median per-round ratio to the
// last client, and the requests per call the provider saw from it.
func report(cs []client, times [][]float64, reqs []map[string]int, runs int) {
	last := len(cs) - 1
	for i, c := range cs {
		ratios := make([]float64, len(times[i]))
		for r := range times[i] {
			ratios[r] = times[i][r] / times[last][r]
		}
		var rq []string
		for _, k := range slices.Sorted(maps.Keys(reqs[i])) {
			rq = append(rq, fmt.Sprintf("%.3g %s", float64(reqs[i][k])/float64(runs), k))
		}
		if len(rq) == 0 {
			rq = []string{"none"}
		}
		fmt.Printf("  %-28s %7.2f ms  %5.2f×  requests per call: %s\n",
			c.name, median(times[i]), median(ratios), strings.Join(rq, ", "))
	}
}

// signIn runs c's sign-in with this harness as the browser and returns
// answer→exit and answer→callback page.
func (h *harness) signIn(c client, prefix []string) (exit, page time.Duration, err error) {
	if c.prepare != nil {
		c.prepare()
	}
	argv := append(slices.Clone(prefix), c.argv...)
	cmd, log, _, err := h.start(argv, c.env)
	if err != nil {
		return 0, 0, err
	}
	exited := make(chan error, 1)
	var tExit time.Time
	go func() { err := cmd.Wait(); tExit = time.Now(); exited <- err }()
	var url string
	select {
	case url = <-h.urls:
	case err := <-exited:
		return 0, 0, fmt.Errorf("exited before opening the browser: %v%s", err, tail(log))
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		return 0, 0, fmt.Errorf("no browser URL within 20 s%s", tail(log))
	}
	tr := &browserTransport{issuer: h.idp.Issuer()}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	who := user
	if c.user != nil {
		who = c.user()
	}
	if err := devidp.PlayBrowser(ctx, &http.Client{Transport: tr}, url, devidp.Choice{User: who}); err != nil {
		_ = cmd.Process.Kill()
		return 0, 0, err
	}
	if err := <-exited; err != nil {
		return 0, 0, fmt.Errorf("%v%s", err, tail(log))
	}
	h.noteAfter(c.name, tr.t0)
	return tExit.Sub(tr.t0), tr.page.Sub(tr.t0), nil
}

// noteAfter keeps when the provider got each request since t0.
func (h *harness) noteAfter(name string, t0 time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.after[name] == nil {
		h.after[name] = map[string][]float64{}
	}
	for _, r := range h.seen {
		if r.at.After(t0) {
			h.after[name][r.what] = append(h.after[name][r.what], ms(r.at.Sub(t0)))
		}
	}
}

// afterLine is the medians noteAfter kept for name, earliest first, of
// the requests seen in at least min runs (a stray request of another
// process is not one of the client's).
func (h *harness) afterLine(name string, min int) string {
	var at []string
	for _, k := range slices.SortedFunc(maps.Keys(h.after[name]), func(a, b string) int {
		return cmp.Compare(median(h.after[name][a]), median(h.after[name][b]))
	}) {
		if len(h.after[name][k]) >= min {
			at = append(at, fmt.Sprintf("%s %.2f", k, median(h.after[name][k])))
		}
	}
	return strings.Join(at, ", ")
}

var transport = http.DefaultTransport.(*http.Transport).Clone()

// browserTransport marks the harness's own requests so they are not
// counted, and times the callback: the request to the client carrying the
// code.
type browserTransport struct {
	issuer   string
	t0, page time.Time
}

func (b *browserTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", browserUA)
	callback := !strings.HasPrefix(r.URL.String(), b.issuer+"/") && r.URL.Query().Has("code")
	if callback {
		b.t0 = time.Now()
	}
	resp, err := transport.RoundTrip(r)
	if callback {
		b.page = time.Now()
	}
	return resp, err
}

// start starts argv with env added, its output in a log file, and
// returns when it started.
func (h *harness) start(argv, env []string) (*exec.Cmd, string, time.Time, error) {
	log := filepath.Join(h.work, "last.log")
	f, err := os.Create(log)
	if err != nil {
		return nil, "", time.Time{}, err
	}
	defer f.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f // files, so Wait returns when the process exits
	t := time.Now()
	return cmd, log, t, cmd.Start()
}

func (h *harness) timed(argv, env []string) (time.Duration, error) {
	d, _, err := h.timedFrom(argv, env)
	return d, err
}

// timedFrom is timed that also says when the process started.
func (h *harness) timedFrom(argv, env []string) (time.Duration, time.Time, error) {
	cmd, log, t, err := h.start(argv, env)
	if err == nil {
		if err = cmd.Wait(); err != nil {
			err = fmt.Errorf("%v%s", err, tail(log))
		}
	}
	return time.Since(t), t, err
}

// straceAll counts the syscalls that make a write durable, or name it, in one refresh
// and one sign-in of each client, when strace is installed.
func (h *harness) straceAll(refreshers, signers []client) error {
	if _, err := exec.LookPath("strace"); err != nil {
		fmt.Println("\n(strace is not installed: no syscall counts)")
		return nil
	}
	calls := "fsync,fdatasync,rename,renameat,renameat2,linkat,flock"
	fmt.Printf("\n== %s in one run (strace -f -c, all processes of the run)\n", calls)
	for _, s := range []struct {
		what string
		cs   []client
	}{{"refresh", refreshers}, {"sign-in", signers}} {
		for _, c := range s.cs {
			out := filepath.Join(h.work, "strace.out")
			prefix := []string{"strace", "-f", "-c", "-e", "trace=" + calls, "-o", out}
			var err error
			if s.what == "refresh" {
				_, err = h.timed(append(prefix, c.argv...), c.env)
			} else {
				_, _, err = h.signIn(c, prefix)
			}
			if err != nil {
				return fmt.Errorf("strace %s %s: %w", c.name, s.what, err)
			}
			fmt.Printf("  %-8s %-28s %s\n", s.what, c.name, straceCounts(out))
		}
	}
	return nil
}

func straceCounts(path string) string {
	b, _ := os.ReadFile(path)
	var got []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 5 && f[len(f)-1] != "total" && f[0] != "%" && !strings.HasPrefix(f[0], "-") {
			got = append(got, f[len(f)-1]+" "+f[3])
		}
	}
	if len(got) == 0 {
		return "none"
	}
	return strings.Join(got, ", ")
}

func (h *harness) count(r *http.Request) {
	if r.Header.Get("User-Agent") == browserUA {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.counts[r.Method+" "+r.URL.Path]++
	h.seen = append(h.seen, request{r.Method + " " + r.URL.Path, time.Now()})
}

func (h *harness) take() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.counts
	h.counts, h.seen = map[string]int{}, nil
	return c
}

func (h *harness) acceptURLs(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		b := make([]byte, 8<<10)
		n, _ := conn.Read(b)
		_ = conn.Close()
		h.urls <- strings.TrimSpace(string(b[:n]))
	}
}

// handOver is the browser helper: it gives the URL to the harness.
func handOver(sock, url string) int {
	conn, err := net.Dial("unix", sock)
	if err != nil {
		fmt.Fprintln(os.Stderr, "flows browser:", err)
		return 1
	}
	defer conn.Close()
	_, _ = conn.Write([]byte(url + "\n"))
	return 0
}

func freePort() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 600 {
		b = b[len(b)-600:]
	}
	return "\n" + string(b)
}

func merge(a, b map[string]int) map[string]int {
	if a == nil {
		a = map[string]int{}
	}
	for k, v := range b {
		a[k] += v
	}
	return a
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
