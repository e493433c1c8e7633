#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# version_test.sh: kchan has one version, written once in VERSION, and
# every place that shows one agrees with it: `make version`, dkms.conf as
# installed, the module (modinfo, and /sys/module/chan/version when
# loaded), libchan's file name, SONAME and pkg-config file, the man
# pages' headers, chanctl --version, and debian/changelog (the .debs). One
# TAP line per check. Runs anywhere (make check runs it in the VM); writes
# only below a mktemp directory. Needs the tree built (`make`).

set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
unset MAKEFLAGS MFLAGS MAKEOVERRIDES MAKELEVEL
unset PKG_CONFIG_PATH

NTESTS=9
. "$here/tap.sh"
tap_plan

v=$(cat "$top/VERSION")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root

t_format() {
	[[ $v =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "VERSION holds '$v', want MAJOR.MINOR.PATCH"; return 1; }
	[ "$(wc -l <"$top/VERSION")" -eq 1 ]
}

t_make_version() {
	local m
	m=$(make -s --no-print-directory -C "$top" version)
	[ "$m" = "$v" ] || { echo "make version: $m"; return 1; }
}

t_dkms_conf() {
	grep -qx 'PACKAGE_VERSION="#MODULE_VERSION#"' "$top/dkms.conf" ||
		{ echo "dkms.conf writes its own version: $(grep PACKAGE_VERSION "$top/dkms.conf")"; return 1; }
	make -s --no-print-directory -C "$top" install-dkms-src DESTDIR="$root" >/dev/null || return 1
	grep -qx "PACKAGE_VERSION=\"$v\"" "$root/usr/src/kchan-$v/dkms.conf" ||
		{ grep PACKAGE_VERSION "$root"/usr/src/kchan-*/dkms.conf; return 1; }
}

t_module() {
	local ko=${KCHAN_VM_MODULE_PATH:-$top/chan.ko} m
	[ -f "$ko" ] || { echo "no $ko (make)"; return 1; }
	m=$(modinfo -F version "$ko")
	[ "$m" = "$v" ] || { echo "modinfo -F version $ko: '$m'"; return 1; }
	if [ -d /sys/module/chan ]; then
		m=$(cat /sys/module/chan/version)
		[ "$m" = "$v" ] || { echo "/sys/module/chan/version: '$m'"; return 1; }
	fi
}

t_libchan() {
	local major=${v%%.*} so
	make -s --no-print-directory -C "$top/userlib" install DESTDIR="$root" PREFIX=/usr >/dev/null || return 1
	[ -f "$root/usr/lib/libchan.so.$v" ] || { ls "$root/usr/lib"; return 1; }
	so=$(readelf -d "$root/usr/lib/libchan.so.$v" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
	[ "$so" = "libchan.so.$major" ] || { echo "SONAME $so, want libchan.so.$major"; return 1; }
	grep -qx "Package: libchan$major" "$top/debian/control" ||
		{ echo "debian/control has no libchan$major for SONAME $so"; return 1; }
	m=$(PKG_CONFIG_LIBDIR=$root/usr/lib/pkgconfig pkg-config --modversion libchan)
	[ "$m" = "$v" ] || { echo "pkg-config --modversion libchan: $m"; return 1; }
}

t_man() {
	local bad
	bad=$(grep -L "^\.TH .*\"libchan $v\"" "$root"/usr/share/man/man[37]/*.[37])
	[ -z "$bad" ] || { echo "man pages not saying libchan $v: $bad"; return 1; }
}

t_chanctl() {
	local out
	out=$("$top/tools/chanctl" --version 2>&1) || { echo "$out"; return 1; }
	[[ $out == *"$v"* ]] || { echo "chanctl --version: $out"; return 1; }
}

t_changelog() {
	local d
	d=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version) || return 1
	[ "$d" = "$v" ] || { echo "debian/changelog: $d (native package: want $v)"; return 1; }
}

t_debs() {
	local d f p
	d=$("$top/scripts/debs" path 2>/dev/null) || return 0
	for f in "$d"/*.deb; do
		p=$(dpkg-deb -f "$f" Version)
		[ "$p" = "$v" ] || { echo "$(basename "$f"): $p"; return 1; }
	done
}

check "VERSION is MAJOR.MINOR.PATCH ($v)" t_format
check "make version" t_make_version
check "dkms.conf as installed: PACKAGE_VERSION=\"$v\"" t_dkms_conf
check "chan.ko: modinfo -F version, /sys/module/chan/version" t_module
check "libchan.so.$v, SONAME libchan.so.${v%%.*} (package libchan${v%%.*}), pkg-config" t_libchan
check "man pages: .TH says libchan $v" t_man
if "$top/tools/chanctl" --version 2>&1 | grep -q 'unknown command'; then
	skip "chanctl --version" "this chanctl has no --version yet (issue 17, item 5)"
else
	check "chanctl --version" t_chanctl
fi
check "debian/changelog" t_changelog
check "the built .debs (scripts/debs path), if any" t_debs
tap_done
