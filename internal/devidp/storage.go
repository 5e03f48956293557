package devidp

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

const (
	authRequestTTL = 10 * time.Minute // from /authorize to the login decision
	authCodeTTL    = time.Minute      // from the code redirect to the exchange
)

// errNotFound is what the storage answers for unknown IDs, codes and tokens;
// the library turns it into the protocol's error (invalid_grant, 401, ...).
var errNotFound = errors.New("not found")

// authRequest is one authorization request from /authorize to the code
// exchange. The library gets copies, never the stored value, so the login
// page can complete a request while the library reads another copy.
type authRequest struct {
	id            string
	clientID      string
	redirectURI   string
	state         string
	nonce         string
	scopes        []string
	responseType  oidc.ResponseType
	responseMode  oidc.ResponseMode
	codeChallenge *oidc.CodeChallenge
	loginHint     string
	created       time.Time

	subject  string
	authTime time.Time
	done     bool

	code       string
	codeIssued time.Time
	exchanged  bool
}

func (a *authRequest) GetID() string                         { return a.id }
func (a *authRequest) GetACR() string                        { return "" }
func (a *authRequest) GetAMR() []string                      { return nil }
func (a *authRequest) GetAudience() []string                 { return []string{a.clientID} }
func (a *authRequest) GetAuthTime() time.Time                { return a.authTime }
func (a *authRequest) GetClientID() string                   { return a.clientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge { return a.codeChallenge }
func (a *authRequest) GetNonce() string                      { return a.nonce }
func (a *authRequest) GetRedirectURI() string                { return a.redirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType    { return a.responseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode    { return a.responseMode }
func (a *authRequest) GetScopes() []string                   { return a.scopes }
func (a *authRequest) GetState() string                      { return a.state }
func (a *authRequest) GetSubject() string                    { return a.subject }
func (a *authRequest) Done() bool                            { return a.done }

func (a *authRequest) clone() *authRequest {
	c := *a
	c.scopes = slices.Clone(a.scopes)
	if a.codeChallenge != nil {
		cc := *a.codeChallenge
		c.codeChallenge = &cc
	}
	return &c
}

// grant is the state every token of one sign-in shares: revoking it (reuse
// detection, revocation of a refresh token) revokes the whole family.
type grant struct {
	id       string
	clientID string
	subject  string
	scopes   []string
	authTime time.Time
	revoked  bool
}

type accessToken struct {
	id       string
	grant    *grant
	scopes   []string
	issued   time.Time
	expires  time.Time
	revoked  bool
	clientID string
}

type refreshToken struct {
	id      string // what the library sees as the token ID (never the token)
	token   string
	grant   *grant
	expires time.Time
	used    bool // rotated away: presenting it again is reuse
	revoked bool
}

// refreshRequest is what TokenRequestByRefreshToken hands the library.
type refreshRequest struct {
	token         string
	clientID      string
	subject       string
	authTime      time.Time
	currentScopes []string
}

func (r *refreshRequest) GetAMR() []string       { return nil }
func (r *refreshRequest) GetAudience() []string  { return []string{r.clientID} }
func (r *refreshRequest) GetAuthTime() time.Time { return r.authTime }
func (r *refreshRequest) GetClientID() string    { return r.clientID }
func (r *refreshRequest) GetScopes() []string    { return r.currentScopes }
func (r *refreshRequest) GetSubject() string     { return r.subject }
func (r *refreshRequest) SetCurrentScopes(scopes []string) {
	r.currentScopes = slices.Clone(scopes)
}

type deviceAuthorization struct {
	deviceCode string
	userCode   string
	clientID   string
	scopes     []string
	expires    time.Time // set by the library from the wall clock
	subject    string
	authTime   time.Time
	done       bool
	denied     bool
	lastPoll   time.Time // wall clock: measures the client's real waiting
	interval   time.Duration
}

// storage is the in-memory op.Storage. One mutex guards everything: the
// provider serves one person at a time and correctness (atomic rotation,
// single-use codes) matters more than throughput.
type storage struct {
	issuer     string
	users      []User
	clients    map[string]Client
	now        func() time.Time
	accessTTL  time.Duration
	refreshTTL time.Duration
	rotate     bool
	pollEvery  time.Duration
	approveAs  string // Options.ApproveDevicesAs
	log        *slog.Logger

	mu            sync.Mutex
	keys          []*signingKey // the last one signs
	authRequests  map[string]*authRequest
	codes         map[string]string // code -> auth request ID
	accessTokens  map[string]*accessToken
	refreshTokens map[string]*refreshToken // token -> record
	refreshByID   map[string]*refreshToken
	devices       map[string]*deviceAuthorization // device code -> record
	userCodes     map[string]string               // normalised user code -> device code
	counters      Stats
}

var (
	_ op.Storage                    = (*storage)(nil)
	_ op.DeviceAuthorizationStorage = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest  = (*storage)(nil)
)

func newStorage(issuer string, opts Options, key *signingKey, log *slog.Logger) *storage {
	s := &storage{
		issuer:        issuer,
		users:         slices.Clone(opts.Users),
		clients:       make(map[string]Client, len(opts.Clients)),
		now:           opts.Now,
		accessTTL:     opts.AccessTokenTTL,
		refreshTTL:    opts.RefreshTokenTTL,
		rotate:        !opts.NoRotation,
		pollEvery:     opts.DevicePollInterval,
		approveAs:     opts.ApproveDevicesAs,
		log:           log,
		keys:          []*signingKey{key},
		authRequests:  make(map[string]*authRequest),
		codes:         make(map[string]string),
		accessTokens:  make(map[string]*accessToken),
		refreshTokens: make(map[string]*refreshToken),
		refreshByID:   make(map[string]*refreshToken),
		devices:       make(map[string]*deviceAuthorization),
		userCodes:     make(map[string]string),
	}
	for _, c := range opts.Clients {
		c.RedirectURIs = slices.Clone(c.RedirectURIs)
		s.clients[c.ID] = c
	}
	return s
}

// randomID returns 32 bytes of entropy, URL-safe.
func randomID() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("devidp: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// findUser matches a subject exactly or an email case-insensitively.
func (s *storage) findUser(subjectOrEmail string) (User, bool) {
	for _, u := range s.users {
		if u.Subject == subjectOrEmail {
			return u, true
		}
	}
	for _, u := range s.users {
		if u.Email != "" && strings.EqualFold(u.Email, subjectOrEmail) {
			return u, true
		}
	}
	return User{}, false
}

func (s *storage) client(id string) (opClient, bool) {
	c, ok := s.clients[id]
	if !ok {
		return opClient{}, false
	}
	return opClient{c: c, issuer: s.issuer, tokenTTL: s.accessTTL}, true
}

// ---- authorization requests and codes ----

// CreateAuthRequest stores a validated authorization request. The library
// has already checked the client and redirect URI, so refusals here are
// redirected to the client: PKCE with S256 is required of public clients and
// "plain" is refused for everyone (RFC 9700 §2.1.1).
func (s *storage) CreateAuthRequest(_ context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[req.ClientID]
	if !ok {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	}
	switch {
	case req.CodeChallenge == "" && c.Secret == "":
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE is required: send code_challenge with code_challenge_method=S256")
	case req.CodeChallenge != "" && req.CodeChallengeMethod != oidc.CodeChallengeMethodS256:
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	if slices.Contains(req.Prompt, oidc.PromptNone) {
		return nil, oidc.ErrLoginRequired().WithDescription("the demo provider keeps no sessions; a login is always required")
	}
	id, err := randomID()
	if err != nil {
		return nil, err
	}
	now := s.now()
	s.purgeLocked(now)
	a := &authRequest{
		id:           id,
		clientID:     req.ClientID,
		redirectURI:  req.RedirectURI,
		state:        req.State,
		nonce:        req.Nonce,
		scopes:       slices.Clone([]string(req.Scopes)),
		responseType: req.ResponseType,
		responseMode: req.ResponseMode,
		loginHint:    req.LoginHint,
		created:      now,
	}
	if req.CodeChallenge != "" {
		a.codeChallenge = &oidc.CodeChallenge{Challenge: req.CodeChallenge, Method: req.CodeChallengeMethod}
	}
	s.authRequests[id] = a
	return a.clone(), nil
}

// purgeLocked drops expired auth requests, codes and device authorizations
// so a long-running demo does not grow without bound.
func (s *storage) purgeLocked(now time.Time) {
	for id, a := range s.authRequests {
		if now.Sub(a.created) > authRequestTTL+authCodeTTL {
			delete(s.authRequests, id)
			delete(s.codes, a.code)
		}
	}
	wall := time.Now()
	for dc, d := range s.devices {
		if wall.After(d.expires.Add(time.Minute)) {
			delete(s.devices, dc)
			delete(s.userCodes, normaliseUserCode(d.userCode))
		}
	}
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.authRequests[id]
	if !ok || s.now().Sub(a.created) > authRequestTTL {
		return nil, fmt.Errorf("auth request: %w", errNotFound)
	}
	return a.clone(), nil
}

// pendingAuthRequest returns a copy of an auth request the login page may
// still decide.
func (s *storage) pendingAuthRequest(id string) (*authRequest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.authRequests[id]
	if !ok || a.done || s.now().Sub(a.created) > authRequestTTL {
		return nil, false
	}
	return a.clone(), true
}

// completeAuthRequest records the user's approval.
func (s *storage) completeAuthRequest(id, subject string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.authRequests[id]
	if !ok || a.done || s.now().Sub(a.created) > authRequestTTL {
		return fmt.Errorf("auth request: %w", errNotFound)
	}
	if _, ok := s.findUser(subject); !ok {
		return ErrUnknownUser
	}
	a.subject = subject
	a.authTime = s.now()
	a.done = true
	return nil
}

// removeAuthRequest forgets a request the user denied.
func (s *storage) removeAuthRequest(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.authRequests[id]; ok {
		delete(s.codes, a.code)
		delete(s.authRequests, id)
	}
}

func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.codes[code]
	if !ok {
		return nil, fmt.Errorf("code: %w", errNotFound)
	}
	a, ok := s.authRequests[id]
	if !ok || !a.done || a.exchanged || s.now().Sub(a.codeIssued) > authCodeTTL {
		return nil, fmt.Errorf("code: %w", errNotFound)
	}
	return a.clone(), nil
}

func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.authRequests[id]
	if !ok || !a.done {
		return fmt.Errorf("auth request: %w", errNotFound)
	}
	if a.code != "" {
		// The callback was loaded twice: only the latest code is valid.
		delete(s.codes, a.code)
	}
	a.code = code
	a.codeIssued = s.now()
	s.codes[code] = id
	return nil
}

func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.authRequests[id]; ok {
		delete(s.codes, a.code)
		delete(s.authRequests, id)
	}
	return nil
}

// ---- tokens ----

// CreateAccessToken serves grants without offline_access.
func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.newGrantLocked(req)
	if err != nil {
		return "", time.Time{}, err
	}
	at, err := s.newAccessTokenLocked(g, req.GetScopes())
	if err != nil {
		return "", time.Time{}, err
	}
	return at.id, at.expires, nil
}

// CreateAccessAndRefreshTokens serves grants with offline_access and every
// refresh. On refresh with rotation the presented token is marked used in
// the same critical section that issues its successor, so two concurrent
// refreshes with one token cannot both succeed: the loser is reuse.
func (s *storage) CreateAccessAndRefreshTokens(_ context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if current == "" {
		g, err := s.newGrantLocked(req)
		if err != nil {
			return "", "", time.Time{}, err
		}
		rt, err := s.newRefreshTokenLocked(g)
		if err != nil {
			return "", "", time.Time{}, err
		}
		at, err := s.newAccessTokenLocked(g, req.GetScopes())
		if err != nil {
			return "", "", time.Time{}, err
		}
		return at.id, rt.token, at.expires, nil
	}

	rt, err := s.usableRefreshTokenLocked(current)
	if err != nil {
		return "", "", time.Time{}, err
	}
	rr, ok := req.(*refreshRequest)
	if !ok || rr.token != current || rr.clientID != rt.grant.clientID {
		return "", "", time.Time{}, oidc.ErrInvalidGrant()
	}
	next := rt
	if s.rotate {
		rt.used = true
		next, err = s.newRefreshTokenLocked(rt.grant)
		if err != nil {
			return "", "", time.Time{}, err
		}
	}
	at, err := s.newAccessTokenLocked(rt.grant, req.GetScopes())
	if err != nil {
		return "", "", time.Time{}, err
	}
	s.counters.RefreshGrants++
	return at.id, next.token, at.expires, nil
}

// newGrantLocked starts a token family for a code or device grant. A code
// grant is single-use: the second exchange of one code gets invalid_grant.
func (s *storage) newGrantLocked(req op.TokenRequest) (*grant, error) {
	id, err := randomID()
	if err != nil {
		return nil, err
	}
	g := &grant{id: id, subject: req.GetSubject(), scopes: slices.Clone(req.GetScopes())}
	switch r := req.(type) {
	case *authRequest:
		a, ok := s.authRequests[r.id]
		if !ok || !a.done || a.exchanged {
			return nil, oidc.ErrInvalidGrant().WithDescription("authorization code already used or expired")
		}
		a.exchanged = true
		g.clientID, g.authTime = a.clientID, a.authTime
		s.counters.AuthCodeGrants++
	case *op.DeviceAuthorizationState:
		g.clientID, g.authTime = r.ClientID, r.AuthTime
	case *machineRequest:
		g = machineGrant(id, r, s.now())
	default:
		return nil, oidc.ErrUnsupportedGrantType()
	}
	return g, nil
}

func (s *storage) newAccessTokenLocked(g *grant, scopes []string) (*accessToken, error) {
	id, err := randomID()
	if err != nil {
		return nil, err
	}
	now := s.now()
	at := &accessToken{id: id, grant: g, scopes: slices.Clone(scopes), issued: now, expires: now.Add(s.accessTTL), clientID: g.clientID}
	s.accessTokens[id] = at
	return at, nil
}

func (s *storage) newRefreshTokenLocked(g *grant) (*refreshToken, error) {
	token, err := randomID()
	if err != nil {
		return nil, err
	}
	id, err := randomID()
	if err != nil {
		return nil, err
	}
	rt := &refreshToken{id: id, token: token, grant: g, expires: s.now().Add(s.refreshTTL)}
	s.refreshTokens[token] = rt
	s.refreshByID[id] = rt
	return rt, nil
}

// usableRefreshTokenLocked looks a refresh token up and applies reuse
// detection: a used (rotated) token presented again revokes its family.
func (s *storage) usableRefreshTokenLocked(token string) (*refreshToken, error) {
	rt, ok := s.refreshTokens[token]
	switch {
	case !ok:
		return nil, oidc.ErrInvalidGrant().WithDescription("unknown refresh token")
	case rt.used:
		s.revokeGrantLocked(rt.grant)
		s.counters.RefreshReuseDetected++
		s.log.Warn("refresh token reuse detected; sign-in revoked", "client_id", rt.grant.clientID, "sub", rt.grant.subject)
		return nil, oidc.ErrInvalidGrant().WithDescription("refresh token was already used; the sign-in has been revoked")
	case rt.revoked || rt.grant.revoked:
		return nil, oidc.ErrInvalidGrant().WithDescription("refresh token revoked")
	case !s.now().Before(rt.expires):
		return nil, oidc.ErrInvalidGrant().WithDescription("refresh token expired")
	}
	return rt, nil
}

func (s *storage) revokeGrantLocked(g *grant) {
	g.revoked = true
	for _, rt := range s.refreshTokens {
		if rt.grant == g {
			rt.revoked = true
		}
	}
	for _, at := range s.accessTokens {
		if at.grant == g {
			at.revoked = true
		}
	}
}

func (s *storage) TokenRequestByRefreshToken(_ context.Context, token string) (op.RefreshTokenRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, err := s.usableRefreshTokenLocked(token)
	if err != nil {
		return nil, err
	}
	g := rt.grant
	return &refreshRequest{
		token:         token,
		clientID:      g.clientID,
		subject:       g.subject,
		authTime:      g.authTime,
		currentScopes: slices.Clone(g.scopes),
	}, nil
}

func (s *storage) TerminateSession(context.Context, string, string) error { return nil }

// GetRefreshTokenInfo lets the revocation endpoint recognise refresh tokens.
func (s *storage) GetRefreshTokenInfo(_ context.Context, _ string, token string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.refreshTokens[token]
	if !ok {
		return "", "", op.ErrInvalidRefreshToken
	}
	return rt.grant.subject, rt.id, nil
}

// RevokeToken implements RFC 7009. Revoking a refresh token revokes its
// whole sign-in (every refresh and access token of it, §2.1); revoking an
// access token revokes only that token. Unknown tokens are not an error.
func (s *storage) RevokeToken(_ context.Context, tokenOrID, _ string, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.refreshByID[tokenOrID]
	if !ok {
		rt, ok = s.refreshTokens[tokenOrID]
	}
	if ok {
		if rt.grant.clientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("token was not issued to this client")
		}
		s.revokeGrantLocked(rt.grant)
		s.counters.Revocations++
		return nil
	}
	if at, ok := s.accessTokens[tokenOrID]; ok {
		if at.clientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("token was not issued to this client")
		}
		at.revoked = true
		s.counters.Revocations++
	}
	return nil
}

