#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# deb_test.sh: the Debian packages (scripts/debs) install, work and purge
# cleanly. One TAP line per check.
#
# In the guest of scripts/vm-run (the host's root as a throwaway overlay,
# so dpkg, DKMS and /lib/modules change only there): unload the chan.ko
# vm-run loaded, make /lib/modules/KVER as a booted system has it
# (guest_modules.sh), `dpkg -i` kchan-dkms, libchan1, libchan-dev and
# chanctl (kchan-dkms's postinst has DKMS build chan.ko for the running
# kernel), modprobe chan (DKMS's build), build a program with pkg-config
# against the installed libchan-dev and run it, use the installed chanctl
# and man pages; then `dpkg --purge` them all and check that nothing is
# left: no file of the packages, no DKMS tree or build, nothing in
# ldconfig's cache. Finally it puts back the module vm-run had loaded.
#
# The packages come from `scripts/debs path` (built for this source state
# by `make debs`, which `make check` runs first); without them the test is
# skipped. By hand: make debs && scripts/vm-run --kver 6.12 -- selftests/deb_test.sh

set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
unset MAKEFLAGS MFLAGS MAKEOVERRIDES MAKELEVEL
unset PKG_CONFIG_PATH PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR LD_LIBRARY_PATH
export DEBIAN_FRONTEND=noninteractive

NTESTS=12
. "$here/tap.sh"
. "$here/guest_modules.sh"
tap_plan

pkgs=(kchan-dkms libchan1 libchan-dev chanctl)
version=$(cat "$top/VERSION")

skip_all() {
	local i
	for i in $(seq $NTESTS); do skip "deb check $i" "$1"; done
	tap_done
	exit 4	# kselftest: skip
}
[ "${KCHAN_SKIP_DEB_TEST:-0}" = 1 ] &&
	skip_all "KCHAN_SKIP_DEB_TEST=1 (scripts/check-all runs it in its 6.12 part only: it takes minutes)"
gm_in_guest || skip_all "not in a scripts/vm-run guest as root"
gm_have_kernel || skip_all "kernel $(uname -r) is not one of scripts/kernels' (no modules, headers)"
debs=$("$top/scripts/debs" path 2>/dev/null) || skip_all "no packages for this source state (make debs)"
[ -n "$(dpkg-query -W -f='${db:Status-Status}' "${pkgs[@]}" 2>/dev/null | grep -v not-installed)" ] &&
	skip_all "kchan packages are installed on this machine already"

tmp=$(mktemp -d)
cleanup() {
	[ -d /sys/module/chan ] && rmmod chan
	dpkg --purge "${pkgs[@]}" >/dev/null 2>&1
	gm_restore_module
	gm_teardown
	rm -rf "$tmp"
	[ "$gm_was_loaded" = 0 ] || [ -d /sys/module/chan ] ||
		echo "# deb_test: could not reload $KCHAN_VM_MODULE_PATH"
}
trap cleanup EXIT

exec 3>&1	# progress lines from inside the checks
# Not in a check: those run in subshells, and cleanup needs the state.
gm_unload >"$tmp/unload.log" 2>&1
unload_rc=$?
gm_setup >"$tmp/setup.log" 2>&1
setup_rc=$?

t_setup() {
	[ $unload_rc -eq 0 ] || { cat "$tmp/unload.log"; echo "rmmod chan failed"; return 1; }
	[ $setup_rc -eq 0 ] || { cat "$tmp/setup.log"; return 1; }
	[ -f "/lib/modules/$KVER/build/Makefile" ] || { echo "no headers for $KVER in $KDIR"; return 1; }
}

t_install() {
	local p files=()
	for p in "${pkgs[@]}"; do
		files+=("$(ls "$debs/${p}_${version}_"*.deb)") || return 1
	done
	# Not man-db's index of every page on the machine (minutes under
	# emulation; man finds the pages without it).
	echo 'man-db man-db/auto-update boolean false' | debconf-set-selections
	echo "dpkg -i ${files[*]##*/}"
	# Streamed (as TAP comments): DKMS's build takes minutes under emulation.
	dpkg -i "${files[@]}" 2>&1 | tee "$tmp/dpkg.log" | sed 's/^/# /' >&3
	[ "${PIPESTATUS[0]}" -eq 0 ] || { tail -n 40 "$tmp/dpkg.log"; return 1; }
	for p in "${pkgs[@]}"; do
		dpkg -L "$p" >>"$tmp/files" || return 1
	done
}

t_dkms() {
	local st
	st=$(dkms status "kchan/$version" -k "$KVER" 2>&1)
	[[ $st == *installed* ]] || { echo "dkms status: $st"; tail -n 30 "$tmp/dpkg.log"; return 1; }
	ls "/lib/modules/$KVER/updates/dkms/"chan.ko*
}

