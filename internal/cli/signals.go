package cli

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// interrupts remembers the first terminating signal a command received, so
// Run can exit 128+N for it (130 for SIGINT, 143 for SIGTERM, 129 for
// SIGHUP), like a shell.
type interrupts struct {
	mu  sync.Mutex
	sig syscall.Signal
}

func (i *interrupts) received() syscall.Signal {
	if i == nil {
		return 0
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.sig
}

// watchSignals returns ctx ended by SIGINT, SIGTERM or SIGHUP, and records
// the signal. It is installed only where a command has something to finish
// or undo (a sign-in, a lock wait, a refresh): the cached `authcli token`
// pays for no signal handler, and a signal there simply ends the process,
// which loses nothing.
func (env *Env) watchSignals(ctx context.Context) context.Context {
	return env.watch(ctx, true)
}

// watchSignalsSoon is watchSignals without waiting for the watch to be in
// place: os/signal's first use starts a thread of its own, a third of a
// millisecond that a refresh, which leaves the cached path only to hand
// the grant to a process of its own, need not wait for. A signal before
// the watch is up ends the process as on the cached path; the refresh
// goes on in its own process all the same.
func (env *Env) watchSignalsSoon(ctx context.Context) context.Context {
	return env.watch(ctx, false)
}

func (env *Env) watch(ctx context.Context, wait bool) context.Context {
	if env.signals == nil {
		return ctx
	}
	ctx, cancel := context.WithCancel(ctx)
	ch := make(chan os.Signal, 1)
	notified := make(chan struct{})
	go func() {
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
		close(notified)
	}()
	if wait {
		<-notified
	}
	go func() {
		<-notified
		defer signal.Stop(ch)
		select {
		case s := <-ch:
			env.signals.mu.Lock()
			if env.signals.sig == 0 {
				env.signals.sig, _ = s.(syscall.Signal)
			}
			env.signals.mu.Unlock()
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx
}
