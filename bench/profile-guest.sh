#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# bench/profile-guest.sh: runs in the icount guest (bench/profile). perf
# samples on cpu-clock, which under -icount shift=0 ticks once per guest
# instruction, so the sample shares are instruction shares. The period,
# 1,999 instructions, is prime: it cannot run in step with a loop whose
# length divides a round number. Samples still land only where interrupts
# are on (an hrtimer): time under a lock taken with irqs off shows at its
# unlock (_raw_spin_unlock_irqrestore, finish_task_switch).
set -uo pipefail
cd "$(dirname "$0")"
out=/tmp/kbench-perf
mkdir -p $out
echo 0 >/proc/sys/kernel/kptr_restrict
echo -1 >/proc/sys/kernel/perf_event_paranoid
ulimit -n 65536
modprobe virtio_rng 2>/dev/null || true
head -c 1 /dev/random >/dev/null
prof() {
	local name=$1; shift
	echo "=== PROFILE $name: $*"
	perf record -q -e cpu-clock -c 1999 -o $out/$name.data -- "$@" >/dev/null 2>$out/$name.err ||
		{ echo "perf record failed"; cat $out/$name.err; return; }
	perf report -q -i $out/$name.data --stdio --no-children --sort sym \
		--percent-limit 0.7 2>/dev/null | sed 's/[[:space:]]*$//' | head -n 45
}
prof pingpong-kchan ./kbench pingpong kchan 5000
prof pingpong-eventfd ./kbench pingpong eventfd 5000
prof micro-kchan-ioctl ./kbench micro 20000 kchan-ioctl-pair
prof micro-kchan-rw ./kbench micro 20000 kchan-rw-pair
prof micro-eventfd ./kbench micro 20000 eventfd-pair
prof tput-kchan-64 ./kbench tput kchan 64 20000
prof select-64 ./kbench select 64 300
prof selset-4096 ./kbench selset 4096 50000
