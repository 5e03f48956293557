package accounts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/authcli/authcli/internal/atomicfile"
	"github.com/authcli/authcli/internal/statedir"
)

// AddedName is the file beside accounts.json that holds the accounts
// AddNew created since the last Update, one line each, appended in order
// so that Load applies them in the order they were made. A first sign-in
// that creates an account appends its line (and adds its lines to the
// index) instead of rewriting all of accounts.json, whose size grows with
// every identity: 95 ms at 1,000 identities, against 3.5 ms at one.
// Appending in place also spares the file of its own that each account
// had before: creating one took 0.5 to 1 ms on the machines measured,
// with its rename and the directory's fsync. The line is not flushed, as
// the sign-in's tokens are not (vault.Unflushed): a crash of the machine
// soon after may take the sign-in back, which costs the user a sign-in
// again and nothing else, where each flush cost 0.1 to 1.5 ms. The next
// Update folds the lines into accounts.json, flushed, and empties the
// file.
//
// A line is the account as JSON, a tab, and the CRC-32 (IEEE) of the JSON
// in hex. A last line that is cut short or fails its checksum was torn by
// a crash: of the process before AddNew returned, so before the sign-in
// said it was done, or of the machine before the kernel wrote it out:
// readers drop it, and the next AddNew writes over it. Any
// other line that does not parse is ErrCorrupt naming the file: skipping
// it would lose an account.
const AddedName = "accounts.add"

// maxAdded bounds the lines waiting to be folded: past it AddNew leaves
// the sign-in to Update, which folds them all, so that Load never reads
// more than this many on top of accounts.json.
const maxAdded = 100

// maxAddedSize bounds what Load reads of one line: one account with one
// identity, its claims capped (MaxClaimsBytes).
const maxAddedSize = 256 << 10

func (s *Store) addedPath() string { return filepath.Join(s.dir, AddedName) }

// addedLog is the added file as read: its accounts, where the whole lines
// end, and the file's stat (nil when there is none).
type addedLog struct {
	accounts []Account
	end      int
	fi       fs.FileInfo
}

