package config

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestDefaultPathAndStateDir(t *testing.T) {
	tests := []struct {
		name      string
		goos      string
		env       map[string]string
		config    string
		state     string
		wantNoDir bool
	}{
		{
			name:   "authcli variables win",
			goos:   "linux",
			env:    map[string]string{"AUTHCLI_CONFIG": "/etc/authcli.toml", "AUTHCLI_STATE_DIR": "/var/lib/authcli", "XDG_CONFIG_HOME": "/x/config", "XDG_STATE_HOME": "/x/state", "HOME": "/home/a"},
			config: "/etc/authcli.toml",
			state:  "/var/lib/authcli",
		},
		{
			name:   "XDG before HOME",
			goos:   "linux",
			env:    map[string]string{"XDG_CONFIG_HOME": "/x/config", "XDG_STATE_HOME": "/x/state", "HOME": "/home/a"},
			config: filepath.Join("/x/config", "authcli", "config.toml"),
			state:  filepath.Join("/x/state", "authcli"),
		},
		{
			name:   "HOME fallback",
			goos:   "linux",
			env:    map[string]string{"HOME": "/home/a"},
			config: filepath.Join("/home/a", ".config", "authcli", "config.toml"),
			state:  filepath.Join("/home/a", ".local", "state", "authcli"),
		},
		{
			name:   "relative XDG values are ignored",
			goos:   "linux",
			env:    map[string]string{"XDG_CONFIG_HOME": "conf", "XDG_STATE_HOME": "state", "HOME": "/home/a"},
			config: filepath.Join("/home/a", ".config", "authcli", "config.toml"),
			state:  filepath.Join("/home/a", ".local", "state", "authcli"),
		},
		{
			name:   "macOS uses the same layout as Linux",
			goos:   "darwin",
			env:    map[string]string{"HOME": "/Users/a", "APPDATA": "/ignored"},
			config: filepath.Join("/Users/a", ".config", "authcli", "config.toml"),
			state:  filepath.Join("/Users/a", ".local", "state", "authcli"),
		},
		{
			name:   "Windows without HOME",
			goos:   "windows",
			env:    map[string]string{"APPDATA": "/roaming", "LOCALAPPDATA": "/local"},
			config: filepath.Join("/roaming", "authcli", "config.toml"),
			state:  filepath.Join("/local", "authcli"),
		},
		{
			name:      "APPDATA means nothing off Windows",
			goos:      "linux",
			env:       map[string]string{"APPDATA": "/roaming", "LOCALAPPDATA": "/local"},
			wantNoDir: true,
		},
		{
			name:      "nothing set",
			goos:      "linux",
			env:       map[string]string{},
			wantNoDir: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := envFrom(tt.env)
			config, cerr := defaultPath(getenv, tt.goos)
			state, serr := stateDir(getenv, tt.goos)
			if tt.wantNoDir {
				if !errors.Is(cerr, ErrNoHome) || !errors.Is(serr, ErrNoHome) {
					t.Fatalf("errors = %v, %v; want ErrNoHome", cerr, serr)
				}
				return
			}
			if cerr != nil || serr != nil {
				t.Fatalf("errors = %v, %v", cerr, serr)
			}
			eq(t, "config path", config, tt.config)
			eq(t, "state dir", state, tt.state)
		})
	}
}

func TestDefaultPathPublic(t *testing.T) {
	getenv := envFrom(map[string]string{"AUTHCLI_CONFIG": "/c.toml", "AUTHCLI_STATE_DIR": "/s"})
	if p, err := DefaultPath(getenv); err != nil || p != "/c.toml" {
		t.Errorf("DefaultPath = %q, %v", p, err)
	}
	if p, err := StateDir(getenv); err != nil || p != "/s" {
		t.Errorf("StateDir = %q, %v", p, err)
	}
	if _, err := DefaultPath(nil); !errors.Is(err, ErrNoHome) {
		t.Errorf("DefaultPath(nil) error = %v, want ErrNoHome", err)
	}
}
