// Package config loads and validates the authcli config file, a TOML document
// with a `default_provider`, one `[providers.NAME]` table per identity
// provider, and the credential-helper tables `[git."HOST"]` and
// `[docker."HOST"]` that say which provider's token answers git and docker
// for which host (see Route; LoadRoutes reads only those, for the helpers).
//
// The package knows no provider kind of its own. Load, Parse, LoadRoutes
// and ParseRoutes are given the catalog ([]Kind; authcli passes
// provider.Kinds()), and each Kind says all that depends on it: its name,
// the brand of its display names, whether it has an issuer (require_iss)
// or takes claims, the keys only it understands (Setting: tenant, team_id,
// …) with their defaults, and a Check for its own rules. A kind-only key
// on another kind is that table's problem, "applies only to kind …".
//
// Decoding is strict: a key neither the package nor any kind of the catalog
// knows is an error that names the key path and its line, and suggests the
// closest known key, because a misspelt setting silently ignored is a
// sign-in that fails later for reasons nobody can see.
//
// Every string value may hold `${VAR}` references, replaced from the
// environment; `$$` is a literal `$`, and any other `$` is an error so that a
// half-remembered shell habit (`$HOME`) never reaches a provider unexpanded.
// An unset or empty variable is an error naming the variable, never its value.
//
// Defaults decided here:
//   - kind: the table name when it is the name of a branded kind (a
//     preset), otherwise required;
//   - display_name: the kind's brand ("GitHub") when the table is named after
//     it, "GitHub (work)" for a preset under another name, else the table
//     name;
//   - redirect_host "127.0.0.1", redirect_port 0 (ephemeral), redirect_path
//     "/callback/NAME", grant "authorization_code";
//   - claims.subject "sub" for a kind that takes claims (the other claims
//     have no default);
//   - scopes: nil, meaning the kind's own defaults, which belong to the code
//     that knows each provider, not to this package; so do the defaults of
//     kind-only settings (Setting.Default), declared with the kind.
//
// Settings that are paths (Setting.Path, like Apple's private_key_file) are
// resolved against the config file's directory when relative; "~/" is
// expanded from $HOME.
//
// The package knows nothing about tokens and does no I/O except reading the
// one file Load is given.
package config
