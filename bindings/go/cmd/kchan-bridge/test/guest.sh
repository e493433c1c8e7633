#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# guest.sh ROLE ...: one guest's part of scripts/check-bridge (run by
# vm-run in that guest; BIN is the directory of kchan-bridge and the two C
# programs, the results go to $KCHAN_VM_OUT).
#
#   guest.sh server BIN COUNT   nats-server -js, the C producer into the
#       local channel "orders", kchan-bridge export; the exporter is
#       SIGKILLed and restarted at a quarter of the stream, the NATS
#       server at a half; then it serves until the host connects to port
#       9999 (the importers are done).
#   guest.sh client BIN URL KILL  kchan-bridge import into the local
#       channel "orders", the C consumer on it; with KILL=1 the importer
#       is SIGKILLed and restarted once mid-stream.
set -u

role=$1
bin=$2
out=${KCHAN_VM_OUT:?}
st=/run/kchan-bridge
mkdir -p "$st"
log() { echo "guest.sh $role: $*"; }

# received (exporter side) / sent (importer side) count of channel $1
counter() {
	"$bin/kchan-bridge" stat --name "$1" --json 2>/dev/null |
		sed -n "s/.*\"$2\": \([0-9]*\).*/\1/p" | head -n 1
}

start_nats() {
	nats-server -js -sd /run/js -p 4222 -l /run/nats.log &
	NATS=$!
	for _ in $(seq 100); do
		"$bin/kchan-bridge" stat --nats "$URL" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	log "nats-server did not come up"; tail -n 20 /run/nats.log; return 1
}

# Run "$@" in the background until it exits 0, restarting it after a
# SIGKILL; its pid is in $1's file.
supervise() {
	local pidfile=$1; shift
	(
		while :; do
			"$@" &
			echo $! >"$pidfile"
			wait $! && exit 0
			rc=$?
			[ "$rc" -eq 137 ] || { echo "supervise: $1 exited $rc" >&2; exit "$rc"; }
			echo "supervise: restarting after SIGKILL: $*" >&2
		done
	) &
}

case "$role" in
server)
	count=$3
	URL=nats://127.0.0.1:4222
	start_nats || exit 1
	"$bin/bridge-producer" orders "$count" 1 >"$out/producer.txt" 2>&1 &
	prod=$!
	for _ in $(seq 100); do
		[ -n "$(counter orders sent)" ] && break
		sleep 0.1
	done
	supervise /run/export.pid "$bin/kchan-bridge" export orders --nats "$URL" \
		--subject orders --stream ORDERS --id hostA:orders --state "$st" --quiet \
		--max-stream 100
	sup=$!
	killed=0 restarted=0 most=0
	while kill -0 "$sup" 2>/dev/null; do
		n=$(counter orders received); n=${n:-0}
		m=$("$bin/kchan-bridge" stat --nats "$URL" --stream ORDERS --json 2>/dev/null |
			sed -n 's/.*"messages": \([0-9]*\).*/\1/p' | head -n 1)
		[ "${m:-0}" -le "$most" ] || most=$m
		if [ "$killed" = 0 ] && [ "$n" -ge $((count / 4)) ]; then
			log "SIGKILL of the exporter after $n messages"
			kill -KILL "$(cat /run/export.pid)"; killed=1
		fi
		if [ "$restarted" = 0 ] && [ "$n" -ge $((count / 2)) ]; then
			log "restarting nats-server after $n messages"
			kill -TERM "$NATS"; wait "$NATS"
			start_nats || exit 1; restarted=1
		fi
		sleep 0.2
	done
	wait "$sup"; erc=$?
	wait "$prod"; prc=$?
	log "producer exit $prc, exporter exit $erc, killed $killed, nats restarted $restarted, at most $most messages in the stream"
	echo "$prc $erc $killed $restarted $most" >"$out/server-status"
	# Serve the importers until the host says they are done.
	timeout 1200 busybox nc -l -p 9999 >/dev/null
	"$bin/kchan-bridge" stat --nats "$URL" >"$out/stat.txt" 2>&1
	cat "$out/stat.txt"
	[ "$prc" = 0 ] && [ "$erc" = 0 ]
	;;
client)
	URL=$3 kill=$4
	supervise /run/import.pid "$bin/kchan-bridge" import orders --nats "$URL" orders \
		--stream ORDERS --group importers --cap 64 --msg-size 64 --ack-wait 5s --state "$st" --quiet
	sup=$!
	"$bin/bridge-consumer" orders "$out/received.txt" >"$out/consumer.txt" 2>&1 &
	cons=$!
	if [ "$kill" = 1 ]; then
		for _ in $(seq 3000); do
			n=$(counter orders sent); n=${n:-0}
			[ "$n" -ge 200 ] && break
			sleep 0.1
		done
		log "SIGKILL of the importer after $n local sends"
		kill -KILL "$(cat /run/import.pid)"
	fi
	wait "$cons"; crc=$?
	wait "$sup"; irc=$?
	log "consumer exit $crc ($(cat "$out/consumer.txt")), importer exit $irc"
	echo "$crc $irc" >"$out/client-status"
	[ "$crc" = 0 ] && [ "$irc" = 0 ]
	;;
*)
	echo "guest.sh: unknown role $role" >&2; exit 2 ;;
esac
