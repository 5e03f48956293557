// Command gendocs writes authcli's shell completions and man pages for
// release archives and packages (.goreleaser.yaml runs it as a before hook).
// It is a build tool, never shipped.
//
//	go run ./scripts/gendocs -out build/docs -version 1.2.3 -date 1735689600
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stderr, time.Now); err != nil {
		fmt.Fprintf(os.Stderr, "gendocs: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer, now func() time.Time) error {
	fs := flag.NewFlagSet("gendocs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "build/docs", "output directory; its completions/ and man/ are replaced")
	version := fs.String("version", "", "version shown in the man pages' footer")
	date := fs.String("date", "", "man page date as Unix seconds (a commit timestamp, for reproducible builds); default, or 0 and less: now")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *out == "" {
		return fmt.Errorf("-out: no output directory")
	}
	when := now()
	if *date != "" {
		secs, err := strconv.ParseInt(*date, 10, 64)
		if err != nil {
			return fmt.Errorf("-date %q is not Unix seconds", *date)
		}
		// goreleaser gives the zero time's -62135596800 when it has no git
		// information (a snapshot in a checkout without a remote).
		if secs > 0 {
			when = time.Unix(secs, 0).UTC()
		}
	}
	// Pages of commands that no longer exist must not linger in a release.
	for _, sub := range []string{"completions", "man"} {
		if err := os.RemoveAll(filepath.Join(*out, sub)); err != nil {
			return fmt.Errorf("clear %s: %w", filepath.Join(*out, sub), err)
		}
	}
	return Docs(*out, *version, when)
}
