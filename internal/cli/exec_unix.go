//go:build unix

package cli

import (
	"os"
	"os/signal"
	"syscall"
)

// forwardedSignals are what a supervisor or a terminal sends to end or
// interrupt a program; exec passes each on to its child.
var forwardedSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// forwardSignals catches forwardedSignals from now on (authcli no longer
// dies of them); once attach names the child's process, each one caught,
// those that came before included, is sent to it. stop ends the
// forwarding.
func forwardSignals() (attach func(*os.Process), stop func()) {
	ch := make(chan os.Signal, 8)
	signal.Notify(ch, forwardedSignals...)
	procs := make(chan *os.Process, 1)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var p *os.Process
		select {
		case p = <-procs:
		case <-done:
			return
		}
		for {
			select {
			case sig := <-ch:
				_ = p.Signal(sig)
			case <-done:
				return
			}
		}
	}()
	return func(p *os.Process) { procs <- p }, func() {
		signal.Stop(ch)
		close(done)
		<-finished
	}
}

// killedBy reports the signal that ended the process, if one did.
func killedBy(ps *os.ProcessState) (int, bool) {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return 0, false
	}
	return int(ws.Signal()), true
}
