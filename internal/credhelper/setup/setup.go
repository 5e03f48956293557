// Package setup points the tools people already use at authcli: git's
// credential helper list (by running the real `git config`, as
// `gh auth setup-git` does), a kubeconfig user's exec plugin (package
// kubeconfig, which shares Change and the errors below), a docker
// config.json credHelpers entry, and the route tables in authcli's own
// config that say which provider answers for which host.
//
// Every editor is idempotent (a second run changes nothing and says so)
// and leaves the rest of the file as it was: the kubeconfig and authcli's
// config byte for byte, docker's config.json key order and values (docker
// itself re-indents it with tabs, as this package does). The editors take
// and return bytes; reading and the atomic write belong to the caller.
package setup

import "errors"

// Change is what an editor did.
type Change int

const (
	Unchanged Change = iota // the file already said this
	Added                   // a new entry
	Updated                 // an entry of that name was replaced
)

func (c Change) String() string {
	switch c {
	case Added:
		return "added"
	case Updated:
		return "updated"
	}
	return "unchanged"
}

// ErrUnsupported means the file is written in a way the editor cannot
// change without rewriting the rest (a flow-style kubeconfig, an inline
// TOML table); the message says what to edit by hand.
var ErrUnsupported = errors.New("cannot edit this file without rewriting it")

// ErrInvalid means the existing file does not parse.
var ErrInvalid = errors.New("the file does not parse")
