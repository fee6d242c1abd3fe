package testserver

import (
	"net"
	"sync"
	"testing"
	"time"
)

// DelayProxy relays TCP connections from a listener on 127.0.0.1 to
// target, holding every chunk it reads for oneWay before passing it on, in
// each direction: a link of 2 × oneWay round trip, as toxiproxy's latency
// toxic makes one (the TCP handshake itself is not delayed). It returns
// the proxy's host:port; t's cleanup closes it and every relayed
// connection.
func DelayProxy(t testing.TB, target string, oneWay time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	track := func(c net.Conn) bool {
		mu.Lock()
		defer mu.Unlock()
		select {
		case <-done:
			c.Close()
			return false
		default:
		}
		conns = append(conns, c)
		return true
	}
	t.Cleanup(func() {
		close(done)
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			if !track(in) || !track(out) {
				return
			}
			go delayCopy(out, in, oneWay)
			go delayCopy(in, out, oneWay)
		}
	}()
	return ln.Addr().String()
}

// chunk is what one read got, and when it may be written.
type chunk struct {
	b  []byte
	at time.Time
}

// delayCopy copies src to dst, each chunk written oneWay after it was
// read, in order; at the end of src it closes dst's writing side.
func delayCopy(dst, src net.Conn, oneWay time.Duration) {
	q := make(chan chunk, 1024)
	go func() {
		defer close(q)
		for {
			b := make([]byte, 32<<10)
			n, err := src.Read(b)
			if n > 0 {
				q <- chunk{b[:n], time.Now().Add(oneWay)}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range q {
		time.Sleep(time.Until(c.at))
		if _, err := dst.Write(c.b); err != nil {
			src.Close()
			for range q {
			}
			return
		}
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	} else {
		_ = dst.Close()
	}
}
