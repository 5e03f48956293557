package setup

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDockerConfig(t *testing.T) {
	tests := []struct {
		name, in, want string
		change         Change
	}{
		{"no file", "", "{\n\t\"credHelpers\": {\n\t\t\"ghcr.io\": \"authcli\"\n\t}\n}\n", Added},
		{"others kept in order", `{"auths":{"quay.io":{"auth":"dTpw"}},"credsStore":"desktop","currentContext":"x"}`,
			"{\n\t\"auths\": {\n\t\t\"quay.io\": {\n\t\t\t\"auth\": \"dTpw\"\n\t\t}\n\t},\n\t\"credsStore\": \"desktop\",\n\t\"currentContext\": \"x\",\n\t\"credHelpers\": {\n\t\t\"ghcr.io\": \"authcli\"\n\t}\n}\n", Added},
		{"next to another helper", `{"credHelpers":{"gcr.io":"gcloud"}}`, "{\n\t\"credHelpers\": {\n\t\t\"gcr.io\": \"gcloud\",\n\t\t\"ghcr.io\": \"authcli\"\n\t}\n}\n", Added},
		{"replaces another helper", `{"credHelpers":{"ghcr.io":"desktop"}}`, "{\n\t\"credHelpers\": {\n\t\t\"ghcr.io\": \"authcli\"\n\t}\n}\n", Updated},
		{"already set", `{"credHelpers": {"ghcr.io": "authcli"}, "z": 1}`, `{"credHelpers": {"ghcr.io": "authcli"}, "z": 1}`, Unchanged},
		{"another spelling docker reads the same", `{"CredHelpers":{"gcr.io":"gcloud"}}`, "{\n\t\"CredHelpers\": {\n\t\t\"gcr.io\": \"gcloud\",\n\t\t\"ghcr.io\": \"authcli\"\n\t}\n}\n", Added},
		{"null helpers", `{"credHelpers":null}`, "{\n\t\"credHelpers\": {\n\t\t\"ghcr.io\": \"authcli\"\n\t}\n}\n", Added},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, change, err := DockerConfig([]byte(tt.in), "ghcr.io", "authcli")
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want || change != tt.change {
				t.Errorf("%s:\n%s\nwant %s:\n%s", change, out, tt.change, tt.want)
			}
		})
	}
	for name, in := range map[string]string{"array": `[]`, "two values": `{} {}`, "helpers not an object": `{"credHelpers":"x"}`, "a helper that is not a string": `{"credHelpers":{"gcr.io":1}}`, "two spellings": `{"CredHelpers":{},"credHelpers":{}}`, "truncated": `{"a":`} {
		if _, _, err := DockerConfig([]byte(in), "ghcr.io", "authcli"); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzDockerConfig(f *testing.F) {
	f.Add(`{"auths":{},"credHelpers":{"a":"b"}}`)
	f.Add(`{"credHelpers":{"ghcr.io":1}}`)
	f.Fuzz(func(t *testing.T, in string) {
		out, _, err := DockerConfig([]byte(in), "ghcr.io", "authcli")
		if err != nil {
			return
		}
		var cfg struct {
			CredHelpers map[string]string `json:"credHelpers"`
		}
		if err := json.Unmarshal(out, &cfg); err != nil || cfg.CredHelpers["ghcr.io"] != "authcli" {
			t.Fatalf("result %q: %v %v", out, err, cfg.CredHelpers)
		}
		var before, after map[string]any
		if json.Unmarshal([]byte(in), &before) == nil {
			_ = json.Unmarshal(out, &after)
			for k, v := range before {
				if !strings.EqualFold(k, "credHelpers") && !equalJSON(v, after[k]) {
					t.Fatalf("key %q changed", k)
				}
			}
		}
	})
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
