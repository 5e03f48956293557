// Package nodump keeps authcli's memory out of core files and debuggers of
// other users: a process that holds the vault key and tokens is marked
// non-dumpable where the OS allows, as ssh-agent does.
package nodump

// Apply marks the calling process non-dumpable. On Linux that is
// prctl(PR_SET_DUMPABLE, 0): no core file, /proc/PID/environ, mem and maps
// owned by root, no ptrace attach without CAP_SYS_PTRACE. On other Unix
// systems the core file size limit drops to zero. Elsewhere it does
// nothing. It is one system call, cheap enough for `authcli token`.
func Apply() error { return apply() }
