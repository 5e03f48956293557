//go:build !linux && !darwin

package cli

import "github.com/authcli/authcli/internal/agent"

// startDetached: the agent needs unix sockets with peer credentials, which
// authcli only checks on Linux and macOS; Windows named pipes are not done
// yet.
func startDetached(*Env, *agentStartOptions, agentPaths) (int, error) {
	return 0, agentListenError(agent.ErrUnsupported)
}

func readPassphrase(*Env, string) (string, error) { return "", agent.ErrUnsupported }
