// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * memo: the concurrent non-blocking cache of The Go Programming Language
 * 9.7 (memo5): one monitor process owns the cache, requests carry their
 * reply channel, and concurrent requests for the same key compute it once
 * (duplicate suppression).
 *
 *	type request struct { key string; response chan<- result }
 *	func (memo *Memo) server(f Func) {
 *		cache := make(map[string]*entry)
 *		for req := range memo.requests {
 *			e := cache[req.key]
 *			if e == nil {		// the first request for this key
 *				e = &entry{ready: make(chan struct{})}
 *				cache[req.key] = e
 *				go e.call(f, req.key)	// call f(key)
 *			}
 *			go e.deliver(req.response)	// wait for ready, then reply
 *		}
 *	}
 *
 * Across processes: a request is a message on `requests` (a CHAN_FDPASS
 * channel) whose descriptor is the send end of the client's reply channel,
 * a fresh one-slot channel per call, so the monitor's reply never blocks.
 * e.call is a process that computes f(key) (slow: COMPUTE_MS) and sends
 * the result back to the monitor as a DONE message on `requests` itself
 * (it cannot set e.res in the monitor's memory); e.deliver becomes the
 * entry's list of waiting reply channels, answered when DONE arrives.
 * Requests for a ready entry are answered at once. memo.Close() is
 * close(requests): the monitor's loop ends.
 *
 * C clients start together (they wait for a channel to close) and ask for
 * the K keys, two clients in three for the same key at the same time,
 * twice over. Invariant: every answer is f(key); a shared-memory counter
 * of computations (for checking only) shows each key computed exactly
 * once, while requests did find the computation of their key in flight.
 * KCHAN_EXAMPLE_BREAK=1 makes the monitor record an entry only once its
 * value is in (memo3's "check, then compute" race): duplicates are
 * computed again.
 */
#include "common.h"

const char *prog = "memo";

#define K		8	/* keys */
#define C		6	/* clients */
#define ROUNDS		2	/* the second is all cache hits */
#define COMPUTE_MS	100

enum { GET = 1, DONE = 2 };

struct msg {			/* on requests */
	int32_t type;		/* GET (the fd: the reply channel) or DONE */
	int32_t key;
	int64_t value;		/* DONE: f(key) */
};

struct result {			/* on a reply channel */
	int32_t key;
	int32_t pad;
	int64_t value;
};

struct stats {			/* shared memory, for checking only */
	int computations[K];
	int requests, hits, waited, started;
};

static struct stats *st;
static int requests[2], start[2];
static bool record_late;	/* KCHAN_EXAMPLE_BREAK=1 */
static int me;

static int64_t f(int key)
{
	return (int64_t)key * key * 1000 + 7;
}

/* ---- the monitor ---- */

enum { NONE, COMPUTING, READY };

struct entry {
	int state;
	int64_t value;
	int nwait;
	int waiters[C];		/* reply channels waiting for the value */
};

static struct entry cache[K];
static int computing_key;

static void reply(int fd, int key, int64_t value)
{
	struct result r = { .key = key, .value = value };

	/* One slot, one answer: never blocks. EPIPE: the client is gone. */
	if (chan_trysend(fd, &r, sizeof(r)) < 0)
		EXPECT(errno == EPIPE, "reply: %s", strerror(errno));
	close(fd);
}

static int compute(void *arg)	/* go e.call(f, key) */
{
	struct msg m = { .type = DONE, .key = computing_key };

	(void)arg;
	close(requests[0]);
	for (int k = 0; k < K; k++)	/* not ours to answer */
		for (int i = 0; i < cache[k].nwait; i++)
			close(cache[k].waiters[i]);
	__atomic_add_fetch(&st->computations[m.key], 1, __ATOMIC_SEQ_CST);
	sleep_ms(COMPUTE_MS);
	m.value = f(m.key);
	/* EPIPE: the memo was closed, nobody wants the value any more. */
	if (chan_send(requests[1], &m, sizeof(m)) < 0)
		EXPECT(errno == EPIPE, "DONE: %s", strerror(errno));
	return 0;
}

static int monitor(void *arg)
{
	int computers = 0, failed = 0, status;
	struct msg m;
	bool ok;

	(void)arg;
	close(start[0]);
	close(start[1]);
	for (;;) {	/* for req := range memo.requests */
		int fd;
		ssize_t len = chan_recv_fd(requests[0], &m, sizeof(m), &ok, &fd,
					   CHAN_CLOEXEC, -1);

		CHECK(len);
		if (!ok)
			break;
		EXPECT(len == sizeof(m) && m.key >= 0 && m.key < K, "bad request");
		struct entry *e = &cache[m.key];

		if (m.type == DONE) {	/* close(e.ready): deliver to the waiters */
			EXPECT(fd < 0, "DONE with a descriptor");
			e->state = READY;
			e->value = m.value;
			for (int i = 0; i < e->nwait; i++)
				reply(e->waiters[i], m.key, e->value);
			e->nwait = 0;
			continue;
		}
		EXPECT(m.type == GET && fd >= 0, "GET without a reply channel");
		st->requests++;
		if (e->state == READY) {
			st->hits++;
			reply(fd, m.key, e->value);
			continue;
		}
		EXPECT(e->nwait < C, "more waiters than clients");
		e->waiters[e->nwait++] = fd;	/* go e.deliver(req.response) */
		if (e->state == NONE || record_late) {	/* the first request */
			if (!record_late)
				e->state = COMPUTING;
			computing_key = m.key;
			spawn(compute, NULL);
			computers++;
			st->started++;
		} else {
			st->waited++;	/* in flight: wait for it */
		}
	}
	for (int i = 0; i < computers; i++) {
		while (wait(&status) < 0)
			EXPECT(errno == EINTR, "wait: %s", strerror(errno));
		failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	for (int k = 0; k < K; k++)
		EXPECT(cache[k].nwait == 0, "key %d: %d requests never answered", k,
		       cache[k].nwait);
	printf("monitor: requests closed; %d requests: %d computations started, %d waited for one in flight, %d cache hits\n",
	       st->requests, st->started, st->waited, st->hits);
	EXPECT(!failed, "%d computing processes failed", failed);
	return 0;
}

/* ---- the clients ---- */

static int64_t get(int key)	/* memo.Get(key) */
{
	struct msg m = { .type = GET, .key = key };
	struct result r;
	int rp[2];
	bool ok;

	CHECK(chan_pipe(rp, sizeof(r), 1, CHAN_CLOEXEC));	/* make(chan result, 1) */
	CHECK(chan_send_fd(requests[1], &m, sizeof(m), rp[1], -1));
	close(rp[1]);		/* the monitor holds the only sender now */
	CHECK(chan_recv(rp[0], &r, sizeof(r), &ok));
	EXPECT(ok, "client %d: key %d: the monitor went away", me, key);
	EXPECT(r.key == key, "client %d: asked for key %d, answer for %d", me, key,
	       r.key);
	close(rp[0]);
	return r.value;
}

static int client(void *arg)
{
	int64_t t0;
	bool ok;

	(void)arg;
	close(requests[0]);
	close(start[1]);
	CHECK(chan_recv(start[0], NULL, 0, &ok));	/* <-start: closed */
	EXPECT(!ok, "start carried a message");
	t0 = now_ns();
	for (int r = 0; r < ROUNDS; r++)
		for (int j = 0; j < K; j++) {
			int key = (j + (me % 2) * (K / 2)) % K;
			int64_t v = get(key);

			EXPECT(v == f(key), "client %d: key %d = %lld, expected %lld",
			       me, key, (long long)v, (long long)f(key));
		}
	printf("client %d: %d answers, each f(key), in %.0f ms\n", me, ROUNDS * K,
	       (double)(now_ns() - t0) / 1e6);
	return 0;
}

int main(void)
{
	static const char *const bugs[] = {
		"entries recorded only once computed: duplicates computed again (memo3's race)",
	};
	pid_t mon, cl[C];

	watchdog(120);
	setvbuf(stdout, NULL, _IOLBF, 0);
	record_late = break_choose(bugs, 1) == 1;
	st = shared_alloc(sizeof(*st));
	CHECK(chan_pipe(requests, sizeof(struct msg), 0, CHAN_FDPASS | CHAN_CLOEXEC));
	CHECK(chan_pipe(start, 0, 0, CHAN_CLOEXEC));
	mon = spawn(monitor, NULL);
	close(requests[0]);
	for (me = 0; me < C; me++)
		cl[me] = spawn(client, NULL);
	close(start[0]);
	CHECK(chan_close(start[1]));	/* all clients at once */
	reap_all(cl, C, "client");
	CHECK(chan_close(requests[1]));	/* memo.Close() */
	close(requests[1]);
	EXPECT(reap(mon) == 0, "monitor failed");

	EXPECT(st->requests == C * K * ROUNDS, "%d requests, expected %d",
	       st->requests, C * K * ROUNDS);
	for (int k = 0; k < K; k++)
		EXPECT(st->computations[k] == 1, "key %d computed %d times", k,
		       st->computations[k]);
	EXPECT(st->waited > 0, "no request ever found its key in flight: nothing to suppress");
	printf("%d clients x %d requests: each of the %d keys computed once; %d duplicate requests waited for the computation in flight\n",
	       C, K * ROUNDS, K, st->waited);
	printf("memo: ok\n");
	return 0;
}
