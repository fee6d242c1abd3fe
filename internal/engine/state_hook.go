//go:build !mgtest

package engine

// heardIllegal: in the product an illegal transition is only recorded (in
// engine.illegal); test builds make it fail the test (state_hook_mgtest.go).
func heardIllegal(string) {}
