package accounts

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// IndexName is the lookup index beside accounts.json: which identities each
// account holds and which account is the default, without the profiles. It
// is written under the store's lock after every Update and never read by
// Load; only Lookup uses it.
const IndexName = "accounts.idx"

const (
	indexTempPrefix  = "." + IndexName + "."
	indexTempPattern = indexTempPrefix + "*.tmp"
	indexMagic       = "authcli accounts index 1"
)

// Ref names an identity without its profile: what `authcli token` needs to
// find the identity's tokens.
type Ref struct {
	Account  string
	Provider string
	Subject  string
}

// Key is the identity's vault key, as Identity.Key.
func (r Ref) Key() string { return r.Provider + "/" + r.Subject }

// Lookup finds the identity State.FindSubject would pick, with the same
// errors, without parsing every account: it reads the small index file written
// with accounts.json. When the index does not describe the current
// accounts.json exactly (missing, damaged, or accounts.json replaced since,
// for example by an older authcli or a crash between the two writes), it
// falls back to Load and FindSubject.
func (s *Store) Lookup(provider, account, subject string) (Ref, error) {
	st, err := s.loadIndex(provider, account, subject)
	if err != nil {
		if st, err = s.Load(); err != nil {
			return Ref{}, err
		}
	}
	a, id, err := st.FindSubject(provider, account, subject)
	if err != nil {
		return Ref{}, err
	}
	return Ref{Account: a.Name, Provider: id.Provider, Subject: id.Subject}, nil
}

func (s *Store) indexPath() string { return filepath.Join(s.dir, IndexName) }

var errStaleIndex = errors.New("the accounts index does not match accounts.json")

// loadIndex returns a skeleton State (names, providers and subjects only)
// holding what FindSubject needs for (provider, account, subject): the
// named account, the default account, and every account with a matching
// identity, in store order. FindSubject on it answers exactly as on the
// full state.
func (s *Store) loadIndex(provider, account, subject string) (*State, error) {
	fi, err := os.Stat(s.path)
	if err != nil {
		return nil, errStaleIndex
	}
	data, err := os.ReadFile(s.indexPath())
	if err != nil {
		return nil, errStaleIndex
	}
	return decodeIndex(string(data), sourceOf(fi), provider, account, subject, false)
}

// source identifies one accounts.json file: a rename gives a new inode, and
// any edit changes the size or the modification time.
type source struct {
	size, mtime int64
	inode       uint64
}

func sourceOf(fi fs.FileInfo) source {
	return source{size: fi.Size(), mtime: fi.ModTime().UnixNano(), inode: inodeOf(fi)}
}

// writeIndex records st as the index of the accounts.json just written.
// Failure only costs speed (Lookup falls back to Load), so it is not
// reported; a stale index is removed so it cannot be mistaken for current.
// It is not fsynced: after a crash, a lost or torn index fails its
// checks and Lookup falls back.
func (s *Store) writeIndex(st *State) {
	fi, err := os.Stat(s.path)
	if err == nil {
		err = writeUnsynced(s.indexPath(), indexTempPattern, encodeIndex(st, sourceOf(fi)))
	}
	if err != nil {
		_ = os.Remove(s.indexPath())
	}
}

// writeUnsynced replaces path with data by rename, without fsync.
func writeUnsynced(path, pattern string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), pattern)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
	}
	return err
}

// The index is text, one item a line; no field can hold a tab or newline
// (account names are ASCII words, providers and subjects have no control
// characters):
//
//	authcli accounts index 1
//	source SIZE MTIME_NS INODE        of the accounts.json it describes
//	default NAME                      NAME may be empty
//	account NAME                      then its identities:
//	identity PROVIDER<TAB>SUBJECT
//	…
//	end CRC                           CRC-32C of every byte before this line
var crcTable = crc32.MakeTable(crc32.Castagnoli)

func encodeIndex(st *State, src source) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\nsource %d %d %d\ndefault %s\n", indexMagic, src.size, src.mtime, src.inode, st.Default)
	for _, a := range st.Accounts {
		b.WriteString("account " + a.Name + "\n")
		for _, id := range a.Identities {
			b.WriteString("identity " + id.Provider + "\t" + id.Subject + "\n")
		}
	}
	body := b.String()
	return fmt.Appendf([]byte(body), "end %08x\n", crc32.Checksum([]byte(body), crcTable))
}

