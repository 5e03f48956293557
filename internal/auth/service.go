package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/config"
	"github.com/authcli/authcli/internal/flow"
	"github.com/authcli/authcli/internal/provider"
	"github.com/authcli/authcli/internal/tokens"
	"github.com/authcli/authcli/internal/vault"
)

// Store is what the use cases need of the accounts store (accounts.Store).
type Store = tokens.AccountsStore

// Service runs authcli's use cases against one user's state.
type Service struct {
	// Config reads the config file; it is called only when a use case
	// needs it (never on the cached token path with a named provider).
	Config func() (*config.File, error)
	Store  Store
	Vault  vault.Vault
	// StateDir holds the refresh locks and the key cache.
	StateDir string
	HTTP     *http.Client     // nil: flow.NewHTTPClient
	Now      func() time.Time // nil: time.Now
	// Refresher runs refreshes; nil runs them in this process.
	Refresher Refresher
	// SlowPath, when set, is called as soon as a call leaves the cached
	// path (a lock wait or a refresh begins) and returns the context for
	// the rest of it: the CLI starts watching for signals only then, so
	// the cached path pays for no signal handler.
	SlowPath func(ctx context.Context) context.Context
	// Logf receives -v diagnostics: endpoints and outcomes, never tokens.
	Logf func(format string, args ...any)
	// Refreshed, when set, is called by Refresh as soon as a refresh's
	// tokens are stored, before what status shows of it is recorded: a
	// detached refresh tells its caller then.
	Refreshed func()
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) client() *http.Client {
	if s.HTTP == nil {
		s.HTTP = flow.NewHTTPClient(0)
	}
	return s.HTTP
}

func (s *Service) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
	}
}

// config reads the config file, remembering it.
func (s *Service) config() (*config.File, error) {
	if s.Config == nil {
		return nil, errors.New("no config file")
	}
	return s.Config()
}

// providerConfig returns the table called name ("" for the default) or the
// config's own error (unknown name, a problem in that table).
func (s *Service) providerConfig(name string) (*config.Provider, error) {
	f, err := s.config()
	if err != nil {
		return nil, err
	}
	return f.Provider(name)
}

func (s *Service) source(mint bool) *tokens.Source {
	return &tokens.Source{Vault: s.Vault, LockDir: filepath.Join(s.StateDir, "locks"), Now: s.Now, Mint: mint}
}

func (s *Service) keyCache() flow.KeyCache {
	if s.StateDir == "" {
		return nil
	}
	return &fileKeyCache{dir: filepath.Join(s.StateDir, "cache")}
}

// Want says whose token is wanted and how fresh.
type Want struct {
	Provider string // "" for the config's default provider
	Account  string // "" for the default account, else the only match
	Subject  string // chooses among several identities of one provider
	MinTTL   time.Duration
	IDToken  bool // the ID token must be fresh (and is what is wanted)
}

// Job is one identity's refresh, as a Refresher receives it.
type Job struct {
	Provider string
	Subject  string // accounts.MachineSubject for a machine identity
	Want     tokens.Want
}

// key is the identity's vault key.
func (j Job) key() string { return accounts.Identity{Provider: j.Provider, Subject: j.Subject}.Key() }

// MachineSubject is the subject of a client-credentials identity: it has
// no person, so one per provider.
const MachineSubject = "@client"

// Refresher runs a refresh while the caller holds the identity's lock. It
// takes ownership of lock and returns the stored record.
type Refresher interface {
	Refresh(ctx context.Context, job Job, lock *tokens.Lock) (tokens.Record, error)
}

// Fresh returns the wanted identity's tokens, refreshed first when the
// wanted token expires within MinTTL. The cached path reads the accounts
// store and one vault record, nothing else. Across processes one refresh
// runs at a time per identity, and a caller that waited uses what the
// other one stored rather than spending the refresh token again: with
// rotating refresh tokens, a second use would revoke the whole family.
func (s *Service) Fresh(ctx context.Context, w Want) (tokens.Record, error) {
	early := s.readNamed(w)
	job, err := s.find(w)
	if err != nil {
		early.discard()
		return tokens.Record{}, err
	}
	src := s.source(job.Subject == MachineSubject)
	rec, err := early.of(job, src)
	if err != nil {
		return tokens.Record{}, s.identityError(w, job, err)
	}
	if src.Usable(rec, job.Want) {
		return rec, nil
	}
	// A record with an access token and no ID token never had one (a
	// record whose refresh failed a check has neither, and refreshes).
	if w.IDToken && rec.IDToken == "" && rec.AccessToken != "" {
		return tokens.Record{}, s.identityError(w, job, ErrNoIDToken)
	}
	if s.SlowPath != nil {
		ctx = s.SlowPath(ctx)
	}
	s.logf("the %s token expires within %s; waiting for the refresh lock", job.Provider, job.Want.MinTTL)
	lock, err := src.Lock(ctx, job.key())
	if err != nil {
		return tokens.Record{}, err
	}
	if got, done, err := src.Settled(job.key(), job.Want, rec); err != nil || done {
		lock.Unlock()
		if done {
			s.logf("another authcli refreshed the %s tokens meanwhile", job.Provider)
		}
		return got, s.identityError(w, job, err)
	}
	r := s.Refresher
	if r == nil {
		r = s
	}
	got, err := r.Refresh(ctx, job, lock)
	return got, s.identityError(w, job, err)
}