t_modprobe() {
	local path
	modprobe chan || return 1
	[ "$(cat /sys/module/chan/version)" = "$version" ] ||
		{ echo "loaded chan is version $(cat /sys/module/chan/version), want $version"; return 1; }
	path=$(modinfo -n chan) || return 1
	[[ $path == "/lib/modules/$KVER/updates/dkms/chan.ko"* ]] || { echo "modprobe took $path"; return 1; }
	[ "$(cat /sys/module/chan/srcversion)" = "$(modinfo -F srcversion "$path")" ] &&
		[ -c /dev/chan ]
}

t_program() {
	local flags out
	flags=$(pkg-config --cflags --libs libchan) || return 1
	echo "cc libchan_prog.c $flags"
	# shellcheck disable=SC2086
	cc -std=c11 -Wall -Wextra -Werror -o "$tmp/prog" "$here/libchan_prog.c" $flags || return 1
	ldd "$tmp/prog" | grep -Eq "libchan\.so\.1 => (/usr)?/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/libchan\.so\.1 " ||
		{ ldd "$tmp/prog"; return 1; }
	out=$("$tmp/prog") || { echo "$out"; return 1; }
	[ "$out" = "received 100 values, sum 5050" ] || { echo "prog said: $out"; return 1; }
}

# The README's program, as the README builds it.
t_hello() {
	local out
	diff <(readme_block c) <(sed -n '/^#include <chan.h>/,$p' "$top/examples/hello.c") ||
		{ echo "README.md's program is not examples/hello.c"; return 1; }
	cc -o "$tmp/hello" "$top/examples/hello.c" $(pkg-config --cflags --libs libchan) || return 1
	out=$("$tmp/hello") || { echo "$out"; return 1; }
	[ "$out" = "$(printf 'got 1\ngot 2\ngot 3')" ] || { echo "hello said: $out"; return 1; }
}

t_chanctl() {
	local name=deb_test_$$
	[ "$(command -v chanctl)" = /usr/bin/chanctl ] || return 1
	chanctl create "$name" && chanctl unlink "$name"
}

t_files() {
	[ "$(man -w 7 chan)" = /usr/share/man/man7/chan.7.gz ] || { man -w 7 chan; return 1; }
	man -w 3 chan_tryrecv && man 3 chan_tryrecv 2>/dev/null | grep -q chan_tryrecv || return 1
	grep -qx chan /usr/lib/modules-load.d/kchan.conf || return 1
	grep -q '^KERNEL=="chan"' /lib/udev/rules.d/60-kchan.rules /usr/lib/udev/rules.d/60-kchan.rules 2>/dev/null
}

t_purge() {
	rmmod chan || return 1
	dpkg --purge "${pkgs[@]}" >"$tmp/purge.log" 2>&1 || { tail -n 30 "$tmp/purge.log"; return 1; }
	dpkg-query -W -f='${db:Status-Status}\n' "${pkgs[@]}" 2>/dev/null | grep -v not-installed && return 1
	return 0
}

t_nothing_left() {
	local f rc=0
	while read -r f; do
		[ -d "$f" ] && continue	# shared directories (/lib is a link to usr/lib)
		if [ -e "$f" ] || [ -L "$f" ]; then echo "left: $f"; rc=1; fi
	done <"$tmp/files"
	for f in /usr/src/kchan-"$version" /var/lib/dkms/kchan /usr/include/kchan; do
		[ ! -e "$f" ] || { echo "left: $f"; rc=1; }
	done
	[ -z "$(find "/lib/modules/$KVER" -name 'chan.ko*')" ] ||
		{ echo "left: $(find "/lib/modules/$KVER" -name 'chan.ko*')"; rc=1; }
	[ -z "$(dkms status kchan 2>/dev/null)" ] || { dkms status kchan; rc=1; }
	! ldconfig -p | grep libchan || rc=1
	return $rc
}

t_no_autoload_left() {
	! modprobe -n chan 2>/dev/null || { echo "modprobe still finds chan"; return 1; }
	! grep -q '^chan ' "/lib/modules/$KVER/modules.devname"
}

check "the guest looks booted: chan unloaded, /lib/modules/KVER with headers" t_setup
check "dpkg -i ${pkgs[*]} ($version)" t_install
check "DKMS built and installed chan.ko for $(uname -r)" t_dkms
check "modprobe chan loads DKMS's chan.ko $version, /dev/chan is there" t_modprobe
check "cc \$(pkg-config --cflags --libs libchan) against libchan-dev, run" t_program
check "README: cc hello.c -o hello \$(pkg-config --cflags --libs libchan) && ./hello" t_hello
check "the installed chanctl creates and unlinks a channel" t_chanctl
check "man 7 chan, man 3 chan_tryrecv, modules-load.d, udev rule" t_files
check "dpkg --purge ${pkgs[*]}" t_purge
check "nothing of the packages left (files, DKMS, ldconfig cache)" t_nothing_left
check "modprobe and modules.devname no longer know chan" t_no_autoload_left
check "chan unloads" test ! -d /sys/module/chan
tap_done
