package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func newVersionCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			printVersion(env)
			return nil
		},
	}
}

// printVersion is `authcli version` and `authcli --version`.
func printVersion(env *Env) {
	b := env.Build
	if b.Version == "" || b.Version == "dev" {
		b = fromBuildInfo(b)
	}
	fmt.Fprintf(env.Out, "authcli %s (commit %s, built %s, %s %s/%s)\n",
		orUnknown(b.Version), orUnknown(b.Commit), orUnknown(b.Date), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// fromBuildInfo fills what ldflags did not stamp from the Go toolchain's
// own record: `go install …@v1.2.3` builds carry the module version.
func fromBuildInfo(b BuildInfo) BuildInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		b.Version = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if b.Commit == "" {
				b.Commit = s.Value
			}
		case "vcs.time":
			if b.Date == "" {
				b.Date = s.Value
			}
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	return b
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
