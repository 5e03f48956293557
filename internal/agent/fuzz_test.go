package agent

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func sprintf(format string, v any) string { return fmt.Sprintf(format, v) }

// FuzzDecodeRequest: whatever a client sends, the decoder returns a
// request it vouches for or ErrProtocol, never panics, and what it accepts
// survives a round trip through the encoder.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"op":"get","key":"github/1"}`,
		`{"v":1,"op":"set","key":"k","value":"aGk="}`,
		`{"v":1,"op":"fresh","provider":"corp","min_ttl_ms":60000,"id_token":true}`,
		`{"v":1,"op":"unlock","passphrase":"x"}`,
		`{"v":2,"op":"x"}`,
		`{"v":1,"op":"list","prefix":""} `,
		`[]`, `null`, `{"v":1e400}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		req, err := DecodeRequest(line)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error %v is not ErrProtocol", err)
			}
			return
		}
		if req.V != Version {
			return // answered with CodeVersion
		}
		if req.Op == "" || req.MinTTLMS < 0 {
			t.Fatalf("accepted %+v", req)
		}
		again, err := EncodeRequest(req)
		if err != nil {
			t.Fatalf("encode an accepted request: %v", err)
		}
		back, err := DecodeRequest(bytes.TrimSuffix(again, []byte("\n")))
		if err != nil {
			t.Fatalf("round trip: %v", err)
		}
		if back.Op != req.Op || back.Key != req.Key || !bytes.Equal(back.Value, req.Value) || back.Provider != req.Provider ||
			back.MinTTLMS != req.MinTTLMS || back.Passphrase != req.Passphrase {
			t.Fatalf("round trip changed %+v into %+v", req, back)
		}
	})
}
