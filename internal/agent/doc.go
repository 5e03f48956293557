// Package agent is authcli's per-user agent: a process that opens the vault
// once, keeps it in memory for a limited time, and serves the vault and
// fresh tokens to authcli commands over a unix socket, like ssh-agent does
// for keys.
//
// Three parts:
//
//   - the protocol (protocol.go): one JSON object per line each way, every
//     message carrying the protocol version, small enough that a test or a
//     shell script with socat can speak it;
//   - the Server: holds the opened vault.Vault until its lifetime ends or
//     someone locks it, refuses connections from other users (peer
//     credentials), runs every refresh itself, one at a time per identity,
//     so that a caller killed mid-refresh cannot lose a rotated refresh
//     token, and refreshes ahead of expiry for identities in use;
//   - the Client: a vault.Vault backed by the agent, and Fresh.
//
// # Trust model
//
// The socket is 0600 in a 0700 directory and every connection's peer
// credentials must name the agent's own user: other local users cannot
// connect. Processes of the same user are trusted with everything the
// agent holds, as with ssh-agent: they could read the user's keyring or
// ptrace a process that holds the key anyway, except that the agent makes
// itself non-dumpable so a crash or a same-user debugger attach does not
// hand them the key for free.
//
// Forwarding (ssh -R) makes the agent reachable from another machine whose
// root, and whoever else controls that account, can use it while the SSH
// connection lasts. A forwarded connection looks, to the agent, like a
// local one from the ssh client process, so the agent recognises it two
// ways, neither of which the remote side can influence:
//
//   - it arrived on the forwarding socket (forward.sock next to
//     agent.sock), the one meant for ssh -R; or
//   - on Linux, the peer process on the main socket is an OpenSSH client
//     (its executable is named ssh), which is what forwarding
//     $AUTHCLI_AGENT_SOCK itself looks like.
//
// A forwarded connection may only ask for tokens (never raw vault values,
// never a refresh token, never lock, unlock or stop), only for the
// providers of --forward-allow when that list is set, and with --confirm
// each request is confirmed on the agent's side first. Every forwarded
// request is logged. What the remote side receives is an access token or
// an ID token, which it can use until the token expires: forwarding is
// lending those, not the sign-in. A client flag saying "I am remote" would
// be worthless (the remote side controls it) and is not used.
package agent
