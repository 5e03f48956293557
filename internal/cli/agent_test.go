package cli

import (
	"bytes"
	"strings"
	"testing"
)

func TestPrintAgentEnv(t *testing.T) {
	p := agentPaths{Sock: "/run/user/1000/authcli/agent.sock", Forward: "/run/user/1000/authcli/forward.sock"}
	tests := []struct {
		name string
		opts agentStartOptions
		want string
	}{
		{"sh", agentStartOptions{}, `AUTHCLI_AGENT_SOCK='/run/user/1000/authcli/agent.sock'; export AUTHCLI_AGENT_SOCK;
AUTHCLI_AGENT_FORWARD_SOCK='/run/user/1000/authcli/forward.sock'; export AUTHCLI_AGENT_FORWARD_SOCK;
AUTHCLI_AGENT_PID='42'; export AUTHCLI_AGENT_PID;
echo Agent pid 42;
`},
		{"csh", agentStartOptions{Csh: true}, `setenv AUTHCLI_AGENT_SOCK '/run/user/1000/authcli/agent.sock';
setenv AUTHCLI_AGENT_FORWARD_SOCK '/run/user/1000/authcli/forward.sock';
setenv AUTHCLI_AGENT_PID '42';
echo Agent pid 42;
`},
		{"fish", agentStartOptions{Fish: true}, `set -gx AUTHCLI_AGENT_SOCK '/run/user/1000/authcli/agent.sock';
set -gx AUTHCLI_AGENT_FORWARD_SOCK '/run/user/1000/authcli/forward.sock';
set -gx AUTHCLI_AGENT_PID '42';
echo Agent pid 42;
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			printAgentEnv(&b, &tt.opts, p, 42)
			if b.String() != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", b.String(), tt.want)
			}
		})
	}
}

func TestAgentPaths(t *testing.T) {
	env := &Env{Getenv: func(k string) string {
		if k == "XDG_RUNTIME_DIR" {
			return "/run/user/7"
		}
		return ""
	}}
	tests := []struct {
		socket, sock, forward string
		usage                 bool
	}{
		{"", "/run/user/7/authcli/agent.sock", "/run/user/7/authcli/forward.sock", false},
		{"/tmp/a/my.sock", "/tmp/a/my.sock", "/tmp/a/my-forward.sock", false},
		{"/tmp/b/agent.sock", "/tmp/b/agent.sock", "/tmp/b/forward.sock", false},
		{"/tmp/" + strings.Repeat("x", 100) + ".sock", "", "", true},
	}
	for _, tt := range tests {
		p, err := agentPathsFor(env, tt.socket)
		if (err != nil) != tt.usage {
			t.Errorf("%q: err %v", tt.socket, err)
			continue
		}
		if err == nil && (p.Sock != tt.sock || p.Forward != tt.forward) {
			t.Errorf("%q: %+v", tt.socket, p)
		}
	}
}

func TestAgentStartUsage(t *testing.T) {
	for _, args := range [][]string{
		{"agent", "start", "--csh", "--fish"},
		{"agent", "start", "--lifetime", "-1h"},
		{"agent", "start", "--forward-allow", "a,,b"},
	} {
		var out, errb bytes.Buffer
		env := &Env{In: strings.NewReader(""), Out: &out, Err: &errb, Getenv: func(string) string { return "" }}
		if code := Run(t.Context(), env, args); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, ExitUsage, errb.String())
		}
	}
}
