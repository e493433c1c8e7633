#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# model/check.sh - build and run the spin checks of the commit protocol
# models, one line of result per check; exit 1 unless every result is the
# expected one. Run by "make -C model"; see README.md.
#
#   ./check.sh                   every check (ALL below)
#   ./check.sh new:2 old:1       only these: PROTO:CFG, nonrt:1,
#                                mutant:NAME:CFG:CHECK
#
# Environment: SPIN, CC, NICE (default "nice"), BUILD (default ./build),
# DEPTH (pan -m, default 1000000).
#
# One pan per protocol (and per variant: -DNON_RT, each mutant) serves all
# the configurations, which pan reads from KCHAN_CFG. In $BUILD/<build>/:
# cfgN.safety.out, cfgN.progress.out and, when a run found something,
# cfgN.<check>.trail (replay: spin -t -k cfgN.<check>.trail -p <model>).

# $defs, $vdefs and $NICE are lists of words, split on purpose
# shellcheck disable=SC2086
set -u

here=$(cd "$(dirname "$0")" && pwd)
SPIN=${SPIN:-spin}
CC=${CC:-cc}
NICE=${NICE-nice}
BUILD=${BUILD:-$here/build}
DEPTH=${DEPTH:-1000000}
failed=0

case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac

if ! command -v "$SPIN" >/dev/null 2>&1; then
	echo "model: $SPIN not found (Debian: apt-get install spin)" >&2
	exit 1
fi

desc() {
	case $1 in
	1) echo "1 CPU, timed recv (prio 20) over a send (prio 10)" ;;
	2) echo "1 CPU, two selects meeting, unbuffered + buffered" ;;
	3) echo "1 CPU, selects and a close" ;;
	4) echo "2 CPUs, two selects meeting, one per CPU" ;;
	5) echo "2 CPUs, cfg 1's pair on CPU 0 + a select on CPU 1" ;;
	6) echo "1 CPU, a select both ways on the buffered channel, close" ;;
	7) echo "2 CPUs, a select on CPU 0, a sender and a closer on CPU 1" ;;
	esac
}

# The old protocol livelocks where a BUSY holder can be preempted by a
# higher-priority task of its CPU that then spins on it, and nothing lifts
# the holder: configurations 1, 2, 3 and 5. Not in 4 (one task per CPU: a
# spinner waits for a holder that runs), nor in 6 and 7: there a select of
# higher priority than the spinner comes to block on the ch->lock that the
# preempted holder has, and priority inheritance lifts the holder.
livelock_expected() {
	[ "$1" = old ] && case $2 in 1 | 2 | 3 | 5) true ;; *) false ;; esac
}

