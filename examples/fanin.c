// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fanin: merge several channels with a for-select loop that turns each
 * input into a nil channel once it is closed (a nil channel never fires),
 * and stops when every input is nil.
 *
 *	for a != nil || b != nil || c != nil {
 *		select {
 *		case v, ok := <-a: if !ok { a = nil; continue } ...
 *		...
 *		}
 *	}
 *
 * Three producer processes send different numbers of values and close.
 * Invariant: every value of every producer arrives exactly once, in order
 * per producer, and the loop ends when the last input is closed.
 */
#include "common.h"

const char *prog = "fanin";

#define NP 3

static const int count[NP] = { 50, 200, 7 };
static int in[NP][2];
static int me;

static int producer(void *arg)
{
	(void)arg;
	for (int i = 0; i < NP; i++) {
		close(in[i][0]);
		if (i != me)
			close(in[i][1]);
	}
	for (int32_t v = 0; v < count[me]; v++) {
		int32_t msg[2] = { me, v };

		CHECK(chan_send(in[me][1], msg, sizeof(msg)));
		if (me == 0 && v % 10 == 0)
			sleep_ms(1);	/* let the inputs interleave */
	}
	CHECK(chan_close(in[me][1]));
	return 0;
}

int main(void)
{
	pid_t pids[NP];
	int32_t bufs[NP][2];
	int next[NP] = { 0 }, live = NP;
	struct chan_case cases[NP];
	long selects = 0;

	watchdog(60);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < NP; i++)
		CHECK(chan_pipe(in[i], sizeof(bufs[0]), 4, CHAN_CLOEXEC));
	for (me = 0; me < NP; me++)
		pids[me] = spawn(producer, NULL);
	for (int i = 0; i < NP; i++) {
		close(in[i][1]);
		cases[i] = (struct chan_case){ .ch = in[i][0], .op = CHAN_RECV };
	}

	while (live > 0) {
		for (int i = 0; i < NP; i++) {
			cases[i].buf = bufs[i];
			cases[i].len = sizeof(bufs[i]);
		}
		int i = chan_select(cases, NP, -1);

		CHECK(i);
		selects++;
		if (!cases[i].ok) {	/* closed: nil it out */
			close(cases[i].ch);
			cases[i].ch = -1;
			live--;
			printf("input %d closed after %d values; %d inputs left\n", i,
			       next[i], live);
			continue;
		}
		EXPECT(cases[i].len == sizeof(bufs[i]), "short message");
		EXPECT(bufs[i][0] == i && bufs[i][1] == next[i],
		       "input %d: got (%d,%d), expected (%d,%d)", i, bufs[i][0],
		       bufs[i][1], i, next[i]);
		next[i]++;
	}
	for (int i = 0; i < NP; i++)
		EXPECT(next[i] == count[i], "input %d: %d values, expected %d", i,
		       next[i], count[i]);
	reap_all(pids, NP, "producer");
	printf("merged %d + %d + %d values in %ld selects; all inputs nil, loop done\n",
	       count[0], count[1], count[2], selects);
	printf("fanin: ok\n");
	return 0;
}
