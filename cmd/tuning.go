package cmd

import (
	"os"

	"github.com/multiget/multiget/internal/engine"
)

// envOff lists the engine's optimizations to switch off (engine.ParseTuning),
// for measuring what each is worth and for working around a platform where
// one misbehaves; the files are the same either way.
const envOff = "MULTIGET_OFF"

// tuningFromEnv reads MULTIGET_OFF; a bad word is a usage error.
func tuningFromEnv(getenv func(string) string) (engine.Tuning, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	t, err := engine.ParseTuning(getenv(envOff))
	if err != nil {
		return engine.Tuning{}, flagErrorf("%s: %v", envOff, err)
	}
	return t, nil
}
