#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench/guest.sh MODE: runs inside the benchmark guest (scripts/vm-run), as
# root, and prints RESULT/SLAB/INFO lines on stdout.
#
#   icount   every benchmark once (the deterministic, primary run)
#   smp      many-to-many only, REPEAT times (real parallelism, noisy)
#
# Sizes can be scaled down for a quick try: KBENCH_SCALE=10 divides the
# message counts by 10 (RESULTS.md is then not comparable).
set -euo pipefail
cd "$(dirname "$0")"
mode=${1:-icount}
scale=${KBENCH_SCALE:-1}
repeat=${KBENCH_REPEAT:-5}
kb=./kbench
n() { echo $(( $1 / scale )); }

# Room for capacity 1,024 in every peer (the defaults are lower).
echo 1024 >/proc/sys/fs/mqueue/msg_max
echo 65536 >/proc/sys/fs/mqueue/msgsize_max
echo $((4 << 20)) >/proc/sys/fs/pipe-max-size
echo 1024 >/proc/sys/net/unix/max_dgram_qlen
# No address-space randomisation: one source of run-to-run variation less.
echo 0 >/proc/sys/kernel/randomize_va_space
ulimit -q unlimited
ulimit -n 65536

# The kernel's random pool must be initialised, or every get_random_u32()
# (select's shuffle) takes the slow unseeded path: a virtio-rng device is
# attached by vm-run; wait until the crng is ready.
modprobe virtio_rng 2>/dev/null || true
head -c 1 /dev/random >/dev/null
echo "INFO crng $(dmesg | grep -c 'crng init done') ready"

echo "INFO kernel $(uname -r)"
echo "INFO uname $(uname -a)"
echo "INFO cpus $(nproc)"
echo "INFO mode $mode"

# select and a select set against epoll, 1 of N ready, N = 1 ... 4,096
select_sweep() {
	local c it
	for c in 1 4 16 64 256 1024 4096; do
		# select's pass 1 stops at the ready case, found in a random
		# order: enough iterations for a stable mean.
		it=$(n $(( c <= 4 ? 10000 : 100000 / c + 1000 )))
		$kb select $c "$it"
		$kb epoll $c "$(n 10000)"
	done
}

case "$mode" in
icount)
	$kb micro "$(n 100000)"
	$kb ctxsw "$(n 100000)"
	for m in kchan kchan-rw eventfd pipe mq seqpacket futex; do
		$kb pingpong $m "$(n 20000)"
	done
	# chan_call() on both sides, then on the client only
	$kb callpp "$(n 20000)"
	# the size curve, one message per call (64 B and 4 KiB: the
	# throughput tables)
	for s in 8 64 512 4096 16384 65536; do
		case $s in
		4096)	c=20000 ;;
		16384)	c=10000 ;;
		65536)	c=4000 ;;
		*)	c=50000 ;;
		esac
		for m in kchan pipe mq seqpacket; do
			$kb tput $m $s "$(n $c)"
		done
	done
	$kb batch 64 "$(n 100000)" 64
	$kb batch 64 "$(n 100000)" 8
	$kb batch 4096 "$(n 20000)" 64
	$kb m2m kchan "$(n 50000)"
	$kb m2m mq "$(n 50000)"
	$kb selbase "$(n 10000)"
	$kb epollbase "$(n 10000)"
	select_sweep
	$kb epollchan 64 "$(n 10000)"
	$kb mem kchan 10000
	$kb mem pipe 10000
	$kb mem eventfd 10000
	$kb mem kchan-buf 1000
	;;
quick)
	# A subset for trying a kernel change (not used by make bench):
	# KBENCH_QUICK="pingpong tput batch select micro" picks parts.
	for part in ${KBENCH_QUICK:-micro pingpong tput batch select}; do
		case "$part" in
		micro)	$kb micro "$(n 100000)" ;;
		pingpong)
			for m in kchan kchan-rw eventfd; do
				$kb pingpong $m "$(n 20000)"
			done
			$kb callpp "$(n 20000)" ;;
		tput)	$kb tput kchan 64 "$(n 50000)"
			$kb tput pipe 64 "$(n 50000)"
			$kb tput kchan 4096 "$(n 20000)" ;;
		batch)	$kb batch 64 "$(n 100000)" 64
			$kb batch 4096 "$(n 20000)" 64 ;;
		select)	$kb selbase "$(n 10000)"
			$kb select 64 "$(n 2562)"
			$kb select 1024 "$(n 1097)"
			$kb epoll 64 "$(n 10000)" ;;
		sweep)	$kb micro "$(n 100000)"
			$kb selbase "$(n 10000)"
			$kb epollbase "$(n 10000)"
			select_sweep ;;
		esac
	done
	;;
smp)
	for i in $(seq "$repeat"); do
		$kb m2m kchan "$(n 50000)"
		$kb m2m mq "$(n 50000)"
	done
	;;
*)
	echo "guest.sh: unknown mode '$mode'" >&2
	exit 2
	;;
esac
echo "INFO done"
