package testserver

import (
	"net"
	"syscall"
	"unsafe"
)

// unacked returns the bytes in tc's send queue not yet acknowledged by the
// peer (SIOCOUTQ, which Linux spells TIOCOUTQ for sockets).
func unacked(tc *net.TCPConn) (int, error) {
	rc, err := tc.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int32
	var errno syscall.Errno
	err = rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCOUTQ, uintptr(unsafe.Pointer(&n)))
	})
	if err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