// earlyRead is the read of a record whose key the caller named, started
// before the accounts store has found the identity (readNamed).
type earlyRead struct {
	key  string
	done chan struct{}
	rec  tokens.Record
	err  error
}

// readNamed starts reading the record of the identity w names by provider
// and subject, whose key is then known before the accounts store says the
// identity is there: the two reads overlap (at 1,000 identities the
// store's, of a 64 KB index, took 0.2-0.3 ms cold). nil when w does not
// name one.
func (s *Service) readNamed(w Want) *earlyRead {
	if w.Provider == "" || w.Subject == "" || w.Subject == MachineSubject {
		return nil
	}
	e := &earlyRead{key: Job{Provider: w.Provider, Subject: w.Subject}.key(), done: make(chan struct{})}
	go func() {
		defer close(e.done)
		e.rec, e.err = s.source(false).Read(e.key)
	}()
	return e
}

// of is job's record: the early read when it was of job's key (never a
// machine identity's: readNamed reads no such key), else a read now.
func (e *earlyRead) of(job Job, src *tokens.Source) (tokens.Record, error) {
	if e != nil {
		<-e.done
		if e.key == job.key() {
			return e.rec, e.err
		}
	}
	return src.Read(job.key())
}

// discard waits for an early read nobody will use, so that nothing reads
// the vault once Fresh has returned.
func (e *earlyRead) discard() {
	if e != nil {
		<-e.done
	}
}

func (s *Service) identityError(w Want, job Job, err error) error {
	if err == nil {
		return nil
	}
	var ie *IdentityError
	if errors.As(err, &ie) {
		return err
	}
	return &IdentityError{Provider: job.Provider, Account: w.Account, Subject: w.Subject, Err: err}
}

// find picks the identity, from the accounts store alone when it can.
func (s *Service) find(w Want) (Job, error) {
	want := tokens.Want{MinTTL: w.MinTTL, IDToken: w.IDToken}
	name := w.Provider
	if name == "" {
		pc, err := s.providerConfig("")
		if err != nil {
			return Job{}, err
		}
		name = pc.Name
	}
	id, findErr := s.lookup(name, w.Account, w.Subject)
	if findErr == nil {
		return Job{Provider: id.Provider, Subject: id.Subject, Want: want}, nil
	}
	if !errors.Is(findErr, accounts.ErrNotFound) {
		return Job{}, findErr
	}
	// Not a person's identity. The config says whether the provider
	// exists, has a problem, or is a machine identity.
	pc, err := s.providerConfig(name)
	if err != nil {
		return Job{}, err
	}
	if pc.Grant == config.GrantClientCredentials {
		if _, err := provider.Build(pc, s.Now); err != nil {
			return Job{}, err
		}
		return Job{Provider: name, Subject: MachineSubject, Want: want}, nil
	}
	if _, err := provider.Build(pc, s.Now); err != nil {
		return Job{}, err // a table that cannot work says why
	}
	return Job{}, &IdentityError{Provider: name, Account: w.Account, Subject: w.Subject, Err: ErrNoIdentity}
}

// lookuper is the accounts store's fast identity lookup (accounts.Store
// has it); stores without it are read whole.
type lookuper interface {
	Lookup(provider, account, subject string) (accounts.Ref, error)
}

// lookup is State.FindSubject on the store. accounts.Store answers from
// the small index beside accounts.json instead of parsing every account,
// so the cached path stays flat in the number of identities.
func (s *Service) lookup(provider, account, subject string) (accounts.Ref, error) {
	if l, ok := s.Store.(lookuper); ok {
		return l.Lookup(provider, account, subject)
	}
	st, err := s.Store.Load()
	if err != nil {
		return accounts.Ref{}, err
	}
	a, id, err := st.FindSubject(provider, account, subject)
	if err != nil {
		return accounts.Ref{}, err
	}
	return accounts.Ref{Account: a.Name, Provider: id.Provider, Subject: id.Subject}, nil
}

