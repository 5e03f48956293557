package execcred

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/authcli/authcli/internal/credhelper"
)

func TestParseInfo(t *testing.T) {
	tests := []struct {
		name, raw string
		terminal  bool
		want      Info
		err       error
	}{
		{"absent, terminal", "", true, Info{APIVersion: V1, Interactive: true}, nil},
		{"absent, no terminal", "", false, Info{APIVersion: V1}, nil},
		{"v1 interactive", `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":true}}`, false, Info{APIVersion: V1, Interactive: true}, nil},
		{"v1beta1 with cluster", `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"cluster":{"server":"https://127.0.0.1:6443"},"interactive":false}}`, true, Info{APIVersion: V1beta1}, nil},
		{"v1alpha1", `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1alpha1","spec":{}}`, false, Info{}, ErrBadInfo},
		{"wrong kind", `{"kind":"Pod","apiVersion":"client.authentication.k8s.io/v1"}`, false, Info{}, ErrBadInfo},
		{"not json", `{`, false, Info{}, ErrBadInfo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseInfo(tt.raw, tt.terminal)
			if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Errorf("got %+v, %v; want %+v, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestWrite(t *testing.T) {
	exp := time.Date(2026, 12, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	var b bytes.Buffer
	if err := Write(&b, Info{APIVersion: V1beta1}, credhelper.Token{Value: "tok", Expiry: exp}); err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{},"status":{"token":"tok","expirationTimestamp":"2026-12-01T11:00:00Z"}}` + "\n"
	if b.String() != want {
		t.Errorf("got %s want %s", b.String(), want)
	}
	b.Reset()
	if err := Write(&b, Info{}, credhelper.Token{Value: "tok"}); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	_ = json.Unmarshal(b.Bytes(), &got)
	if got["apiVersion"] != V1 || got["status"].(map[string]any)["expirationTimestamp"] != nil {
		t.Errorf("no expiry, default version: %s", b.String())
	}
	if err := Write(&b, Info{}, credhelper.Token{}); err == nil {
		t.Error("an empty token was written")
	}
}

func FuzzParseInfo(f *testing.F) {
	f.Add(`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":true}}`)
	f.Add(`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1"}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, raw string) {
		info, err := ParseInfo(raw, false)
		if err != nil {
			if !errors.Is(err, ErrBadInfo) {
				t.Fatalf("error %v is not ErrBadInfo", err)
			}
			return
		}
		if info.APIVersion != V1 && info.APIVersion != V1beta1 {
			t.Fatalf("accepted version %q", info.APIVersion)
		}
	})
}
