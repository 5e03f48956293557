package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/authcli/authcli/internal/vault"
)

// Version is the protocol version. Every request and response carries it
// as "v"; a server answers a request of another version with
// CodeVersion and its own version, so a newer client can tell an old agent
// from a broken one.
const Version = 1

// MaxMessage bounds one line of the protocol: a vault value of
// vault.MaxValueSize in base64 plus the envelope fits.
const MaxMessage = 2*vault.MaxValueSize + 4096

// Op names what a request asks for.
type Op string

// The operations. Get, Set, Delete and List are the vault.Vault methods;
// Fresh is "a token valid for at least MinTTL", refreshed by the agent.
const (
	OpStatus Op = "status"
	OpGet    Op = "get"
	OpSet    Op = "set"
	OpDelete Op = "delete"
	OpList   Op = "list"
	OpFresh  Op = "fresh"
	OpLock   Op = "lock"
	OpUnlock Op = "unlock"
	OpStop   Op = "stop"
)

// Request is one line from a client.
type Request struct {
	V      int    `json:"v"`
	Op     Op     `json:"op"`
	Key    string `json:"key,omitempty"`    // get, set, delete
	Value  []byte `json:"value,omitempty"`  // set (base64 in JSON)
	Prefix string `json:"prefix,omitempty"` // list

	// Fresh: which identity, and how fresh. Provider "" is the agent's
	// default provider.
	Provider string `json:"provider,omitempty"`
	Account  string `json:"account,omitempty"`
	Subject  string `json:"subject,omitempty"`
	MinTTLMS int64  `json:"min_ttl_ms,omitempty"`
	IDToken  bool   `json:"id_token,omitempty"`

	// Unlock: the file vault's key (base64 of 32 bytes) or passphrase.
	// Neither is needed for the OS keyring.
	VaultKey   string `json:"vault_key,omitempty"`
	Passphrase string `json:"passphrase,omitempty"`
}

// MinTTL is MinTTLMS as a duration.
func (r Request) MinTTL() time.Duration { return time.Duration(r.MinTTLMS) * time.Millisecond }

// String never shows values or secrets: requests travel through logs.
func (r Request) String() string {
	return fmt.Sprintf("agent.Request{v: %d, op: %s, key: %q, provider: %q, account: %q}", r.V, r.Op, r.Key, r.Provider, r.Account)
}

// GoString matches String.
func (r Request) GoString() string { return r.String() }

// Error codes of a failed response. The client turns them back into the
// sentinel errors callers branch on.
const (
	CodeBadRequest = "bad_request" // malformed or unknown request
	CodeVersion    = "version"     // unsupported protocol version
	CodeForbidden  = "forbidden"   // not allowed from this connection
	CodeDenied     = "denied"      // --confirm said no, or nobody could answer
	CodeLocked     = "locked"      // the agent holds no vault now
	CodeNotFound   = "not_found"   // vault.ErrNotFound
	CodeSignIn     = "sign_in"     // the identity needs a sign-in
	CodeUsage      = "usage"       // the request names something that does not exist
	CodeVault      = "vault"       // the vault failed
	CodeFailed     = "failed"      // anything else (network, provider)
)

// Failure is a failed response's reason: a code to branch on and one
// sentence for the person.
type Failure struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Token is what Fresh hands out: never the refresh token, which stays in
// the agent.
type Token struct {
	AccessToken   string    `json:"access_token,omitempty"`
	TokenType     string    `json:"token_type,omitempty"`
	IDToken       string    `json:"id_token,omitempty"`
	Expiry        time.Time `json:"expiry,omitzero"`
	IDTokenExpiry time.Time `json:"id_token_expiry,omitzero"`
	Scopes        []string  `json:"scopes,omitempty"`
}

// String never prints a token.
func (t Token) String() string {
	return fmt.Sprintf("agent.Token{expiry: %s, id_token: %t}", t.Expiry.Format(time.RFC3339), t.IDToken != "")
}

// GoString matches String.
func (t Token) GoString() string { return t.String() }

// Response is one line from the agent, answering one request.
type Response struct {
	V      int      `json:"v"`
	OK     bool     `json:"ok"`
	Error  *Failure `json:"error,omitempty"`
	Value  []byte   `json:"value,omitempty"` // get
	Keys   []string `json:"keys,omitempty"`  // list
	Token  *Token   `json:"token,omitempty"` // fresh
	Status *Status  `json:"status,omitempty"`
}

