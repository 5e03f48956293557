package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/authcli/authcli/internal/provider"
	"github.com/authcli/authcli/internal/termtext"
)

type providersOptions struct {
	*globalOptions
	JSON bool
}

// providerInfo is one entry of `providers --json` (CLI.md: stable fields).
type providerInfo struct {
	Name        string   `json:"name"`
	DisplayName string   `json:"display_name"`
	Kind        string   `json:"kind"`
	Grants      []string `json:"grants"`
	Ready       bool     `json:"ready"`
	Problem     string   `json:"problem"`
	// RedirectURI is what to register with the provider: each provider
	// has its own (/callback/NAME by default).
	RedirectURI string `json:"redirect_uri,omitempty"`
}

func newProvidersCmd(env *Env, g *globalOptions) *cobra.Command {
	opts := &providersOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "providers",
		Short: "List the configured providers and whether each is ready",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runProviders(env, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON for scripts")
	return cmd
}

func runProviders(env *Env, opts *providersOptions) error {
	cfg, err := opts.loadConfig(env)
	if err != nil {
		return err
	}
	infos := make([]providerInfo, 0, len(cfg.Providers))
	for _, name := range cfg.Names() {
		pc, err := cfg.Provider(name)
		if err != nil {
			// A table with a problem is listed with it, not hidden.
			infos = append(infos, providerInfo{Name: name, DisplayName: name, Grants: []string{}, Problem: sentence(err)})
			continue
		}
		info := providerInfo{Name: name, DisplayName: pc.DisplayName, Kind: pc.Kind, Grants: provider.Grants(pc), RedirectURI: pc.RegisteredRedirect()}
		info.Ready, info.Problem = provider.Status(pc)
		infos = append(infos, info)
	}
	if opts.JSON {
		enc := json.NewEncoder(env.Out)
		enc.SetIndent("", "  ")
		git, docker := routeInfos(cfg)
		return enc.Encode(struct {
			Providers []providerInfo `json:"providers"`
			Git       []routeInfo    `json:"git"`
			Docker    []routeInfo    `json:"docker"`
		}{infos, git, docker})
	}
	if len(infos) == 0 {
		fmt.Fprintf(env.Err, "No providers in %s; add a [providers.NAME] table (see README).\n", cfg.Path)
		return nil
	}
	tw := tabwriter.NewWriter(env.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDISPLAY NAME\tKIND\tREADY")
	for _, i := range infos {
		ready := "yes"
		if !i.Ready {
			ready = "no: " + i.Problem
		}
		def := ""
		if i.Name == cfg.DefaultProvider {
			def = " (default)"
		}
		kind := i.Kind
		if kind == "" {
			kind = "-"
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\n", i.Name, def, termtext.Line(i.DisplayName), kind, ready)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return printRoutes(env.Out, cfg)
}