// Stored reads job's record after a Refresher stored it elsewhere (another
// process), held to what Fresh promises its caller.
func (s *Service) Stored(job Job) (tokens.Record, error) {
	rec, err := s.source(job.Subject == MachineSubject).Read(job.key())
	if err != nil {
		return tokens.Record{}, err
	}
	tok := rec.AccessToken
	if job.Want.IDToken {
		tok = rec.IDToken
	}
	if tok == "" {
		return tokens.Record{}, fmt.Errorf("%w: the provider refreshed the tokens without a new ID token", ErrSignInRequired)
	}
	return rec, nil
}

// refreshNoter is accounts.Store's NoteRefresh.
type refreshNoter interface {
	NoteRefresh(provider, subject string, expiry time.Time, refreshable bool, scopes []string, now time.Time) error
}

// refreshTimeout bounds a refresh once it has begun. The grant does not
// end with the caller's context: a signal must not cut it between the
// provider spending the old refresh token and authcli storing the new one.
const refreshTimeout = 45 * time.Second

// Refresh is the in-process Refresher: it runs the grant for job while
// holding lock, stores the answer, and records the outcome in the
// accounts store. The caller's context ending does not interrupt it.
func (s *Service) Refresh(ctx context.Context, job Job, lock *tokens.Lock) (tokens.Record, error) {
	defer lock.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
	defer cancel()
	// The config is read while the vault reads the record: the grant needs
	// both, and neither waits on the other.
	type built struct {
		grant tokens.GrantFunc
		err   error
	}
	ready := make(chan built, 1)
	go func() {
		g, err := s.grantFor(job)
		ready <- built{g, err}
	}()
	grant := func(ctx context.Context, rec tokens.Record, keep func(tokens.Record) error) (tokens.Record, error) {
		b := <-ready
		if b.err != nil {
			return tokens.Record{}, b.err
		}
		return b.grant(ctx, rec, keep)
	}
	src := s.source(job.Subject == MachineSubject)
	rec, err := src.Refresh(ctx, job.key(), job.Want, grant)
	if job.Subject == MachineSubject {
		return rec, err
	}
	switch {
	case errors.Is(err, ErrSignInRequired):
		s.logf("the provider refused the %s refresh token; marking the identity as needing sign-in", job.Provider)
		_ = s.Store.Update(func(st *accounts.State) error { return st.MarkNeedsSignIn(job.Provider, job.Subject) })
	case err == nil:
		if s.Refreshed != nil {
			s.Refreshed()
		}
		// For status only: the tokens are already stored. A store that
		// can note a refresh beside accounts.json spares rewriting (and
		// fsyncing) all of it on every refresh.
		if n, ok := s.Store.(refreshNoter); ok {
			_ = n.NoteRefresh(job.Provider, job.Subject, rec.Expiry, rec.RefreshToken != "", rec.Scopes, s.now())
		} else {
			_ = s.Store.Update(func(st *accounts.State) error {
				return st.RecordRefresh(job.Provider, job.Subject, rec.Expiry, rec.RefreshToken != "", rec.Scopes, s.now())
			})
		}
	}
	return rec, err
}

// grantFor builds the grant of job's provider from the config: the config
// is read only now, on the slow path.
func (s *Service) grantFor(job Job) (tokens.GrantFunc, error) {
	f, err := s.config()
	if err != nil {
		return nil, err
	}
	pc, ok := f.Providers[job.Provider]
	if !ok {
		if problem, bad := f.Problems[job.Provider]; bad {
			return nil, problem
		}
		return nil, ErrProviderGone
	}
	p, err := provider.Build(pc, s.Now)
	if err != nil {
		return nil, err
	}
	if job.Subject == MachineSubject {
		return s.clientCredentials(p, pc.Scopes), nil
	}
	return s.refreshGrant(p, job.Subject), nil
}

