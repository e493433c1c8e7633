# SPDX-License-Identifier: GPL-2.0
#
# kchan top level. The module's own build file is ./Kbuild (kbuild reads it
# in preference to this Makefile).
#
#   make              deps check, chan.ko, libchan, selftests, examples, demo,
#                     bindings (Python's generated constants, Rust's tests,
#                     the Go binding's test binary if go is there)
#   make check        all of that, then the selftests in a VM (KTAP);
#                     last line: "N passed, N failed"
#   make check KVER=6.12   the same on another kernel of the matrix (6.1,
#                     6.1-rt, 6.12, 6.12-rt: scripts/kernels); module,
#                     headers and guest kernel all of that version
#   make check-kernels  build (W=1, sparse) and run the selftests on every
#                     kernel of the matrix; a line per kernel and a total
#   make check-debug  the same under the debug kernel (KASAN, lockdep, ...)
#   make check-bridge kchan-bridge across three VMs through NATS JetStream
#                     (KVER=..., BRIDGE_COUNT=N records, default 3000)
#   make check-all    what CI runs: the matrix, the debug kernel, the model
#   make model        the commit protocol's Promela model, checked by spin
#   make demo         build, boot a VM, run examples/demo
#   make bench        build, then the benchmarks (make -C bench run)
#   make checkpatch   scripts/checkpatch.pl on the module and uapi header
#   make sparse       the module with C=2 (sparse on every file)
#   make W=1 / C=1    passed through to the module build
#   make clean
#
#   make install      libchan (.so, .a, libchan.pc, chan.h and linux/chan.h
#                     in include/kchan), man pages (3, 7), chanctl with
#                     chanctl(1) and its bash completion; the module's
#                     sources and dkms.conf in /usr/src/kchan-VERSION; the
#                     udev rule; the bindings (install-bindings: the Python
#                     package in dist-packages, the Rust crate's source in
#                     share/cargo/registry, the Go source in
#                     /usr/share/gocode/src/kchan.dev/kchan). Only copies (builds libchan and chanctl if
#                     needed, never the module). PREFIX=/usr/local, DESTDIR
#                     honoured; /usr/src and UDEVRULESDIR=/lib/udev/rules.d
#                     are where dkms and udev look, whatever PREFIX is
#   make uninstall    removes what install put there (and, with no
#                     DESTDIR, kchan/VERSION from dkms if it was added);
#                     runs ldconfig (as root, no DESTDIR), as install does
#   make dkms-install checks root, dkms and the headers of each kernel in
#                     KVER (default: the running kernel; it lists those that
#                     have headers) before touching anything; then install,
#                     dkms add and install; on failure removes what it added
#   make dkms-uninstall  dkms remove kchan/VERSION --all
#   make debs         the Debian packages (scripts/debs; cached by source)
#   make version      kchan's version (the file VERSION)
#
# KVER names the kernel (default: 6.1 on Debian 12, 6.12 on Debian 13); KDIR
# (its headers) is fetched into the cache by scripts/kernels, never
# installed (scripts/deps kdir); KSFT_SRC is the extracted kselftest tree
# (scripts/deps src). Both are computed on first use, after the deps check
# has had a chance to install what they need.
#
# OUTPUT is passed to selftests/ explicitly: lib.mk only defaults it to the
# current directory in a top-level make, and would otherwise write the test
# programs to /.

SHELL := /bin/bash

# Lazy, computed once: only when a recipe needs them.
KDIR ?= $(eval KDIR := $(shell scripts/deps kdir $(KVER)))$(KDIR)
KSFT_SRC ?= $(eval KSFT_SRC := $(shell scripts/deps src))$(KSFT_SRC)
KCHAN_CACHE ?= $(HOME)/.cache/kchan

CC ?= cc
DEMO_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror -Iuapi

.PHONY: all deps module userlib selftests examples tools bindings demo check check-debug check-all \
	check-kernels model checkpatch sparse clean help module-for bench \
	install install-lib install-dkms-src install-udev install-bindings uninstall \
	dkms-install dkms-uninstall version debs \
	.run-check .run-check-debug .run-check-all .run-check-kernels \
	check-bridge .run-check-bridge

