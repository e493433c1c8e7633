// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * semaphore: a buffered channel of capacity K as a counting semaphore.
 *
 *	sem <- struct{}{}	// acquire: blocks while K are held
 *	work()
 *	<-sem			// release
 *
 * W worker processes each do ROUNDS units of work under the semaphore; a
 * shared-memory counter tracks how many are inside at once. Invariant: the
 * count never exceeds K (and reaches it, so the limit is what held them).
 */
#include "common.h"

const char *prog = "semaphore";

#define K	3
#define W	10
#define ROUNDS	5

static int sem;			/* bidirectional: acquire sends, release receives */
static int *inside, *max_inside, *total;

static int worker(void *arg)
{
	(void)arg;
	for (int r = 0; r < ROUNDS; r++) {
		bool ok;

		CHECK(chan_send(sem, NULL, 0));		/* acquire */
		int now = __atomic_add_fetch(inside, 1, __ATOMIC_SEQ_CST);
		int m = __atomic_load_n(max_inside, __ATOMIC_SEQ_CST);

		while (now > m &&
		       !__atomic_compare_exchange_n(max_inside, &m, now, false,
						    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			;
		EXPECT(now <= K, "%d workers inside, limit %d", now, K);
		sleep_ms(20);				/* the work */
		__atomic_add_fetch(total, 1, __ATOMIC_SEQ_CST);
		__atomic_sub_fetch(inside, 1, __ATOMIC_SEQ_CST);
		CHECK(chan_recv(sem, NULL, 0, &ok));	/* release */
		EXPECT(ok, "semaphore closed");
	}
	return 0;
}

int main(void)
{
	pid_t pids[W];

	watchdog(120);
	setvbuf(stdout, NULL, _IOLBF, 0);
	inside = shared_alloc(3 * sizeof(int));
	max_inside = inside + 1;
	total = inside + 2;
	sem = chan_make(0, K, CHAN_CLOEXEC);	/* chan struct{} with K slots */
	CHECK(sem);
	EXPECT(chan_cap(sem) == K, "capacity %d, expected %d", chan_cap(sem), K);

	for (int i = 0; i < W; i++)
		pids[i] = spawn(worker, NULL);
	reap_all(pids, W, "worker");

	EXPECT(*total == W * ROUNDS, "%d units of work done", *total);
	EXPECT(*max_inside <= K, "at most %d inside at once, limit %d", *max_inside, K);
	EXPECT(*max_inside == K, "never reached %d inside (max %d)", K, *max_inside);
	EXPECT(chan_len(sem) == 0, "tokens left in the semaphore");
	printf("%d workers x %d rounds with %d tokens: at most %d inside at once\n",
	       W, ROUNDS, K, *max_inside);
	printf("semaphore: ok\n");
	return 0;
}
