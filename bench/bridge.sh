#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench/bridge.sh [COUNT]: kchan-bridge's throughput next to its peers, in
# one guest (one boot, so the ratios compare like with like):
#   kchan local       the C producer straight to the C consumer on one
#                     kchan channel (no bridge): the local floor
#   js publish sync   JetStream publishes one at a time, each waiting for
#                     its ack (what the exporter does per message)
#   js publish async  256 publishes in flight (a pipelined publisher)
#   bridge e2e        producer -> export -> JetStream -> import -> consumer
# COUNT messages of 8 bytes (default 3000). Wall-clock in an emulated
# guest: the ratios mean more than the absolute figures.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
count=${1:-3000}

if [ "${KCHAN_BRIDGE_BENCH_GUEST:-}" != 1 ]; then
	work=$(mktemp -d /var/tmp/kchan-bridge-bench.XXXXXX)
	trap 'rm -rf "$work"' EXIT
	make -s -C "$top/bindings/go/cmd/kchan-bridge" BIN="$work"
	KCHAN_BRIDGE_BENCH_GUEST=1 KCHAN_BRIDGE_BIN=$work \
		"$top/scripts/vm-run" --kver "${KCHAN_KVER:-6.12}" -- "$0" "$count" 2>&1 |
		grep -E '^(#|[a-z])' | grep -v '^kchan-bridge:'
	exit "${PIPESTATUS[0]}"
fi

bin=$KCHAN_BRIDGE_BIN
url=nats://127.0.0.1:4222
now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }

nats-server -js -sd /run/js -p 4222 -l /run/nats.log &
for _ in $(seq 100); do "$bin/kchan-bridge" stat --nats $url >/dev/null 2>&1 && break; sleep 0.2; done

# The producer makes the channel (and opens it O_RDWR: no EPIPE while
# the consumer is not there yet).
t0=$(now)
"$bin/bridge-producer" local "$count" 1 >/dev/null &
p=$!
"$bin/bridge-consumer" local /run/local.txt >/dev/null
wait $p
t1=$(now)
local_rate=$(rate "$count" "$t0" "$t1")

read -r _ _ sync_rate < <("$bin/kchan-bridge" bench "$count" 8 --nats $url --quiet | grep sync)
read -r _ _ async_rate < <("$bin/kchan-bridge" bench "$count" 8 --nats $url --quiet | grep async)

st=/run/bst
"$bin/kchan-bridge" export src --nats $url --cap 64 --msg-size 64 --state $st --quiet &
e=$!
"$bin/kchan-bridge" import kchan.src --nats $url dst --cap 64 --msg-size 64 --state $st --quiet &
i=$!
for _ in $(seq 100); do "$bin/kchan-bridge" stat --name dst >/dev/null 2>&1 && break; sleep 0.1; done
t0=$(now)
"$bin/bridge-consumer" dst /run/dst.txt >/dev/null &
c=$!
"$bin/bridge-producer" src "$count" 1 >/dev/null
wait $c
t1=$(now)
e2e_rate=$(rate "$count" "$t0" "$t1")
wait $e $i

echo "# bridge bench, $count messages of 8 bytes, one guest ($(uname -r)), messages/s"
printf '%-22s %10s %8s\n' path msgs/s "x sync"
for p in "kchan-local $local_rate" "js-publish-sync $sync_rate" "js-publish-async256 $async_rate" "bridge-e2e $e2e_rate"; do
	set -- $p
	printf '%-22s %10s %8s\n' "$1" "$2" "$(awk -v a="$2" -v b="$sync_rate" 'BEGIN { printf "%.2f", a / b }')"
done
