package cmd

// The help text: what --help prints after the flags, and the man page's
// description (internal/mangen).

const longHelp = `multiget downloads every URL given as an argument or listed in the -i files
(or stdin) in parallel through one libcurl multi handle, and reports one
result per entry.

LIST FORMAT
  One entry per line: a URL, optionally followed by key=value options.
  Blank lines and lines starting with # are ignored. Options may also sit
  on indented lines directly under their URL (aria2 style).
    https://example.com/a.iso
    https://example.com/b.iso out=images/b.iso
    https://example.com/c.iso
      out=images/c.iso
  Options: out=REL/PATH  save under --dir at this relative path;
           sha256=HEX (also sha512=, sha1=, md5=)  verify the whole file;
           mirror=URL  another URL of the same file (repeatable).
  More URLs on the URL line, separated by TABs (aria2's form), are mirrors
  too. The name comes from the first URL; a bad mirror makes the entry
  invalid.
  A bad line is one invalid entry, reported as FILE:LINE; the rest go on.

METALINK
  --metalink FILE, or -i FILE ending in .meta4 or .metalink, reads a
  Metalink 4 document (RFC 5854): each <file> is one entry, named by its
  name under --dir (refused as out= would be), its <url>s by priority as
  the URL and mirrors, its sha-256/sha-512/sha-1/md5 <hash>es as checksums.
  A document that is not well-formed, or declares a DTD, stops the run
  (exit 2) naming FILE:LINE.

FILES
  A file is written to NAME.part and renamed to NAME only once complete, so
  NAME always holds a whole file. NAME is out=, else the URL's last path
  segment, percent-decoded ("index.html" if empty); with --tree it is
  HOST/PATH. Names never leave --dir: "/" and "\" inside a decoded segment
  become "_", control characters become "_", and out= values that are
  absolute or contain ".." are refused. Two entries writing one path, or a
  file where another entry needs a directory: the later is invalid and
  names the earlier.

OUTPUT
  stdout holds results only; the bar, warnings and the summary go to
  stderr. On a terminal: a progress bar on stderr (entries, share and
  bytes done of the total, speed, time left, and a line for each of the
  three largest running files) with one line per finished entry above it;
  --progress plain prints its figures every 5 s. Otherwise one line per entry on stdout, and each
  failure copied to stderr unless stderr is the same file (2>&1, one
  terminal): a failure is shown once per place it is read. Under GitHub
  Actions that copy is an ::error annotation. --json prints one JSON
  object per entry on stdout instead, never on the bar's line, with the
  keys source, url, effective_url, path, status (ok, failed, skipped,
  unchanged, invalid, interrupted; planned in a --dry-run), http_code, curl_code, error, bytes,
  duration_ms, attempts and checksums; then one object per host that
  pushed back (429/503, refused connections, timeouts), with "record":
  "host". --json-summary ends stdout with one object with "record":
  "summary" and the keys ok, failed, skipped, unchanged, invalid, interrupted,
  planned, not_started, bytes, duration_ms, exit_code and stopped. A
  summary always ends on stderr, with a line per such host:
  "host H throttled: 40 -> 5 at once, paused 2.0s (3 x 429)".

RETRIES, RESUME, INTEGRITY
  Transient failures (connect/reset/receive errors, timeouts, stalls, short
  bodies; HTTP 408, 429, 500, 502, 503, 504) are retried --retry times with
  doubling, jittered backoff (Retry-After honoured up to --retry-max-delay).
  A 429 or 503 pauses every transfer of that host not yet running until its
  Retry-After, then one probes before the rest go; a host's concurrency is
  halved when it pushes back (429/503, refused connections, timeouts) and
  grows by one per success, up to --per-host.
  A retry continues with a Range request checked by If-Range when the
  server allows it. Interrupted and retry-exhausted transfers keep
  NAME.part (and NAME.part.meta); -c resumes them in a later run, and skips
  a finished NAME the server still has at that size (one request, no
  body) or that matches its checksums (no request). With -N an existing
  file is asked about (If-None-Match with the ETag recorded in
  DIR/.multiget/state, else If-Modified-Since): a 304 leaves it, status
  unchanged. Checksums
  are verified before NAME appears; a mismatch leaves no file.

FAILED LIST
  --failed-list FILE writes every entry that did not end ok, skipped or
  unchanged (failed, invalid, not started) to FILE as a list, with its
  out=, checksums and mirrors; multiget -i FILE reruns what is left.
  Written atomically; removed when nothing failed.

CONFIG FILE
  --config FILE (or $MULTIGET_CONFIG) holds flags as "name = value" lines
  with the long flag names (# comments; a repeatable flag once per line; a
  bool flag alone means true). Flags on the command line win. An unknown
  name or bad value is a usage error naming FILE:LINE.

SHARDING AND CI
  --shard K/N takes only the entries whose target path hashes (FNV-64) to
  shard K of N: N jobs split one list with no coordinator, each entry in
  exactly one shard whatever the list's order; other shards' entries get
  no result. --shard-from-env reads JOB_COMPLETION_INDEX (0-based, set in a
  Kubernetes Indexed Job) and MULTIGET_SHARD_COUNT. --dry-run checks the
  lists and prints each target without any request (exit 1 if any entry
  is invalid). With GITHUB_ACTIONS=true the stderr copy of each failure
  is an ::error:: annotation. Colour only on a terminal, never with
  NO_COLOR.

NETWORK
  Without -x, libcurl reads http_proxy, https_proxy, ALL_PROXY and NO_PROXY
  (--noproxy overrides NO_PROXY). --compressed saves decoded bodies, and
  checksums apply to the decoded file; it cannot resume. --total-rate gives
  each running transfer an equal share of RATE. -u credentials go to the
  entries' own hosts only. -b FILE or --cookie-jar keeps one cookie store
  for the run: a cookie one response sets goes with every later request.
  -v writes a line per transfer attempt on stderr (connection, address,
  HTTP version, status, redirects, retries with reason and delay).

COMMANDS
  multiget completion bash|zsh|fish|powershell [--no-descriptions]
       print a shell completion script on stdout (scripts/install puts
       the bash, zsh and fish ones where those shells look)

ENVIRONMENT
  MULTIGET_CONFIG       the config file when --config is not given
  JOB_COMPLETION_INDEX  --shard-from-env: this process's shard, 0-based
  MULTIGET_SHARD_COUNT  --shard-from-env: the number of shards
  GITHUB_ACTIONS        "true": failures copied to stderr as ::error::
  NO_COLOR, TERM        no colour when NO_COLOR is set or TERM is dumb;
                        TERM=dumb: progress lines, not the bar
  MULTIGET_USER         USER[:PASS] for the entries' hosts when -u is not given
  HOME                  where --netrc finds .netrc
  http_proxy, https_proxy, HTTPS_PROXY, ALL_PROXY, all_proxy, NO_PROXY,
  no_proxy              read by libcurl when -x is not given
  MULTIGET_OFF          optimizations to switch off, for measuring them or
                        working around a platform problem (the files are
                        the same): all, or a comma-separated list of
                        writers, unnamed, handover

EXIT STATUS
  0    every entry downloaded, unchanged (-N) or skipped
  1    at least one entry failed or was invalid, or the results could
       not be written (a full disk under > results.jsonl, or a reader
       that went away, as in | head -1: the run then stops)
  2    usage error, or an input list that cannot be read
  130  interrupted by SIGINT or SIGTERM: running transfers aborted (each
       keeps its NAME.part for -c), the summary printed, then multiget
       dies of that signal, so a shell sees it ($? 130 or 143) and a loop
       stops; exit 130 where the signal cannot kill. A second signal ends
       the process at once`

const examples = `  # one-liner: fetch three files into ./dl
  multiget -d dl https://example.com/a.tgz https://example.com/b.tgz https://example.com/c.tgz

  # batch script: a list, 16 connections at once, at most 4 per host, keep existing files
  multiget -i urls.txt -j 16 --per-host 4 --no-clobber -d mirror --tree

  # pipeline: URLs from another program on stdin
  grep -o 'https://[^"]*\.pdf' page.html | multiget -i - -d pdfs

  # CI job: machine-readable results, checksums, patient retries, stop at the first failure
  multiget -i artifacts.txt -d out --checksum-file SHA256SUMS --retry 5 --json --fail-fast > results.jsonl

  # resume an interrupted batch: rerun the same command with -c
  multiget -c -i urls.txt -d mirror`
