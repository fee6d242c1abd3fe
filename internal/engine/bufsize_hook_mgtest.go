//go:build mgtest

package engine

// onBuffer, set by the tests, hears the receive buffer each transfer asks
// libcurl for, by URL.
var onBuffer func(url string, size int)

func heardBuffer(url string, size int) {
	if onBuffer != nil {
		onBuffer(url, size)
	}
}
