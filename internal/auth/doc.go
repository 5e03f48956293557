// Package auth is authcli's use-case layer: signing in (browser and
// device), linking, fresh tokens (refreshing when needed), unlinking and
// logging out. The CLI and the TUI call it and nothing below it, so every
// rule of those operations lives here once.
//
// Its dependencies come in as interfaces and values — the config (read
// lazily: a cached token never parses it), the accounts store, the vault,
// the HTTP client, the clock, the browser opener — so tests drive every
// branch with fakes, and where a refresh runs is a Refresher: in this
// process, or (the CLI's choice) in a detached process that a killed
// caller cannot interrupt.
package auth
