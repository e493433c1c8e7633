#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# install_test.sh: kchan installs like a library. `make install` into a
# scratch DESTDIR with PREFIX=/usr, then, one TAP line per check: the
# files are there, libchan.pc names the prefix, a program built with
# `pkg-config --cflags --libs libchan` runs against the installed
# libchan.so and the live /dev/chan (send/recv across fork), chanctl, the
# man pages (man finds chan(7) and chanctl(1)), chanctl's bash completion,
# the udev rule, and the DKMS source tree
# (dkms.conf and everything Kbuild compiles); then `make uninstall` leaves
# nothing behind.
#
# Run by `make check` in the VM (TEST_PROGS), or by hand from anywhere:
# selftests/install_test.sh. Writes only below a mktemp directory; install
# only copies (it must not build the module, whose kernel may not be the
# one running). Needs the tree built (`make`) and pkg-config.

set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
prefix=/usr

# Started by the kselftest runner from a make: its command-line variables
# (OUTPUT=, KSFT_SRC=) and jobserver must not leak into our makes.
unset MAKEFLAGS MFLAGS MAKEOVERRIDES MAKELEVEL
unset PKG_CONFIG_PATH

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kchan-install.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root

NTESTS=17
. "$here/tap.sh"
tap_plan

fail() {
	echo "$*"
	exit 1
}

# Each of these fails with a message saying what is wrong.
have() {	# have FILE...: regular files (or symlinks to them) in $root
	local f rc=0
	for f in "$@"; do
		[ -f "$root$f" ] || { echo "missing: $f"; rc=1; }
	done
	return $rc
}

version=$(cat "$top/VERSION")
libversion=$version
srcdir=/usr/src/kchan-$version

# --- install -----------------------------------------------------------

t_install() {
	[ -n "$version" ] || fail "$top/VERSION is empty"
	make -C "$top" install DESTDIR="$root" PREFIX="$prefix" >"$tmp/install.log" 2>&1 ||
		{ cat "$tmp/install.log"; return 1; }
}

# The module is built by dkms (or `make module`) for a chosen kernel,
# never by install.
t_no_module_build() {
	! grep -nE '(^| )M=|/lib/modules/|KERNELRELEASE|[^ ]*\.ko( |$)|scripts/deps' "$tmp/install.log"
}

t_libs() {
	have "$prefix/lib/libchan.so.$libversion" "$prefix/lib/libchan.a" || return 1
	[ "$(readlink "$root$prefix/lib/libchan.so.1")" = "libchan.so.$libversion" ] ||
		fail "libchan.so.1 -> $(readlink "$root$prefix/lib/libchan.so.1")"
	[ "$(readlink "$root$prefix/lib/libchan.so")" = libchan.so.1 ] ||
		fail "libchan.so -> $(readlink "$root$prefix/lib/libchan.so")"
}

# In a directory of kchan's own: include/linux is linux-libc-dev's.
t_headers() {
	have $prefix/include/kchan/chan.h $prefix/include/kchan/linux/chan.h || return 1
	[ ! -e "$root$prefix/include/linux" ] || fail "$prefix/include/linux was created"
	cmp "$top/userlib/chan.h" "$root$prefix/include/kchan/chan.h" &&
	cmp "$top/uapi/linux/chan.h" "$root$prefix/include/kchan/linux/chan.h"
}

pc=$prefix/lib/pkgconfig/libchan.pc

t_pc() {
	have $pc || return 1
	grep -qx "prefix=$prefix" "$root$pc" ||
		fail "libchan.pc: $(grep '^prefix=' "$root$pc"), want prefix=$prefix"
	grep -qx "libdir=$prefix/lib" "$root$pc" ||
		fail "libchan.pc: $(grep '^libdir=' "$root$pc"), want libdir=$prefix/lib"
	grep -qx "includedir=$prefix/include" "$root$pc" ||
		fail "libchan.pc: $(grep '^includedir=' "$root$pc"), want includedir=$prefix/include"
	[ "$(pc --modversion libchan)" = "$libversion" ] ||
		fail "pkg-config --modversion libchan: '$(pc --modversion libchan)', want $libversion"
}

# pkg-config sees only the DESTDIR (LIBDIR, not PATH: no fallback to a
# libchan installed on the machine) and prefixes its paths with it.
pc() {
	PKG_CONFIG_LIBDIR=$root$prefix/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$root \
	PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1 \
		pkg-config "$@"
}


