package vault

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The first keyring item under a key is one of:
//
//	w<gen>:<base64 value>                       the whole value
//	c<gen>:<chunks>:<size>:<base64url sha256>   an index of chunk items
//
// Chunk i of generation gen is stored under the account "<key>#<gen>.<i>" and
// holds the standard base64 of its slice of the value. Whole items carry the
// generation too, so the next chunked write knows which names a torn earlier
// write may have left behind.

// maxChunks bounds the chunk count a decoder accepts; MaxValueSize split into
// the smallest allowed chunks stays under it.
const maxChunks = MaxValueSize/minChunkPayload + 1

type keyringItem struct {
	chunked bool
	gen     uint64
	value   []byte // whole items
	chunks  int    // chunked items
	size    int
	sum     [sha256.Size]byte
}

func encodeWholeItem(gen uint64, value []byte) string {
	var b strings.Builder
	b.Grow(wholeItemLen(gen, len(value)))
	b.WriteByte('w')
	b.WriteString(strconv.FormatUint(gen, 10))
	b.WriteByte(':')
	b.WriteString(base64.StdEncoding.EncodeToString(value))
	return b.String()
}

// wholeItemLen is the length encodeWholeItem produces, so Set can decide to
// chunk before building the string.
func wholeItemLen(gen uint64, n int) int {
	return 2 + len(strconv.FormatUint(gen, 10)) + base64.StdEncoding.EncodedLen(n)
}

func encodeIndexItem(gen uint64, chunks, size int, sum [sha256.Size]byte) string {
	return fmt.Sprintf("c%d:%d:%d:%s", gen, chunks, size, base64.RawURLEncoding.EncodeToString(sum[:]))
}

func (it keyringItem) encode() string {
	if it.chunked {
		return encodeIndexItem(it.gen, it.chunks, it.size, it.sum)
	}
	return encodeWholeItem(it.gen, it.value)
}

func chunkName(key string, gen uint64, i int) string {
	return key + "#" + strconv.FormatUint(gen, 10) + "." + strconv.Itoa(i)
}

// decodeKeyringItem parses a first item. Errors wrap ErrCorrupt.
func decodeKeyringItem(s string) (keyringItem, error) {
	var it keyringItem
	if len(s) < 3 {
		return it, fmt.Errorf("%w: keyring item too short", ErrCorrupt)
	}
	kind, rest := s[0], s[1:]
	gen, rest, err := cutNumber(rest, ':')
	if err != nil {
		return it, fmt.Errorf("%w: keyring item generation: %v", ErrCorrupt, err)
	}
	it.gen = gen
	switch kind {
	case 'w':
		if base64.StdEncoding.DecodedLen(len(rest)) > MaxValueSize+2 {
			return it, fmt.Errorf("%w: keyring item larger than %d bytes", ErrCorrupt, MaxValueSize)
		}
		v, err := base64.StdEncoding.DecodeString(rest)
		if err != nil || len(v) > MaxValueSize {
			return it, fmt.Errorf("%w: keyring item is not valid base64", ErrCorrupt)
		}
		it.value = v
		return it, nil
	case 'c':
		n, rest, err := cutNumber(rest, ':')
		if err != nil {
			return it, fmt.Errorf("%w: keyring index chunk count: %v", ErrCorrupt, err)
		}
		size, rest, err := cutNumber(rest, ':')
		if err != nil {
			return it, fmt.Errorf("%w: keyring index size: %v", ErrCorrupt, err)
		}
		if n < 1 || n > maxChunks || size < 1 || size > MaxValueSize || n > size {
			return it, fmt.Errorf("%w: keyring index has %d chunks for %d bytes", ErrCorrupt, n, size)
		}
		if base64.RawURLEncoding.DecodedLen(len(rest)) != sha256.Size {
			return it, fmt.Errorf("%w: keyring index checksum has the wrong length", ErrCorrupt)
		}
		sum, err := base64.RawURLEncoding.DecodeString(rest)
		if err != nil || len(sum) != sha256.Size {
			return it, fmt.Errorf("%w: keyring index checksum is not valid base64", ErrCorrupt)
		}
		it.chunked, it.chunks, it.size = true, int(n), int(size)
		copy(it.sum[:], sum)
		return it, nil
	default:
		return it, fmt.Errorf("%w: unknown keyring item kind %q", ErrCorrupt, kind)
	}
}

// cutNumber reads a canonical decimal number (no sign, no leading zero)
// terminated by sep.
func cutNumber(s string, sep byte) (uint64, string, error) {
	i := strings.IndexByte(s, sep)
	if i < 1 || i > 20 {
		return 0, "", fmt.Errorf("missing or oversized number")
	}
	digits := s[:i]
	if digits[0] == '0' && len(digits) > 1 {
		return 0, "", fmt.Errorf("number with a leading zero")
	}
	for j := 0; j < len(digits); j++ {
		if digits[j] < '0' || digits[j] > '9' {
			return 0, "", fmt.Errorf("not a decimal number")
		}
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0, "", fmt.Errorf("number out of range")
	}
	return n, s[i+1:], nil
}

// encodeKeyList stores the key list as sorted names, one per line; names
// cannot contain control characters, so a newline is a safe separator.
func encodeKeyList(keys []string) []byte {
	return []byte(strings.Join(keys, "\n"))
}

// decodeKeyList parses the key list and insists on valid, strictly sorted
// names, so List never returns something Get would reject.
func decodeKeyList(b []byte) ([]string, error) {
	if len(b) == 0 {
		return nil, nil
	}
	keys := strings.Split(string(b), "\n")
	for i, k := range keys {
		if err := CheckName(k); err != nil {
			return nil, fmt.Errorf("%w: key list entry %d: %v", ErrCorrupt, i, err)
		}
		if i > 0 && keys[i-1] >= k {
			return nil, fmt.Errorf("%w: key list is not sorted", ErrCorrupt)
		}
	}
	return keys, nil
}

// insertSorted returns keys with key added, and whether it changed.
func insertSorted(keys []string, key string) ([]string, bool) {
	i, found := slices.BinarySearch(keys, key)
	if found {
		return keys, false
	}
	return slices.Insert(keys, i, key), true
}

// removeSorted returns keys without key, and whether it changed.
func removeSorted(keys []string, key string) ([]string, bool) {
	i, found := slices.BinarySearch(keys, key)
	if !found {
		return keys, false
	}
	return slices.Delete(keys, i, i+1), true
}
