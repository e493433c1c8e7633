#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bridge_test.sh: kchan-bridge (tools/kchan-bridge) in one guest, as TAP:
# a JetStream nats-server on the loopback, `kchan-bridge export in` and
# `kchan-bridge import ... out` between two named channels; messages sent
# on "in" come out of "out" in order, and closing "in" closes "out" (the
# end marker) and ends both bridges with status 0.
#
# Run by `make check` in the VM (TEST_PROGS). Skips, saying why, without
# nats-server, tools/kchan-bridge/kchan-bridge (make builds it when
# golang-github-nats-io-go-nats-dev is installed) or tools/chanctl.

set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
bridge=$top/tools/kchan-bridge/kchan-bridge
chanctl=$top/tools/chanctl
KSFT_SKIP=4
N=50

for need in "$bridge" "$chanctl" "$(command -v nats-server)"; do
	if [ ! -x "$need" ]; then
		echo "TAP version 13"
		echo "1..0 # SKIP kchan-bridge: missing ${need:-nats-server} (apt-get install nats-server golang-github-nats-io-go-nats-dev; make)"
		exit $KSFT_SKIP
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kchan-bridge.XXXXXX") || exit 1
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	"$chanctl" unlink kbt-in 2>/dev/null
	"$chanctl" unlink kbt-out 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

NTESTS=4
. "$here/tap.sh"
tap_plan

fail() {
	echo "$*"
	exit 1
}

port=$((14000 + $$ % 1000))
url=nats://127.0.0.1:$port

# The server is up once its port accepts a connection (bounded wait).
t_server() {
	local i
	for i in $(seq 300); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		kill -0 "${pids[0]}" 2>/dev/null || { cat "$tmp/server.log"; fail "nats-server died"; }
		sleep 0.2
	done
	cat "$tmp/server.log"
	fail "nats-server not listening on $port"
}
nats-server -js -a 127.0.0.1 -p "$port" -sd "$tmp/js" >"$tmp/server.log" 2>&1 &
pids+=("$!")
check "nats-server -js listens" t_server

"$chanctl" create kbt-in --cap 4 --msg-size 64 &&
"$chanctl" create kbt-out --cap 4 --msg-size 64 || exit 1
"$bridge" export kbt-in --nats "$url" --stream KBT --subject kbt.data >"$tmp/export.log" 2>&1 &
export_pid=$!
pids+=("$export_pid")
"$bridge" import kbt.data --nats "$url" kbt-out --group kbt >"$tmp/import.log" 2>&1 &
import_pid=$!
pids+=("$import_pid")

t_carry() {
	local i
	for i in $(seq $N); do
		echo "message $i"
	done >"$tmp/want"
	# chanctl recv without --count reads until kbt-out is closed.
	"$chanctl" recv kbt-out >"$tmp/got" 2>"$tmp/recv.err" &
	local recv=$!
	for i in $(seq $N); do
		"$chanctl" send kbt-in "message $i" || fail "send $i"
	done
	"$chanctl" close kbt-in || fail "close kbt-in"
	wait $recv || {
		cat "$tmp/recv.err"
		echo "export:"; tail -n 5 "$tmp/export.log"
		echo "import:"; tail -n 5 "$tmp/import.log"
		fail "chanctl recv kbt-out failed after $(wc -l <"$tmp/got") messages"
	}
	cmp "$tmp/want" "$tmp/got" ||
		{ diff "$tmp/want" "$tmp/got" | head; fail "kbt-out did not carry kbt-in's messages in order"; }
}
check "$N messages from kbt-in come out of kbt-out in order; close ends the range" t_carry

# The bridges are children of this shell, not of a check's subshell: wait
# for them here (the kselftest runner's timeout bounds it).
wait "$export_pid"; export_rc=$?
wait "$import_pid"; import_rc=$?
t_exit() {
	[ $export_rc -eq 0 ] || { cat "$tmp/export.log"; fail "export exited $export_rc"; }
	[ $import_rc -eq 0 ] || { cat "$tmp/import.log"; fail "import exited $import_rc"; }
}
check "the end marker ends export and import with status 0" t_exit

t_closed() {
	"$chanctl" stat kbt-out >"$tmp/stat" || fail "chanctl stat"
	grep -q '^closed:	1$' "$tmp/stat" || { cat "$tmp/stat"; fail "kbt-out is not closed"; }
}
check "kbt-out is closed" t_closed

tap_done
