// Package config loads and validates the authcli config file, a TOML document
// with a `default_provider`, one `[providers.NAME]` table per identity
// provider, and the credential-helper tables `[git."HOST"]` and
// `[docker."HOST"]` that say which provider's token answers git and docker
// for which host (see Route; LoadRoutes reads only those, for the helpers).
//
// Decoding is strict: a key the package does not know is an error that names
// the key path and its line, and suggests the closest known key, because a
// misspelt setting silently ignored is a sign-in that fails later for reasons
// nobody can see.
//
// Every string value may hold `${VAR}` references, replaced from the
// environment; `$$` is a literal `$`, and any other `$` is an error so that a
// half-remembered shell habit (`$HOME`) never reaches a provider unexpanded.
// An unset or empty variable is an error naming the variable, never its value.
//
// Defaults decided here:
//   - kind: the table name when it is a preset name, otherwise required;
//   - display_name: the preset's proper name ("GitHub") when the table is named
//     after its preset, "GitHub (work)" for a preset under another name, else
//     the table name;
//   - redirect_host "127.0.0.1", redirect_port 0 (ephemeral), redirect_path
//     "/callback", grant "authorization_code";
//   - microsoft: tenant "common";
//   - oauth2: claims.subject "sub" (the other claims have no default);
//   - scopes: nil, meaning the kind's own defaults, which belong to the code
//     that knows each provider, not to this package.
//
// Relative private_key_file paths are resolved against the config file's
// directory; "~/" is expanded from $HOME.
//
// The package knows nothing about tokens and does no I/O except reading the
// one file Load is given.
package config