t_compile() {
	local flags
	flags=$(pc --cflags --libs libchan) || return 1
	echo "cc prog.c $flags"
	# shellcheck disable=SC2086
	${CC:-cc} -std=c11 -Wall -Wextra -Werror -o "$tmp/prog" "$here/libchan_prog.c" $flags
}

t_links_installed() {
	[ -x "$tmp/prog" ] || fail "no program (compile failed)"
	readelf -d "$tmp/prog" | grep -q 'NEEDED.*\[libchan\.so\.1\]' ||
		fail "prog does not need libchan.so.1: $(readelf -d "$tmp/prog" | grep NEEDED)"
	LD_LIBRARY_PATH=$root$prefix/lib ldd "$tmp/prog" |
		grep -q "libchan\.so\.1 => $root$prefix/lib/libchan\.so\.1 " ||
		fail "libchan.so.1 resolves elsewhere: $(LD_LIBRARY_PATH=$root$prefix/lib ldd "$tmp/prog")"
}

t_run() {
	local out
	out=$(LD_LIBRARY_PATH=$root$prefix/lib "$tmp/prog") || { echo "$out"; return 1; }
	[ "$out" = "received 100 values, sum 5050" ] || fail "prog said: $out"
}

t_chanctl() {
	local name=install_test_$$ out
	have $prefix/bin/chanctl || return 1
	[ -x "$root$prefix/bin/chanctl" ] || fail "chanctl is not executable"
	# send waits for a receiver, so the receiver goes first.
	"$root$prefix/bin/chanctl" create "$name" || return 1
	"$root$prefix/bin/chanctl" recv "$name" --count 1 --timeout 60 >"$tmp/chanctl.out" &
	"$root$prefix/bin/chanctl" send "$name" hello --timeout 60 || { wait; return 1; }
	wait $! || fail "chanctl recv failed"
	"$root$prefix/bin/chanctl" unlink "$name" || return 1
	out=$(cat "$tmp/chanctl.out")
	[ "$out" = hello ] || fail "chanctl recv printed '$out'"
}

