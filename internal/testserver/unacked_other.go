//go:build !linux

package testserver

import (
	"net"
	"time"
)

// unacked cannot ask the kernel outside Linux; a short pause lets loopback
// deliver the bytes before the reset, which is the best available.
func unacked(tc *net.TCPConn) (int, error) {
	time.Sleep(50 * time.Millisecond)
	return 0, nil
}
