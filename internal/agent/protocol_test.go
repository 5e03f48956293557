package agent

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDecodeRequest(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		want    Request
		wantErr bool
	}{
		{"get", `{"v":1,"op":"get","key":"github/1"}`, Request{V: 1, Op: OpGet, Key: "github/1"}, false},
		{"set with base64 value", `{"v":1,"op":"set","key":"k","value":"aGk="}`, Request{V: 1, Op: OpSet, Key: "k", Value: []byte("hi")}, false},
		{"fresh", `{"v":1,"op":"fresh","provider":"corp","account":"work","min_ttl_ms":60000,"id_token":true}`,
			Request{V: 1, Op: OpFresh, Provider: "corp", Account: "work", MinTTLMS: 60000, IDToken: true}, false},
		{"unknown fields are ignored", `{"v":1,"op":"status","later":true}`, Request{V: 1, Op: OpStatus}, false},
		{"other version decodes to its version only", `{"v":2,"op":"teleport","key":"x"}`, Request{V: 2}, false},
		{"other version with fields of new types", `{"v":7,"op":{"new":1}}`, Request{V: 7}, false},
		{"no version", `{"op":"get"}`, Request{V: 0}, false},
		{"no op", `{"v":1}`, Request{}, true},
		{"unknown op", `{"v":1,"op":"shell"}`, Request{}, true},
		{"wrong type", `{"v":1,"op":"get","key":5}`, Request{}, true},
		{"negative ttl", `{"v":1,"op":"fresh","min_ttl_ms":-1}`, Request{}, true},
		{"trailing data", `{"v":1,"op":"get"} {"v":1,"op":"stop"}`, Request{}, true},
		{"not json", `GET / HTTP/1.1`, Request{}, true},
		{"empty", ``, Request{}, true},
		{"bad base64", `{"v":1,"op":"set","key":"k","value":"!!"}`, Request{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeRequest([]byte(tt.line))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %t", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrProtocol) {
				t.Errorf("error %v is not ErrProtocol", err)
			}
			if got.V != tt.want.V || got.Op != tt.want.Op || got.Key != tt.want.Key || !bytes.Equal(got.Value, tt.want.Value) ||
				got.Provider != tt.want.Provider || got.Account != tt.want.Account || got.MinTTLMS != tt.want.MinTTLMS || got.IDToken != tt.want.IDToken {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeRequestTooLong(t *testing.T) {
	line := []byte(`{"v":1,"op":"set","key":"k","value":"` + strings.Repeat("A", MaxMessage) + `"}`)
	if _, err := DecodeRequest(line); !errors.Is(err, ErrProtocol) {
		t.Errorf("a %d-byte line: %v, want ErrProtocol", len(line), err)
	}
}

func TestRequestRoundTrip(t *testing.T) {
	in := Request{Op: OpFresh, Provider: "p", Subject: "s", MinTTLMS: int64(90 * time.Second / time.Millisecond)}
	line, err := EncodeRequest(in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(line, []byte("\n")) || bytes.Count(line, []byte("\n")) != 1 {
		t.Fatalf("not one line: %q", line)
	}
	out, err := DecodeRequest(bytes.TrimSuffix(line, []byte("\n")))
	if err != nil {
		t.Fatal(err)
	}
	if out.V != Version || out.MinTTL() != 90*time.Second || out.Provider != "p" || out.Subject != "s" {
		t.Errorf("round trip gave %+v", out)
	}
}

func TestDecodeResponse(t *testing.T) {
	tests := []struct {
		name string
		line string
		want error
	}{
		{"ok", `{"v":1,"ok":true,"keys":["a"]}`, nil},
		{"failure with reason", `{"v":1,"ok":false,"error":{"code":"locked","message":"m"}}`, nil},
		{"failure without reason", `{"v":1,"ok":false}`, ErrProtocol},
		{"other version", `{"v":2,"ok":true}`, ErrVersion},
		{"garbage", `nope`, ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeResponse([]byte(tt.line))
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestRedaction: requests, responses and tokens go through logs; none of
// their formats may show a secret.
func TestRedaction(t *testing.T) {
	const secret = "s3cr3t-value"
	for name, v := range map[string]any{
		"request":  Request{Op: OpUnlock, Passphrase: secret, VaultKey: secret, Value: []byte(secret)},
		"response": Response{OK: true, Value: []byte(secret), Token: &Token{AccessToken: secret}},
		"token":    Token{AccessToken: secret, IDToken: secret},
		"secret":   Secret{VaultKey: secret, Passphrase: secret},
	} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			if got := sprintf(verb, v); strings.Contains(got, secret) {
				t.Errorf("%s with %s shows the secret: %s", name, verb, got)
			}
		}
	}
}
