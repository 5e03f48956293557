package config

import (
	"bytes"
	"errors"
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
	Tenant             *string           `toml:"tenant"`
	TeamID             *string           `toml:"team_id"`
	KeyID              *string           `toml:"key_id"`
	PrivateKeyFile     *string           `toml:"private_key_file"`
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
		{"tenant", &r.Tenant},
		{"team_id", &r.TeamID},
		{"key_id", &r.KeyID},
		{"private_key_file", &r.PrivateKeyFile},
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

// decode runs go-toml in strict mode and turns its errors into *Error.
func decode(file string, data []byte, keys keyLines) (*rawFile, *Error) {
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
	if errors.As(err, &strict) && len(strict.Errors) > 0 {
		first := strict.Errors[0]
		for _, e := range strict.Errors[1:] {
			if l, c := e.Position(); lessPos(l, c, first) {
				first = e
			}
		}
		line, _ := first.Position()
		return nil, unknownKeyError(file, line, first.Key())
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

func lessPos(line, col int, e toml.DecodeError) bool {
	l, c := e.Position()
	return line < l || line == l && col < c
}

func isTypeMismatch(msg string) bool {
	return strings.HasPrefix(msg, "cannot decode TOML") ||
		strings.HasPrefix(msg, "cannot store") ||
		strings.Contains(msg, "cannot be stored in")
}

// unknownKeyError reports the first part of path the schema does not know,
// with the closest known key when one is near.
func unknownKeyError(file string, line int, path []string) *Error {
	t, stop, known := walkSchema(path)
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
		if tomlKey(f) == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func structKeys(t reflect.Type) []string {
	keys := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		keys = append(keys, tomlKey(t.Field(i)))
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
