package engine

// Receive buffers (CURLOPT_BUFFERSIZE): how large a read libcurl makes for
// a transfer, and, since a chunk of at least MG_BUFCAP (xfer.h) is written
// to the file as it comes, how large each write is.
//
// Large ones mean few, large recv(2) and pwrite(2) calls on fast transfers
// (4 x 256 MiB on loopback took 1.10 s at libcurl's 16 KiB default, 0.70 s
// at 512 KiB). But libcurl checks a speed cap only between read passes of
// up to 100 buffers, so with a cap a large buffer would let megabytes
// through unchecked: then it stays at 16 KiB (bufferSize).
//
// libcurl fills as much of a buffer as each read brings, and before 8.7
// it holds one per running transfer, so thousands of transfers (a huge -j)
// held hundreds of megabytes in these buffers alone. Beyond the first
// fullBuffers transfers running, new ones get 16 KiB: together they hold
// at most 8 x 2 MiB + 120 x 512 KiB + 16 KiB per other running transfer.
//
// Few at once: while fewer than bigRunning transfers run, a new transfer
// of a whole file gets bigBuffer. The loop thread receives and writes
// every byte, so its cost per call counts on a fast link; a buffer is only
// filled as far as data waits in the socket, so on a slow link it costs
// nothing but address space. Measured on 4 x 256 MiB on loopback: 0.93,
// 0.84 and 0.77 s against 1.29, 1.30 and 0.74 s at 512 KiB (three bench
// runs, interleaved); by hand 0.84 against 1.00 s (9 runs), in 15% less
// CPU, and built against libcurl 8.21 0.77 against 0.86 s. A run that splits files (--split) keeps 512 KiB for all its
// transfers: each range gets a share of the link, and 16 of them at 2 MiB
// took 22 MiB more peak RSS (52.3 against 30.6 MiB) in the same time; the
// probe that starts a split download at 2 MiB gave one run in five
// 5 MiB more (29.5 against 24.0-24.9 MiB, 16 ranges at 5,000 KB/s).
// Switch: Tuning.NoBigBuffers (MULTIGET_OFF=bigbuf).
const (
	largeBuffer = 512 << 10
	bigBuffer   = 2 << 20
	bigRunning  = 8
	fullBuffers = 128 // more at once gain nothing from large buffers: they share the links and cores
)

// bufferSize is the receive buffer of a transfer among many: largeBuffer,
// or 16 KiB under a speed cap (above).
func (e *engine) bufferSize() int {
	if e.cfg.LimitRate > 0 || e.cfg.TotalRate > 0 {
		return 16 << 10
	}
	return largeBuffer
}

// recvBuffer is the receive buffer of a transfer starting while running
// others run; whole: it fetches a whole file in a run that splits none.
func (e *engine) recvBuffer(running int, whole bool) int {
	size := e.bufferSize()
	switch {
	case running >= fullBuffers:
		return 16 << 10
	case size == largeBuffer && whole && running < bigRunning && !e.cfg.Tuning.NoBigBuffers:
		return bigBuffer
	}
	return size
}

// Small buffers for hosts that send small files.
//
// libcurl before 8.7 allocates a transfer's receive buffer when it
// connects and frees it when the transfer ends on a connection no other
// transfer uses (lib/multi.c, Curl_preconnect and multi_done): over
// HTTP/1.1, once per file. At the sizes large files want, each small file
// then costs an allocation that the heap grows for and gives back:
// sysmalloc and madvise took 5-7% of the loop thread's time on
// 2,000 x 8 KiB and 20,000 x 1 B (perf, libcurl 7.88). From 8.7 on, every transfer
// reads into one buffer of the multi handle, allocated once at the largest
// size asked for, and the size only caps each read, so there this gains
// nothing and is not done.
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