// String never prints values or tokens.
func (r Response) String() string {
	if r.Error != nil {
		return fmt.Sprintf("agent.Response{v: %d, error: %s}", r.V, r.Error.Code)
	}
	return fmt.Sprintf("agent.Response{v: %d, ok: %t}", r.V, r.OK)
}

// GoString matches String.
func (r Response) GoString() string { return r.String() }

// Status is what `authcli agent status` shows: no secrets.
type Status struct {
	PID        int       `json:"pid"`
	Started    time.Time `json:"started"`
	Locked     bool      `json:"locked"`
	Vault      string    `json:"vault,omitempty"`      // "keyring" or "file"
	UnlockedAt time.Time `json:"unlocked_at,omitzero"` // when the vault was opened
	LocksAt    time.Time `json:"locks_at,omitzero"`    // zero: no lifetime
	Forwarded  bool      `json:"forwarded"`            // the asking connection is forwarded
	Forward    []string  `json:"forward_allow"`        // empty: every provider
	Confirm    bool      `json:"confirm"`              // forwarded requests need confirmation
	Memory     string    `json:"memory"`               // how the agent's memory is protected
	Refreshes  int       `json:"refreshes"`            // refreshes the agent ran
	Identities []InUse   `json:"identities"`           // identities in use
}

// InUse is an identity a client asked the agent for.
type InUse struct {
	Provider string    `json:"provider"`
	Account  string    `json:"account,omitempty"`
	Subject  string    `json:"subject,omitempty"`
	IDToken  bool      `json:"id_token,omitempty"` // the ID token was asked for
	LastUsed time.Time `json:"last_used"`
	Expiry   time.Time `json:"expiry,omitzero"`        // of the token last handed out
	Ahead    time.Time `json:"refresh_ahead,omitzero"` // next refresh ahead of expiry
}

// ErrProtocol means a message is not a valid protocol message.
var ErrProtocol = errors.New("agent: malformed message")

// DecodeRequest parses one request line. It refuses what no client sends:
// trailing data, a missing op, an unknown op, fields of the wrong type, a
// line over MaxMessage. A request of another version decodes (so the
// server can answer CodeVersion) with only V set reliably.
func DecodeRequest(line []byte) (Request, error) {
	if len(line) > MaxMessage {
		return Request{}, fmt.Errorf("%w: longer than %d bytes", ErrProtocol, MaxMessage)
	}
	var req Request
	dec := json.NewDecoder(bytes.NewReader(line))
	if err := dec.Decode(&req); err != nil {
		// Salvage the version for the answer, when there is one.
		var v struct {
			V int `json:"v"`
		}
		if json.Unmarshal(line, &v) == nil && v.V != Version {
			return Request{V: v.V}, nil
		}
		return Request{}, fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	if dec.More() {
		return Request{}, fmt.Errorf("%w: data after the request", ErrProtocol)
	}
	if req.V != Version {
		return Request{V: req.V}, nil
	}
	switch req.Op {
	case OpStatus, OpGet, OpSet, OpDelete, OpList, OpFresh, OpLock, OpUnlock, OpStop:
	case "":
		return Request{}, fmt.Errorf("%w: no op", ErrProtocol)
	default:
		return Request{}, fmt.Errorf("%w: unknown op %q", ErrProtocol, truncate(string(req.Op), 32))
	}
	if req.MinTTLMS < 0 {
		return Request{}, fmt.Errorf("%w: negative min_ttl_ms", ErrProtocol)
	}
	return req, nil
}

// EncodeRequest is the client's side of DecodeRequest: one line, newline
// included.
func EncodeRequest(req Request) ([]byte, error) {
	req.V = Version
	return encodeLine(req)
}

// DecodeResponse parses one response line.
func DecodeResponse(line []byte) (Response, error) {
	var resp Response
	if len(line) > MaxMessage {
		return Response{}, fmt.Errorf("%w: longer than %d bytes", ErrProtocol, MaxMessage)
	}
	if err := json.Unmarshal(line, &resp); err != nil {
		return Response{}, fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	if resp.V != Version {
		return resp, fmt.Errorf("%w: the agent speaks protocol version %d, this authcli speaks %d; restart the agent with this authcli", ErrVersion, resp.V, Version)
	}
	if !resp.OK && resp.Error == nil {
		return Response{}, fmt.Errorf("%w: a failed response without a reason", ErrProtocol)
	}
	return resp, nil
}

func encodeLine(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxMessage {
		return nil, fmt.Errorf("%w: message of %d bytes is over %d", ErrProtocol, len(b), MaxMessage)
	}
	return append(b, '\n'), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