// activeAccessToken returns a copy of a usable access token.
func (s *storage) activeAccessToken(id, subject string) (accessToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.accessTokens[id]
	if !ok || at.grant.subject != subject {
		return accessToken{}, fmt.Errorf("access token: %w", errNotFound)
	}
	if at.revoked || at.grant.revoked || !s.now().Before(at.expires) {
		return accessToken{}, errors.New("access token expired or revoked")
	}
	return *at, nil
}

// ---- keys ----

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[len(s.keys)-1], nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{s.signingAlg()}, nil
}

func (s *storage) signingAlg() jose.SignatureAlgorithm {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[0].alg
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]op.Key, 0, len(s.keys))
	for i := len(s.keys) - 1; i >= 0; i-- {
		keys = append(keys, publicKey{s.keys[i]})
	}
	return keys, nil
}

func (s *storage) addSigningKey(k *signingKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, k)
}

// ---- clients ----

func (s *storage) GetClientByClientID(_ context.Context, clientID string) (op.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.client(clientID)
	if !ok {
		return nil, fmt.Errorf("client: %w", errNotFound)
	}
	return c, nil
}

func (s *storage) AuthorizeClientIDSecret(_ context.Context, clientID, secret string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[clientID]
	if !ok || c.Secret == "" || subtle.ConstantTimeCompare([]byte(c.Secret), []byte(secret)) != 1 {
		return errors.New("invalid client credentials")
	}
	return nil
}

