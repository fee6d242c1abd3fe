//go:build mgtest

package engine

// onIllegal, set by the tests, hears of every illegal job state transition.
var onIllegal func(string)

func heardIllegal(msg string) {
	if onIllegal != nil {
		onIllegal(msg)
	}
}
