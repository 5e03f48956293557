package config

import (
	"bytes"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
)

// rawFile mirrors the TOML document. Pointers tell "absent" from "set", so
// that an explicit empty string can be refused instead of silently meaning
// "use the default".
type rawFile struct {
	DefaultProvider *string                 `toml:"default_provider"`
	Providers       map[string]*rawProvider `toml:"providers"`
	Git             map[string]*rawRoute    `toml:"git"`
	Docker          map[string]*rawRoute    `toml:"docker"`
}

// rawRoute is one credential-helper table, [git."HOST"] or [docker."HOST"].
type rawRoute struct {
	Provider *string `toml:"provider"`
	Account  *string `toml:"account"`
	Username *string `toml:"username"`
	IDToken  *bool   `toml:"id_token"`
}

type rawProvider struct {
	Kind               *string           `toml:"kind"`
	DisplayName        *string           `toml:"display_name"`
	Issuer             *string           `toml:"issuer"`
	ClientID           *string           `toml:"client_id"`
	ClientSecret       *string           `toml:"client_secret"`
	Scopes             []string          `toml:"scopes"`
	AuthURL            *string           `toml:"auth_url"`
	TokenURL           *string           `toml:"token_url"`
	UserinfoURL        *string           `toml:"userinfo_url"`
	RevocationURL      *string           `toml:"revocation_url"`
	DeviceAuthURL      *string           `toml:"device_auth_url"`
	JWKSURL            *string           `toml:"jwks_url"`
	RedirectHost       *string           `toml:"redirect_host"`
	RedirectPort       *int64            `toml:"redirect_port"`
	RedirectPath       *string           `toml:"redirect_path"`
	RedirectURI        *string           `toml:"redirect_uri"`
	TrustEmailVerified *bool             `toml:"trust_email_verified"`
	RequireIss         *bool             `toml:"require_iss"`
	Grant              *string           `toml:"grant"`
	AuthParams         map[string]string `toml:"auth_params"`
	Claims             *rawClaims        `toml:"claims"`
	// Settings are the keys some kind of the catalog declares; decode
	// fills them in, go-toml does not see them.
	Settings map[string]string `toml:"-"`
}

type rawClaims struct {
	Subject       *string `toml:"subject"`
	Email         *string `toml:"email"`
	EmailVerified *string `toml:"email_verified"`
	Name          *string `toml:"name"`
	AvatarURL     *string `toml:"avatar_url"`
}

// stringField is one optional string setting and the key it lives under,
// relative to its table.
type stringField struct {
	key string
	ptr **string
}

func (r *rawProvider) stringFields() []stringField {
	return []stringField{
		{"kind", &r.Kind},
		{"display_name", &r.DisplayName},
		{"issuer", &r.Issuer},
		{"client_id", &r.ClientID},
		{"client_secret", &r.ClientSecret},
		{"auth_url", &r.AuthURL},
		{"token_url", &r.TokenURL},
		{"userinfo_url", &r.UserinfoURL},
		{"revocation_url", &r.RevocationURL},
		{"device_auth_url", &r.DeviceAuthURL},
		{"jwks_url", &r.JWKSURL},
		{"redirect_host", &r.RedirectHost},
		{"redirect_path", &r.RedirectPath},
		{"redirect_uri", &r.RedirectURI},
		{"grant", &r.Grant},
	}
}

func (c *rawClaims) stringFields() []stringField {
	return []stringField{
		{"subject", &c.Subject},
		{"email", &c.Email},
		{"email_verified", &c.EmailVerified},
		{"name", &c.Name},
		{"avatar_url", &c.AvatarURL},
	}
}

// decode runs go-toml in strict mode and turns its errors into *Error. The
// keys a kind of the catalog declares are not unknown: they are read into
// rawProvider.Settings, whichever kind the table turns out to be, so that
// a setting on the wrong kind is that provider's problem (validation says
// which kind it belongs to) rather than the whole file's.
func decode(file string, data []byte, keys keyLines, cat *catalog) (*rawFile, *Error) {
	var raw rawFile
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(&raw)
	if err == nil {
		return &raw, nil
	}

	// The library's errors are not wrapped in ours: their String() quotes
	// the offending document line, which may hold a secret.
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		// Strict mode reports unknown keys once the rest decoded.
		var first *strictKey
		settings := false
		paths := indexKeyPaths(data)
		for _, e := range strict.Errors {
			k := strictKey{path: e.Key()}
			k.line, k.col = e.Position()
			if full := paths.at(k.line, k.col); len(full) > len(k.path) {
				k.path = full
			}
			switch {
			case isSettingPath(k.path, cat):
				settings = true
			case first == nil || k.line < first.line || k.line == first.line && k.col < first.col:
				first = &k
			}
		}
		// A setting that is not a string is a type error, and go-toml
		// reports those before unknown keys.
		if settings {
			if e := readSettings(file, data, keys, &raw, cat); e != nil {
				return nil, e
			}
		}
		if first != nil {
			return nil, unknownKeyError(file, first.line, first.path, cat)
		}
		return &raw, nil
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, _ := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if path := de.Key(); len(path) > 0 && isTypeMismatch(msg) {
			t, stop, _ := walkSchema(path)
			if stop >= 0 {
				path = path[:stop]
			}
			if l := keys.exact(path); l > 0 {
				line = l
			}
			problem := "must be " + describe(t)
			if len(path) == 2 && path[0] == "providers" {
				problem += "; provider settings go in a [providers.NAME] table"
			}
			return nil, &Error{File: file, Line: line, Key: formatKey(path), Problem: problem}
		}
		return nil, &Error{File: file, Line: line, Problem: "invalid TOML: " + msg}
	}
	return nil, &Error{File: file, Problem: "cannot be decoded as TOML"}
}

