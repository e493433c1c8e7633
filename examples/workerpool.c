// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * workerpool: two shapes of many-to-many over one channel.
 *
 * 1. Dispatch with a closer: a dispatcher sends JOBS jobs on a buffered
 *    channel and closes it; NWORKERS workers range over it and send one
 *    result per job; each worker reports "done" when its range ends; a
 *    closer process waits for NWORKERS dones (Go's WaitGroup) and closes
 *    the results channel, which ends the gatherer's range. Invariant:
 *    every job is answered exactly once, with the right answer.
 *
 * 2. M producers x N consumers over ITEMS items: every item is received
 *    exactly once (a shared-memory tally checks it), none is lost or
 *    duplicated, and the consumers' counts add up to ITEMS.
 */
#include "common.h"

const char *prog = "workerpool";

#define JOBS		1000
#define NWORKERS	4

#define ITEMS		100000
#define PRODUCERS	4
#define CONSUMERS	4

struct result {
	int32_t job;
	int32_t worker;
	int64_t answer;
};

static int jobs[2], results[2], done[2];
static int worker_id;

static int dispatcher(void *arg)
{
	(void)arg;
	for (int32_t j = 0; j < JOBS; j++)
		CHECK(chan_send(jobs[1], &j, sizeof(j)));
	CHECK(chan_close(jobs[1]));
	printf("dispatcher: sent %d jobs, closed jobs\n", JOBS);
	return 0;
}

static int worker(void *arg)
{
	int32_t j;
	int n = 0;
	bool ok;

	(void)arg;
	close(jobs[1]);
	for (;;) {
		CHECK(chan_recv(jobs[0], &j, sizeof(j), &ok));
		if (!ok)
			break;
		struct result r = { j, worker_id, (int64_t)j * 3 + 1 };

		CHECK(chan_send(results[1], &r, sizeof(r)));
		n++;
	}
	CHECK(chan_send(done[1], NULL, 0));	/* wg.Done() */
	printf("worker %d: %d jobs\n", worker_id, n);
	return 0;
}

static int closer(void *arg)
{
	(void)arg;
	close(jobs[1]);
	for (int i = 0; i < NWORKERS; i++) {	/* wg.Wait() */
		bool ok;

		CHECK(chan_recv(done[0], NULL, 0, &ok));
		EXPECT(ok, "closer: done channel closed early");
	}
	CHECK(chan_close(results[1]));
	printf("closer: %d workers done, closed results\n", NWORKERS);
	return 0;
}

static void dispatch_with_closer(void)
{
	static uint8_t seen[JOBS];
	pid_t pids[NWORKERS + 2];
	int per_worker[NWORKERS] = { 0 };
	struct result r;
	int n = 0;
	bool ok;

	CHECK(chan_pipe(jobs, sizeof(int32_t), 16, CHAN_CLOEXEC));
	CHECK(chan_pipe(results, sizeof(struct result), 16, CHAN_CLOEXEC));
	CHECK(chan_pipe(done, 0, 0, CHAN_CLOEXEC));

	pids[0] = spawn(dispatcher, NULL);
	for (int i = 0; i < NWORKERS; i++) {
		worker_id = i;
		pids[1 + i] = spawn(worker, NULL);
	}
	pids[NWORKERS + 1] = spawn(closer, NULL);
	close(jobs[0]);
	close(jobs[1]);
	close(done[0]);
	close(done[1]);
	close(results[1]);	/* the closer closes it; keep no sender here */

	for (;;) {	/* for r := range results */
		ssize_t len = chan_recv(results[0], &r, sizeof(r), &ok);

		CHECK(len);
		if (!ok)
			break;
		EXPECT(len == sizeof(r), "result of %zd bytes", len);
		EXPECT(r.job >= 0 && r.job < JOBS, "bad job %d", r.job);
		EXPECT(!seen[r.job], "job %d answered twice", r.job);
		EXPECT(r.answer == (int64_t)r.job * 3 + 1, "job %d: wrong answer",
		       r.job);
		EXPECT(r.worker >= 0 && r.worker < NWORKERS, "bad worker");
		seen[r.job] = 1;
		per_worker[r.worker]++;
		n++;
	}
	close(results[0]);
	EXPECT(n == JOBS, "gathered %d results, expected %d", n, JOBS);
	reap_all(pids, NWORKERS + 2, "process");
	printf("gatherer: %d results, each job exactly once (per worker:", n);
	for (int i = 0; i < NWORKERS; i++)
		printf(" %d", per_worker[i]);
	printf(")\n");
}

/* ---- M producers x N consumers ---- */

static int items[2];
static uint32_t *tally;		/* shared: times each item was received */
static int64_t *consumed;	/* shared: per consumer */

static int producer(void *arg)
{
	int p = (int)(intptr_t)arg;

	close(items[0]);
	for (uint32_t i = (uint32_t)p; i < ITEMS; i += PRODUCERS)
		CHECK(chan_send(items[1], &i, sizeof(i)));
	return 0;
}

static int consumer(void *arg)
{
	int c = (int)(intptr_t)arg;
	uint32_t item;
	bool ok;

	close(items[1]);
	for (;;) {
		CHECK(chan_recv(items[0], &item, sizeof(item), &ok));
		if (!ok)
			break;
		EXPECT(item < ITEMS, "item %u out of range", item);
		__atomic_fetch_add(&tally[item], 1, __ATOMIC_RELAXED);
		consumed[c]++;
	}
	return 0;
}

static void mpmc(void)
{
	pid_t prod[PRODUCERS], cons[CONSUMERS];
	int64_t total = 0;
	int64_t t0 = now_ns();

	tally = shared_alloc(ITEMS * sizeof(*tally));
	consumed = shared_alloc(CONSUMERS * sizeof(*consumed));
	CHECK(chan_pipe(items, sizeof(uint32_t), 64, CHAN_CLOEXEC));

	for (int c = 0; c < CONSUMERS; c++)
		cons[c] = spawn(consumer, (void *)(intptr_t)c);
	for (int p = 0; p < PRODUCERS; p++)
		prod[p] = spawn(producer, (void *)(intptr_t)p);
	close(items[0]);

	/* The parent is the closer: once every producer has finished, close. */
	reap_all(prod, PRODUCERS, "producer");
	CHECK(chan_close(items[1]));
	close(items[1]);
	reap_all(cons, CONSUMERS, "consumer");

	for (int c = 0; c < CONSUMERS; c++)
		total += consumed[c];
	for (uint32_t i = 0; i < ITEMS; i++)
		EXPECT(tally[i] == 1, "item %u received %u times", i, tally[i]);
	EXPECT(total == ITEMS, "consumers took %lld items, expected %d",
	       (long long)total, ITEMS);
	printf("mpmc: %d producers x %d consumers, %d items, each received exactly once (per consumer:",
	       PRODUCERS, CONSUMERS, ITEMS);
	for (int c = 0; c < CONSUMERS; c++)
		printf(" %lld", (long long)consumed[c]);
	printf(") in %.2f s\n", (double)(now_ns() - t0) / 1e9);
}

int main(void)
{
	watchdog(300);
	setvbuf(stdout, NULL, _IOLBF, 0);
	dispatch_with_closer();
	mpmc();
	printf("workerpool: ok\n");
	return 0;
}