// ---- claims ----

// setUserinfo fills the standard claims the scopes allow. email_verified is
// also put in the extra claims because the library's struct field omits a
// false value, and a client must be able to tell "false" from "unknown".
func setUserinfo(info *oidc.UserInfo, u User, scopes []string) {
	info.Subject = u.Subject
	if slices.Contains(scopes, oidc.ScopeProfile) {
		info.Name = u.Name
		info.Picture = u.Picture
	}
	if slices.Contains(scopes, oidc.ScopeEmail) && u.Email != "" {
		info.Email = u.Email
		info.EmailVerified = oidc.Bool(u.EmailVerified)
		info.AppendClaims("email_verified", u.EmailVerified)
	}
}

// SetUserinfoFromScopes is deprecated in the library; claims are set in
// SetUserinfoFromRequest.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.findUserBySubject(req.GetSubject())
	if !ok {
		return ErrUnknownUser
	}
	setUserinfo(info, u, scopes)
	return nil
}

func (s *storage) findUserBySubject(subject string) (User, bool) {
	for _, u := range s.users {
		if u.Subject == subject {
			return u, true
		}
	}
	return User{}, false
}

func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	at, err := s.activeAccessToken(tokenID, subject)
	if err != nil {
		return oidc.ErrInvalidRequest().WithDescription("access token invalid")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.findUserBySubject(at.grant.subject)
	if !ok {
		return ErrUnknownUser
	}
	setUserinfo(info, u, at.scopes)
	return nil
}