// isSettingPath reports whether path is a kind-only setting of a provider
// table (or below one, which readSettings refuses).
func isSettingPath(path []string, cat *catalog) bool {
	return len(path) >= 3 && path[0] == "providers" && cat.isSetting(path[2])
}

// readSettings decodes the provider tables again, loosely, for the values
// of the kind-only settings strict decoding passed over. Each must be a
// string.
func readSettings(file string, data []byte, keys keyLines, raw *rawFile, cat *catalog) *Error {
	var loose struct {
		Providers map[string]map[string]any `toml:"providers"`
	}
	if err := toml.Unmarshal(data, &loose); err != nil {
		return &Error{File: file, Problem: "cannot be decoded as TOML"} // strict decoding read it
	}
	var errs []*Error
	for _, name := range slices.Sorted(maps.Keys(loose.Providers)) {
		for _, key := range slices.Sorted(maps.Keys(loose.Providers[name])) {
			if !cat.isSetting(key) {
				continue
			}
			s, ok := loose.Providers[name][key].(string)
			if !ok {
				path := []string{"providers", name, key}
				errs = append(errs, &Error{File: file, Line: keys.exact(path), Key: formatKey(path), Problem: "must be a string"})
				continue
			}
			if raw.Providers == nil {
				raw.Providers = map[string]*rawProvider{}
			}
			rp := raw.Providers[name]
			if rp == nil {
				rp = &rawProvider{}
				raw.Providers[name] = rp
			}
			if rp.Settings == nil {
				rp.Settings = map[string]string{}
			}
			rp.Settings[key] = s
		}
	}
	if len(errs) > 0 {
		return earliest(errs)
	}
	return nil
}

// strictKey is a key go-toml's strict mode did not find in rawFile, with
// its full path (see keyPaths) and position.
type strictKey struct {
	path      []string
	line, col int
}

func isTypeMismatch(msg string) bool {
	return strings.HasPrefix(msg, "cannot decode TOML") ||
		strings.HasPrefix(msg, "cannot store") ||
		strings.Contains(msg, "cannot be stored in")
}

// unknownKeyError reports the first part of path the schema does not know,
// with the closest known key when one is near.
func unknownKeyError(file string, line int, path []string, cat *catalog) *Error {
	t, stop, known := walkSchema(path)
	if t == reflect.TypeFor[rawProvider]() {
		known = append(known, cat.settingKeys()...)
	}
	switch {
	case stop < 0:
		// The library flagged a key the schema knows; report it as is.
		return &Error{File: file, Line: line, Key: formatKey(path), Problem: "is not allowed here"}
	case known == nil:
		// A key below a scalar setting, like issuer.x = 1.
		return &Error{File: file, Line: line, Key: formatKey(path[:stop]), Problem: "must be " + describe(t)}
	}
	problem := "unknown key"
	if s := suggest(path[stop], known); s != "" {
		problem += "; did you mean " + s + "?"
	} else if stop == 0 {
		problem += "; the top level holds only default_provider and [providers.NAME], [git.\"HOST\"] and [docker.\"HOST\"] tables"
	}
	return &Error{File: file, Line: line, Key: formatKey(path[:stop+1]), Problem: problem}
}

// walkSchema follows path through rawFile. It returns the type reached and -1
// when the whole path is known; otherwise the index of the first part it
// cannot follow, the type it stopped in, and the keys that type does know
// (nil when it stopped because the type is a scalar).
func walkSchema(path []string) (reflect.Type, int, []string) {
	t := reflect.TypeFor[rawFile]()
	for i, part := range path {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Struct:
			f, ok := fieldByKey(t, part)
			if !ok {
				return t, i, structKeys(t)
			}
			t = f.Type
		case reflect.Map:
			t = t.Elem()
		default:
			return t, i, nil
		}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t, -1, nil
}

func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if k := tomlKey(f); k == key && k != "-" {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func structKeys(t reflect.Type) []string {
	keys := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		if k := tomlKey(t.Field(i)); k != "-" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func tomlKey(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	return name
}

// describe names what a value of type t must look like, in TOML words.
func describe(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int64:
		return "an integer"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		return "a list of strings"
	case reflect.Map:
		if e := t.Elem(); e.Kind() == reflect.String {
			return "a table of strings"
		}
		return "a table"
	default:
		return "a table"
	}
}
