package config

import (
	"errors"
	"path/filepath"
	"runtime"
)

// ErrNoHome: neither the authcli variables, the XDG variables nor a home
// directory are set, so there is nowhere to look.
var ErrNoHome = errors.New("cannot find a home directory; set HOME, or AUTHCLI_CONFIG and AUTHCLI_STATE_DIR")

// DefaultPath is where the config file lives when --config is not given:
// $AUTHCLI_CONFIG, else $XDG_CONFIG_HOME/authcli/config.toml, else
// $HOME/.config/authcli/config.toml. On Windows without HOME it falls back to
// %APPDATA%\authcli\config.toml, as os.UserConfigDir would. Every lookup goes
// through getenv so tests need not touch the real environment.
func DefaultPath(getenv func(string) string) (string, error) {
	return defaultPath(getenv, runtime.GOOS)
}

func defaultPath(getenv func(string) string, goos string) (string, error) {
	getenv = orEmptyEnv(getenv)
	if p := getenv("AUTHCLI_CONFIG"); p != "" {
		return p, nil
	}
	if dir := xdgDir(getenv, "XDG_CONFIG_HOME"); dir != "" {
		return filepath.Join(dir, "authcli", "config.toml"), nil
	}
	if home := getenv("HOME"); home != "" {
		return filepath.Join(home, ".config", "authcli", "config.toml"), nil
	}
	if dir := getenv("APPDATA"); goos == "windows" && dir != "" {
		return filepath.Join(dir, "authcli", "config.toml"), nil
	}
	return "", ErrNoHome
}

// StateDir is where the accounts store, locks and the file vault live:
// $AUTHCLI_STATE_DIR, else $XDG_STATE_HOME/authcli, else
// $HOME/.local/state/authcli; on Windows without HOME,
// %LOCALAPPDATA%\authcli.
func StateDir(getenv func(string) string) (string, error) {
	return stateDir(getenv, runtime.GOOS)
}

func stateDir(getenv func(string) string, goos string) (string, error) {
	getenv = orEmptyEnv(getenv)
	if p := getenv("AUTHCLI_STATE_DIR"); p != "" {
		return p, nil
	}
	if dir := xdgDir(getenv, "XDG_STATE_HOME"); dir != "" {
		return filepath.Join(dir, "authcli"), nil
	}
	if home := getenv("HOME"); home != "" {
		return filepath.Join(home, ".local", "state", "authcli"), nil
	}
	if dir := getenv("LOCALAPPDATA"); goos == "windows" && dir != "" {
		return filepath.Join(dir, "authcli"), nil
	}
	return "", ErrNoHome
}

// xdgDir returns an XDG base directory variable when it is usable; the XDG
// spec says relative values are invalid and must be ignored.
func xdgDir(getenv func(string) string, name string) string {
	dir := getenv(name)
	if dir == "" || !filepath.IsAbs(dir) {
		return ""
	}
	return dir
}

// orEmptyEnv makes a nil getenv mean an empty environment.
func orEmptyEnv(getenv func(string) string) func(string) string {
	if getenv == nil {
		return func(string) string { return "" }
	}
	return getenv
}
