#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dkms_test.sh: `make dkms-install KVER=<a 6.12 kernel>` builds and installs
# chan.ko through DKMS for a kernel other than the running one, and `make
# uninstall` takes it all away again. One TAP line per check.
#
# make dkms-install writes to /usr/local, /usr/src, /var/lib/dkms and
# /lib/modules, so the test runs them in a mount namespace of its own
# (unshare -m) with an empty tmpfs over each: the machine is left exactly
# as it was, and nothing is built under emulation (a DKMS build in a TCG
# guest takes minutes; here it takes seconds). Needs root. `make check-all`
# and `make check-kernels` run it as their "dkms" part (scripts/check-all),
# once per run. The kernel's headers come from the cache (scripts/kernels
# fetch NAME), linked where DKMS looks for them, /lib/modules/KVER/build.
#
# usage: selftests/dkms_test.sh [NAME]     NAME default 6.12

set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
name=${1:-6.12}

unset MAKEFLAGS MFLAGS MAKEOVERRIDES MAKELEVEL

NTESTS=8
. "$here/tap.sh"

bail() {
	echo "Bail out! $*"
	exit 1
}

[ "$(id -u)" -eq 0 ] || bail "needs root (a mount namespace of its own)"
command -v dkms >/dev/null || bail "dkms is not installed (scripts/deps installs it)"
if [ "${KCHAN_DKMS_TEST_NS:-0}" != 1 ]; then
	KCHAN_DKMS_TEST_NS=1 exec unshare -m --propagation private -- "$0" "$@"
	bail "unshare -m failed"
fi
tap_plan
for d in /usr/local /usr/src /var/lib/dkms /lib/modules; do
	mkdir -p "$d" && mount -t tmpfs -o mode=0755 kchan-dkms-test "$d" ||
		bail "cannot mount a tmpfs over $d in the test's mount namespace"
done

line=$("$top/scripts/kernels" path "$name") ||
	bail "kernel $name is not in the cache: scripts/kernels fetch $name on the host first"
for w in $line; do
	case "$w" in KVER=*) kver=${w#KVER=} ;; KDIR=*) kdir=${w#KDIR=} ;; esac
done
version=$(make -s --no-print-directory -C "$top" version)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# A kernel without headers: refused before anything is written.
t_no_headers() {
	local left
	if make -C "$top" dkms-install KVER=0.0.0-kchan-no-such-kernel >"$log" 2>&1; then
		echo "make dkms-install succeeded for a kernel without headers"; return 1
	fi
	grep -q 'no kernel headers for: 0.0.0-kchan-no-such-kernel (nothing was installed)' "$log" ||
		{ cat "$log"; return 1; }
	left=$(find /usr/local /usr/src /var/lib/dkms -mindepth 1 2>/dev/null | head)
	[ -z "$left" ] || { echo "left behind: $left"; return 1; }
	[ -z "$(dkms status kchan 2>/dev/null)" ] || { dkms status kchan; return 1; }
}

# ... and it names the kernels that do have headers.
t_lists_kernels() {
	make -C "$top" dkms-install KVER=0.0.0-kchan-no-such-kernel >"$log" 2>&1
	grep -A3 'kernels with headers here' "$log" | grep -qx "    $kver" || { cat "$log"; return 1; }
}

t_headers() {
	mkdir -p "/lib/modules/$kver" &&
		ln -sfn "$kdir" "/lib/modules/$kver/build" &&
		[ -f "/lib/modules/$kver/build/Makefile" ]
}

t_dkms_install() {
	make -C "$top" dkms-install KVER="$kver" >"$log" 2>&1 ||
		{ tail -n 40 "$log"; return 1; }
}

t_status() {
	local st
	st=$(dkms status "kchan/$version" -k "$kver" 2>&1)
	echo "$st"
	[[ $st == *"$kver"*installed* ]]
}

t_vermagic() {
	local ko magic
	ko=$(find "/lib/modules/$kver/updates/dkms" -name 'chan.ko*' | head -n 1)
	[ -n "$ko" ] || { echo "no chan.ko in /lib/modules/$kver/updates/dkms"; return 1; }
	magic=$(modinfo -F vermagic "$ko" | cut -d' ' -f1)
	[ "$magic" = "$kver" ] || { echo "vermagic '$magic', want '$kver'"; return 1; }
}

t_uninstall() {
	make -C "$top" uninstall >"$log" 2>&1 || { tail -n 20 "$log"; return 1; }
	[ -z "$(dkms status kchan 2>/dev/null)" ] || { dkms status kchan; return 1; }
	[ ! -e "/usr/src/kchan-$version" ] || { echo "/usr/src/kchan-$version is left"; return 1; }
	[ -z "$(find "/lib/modules/$kver" -name 'chan.ko*')" ] ||
		{ echo "chan.ko left in /lib/modules/$kver"; return 1; }
}

# install ran ldconfig, so uninstall must too: no stale libchan entry.
t_ldconfig() {
	! ldconfig -p | grep libchan
}

check "make dkms-install for a kernel without headers fails, leaves nothing" t_no_headers
check "headers of $name ($kver) where DKMS looks" t_headers
check "make dkms-install lists the kernels with headers ($kver)" t_lists_kernels
check "make dkms-install KVER=$kver" t_dkms_install
check "dkms status: kchan/$version installed for $kver" t_status
check "the installed chan.ko is for $kver (vermagic)" t_vermagic
check "make uninstall removes the DKMS build and sources" t_uninstall
check "make uninstall leaves no libchan in ldconfig's cache" t_ldconfig
tap_done
