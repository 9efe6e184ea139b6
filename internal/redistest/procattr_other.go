//go:build !linux

package redistest

import "syscall"

// childProcAttr: only Linux can tie a child's life to its parent's; elsewhere
// the nodes rely on the test's cleanups.
func childProcAttr() *syscall.SysProcAttr { return nil }
