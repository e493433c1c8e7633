#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# go_test.sh: the Go binding's tests (bindings/go, package kchan.dev/kchan)
# as TAP, one line per Go test: the typed API, select, the bridge to native
# channels, ten thousand waiting goroutines without a thread each, the
# pipeline, worker pool and done-channel generator across processes (the
# test binary re-executes itself as the helper processes), the README's
# example, and the UAPI constants against uapi/linux/chan.h. Then the
# install: `make install` puts the source where Debian's golang-*-dev
# packages go, and the go command finds it there in GOPATH mode.
#
# Run by `make check` in the VM (TEST_PROGS). It runs the test binary
# `make` built on the host (bindings/go/kchan.test); when that is missing
# or older than the sources and Go is installed, it builds one into a
# scratch directory first. Without either it skips, saying why.

set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
pkg=$top/bindings/go
bin=$pkg/kchan.test
KSFT_SKIP=4

unset MAKEFLAGS MFLAGS MAKEOVERRIDES MAKELEVEL

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kchan-go.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

stale() {
	[ -x "$bin" ] || return 0
	[ -n "$(find "$pkg" -name '*.go' -newer "$bin" -print -quit)" ]
}

if stale; then
	if ! command -v go >/dev/null 2>&1; then
		echo "TAP version 13"
		echo "1..0 # SKIP Go binding: no Go toolchain (apt-get install golang-go) and no up-to-date bindings/go/kchan.test (make builds it)"
		exit $KSFT_SKIP
	fi
	echo "# building the Go test binary (bindings/go/kchan.test is missing or stale)"
	bin=$tmp/kchan.test
	if ! out=$(cd "$pkg" && GOCACHE=${GOCACHE:-$tmp/gocache} GOPROXY=off GOFLAGS= \
		go test -c -o "$bin" . 2>&1); then
		echo "TAP version 13"
		echo "1..1"
		echo "not ok 1 go test -c"
		printf '%s\n' "$out" | sed 's/^/# /'
		exit 1
	fi
fi

mapfile -t tests < <(cd "$pkg" && "$bin" -test.list '.*' | grep -E '^(Test|Example)')
NTESTS=$((${#tests[@]} + 1))
. "$here/tap.sh"
tap_plan

# The tests run in the package directory (they read ../../README.md and
# ../../uapi/linux/chan.h) with TMPDIR in the scratch directory.
for name in "${tests[@]}"; do
	out=$(cd "$pkg" && TMPDIR=$tmp "$bin" -test.run "^$name\$" -test.v -test.timeout 500s 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && grep -q "^--- SKIP: $name " <<<"$out"; then
		why=$(grep -A1 "^=== RUN   $name\$" <<<"$out" | tail -n 1 | sed 's/^ *[a-z_]*\.go:[0-9]*: //')
		skip "$name" "$why"
	elif [ $rc -eq 0 ]; then
		n=$((n + 1))
		echo "ok $n $name"
		# The measurements the tests log (threads while waiting).
		grep -E '^ +[a-z_]+\.go:[0-9]+: ' <<<"$out" | sed 's/^ */# /'
	else
		n=$((n + 1))
		nfail=$((nfail + 1))
		echo "not ok $n $name"
		printf '%s\n' "$out" | tail -n 40 | sed 's/^/# /'
	fi
done
# The installed source builds the Debian way: GOPATH=/usr/share/gocode.
t_install() {
	local root=$tmp/root gopath
	gopath=$root/usr/share/gocode
	make -C "$pkg" install DESTDIR="$root" >"$tmp/install.log" 2>&1 ||
		{ cat "$tmp/install.log"; return 1; }
	[ -f "$gopath/src/kchan.dev/kchan/kchan.go" ] ||
		{ echo "no kchan.go in $gopath/src/kchan.dev/kchan"; return 1; }
	# go list resolves the package and its internal import in GOPATH
	# mode without compiling (which takes long under emulation; the
	# test binary shows the code compiles).
	out=$(cd "$tmp" && GO111MODULE=off GOPATH=$gopath GOCACHE=${GOCACHE:-$tmp/gocache} \
		GOFLAGS= go list -e -f '{{.ImportPath}} {{.Dir}} {{.Incomplete}} {{.DepsErrors}}' \
		kchan.dev/kchan) || return 1
	[ "$out" = "kchan.dev/kchan $gopath/src/kchan.dev/kchan false []" ] ||
		{ echo "go list: $out"; return 1; }
	make -C "$pkg" uninstall DESTDIR="$root" >"$tmp/install.log" 2>&1 ||
		{ cat "$tmp/install.log"; return 1; }
	left=$(find "$root" -type f)
	[ -z "$left" ] || { echo "left after uninstall: $left"; return 1; }
}
if command -v go >/dev/null 2>&1; then
	check "install: kchan.dev/kchan in GOPATH=/usr/share/gocode" t_install
else
	skip "install: GOPATH build" "no Go toolchain"
fi
tap_done
