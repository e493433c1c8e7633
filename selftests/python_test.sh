#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# python_test.sh: the Python binding (bindings/python, package kchan). One
# TAP line per pytest file (pytest -v output follows each line that
# fails), README.md's Python example (the same text as
# bindings/python/examples/readme.py, run, its output checked), pyflakes
# when installed, then `make install DESTDIR=... PREFIX=/usr` puts the
# package in /usr/lib/python3/dist-packages where the system's python3
# imports it from, and `make uninstall` takes it away.
#
# Run by `make check` in the VM (TEST_PROGS), or by hand: needs the tree
# built (`make`: bindings/python/kchan/_uapi.py), /dev/chan for most
# tests, and python3-pytest (scripts/deps).

set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
pydir=$top/bindings/python
prefix=/usr

unset MAKEFLAGS MFLAGS MAKEOVERRIDES MAKELEVEL
# Debian's python3 (python3-pytest is its package), whatever PATH says.
py=/usr/bin/python3
[ -x "$py" ] || py=python3
export PYTHONDONTWRITEBYTECODE=1

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kchan-python.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root

NTESTS=9
. "$here/tap.sh"
tap_plan

fail() {
	echo "$*"
	exit 1
}

pytest_file() {
	"$py" -m pytest -p no:cacheprovider -v -rs "$@"
}

# The README's example is examples/readme.py without its header comment.
t_readme() {
	local ex=$pydir/examples/readme.py
	diff <(readme_block python) <(sed '1,/^$/d' "$ex") ||
		fail "README.md's Python example differs from examples/readme.py"
	local out
	out=$(PYTHONPATH=$pydir "$py" "$ex") || { echo "$out"; return 1; }
	[ "$out" = "$(printf 'got 1\ngot 2\ngot 3')" ] || fail "readme.py printed: $out"
}

t_pyflakes() {
	"$py" -m pyflakes "$pydir"
}

sitedir=$prefix/lib/python3/dist-packages

t_install() {
	make -C "$top/bindings" install DESTDIR="$root" PREFIX="$prefix" >"$tmp/install.log" 2>&1 ||
		{ cat "$tmp/install.log"; return 1; }
	local f
	for f in __init__.py aio.py _uapi.py; do
		[ -f "$root$sitedir/kchan/$f" ] || fail "missing $sitedir/kchan/$f"
	done
	# /usr/lib/python3/dist-packages is on Debian python3's path: the
	# installed copy imports with nothing but the DESTDIR's root prefixed.
	"$py" -c 'import sys; sys.exit("/usr/lib/python3/dist-packages" not in sys.path)' ||
		fail "$py does not look in /usr/lib/python3/dist-packages"
}

t_installed_works() {
	KCHAN_PY_INSTALLED=1 PYTHONPATH=$root$sitedir "$py" - "$root$sitedir" <<-'EOF'
	import os, sys
	import kchan
	assert kchan.__file__.startswith(sys.argv[1]), kchan.__file__
	if os.path.exists("/dev/chan"):
	    with kchan.Channel(fmt="i", capacity=1) as ch:
	        ch.send(5)
	        assert ch.recv() == (5, True)
	EOF
	[ -e /dev/chan ] || return 0
	KCHAN_PY_INSTALLED=1 PYTHONPATH=$root$sitedir pytest_file "$pydir/tests/test_uapi.py"
}

t_uninstall() {
	make -C "$top/bindings" uninstall DESTDIR="$root" PREFIX="$prefix" >"$tmp/uninstall.log" 2>&1 ||
		{ cat "$tmp/uninstall.log"; return 1; }
	local left
	left=$(cd "$root" && find . -path "*python*" \( -type f -o -type l -o -name "kchan*" \) -printf '%P\n')
	[ -z "$left" ] || fail "left after uninstall: $left"
}

if [ ! -f "$pydir/kchan/_uapi.py" ]; then
	echo "Bail out! $pydir/kchan/_uapi.py is missing: run make first"
	exit 1
fi
check "kchan/_uapi.py matches uapi/linux/chan.h (test_uapi.py)" pytest_file "$pydir/tests/test_uapi.py"
if [ -c /dev/chan ] && "$py" -c 'import pytest' 2>/dev/null; then
	check "Channel, pipe, select, SelectSet, names, fd passing (test_channel.py)" \
		pytest_file "$pydir/tests/test_channel.py"
	check "asyncio: send/recv, async for, select, cancellation (test_aio.py)" \
		pytest_file "$pydir/tests/test_aio.py"
	check "README.md's Python example runs" t_readme
else
	skip "test_channel.py" "no /dev/chan (run in the VM) or no pytest"
	skip "test_aio.py" "no /dev/chan (run in the VM) or no pytest"
	skip "README.md's Python example runs" "no /dev/chan (run in the VM)"
fi
if "$py" -m pyflakes --version >/dev/null 2>&1; then
	check "pyflakes bindings/python" t_pyflakes
else
	skip "pyflakes bindings/python" "python3-pyflakes not installed"
fi
check "make install DESTDIR=... PREFIX=$prefix: $sitedir/kchan" t_install
check "the installed package imports and works" t_installed_works
check "make uninstall removes it" t_uninstall
check "a second make uninstall succeeds" \
	make -C "$top/bindings" uninstall DESTDIR="$root" PREFIX="$prefix"

tap_done