all: module userlib selftests examples examples/demo tools bindings

deps:
	@scripts/deps check

module: deps
	@test -n "$(KDIR)" || { echo "make: no kernel headers found (KDIR)" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

userlib: deps
	@if [ -f userlib/Makefile ]; then $(MAKE) -C userlib; fi

selftests: deps userlib
	@if [ -f selftests/Makefile ]; then \
		$(MAKE) -C selftests KSFT_SRC=$(KSFT_SRC) OUTPUT=$(CURDIR)/selftests; fi

tools: deps
	@if [ -f tools/Makefile ]; then $(MAKE) -C tools; fi

# Python and Rust (bindings/Makefile): constants from uapi/linux/chan.h,
# the Rust test binaries that selftests/rust_test.sh runs in the VM; the Go
# binding's test binary, which selftests/go_test.sh runs.
bindings: deps
	@if [ -f bindings/Makefile ]; then $(MAKE) -C bindings; fi
	@if command -v go >/dev/null; then $(MAKE) -C bindings/go; \
	else echo "make: go not found: not building the Go binding (apt-get install golang-go)"; fi

examples: deps userlib
	@if [ -f examples/Makefile ]; then $(MAKE) -C examples; fi

# After examples/, whose Makefile may build demo too (no parallel writers).
examples/demo: examples/demo.c uapi/linux/chan.h | deps examples
	$(CC) $(DEMO_CFLAGS) -o $@ examples/demo.c

demo: module examples/demo
	scripts/vm-run $(if $(KVER),--kver $(KVER)) -- examples/demo

# The summary's "N passed, N failed" must stay the last line of output, so
# on failure a top-level make leaves through SIGPIPE (exit status 141),
# which the shell does not report, instead of printing its
# "*** [check] Error 1" after it. Make 4.4 (Debian 13) catches SIGPIPE and,
# while a recipe runs, still prints "*** Waiting for unfinished jobs" and
# that error before dying; so the tests run in a prerequisite (.run-check,
# ...), which at the top level notes a failure in CHECK_FAILED and exits 0,
# and the target itself then sends the signal from a $(shell): make has no
# job running to wait for or report.
KCHAN_MAKE_PID = $(eval KCHAN_MAKE_PID := $(shell echo $$PPID))$(KCHAN_MAKE_PID)
CHECK_FAILED = $(or $(TMPDIR),/tmp)/kchan-check-failed.$(KCHAN_MAKE_PID)
define run_check
	@KSFT_SRC=$(KSFT_SRC) scripts/$(or $(2),check) $(1); rc=$$?; \
	if [ $$rc -ne 0 ] && [ "$(MAKELEVEL)" = 0 ]; then : >'$(CHECK_FAILED)'; exit 0; fi; \
	exit $$rc
endef
leave_if_failed = $(if $(shell rm '$(CHECK_FAILED)' 2>/dev/null && echo failed),\
	$(shell kill -PIPE $$PPID; exec sleep 1 </dev/null >/dev/null 2>&1))

check check-debug check-all check-kernels check-bridge: %: .run-%
	@:$(leave_if_failed)

.run-check: all debs
	$(call run_check,$(if $(KVER),--kver $(KVER)))

bench: module userlib
	@if [ -f bench/Makefile ]; then $(MAKE) -C bench run; \
	else echo "make bench: bench/ is not there yet" >&2; exit 1; fi

.run-check-debug: all debs
	$(call run_check,--debug-kernel)

.run-check-all: all debs
	$(call run_check,,check-all)

.run-check-kernels: all debs
	$(call run_check,,check-kernels)

.run-check-bridge: all
	$(call run_check,$(if $(KVER),--kver $(KVER)) $(BRIDGE_COUNT),check-bridge)

model:
	$(MAKE) -C model

# The .deb packages (debian/), built once per source state and cached:
# scripts/debs prints their directory. selftests/deb_test.sh installs them
# in the VM, so make check builds them first.
debs:
	@scripts/debs build

# chan.ko for another kernel tree (another kernel of the matrix, the debug
# kernel), built in a copy of the sources outside the clone so ./chan.ko is
# left alone (one copy per clone and kernel). Prints the path of the module
# last. MODULE_FLAGS: W=1 C=1...
# Used by scripts/vm-run --debug-kernel and scripts/check-kernels.
OTHER_MODULE_DIR = $(KCHAN_CACHE)/module/$(shell printf '%s %s' '$(CURDIR)' '$(MODULE_KDIR)' | sha256sum | cut -c1-12)
module-for:
	@test -n "$(MODULE_KDIR)" || { echo "make module-for: set MODULE_KDIR=<kernel tree>" >&2; exit 1; }
	@set -e; d='$(OTHER_MODULE_DIR)'; mkdir -p "$$d"; \
	for f in Kbuild VERSION $(wildcard kmod/*.[ch] uapi/linux/*.h); do \
		mkdir -p "$$d/$$(dirname $$f)"; \
		cmp -s "$$f" "$$d/$$f" || cp "$$f" "$$d/$$f"; \
	done; \
	$(MAKE) -C '$(MODULE_KDIR)' M="$$d" $(MODULE_FLAGS) modules >&2; \
	echo "$$d/chan.ko"

# Installing. kchan's version is written once, in VERSION: dkms.conf's
# #MODULE_VERSION#, the module's MODULE_VERSION (Kbuild), libchan's
# version and pkg-config file (userlib/Makefile), chanctl --version
# (tools/Makefile) and debian/changelog all come from it
# (selftests/version_test.sh checks that they agree).
KCHAN_VERSION := $(strip $(file <VERSION))
PREFIX ?= /usr/local
DESTDIR ?=
INSTALL ?= install
DKMS_SRCDIR ?= /usr/src/kchan-$(KCHAN_VERSION)
UDEVRULESDIR ?= /lib/udev/rules.d
UDEV_RULES := udev/60-kchan.rules
# What dkms needs to build chan.ko with the top-level Kbuild (dkms.conf is
# installed apart: its version filled in).
MODULE_SRCS := VERSION Kbuild $(sort $(wildcard kmod/*.c kmod/*.h)) uapi/linux/chan.h
SUBMAKE_INSTALL = PREFIX='$(PREFIX)' DESTDIR='$(DESTDIR)'
# The kernels dkms-install builds for: KVER (several, space-separated), or
# the running one.
DKMS_KVERS = $(or $(KVER),$(shell uname -r))

version:
	@echo $(KCHAN_VERSION)

install: install-lib install-dkms-src install-udev install-bindings

install-lib:
	$(MAKE) -C userlib install $(SUBMAKE_INSTALL)
	$(MAKE) -C tools install $(SUBMAKE_INSTALL)

# The bindings (not in the .debs of debian/ yet: stanzas for their packages
# are there, commented out).
install-bindings:
	$(MAKE) -C bindings install $(SUBMAKE_INSTALL)
	$(MAKE) -C bindings/go install DESTDIR='$(DESTDIR)'

# The module's sources and dkms.conf, as dkms add and the Debian package
# (debian/rules) want them.
install-dkms-src:
	@test -n "$(KCHAN_VERSION)" || { echo "make install: VERSION is empty" >&2; exit 1; }
	$(INSTALL) -d $(sort $(dir $(addprefix $(DESTDIR)$(DKMS_SRCDIR)/,$(MODULE_SRCS))))
	@set -e; for f in $(MODULE_SRCS); do \
		echo "$(INSTALL) -m 0644 $$f $(DESTDIR)$(DKMS_SRCDIR)/$$f"; \
		$(INSTALL) -m 0644 $$f '$(DESTDIR)$(DKMS_SRCDIR)'/$$f; \
	done
	sed 's/#MODULE_VERSION#/$(KCHAN_VERSION)/' dkms.conf >'$(DESTDIR)$(DKMS_SRCDIR)/dkms.conf'
	chmod 0644 '$(DESTDIR)$(DKMS_SRCDIR)/dkms.conf'

install-udev:
	$(INSTALL) -d $(DESTDIR)$(UDEVRULESDIR)
	$(INSTALL) -m 0644 $(UDEV_RULES) $(DESTDIR)$(UDEVRULESDIR)/
	@if [ -z "$(DESTDIR)" ] && [ -S /run/udev/control ] && command -v udevadm >/dev/null; then \
		udevadm control --reload || true; fi

uninstall:
	@if [ -z "$(DESTDIR)" ] && command -v dkms >/dev/null && \
	    [ -n "$$(dkms status kchan/$(KCHAN_VERSION) 2>/dev/null)" ]; then \
		echo "dkms remove kchan/$(KCHAN_VERSION) --all"; \
		dkms remove kchan/$(KCHAN_VERSION) --all; fi
	$(MAKE) -C userlib uninstall $(SUBMAKE_INSTALL)
	$(MAKE) -C tools uninstall $(SUBMAKE_INSTALL)
	$(MAKE) -C bindings uninstall $(SUBMAKE_INSTALL)
	$(MAKE) -C bindings/go uninstall DESTDIR='$(DESTDIR)'
	rm -f $(addprefix $(DESTDIR)$(DKMS_SRCDIR)/,$(MODULE_SRCS) dkms.conf)
	-rmdir $(DESTDIR)$(DKMS_SRCDIR)/kmod $(DESTDIR)$(DKMS_SRCDIR)/uapi/linux \
		$(DESTDIR)$(DKMS_SRCDIR)/uapi $(DESTDIR)$(DKMS_SRCDIR) 2>/dev/null || true
	rm -f $(addprefix $(DESTDIR)$(UDEVRULESDIR)/,$(notdir $(UDEV_RULES)))

# dkms itself only on the live system: it builds for and installs into
# /lib/modules/KVER, which a DESTDIR cannot stand for. Everything is
# checked before anything is written (root, dkms, the headers of every
# target kernel: DKMS builds against /lib/modules/KVER/build); if a step
# then fails, what this run added is taken away again (make uninstall),
# unless kchan/VERSION was registered with dkms before. DKMS signs the
# module with its own key (/var/lib/dkms/mok.key, made on first use):
# under Secure Boot, enroll it (README.md, "Secure Boot").
dkms-install:
	@test -z "$(DESTDIR)" || { echo "make dkms-install: not with DESTDIR (use make install)" >&2; exit 1; }
	@test "$$(id -u)" = 0 || { echo "make dkms-install: run it as root (sudo make dkms-install)" >&2; exit 1; }
	@command -v dkms >/dev/null || { echo "make dkms-install: dkms not found (apt-get install dkms)" >&2; exit 1; }
	@test -n "$(KCHAN_VERSION)" || { echo "make dkms-install: VERSION is empty" >&2; exit 1; }
	@missing=; for k in $(DKMS_KVERS); do \
		[ -f /lib/modules/$$k/build/Makefile ] || missing="$$missing $$k"; done; \
	if [ -n "$$missing" ]; then \
		echo "make dkms-install: no kernel headers for:$$missing (nothing was installed)" >&2; \
		for k in $$missing; do echo "    apt-get install linux-headers-$$k" >&2; done; \
		have=$$(for b in /lib/modules/*/build/Makefile; do [ -f "$$b" ] && basename "$$(dirname "$$(dirname "$$b")")"; done); \
		if [ -n "$$have" ]; then echo "kernels with headers here (make dkms-install KVER=...):" >&2; \
			for k in $$have; do echo "    $$k" >&2; done; \
		else echo "no kernel on this machine has its headers in /lib/modules/*/build" >&2; fi; \
		exit 1; fi
	$(MAKE) -C userlib libchan.a libchan.so
	$(MAKE) -C tools
	@set -e; \
	had=$$(dkms status kchan/$(KCHAN_VERSION) 2>/dev/null); \
	key=/var/lib/dkms/mok.key; [ -e $$key ] && hadkey=1 || hadkey=0; \
	undo() { \
		if [ -n "$$had" ]; then \
			echo "make dkms-install: failed; kchan/$(KCHAN_VERSION) was registered before, left as it is" >&2; \
		else \
			echo "make dkms-install: failed; removing what it installed" >&2; \
			$(MAKE) --no-print-directory uninstall >&2 || true; fi; \
	}; \
	trap 'undo' ERR; \
	$(MAKE) --no-print-directory install; \
	if [ -z "$$had" ]; then echo "dkms add kchan/$(KCHAN_VERSION)"; dkms add kchan/$(KCHAN_VERSION); fi; \
	for k in $(DKMS_KVERS); do \
		echo "dkms install kchan/$(KCHAN_VERSION) -k $$k"; \
		dkms install kchan/$(KCHAN_VERSION) -k $$k; \
	done; \
	trap - ERR; \
	if [ $$hadkey = 0 ] && [ -e $$key ]; then \
		echo "make dkms-install: DKMS made a signing key, $$key (public: /var/lib/dkms/mok.pub),"; \
		echo "    and signed chan.ko with it. Under Secure Boot, enroll it once: mokutil --import /var/lib/dkms/mok.pub, reboot."; fi; \
	echo "make dkms-install: kchan $(KCHAN_VERSION) installed for $(DKMS_KVERS); load it: modprobe chan"

dkms-uninstall:
	@command -v dkms >/dev/null || { echo "make dkms-uninstall: dkms not found" >&2; exit 1; }
	@if [ -n "$$(dkms status kchan/$(KCHAN_VERSION) 2>/dev/null)" ]; then \
		echo "dkms remove kchan/$(KCHAN_VERSION) --all"; \
		dkms remove kchan/$(KCHAN_VERSION) --all; fi

# uapi headers cannot use BIT(), and each struct there is followed by its
# *_SIZE_VER0 define on purpose. kmod/compat.h is the one file that tests
# LINUX_VERSION_CODE (checkpatch also takes that for a constant on the left
# of a comparison).
checkpatch: deps
	$(KSFT_SRC)/scripts/checkpatch.pl --no-tree --strict -q -f \
		$(filter-out kmod/compat.h,$(wildcard kmod/*.c kmod/*.h))
	$(KSFT_SRC)/scripts/checkpatch.pl --no-tree --strict -q \
		--ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON -f kmod/compat.h
	$(KSFT_SRC)/scripts/checkpatch.pl --no-tree --strict -q \
		--ignore BIT_MACRO,LINE_SPACING -f uapi/linux/chan.h

sparse: deps
	$(MAKE) -C $(KDIR) M=$(CURDIR) C=2 modules

clean:
	@if [ -n "$(KDIR)" ] && [ -d "$(KDIR)" ]; then \
		$(MAKE) -C $(KDIR) M=$(CURDIR) clean; \
	else \
		rm -f chan.ko chan.o chan.mod chan.mod.c chan.mod.o Module.symvers modules.order kmod/*.o; \
	fi
	@if [ -f userlib/Makefile ]; then $(MAKE) -C userlib clean; fi
	@if [ -f selftests/Makefile ]; then $(MAKE) -C selftests KSFT_SRC=$(KSFT_SRC) OUTPUT=$(CURDIR)/selftests clean; fi
	@if [ -f examples/Makefile ]; then $(MAKE) -C examples clean; fi
	@if [ -f tools/Makefile ]; then $(MAKE) -C tools clean; fi
	$(MAKE) -C bindings/go clean
	@if [ -f bench/Makefile ]; then $(MAKE) -C bench clean; fi
	@if [ -f bindings/Makefile ]; then $(MAKE) -C bindings clean; fi
	rm -f examples/demo

help:
	@sed -n '3,/chance to install them/s/^# \{0,1\}//p' Makefile
