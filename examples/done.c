// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * done: cancellation by closing a done channel.
 *
 * A generator process sends 0, 1, 2, ... on an unbuffered channel, each
 * send a select against <-done. The consumer takes TAKE values, then
 * closes done instead of draining the generator. Invariant: the generator
 * sees done fire (ok = false) in its select, stops, and exits 0; nobody is
 * left blocked (the channel shows no waiting sender afterwards), and the
 * values received were 0..TAKE-1 in order.
 */
#include "common.h"

const char *prog = "done";

#define TAKE 10

static int out[2], done[2];

static int generator(void *arg)
{
	int64_t i = 0;

	(void)arg;
	close(out[0]);
	close(done[1]);
	for (;;) {
		struct chan_case cases[2] = {
			{ .ch = out[1], .op = CHAN_SEND, .buf = &i, .len = sizeof(i) },
			{ .ch = done[0], .op = CHAN_RECV, .buf = NULL, .len = 0 },
		};
		int idx = chan_select(cases, 2, -1);

		CHECK(idx);
		if (idx == 1) {	/* case <-done: return */
			EXPECT(!cases[1].ok, "done carried a message");
			printf("generator: done closed, stopping after %lld values\n",
			       (long long)i);
			return 0;
		}
		EXPECT(cases[0].ok, "out closed under the generator");
		i++;
	}
}

int main(void)
{
	struct chan_info info;
	pid_t gen;
	bool ok;

	watchdog(60);
	setvbuf(stdout, NULL, _IOLBF, 0);
	CHECK(chan_pipe(out, sizeof(int64_t), 0, CHAN_CLOEXEC));
	CHECK(chan_pipe(done, 0, 0, CHAN_CLOEXEC));
	gen = spawn(generator, NULL);
	close(out[1]);
	close(done[0]);

	for (int64_t want = 0; want < TAKE; want++) {
		int64_t v;

		CHECK(chan_recv(out[0], &v, sizeof(v), &ok));
		EXPECT(ok && v == want, "got %lld, expected %lld", (long long)v,
		       (long long)want);
	}
	printf("consumer: took 0..%d, closing done\n", TAKE - 1);
	CHECK(chan_close(done[1]));

	int st = reap(gen);

	EXPECT(st == 0, "generator exited with %d", st);
	CHECK(chan_info(out[0], &info));
	EXPECT(info.send_waiters == 0, "%u senders still waiting", info.send_waiters);
	EXPECT(info.send_handles == 0, "%u send handles still open", info.send_handles);
	/* The generator is gone: out was closed when its last sender left. */
	EXPECT(chan_recv(out[0], NULL, 0, &ok) == 0 && !ok, "out not closed");
	printf("done: ok (generator cancelled, no process left blocked)\n");
	return 0;
}
