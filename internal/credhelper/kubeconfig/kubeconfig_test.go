package kubeconfig

import (
	"errors"
	"strings"
	"testing"

	"github.com/authcli/authcli/internal/credhelper/setup"
)

var kubeUser = User{
	Name: "authcli-corp", APIVersion: "client.authentication.k8s.io/v1", Command: "/opt/my tools/authcli",
	Args: []string{"token", "corp", "--format", "exec-credential"}, InteractiveMode: "IfAvailable",
}

const kubeItem = `- name: authcli-corp
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: /opt/my tools/authcli
      args:
      - token
      - corp
      - --format
      - exec-credential
      interactiveMode: IfAvailable
      provideClusterInfo: false
`

// kubectlStyle is a kubeconfig as kubectl writes it, with a comment and a
// second user that must survive byte for byte.
const kubectlStyle = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTg==
    server: https://127.0.0.1:6443
  name: dev
contexts:
- context:
    cluster: dev
    user: admin
  name: dev
current-context: dev # keep me
kind: Config
preferences: {}
users:
- name: admin
  user:
    token: static-token
`

func TestKubeconfig(t *testing.T) {
	indented := strings.ReplaceAll(kubeItem, "\n", "\n  ")
	indented = "  " + strings.TrimSuffix(indented, "  ")
	tests := []struct {
		name, in, want string
		change         setup.Change
	}{
		{"empty file", "", "apiVersion: v1\nkind: Config\nusers:\n" + kubeItem, setup.Added},
		{"appended after the last user", kubectlStyle, kubectlStyle + kubeItem, setup.Added},
		{"no users key", "apiVersion: v1\nkind: Config", "apiVersion: v1\nkind: Config\nusers:\n" + kubeItem, setup.Added},
		{"users: null", "apiVersion: v1\nusers: null\nkind: Config\n", "apiVersion: v1\nusers:\n" + kubeItem + "kind: Config\n", setup.Added},
		{"users: []", "users: []\nkind: Config\n", "users:\n" + kubeItem + "kind: Config\n", setup.Added},
		{"users before contexts", "users:\n- name: a\n  user: {}\n\n# contexts follow\ncontexts: []\n", "users:\n- name: a\n  user: {}\n" + kubeItem + "\n# contexts follow\ncontexts: []\n", setup.Added},
		{"indented items", "users:\n  - name: a\n    user: {}\nkind: Config\n", "users:\n  - name: a\n    user: {}\n" + indented + "kind: Config\n", setup.Added},
		{"replaced in place", "users:\n- name: a\n  user: {}\n- name: authcli-corp\n  user:\n    token: old\n- name: b\n  user: {}\n", "users:\n- name: a\n  user: {}\n" + kubeItem + "- name: b\n  user: {}\n", setup.Updated},
		{"second run", kubectlStyle + kubeItem, kubectlStyle + kubeItem, setup.Unchanged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, change, err := Edit([]byte(tt.in), kubeUser)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want || change != tt.change {
				t.Errorf("%s:\n%s\nwant %s:\n%s", change, out, tt.change, tt.want)
			}
		})
	}
}

func TestKubeconfigRefuses(t *testing.T) {
	for name, in := range map[string]string{
		"json":                   `{"apiVersion":"v1","users":[]}`,
		"flow users":             "users: [{name: a, user: {}}]\n",
		"not yaml":               "users: [\n",
		"users a map":            "users:\n  a: b\n",
		"a lone carriage return": "\r?",
		"NEL":                    "# \u0085\nusers: []\n",
		"line separator":         "# \u2028\nusers: []\n",
		"paragraph separator":    "\u2029?",
	} {
		_, _, err := Edit([]byte(in), kubeUser)
		if !errors.Is(err, setup.ErrUnsupported) && !errors.Is(err, setup.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzKubeconfig(f *testing.F) {
	f.Add(kubectlStyle)
	f.Add("users:\n  - name: authcli-corp\n    user: {}\n")
	f.Add("users:\n-\n  name: a\n")
	f.Add("users: ~\n")
	f.Fuzz(func(t *testing.T, in string) {
		out, change, err := Edit([]byte(in), kubeUser)
		if err != nil {
			return
		}
		// Whatever was accepted, a second run finds nothing to do.
		again, change2, err := Edit(out, kubeUser)
		if err != nil || change2 != setup.Unchanged || string(again) != string(out) {
			t.Fatalf("not idempotent after %s: %v %s\n%q\n%q", change, err, change2, out, again)
		}
	})
}
