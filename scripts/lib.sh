# Shared set-up for the scripts: find Go, install libcurl's headers when
# missing. Sourced, not run. Idempotent: a second run installs nothing.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CGO_ENABLED=1
# go-curl's C code uses a deprecated libcurl call; the warning is harmless.
export CGO_CFLAGS="${CGO_CFLAGS:--O2 -Wno-deprecated-declarations}"

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# apt_install PKG...: install the Debian packages that are not installed yet.
apt_install() {
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	# Say what is about to happen and why before any password prompt.
	local how="apt-get"
	[ "$(id -u)" = 0 ] || how="sudo apt-get (sudo may ask for your password)"
	echo "scripts: building multiget needs a C compiler and libcurl's headers (it calls libcurl through cgo);" >&2
	echo "scripts: installing the missing Debian packages ${missing[*]} with $how" >&2
	as_root apt-get update -qq >/dev/null
	# Through env: sudo drops the caller's environment.
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_deps() {
	if ! command -v go >/dev/null 2>&1; then
		if [ -x /usr/local/go/bin/go ]; then
			export PATH="/usr/local/go/bin:$PATH"
		else
			echo "scripts: Go is not installed (need Go >= 1.26 on PATH or in /usr/local/go)" >&2
			exit 2
		fi
	fi
	apt_install libcurl4-openssl-dev pkg-config gcc libc6-dev
}

# build_binary: build .build/multiget when any source is newer than it, or
# when the version it was stamped with is no longer the checkout's (a
# commit, or a change to a file that is not source, since), so that
# --version and the bench's tables name what was measured.
build_binary() {
	local bin="$ROOT/.build/multiget" version
	version="$(build_version)"
	if [ -x "$bin" ] && [ "$(cat "$bin.version" 2>/dev/null)" = "$version" ] &&
		[ -z "$(find "$ROOT" -path "$ROOT/.build" -prune -o -path "$ROOT/.git" -prune -o \
			\( -name '*.go' -o -name '*.c' -o -name '*.h' -o -name go.mod -o -name go.sum \) -newer "$bin" -print -quit)" ]; then
		return 0
	fi
	mkdir -p "$ROOT/.build"
	(cd "$ROOT" && go build -trimpath -ldflags "-X github.com/multiget/multiget/cmd.Version=$version" -o "$bin" .)
	echo "$version" >"$bin.version"
}

# build_version: the version stamped into builds: VERSION if set, else git's
# description of the checkout.
build_version() {
	if [ -n "${VERSION:-}" ]; then
		echo "$VERSION"
		return
	fi
	git -C "$ROOT" describe --tags --always --dirty 2>/dev/null || echo dev
}
