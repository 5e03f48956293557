package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"github.com/authcli/authcli/internal/tokens"
	"github.com/authcli/authcli/internal/vault"
)

// Client talks to the agent at Path, one connection per request: cheap on
// a unix socket, and no state to go stale when the agent restarts.
type Client struct {
	Path string
	// Timeout bounds a request whose context has no deadline (vault
	// operations); default 30s. Fresh waits for the refresh instead,
	// bounded by the agent's own refresh timeout.
	Timeout time.Duration
}

// Do sends one request and returns the agent's response; a failed
// response is an *Error.
func (c *Client) Do(ctx context.Context, req Request) (Response, error) {
	if _, ok := ctx.Deadline(); !ok {
		t := c.Timeout
		if t <= 0 {
			t = 30 * time.Second
		}
		if req.Op == OpFresh {
			t = 3 * time.Minute
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	line, err := EncodeRequest(req)
	if err != nil {
		return Response{}, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.Path)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return Response{}, fmt.Errorf("%w at %s", ErrNotRunning, c.Path)
		}
		return Response{}, fmt.Errorf("connect to the agent at %s: %w", c.Path, err)
	}
	defer conn.Close()
	// Closing the connection is how a caller stops waiting; the agent
	// finishes what it started.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// A write error still leaves the agent's answer to read: it refuses
	// other users before reading their request.
	_, werr := conn.Write(line)
	b, err := readLine(bufio.NewReaderSize(conn, 64<<10), MaxMessage)
	if err != nil {
		return Response{}, c.ioError(ctx, errors.Join(werr, err))
	}
	resp, err := DecodeResponse(b)
	if err != nil {
		return Response{}, err
	}
	if !resp.OK {
		return resp, &Error{Code: resp.Error.Code, Message: resp.Error.Message}
	}
	return resp, nil
}

func (c *Client) ioError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("talk to the agent: %w", ctx.Err())
	}
	return fmt.Errorf("talk to the agent at %s: %w", c.Path, err)
}

// Fresh asks the agent for a token valid for w.MinTTL; the agent
// refreshes when needed. The record has no refresh token: that stays in
// the agent.
func (c *Client) Fresh(ctx context.Context, w Want) (tokens.Record, error) {
	resp, err := c.Do(ctx, Request{Op: OpFresh, Provider: w.Provider, Account: w.Account, Subject: w.Subject,
		MinTTLMS: w.MinTTL.Milliseconds(), IDToken: w.IDToken})
	if err != nil {
		return tokens.Record{}, err
	}
	if resp.Token == nil {
		return tokens.Record{}, fmt.Errorf("%w: a token response without a token", ErrProtocol)
	}
	t := resp.Token
	return tokens.Record{AccessToken: t.AccessToken, TokenType: t.TokenType, IDToken: t.IDToken,
		Expiry: t.Expiry, IDTokenExpiry: t.IDTokenExpiry, Scopes: t.Scopes}, nil
}

// Status asks what the agent holds.
func (c *Client) Status(ctx context.Context) (Status, error) {
	resp, err := c.Do(ctx, Request{Op: OpStatus})
	if err != nil {
		return Status{}, err
	}
	if resp.Status == nil {
		return Status{}, fmt.Errorf("%w: a status response without a status", ErrProtocol)
	}
	return *resp.Status, nil
}

// Lock makes the agent forget the vault.
func (c *Client) Lock(ctx context.Context) error {
	_, err := c.Do(ctx, Request{Op: OpLock})
	return err
}

// Unlock has the agent open the vault again with s.
func (c *Client) Unlock(ctx context.Context, s Secret) error {
	_, err := c.Do(ctx, Request{Op: OpUnlock, VaultKey: s.VaultKey, Passphrase: s.Passphrase})
	return err
}

// Stop ends the agent.
func (c *Client) Stop(ctx context.Context) error {
	_, err := c.Do(ctx, Request{Op: OpStop})
	return err
}

// Vault is a vault.Vault whose values live in the agent.
func (c *Client) Vault() *Vault { return &Vault{c: c} }

// Vault is the agent-backed vault.Vault. Errors carry the vault's
// sentinels (vault.ErrNotFound) as a local vault's would, plus ErrLocked.
type Vault struct{ c *Client }

var _ vault.Vault = (*Vault)(nil)

// Get implements vault.Vault.
func (v *Vault) Get(key string) ([]byte, error) {
	resp, err := v.c.Do(context.Background(), Request{Op: OpGet, Key: key})
	return resp.Value, err
}

// Set implements vault.Vault.
func (v *Vault) Set(key string, value []byte) error {
	_, err := v.c.Do(context.Background(), Request{Op: OpSet, Key: key, Value: value})
	return err
}

// Delete implements vault.Vault.
func (v *Vault) Delete(key string) error {
	_, err := v.c.Do(context.Background(), Request{Op: OpDelete, Key: key})
	return err
}

// List implements vault.Vault.
func (v *Vault) List(prefix string) ([]string, error) {
	resp, err := v.c.Do(context.Background(), Request{Op: OpList, Prefix: prefix})
	if err != nil {
		return nil, err
	}
	if resp.Keys == nil {
		return []string{}, nil
	}
	return resp.Keys, nil
}
