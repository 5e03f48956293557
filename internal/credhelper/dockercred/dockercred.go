// Package dockercred speaks the docker credential-helper protocol
// (https://github.com/docker/docker-credential-helpers): docker, podman,
// skopeo, buildah and crane run `docker-credential-NAME ACTION`, write the
// registry's server URL (or, for store, a JSON credential) on stdin and read
// a JSON answer from stdout. Failures are a plain-text message on stdout
// and exit status 1; a registry the helper has nothing for answers exactly
// ErrCredentialsNotFound's text, which clients match on.
package dockercred

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"

	"github.com/authcli/authcli/internal/credhelper"
	"github.com/authcli/authcli/internal/termtext"
)

// ErrCredentialsNotFound is the protocol's "nothing for this registry";
// its text is what clients compare against, byte for byte.
var ErrCredentialsNotFound = errors.New("credentials not found in native keychain")

// ErrMalformed means the input is not what the action takes.
var ErrMalformed = errors.New("malformed docker credential input")

// ErrUnknownAction is an action other than get, store, erase, list and
// version.
var ErrUnknownAction = errors.New("unknown docker credential action")

// ErrNotStored is the answer to store: authcli hands out the provider's
// tokens and keeps no registry passwords.
var ErrNotStored = errors.New("authcli does not keep registry passwords")

// maxInput bounds stdin: a server URL, or a credential JSON holding a token.
const maxInput = 64 << 10

// Credential is the protocol's JSON credential; the field names are the
// protocol's.
type Credential struct {
	ServerURL string `json:"ServerURL"`
	Username  string `json:"Username"`
	Secret    string `json:"Secret"`
}

// Helper answers for the docker routes.
type Helper struct {
	Routes  credhelper.Routes
	Tokens  credhelper.Tokens
	Version string // printed by the version action
}

// Serve runs one action. On failure it writes the error's message to out,
// as the protocol wants, and returns the error.
func (h *Helper) Serve(ctx context.Context, action string, in io.Reader, out io.Writer) error {
	err := h.serve(ctx, action, in, out)
	if err != nil {
		fmt.Fprintln(out, termtext.Line(err.Error()))
	}
	return err
}

func (h *Helper) serve(ctx context.Context, action string, in io.Reader, out io.Writer) error {
	switch action {
	case "get":
		server, err := readServerURL(in)
		if err != nil {
			return err
		}
		route, ok := h.lookup(server)
		if !ok {
			return ErrCredentialsNotFound
		}
		tok, err := h.Tokens(ctx, route)
		if err != nil {
			return err
		}
		return json.NewEncoder(out).Encode(Credential{ServerURL: server, Username: route.Username, Secret: tok.Value})
	case "store":
		var c Credential
		b, err := readAll(in)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &c); err != nil || c.ServerURL == "" {
			return fmt.Errorf("%w: store takes a JSON credential with a ServerURL", ErrMalformed)
		}
		host, err := Host(c.ServerURL)
		if err != nil {
			return err
		}
		if _, ok := h.Routes.Lookup(host, "443"); ok {
			return fmt.Errorf("%w: %s gets its token from authcli's sign-in, so docker login is not needed for it", ErrNotStored, host)
		}
		return fmt.Errorf("%w: %s is not set up in authcli; remove authcli from credsStore to log in to it", ErrNotStored, host)
	case "erase":
		server, err := readServerURL(in)
		if err != nil {
			return err
		}
		if _, ok := h.lookup(server); !ok {
			return ErrCredentialsNotFound
		}
		// docker logout: nothing of the registry's is stored, and the
		// provider's tokens are authcli logout's to remove.
		return nil
	case "list":
		all := make(map[string]string, len(h.Routes))
		for host, r := range h.Routes {
			all[host] = r.Username
		}
		return json.NewEncoder(out).Encode(all)
	case "version":
		_, err := fmt.Fprintf(out, "docker-credential-authcli (authcli) %s\n", h.Version)
		return err
	}
	return fmt.Errorf("%w %q (one of get, store, erase, list, version)", ErrUnknownAction, action)
}

func (h *Helper) lookup(server string) (credhelper.Route, bool) {
	host, err := Host(server)
	if err != nil {
		return credhelper.Route{}, false
	}
	return h.Routes.Lookup(host, "443")
}

func readAll(in io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(in, maxInput+1))
	if err != nil {
		return nil, fmt.Errorf("read docker credential input: %w", err)
	}
	if len(b) > maxInput {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrMalformed, maxInput)
	}
	return b, nil
}

// readServerURL reads get's and erase's input: one server URL, with or
// without a trailing newline.
func readServerURL(in io.Reader) (string, error) {
	b, err := readAll(in)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if s == "" || strings.ContainsAny(s, "\n\r\x00") {
		return "", fmt.Errorf("%w: expected one server URL", ErrMalformed)
	}
	return s, nil
}

// Host is the registry host[:port] of a server URL as docker tools write
// it: "registry.corp.example", "registry:5000/v2/", "https://ghcr.io",
// "https://index.docker.io/v1/".
func Host(server string) (string, error) {
	s := server
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.Opaque != "" {
		return "", fmt.Errorf("%w: %q is not a registry address", ErrMalformed, cut(server))
	}
	if !slices.Contains([]string{"https", "http"}, strings.ToLower(u.Scheme)) {
		return "", fmt.Errorf("%w: %q is not a registry address", ErrMalformed, cut(server))
	}
	return strings.ToLower(u.Host), nil
}

func cut(s string) string {
	if r := []rune(s); len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return s
}