// decodeIndex parses an index, strictly: anything unexpected, or a source
// other than want, is errStaleIndex. Unless all is set, it keeps only the
// accounts and identities FindSubject needs for (provider, account,
// subject); strings alias data.
func decodeIndex(data string, want source, provider, account, subject string, all bool) (*State, error) {
	stale := func(why string) (*State, error) { return nil, fmt.Errorf("%w: %s", errStaleIndex, why) }
	end := strings.LastIndex(data, "\nend ")
	if end < 0 || !strings.HasSuffix(data, "\n") {
		return stale("no end line")
	}
	body, trailer := data[:end+1], data[end+1:len(data)-1]
	crc, err := strconv.ParseUint(strings.TrimPrefix(trailer, "end "), 16, 32)
	if err != nil || len(trailer) != len("end ")+8 || uint32(crc) != crc32.Checksum([]byte(body), crcTable) {
		return stale("checksum")
	}
	line := func() (string, bool) {
		i := strings.IndexByte(body, '\n')
		if i < 0 {
			return "", false
		}
		l := body[:i]
		body = body[i+1:]
		return l, true
	}
	if l, _ := line(); l != indexMagic {
		return stale("not an index")
	}
	l, _ := line()
	if l != fmt.Sprintf("source %d %d %d", want.size, want.mtime, want.inode) {
		return stale("describes another accounts.json")
	}
	l, _ = line()
	def, ok := strings.CutPrefix(l, "default ")
	if !ok {
		return stale("no default line")
	}
	// Scanned into small records first, sized up front (one allocation
	// each, whatever the number of accounts); only the accounts Find will
	// look at become Accounts.
	type span struct {
		name        string
		first, last int // its matching identities: ids[first:last]
	}
	type pair struct{ provider, subject string }
	nAccounts := strings.Count(body, "\naccount ") + 1
	spans := make([]span, 0, nAccounts)
	ids := make([]pair, 0, strings.Count(body, "\nidentity ")+1)
	names := make(map[string]bool, nAccounts)
	empty := true // the current account has no identity line yet
	for body != "" {
		l, _ := line()
		if name, ok := strings.CutPrefix(l, "account "); ok {
			if len(spans) > 0 && empty || ValidateName(name) != nil || names[name] {
				return stale("bad account line")
			}
			names[name] = true
			spans = append(spans, span{name: name, first: len(ids), last: len(ids)})
			empty = true
			continue
		}
		rest, ok := strings.CutPrefix(l, "identity ")
		p, sub, ok2 := strings.Cut(rest, "\t")
		if !ok || !ok2 || len(spans) == 0 || validateID("provider", p) != nil || validateID("subject", sub) != nil {
			return stale("bad identity line")
		}
		empty = false
		if all || (provider == "" || p == provider) && (subject == "" || sub == subject) {
			ids = append(ids, pair{p, sub})
			spans[len(spans)-1].last = len(ids)
		}
	}
	if len(spans) > 0 && empty || (def == "") != (len(names) == 0) || def != "" && !names[def] {
		return stale("accounts do not add up")
	}
	// FindSubject looks at the named account only; else at the default
	// account, and at every account with a matching identity when the
	// default has none.
	defaultHits := false
	for _, sp := range spans {
		if sp.name == def {
			defaultHits = sp.last > sp.first
		}
	}
	st := &State{Version: SchemaVersion, Default: def}
	for _, sp := range spans {
		switch {
		case all:
		case account != "" && sp.name != account:
			continue
		case account == "" && sp.name != def && (defaultHits || sp.last == sp.first):
			continue
		}
		a := Account{Name: sp.name, Identities: make([]Identity, 0, sp.last-sp.first)}
		for _, id := range ids[sp.first:sp.last] {
			a.Identities = append(a.Identities, Identity{Provider: id.provider, Subject: id.subject})
		}
		st.Accounts = append(st.Accounts, a)
	}
	return st, nil
}
