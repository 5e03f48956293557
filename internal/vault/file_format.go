package vault

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/crypto/chacha20poly1305"
)

// Every vault file (the index and each record of the vault directory, and
// the single-file vault of earlier versions) starts with the same header:
//
//	magic    "AUTHCLIV" (8 bytes)
//	version  1 = single-file vault (before per-identity records),
//	         2 = index or record of the vault directory (1 byte)
//	kdf      0 = raw key, 1 = Argon2id (1 byte)
//	         Argon2id only: time (uint32 BE), memory KiB (uint32 BE),
//	         threads (1 byte), salt length (1 byte), salt
//	nonce    24 bytes
//	XChaCha20-Poly1305 ciphertext, with every byte before it (header and
//	nonce) in the additional data, so no header byte can change without the
//	decryption failing.
//
// What is sealed, and what else the additional data binds (see file.go):
//
//	version 1  the records of every key; AD = header
//	index      the records of every key with empty values (the key list);
//	           AD = "authcli vault index" NUL header
//	record     one key's value as is; AD = "authcli vault record" NUL
//	           header key, so a record moved to another key's file name
//	           does not decrypt
//
// The records are a uvarint count, then per entry a uvarint key length, the
// key, a uvarint value length and the value, keys strictly ascending. Every
// number is the shortest uvarint, so one map has exactly one encoding.

const (
	fileMagic      = "AUTHCLIV"
	legacyVersion  = 1
	dirVersion     = 2
	kdfNone        = 0
	kdfArgon2id    = 1
	saltSize       = 16
	minSaltSize    = 16
	maxSaltSize    = 64
	maxFileSize    = 64 << 20
	maxRecordSize  = MaxValueSize + 1024
	maxArgonTime   = 16
	maxArgonMemKiB = 256 << 10
	maxArgonThread = 16
)

// Argon2Params are the Argon2id cost parameters stored in a passphrase vault.
type Argon2Params struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32 // memory in KiB; also the process's extra peak RSS
	Threads   uint8
}

// DefaultArgon2Params are one of OWASP's equivalent Argon2id settings
// (12 MiB, three passes, one thread), picked over the 19 MiB / two-pass one
// because stretching runs on every `authcli token` call that uses a
// passphrase: it adds about 12 MiB of peak RSS and took about 35 ms on a
// 2-core EPYC VM (the 19 MiB setting took about 75 ms). Users who need the
// smallest footprint use a raw AUTHCLI_VAULT_KEY, which skips stretching.
// The parameters are stored in each vault, so they can be raised later
// without breaking existing vaults.
func DefaultArgon2Params() Argon2Params {
	return Argon2Params{Time: 3, MemoryKiB: 12 << 10, Threads: 1}
}

// validate bounds the parameters, including ones read from a possibly
// tampered file before it is authenticated, so a hostile header cannot make
// authcli allocate gigabytes.
func (p Argon2Params) validate() error {
	switch {
	case p.Time < 1 || p.Time > maxArgonTime:
		return fmt.Errorf("argon2id time %d outside 1..%d", p.Time, maxArgonTime)
	case p.Threads < 1 || p.Threads > maxArgonThread:
		return fmt.Errorf("argon2id threads %d outside 1..%d", p.Threads, maxArgonThread)
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxArgonMemKiB:
		return fmt.Errorf("argon2id memory %d KiB outside %d..%d", p.MemoryKiB, 8*uint32(p.Threads), maxArgonMemKiB)
	}
	return nil
}

type fileHeader struct {
	version byte
	kdf     byte
	params  Argon2Params
	salt    []byte
	nonce   []byte
}

func (h fileHeader) encode() []byte {
	b := make([]byte, 0, 8+2+10+len(h.salt)+len(h.nonce))
	b = append(b, fileMagic...)
	b = append(b, h.version, h.kdf)
	if h.kdf == kdfArgon2id {
		b = binary.BigEndian.AppendUint32(b, h.params.Time)
		b = binary.BigEndian.AppendUint32(b, h.params.MemoryKiB)
		b = append(b, h.params.Threads, byte(len(h.salt)))
		b = append(b, h.salt...)
	}
	return append(b, h.nonce...)
}

var errFormat = errors.New("malformed vault file")

