package engine

// Receive buffers sized by what a host sends.
//
// libcurl before 8.7 allocates a transfer's receive buffer
// (CURLOPT_BUFFERSIZE) when it connects and frees it when the transfer
// ends on a connection no other transfer uses (lib/multi.c, Curl_preconnect
// and multi_done): over HTTP/1.1, once per file. At the 512 KiB large
// files want (bufferSize), each small file then costs an allocation that
// the heap grows for and gives back: sysmalloc and madvise took 5-7% of
// the loop thread's time on 2,000 x 8 KiB and 20,000 x 1 B (perf, libcurl
// 7.88). From 8.7 on, every transfer reads into one buffer of the multi
// handle, allocated once at the largest size asked for, and the size only
// caps each read, so there this gains nothing and is not done.
//
// So, on libcurl before 8.7: once the last smallRun bodies of a host were
// each at most smallBody bytes, its next transfers get a buffer of
// smallBody bytes, which holds any such body whole (over HTTP/2, libcurl
// 7.88 holds back every stream of a connection while one stream's buffer
// is full: a body must fit). A larger body from the host puts it back to
// the large buffer for its next transfers. Ranges of a split download
// always get the large one, and so do the streams of a host known to
// multiplex: their handles keep their buffers from one transfer to the
// next (the connection is still in use when each ends), so there is no
// allocation to save (on 2,000 x 8 KiB over HTTP/2, 21 interleaved runs
// with and without small buffers for streams differed within their
// spread, once each way). A large body that starts on a small buffer is
// only read in more pieces; the bytes are the same. Switch:
// Tuning.NoSmallBuffers (MULTIGET_OFF=smallbuf).

const (
	smallBody = 64 << 10 // a body of at most this many bytes is small, and the buffer for one
	smallRun  = 4        // small bodies in a row after which a host's transfers get the small buffer
)

// bufSizer keeps, per host, how many of its last bodies in a row were
// small.
type bufSizer struct {
	on    bool // libcurl allocates a buffer per transfer and the switch is on
	small map[string]int
}

func newBufSizer(libcurl int, t Tuning) bufSizer {
	return bufSizer{on: libcurl < 0x080700 && !t.NoSmallBuffers, small: make(map[string]int)}
}

// size is the buffer for a transfer of host h, given the size it would
// otherwise get; large: a range or a stream, which always gets that size.
func (b *bufSizer) size(h string, large bool, otherwise int) int {
	if b.on && !large && b.small[h] >= smallRun && otherwise > smallBody {
		return smallBody
	}
	return otherwise
}

// ended notes the body size of a transfer of host h that ended.
func (b *bufSizer) ended(h string, seg bool, body int64) {
	switch {
	case !b.on || seg:
	case body <= smallBody:
		if b.small[h] < smallRun {
			b.small[h]++
		}
	default:
		delete(b.small, h)
	}
}
