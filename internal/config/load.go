package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
)

// MaxFileSize bounds what Load reads: a config file is a few kilobytes, and
// anything near this size is a mistake (a wrong --config) rather than a config.
const MaxFileSize = 1 << 20

// Load reads and parses the config file at path, knowing the given kinds
// (see Parse). A missing file is an *Error for which errors.Is(err,
// ErrNotFound) holds; its message tells the user how to create one.
func Load(path string, getenv func(string) string, kinds []Kind) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &Error{File: path, Problem: "file does not exist; create it (see README) or pass --config", Err: ErrNotFound}
		}
		return nil, &Error{File: path, Problem: "cannot be read: " + pathErrReason(err), Err: err}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, &Error{File: path, Problem: "cannot be read: " + pathErrReason(err), Err: err}
	}
	if len(data) > MaxFileSize {
		return nil, &Error{File: path, Problem: fmt.Sprintf("is larger than %d bytes; is this the right file?", MaxFileSize)}
	}
	return Parse(path, data, getenv, kinds)
}

// pathErrReason drops the path from an *fs.PathError, which Error already
// names.
func pathErrReason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Parse decodes and validates a config document; path is used in errors and
// to resolve relative paths of settings (Setting.Path). getenv resolves
// ${VAR} references; nil means an empty environment. kinds is the catalog of
// every valid kind, in the order errors list them (provider.Kinds() for
// authcli's own). Every error is an *Error, and when the document has
// several problems it is the first one in the file.
func Parse(path string, data []byte, getenv func(string) string, kinds []Kind) (*File, error) {
	getenv = orEmptyEnv(getenv)
	// Editors on Windows like to start files with a byte order mark, which
	// TOML does not allow. It sits on line 1, so line numbers are unchanged.
	data = bytes.TrimPrefix(data, []byte("\ufeff"))

	keys := indexKeys(data)
	cat := newCatalog(kinds)
	raw, derr := decode(path, data, keys, cat)
	if derr != nil {
		return nil, derr
	}

	v := &validator{file: path, keys: keys, getenv: getenv, kinds: cat}
	f := &File{Path: path, Providers: make(map[string]*Provider, len(raw.Providers)), Problems: map[string]*Error{}}
	names := make([]string, 0, len(raw.Providers))
	for name := range raw.Providers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		before := len(v.errs)
		p := v.provider(name, raw.Providers[name])
		// A table whose name is invalid cannot be referred to at all: that
		// stays an error of the whole file.
		if len(v.errs) > before && validProviderName(name) {
			// The table's problem stays with it; the rest of the file works.
			f.Problems[name] = earliest(v.errs[before:])
			v.errs = v.errs[:before]
			continue
		}
		if p != nil {
			f.Providers[name] = p
		}
	}
	v.sharedRedirects(f)
	f.DefaultProvider = v.defaultProvider(raw.DefaultProvider, names)
	tableKinds := make(map[string]string, len(raw.Providers))
	for name, p := range raw.Providers {
		if p == nil {
			tableKinds[name] = rawKind(name, nil, cat)
			continue
		}
		tableKinds[name] = rawKind(name, p.Kind, cat)
	}
	routes := v.routes(raw.Git, raw.Docker, tableKinds)
	f.Git, f.Docker = routes.Git, routes.Docker

	if len(v.errs) > 0 {
		return nil, earliest(v.errs)
	}
	return f, nil
}

// earliest is the error that comes first in the file.
func earliest(errs []*Error) *Error {
	first := errs[0]
	for _, e := range errs[1:] {
		if e.Line > 0 && (first.Line == 0 || e.Line < first.Line) {
			first = e
		}
	}
	return first
}

func (v *validator) defaultProvider(raw *string, names []string) string {
	if raw == nil {
		return ""
	}
	path := []string{"default_provider"}
	name, ok := v.expandString(path, *raw, "; remove the line or name a provider")
	if !ok {
		return ""
	}
	if slices.Contains(names, name) {
		return name
	}
	problem := quoteValue(name) + " is not a configured provider"
	if len(names) == 0 {
		problem += "; add a [providers.NAME] table"
	} else {
		problem += "; configured providers: " + strings.Join(names, ", ")
		if s := suggest(name, names); s != "" {
			problem += "; did you mean " + s + "?"
		}
	}
	v.fail(path, problem)
	return ""
}
