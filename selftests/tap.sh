# SPDX-License-Identifier: GPL-2.0
#
# tap.sh: TAP output for the shell tests (install_test.sh, dkms_test.sh),
# sourced after NTESTS is set:
#
#   tap_plan            "TAP version 13" and the plan
#   check DESC CMD...   one test: ok, or not ok with CMD's output after it
#   skip DESC WHY       one test, skipped
#   tap_done            a "not ok" if fewer tests ran than planned, the
#                       totals; its status is the script's verdict
#   readme_block LANG   the first ```LANG block of $top/README.md, the text
#                       a test compares with the example it copies

n=0
nfail=0

tap_plan() {
	echo "TAP version 13"
	echo "1..$NTESTS"
}

# COMMAND runs in a subshell, so a fail() in it ends just that test.
check() {
	local desc=$1 out
	shift
	n=$((n + 1))
	if out=$("$@" 2>&1); then
		echo "ok $n $desc"
	else
		nfail=$((nfail + 1))
		echo "not ok $n $desc"
		printf '%s\n' "$out" | tail -n 30 | sed 's/^/# /'
	fi
}

skip() {
	n=$((n + 1))
	echo "ok $n $1 # SKIP $2"
}

readme_block() {
	awk -v fence='```'"$1" '$0 == fence { f = 1; next } f && /^```$/ { exit } f' "$top/README.md"
}

tap_done() {
	if [ "$n" -ne "$NTESTS" ]; then
		n=$((n + 1))
		nfail=$((nfail + 1))
		echo "not ok $n plan: ran $((n - 1)) tests, planned $NTESTS"
	fi
	echo "# Totals: pass:$((n - nfail)) fail:$nfail"
	[ "$nfail" -eq 0 ]
}