// SetIntrospectionFromToken answers RFC 7662 for the client the token was
// issued to; for any other client the token is reported inactive.
func (s *storage) SetIntrospectionFromToken(_ context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	at, err := s.activeAccessToken(tokenID, subject)
	if err != nil {
		return err
	}
	if at.clientID != clientID {
		return errors.New("token was not issued to the introspecting client")
	}
	s.mu.Lock()
	u, ok := s.findUserBySubject(at.grant.subject)
	s.mu.Unlock()
	if !ok {
		return ErrUnknownUser
	}
	info := new(oidc.UserInfo)
	setUserinfo(info, u, at.scopes)
	resp.SetUserInfo(info)
	resp.Scope = at.scopes
	resp.ClientID = at.clientID
	resp.TokenType = oidc.BearerToken
	resp.Expiration = oidc.FromTime(at.expires)
	resp.IssuedAt = oidc.FromTime(at.issued)
	resp.AuthTime = oidc.FromTime(at.grant.authTime)
	resp.Audience = []string{at.clientID}
	resp.Issuer = s.issuer
	resp.JWTID = at.id
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID and ValidateJWTProfileScopes would serve the JWT
// bearer grant, which the demo provider does not offer.
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("JWT client keys are not supported")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("JWT profile grant is not supported")
}

