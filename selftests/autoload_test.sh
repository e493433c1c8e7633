#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# autoload_test.sh: /dev/chan exists before the module is loaded and
# opening it loads the module, as /dev/fuse and /dev/loop-control do. One
# TAP line per check.
#
# chan.ko registers the fixed misc minor 246 and carries the aliases
# devname:chan and char-major-10-246. On a booted system: depmod writes
# the devname alias to modules.devname; at boot `kmod static-nodes`
# (systemd-tmpfiles-setup-dev.service) turns that into a tmpfiles line and
# systemd-tmpfiles creates /dev/chan; the first open() finds no driver for
# 10:246 and the kernel runs modprobe char-major-10-246. This test
# reproduces that from a state where the module is not loaded: it
# unloads the module vm-run loaded, installs the same chan.ko under
# /lib/modules/KVER/extra, runs depmod, makes the node from `kmod
# static-nodes`' output with systemd-tmpfiles (mknod where that is
# missing), opens it, and checks the module came; then unloads it and
# checks the node stays and a second open loads it again. Finally it puts
# back the module vm-run had loaded.
#
# Only in a scripts/vm-run guest (it writes /lib/modules and /dev): run by
# `make check` (TEST_PROGS), or by hand, e.g.
#   scripts/vm-run --kver 6.1 -- selftests/autoload_test.sh
#   KCHAN_MODULE=none scripts/vm-run -- selftests/autoload_test.sh

set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
unset MAKEFLAGS MFLAGS MAKEOVERRIDES MAKELEVEL

NTESTS=9
. "$here/tap.sh"
. "$here/guest_modules.sh"
tap_plan

minor=246
version=$(cat "$top/VERSION")
tmp=$(mktemp -d)

if ! gm_in_guest; then
	for i in $(seq $NTESTS); do skip "autoload check $i" "not in a scripts/vm-run guest as root"; done
	tap_done
	exit 4	# kselftest: skip
fi
if ! gm_have_kernel; then
	for i in $(seq $NTESTS); do skip "autoload check $i" "kernel $(uname -r) is not one of scripts/kernels' (no module tree)"; done
	tap_done
	exit 4
fi
module=${KCHAN_VM_MODULE_PATH:-$top/chan.ko}
if [ ! -f "$module" ] || [ "$(modinfo -F vermagic "$module" | cut -d' ' -f1)" != "$(uname -r)" ]; then
	for i in $(seq $NTESTS); do skip "autoload check $i" "no chan.ko for $(uname -r) (make)"; done
	tap_done
	exit 4
fi

cleanup() {
	gm_restore_module
	rm -f "${gm_moddir:-/nonexistent}/extra/chan.ko"
	gm_teardown
	rm -rf "$tmp"
	# Left as vm-run had it (its rmmod check at the end needs chan).
	[ "$gm_was_loaded" = 0 ] || [ -d /sys/module/chan ] ||
		echo "# autoload_test: could not reload $KCHAN_VM_MODULE_PATH"
}
trap cleanup EXIT

loaded() { [ -d /sys/module/chan ]; }

# Not in a check: those run in subshells, and cleanup needs the state.
gm_unload >"$tmp/unload.log" 2>&1
unload_rc=$?
gm_setup >"$tmp/setup.log" 2>&1
setup_rc=$?

t_unloaded() {
	[ $unload_rc -eq 0 ] || { cat "$tmp/unload.log"; echo "rmmod chan failed"; return 1; }
	rm -f /dev/chan
	! loaded && [ ! -e /dev/chan ]
}

# The README's program says what is missing, and fails.
t_hello_hint() {
	local out
	[ -x "$top/examples/hello" ] || { echo "no examples/hello (make)"; return 1; }
	if out=$("$top/examples/hello" 2>&1); then
		echo "examples/hello exited 0 without /dev/chan: $out"; return 1
	fi
	[[ $out == *"is the module loaded? modprobe chan"* ]] || { echo "examples/hello said: $out"; return 1; }
}

t_depmod() {
	[ $setup_rc -eq 0 ] || { cat "$tmp/setup.log"; return 1; }
	install -D -m 0644 "$module" "$gm_moddir/extra/chan.ko" &&
		depmod "$KVER" || return 1
	grep -x "chan chan c10:$minor" "$gm_moddir/modules.devname" ||
		{ echo "modules.devname:"; grep chan "$gm_moddir/modules.devname"; return 1; }
	modinfo -F alias "$gm_moddir/extra/chan.ko" | grep -x "char-major-10-$minor"
}

# What systemd-tmpfiles-setup-dev does at boot.
t_static_node() {
	local st
	kmod static-nodes --format=tmpfiles --output="$tmp/static-nodes.conf" || return 1
	grep -E "^c! /dev/chan [0-7]+ - - - 10:$minor\$" "$tmp/static-nodes.conf" ||
		{ cat "$tmp/static-nodes.conf"; return 1; }
	grep '/dev/chan ' "$tmp/static-nodes.conf" >"$tmp/chan.conf"
	if command -v systemd-tmpfiles >/dev/null; then
		systemd-tmpfiles --create --boot "$tmp/chan.conf" || return 1
	else
		mknod -m 0600 /dev/chan c 10 $minor || return 1
	fi
	st=$(stat -c '%F %t:%T' /dev/chan) || return 1
	[ "$st" = "character special file a:$(printf %x $minor)" ] || { echo "/dev/chan: $st"; return 1; }
	! loaded || { echo "chan was loaded by making the node"; return 1; }
}

t_open_loads() {
	! loaded || { echo "chan already loaded"; return 1; }
	exec 3<>/dev/chan || { echo "open /dev/chan failed"; return 1; }
	exec 3<&-
	loaded || { echo "open /dev/chan did not load chan"; return 1; }
}

t_loaded_from_modules() {
	[ "$(cat /sys/module/chan/version)" = "$version" ] ||
		{ echo "/sys/module/chan/version: $(cat /sys/module/chan/version), want $version"; return 1; }
	[ "$(cat /sys/module/chan/srcversion)" = "$(modinfo -F srcversion "$gm_moddir/extra/chan.ko")" ]
}

t_rmmod_keeps_node() {
	rmmod chan || return 1
	! loaded && [ -c /dev/chan ] || { ls -l /dev/chan; return 1; }
}

t_open_again() {
	exec 3<>/dev/chan || { echo "open /dev/chan failed"; return 1; }
	exec 3<&-
	loaded
}

# A program that knows nothing of modules: chanctl opens /dev/chan.
t_chanctl() {
	local name=autoload_test_$$
	rmmod chan || return 1
	"$top/tools/chanctl" create "$name" || return 1
	loaded || { echo "chanctl create worked, yet chan is not loaded?"; return 1; }
	"$top/tools/chanctl" unlink "$name"
}

check "chan unloaded, no /dev/chan" t_unloaded
check "examples/hello (the README's program) fails: is the module loaded? modprobe chan" t_hello_hint
check "depmod: modules.devname has chan c10:$minor, alias char-major-10-$minor" t_depmod
check "kmod static-nodes + tmpfiles make /dev/chan (10:$minor) without loading chan" t_static_node
check "opening /dev/chan loads chan" t_open_loads
check "the module loaded is /lib/modules/$(uname -r)/extra/chan.ko, version $version" t_loaded_from_modules
check "after rmmod, /dev/chan stays" t_rmmod_keeps_node
check "opening it again loads chan again" t_open_again
check "chanctl create (an open of /dev/chan) loads chan" t_chanctl
tap_done
