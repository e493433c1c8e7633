// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * timeout: select between a worker's result and a timeout.
 *
 *	select {
 *	case r := <-result:	use r
 *	case <-time.After(d):	give up
 *	}
 *
 * Round 1: the worker needs SLOW ms, we wait PATIENCE ms: the select times
 * out (ETIMEDOUT) after about PATIENCE ms. The worker's late answer goes
 * into a one-slot buffered channel, so it never blocks and exits 0 (no
 * leak). Round 2: a fast worker answers well within the timeout and the
 * select returns its result.
 */
#include "common.h"

const char *prog = "timeout";

#define SLOW		1500
#define FAST		20
#define PATIENCE	200

static int result[2];
static long delay_ms;

static int worker(void *arg)
{
	int64_t answer = 42;

	(void)arg;
	close(result[0]);
	sleep_ms(delay_ms);
	CHECK(chan_send(result[1], &answer, sizeof(answer)));	/* buffered: never blocks */
	return 0;
}

/* One round; returns 1 if the result arrived, 0 on timeout. */
static int round_(long work_ms, long wait_ms, double *took_ms)
{
	int64_t answer = 0, t0;
	pid_t pid;
	int idx, got;

	CHECK(chan_pipe(result, sizeof(int64_t), 1, CHAN_CLOEXEC));
	delay_ms = work_ms;
	pid = spawn(worker, NULL);
	close(result[1]);

	struct chan_case cases[] = {
		{ .ch = result[0], .op = CHAN_RECV, .buf = &answer, .len = sizeof(answer) },
	};
	t0 = now_ns();
	idx = chan_select(cases, 1, MS(wait_ms));
	*took_ms = (double)(now_ns() - t0) / 1e6;
	if (idx < 0) {
		EXPECT(errno == ETIMEDOUT, "select: %s", strerror(errno));
		got = 0;
	} else {
		EXPECT(idx == 0 && cases[0].ok && answer == 42, "bad result");
		got = 1;
	}
	EXPECT(reap(pid) == 0, "worker did not exit cleanly");
	close(result[0]);
	return got;
}

int main(void)
{
	double took;

	watchdog(60);
	setvbuf(stdout, NULL, _IOLBF, 0);

	EXPECT(round_(SLOW, PATIENCE, &took) == 0, "slow worker beat the timeout");
	EXPECT(took >= PATIENCE * 0.95 && took < SLOW,
	       "timed out after %.0f ms, expected about %d", took, PATIENCE);
	printf("slow worker (%d ms): timed out after %.0f ms (timeout %d ms)\n",
	       SLOW, took, PATIENCE);

	EXPECT(round_(FAST, SLOW * 2, &took) == 1, "fast worker timed out");
	printf("fast worker (%d ms): result 42 after %.0f ms (timeout %d ms)\n",
	       FAST, took, SLOW * 2);

	printf("timeout: ok\n");
	return 0;
}
