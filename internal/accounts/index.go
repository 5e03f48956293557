package accounts

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/authcli/authcli/internal/statedir"
)

// IndexName is the lookup index beside accounts.json: which identities each
// account holds and which account is the default, without the profiles. It
// is written under the store's lock after every Update and AddNew and
// never read by Load; Lookup and AddNew use it.
const IndexName = "accounts.idx"

const (
	// indexTempPattern names the temp files earlier versions wrote the
	// index through; Update removes any such leftover.
	indexTempPattern = "." + IndexName + ".*.tmp"
	indexMagic       = "authcli accounts index 5"
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
// falls back to Load and FindSubject, and writes the index again (see
// repairIndex), so that only the first call after such a change parses
// every account.
func (s *Store) Lookup(provider, account, subject string) (Ref, error) {
	st, err := s.loadIndex(provider, account, subject)
	if err != nil {
		if st, err = s.Load(); err != nil {
			return Ref{}, err
		}
		s.repairIndex()
	}
	a, id, err := st.FindSubject(provider, account, subject)
	if err != nil {
		return Ref{}, err
	}
	return Ref{Account: a.Name, Provider: id.Provider, Subject: id.Subject}, nil
}

// repairIndex writes the index of the store as it is now when accounts.json
// exists and no writer holds the lock (it does not wait: the caller is on
// the cached path); under the lock nothing changes the store between the
// read and the write. Failing only leaves the index stale for next time.
func (s *Store) repairIndex() {
	if _, err := os.Lstat(s.path); err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lockFile()
	if ok, err := l.TryLock(); err != nil || !ok {
		return
	}
	defer l.Unlock()
	if st, _, err := s.load(); err == nil && s.cutTornAdded() == nil {
		s.writeIndex(st)
	}
}

func (s *Store) indexPath() string { return filepath.Join(s.dir, IndexName) }

var errStaleIndex = errors.New("the accounts index does not match accounts.json")

// loadIndex returns a skeleton State (names, providers and subjects only)
// holding what FindSubject needs for (provider, account, subject): the
// named account, the default account, and every account with a matching
// identity, in store order. FindSubject on it answers exactly as on the
// full state.
func (s *Store) loadIndex(provider, account, subject string) (*State, error) {
	return s.readIndex(provider, account, subject, false)
}

// readIndex reads and checks the index against the store there now
// (decodeIndex says what all means).
func (s *Store) readIndex(provider, account, subject string, all bool) (*State, error) {
	if c := s.early.Load(); c != nil {
		if src, err := s.currentSource(); err == nil && c.head == indexHead(src) {
			return decodeLines(c.def, c.lines, provider, account, subject, all)
		}
	}
	data, err := os.ReadFile(s.indexPath())
	if err != nil {
		return nil, errStaleIndex
	}
	src, err := s.currentSource()
	if err != nil {
		return nil, errStaleIndex
	}
	return decodeIndex(data, src, provider, account, subject, all)
}

// indexCopy is a checked index in memory: its head (indexHead: the
// format's line and the source's), its default account and its account
// lines (indexBody's), and what writing it again with accounts added
// needs (indexCopy.with): the CRC of its bytes before the source line,
// and its length.
type indexCopy struct {
	head, def, lines string
	crc              uint32
	size             int
}

// Prefetch reads and checks the index ahead of a Lookup or AddNew that is
// to come (a sign-in calls it while the person is at the provider; at
// 1,000 identities reading and checking the 64 KB file cost 0.15 to 0.3
// ms after the provider's answer, twice). They take it from memory when
// it names the store there then, which is the test a file read then must
// pass (see source: the files it names never return to a state it names
// with other contents), and read the file again when not.
func (s *Store) Prefetch() {
	raw, err := os.ReadFile(s.indexPath())
	if err != nil {
		return
	}
	if c, err := checkIndex(raw); err == nil {
		s.early.Store(c)
	}
}

// indexNow is the checked index there now of the store whose source is
// src (indexBody's): Prefetch's copy when it names src, else read.
func (s *Store) indexNow(src source) (*indexCopy, error) {
	if c := s.early.Load(); c != nil && c.head == indexHead(src) {
		return c, nil
	}
	raw, err := os.ReadFile(s.indexPath())
	if err != nil {
		return nil, err
	}
	return checkedIndexOf(raw, src)
}

// source identifies one accounts.json file: a rename gives a new inode, and
// any edit changes the size or the modification time. The index also
// describes the new accounts beside it (AddedName): added and addedTime
// are that file's size and modification time (0 and 0 when there is
// none). It only grows between two Updates, and a writer under the lock
// drops a torn last line before it writes an index (AddNew writes over
// it, repairIndex cuts it), so an index never names a size the file has
// again with other lines.
type source struct {
	size, mtime      int64
	inode            uint64
	added, addedTime int64
}

func sourceOf(fi fs.FileInfo) source {
	return source{size: fi.Size(), mtime: fi.ModTime().UnixNano(), inode: inodeOf(fi)}
}

// currentSource is the source of the accounts.json and added file there
// now: what an index written now describes, and what one read now must.
func (s *Store) currentSource() (source, error) {
	fi, err := os.Stat(s.path)
	if err != nil {
		return source{}, err
	}
	src := sourceOf(fi)
	if ai, err := os.Lstat(s.addedPath()); err == nil {
		src.added, src.addedTime = ai.Size(), ai.ModTime().UnixNano()
	}
	return src, nil
}

// writeIndex records st as the index of the accounts.json just written.
// Failure only costs speed (Lookup falls back to Load), so it is not
// reported; a stale index is removed so it cannot be mistaken for current.
// It is written in place and not fsynced: an index read half-written, or
// lost or torn by a crash, fails its checksum and Lookup falls back.
func (s *Store) writeIndex(st *State) {
	s.putIndex(func(src source) []byte { return encodeIndex(st, src) })
}

// putIndex writes the index encode makes for the source there now, as
// writeIndex says.
func (s *Store) putIndex(encode func(source) []byte) {
	s.early.Store(nil) // it names the store before this write
	s.ahead.Store(nil)
	src, err := s.currentSource()
	if err == nil {
		err = writeInPlace(s.indexPath(), encode(src))
	}
	if err != nil {
		_ = os.Remove(s.indexPath())
	}
}

// putIndexWith writes, as writeIndex does, the index c (the one there
// now) with a's lines added, for the source there now: its bytes up to
// the source line stay as they are, and only the rest is written, over
// the old source and end lines. At 1,000 identities writing the whole
// 64 KB again was the one step of a new account's sign-in that grew with
// the store. Should the file not be c's length, it is written whole: the
// end line's checksum only matches a file whose first bytes are c's, so
// a file changed behind c would read as stale, never as another index.
func (s *Store) putIndexWith(c *indexCopy, a Account) {
	s.early.Store(nil)
	s.ahead.Store(nil)
	src, err := s.currentSource()
	if err == nil {
		at, tail := c.with(src, a)
		err = writeOver(s.indexPath(), int64(c.size), int64(at), tail)
		if errors.Is(err, errResized) {
			err = writeInPlace(s.indexPath(), encodeIndexWith(c.def, c.lines, src, a))
		}
	}
	if err != nil {
		_ = os.Remove(s.indexPath())
	}
}

var errResized = errors.New("not the length expected")

// writeOver writes data at offset at of path, a file of size bytes,
// and cuts off what lies beyond it; a file of another size, or none, is
// errResized with nothing written.
func writeOver(path string, size, at int64, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|statedir.NoFollow, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return errResized
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.Size() != size {
		return errResized
	}
	if _, err := f.WriteAt(data, at); err != nil {
		return err
	}
	if end := at + int64(len(data)); end < size {
		return f.Truncate(end)
	}
	return nil
}

// with is where c's source line begins and what goes there for the index
// of c with a's lines added for source src: a's lines, the source line
// and the end line, whose checksum continues c's.
func (c *indexCopy) with(src source, a Account) (at int, tail []byte) {
	at = len(indexMagic) + len("\ndefault ") + len(c.def) + len(c.lines)
	tail = appendAccountLines(make([]byte, 0, 256), a)
	tail = append(tail, sourceLine(src)...)
	tail = append(tail, '\n')
	return at, fmt.Appendf(tail, "end %08x\n", crc32.Update(c.crc, crc32.IEEETable, tail))
}

// The index is text, one item a line; no field can hold a tab or newline
// (account names are ASCII words, providers and subjects have no control
// characters):
//
//	authcli accounts index 5
//	default NAME                      NAME may be empty
//	account NAME                      then its identities:
//	identity PROVIDER<TAB>SUBJECT[<TAB>EMAIL]
//	…
//	source SIZE MTIME_NS INODE ADDED ADDED_MTIME_NS
//	                                  of the accounts.json it describes, and
//	                                  the size and time of the added file
//	                                  (0 and 0: none)
//	end CRC                           CRC-32 (IEEE) of every byte before this line
//
// EMAIL (for AddNew's linking rules) is escaped by escapeField, and absent
// when the identity has none. The source comes last so that AddNew adds
// an account by writing over the last two lines only (putIndexWith).
//
// The IEEE polynomial, not Castagnoli: the checksum only catches a torn or
// hand-edited index, and on amd64 the first Castagnoli checksum costs 1.2
// million instructions of table set-up (a third of a cached `authcli
// token`), where IEEE's costs a few thousand.
func checksum(b []byte) uint32 { return crc32.ChecksumIEEE(b) }

func encodeIndex(st *State, src source) []byte {
	size := 128
	for _, a := range st.Accounts {
		size += len("account \n") + len(a.Name)
		for _, id := range a.Identities {
			size += len("identity \t\t\n") + len(id.Provider) + len(id.Subject) + len(id.Email)
		}
	}
	b := make([]byte, 0, size)
	b = fmt.Appendf(b, "%s\ndefault %s\n", indexMagic, st.Default)
	for _, a := range st.Accounts {
		b = appendAccountLines(b, a)
	}
	b = fmt.Appendf(b, "%s\n", sourceLine(src))
	return fmt.Appendf(b, "end %08x\n", checksum(b))
}

// appendAccountLines appends a's account line and identity lines.
func appendAccountLines(b []byte, a Account) []byte {
	b = append(b, "account "...)
	b = append(b, a.Name...)
	b = append(b, '\n')
	for _, id := range a.Identities {
		b = append(b, "identity "...)
		b = append(b, id.Provider...)
		b = append(b, '\t')
		b = append(b, id.Subject...)
		if id.Email != "" {
			b = append(b, '\t')
			b = append(b, escapeField(id.Email)...)
		}
		b = append(b, '\n')
	}
	return b
}

// encodeIndexWith is the index of the state whose checked index has the
// default account def and the account lines body (indexBody's), with the
// accounts added appended: what AddNew writes, without the accounts
// parsed.
func encodeIndexWith(def, body string, src source, added ...Account) []byte {
	b := make([]byte, 0, 128+len(body)+256*len(added))
	b = fmt.Appendf(b, "%s\ndefault %s", indexMagic, def)
	b = append(b, body...)
	for _, a := range added {
		b = appendAccountLines(b, a)
	}
	b = fmt.Appendf(b, "%s\n", sourceLine(src))
	return fmt.Appendf(b, "end %08x\n", checksum(b))
}

// decodeIndex checks an index (its source must be want, its checksum
// right) and returns, with all set, every account, parsed strictly:
// anything unexpected is errStaleIndex. Without all it returns only the
// accounts and identities FindSubject needs for (provider, account,
// subject), found by searching rather than parsing every line (see
// selectIndex). Strings alias data.
func decodeIndex(raw []byte, want source, provider, account, subject string, all bool) (*State, error) {
	def, lines, err := indexBody(raw, want)
	if err != nil {
		return nil, err
	}
	return decodeLines(def, lines, provider, account, subject, all)
}

// decodeLines is decodeIndex on a checked index's default account and
// account lines.
func decodeLines(def, lines, provider, account, subject string, all bool) (*State, error) {
	stale := func(why string) (*State, error) { return nil, fmt.Errorf("%w: %s", errStaleIndex, why) }
	if !all {
		return selectIndex(lines, def, provider, account, subject)
	}
	body := lines[1:]
	line := func() (string, bool) {
		i := strings.IndexByte(body, '\n')
		if i < 0 {
			return "", false
		}
		l := body[:i]
		body = body[i+1:]
		return l, true
	}
	// Every line, strictly: the reference the fuzz target holds
	// selectIndex to. Accounts and identities are counted first (an
	// over-count: the words may occur inside fields) so that each slice
	// is allocated once; an account's identities are the stretch of ids
	// its lines added.
	nAccounts := strings.Count(body, "account ")
	st := &State{Version: SchemaVersion, Default: def, Accounts: make([]Account, 0, nAccounts)}
	ids := make([]Identity, 0, strings.Count(body, "identity "))
	names := make(map[string]bool, nAccounts)
	var cur *Account
	start := 0
	for body != "" {
		l, _ := line()
		if name, ok := strings.CutPrefix(l, "account "); ok {
			if cur != nil && len(cur.Identities) == 0 || ValidateName(name) != nil || names[name] {
				return stale("bad account line")
			}
			names[name] = true
			st.Accounts = append(st.Accounts, Account{Name: name})
			cur, start = &st.Accounts[len(st.Accounts)-1], len(ids)
			continue
		}
		rest, ok := strings.CutPrefix(l, "identity ")
		id, ok2 := identityFields(rest)
		if !ok || !ok2 || cur == nil {
			return stale("bad identity line")
		}
		ids = append(ids, id)
		cur.Identities = ids[start:len(ids):len(ids)]
	}
	if cur != nil && len(cur.Identities) == 0 || (def == "") != (len(names) == 0) || def != "" && !names[def] {
		return stale("accounts do not add up")
	}
	return st, nil
}

// indexBody checks an index (its source must be want, its checksum right)
// and returns its default account and its account lines, each, the first
// included, preceded by its newline (the one ending the default line
// comes first). Strings alias one copy of raw.
func indexBody(raw []byte, want source) (def, lines string, err error) {
	c, err := checkedIndexOf(raw, want)
	if err != nil {
		return "", "", err
	}
	return c.def, c.lines, nil
}

// checkedIndexOf is checkIndex for the index of the store whose source
// is want.
func checkedIndexOf(raw []byte, want source) (*indexCopy, error) {
	c, err := checkIndex(raw)
	if err == nil && c.head != indexHead(want) {
		return nil, fmt.Errorf("%w: not an index of this accounts.json", errStaleIndex)
	}
	return c, err
}

// indexHead is the format's line and the source line of the index of the
// store whose source is src, each with its newline.
func indexHead(src source) string { return indexMagic + "\n" + sourceLine(src) + "\n" }

// checkIndex checks an index's checksum and returns it, whatever store
// it names: its head (indexHead), its default account and its account
// lines, as indexBody.
func checkIndex(raw []byte) (*indexCopy, error) {
	stale := func(why string) (*indexCopy, error) {
		return nil, fmt.Errorf("%w: %s", errStaleIndex, why)
	}
	end := bytes.LastIndex(raw, []byte("\nend "))
	if end < 0 || !bytes.HasSuffix(raw, []byte("\n")) {
		return stale("no end line")
	}
	// The source line is the one before the end line; the checksum is
	// taken up to it first, then on over it, so that c.with can go on
	// from there.
	at := bytes.LastIndexByte(raw[:end], '\n') + 1
	crc := checksum(raw[:at])
	if string(raw[end+1:len(raw)-1]) != fmt.Sprintf("end %08x", crc32.Update(crc, crc32.IEEETable, raw[at:end+1])) {
		return stale("checksum")
	}
	data := string(raw[:end+1]) // the one copy
	first, rest, ok := strings.Cut(data, "\n")
	srcLine := data[at:end]
	if !ok || first != indexMagic || !strings.HasPrefix(srcLine, "source ") {
		return stale("not an index of this format")
	}
	l, _, _ := strings.Cut(rest, "\n")
	def, ok := strings.CutPrefix(l, "default ")
	if !ok {
		return stale("no default line")
	}
	return &indexCopy{head: first + "\n" + srcLine + "\n", def: def,
		lines: data[len(first)+1+len(l) : at], crc: crc, size: len(raw)}, nil
}

// resolveIndex is State.Resolve on the store whose checked index has the
// default account def and the account lines body (indexBody's), without
// parsing every account: it resolves on a skeleton holding every
// account's name, in order, and of the identities only those Resolve can
// match: in's own (provider, subject), and those with its email when
// that may suggest a link. Like selectIndex it checks, strictly, every
// line it uses: every account line, and the identity lines it keeps; it
// costs a pass over the text, not a parse of every identity. When the
// email cannot suggest a link, resolveBySearch answers without the pass.
func resolveIndex(def, body string, in SignIn) (Resolution, error) {
	stale := func(why string) (Resolution, error) {
		return Resolution{}, fmt.Errorf("%w: %s", errStaleIndex, why)
	}
	byEmail := in.Profile.EmailVerified && in.TrustEmailVerified && in.Profile.Email != ""
	if !byEmail {
		return resolveBySearch(def, body, in)
	}
	own := in.Provider + "\t" + in.Profile.Subject
	// Capacity from the size, not a count: a count is another pass over
	// the text, a sixth of the time. An account's two lines come to 48
	// bytes or more in practice; where they are shorter, append grows.
	st := &State{Version: SchemaVersion, Default: def, Accounts: make([]Account, 0, len(body)/48+1)}
	var cur *Account
	held := 0 // identity lines of cur
	for rest := body[1:]; rest != ""; {
		l, next, _ := strings.Cut(rest, "\n")
		rest = next
		if name, ok := strings.CutPrefix(l, "account "); ok {
			if cur != nil && held == 0 || !validName(name) {
				return stale("bad account line")
			}
			st.Accounts = append(st.Accounts, Account{Name: name})
			cur, held = &st.Accounts[len(st.Accounts)-1], 0
			continue
		}
		fields, ok := strings.CutPrefix(l, "identity ")
		if !ok || cur == nil {
			return stale("bad identity line")
		}
		held++
		keep := strings.HasPrefix(fields, own) && (len(fields) == len(own) || fields[len(own)] == '\t')
		if !keep && byEmail {
			// PROVIDER TAB SUBJECT TAB EMAIL: the email is after the
			// second tab; unescaped only when escaped.
			if i := strings.IndexByte(fields, '\t'); i >= 0 {
				if j := strings.IndexByte(fields[i+1:], '\t'); j >= 0 {
					email := fields[i+1+j+1:]
					if strings.IndexByte(email, '%') >= 0 {
						email, _ = unescapeField(email)
					}
					keep = strings.EqualFold(email, in.Profile.Email)
				}
			}
		}
		if keep {
			id, ok := identityFields(fields)
			if !ok {
				return stale("bad identity line")
			}
			cur.Identities = append(cur.Identities, id)
		}
	}
	if cur != nil && held == 0 || (def == "") != (len(st.Accounts) == 0) || def != "" && st.index(def) < 0 {
		return stale("accounts do not add up")
	}
	return st.Resolve(in), nil
}

// resolveBySearch is resolveIndex for a sign-in whose email cannot
// suggest a link (unverified, untrusted, or none): Resolve then reads only
// the identity's own line and the account names it asks about, which
// strings.Index finds as in selectIndex, allocating nothing: at 1,000
// identities 26–28 µs in process against 38–40 µs and 82 KB for the pass
// over every line (0.07 to 0.11 ms cold), which ran on the two cores the
// provider shares while it answers userinfo. Like selectIndex it checks
// every line it uses.
func resolveBySearch(def, body string, in SignIn) (Resolution, error) {
	stale := func(why string) (Resolution, error) {
		return Resolution{}, fmt.Errorf("%w: %s", errStaleIndex, why)
	}
	// A name with a newline could match across lines: only a valid name
	// is ever an account's.
	taken := func(name string) bool {
		return validName(name) && strings.Contains(body, "\naccount "+name+"\n")
	}
	if (def == "") != (body == "\n") || def != "" && !taken(def) {
		return stale("accounts do not add up")
	}
	own := "\nidentity " + in.Provider + "\t" + in.Profile.Subject
	for from := 0; ; {
		i := strings.Index(body[from:], own)
		if i < 0 {
			break
		}
		i += from
		from = i + len(own)
		if from < len(body) && body[from] != '\n' && body[from] != '\t' {
			continue // a longer subject that begins the same
		}
		l, _, _ := strings.Cut(body[i+1:], "\n")
		if _, ok := identityFields(strings.TrimPrefix(l, "identity ")); !ok {
			return stale("bad identity line")
		}
		h := strings.LastIndex(body[:i+1], "\naccount ")
		if h < 0 {
			return stale("an identity outside any account")
		}
		name, _, _ := strings.Cut(body[h+len("\naccount "):], "\n")
		if !validName(name) {
			return stale("bad account line")
		}
		return Resolution{Outcome: Known, Account: name}, nil
	}
	if in.Account != "" && taken(in.Account) {
		return Resolution{Outcome: NeedsLink, Account: in.Account}, nil
	}
	name := in.Account
	if name == "" {
		name = uniqueName(baseName(in.Provider, in.Profile), taken)
	}
	return Resolution{Outcome: Created, Account: name}, nil
}

// selectIndex builds, from the account lines of a checked index (each
// line, the first included, preceded by its newline), the
// skeleton State on which FindSubject(provider, account, subject) answers
// as on the whole: the named account alone; else the default account,
// plus, when it holds no match, every account that does, in store order.
// It searches with strings.Index instead of reading line by line, so at
// 1,000 identities it costs microseconds; it checks every line it uses.
func selectIndex(body, def, provider, account, subject string) (*State, error) {
	stale := func(why string) (*State, error) { return nil, fmt.Errorf("%w: %s", errStaleIndex, why) }
	if def == "" {
		if body != "\n" {
			return stale("accounts without a default")
		}
		return &State{Version: SchemaVersion}, nil
	}
	// section returns the identity lines of the named account, or false.
	section := func(name string) (string, bool) {
		i := strings.Index(body, "\naccount "+name+"\n")
		if i < 0 {
			return "", false
		}
		rest := body[i+len("\naccount ")+len(name)+1:]
		if j := strings.Index(rest, "\naccount "); j >= 0 {
			rest = rest[:j+1]
		}
		return rest, true
	}
	match := func(p, sub string) bool {
		return (provider == "" || p == provider) && (subject == "" || sub == subject)
	}
	// accountOf reads an account line's name and the identities in it that match.
	accountOf := func(name, lines string) (Account, error) {
		a := Account{Name: name}
		if ValidateName(name) != nil || lines == "" {
			return a, errStaleIndex
		}
		for lines != "" {
			l, rest, _ := strings.Cut(lines, "\n")
			lines = rest
			id, ok := identityFields(strings.TrimPrefix(l, "identity "))
			if !ok || !strings.HasPrefix(l, "identity ") {
				return a, errStaleIndex
			}
			if match(id.Provider, id.Subject) {
				a.Identities = append(a.Identities, Identity{Provider: id.Provider, Subject: id.Subject})
			}
		}
		return a, nil
	}
	st := &State{Version: SchemaVersion, Default: def}
	lines, ok := section(def)
	if !ok {
		return stale("the default account is missing")
	}
	dflt, err := accountOf(def, lines)
	if err != nil {
		return stale("bad default account")
	}
	if account != "" {
		lines, ok := section(account)
		if !ok {
			return st, nil // FindSubject: no such account
		}
		a, err := accountOf(account, lines)
		if err != nil {
			return stale("bad account")
		}
		st.Accounts = append(st.Accounts, a)
		return st, nil
	}
	if len(dflt.Identities) > 0 {
		st.Accounts = append(st.Accounts, dflt)
		return st, nil
	}
	// The default account has no match: every account that has one, in
	// order. Each hit's account is the nearest account line before it.
	needle := "\nidentity "
	if provider != "" {
		needle += provider + "\t"
		// One identity asked for (a refresh, --subject): only lines that
		// begin with it are read, not every identity of the provider. A
		// subject holds no tab or newline, so its line begins exactly so;
		// match drops a longer subject that begins the same.
		needle += subject
	}
	st.Accounts = append(st.Accounts, Account{Name: def})
	for from := 0; ; {
		i := strings.Index(body[from:], needle)
		if i < 0 {
			break
		}
		i += from
		l, _, _ := strings.Cut(body[i+1:], "\n")
		from = i + 1 + len(l)
		id, ok := identityFields(strings.TrimPrefix(l, "identity "))
		if !ok {
			return stale("bad identity line")
		}
		p, sub := id.Provider, id.Subject
		if !match(p, sub) {
			continue
		}
		h := strings.LastIndex(body[:i+1], "\naccount ")
		if h < 0 {
			return stale("an identity outside any account")
		}
		name, _, _ := strings.Cut(body[h+len("\naccount "):], "\n")
		if ValidateName(name) != nil {
			return stale("bad account line")
		}
		if last := &st.Accounts[len(st.Accounts)-1]; last.Name == name {
			last.Identities = append(last.Identities, Identity{Provider: p, Subject: sub})
			continue
		}
		st.Accounts = append(st.Accounts, Account{Name: name, Identities: []Identity{{Provider: p, Subject: sub}}})
	}
	return st, nil
}

func sourceLine(src source) string {
	return fmt.Sprintf("source %d %d %d %d %d", src.size, src.mtime, src.inode, src.added, src.addedTime)
}

// identityFields parses PROVIDER<TAB>SUBJECT[<TAB>EMAIL], strictly: what
// encodeIndex writes and nothing else.
func identityFields(s string) (Identity, bool) {
	p, rest, ok := strings.Cut(s, "\t")
	if !ok {
		return Identity{}, false
	}
	sub, email, hasEmail := strings.Cut(rest, "\t")
	if validateID("provider", p) != nil || validateID("subject", sub) != nil {
		return Identity{}, false
	}
	id := Identity{Provider: p, Subject: sub}
	if hasEmail {
		e, ok := unescapeField(email)
		if !ok || e == "" {
			return Identity{}, false
		}
		id.Email = e
	}
	return id, true
}

// escapeField writes '%', tab, newline and every other control byte as %XX,
// so that any string fits in one field of an index line.
func escapeField(s string) string {
	if !strings.ContainsFunc(s, needsEscape) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; needsEscape(rune(c)) {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func needsEscape(r rune) bool { return r < 0x20 || r == 0x7f || r == '%' }

// unescapeField reverses escapeField, refusing anything escapeField would
// not have written.
func unescapeField(s string) (string, bool) {
	if !strings.ContainsFunc(s, needsEscape) {
		return s, true // nothing escaped: no copy
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+2 >= len(s) {
				return "", false
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil || !needsEscape(rune(v)) || fmt.Sprintf("%02X", v) != s[i+1:i+3] {
				return "", false
			}
			b.WriteByte(byte(v))
			i += 2
		case needsEscape(rune(c)):
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}
