package cmd

import (
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/multiget/multiget/internal/list"
)

// Environment variables of --shard-from-env. A Kubernetes Indexed Job sets
// JOB_COMPLETION_INDEX (0-based) in every pod; the shard count is not
// exposed, so the Job spec sets MULTIGET_SHARD_COUNT to its completions.
const (
	envShardIndex = "JOB_COMPLETION_INDEX"
	envShardCount = "MULTIGET_SHARD_COUNT"
)

// parseShard reads "K/N" (1 <= K <= N).
func parseShard(s string) (k, n int, err error) {
	ks, ns, ok := strings.Cut(s, "/")
	k, err1 := strconv.Atoi(strings.TrimSpace(ks))
	n, err2 := strconv.Atoi(strings.TrimSpace(ns))
	if !ok || err1 != nil || err2 != nil || n < 1 || k < 1 || k > n {
		return 0, 0, flagErrorf("--shard %q: write K/N with 1 <= K <= N, e.g. --shard 2/4", s)
	}
	return k, n, nil
}

// shardFromEnv reads the shard of a Kubernetes Indexed Job pod.
func shardFromEnv(getenv func(string) string) (k, n int, err error) {
	is, ns := getenv(envShardIndex), getenv(envShardCount)
	if is == "" || ns == "" {
		return 0, 0, flagErrorf("--shard-from-env needs %s (0-based, set by an Indexed Job) and %s (the number of shards); got %s=%q %s=%q",
			envShardIndex, envShardCount, envShardIndex, is, envShardCount, ns)
	}
	i, err1 := strconv.Atoi(strings.TrimSpace(is))
	n, err2 := strconv.Atoi(strings.TrimSpace(ns))
	if err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, flagErrorf("--shard-from-env: %s=%q must be 0..%s-1, and %s=%q at least 1",
			envShardIndex, is, envShardCount, envShardCount, ns)
	}
	return i + 1, n, nil
}

// inShard reports whether the entry with this key belongs to shard k of n.
// The key depends only on the entry itself, never on its position, so
// every process of a split run agrees on the owner of each entry however
// the list is ordered or concatenated.
func inShard(key string, k, n int) bool {
	if n <= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	return h.Sum64()%uint64(n) == uint64(k-1)
}

// targetKey is the shard key of a valid entry: its output path relative to
// --dir, without a ".part" suffix. Entries that would write the same file
// (or F and F.part) thus land in the same shard, which can then report the
// clash exactly as an unsplit run would.
func targetKey(rel string) string {
	return "t\x00" + strings.TrimSuffix(rel, ".part")
}

// invalidKey is the shard key of an entry found invalid before it had an
// output path: its URL and out= as written, so exactly one shard reports it.
func invalidKey(it list.Item) string {
	return "i\x00" + it.URL + "\x00" + it.Options["out"]
}