// AddNew stores a sign-in of an identity no account holds when it creates
// an account (outcome Created) and the store already has a default
// account: it decides from the index, as Resolve would on the whole store,
// and appends the new account to the added file (AddedName) and to the
// index, all under the store's lock, without reading or rewriting
// accounts.json.
// beforeWrite runs under the lock once the outcome is known and before
// anything is written (the Keeper stores the tokens there); its error is
// returned as is, with nothing written.
//
// done is false, with nothing written and beforeWrite not called, when
// the sign-in must go the full way (Load, Resolve, Update): an index that
// does not describe the store, another outcome (Known, NeedsLink: r says
// which), the first account, or maxAdded accounts waiting.
func (s *Store) AddNew(in SignIn, now time.Time, beforeWrite func() error) (r Resolution, done bool, err error) {
	if err := in.validate(); err != nil {
		return Resolution{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return Resolution{}, false, fmt.Errorf("create state directory: %w", err)
	}
	l := s.lockFile()
	if err := l.Lock(); err != nil {
		return Resolution{}, false, fmt.Errorf("lock accounts store %s: %w", s.path, err)
	}
	defer l.Unlock()

	src, err := s.currentSource()
	if err != nil {
		return Resolution{}, false, nil
	}
	c, err := s.indexNow(src)
	if err != nil {
		return Resolution{}, false, nil
	}
	def, body := c.def, c.lines
	// The index holds every name, identity and email: Resolve answers on
	// it as on the whole store (resolveIndex).
	r, err = s.resolveNow(src, def, body, in)
	if err != nil || r.Outcome != Created || def == "" {
		return r, false, nil
	}
	log, err := s.readAdded(false)
	if err != nil || len(log.accounts) >= maxAdded {
		return r, false, nil
	}
	if err := ValidateName(r.Account); err != nil {
		return r, false, err
	}
	now = now.UTC()
	a := Account{Name: r.Account, Identities: []Identity{newIdentity(in, now)}, CreatedAt: now}
	entry, err := encodeAdded(a)
	if err != nil {
		return r, false, fmt.Errorf("refusing to write account %s: %w", a.Name, err)
	}
	if err := beforeWrite(); err != nil {
		return r, false, err
	}
	if err := s.appendAdded(log, entry); err != nil {
		return r, false, fmt.Errorf("write account %s to %s: %w", a.Name, s.addedPath(), err)
	}
	// The index of before with a's lines appended: the other accounts
	// are neither parsed nor written again.
	s.putIndexWith(c, a)
	return r, true, nil
}

// resolvedAhead is a resolution PrepareNew worked out: the index it was
// worked out on (its first two lines) and the sign-in's fields Resolve
// reads.
type resolvedAhead struct {
	head string
	in   resolveInputs
	r    Resolution
}

// resolveInputs are the fields of a sign-in that Resolve decides on (see
// Resolve, and baseName for the new account's name).
type resolveInputs struct {
	provider, subject, account, email string
	emailVerified, trusted            bool
}

func inputsOf(in SignIn) resolveInputs {
	return resolveInputs{provider: in.Provider, subject: in.Profile.Subject, account: in.Account,
		email: in.Profile.Email, emailVerified: in.Profile.EmailVerified, trusted: in.TrustEmailVerified}
}

// PrepareNew works out ahead what AddNew will decide for in, a sign-in
// of an identity the store does not know, on Prefetch's index: a sign-in
// calls it with the profile its verified ID token gives, while userinfo is
// still on its way, because resolving goes over every line of the index
// (0.15 ms at 1,000 identities, after the provider's answers). AddNew
// takes the result only when the index still names the store there then
// and its sign-in has the same fields Resolve reads; it resolves anew
// otherwise (userinfo changed the email, say). It reads and writes no
// file.
func (s *Store) PrepareNew(in SignIn) {
	c := s.early.Load()
	if c == nil {
		return
	}
	r, err := resolveIndex(c.def, c.lines, in)
	if err != nil {
		return
	}
	s.ahead.Store(&resolvedAhead{head: c.head, in: inputsOf(in), r: r})
}

// resolveNow is resolveIndex on the checked index of the store whose
// source is src: PrepareNew's result when it is of that index and of the
// same inputs, which are all Resolve depends on.
func (s *Store) resolveNow(src source, def, body string, in SignIn) (Resolution, error) {
	if a := s.ahead.Load(); a != nil && a.head == indexHead(src) && a.in == inputsOf(in) {
		r := a.r
		r.Candidates = slices.Clone(r.Candidates)
		return r, nil
	}
	return resolveIndex(def, body, in)
}

// appendAdded writes line after the whole lines of log and drops what a
// torn write left after them, unflushed (see AddedName).
func (s *Store) appendAdded(log addedLog, line []byte) error {
	size := int64(-1)
	if log.fi != nil {
		size = log.fi.Size()
	}
	return atomicfile.WriteTailUnflushed(s.addedPath(), int64(log.end), size, line)
}

// cutTornAdded drops a torn last line of the added file, under the lock,
// so that the index written next names a size the file keeps until its
// next line.
func (s *Store) cutTornAdded() error {
	log, err := s.readAdded(false)
	if err != nil || log.fi == nil || log.fi.Size() == int64(log.end) {
		return err
	}
	f, err := os.OpenFile(s.addedPath(), os.O_RDWR|statedir.NoFollow, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Truncate(int64(log.end))
}

// clearAdded empties the added file once accounts.json holds its
// accounts. A crash before it leaves lines Load finds folded already.
func (s *Store) clearAdded() {
	f, err := os.OpenFile(s.addedPath(), os.O_RDWR|statedir.NoFollow, 0)
	if err != nil {
		return
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
		if f.Truncate(0) == nil {
			_ = atomicfile.DataSync(f)
		}
	}
}

// readAdded reads the added file's whole lines. An unreadable file, or
// a line before the last that does not parse, is ErrCorrupt naming the
// file. Without decode the lines are only counted (log.accounts holds
// zero values) and checked by their checksums: what AddNew needs, where
// the index already describes them.
func (s *Store) readAdded(decode bool) (addedLog, error) {
	f, err := os.OpenFile(s.addedPath(), os.O_RDONLY|statedir.NoFollow, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return addedLog{}, nil
	}
	corrupt := func(why string) (addedLog, error) {
		return addedLog{}, &ruleError{kind: ErrCorrupt,
			msg: fmt.Sprintf("new accounts file %s is unusable (%s); repair it or move it aside", s.addedPath(), why)}
	}
	if err != nil {
		return corrupt(err.Error())
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return corrupt(err.Error())
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxAdded*maxAddedSize {
		return corrupt("not a file authcli wrote")
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return corrupt(err.Error())
	}
	log := addedLog{fi: fi}
	if log.accounts, log.end, err = parseAdded(data, decode); err != nil {
		return corrupt(err.Error())
	}
	return log, nil
}

// parseAdded reads the whole lines of an added file, dropping a torn last
// line, and returns their accounts and where they end.
func parseAdded(data []byte, decode bool) (accounts []Account, end int, err error) {
	for n := 1; end < len(data); n++ {
		line, rest, whole := bytes.Cut(data[end:], []byte("\n"))
		ok := whole && checked(line)
		if !ok && len(rest) == 0 {
			break // the last line, torn
		}
		var a Account
		if !ok {
			err = errors.New("checksum")
		} else if decode {
			a, err = decodeAddedLine(line)
		}
		if err != nil {
			return nil, 0, fmt.Errorf("line %d: %w", n, err)
		}
		accounts = append(accounts, a)
		end += len(line) + 1
	}
	return accounts, end, nil
}

// applyAdded appends to st, in order, the accounts waiting in the added
// file. An account whose identity st already holds on the account of the
// same name was folded by an Update that stopped before emptying the
// file, and is skipped. One that breaks the store's invariants is
// ErrCorrupt naming the file.
func (s *Store) applyAdded(st *State) error {
	log, err := s.readAdded(true)
	if err != nil {
		return err
	}
	for i, a := range log.accounts {
		if folded(st, a) {
			continue
		}
		st.Accounts = append(st.Accounts, a)
		if err := st.check(); err != nil {
			return &ruleError{kind: ErrCorrupt,
				msg: fmt.Sprintf("new accounts file %s is unusable (line %d: %v); repair it or move it aside", s.addedPath(), i+1, err)}
		}
	}
	return nil
}

// folded reports whether st already holds a's identity on an account of
// a's name.
func folded(st *State, a Account) bool {
	i := st.index(a.Name)
	return i >= 0 && slices.ContainsFunc(st.Accounts[i].Identities, func(id Identity) bool {
		return id.Key() == a.Identities[0].Key()
	})
}

// encodeAdded is a's line in the added file.
func encodeAdded(a Account) ([]byte, error) {
	if err := (&State{Default: a.Name, Accounts: []Account{a}}).check(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(a) // escapes every control byte: one line
	if err != nil {
		return nil, err
	}
	return fmt.Appendf(b, "\t%08x\n", checksum(b)), nil
}

// checked reports whether a line (without its newline) ends in the
// checksum of what comes before its last tab.
func checked(line []byte) bool {
	i := bytes.LastIndexByte(line, '\t')
	return i >= 0 && string(line[i+1:]) == fmt.Sprintf("%08x", checksum(line[:i]))
}

// decodeAddedLine decodes the account of a line whose checksum holds.
func decodeAddedLine(line []byte) (Account, error) {
	if len(line) > maxAddedSize {
		return Account{}, errors.New("too large")
	}
	return decodeAdded(line[:bytes.LastIndexByte(line, '\t')])
}

// decodeAdded parses a line's account as hostile input, as decodeState does
// accounts.json: one account of known fields holding one identity.
func decodeAdded(data []byte) (Account, error) {
	var a Account
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return Account{}, fmt.Errorf("invalid JSON: %w", err)
	}
	if err := dec.Decode(new(json.RawMessage)); !errors.Is(err, io.EOF) {
		return Account{}, errors.New("invalid JSON: data after the account")
	}
	if len(a.Identities) != 1 {
		return Account{}, errors.New("a new account holds exactly one identity")
	}
	if err := (&State{Default: a.Name, Accounts: []Account{a}}).check(); err != nil {
		return Account{}, err
	}
	return a, nil
}
