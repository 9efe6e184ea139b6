package redistest

import "syscall"

// childProcAttr makes the kernel kill a Redis node started for a test if the
// test binary dies without running its cleanups (a timeout panic, a kill).
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
