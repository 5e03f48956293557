package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/authcli/authcli/internal/config"
	"github.com/authcli/authcli/internal/flow"
	"github.com/authcli/authcli/internal/provider"
	"github.com/authcli/authcli/internal/termtext"
)

// discoveryWait bounds how long `providers` waits for an issuer's discovery
// document: the listing must not hang on a provider that is down.
const discoveryWait = 3 * time.Second

// offersDevice asks a generic OpenID provider's discovery document whether
// it offers the device grant, which login then uses on a machine without a
// browser: only discovery knows, the config does not say.
func offersDevice(env *Env, pc *config.Provider) bool {
	p, err := provider.Build(pc, env.Now)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), discoveryWait)
	defer cancel()
	e, err := p.Resolve(ctx, env.httpClient(), env.now)
	return err == nil && flow.SupportsDevice(e)
}

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
	// What only discovery knows, asked of every issuer at once; each
	// goroutine writes its own element.
	names := cfg.Names()
	offers := make([]bool, len(names))
	var wg sync.WaitGroup
	for _, name := range names {
		pc, err := cfg.Provider(name)
		if err != nil {
			// A table with a problem is listed with it, not hidden.
			infos = append(infos, providerInfo{Name: name, DisplayName: name, Grants: []string{}, Problem: sentence(err)})
			continue
		}
		info := providerInfo{Name: name, DisplayName: pc.DisplayName, Kind: pc.Kind, Grants: provider.Grants(pc), RedirectURI: pc.RegisteredRedirect()}
		info.Ready, info.Problem = provider.Status(pc)
		infos = append(infos, info)
		if info.Ready && pc.Kind == provider.KindOIDC && !slices.Contains(info.Grants, provider.GrantDeviceCode) {
			i := len(infos) - 1
			wg.Add(1)
			go func() {
				defer wg.Done()
				offers[i] = offersDevice(env, pc)
			}()
		}
	}
	wg.Wait()
	for i, ok := range offers {
		if ok {
			infos[i].Grants = append(infos[i].Grants, provider.GrantDeviceCode)
		}
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
