// Command pair times whole processes side by side for bench/token.sh: it
// runs a baseline command and one or more candidates in turn, round after
// round, so that whatever else the machine is doing at a moment slows both
// members of a pair alike. It reports each command's median wall time, the
// median of the per-round ratios candidate/baseline, and the largest peak
// RSS seen. Output is discarded; a non-zero exit stops the run.
//
// Usage: pair [-runs N] [-warmup N] [-json FILE] BASELINE -- CANDIDATE [-- CANDIDATE…]
// Each command is one argument list, split on "--" (no shell); leading
// NAME=VALUE words set that command's environment, as env(1) would, without
// the cost of another exec.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

type result struct {
	Command   string    `json:"command"`
	MedianMS  float64   `json:"median_ms"`
	Ratio     float64   `json:"median_ratio"` // per-round ratio to the baseline, median
	MaxRSSKiB int64     `json:"max_rss_kib"`
	TimesMS   []float64 `json:"times_ms"`
}

func main() {
	runs := flag.Int("runs", 200, "rounds")
	warmup := flag.Int("warmup", 20, "untimed rounds first")
	out := flag.String("json", "", "also write the results here")
	flag.Parse()
	cmds := split(flag.Args())
	if len(cmds) < 2 {
		fmt.Fprintln(os.Stderr, "usage: pair [-runs N] [-warmup N] [-json FILE] BASELINE -- CANDIDATE [-- CANDIDATE...]")
		os.Exit(2)
	}
	res := make([]result, len(cmds))
	for i, c := range cmds {
		res[i].Command = strings.Join(c, " ")
	}
	ratios := make([][]float64, len(cmds))
	for round := -*warmup; round < *runs; round++ {
		var base float64
		for i, c := range cmds {
			d, rss, err := runOnce(c)
			if err != nil {
				fmt.Fprintf(os.Stderr, "pair: %s: %v\n", res[i].Command, err)
				os.Exit(1)
			}
			if round < 0 {
				continue
			}
			ms := float64(d) / float64(time.Millisecond)
			res[i].TimesMS = append(res[i].TimesMS, ms)
			res[i].MaxRSSKiB = max(res[i].MaxRSSKiB, rss)
			if i == 0 {
				base = ms
			}
			ratios[i] = append(ratios[i], ms/base)
		}
	}
	for i := range res {
		res[i].MedianMS = median(res[i].TimesMS)
		res[i].Ratio = median(ratios[i])
		fmt.Printf("%-60s median %6.3f ms  ratio %5.2f×  peak RSS %5.1f MiB\n",
			clip(res[i].Command, 60), res[i].MedianMS, res[i].Ratio, float64(res[i].MaxRSSKiB)/1024)
	}
	if *out != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "pair:", err)
			os.Exit(1)
		}
	}
}

func split(args []string) [][]string {
	var cmds [][]string
	cur := []string{}
	for _, a := range args {
		if a == "--" {
			cmds = append(cmds, cur)
			cur = []string{}
			continue
		}
		cur = append(cur, a)
	}
	cmds = append(cmds, cur)
	return slices.DeleteFunc(cmds, func(c []string) bool { return len(c) == 0 })
}

// runOnce runs argv with its output discarded and returns its wall time and
// peak RSS (KiB, from the kernel's rusage of the child).
func runOnce(argv []string) (time.Duration, int64, error) {
	env := os.Environ()
	for len(argv) > 1 && strings.Contains(argv[0], "=") && !strings.HasPrefix(argv[0], "=") {
		env = append(env, argv[0])
		argv = argv[1:]
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		return 0, 0, err
	}
	return d, peakRSS(cmd.ProcessState), nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n+1:]
}
