#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench/bridge.sh [COUNT [LATENCY]]: kchan-bridge's throughput and
# latency next to its peers, in one guest (one boot, so the ratios compare
# like with like); the table also goes to bench/out/bridge.txt:
#   kchan-local          the C producer straight to the C consumer on one
#                        kchan channel (no bridge): the local floor
#   js-publish-sync      JetStream publishes one at a time, each waiting
#                        for its ack (what the exporter does per message)
#   js-publish-async256  256 publishes in flight (a pipelined publisher)
#   js-pull-acksync      a durable pull consumer fetching 64 at a time and
#                        acknowledging each synchronously (what the
#                        importer does per message)
#   js-pull-ack          the same with fire-and-forget acks
#   bridge-e2e           producer -> export -> JetStream -> import ->
#                        consumer
# Throughput: COUNT messages of 8 bytes (default 3000), as fast as they
# go. Latency: LATENCY messages (default 200), one every 10 ms, one way,
# stamped and read on the guest's one clock; for JetStream, from before a
# publish to a durable pull consumer's fetch.
#
# The guest is the deterministic one of the other benchmarks (vm-run
# --icount: one CPU, its clock counts instructions), so the figures are
# CPU costs; they repeat within about 2% from boot to boot (the clock also
# jumps over host I/O waits). KCHAN_BRIDGE_BENCH_SMP=1 boots two CPUs on
# wall-clock time instead (noisy under TCG).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
count=${1:-3000}
nlat=${2:-200}
gap_us=10000

if [ "${KCHAN_BRIDGE_BENCH_GUEST:-}" != 1 ]; then
	work=$(mktemp -d /var/tmp/kchan-bridge-bench.XXXXXX)
	trap 'rm -rf "$work"' EXIT
	make -s -C "$top/bindings/go/cmd/kchan-bridge" BIN="$work"
	mode=(--icount)
	[ "${KCHAN_BRIDGE_BENCH_SMP:-}" = 1 ] && mode=(--smp 2)
	KCHAN_BRIDGE_BENCH_GUEST=1 KCHAN_BRIDGE_BIN=$work KCHAN_BRIDGE_BENCH_MODE="${mode[*]}" \
		"$top/scripts/vm-run" --kver "${KCHAN_KVER:-6.12}" "${mode[@]}" -- "$0" "$count" "$nlat" 2>&1 |
		grep -E '^(#|[a-z])' | grep -v '^kchan-bridge:' | tee "$work/out"
	rc=${PIPESTATUS[0]}
	[ "$rc" = 0 ] && grep -q '^bridge-e2e' "$work/out" && cp "$work/out" "$here/out/bridge.txt"
	exit "$rc"
fi

bin=$KCHAN_BRIDGE_BIN
url=nats://127.0.0.1:4222
st=/run/bst

# bridge SRC DST: export SRC, import its subject into DST, until SRC is
# closed (then both exit: wait $pids); waits for DST to exist.
bridge() {
	"$bin/kchan-bridge" export "$1" --nats $url --cap 64 --msg-size 64 --state $st --quiet &
	pids=$!
	"$bin/kchan-bridge" import "kchan.$1" --nats $url "$2" --cap 64 --msg-size 64 \
		--state $st --quiet &
	pids="$pids $!"
	for _ in $(seq 100); do "$bin/kchan-bridge" stat --name "$2" >/dev/null 2>&1 && break; sleep 0.1; done
}

# consumer_rate NAME COUNT: runs the C consumer on NAME; messages/s
# between its first message and the close.
consumer_rate() {
	"$bin/bridge-consumer" "$1" "/run/$1.txt" |
		sed -n 's/.*then closed (\([0-9.]*\) s after the first).*/\1/p' |
		awk -v n="$2" '{ printf "%.0f", (n - 1) / $1 }'
}

# latency SRC DST: paced one-way latency from SRC to DST (the same name:
# no bridge); prints "p50 p90 p99 max" in microseconds.
latency() {
	local out=/run/lat-$2 s
	"$bin/bridge-latency" recv "$2" >"$out" &
	s=$!
	"$bin/bridge-latency" send "$1" "$nlat" $gap_us
	wait $s
	read -r _ _ p50 p90 p99 max <"$out"
	echo "$p50 $p90 $p99 $max"
}

# Throughput, from the consumer's first message to its close (the
# consumer times it: starting programs reads them over 9p, host time that
# the icount clock would count unevenly). The producer makes the channel
# (and opens it O_RDWR: no EPIPE while the consumer is not there yet).
# Locally 20 times as many messages.
"$bin/bridge-producer" local $((count * 20)) 1 >/dev/null &
p=$!
local_rate=$(consumer_rate local $((count * 20)))
wait $p

# The rest with a NATS server (not running above: it would share the CPU).
nats-server -js -sd /run/js -p 4222 -l /run/nats.log &
for _ in $(seq 100); do "$bin/kchan-bridge" stat --nats $url >/dev/null 2>&1 && break; sleep 0.2; done

js=$("$bin/kchan-bridge" bench "$count" 8 --nats $url --latency "$nlat" --interval ${gap_us}us --quiet)
sync_rate=$(awk '$1 == "jetstream-publish-sync" { print $3 }' <<<"$js")
async_rate=$(awk '$1 == "jetstream-publish-async256" { print $3 }' <<<"$js")
pull_rate=$(awk '$1 == "jetstream-pull-acksync" { print $3 }' <<<"$js")
pullack_rate=$(awk '$1 == "jetstream-pull-ack" { print $3 }' <<<"$js")
js_lat=$(awk '$1 == "jetstream-latency-us" { print $4, $5, $6, $7 }' <<<"$js")

bridge src dst
"$bin/bridge-producer" src "$count" 1 >/dev/null &
p=$!
e2e_rate=$(consumer_rate dst "$count")
wait $p $pids

# Latency.
local_lat=$(latency llocal llocal)
bridge lsrc ldst
e2e_lat=$(latency lsrc ldst)
wait $pids

echo "# bridge bench, one guest ($(uname -r), ${KCHAN_BRIDGE_BENCH_MODE:-}): $count messages of 8 bytes for msgs/s"
echo "# (kchan-local: $((count * 20)));"
echo "# $nlat messages one every $((gap_us / 1000)) ms for the one-way latency (us)"
printf '%-22s %10s %8s %8s %8s %8s %8s\n' path msgs/s "x sync" p50 p90 p99 max
row() {
	printf '%-22s %10s %8s %8s %8s %8s %8s\n' "$1" "$2" \
		"$(awk -v a="$2" -v b="$sync_rate" 'BEGIN { printf "%.2f", a / b }')" $3 $4 $5 $6
}
row kchan-local "$local_rate" $local_lat
row js-publish-sync "$sync_rate" $js_lat
row js-publish-async256 "$async_rate" - - - -
row js-pull-acksync "$pull_rate" - - - -
row js-pull-ack "$pullack_rate" - - - -
row bridge-e2e "$e2e_rate" $e2e_lat
# On one CPU a bridged message costs a synchronous publish plus a fetch
# and a synchronous ack: the bridge's ceiling is the harmonic sum.
bound=$(awk -v a="$sync_rate" -v b="$pull_rate" 'BEGIN { printf "%.0f", 1 / (1 / a + 1 / b) }')
echo "# bridge-e2e is $(awk -v a="$e2e_rate" -v b="$bound" 'BEGIN { printf "%.2f", a / b }')x its one-CPU ceiling 1/(1/sync + 1/pull-acksync) = $bound msgs/s"
