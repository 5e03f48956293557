package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/authcli/authcli/internal/auth"
	"github.com/authcli/authcli/internal/config"
	"github.com/authcli/authcli/internal/tokens"
	"github.com/authcli/authcli/internal/vault"
)

// refreshWorkerCmd is the hidden command a detached refresh runs as.
const refreshWorkerCmd = "__refresh"

// refreshGrace is how long a signalled caller still waits for the refresh
// it started, so that its exit finds the new tokens stored. The refresh
// itself goes on either way: it runs in a process of its own.
const refreshGrace = 5 * time.Second

// detachedRefresher runs each refresh in a child process in a session of
// its own (setsid). The caller hands it the held refresh lock and waits. A
// signal to the caller, or SIGKILL of the caller's whole process group
// (Ctrl-C in a terminal, a cancelled CI job), cannot reach the child, so
// the grant and the store of the rotated refresh token always complete —
// the only way a rotated token can be lost is the refreshing process
// itself dying in the microseconds between the provider's answer and the
// vault write.
type detachedRefresher struct {
	env *Env
	g   *globalOptions
	svc *auth.Service
}

// workerResult is the one line the child reports on its stdout: code 0
// once the new tokens are stored, else the failure's exit code and message.
type workerResult struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (r *detachedRefresher) Refresh(ctx context.Context, job auth.Job, lock *tokens.Lock) (tokens.Record, error) {
	exe, err := os.Executable()
	if err != nil {
		// Without our own binary, refresh here; the grant still ignores
		// signals once it has begun.
		return r.svc.Refresh(ctx, job, lock)
	}
	args := []string{refreshWorkerCmd, job.Provider, job.Subject, "--min-ttl", job.Want.MinTTL.String()}
	if job.Want.IDToken {
		args = append(args, "--id-token")
	}
	if r.g.ConfigPath != "" {
		args = append(args, "--config", r.g.ConfigPath)
	}
	if r.g.Verbose {
		args = append(args, "--verbose")
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = os.Environ()
	cmd.ExtraFiles = []*os.File{lock.File()} // fd 3: the held lock
	cmd.SysProcAttr = detachAttr()
	cmd.Stderr = r.env.Err // -v diagnostics
	out, err := cmd.StdoutPipe()
	if err != nil {
		lock.Unlock()
		return tokens.Record{}, fmt.Errorf("start the refresh: %w", err)
	}
	if err := cmd.Start(); err != nil {
		lock.Unlock()
		return tokens.Record{}, fmt.Errorf("start the refresh: %w", err)
	}
	// The child holds the lock now; this copy only keeps it alive longer.
	lock.Unlock()
	done := make(chan workerResult, 1)
	go func() {
		// The result line comes once the tokens are stored; the caller
		// goes on then, not when the child has exited (process teardown
		// is a fraction of a millisecond nobody needs to wait for). A
		// child that ends without the line failed.
		res := workerResult{Code: -1}
		line, _ := bufio.NewReader(io.LimitReader(out, 64<<10)).ReadBytes('\n')
		if len(line) > 0 && json.Unmarshal(line, &res) == nil && res.Code >= 0 {
			done <- res
			_ = cmd.Wait()
			return
		}
		werr := cmd.Wait()
		if werr == nil {
			werr = errors.New("it ended without a result")
		}
		done <- workerResult{Code: ExitFailure, Message: "the refresh process failed: " + sentence(werr)}
	}()
	select {
	case res := <-done:
		if res.Code != 0 {
			return tokens.Record{}, &exitError{code: res.Code, msg: res.Message}
		}
		return r.svc.Stored(job)
	case <-ctx.Done():
		select {
		case <-done:
		case <-time.After(refreshGrace):
		}
		return tokens.Record{}, ctx.Err()
	}
}

// newRefreshWorkerCmd is the child side: it adopts the lock on fd 3, runs
// the refresh in process, and reports failure as one JSON line.
func newRefreshWorkerCmd(env *Env, g *globalOptions) *cobra.Command {
	var want tokens.Want
	cmd := &cobra.Command{
		Use:    refreshWorkerCmd + " PROVIDER SUBJECT",
		Hidden: true,
		Args:   cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			// Nothing may stop this process between the provider's
			// answer and the store: not the caller's terminal, not a
			// broken pipe to a caller that is gone.
			signal.Ignore(os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
			lockFile := os.NewFile(3, "refresh-lock")
			if lockFile == nil {
				return errors.New("the refresh lock was not handed over")
			}
			// The grant needs the config, and parsing it cold (0.44 ms
			// here) was the longest step before the token request: it
			// starts now, while the service is built and the vault reads
			// the record.
			loadConfig := preload(func() (*config.File, error) { return g.loadConfig(env) })
			worker := *env
			worker.Detach = false
			svc, err := newService(&worker, g)
			if err == nil {
				svc.Config = loadConfig
			}
			reported := false
			// A file vault's new tokens are written in place and synced
			// after the caller is told (vault.File.SyncLater): written,
			// they outlive this process; the caller need not wait for
			// the disk too.
			sync := func() error { return nil }
			if f, ok := svc.Vault.(*vault.File); err == nil && ok {
				f.SyncLater()
				sync = f.Sync
			}
			if err == nil {
				// The caller goes on as soon as the tokens are stored.
				svc.Refreshed = func() {
					b, _ := json.Marshal(workerResult{Code: 0})
					_, _ = env.Out.Write(append(b, '\n'))
					reported = true
					if err := sync(); err != nil {
						fmt.Fprintf(env.Err, "authcli: %v\n", err)
					}
				}
				job := auth.Job{Provider: args[0], Subject: args[1], Want: want}
				_, err = svc.Refresh(context.WithoutCancel(cmd.Context()), job, tokens.AdoptLock(lockFile))
				if err != nil {
					err = &auth.IdentityError{Provider: job.Provider, Err: err}
				}
			}
			if err == nil {
				if !reported { // a machine identity: nothing to record after the store
					b, _ := json.Marshal(workerResult{Code: 0})
					_, _ = env.Out.Write(append(b, '\n'))
				}
				return sync()
			}
			_ = sync()
			code, msg := describe(err)
			b, _ := json.Marshal(workerResult{Code: code, Message: msg})
			_, _ = env.Out.Write(append(b, '\n'))
			return &exitError{code: code} // reported on stdout, not stderr
		},
	}
	cmd.Flags().DurationVar(&want.MinTTL, "min-ttl", time.Minute, "")
	cmd.Flags().BoolVar(&want.IDToken, "id-token", false, "")
	return cmd
}

// preload starts load in the background and returns what waits for its
// result, as often as asked.
func preload(load func() (*config.File, error)) func() (*config.File, error) {
	var (
		f   *config.File
		err error
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		f, err = load()
	}()
	return func() (*config.File, error) {
		<-done
		return f, err
	}
}
