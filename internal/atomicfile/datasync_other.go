//go:build !linux

package atomicfile

import "os"

// DataSync is fsync where fdatasync is not offered.
func DataSync(f *os.File) error {
	flushes.Add(1)
	return f.Sync()
}
