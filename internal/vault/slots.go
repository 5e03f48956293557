package vault

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"

	"github.com/authcli/authcli/internal/atomicfile"
)

// A record file holds two slots, so that replacing a value (every refresh,
// every sign-in of a known identity) is one write in place and one
// fdatasync: no new file, no rename, no fsync of the directory, each of
// which cost as much again on the machines measured (bench/flows). The
// newer slot is written over the older one; a write that a crash tears
// leaves the other slot, the value before it, in charge.
//
//	magic      "AUTHCLIS" (8 bytes)
//	slot size  uint32 BE: each slot's length in bytes
//	slot 0, slot 1, each:
//	  seq      uint64 BE: 0 for an empty slot, else one more than the
//	           slot written before it
//	  length   uint32 BE of the sealed value that follows
//	  sealed   a vault file (header, nonce, ciphertext) whose additional
//	           data is "authcli vault slot" NUL header key seq, so a slot
//	           opens only as its own key's and with its own number
//	  zeros    to the slot's end
//
// A reader takes the valid slot with the higher number. No valid slot is
// ErrDecrypt, as for any damaged file; an empty slot is not an error, and
// neither is the older slot failing when the newer one opens.
const (
	slotMagic      = "AUTHCLIS"
	slotAD         = "authcli vault slot\x00"
	slotFileHeader = len(slotMagic) + 4
	slotHeader     = 8 + 4
	minSlotSize    = 2048
)

// slotFile is a parsed record file: the newest valid slot.
type slotFile struct {
	size   int    // bytes per slot
	newest int    // the newest valid slot's index
	seq    uint64 // its number
	hdr    fileHeader
	value  []byte // aliases the file's data
}

func isSlotFile(data []byte) bool { return bytes.HasPrefix(data, []byte(slotMagic)) }

// openSlots authenticates a record file's slots as key's and returns the
// newest that opens.
func (f *File) openSlots(key string, data []byte) (slotFile, error) {
	fail := func(why string) (slotFile, error) {
		return slotFile{}, fmt.Errorf("vault record of %q: %w: %w: %s", key, ErrDecrypt, errFormat, why)
	}
	if len(data) < slotFileHeader || !isSlotFile(data) {
		return fail("not a record file")
	}
	size := int(binary.BigEndian.Uint32(data[len(slotMagic):slotFileHeader]))
	if size < minSlotSize || size > maxRecordSize+slotHeader || len(data) != slotFileHeader+2*size {
		return fail("bad slot size")
	}
	best := slotFile{size: size, newest: -1}
	var firstErr error
	for i := range 2 {
		slot := data[slotFileHeader+i*size : slotFileHeader+(i+1)*size]
		seq := binary.BigEndian.Uint64(slot[:8])
		n := int(binary.BigEndian.Uint32(slot[8:slotHeader]))
		if seq == 0 && n == 0 && allZero(slot[slotHeader:]) {
			continue // empty
		}
		h, v, err := f.openSlot(key, slot, seq, n)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		switch {
		case best.newest < 0 || seq > best.seq:
			best.newest, best.seq, best.hdr, best.value = i, seq, h, v
		case seq == best.seq:
			return fail("two slots with one number")
		}
	}
	if best.newest < 0 {
		if firstErr != nil {
			return slotFile{}, firstErr
		}
		return fail("no value")
	}
	return best, nil
}

// openSlot opens one non-empty slot holding a sealed value of n bytes.
func (f *File) openSlot(key string, slot []byte, seq uint64, n int) (fileHeader, []byte, error) {
	fail := func(why string) (fileHeader, []byte, error) {
		return fileHeader{}, nil, fmt.Errorf("vault record of %q: %w: %w: %s", key, ErrDecrypt, errFormat, why)
	}
	if seq == 0 || n > len(slot)-slotHeader || !allZero(slot[slotHeader+n:]) {
		return fail("bad slot")
	}
	sealed := slot[slotHeader : slotHeader+n]
	h, off, err := parseHeader(sealed)
	if err == nil && h.version != dirVersion {
		err = fmt.Errorf("%w: %w: the slot has version %d", ErrDecrypt, errFormat, h.version)
	}
	if err != nil {
		return fileHeader{}, nil, fmt.Errorf("vault record of %q: %w", key, err)
	}
	aeadKey, err := f.keyFor(h)
	if err != nil {
		return fileHeader{}, nil, fmt.Errorf("vault record of %q: %w", key, err)
	}
	v, err := openSealed(aeadKey, h, sealed[off:], slotAD, sealed[:off], slotName(key, seq))
	if err != nil {
		return fileHeader{}, nil, fmt.Errorf("vault record of %q: %w", key, err)
	}
	return h, v, nil
}

// slotName is what a slot's additional data binds after the header: the
// key, then the slot's number.
func slotName(key string, seq uint64) string {
	return string(binary.BigEndian.AppendUint64([]byte(key), seq))
}

// sealSlot seals value as key's slot number seq, unpadded.
func sealSlot(ix *vaultIndex, key string, value []byte, seq uint64) ([]byte, error) {
	sealed, err := seal(ix, slotAD, value, slotName(key, seq))
	if err != nil {
		return nil, err
	}
	b := make([]byte, slotHeader, slotHeader+len(sealed))
	binary.BigEndian.PutUint64(b[:8], seq)
	binary.BigEndian.PutUint32(b[8:slotHeader], uint32(len(sealed)))
	return append(b, sealed...), nil
}

// newSlotFile is a record file holding slot (sealSlot's) first, the other
// slot empty, with room for values twice its size.
func newSlotFile(slot []byte) []byte {
	size := minSlotSize
	for size < 2*len(slot) {
		size *= 2
	}
	size = min(size, maxRecordSize+slotHeader)
	b := make([]byte, slotFileHeader+2*size)
	copy(b, slotMagic)
	binary.BigEndian.PutUint32(b[len(slotMagic):slotFileHeader], uint32(size))
	copy(b[slotFileHeader:], slot)
	return b
}

// writeSlot writes slot (sealSlot's) over slot i of the open record file
// fh, zero-padded to the slot's size, and with sync makes it durable.
func writeSlot(fh *os.File, size, i int, slot []byte, sync bool) error {
	b := make([]byte, size)
	copy(b, slot)
	if _, err := fh.WriteAt(b, int64(slotFileHeader+i*size)); err != nil {
		return err
	}
	if !sync {
		return nil
	}
	return atomicfile.DataSync(fh)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
