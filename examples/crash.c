// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * crash: crash safety. A channel closes when its last send-capable handle
 * goes away, and sends fail EPIPE when its last recv-capable handle does,
 * so a process killed mid-pipeline never leaves its peers blocked.
 *
 * 1. A producer streams numbers; after the consumer has READ of them the
 *    producer is killed with SIGKILL. The consumer drains what was
 *    buffered (still in sequence), then sees the channel closed -- not a
 *    hang.
 * 2. A consumer that never receives is killed; the producer, blocked in a
 *    send on the full channel, fails with EPIPE instead of waiting forever.
 */
#include "common.h"

const char *prog = "crash";

#define READ 1000
#define CAP  16

static int ch[2];

static int streamer(void *arg)
{
	(void)arg;
	close(ch[0]);
	for (int64_t i = 0;; i++)
		CHECK(chan_send(ch[1], &i, sizeof(i)));
	return 0;
}

static void producer_killed(void)
{
	int64_t v, want = 0;
	pid_t pid;
	bool ok;

	CHECK(chan_pipe(ch, sizeof(int64_t), CAP, CHAN_CLOEXEC));
	pid = spawn(streamer, NULL);
	close(ch[1]);	/* the consumer holds no sender: the producer is the last */

	for (; want < READ; want++) {
		CHECK(chan_recv(ch[0], &v, sizeof(v), &ok));
		EXPECT(ok && v == want, "got %lld, expected %lld", (long long)v,
		       (long long)want);
	}
	kill(pid, SIGKILL);
	EXPECT(reap(pid) == 128 + SIGKILL, "producer not killed");
	printf("consumer: read %d, producer SIGKILLed mid-stream\n", READ);

	int64_t t0 = now_ns();
	long drained = 0;

	for (;;) {
		ssize_t n = chan_recv_timeout(ch[0], &v, sizeof(v), &ok, MS(10000));

		EXPECT(n >= 0, "recv after the crash: %s (a hang would be ETIMEDOUT)",
		       strerror(errno));
		if (!ok)
			break;
		EXPECT(v == want, "after crash got %lld, expected %lld",
		       (long long)v, (long long)want);
		want++;
		drained++;
	}
	EXPECT(drained <= CAP + 1, "drained %ld, more than the buffer", drained);
	printf("consumer: drained %ld buffered messages in sequence, then saw closed after %.1f ms\n",
	       drained, (double)(now_ns() - t0) / 1e6);
	close(ch[0]);
}

static int sink(void *arg)
{
	(void)arg;
	close(ch[1]);
	for (;;)
		pause();	/* holds the receive end, never receives */
	return 0;
}

static void consumer_killed(void)
{
	struct chan_info info;
	int64_t i = 0;
	pid_t pid;

	CHECK(chan_pipe(ch, sizeof(int64_t), CAP, CHAN_CLOEXEC));
	pid = spawn(sink, NULL);
	close(ch[0]);	/* the producer holds no receiver */

	for (; i < CAP; i++)
		CHECK(chan_send(ch[1], &i, sizeof(i)));
	/* Full now: the next send blocks until the consumer dies. */
	pid_t killer = fork();

	CHECK(killer);
	if (killer == 0) {
		for (;;) {	/* kill the sink once the producer is parked */
			if (chan_info(ch[1], &info) == 0 && info.send_waiters == 1)
				break;
			sleep_ms(5);
		}
		kill(pid, SIGKILL);
		_exit(0);
	}
	int64_t t0 = now_ns();
	int ret = chan_send_timeout(ch[1], &i, sizeof(i), MS(20000));

	EXPECT(ret < 0 && errno == EPIPE, "blocked send after the consumer died: %s",
	       ret < 0 ? strerror(errno) : "succeeded");
	printf("producer: blocked send failed EPIPE %.1f ms in, after the consumer was SIGKILLed\n",
	       (double)(now_ns() - t0) / 1e6);
	EXPECT(reap(pid) == 128 + SIGKILL, "consumer not killed");
	EXPECT(reap(killer) == 0, "killer failed");
	errno = 0;
	EXPECT(chan_trysend(ch[1], &i, sizeof(i)) < 0 && errno == EPIPE,
	       "later send: %s", strerror(errno));
	close(ch[1]);
}

int main(void)
{
	watchdog(120);
	setvbuf(stdout, NULL, _IOLBF, 0);
	producer_killed();
	consumer_killed();
	printf("crash: ok\n");
	return 0;
}
