//go:build !unix

package statedir

import (
	"io/fs"
)

// NoFollow is 0 where the flag does not exist.
const NoFollow = 0

func owner(fs.FileInfo) (int, bool) { return 0, false }