t_man() {
	local p files=()
	for p in "$top"/userlib/man/man3/*.3 "$top"/userlib/man/man7/*.7; do
		files+=("$prefix/share/man/${p#"$top"/userlib/man/}")
	done
	[ ${#files[@]} -ge 2 ] || fail "no man pages in userlib/man"
	have "${files[@]}" || return 1
	# What `man 7 chan` and `man chan_send` open once installed.
	[ "$(man -M "$root$prefix/share/man" -w 7 chan)" = "$root$prefix/share/man/man7/chan.7" ] ||
		fail "man -w 7 chan: $(man -M "$root$prefix/share/man" -w 7 chan 2>&1)"
	[ "$(man -M "$root$prefix/share/man" -w 3 chan_send)" = "$root$prefix/share/man/man3/chan_send.3" ] ||
		fail "man -w 3 chan_send: $(man -M "$root$prefix/share/man" -w 3 chan_send 2>&1)"
}

# chanctl(1), next to the library's pages, renders without a warning.
t_man1() {
	local p=$prefix/share/man/man1/chanctl.1 out
	have $p || return 1
	cmp "$top/tools/chanctl.1" "$root$p" || return 1
	[ "$(man -M "$root$prefix/share/man" -w 1 chanctl)" = "$root$p" ] ||
		fail "man -w 1 chanctl: $(man -M "$root$prefix/share/man" -w 1 chanctl 2>&1)"
	out=$(groff -man -Tutf8 -ww -z "$root$p" 2>&1)
	[ -z "$out" ] || fail "groff -ww: $out"
}

# Where bash-completion loads it from on demand (with PREFIX=/usr:
# /usr/share/bash-completion/completions/chanctl); sourcing it makes
# `complete -p chanctl` name its function.
t_completion() {
	local f=$prefix/share/bash-completion/completions/chanctl out
	have $f || return 1
	cmp "$top/tools/chanctl.bash-completion" "$root$f" || return 1
	bash -n "$root$f" || fail "bash -n $f failed"
	out=$(bash -c 'source "$1" && complete -p chanctl' _ "$root$f") ||
		fail "sourcing $f: $out"
	[[ $out == "complete -F _chanctl chanctl" ]] || fail "complete -p chanctl: $out"
}

t_udev() {
	local r=/lib/udev/rules.d/60-kchan.rules
	have $r || return 1
	grep -Eq '^KERNEL=="chan",.*MODE="0666"' "$root$r" ||
		fail "$r has no KERNEL==\"chan\" ... MODE=\"0666\" rule"
}

# What `dkms add kchan/VERSION` reads, and every file the build needs:
# each object Kbuild names has its source, each local include is there.
t_dkms() {
	local conf=$srcdir/dkms.conf obj f inc rc=0
	have "$conf" "$srcdir/Kbuild" "$srcdir/uapi/linux/chan.h" || return 1
	grep -qx 'PACKAGE_NAME="kchan"' "$root$conf" || fail "dkms.conf: no PACKAGE_NAME=\"kchan\""
	grep -qx "PACKAGE_VERSION=\"$version\"" "$root$conf" ||
		fail "dkms.conf: PACKAGE_VERSION does not match the directory kchan-$version"
	grep -qx 'BUILT_MODULE_NAME\[0\]="chan"' "$root$conf" || fail "dkms.conf: no BUILT_MODULE_NAME[0]=\"chan\""
	grep -qx 'AUTOINSTALL="yes"' "$root$conf" || fail "dkms.conf: no AUTOINSTALL=\"yes\""
	grep -qx 'obj-m := chan.o' "$root$srcdir/Kbuild" || fail "Kbuild: no obj-m := chan.o"
	while read -r obj; do
		have "$srcdir/${obj%.o}.c" || rc=1
	done < <(grep -o 'kmod/[A-Za-z0-9_]*\.o' "$root$srcdir/Kbuild")
	for f in "$root$srcdir"/kmod/*.[ch]; do
		while read -r inc; do
			[ -f "$root$srcdir/kmod/$inc" ] || { echo "${f#"$root"}: includes missing \"$inc\""; rc=1; }
		done < <(sed -n 's/^#include "\(.*\)"/\1/p' "$f")
	done
	return $rc
}

t_uninstall() {
	make -C "$top" uninstall DESTDIR="$root" PREFIX="$prefix" >"$tmp/uninstall.log" 2>&1 ||
		{ cat "$tmp/uninstall.log"; return 1; }
}

t_nothing_left() {
	local left
	left=$(cd "$root" && find . \( -type f -o -type l \) -printf '%P\n')
	[ -z "$left" ] || fail "left after uninstall: $left"
	[ ! -e "$root$srcdir" ] || fail "left after uninstall: $srcdir/"
}

t_uninstall_again() {
	# Uninstalling twice is harmless (nothing to remove is not an error).
	make -C "$top" uninstall DESTDIR="$root" PREFIX="$prefix" >/dev/null 2>&1 ||
		fail "second make uninstall failed"
}

check "make install DESTDIR=... PREFIX=$prefix" t_install
check "install only copies: no module build" t_no_module_build
check "libchan.so.$libversion, its links and libchan.a in $prefix/lib" t_libs
check "chan.h and linux/chan.h in $prefix/include/kchan" t_headers
check "libchan.pc names prefix $prefix" t_pc
check "cc prog.c \$(pkg-config --cflags --libs libchan)" t_compile
check "the program links the installed libchan.so.1" t_links_installed
if [ -c /dev/chan ]; then
	check "the program sends and receives across fork" t_run
	check "installed chanctl create/send/recv/unlink" t_chanctl
else
	skip "the program sends and receives across fork" "no /dev/chan (run in the VM)"
	skip "installed chanctl create/send/recv/unlink" "no /dev/chan (run in the VM)"
fi
check "man pages (3, 7) installed, man -w 7 chan finds chan.7" t_man
check "chanctl(1) installed, man -w 1 chanctl finds it, groff -ww clean" t_man1
check "bash completion in $prefix/share/bash-completion/completions/chanctl" t_completion
check "udev rule /lib/udev/rules.d/60-kchan.rules" t_udev
check "dkms.conf and module sources in $srcdir" t_dkms
check "make uninstall DESTDIR=... PREFIX=$prefix" t_uninstall
check "nothing of ours left after uninstall" t_nothing_left
check "a second make uninstall succeeds" t_uninstall_again

tap_done
