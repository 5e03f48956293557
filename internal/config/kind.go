package config

import (
	"slices"
	"strings"
)

// Kind is one value a provider table's `kind` key may take, declared by the
// code that knows the provider (internal/provider, one file per preset).
// This package knows no kind of its own: Load, Parse, LoadRoutes and
// ParseRoutes are given the catalog, and everything that depends on the
// kind comes from it.
type Kind struct {
	// Name is what `kind = "..."` says. When Brand is set, a table named
	// Name needs no kind key.
	Name string
	// Brand is the name users know a preset by ("GitHub"): the display name
	// of a table named after the kind, and of "GitHub (work)" for another
	// table of the kind. Empty for the generic kinds (oidc, oauth2), which a
	// table's name never implies and whose tables are shown by their name.
	Brand string
	// OpenID says the provider has an OpenID issuer, which require_iss
	// compares the RFC 9207 iss parameter with; kinds without one refuse
	// require_iss.
	OpenID bool
	// Claims says the table may hold a [claims] table, the profile mapping
	// of a provider that has neither an ID token nor a preset to read it.
	Claims bool
	// Settings are the keys only this kind understands (a tenant, a key
	// file). Parse expands their ${VAR}s, applies their defaults, resolves
	// their paths and keeps them in Provider.Settings; on a table of another
	// kind they are refused.
	Settings []Setting
	// Check applies this kind's own rules, after the shared ones, to the
	// table with its values expanded and its settings' defaults applied
	// (paths are resolved after it, and only when it found nothing). The
	// table may have failed a shared rule already: the problem that comes
	// first in the file is the one reported. Check returns nil or *KeyError
	// values, several joined with errors.Join; Parse reports each at its
	// key's line, or the table's when the key is not written. nil means the
	// kind has no rules of its own.
	Check func(p *Provider) error
}

// Setting is one key only some kinds understand. Its value is a string.
type Setting struct {
	Key string
	// Default is the value when the table leaves the key out; "" means
	// none, and the key is then absent from Provider.Settings.
	Default string
	// Path marks a file path: "~/" is expanded from $HOME and a relative
	// path is resolved against the config file's directory, where a user
	// keeps a file they mention in it.
	Path bool
}

// KeyError is a problem a Kind's Check finds with one key of the table.
type KeyError struct {
	Key     string // relative to the table: "tenant", "claims.subject"
	Problem string // the rest of the sentence: "is required for …"
}

func (e *KeyError) Error() string { return e.Key + " " + e.Problem }

// catalog indexes the kinds Parse was given.
type catalog struct {
	kinds  []Kind
	byName map[string]*Kind
	// declaredBy maps every setting key to the kinds that declare it, in
	// catalog order.
	declaredBy map[string][]string
}

func newCatalog(kinds []Kind) *catalog {
	c := &catalog{kinds: kinds, byName: make(map[string]*Kind, len(kinds)), declaredBy: map[string][]string{}}
	for i := range kinds {
		k := &kinds[i]
		c.byName[k.Name] = k
		for _, s := range k.Settings {
			c.declaredBy[s.Key] = append(c.declaredBy[s.Key], k.Name)
		}
	}
	return c
}

// names lists the kinds in catalog order.
func (c *catalog) names() []string {
	names := make([]string, len(c.kinds))
	for i, k := range c.kinds {
		names[i] = k.Name
	}
	return names
}

// preset is the kind a table called name has without a kind key: the
// branded kind of that name, or nil.
func (c *catalog) preset(name string) *Kind {
	if k := c.byName[name]; k != nil && k.Brand != "" {
		return k
	}
	return nil
}

// isSetting reports whether some kind declares key.
func (c *catalog) isSetting(key string) bool {
	_, ok := c.declaredBy[key]
	return ok
}

// settingKeys lists every declared setting key, sorted.
func (c *catalog) settingKeys() []string {
	keys := make([]string, 0, len(c.declaredBy))
	for k := range c.declaredBy {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// claimKinds names the kinds that take claims, for "applies only to kind …".
func (c *catalog) claimKinds() string {
	var names []string
	for _, k := range c.kinds {
		if k.Claims {
			names = append(names, k.Name)
		}
	}
	return strings.Join(names, " or ")
}

// owners names the kinds that declare key, for "applies only to kind …".
func (c *catalog) owners(key string) string {
	return strings.Join(c.declaredBy[key], " or ")
}

// setting is k's declaration of key, or nil.
func (k *Kind) setting(key string) *Setting {
	for i := range k.Settings {
		if k.Settings[i].Key == key {
			return &k.Settings[i]
		}
	}
	return nil
}
