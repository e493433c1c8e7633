# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# guest_modules.sh: make a scripts/vm-run guest look like a booted Debian
# system to kmod and DKMS, for autoload_test.sh and deb_test.sh (sourced).
#
# vm-run boots a kernel from the cache (scripts/kernels) with the host's
# root filesystem as a throwaway overlay and runs the command chrooted
# into it; so the guest has no /lib/modules/$(uname -r), and the kernel's
# usermode helper (request_module -> /sbin/modprobe) runs in the
# initramfs, outside that chroot. These functions fix both, inside the
# guest only:
#
#   gm_in_guest           true in a vm-run guest (refuse to touch a real
#                         machine's /lib/modules)
#   gm_have_kernel        the cache has the running kernel's modules
#   gm_setup              make /lib/modules/KVER where kmod looks: the
#                         cached kernel's module lists, no modules (depmod
#                         would decompress thousands under emulation, for
#                         minutes; vm-run loaded the few the guest needs),
#                         build -> its headers (where DKMS looks); and point
#                         kernel.modprobe at a helper that runs the root's
#                         /sbin/modprobe in our root
#   gm_teardown           undo gm_setup
#   gm_unload             rmmod chan if loaded (vm-run loads ./chan.ko)
#   gm_restore_module     reload the module vm-run had loaded, with its
#                         parameters and /dev/chan as vm-run left it, for
#                         the tests that run after this one
#
# Sets KVER, MODROOT (the cached kernel's root), KDIR (its headers).

gm_in_guest() {
	[ -f /run/vm-run/cmd.sh ] && [ "$(id -u)" -eq 0 ]
}

# The running kernel is one of scripts/kernels' (not --kernel, not the
# debug kernel, which have no module tree in the cache).
gm_have_kernel() {
	[ -d "$("$top/scripts/deps" cache)/kernels/$(uname -r)/root/lib/modules/$(uname -r)" ]
}

gm_setup() {
	local cache
	KVER=$(uname -r)
	cache=$("$top/scripts/deps" cache)
	MODROOT=$cache/kernels/$KVER/root
	KDIR=$MODROOT/usr/src/linux-headers-$KVER
	[ -d "$MODROOT/lib/modules/$KVER" ] ||
		{ echo "no modules for $KVER in $MODROOT (scripts/kernels)"; return 1; }
	gm_moddir=$(readlink -f /lib/modules)/$KVER
	gm_tmp=$(mktemp -d) || return 1
	cp "$MODROOT/lib/modules/$KVER"/modules.builtin* \
		"$MODROOT/lib/modules/$KVER"/modules.order "$gm_tmp/" || return 1
	# The package's build link is absolute (/usr/src/...): the headers are
	# in the cache here.
	[ ! -d "$KDIR" ] || ln -sfn "$KDIR" "$gm_tmp/build" || return 1
	mkdir -p "$gm_moddir" && mount --bind "$gm_tmp" "$gm_moddir" || return 1
	gm_mounted=1
	# The usermode helper's root is the initramfs's, where busybox is; from
	# there, run the real root's modprobe in the root this script runs in.
	gm_old_modprobe=$(cat /proc/sys/kernel/modprobe)
	gm_helper=/proc/1/root/kchan-modprobe-$$
	printf '#!/bin/sh\nexec chroot /proc/%s/root /sbin/modprobe "$@"\n' $$ >"$gm_helper" &&
		chmod 0755 "$gm_helper" || return 1
	echo "/kchan-modprobe-$$" >/proc/sys/kernel/modprobe
}

gm_teardown() {
	[ -z "${gm_old_modprobe:-}" ] || echo "$gm_old_modprobe" >/proc/sys/kernel/modprobe
	[ -z "${gm_helper:-}" ] || rm -f "$gm_helper"
	[ "${gm_mounted:-0}" = 0 ] || umount "$gm_moddir"
	gm_mounted=0
	[ -z "${gm_tmp:-}" ] || rm -rf "$gm_tmp"
}

gm_was_loaded=0
gm_unload() {
	if [ -d /sys/module/chan ]; then
		gm_was_loaded=1
		rmmod chan || return 1
	fi
	[ ! -d /sys/module/chan ]
}

gm_restore_module() {
	if [ -d /sys/module/chan ]; then
		rmmod chan || return 1
	fi
	# A node we made is not devtmpfs's: drop it, so that the module's own
	# (mode 0666) comes back, as vm-run left it.
	rm -f /dev/chan
	[ "$gm_was_loaded" = 1 ] && [ -n "${KCHAN_VM_MODULE_PATH:-}" ] || return 0
	# shellcheck disable=SC2086 # module parameters are words
	insmod "$KCHAN_VM_MODULE_PATH" ${KCHAN_VM_MODULE_ARGS:-} &&
		chmod 0666 /dev/chan
}
