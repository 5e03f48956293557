package vault

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/authcli/authcli/internal/atomicfile"
	"github.com/authcli/authcli/internal/statedir"
)

// AdditionsName is the file beside the index that lists keys added since
// the index was last written whole. A new key (every first sign-in) is
// one frame appended in place, with one fdatasync when flushed (a
// sign-in's is not: SetUnflushed), where writing the
// index anew cost a file created, a rename and two fsyncs, with a size
// that grows with the vault: creating a file took 0.5 to 1 ms on the
// machines measured, appending 20 us. The index is written whole again,
// and this file emptied, on every Delete, and once it reaches
// maxAdditions.
//
// Each frame is a big-endian uint32 length, then a vault file (header,
// nonce, ciphertext) sealing the added key as an encodeRecords list, with
// additional data "authcli vault index addition" NUL header, the nonce of
// the index it extends and the frame's offset: a frame opens only in its
// place, after the index it was written for.
//
// Readers take frames up to the first that does not open, and writers
// overwrite from there: a frame a crash tore was never followed by its
// key's record (the frame is written first, and synced first when
// flushed), so dropping it loses no value. Damage to this file can drop names from List, never hide a
// value from Get or let a wrong vault key write.
const AdditionsName = "index.add"

const additionAD = "authcli vault index addition\x00"

// maxAdditions bounds the additions file (about 55 keys: each frame is
// one AEAD to open, 2 to 3 us, where writing the index whole costs a new
// file, a rename and two fsyncs, 1.5 ms), so that List and a new key's
// write read little more than the index. A variable for the tests.
var maxAdditions = 4 << 10

func (f *File) additionsPath() string { return f.recDir + string(os.PathSeparator) + AdditionsName }

// readAdditions adds to ix the keys of the additions file's valid frames,
// and records where they end and how long the file is.
func (f *File) readAdditions(ix *vaultIndex) error {
	data, err := readPrivate(f.additionsPath(), maxFileSize)
	if errors.Is(err, fs.ErrNotExist) {
		ix.addsEnd, ix.addsSize = 0, -1
		return nil
	}
	if err != nil {
		return fmt.Errorf("vault index additions %s: %w", f.additionsPath(), err)
	}
	ix.addsEnd, ix.addsSize = openAdditions(ix, data), len(data)
	return nil
}

// openAdditions adds the keys of data's valid frames to ix.names and
// returns the length of the valid prefix.
func openAdditions(ix *vaultIndex, data []byte) int {
	off := 0
	for len(data)-off >= 4 {
		n := int(binary.BigEndian.Uint32(data[off:]))
		if n > len(data)-off-4 {
			break
		}
		if openAddition(ix, data[off+4:off+4+n], off) != nil {
			break
		}
		off += 4 + n
	}
	return off
}

// openAddition opens the frame at off and adds its keys to ix.names; a
// frame that does not open adds none.
func openAddition(ix *vaultIndex, sealed []byte, off int) error {
	h, hoff, err := parseHeader(sealed)
	if err != nil {
		return err
	}
	if h.version != dirVersion || !sameKDF(h, ix.hdr) {
		return ErrDecrypt
	}
	plain, err := openSealed(ix.aeadKey, h, sealed[hoff:], additionAD, sealed[:hoff], additionName(ix, off))
	if err != nil {
		return err
	}
	keys := map[string]bool{}
	if err := decodeNames(plain, keys); err != nil {
		return err
	}
	for k := range keys {
		ix.names[k] = true
	}
	return nil
}

// additionName is what a frame's additional data binds after its header.
func additionName(ix *vaultIndex, off int) string {
	return string(binary.BigEndian.AppendUint64(append([]byte(nil), ix.indexNonce...), uint64(off)))
}

// addToIndex lists key in the index before its record is written: one
// frame appended to the additions file, or the index written whole when
// there is none yet or the additions have grown to maxAdditions.
func (f *File) addToIndex(ix *vaultIndex, key string, flush bool) error {
	ix.names[key] = true
	if !ix.exists || ix.addsEnd >= maxAdditions {
		return f.writeIndex(ix)
	}
	sealed, err := seal(ix, additionAD, encodeRecords(map[string][]byte{key: nil}), additionName(ix, ix.addsEnd))
	if err != nil {
		return err
	}
	frame := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(sealed)), uint32(len(sealed)))
	frame = append(frame, sealed...)
	write := atomicfile.WriteTail
	if !flush {
		write = atomicfile.WriteTailUnflushed
	}
	if err := write(f.additionsPath(), int64(ix.addsEnd), int64(ix.addsSize), frame); err != nil {
		return fmt.Errorf("write vault index: %w", err)
	}
	ix.addsEnd += len(frame)
	ix.addsSize = ix.addsEnd
	return nil
}

// clearAdditions empties the additions file once the index written whole
// lists every key. A crash before it leaves frames that repeat keys the
// index holds, or name a key deleted since: harmless, as for any key the
// index lists without a record.
func (f *File) clearAdditions(ix *vaultIndex) error {
	ix.addsEnd = 0
	if ix.addsSize < 0 {
		return nil // there is none
	}
	fh, err := os.OpenFile(f.additionsPath(), os.O_RDWR|statedir.NoFollow, 0)
	if errors.Is(err, fs.ErrNotExist) {
		ix.addsSize = -1
		return nil
	}
	if err != nil {
		return err
	}
	defer fh.Close()
	if err := fh.Truncate(0); err != nil {
		return err
	}
	ix.addsSize = 0
	return atomicfile.DataSync(fh)
}