# number after "errors:", states stored (or visited), elapsed seconds
pan_errors() { sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$1" | head -1; }
pan_states() {
	sed -n 's/^ *\([0-9.e+]*\) states, stored\( (\([0-9.e+]*\) visited)\)\{0,1\}.*/\1 \3/p' "$1" |
		awk '{ print ($2 != "" ? $2 : $1) }' | head -1
}
pan_time() { sed -n 's/^pan: elapsed time \([0-9.e+-]*\) seconds.*/\1/p' "$1" | head -1; }

# A search that did not cover the whole state space proves nothing. (pan
# also says "Search not completed" when it stops at the first error it
# finds: that is fine, the error is the result.)
pan_incomplete() {
	grep -E "max search depth too small|^pan: error|MEMLIM|out of memory" "$1"
	[ "$(pan_errors "$1")" != 0 ] || grep -E "[Ss]earch not completed" "$1"
}

# build NAME PROTO DEFINES...: spin + cc into $BUILD/NAME; sets dir, model, defs
build() {
	name=$1 proto=$2
	shift 2
	dir=$BUILD/$name
	model=chan_sel_$proto.pml
	defs="$*"
	[ -x "$dir/pan" ] && [ "$(cat "$dir/defs" 2>/dev/null)" = "$proto $defs" ] && return 0
	rm -rf "$dir" && mkdir -p "$dir" && cp "$here"/*.pml "$dir"/ || return 1
	(cd "$dir" && "$SPIN" $defs -a "$model" >spin.out 2>&1) || {
		cat "$dir/spin.out" >&2
		return 1
	}
	# -DNP: the non-progress claim; -DNFAIR=3: weak fairness for up to 7
	# processes; -w: gcc sees dead inline branches with constant indices
	# (pan checks every index at run time)
	(cd "$dir" && $NICE "$CC" -w -O0 -DNP -DNFAIR=3 -DMEMLIM=2048 -o pan pan.c \
		>cc.out 2>&1) || {
		cat "$dir/cc.out" >&2
		return 1
	}
	echo "$proto $defs" >"$dir/defs"
}

# run CFG KIND: KIND safety (assertions, the deadlock watchdog) or progress
# (non-progress cycles under weak fairness); sets out, trail
run() {
	out=$dir/cfg$1.$2.out
	trail=$dir/cfg$1.$2.trail
	rm -f "$dir/$model.trail" "$trail"
	if [ "$2" = safety ]; then
		(cd "$dir" && KCHAN_CFG=$1 $NICE ./pan -m"$DEPTH" >"$out" 2>&1)
	else
		(cd "$dir" && KCHAN_CFG=$1 $NICE ./pan -m"$DEPTH" -l -f >"$out" 2>&1)
	fi
	[ ! -f "$dir/$model.trail" ] || mv "$dir/$model.trail" "$trail"
}

# The story of the last trail: the model's "@ ..." printfs along the path,
# a repeated line counted, and where the cycle starts.
trail_words() {
	(cd "$dir" && "$SPIN" $defs -t -k "$trail" "$model" 2>&1) |
		sed -n 's/^ *\(@ .*\)$/\1/p; s/.*\(<<<<<START OF CYCLE>>>>>\).*/@ ---- the cycle repeats from here ----/p' |
		uniq -c | awk '{ n = $1; $1 = ""; sub(/^ @ /, ""); printf "        %s%s\n", $0, (n > 1 ? "   (x" n ")" : "") }'
}

say() { echo "model: $*"; }

bad() {
	say "$* <-- UNEXPECTED"
	failed=1
	if [ -n "$(pan_incomplete "$out")" ]; then
		pan_incomplete "$out" | sed 's/^/        /'
	else
		grep -E "violated|cycle|errors:" "$out" | sed 's/^/        /'
		if [ -f "$trail" ]; then
			trail_words
			echo "        full trail: cd $dir && $SPIN $defs -t -k $(basename "$trail") -p $model"
		fi
	fi
}

# check_proto PROTO CFG [nonrt]: safety must hold; progress as expected.
# nonrt: a kernel without PREEMPT_RT (-DNON_RT), where no livelock is due.
check_proto() {
	proto=$1 cfg=$2 variant=${3:-}
	if [ "$variant" = nonrt ]; then
		bname=$proto-nonrt vdefs=-DNON_RT
		what="$proto protocol without PREEMPT_RT, cfg $cfg ($(desc "$cfg"))"
	else
		bname=$proto vdefs=
		what="$proto protocol, cfg $cfg ($(desc "$cfg"))"
	fi
	if ! build "$bname" "$proto" $vdefs; then
		say "$what: build failed <-- UNEXPECTED"
		failed=1
		return
	fi
	run "$cfg" safety
	if [ -n "$(pan_incomplete "$out")" ] || [ "$(pan_errors "$out")" != 0 ]; then
		bad "$what: safety FAILED"
	else
		say "$what: safety ok ($(pan_states "$out") states, $(pan_time "$out") s)"
	fi
	run "$cfg" progress
	if [ -n "$(pan_incomplete "$out")" ]; then
		bad "$what: progress check incomplete"
	elif [ "$(pan_errors "$out")" = 0 ]; then
		if livelock_expected "$proto" "$cfg" && [ -z "$variant" ]; then
			bad "$what: no livelock found, but the old protocol has one here"
		else
			say "$what: no livelock ($(pan_states "$out") states, $(pan_time "$out") s)"
		fi
	elif grep -q "non-progress cycle" "$out" && livelock_expected "$proto" "$cfg" &&
		[ -z "$variant" ]; then
		say "$what: livelock found (expected)"
		trail_words
	else
		bad "$what: progress FAILED"
	fi
}

# check_mutant NAME CFG KIND: the new protocol with one rule broken
# (-DMUT_NAME); KIND is the check that must catch it: safety or progress
check_mutant() {
	mname=$1 cfg=$2 kind=$3
	what="new protocol mutant $mname, cfg $cfg"
	if ! build "mut-$mname" new "-DMUT_$(echo "$mname" | tr 'a-z-' 'A-Z_')"; then
		say "$what: build failed <-- UNEXPECTED"
		failed=1
		return
	fi
	run "$cfg" "$kind"
	if [ -n "$(pan_incomplete "$out")" ] || [ "$(pan_errors "$out")" = 0 ]; then
		bad "$what: not caught by the $kind check"
	else
		say "$what: caught by the $kind check (expected): $(grep -E -m1 "violated|non-progress cycle" "$out" | sed 's/^pan:[0-9]*: //')"
	fi
}

ALL="new:1 new:2 new:3 new:4 new:5 new:6 new:7
old:1 old:2 old:3 old:4 old:5 old:6 old:7 nonrt:1
mutant:no-final-lock:4:safety mutant:timeout-wins:1:safety
mutant:no-addr-order:4:progress mutant:preemptible:1:safety"

[ $# -gt 0 ] || set -- $ALL
mkdir -p "$BUILD"
# a fresh build each time: the models may have changed since the last one
rm -rf "$BUILD"/new "$BUILD"/old "$BUILD"/old-nonrt "$BUILD"/mut-*
start=$(date +%s)
for c in "$@"; do
	case $c in
	new:[1-7] | old:[1-7]) check_proto "${c%%:*}" "${c#*:}" ;;
	# the old protocol on a kernel without PREEMPT_RT: no livelock
	nonrt:[1-7]) check_proto old "${c#*:}" nonrt ;;
	mutant:*:[1-7]:safety | mutant:*:[1-7]:progress)
		m=${c#mutant:}
		check_mutant "${m%%:*}" "$(echo "$m" | cut -d: -f2)" "${m##*:}"
		;;
	*)
		echo "model: unknown check $c" >&2
		failed=1
		;;
	esac
done
if [ $failed = 0 ]; then
	say "all checks as expected ($(($(date +%s) - start)) s)"
else
	say "SOME CHECKS FAILED ($(($(date +%s) - start)) s)"
fi
exit $failed