func (s *storage) Health(context.Context) error { return nil }

// ---- device authorization (RFC 8628) ----

// normaliseUserCode lets a person type a user code in any case, with or
// without the dash and spaces.
func normaliseUserCode(code string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(code) {
		if r != '-' && r != ' ' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func (s *storage) StoreDeviceAuthorization(_ context.Context, clientID, deviceCode, userCode string, expires time.Time, scopes []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.purgeLocked(s.now())
	key := normaliseUserCode(userCode)
	if _, taken := s.userCodes[key]; taken {
		return op.ErrDuplicateUserCode
	}
	d := &deviceAuthorization{
		deviceCode: deviceCode,
		userCode:   userCode,
		clientID:   clientID,
		scopes:     slices.Clone(scopes),
		expires:    expires,
		interval:   s.pollEvery,
	}
	s.devices[deviceCode] = d
	s.userCodes[key] = deviceCode
	s.counters.DeviceAuthorizations++
	if s.approveAs != "" {
		if u, ok := s.findUser(s.approveAs); ok {
			d.subject, d.authTime, d.done = u.Subject, s.now(), true
			s.log.Info("device authorization approved at once", "client_id", clientID, "sub", u.Subject)
		}
	}
	return nil
}

// slowDownError makes the library answer slow_down: it maps a storage error
// wrapping context.DeadlineExceeded to that code.
type slowDownError struct{}

func (slowDownError) Error() string { return "polling faster than the interval" }
func (slowDownError) Unwrap() error { return context.DeadlineExceeded }

// GetDeviceAuthorizatonState answers a device's poll. A poll that arrives
// less than half an interval after the previous one gets slow_down and
// raises that device's interval by 5 s (RFC 8628 §3.5); half, because
// clients wait on timers and the network adds jitter. Tokens are handed out
// once: after an approved state is returned the device code is gone.
func (s *storage) GetDeviceAuthorizatonState(_ context.Context, clientID, deviceCode string) (*op.DeviceAuthorizationState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.devices[deviceCode]
	if !ok || d.clientID != clientID {
		return nil, fmt.Errorf("device code: %w", errNotFound)
	}
	wall := time.Now()
	if !d.lastPoll.IsZero() && wall.Sub(d.lastPoll) < d.interval/2 {
		d.lastPoll = wall
		d.interval += 5 * time.Second
		return nil, slowDownError{}
	}
	d.lastPoll = wall
	state := &op.DeviceAuthorizationState{
		ClientID: d.clientID,
		Scopes:   slices.Clone(d.scopes),
		Expires:  d.expires,
		Done:     d.done,
		Denied:   d.denied,
		Subject:  d.subject,
		AuthTime: d.authTime,
	}
	if d.done || d.denied {
		delete(s.devices, deviceCode)
		delete(s.userCodes, normaliseUserCode(d.userCode))
	}
	return state, nil
}

// pendingDevice returns the client and scopes of an undecided user code.
func (s *storage) pendingDevice(userCode string) (clientID string, scopes []string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.devices[s.userCodes[normaliseUserCode(userCode)]]
	if !ok || d.done || d.denied || !time.Now().Before(d.expires) {
		return "", nil, false
	}
	return d.clientID, slices.Clone(d.scopes), true
}

func (s *storage) decideDevice(userCode, subjectOrEmail string, approve bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.devices[s.userCodes[normaliseUserCode(userCode)]]
	if !ok || d.done || d.denied || !time.Now().Before(d.expires) {
		return ErrUnknownUserCode
	}
	if !approve {
		d.denied = true
		s.log.Info("device authorization denied", "client_id", d.clientID)
		return nil
	}
	u, ok := s.findUser(subjectOrEmail)
	if !ok {
		return ErrUnknownUser
	}
	d.subject = u.Subject
	d.authTime = s.now()
	d.done = true
	s.log.Info("device authorization approved", "client_id", d.clientID, "sub", u.Subject)
	return nil
}

// ---- stats ----

func (s *storage) countUserinfo() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counters.UserinfoRequests++
}

func (s *storage) stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counters
}
