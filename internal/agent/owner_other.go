//go:build !unix

package agent

import "io/fs"

// checkOwner: PrepareDir refuses these systems before asking.
func checkOwner(fs.FileInfo, string) error { return ErrUnsupported }
