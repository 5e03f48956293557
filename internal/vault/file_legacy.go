package vault

import (
	"errors"
	"fmt"
	"io/fs"

	"golang.org/x/crypto/chacha20poly1305"
)

// legacyVault is the decrypted single-file vault of earlier versions
// (FileName): every value in one sealed file. Only read, to serve a vault
// that no write has migrated yet and to migrate it.
type legacyVault struct {
	exists  bool
	hdr     fileHeader
	aeadKey []byte
	plain   []byte // decrypted records; cleared by the caller
	entries map[string][]byte
}

func (f *File) loadLegacy() (legacyVault, error) {
	data, err := readPrivate(f.legacyPath, maxFileSize)
	if errors.Is(err, fs.ErrNotExist) {
		return legacyVault{entries: map[string][]byte{}}, nil
	}
	if err != nil {
		return legacyVault{}, err
	}
	return f.decryptLegacy(data)
}

// decryptLegacy authenticates and decodes the contents of a single-file
// vault. Every failure is ErrDecrypt, or ErrCorrupt for records that
// authenticate but do not decode (which only a writer bug could produce).
func (f *File) decryptLegacy(data []byte) (legacyVault, error) {
	h, off, err := parseHeader(data)
	if err == nil && h.version != legacyVersion {
		err = fmt.Errorf("%w: %w: version %d is not a single-file vault", ErrDecrypt, errFormat, h.version)
	}
	if err != nil {
		return legacyVault{}, fmt.Errorf("vault file %s: %w", f.legacyPath, err)
	}
	key, err := f.keyFor(h)
	if err != nil {
		return legacyVault{}, fmt.Errorf("vault file %s: %w", f.legacyPath, err)
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return legacyVault{}, fmt.Errorf("vault cipher: %w", err)
	}
	plain, err := aead.Open(nil, h.nonce, data[off:], data[:off])
	if err != nil {
		return legacyVault{}, fmt.Errorf("vault file %s: %w", f.legacyPath, ErrDecrypt)
	}
	entries, err := decodeRecords(plain)
	if err != nil {
		clear(plain)
		return legacyVault{}, fmt.Errorf("vault file %s: %w", f.legacyPath, err)
	}
	return legacyVault{exists: true, hdr: h, aeadKey: key, plain: plain, entries: entries}, nil
}
