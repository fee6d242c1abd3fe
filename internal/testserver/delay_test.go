package testserver

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// What goes through DelayProxy comes out whole and in order, both ways,
// and the end of one side's writing reaches the other.
func TestDelayProxyRelaysBothWays(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // echo until the client stops writing, then close
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_, _ = io.Copy(c, c)
		c.Close()
	}()
	addr := DelayProxy(t, ln.Addr().String(), 2*time.Millisecond)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sent := Content("delay", 300<<10)
	go func() {
		for b := sent; len(b) > 0; b = b[min(len(b), 7000):] {
			if _, err := c.Write(b[:min(len(b), 7000)]); err != nil {
				return
			}
		}
		_ = c.(*net.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, sent) {
		t.Errorf("got %d bytes back, want the %d sent, in order", len(got), len(sent))
	}
}
