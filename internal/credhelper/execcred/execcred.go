// Package execcred is the client side of Kubernetes' exec credential
// plugins (https://kubernetes.io/docs/reference/access-authn-authz/authentication/#client-go-credential-plugins):
// kubectl runs the command of a kubeconfig user's exec section, describes
// the request in $KUBERNETES_EXEC_INFO, and reads an ExecCredential with
// the token from stdout.
package execcred

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/authcli/authcli/internal/credhelper"
)

// API versions of client.authentication.k8s.io that authcli answers.
// v1alpha1 left Kubernetes in 1.24.
const (
	V1      = "client.authentication.k8s.io/v1"
	V1beta1 = "client.authentication.k8s.io/v1beta1"
)

// EnvVar is where kubectl describes the request.
const EnvVar = "KUBERNETES_EXEC_INFO"

// ErrBadInfo means $KUBERNETES_EXEC_INFO is not an ExecCredential authcli
// can answer.
var ErrBadInfo = errors.New("KUBERNETES_EXEC_INFO is not an ExecCredential authcli understands")

// maxInfo bounds the variable: it may carry the cluster's CA bundle, which
// is kilobytes, not megabytes.
const maxInfo = 1 << 20

// Info is what kubectl asked for.
type Info struct {
	APIVersion string
	// Interactive says the plugin may use the terminal (kubectl's stdin
	// is one and interactiveMode allows it).
	Interactive bool
}

// ParseInfo reads $KUBERNETES_EXEC_INFO. An empty value (authcli run by
// hand, or a kubectl that sends nothing) asks for v1; interactive is then
// what the caller knows about its terminal.
func ParseInfo(raw string, terminal bool) (Info, error) {
	if strings.TrimSpace(raw) == "" {
		return Info{APIVersion: V1, Interactive: terminal}, nil
	}
	if len(raw) > maxInfo {
		return Info{}, fmt.Errorf("%w: larger than %d bytes", ErrBadInfo, maxInfo)
	}
	var in struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
		Spec       struct {
			Interactive bool `json:"interactive"`
		} `json:"spec"`
	}
	if err := json.Unmarshal([]byte(raw), &in); err != nil {
		return Info{}, fmt.Errorf("%w: not JSON", ErrBadInfo)
	}
	if in.Kind != "ExecCredential" {
		return Info{}, fmt.Errorf("%w: kind %q", ErrBadInfo, cut(in.Kind))
	}
	switch in.APIVersion {
	case V1, V1beta1:
	default:
		return Info{}, fmt.Errorf("%w: apiVersion %q (authcli answers %s and %s)", ErrBadInfo, cut(in.APIVersion), V1, V1beta1)
	}
	return Info{APIVersion: in.APIVersion, Interactive: in.Spec.Interactive}, nil
}

// execCredential is the answer; v1 and v1beta1 share this shape.
type execCredential struct {
	Kind       string   `json:"kind"`
	APIVersion string   `json:"apiVersion"`
	Spec       struct{} `json:"spec"`
	Status     status   `json:"status"`
}

type status struct {
	Token string `json:"token"`
	// ExpirationTimestamp tells kubectl when to run the plugin again;
	// without it kubectl keeps the token until a 401.
	ExpirationTimestamp string `json:"expirationTimestamp,omitempty"`
}

// Write prints the ExecCredential for tok in the version info asked for.
func Write(w io.Writer, info Info, tok credhelper.Token) error {
	if tok.Value == "" {
		return errors.New("no token to hand to kubectl")
	}
	v := info.APIVersion
	if v == "" {
		v = V1
	}
	out := execCredential{Kind: "ExecCredential", APIVersion: v, Status: status{Token: tok.Value}}
	if !tok.Expiry.IsZero() {
		out.Status.ExpirationTimestamp = tok.Expiry.UTC().Format(time.RFC3339)
	}
	return json.NewEncoder(w).Encode(out)
}

func cut(s string) string {
	if r := []rune(s); len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return s
}