// refreshGrant spends the record's refresh token and checks the answer.
// The keys that check a refreshed ID token are at hand before the grant,
// so between the provider's answer and the store nothing waits on the
// network — except after an unknown key, and the rotated refresh token is
// kept before that fetch.
func (s *Service) refreshGrant(p flow.Provider, subject string) tokens.GrantFunc {
	return func(ctx context.Context, rec tokens.Record, keep func(tokens.Record) error) (tokens.Record, error) {
		if rec.RefreshToken == "" {
			return tokens.Record{}, fmt.Errorf("%w: the token expired and the provider gave no refresh token", ErrSignInRequired)
		}
		client, cache := s.client(), s.keyCache()
		known := knownOf(rec)
		e, err := p.RefreshEndpoints(ctx, client, known, cache, false, s.Now)
		if err != nil {
			return tokens.Record{}, err
		}
		s.logf("refreshing the %s tokens at %s", p.Name, e.Token)
		tok, err := p.RefreshGrant(ctx, client, e.Token, rec.RefreshToken, s.now())
		if err != nil {
			if isRejection(err) {
				return tokens.Record{}, fmt.Errorf("%w: %w", ErrSignInRequired, err)
			}
			return tokens.Record{}, err
		}
		answer := tokens.Record{AccessToken: tok.AccessToken, TokenType: tok.TokenType, Expiry: tok.Expiry}
		if rotated := tok.RefreshToken != rec.RefreshToken && tok.RefreshToken != ""; rotated && !flow.ValidToken(tok.RefreshToken) {
			// The old token is spent and the new one is not an RFC 6749
			// token: storing it is refused, presenting the old one again
			// would be reuse. Forget both; the identity needs a sign-in.
			if err := s.Vault.Delete(accounts.Identity{Provider: p.Name, Subject: subject}.Key()); err != nil {
				return tokens.Record{}, err
			}
			return tokens.Record{}, fmt.Errorf("%w: %w: its new refresh token holds characters RFC 6749 does not allow in a token", ErrSignInRequired, flow.ErrRefreshCheck)
		} else if rotated {
			answer.RefreshToken = tok.RefreshToken
		}
		s.logf("the provider answered (refresh token rotated: %t)", answer.RefreshToken != "")
		v, err := flow.VerifyRefresh(ctx, e, p.ClientID, subject, tok, s.now())
		if errors.Is(err, flow.ErrUnknownKey) {
			s.logf("the refreshed ID token names an unknown key; fetching the provider's keys again")
			if kerr := keep(answer); kerr != nil {
				return answer, errors.Join(err, kerr)
			}
			if e, err = p.RefreshEndpoints(ctx, client, known, cache, true, s.Now); err == nil {
				v, err = flow.VerifyRefresh(ctx, e, p.ClientID, subject, tok, s.now())
			}
		}
		if err != nil {
			if answer.RefreshToken != "" {
				s.logf("the answer failed verification; keeping only its rotated refresh token")
			}
			return answer, err
		}
		answer.Scopes = v.Scopes
		if v.IDToken != "" {
			answer.IDToken, answer.IDTokenExpiry = v.IDToken, tokens.IDTokenExpiry(v.IDToken)
		}
		answer.Endpoints = endpointsOf(e)
		return answer, nil
	}
}

// clientCredentials gets machine tokens (grant = "client_credentials").
func (s *Service) clientCredentials(p flow.Provider, scopes []string) tokens.GrantFunc {
	return func(ctx context.Context, rec tokens.Record, _ func(tokens.Record) error) (tokens.Record, error) {
		tokenURL := p.TokenURL
		if tokenURL == "" && rec.Issuer == p.Issuer {
			tokenURL = rec.TokenURL // learnt by an earlier discovery
		}
		if tokenURL == "" {
			e, err := p.Resolve(ctx, s.client(), s.Now)
			if err != nil {
				return tokens.Record{}, err
			}
			tokenURL = e.Token
		}
		s.logf("getting a %s machine token at %s", p.Name, tokenURL)
		tok, err := p.ClientCredentials(ctx, s.client(), tokenURL)
		if err != nil {
			return tokens.Record{}, err
		}
		return tokens.Record{AccessToken: tok.AccessToken, TokenType: tok.TokenType, Expiry: tok.Expiry,
			Scopes: scopes, Endpoints: tokens.Endpoints{Issuer: p.Issuer, TokenURL: tokenURL}}, nil
	}
}

// isRejection tells a refresh error that means "sign in again" from a
// passing failure. Dex answers a dead refresh token with invalid_request
// rather than RFC 6749's invalid_grant; both mean the token is no good.
func isRejection(err error) bool {
	var pe *flow.ProviderError
	return errors.As(err, &pe) && (pe.Code == "invalid_grant" || pe.Code == "invalid_request")
}

func knownOf(rec tokens.Record) flow.Known {
	return flow.Known{Issuer: rec.Issuer, Token: rec.TokenURL, Revocation: rec.RevocationURL, JWKS: rec.JWKSURL, SigningAlgs: rec.SigningAlgs}
}

func endpointsOf(e *flow.Endpoints) tokens.Endpoints {
	if e == nil {
		return tokens.Endpoints{}
	}
	k := e.Known()
	return tokens.Endpoints{Issuer: k.Issuer, TokenURL: k.Token, RevocationURL: k.Revocation, JWKSURL: k.JWKS, SigningAlgs: k.SigningAlgs}
}
