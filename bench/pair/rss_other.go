//go:build !unix

package main

import "os"

// peakRSS is not available here; the report shows 0.
func peakRSS(*os.ProcessState) int64 { return 0 }
