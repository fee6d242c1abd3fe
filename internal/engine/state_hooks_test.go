//go:build mgtest

package engine

import "testing"

// Every test of this package fails on an illegal job state transition.
func init() { onIllegal = func(msg string) { panic("engine: " + msg) } }

// hearIllegal makes the test hear illegal transitions instead of
// panicking, until it ends.
func hearIllegal(t *testing.T) *string {
	hook := onIllegal
	heard := new(string)
	onIllegal = func(msg string) { *heard = msg }
	t.Cleanup(func() { onIllegal = hook })
	return heard
}