// parseHeader splits a vault file into its header and the offset of the
// ciphertext. Errors wrap ErrDecrypt: a header that does not parse is as
// unusable as one that does not authenticate.
func parseHeader(data []byte) (fileHeader, int, error) {
	var h fileHeader
	fail := func(why string) (fileHeader, int, error) {
		return fileHeader{}, 0, fmt.Errorf("%w: %w: %s", ErrDecrypt, errFormat, why)
	}
	if len(data) < len(fileMagic)+2 || string(data[:len(fileMagic)]) != fileMagic {
		return fail("not an authcli vault file")
	}
	h.version = data[len(fileMagic)]
	if h.version != legacyVersion && h.version != dirVersion {
		return fail(fmt.Sprintf("unsupported version %d", h.version))
	}
	h.kdf = data[len(fileMagic)+1]
	rest := data[len(fileMagic)+2:]
	switch h.kdf {
	case kdfNone:
	case kdfArgon2id:
		if len(rest) < 10 {
			return fail("truncated key derivation parameters")
		}
		h.params = Argon2Params{
			Time:      binary.BigEndian.Uint32(rest[0:4]),
			MemoryKiB: binary.BigEndian.Uint32(rest[4:8]),
			Threads:   rest[8],
		}
		if err := h.params.validate(); err != nil {
			return fail(err.Error())
		}
		n := int(rest[9])
		rest = rest[10:]
		if n < minSaltSize || n > maxSaltSize || len(rest) < n {
			return fail("bad salt")
		}
		h.salt, rest = rest[:n:n], rest[n:]
	default:
		return fail(fmt.Sprintf("unknown key derivation %d", h.kdf))
	}
	if len(rest) < chacha20poly1305.NonceSizeX+chacha20poly1305.Overhead {
		return fail("truncated")
	}
	h.nonce = rest[:chacha20poly1305.NonceSizeX:chacha20poly1305.NonceSizeX]
	return h, len(data) - len(rest) + chacha20poly1305.NonceSizeX, nil
}

// encodeRecords serialises entries with sorted keys.
func encodeRecords(entries map[string][]byte) []byte {
	keys := make([]string, 0, len(entries))
	size := binary.MaxVarintLen64
	for k, v := range entries {
		keys = append(keys, k)
		size += 2*binary.MaxVarintLen64 + len(k) + len(v)
	}
	slices.Sort(keys)
	b := make([]byte, 0, size)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(entries[k])))
		b = append(b, entries[k]...)
	}
	return b
}

// decodeRecords parses records. Values alias b, so callers copy what they
// keep before clearing b. Errors wrap ErrCorrupt.
func decodeRecords(b []byte) (map[string][]byte, error) {
	var entries map[string][]byte
	err := walkRecords(b, func(n int) { entries = make(map[string][]byte, n) }, func(key string, v []byte) error {
		entries[key] = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	return entries, nil
}

// decodeNames parses records that must all be empty (an index) into a
// set, without the map of values decodeRecords would build first.
func decodeNames(b []byte, names map[string]bool) error {
	return walkRecords(b, func(int) {}, func(key string, v []byte) error {
		if len(v) != 0 {
			return fmt.Errorf("%w: an entry holds a value", ErrCorrupt)
		}
		names[key] = true
		return nil
	})
}

// recordsHold reports whether records (encodeRecords') hold key, reading
// only the lengths and the keys: what a new key's write asks of an index
// of every key. Damaged records hold nothing.
func recordsHold(b []byte, key string) bool {
	count, b, ok := readUvarint(b)
	for i := uint64(0); ok && i < count; i++ {
		var n uint64
		if n, b, ok = readUvarint(b); !ok || n > uint64(len(b)) {
			return false
		}
		k := b[:n]
		b = b[n:]
		if n, b, ok = readUvarint(b); !ok || n > uint64(len(b)) {
			return false
		}
		b = b[n:]
		if string(k) == key {
			return true
		}
	}
	return false
}

// walkRecords checks records strictly and calls each with every key, in
// order, and its value (aliasing b), once start has been told how many
// there are.
func walkRecords(b []byte, start func(n int), each func(key string, v []byte) error) error {
	fail := func(why string) error {
		return fmt.Errorf("%w: vault records: %s", ErrCorrupt, why)
	}
	count, b, ok := readUvarint(b)
	if !ok || count > uint64(len(b)/2) {
		return fail("bad entry count")
	}
	start(int(count))
	prev := ""
	for i := uint64(0); i < count; i++ {
		var n uint64
		if n, b, ok = readUvarint(b); !ok || n > MaxNameLen || n > uint64(len(b)) {
			return fail("bad key length")
		}
		key := string(b[:n])
		b = b[n:]
		if err := CheckName(key); err != nil {
			return fail(err.Error())
		}
		if i > 0 && key <= prev {
			return fail("keys not strictly ascending")
		}
		prev = key
		if n, b, ok = readUvarint(b); !ok || n > MaxValueSize || n > uint64(len(b)) {
			return fail("bad value length")
		}
		if err := each(key, b[:n:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	if len(b) != 0 {
		return fail("trailing bytes")
	}
	return nil
}

// readUvarint accepts only the shortest encoding of a number.
func readUvarint(b []byte) (uint64, []byte, bool) {
	v, n := binary.Uvarint(b)
	if n <= 0 || n != uvarintLen(v) {
		return 0, b, false
	}
	return v, b[n:], true
}

func uvarintLen(v uint64) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

// sameKDF reports whether two headers derive the same key.
func sameKDF(a, b fileHeader) bool {
	return a.kdf == b.kdf && a.params == b.params && bytes.Equal(a.salt, b.salt)
}
