package nodump

import (
	"syscall"
	"testing"
)

const prGetDumpable = 3

func dumpable(t *testing.T) uintptr {
	t.Helper()
	v, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prGetDumpable, 0, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	return v
}

// TestApply marks this test process non-dumpable (harmless for a test
// binary) and reads the flag back.
func TestApply(t *testing.T) {
	if err := Apply(); err != nil {
		t.Fatal(err)
	}
	if v := dumpable(t); v != 0 {
		t.Errorf("PR_GET_DUMPABLE = %d after Apply, want 0", v)
	}
}

// BenchmarkApply: what authcli token pays for it.
func BenchmarkApply(b *testing.B) {
	for b.Loop() {
		_ = Apply()
	}
}
