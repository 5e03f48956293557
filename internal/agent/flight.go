package agent

import (
	"context"
	"time"

	"github.com/authcli/authcli/internal/tokens"
)

// Fresh returns tokens for w, running the refresh in the agent: one
// refresh per identity at a time, later callers wait for it. The refresh
// runs on the agent's own context, not ctx: a caller that gives up or is
// killed stops waiting, the refresh goes on, and its rotated refresh
// token is stored.
func (s *Server) Fresh(ctx context.Context, w Want) (tokens.Record, error) {
	id := ident{Provider: w.Provider, Account: w.Account, Subject: w.Subject, IDToken: w.IDToken}
	s.used(id, w.MinTTL)
	if rec, ok := s.justRefreshed(id); ok {
		return rec, nil
	}
	// Two rounds at most: a caller that joined a refresh asked with a
	// smaller MinTTL than its own starts one of its own.
	for round := 0; ; round++ {
		f, err := s.join(id, w.MinTTL)
		if err != nil {
			return tokens.Record{}, err
		}
		select {
		case <-f.done:
		case <-ctx.Done():
			return tokens.Record{}, ctx.Err()
		}
		if f.err != nil || f.minTTL >= w.MinTTL || round == 1 {
			return f.rec, f.err
		}
	}
}

// join returns the running flight for id, or starts one.
func (s *Server) join(id ident, minTTL time.Duration) (*flight, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.flights[id]; ok {
		return f, nil
	}
	h := s.held
	if h == nil {
		return nil, &Error{Code: CodeLocked, Message: lockedFailure().Message}
	}
	f := &flight{minTTL: minTTL, done: make(chan struct{})}
	s.flights[id] = f
	h.flights.Add(1)
	go s.fly(h, id, f)
	return f, nil
}

// fly runs one refresh to its end, whoever still waits for it.
func (s *Server) fly(h *held, id ident, f *flight) {
	defer h.flights.Done()
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RefreshTimeout)
	defer cancel()
	start := s.cfg.Now()
	w := Want{Provider: id.Provider, Account: id.Account, Subject: id.Subject, MinTTL: f.minTTL, IDToken: id.IDToken}
	f.rec, f.err = s.cfg.Fresh(ctx, h.v, w)

	s.mu.Lock()
	delete(s.flights, id)
	if f.err == nil && !f.rec.UpdatedAt.Before(start) {
		s.refreshes++
		f.finished = s.cfg.Now()
		s.recent[id] = f
	}
	if f.err == nil && s.held == h {
		s.scheduleAhead(id, f.rec)
	}
	s.mu.Unlock()
	close(f.done)
}

// settle is how long a refresh's result is handed to callers that arrive
// after it even when it does not satisfy their MinTTL: a provider whose
// tokens live shorter than MinTTL would otherwise be asked again by each
// caller that just missed the refresh, for no longer-lived token (the
// same rule as tokens.Source.Settled across processes).
const settle = 2 * time.Second

// justRefreshed returns the result of a refresh of id that finished
// within settle and is still valid.
func (s *Server) justRefreshed(id ident) (tokens.Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.recent[id]
	if !ok || s.held == nil {
		return tokens.Record{}, false
	}
	now := s.cfg.Now()
	if now.Sub(f.finished) > settle {
		delete(s.recent, id)
		return tokens.Record{}, false
	}
	exp, tok := f.rec.Expiry, f.rec.AccessToken
	if id.IDToken {
		exp, tok = f.rec.IDTokenExpiry, f.rec.IDToken
	}
	if tok == "" || (!exp.IsZero() && !exp.After(now)) {
		return tokens.Record{}, false
	}
	return f.rec, true
}

// used records that a client asked for id.
func (s *Server) used(id ident, minTTL time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.inUse[id]
	if !ok {
		u = &use{}
		s.inUse[id] = u
	}
	u.lastUsed, u.minTTL = s.cfg.Now(), minTTL
}

// Bounds of how far ahead of expiry (beyond the client's MinTTL) the agent
// refreshes: a tenth of the token's remaining life, within these.
const (
	minLead = 2 * time.Second
	maxLead = 5 * time.Minute
)

// scheduleAhead arranges a refresh shortly before the token handed out
// for id stops satisfying the MinTTL its clients ask for, so the next
// caller finds a fresh token. Caller holds s.mu.
func (s *Server) scheduleAhead(id ident, rec tokens.Record) {
	u, ok := s.inUse[id]
	if !ok {
		return
	}
	exp := rec.Expiry
	if id.IDToken {
		exp = rec.IDTokenExpiry
	}
	u.expiry = exp
	if u.timer != nil {
		u.timer.Stop()
		u.timer = nil
	}
	u.aheadAt = time.Time{}
	now := s.cfg.Now()
	if exp.IsZero() || now.Sub(u.lastUsed) > s.cfg.IdleAfter {
		return
	}
	window := exp.Sub(now) - u.minTTL
	lead := min(max(window/10, minLead), maxLead)
	at := exp.Add(-u.minTTL - lead)
	// A token that lives shorter than the margin would be refreshed right
	// after every hand-out: leave those to the callers.
	if at.Sub(now) < time.Second {
		return
	}
	u.aheadAt = at
	minTTL := u.minTTL + lead + time.Second
	u.timer = time.AfterFunc(at.Sub(now), func() { s.ahead(id, minTTL) })
}

// ahead is the refresh-ahead timer: it refreshes through the same flight
// as callers, so a caller arriving meanwhile waits for it.
func (s *Server) ahead(id ident, minTTL time.Duration) {
	s.mu.Lock()
	u, ok := s.inUse[id]
	idle := ok && s.cfg.Now().Sub(u.lastUsed) > s.cfg.IdleAfter
	if idle {
		delete(s.inUse, id)
	}
	s.mu.Unlock()
	if !ok || idle {
		return
	}
	f, err := s.join(id, minTTL)
	if err != nil {
		return
	}
	<-f.done
	if f.err != nil {
		s.cfg.Logf("refresh ahead of expiry for provider %q failed: %s", id.Provider, f.err)
	}
}
