// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * countdown: a ticker counts down a rocket launch while an abort channel,
 * fed by a process that reads the keyboard, can cancel it.
 *
 *	abort := make(chan struct{})
 *	go func() { os.Stdin.Read(make([]byte, 1)); abort <- struct{}{} }()
 *	tick := time.NewTicker(period)
 *	for n := 10; n > 0; n-- {
 *		select {
 *		case <-tick.C:	fmt.Println(n)
 *		case <-abort:	fmt.Println("Launch aborted!"); return
 *		}
 *	}
 *	launch()
 *
 * The ticker is a timer channel (chan_ticker): one case of the select
 * like any channel. The reader process holds the abort channel's only
 * send handle, so when it meets end of input and exits, the channel
 * closes; a closed abort case would fire forever, so the loop sets it to
 * -1, Go's nil channel.
 *
 * By default it runs two rounds with a simulated user typing into a pipe
 * that stands for the keyboard: round 1 types nothing (end of input):
 * liftoff after exactly 10 ticks; round 2 presses Enter once T-7 is on
 * the display: aborted at T-7 or later, before liftoff. Every tick is due
 * on the period grid and none arrives early. -i reads the real stdin
 * instead (one round, Enter aborts). -p MS sets the period (default 1000).
 *
 * COUNTDOWN_FAULT=ignore-abort leaves the abort channel out of the select
 * (a countdown that cannot be stopped): round 2 then fails.
 */
#include "common.h"

#include <stdbool.h>

const char *prog = "countdown";

#define FROM	10
#define PRESS_AT 7

static int abort_ch[2];		/* [0] main receives, [1] the reader sends */
static int keys[2] = { -1, -1 };	/* the keyboard: stdin, or a pipe */
static int shown[2];		/* the display the simulated user watches */

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Go's goroutine reading stdin: one key, then abort; end of input: exit. */
static int reader(void *arg)
{
	char c;
	ssize_t n;

	(void)arg;
	close_fd(&abort_ch[0]);
	close_fd(&shown[0]);
	close_fd(&shown[1]);
	close_fd(&keys[1]);
	do {
		n = read(keys[0], &c, 1);
	} while (n < 0 && errno == EINTR);
	if (n == 1)
		CHECK(chan_send(abort_ch[1], NULL, 0));
	return 0;	/* exiting closes the abort channel */
}

/* The simulated user: watches the display, presses Enter at @arg. */
static int user(void *arg)
{
	long at = (long)(intptr_t)arg, n = 0;
	bool ok;

	close_fd(&abort_ch[0]);
	close_fd(&shown[1]);
	/* Watch to the end: the display closes when the countdown stops. */
	while (chan_recv(shown[0], &n, sizeof(n), &ok) >= 0 && ok) {
		if (n == at)
			EXPECT(write(keys[1], "\n", 1) == 1, "write: %s",
			       strerror(errno));
	}
	return 0;
}

/*
 * One countdown; returns the T-n at which it was aborted, or 0 for a
 * liftoff. @press: simulate a user pressing Enter at T-press (0: never);
 * -1: read the real stdin.
 */
static long countdown(int64_t period, long press)
{
	struct chan_tick tick;
	int64_t start, due, last = 0;
	uint64_t missed = 0;
	pid_t rd, us = 0;
	int ticker, idx;
	long n, aborted = 0;
	bool ignore_abort;

	ignore_abort = getenv("COUNTDOWN_FAULT") &&
		       !strcmp(getenv("COUNTDOWN_FAULT"), "ignore-abort");
	CHECK(chan_pipe(abort_ch, 0, 0, CHAN_CLOEXEC));
	CHECK(chan_pipe(shown, sizeof(long), FROM, CHAN_CLOEXEC));
	if (press >= 0)
		CHECK(pipe2(keys, O_CLOEXEC));
	else
		keys[0] = 0;
	rd = spawn(reader, NULL);
	close_fd(&abort_ch[1]);
	if (press >= 0) {
		close_fd(&keys[0]);
		if (press)
			us = spawn(user, (void *)(intptr_t)press);
		close_fd(&keys[1]);	/* the user's copy is the keyboard */
	}
	keys[0] = -1;
	close_fd(&shown[0]);

	start = now_ns();
	CHECK(ticker = chan_ticker(period, CHAN_CLOEXEC));
	for (n = FROM; n > 0; n--) {
		struct chan_case cases[] = {
			{ .ch = ticker, .op = CHAN_RECV, .buf = &tick,
			  .len = sizeof(tick) },
			{ .ch = ignore_abort ? -1 : abort_ch[0], .op = CHAN_RECV },
		};

		CHECK(idx = chan_select(cases, 2, -1));
		if (idx == 1 && !cases[1].ok) {
			/* End of input: nothing can abort any more. */
			close_fd(&abort_ch[0]);
			n++;
			continue;
		}
		if (idx == 1) {
			aborted = n;
			break;
		}
		/* On the period grid, never early. */
		due = last ? last + period * (int64_t)(1 + tick.missed) :
			     start + period;
		EXPECT(last ? (int64_t)tick.expiry_ns == due :
			      (int64_t)tick.expiry_ns >= due,
		       "tick due at %lld, expected %lld",
		       (long long)tick.expiry_ns, (long long)due);
		EXPECT((int64_t)tick.expiry_ns <= now_ns(), "tick arrived early");
		last = tick.expiry_ns;
		missed += tick.missed;
		printf("T-%ld%s", n, n > 1 ? " " : "\n");
		fflush(stdout);
		if (us)
			CHECK(chan_send(shown[1], &n, sizeof(n)));
	}
	close(ticker);
	close_fd(&shown[1]);
	if (aborted)
		printf("\nlaunch aborted at T-%ld\n", aborted);
	else
		printf("liftoff! (%d ticks, %llu missed, %.0f ms)\n", FROM,
		       (unsigned long long)missed,
		       (double)(now_ns() - start) / 1e6);
	close_fd(&abort_ch[0]);	/* a reader still sending: EPIPE, no hang */
	if (us)
		EXPECT(reap(us) == 0, "user process failed");
	if (aborted) {
		EXPECT(reap(rd) == 0, "reader failed");
	} else {
		/* It may still wait for a key nobody will press. */
		kill(rd, SIGKILL);
		reap(rd);
	}
	return aborted;
}

int main(int argc, char **argv)
{
	int64_t period = MS(1000);
	bool interactive = false;
	long at;
	int opt;

	while ((opt = getopt(argc, argv, "ip:")) != -1) {
		switch (opt) {
		case 'i':
			interactive = true;
			break;
		case 'p':
			period = MS(atol(optarg));
			break;
		default:
			fprintf(stderr, "usage: %s [-i] [-p period_ms]\n", prog);
			return 2;
		}
	}
	EXPECT(period > 0, "the period must be > 0 ms");
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (interactive) {
		printf("Commencing countdown. Press Enter to abort.\n");
		countdown(period, -1);
		return 0;
	}
	watchdog((unsigned)(4 * FROM * period / MS(1000)) + 60);
	printf("round 1: nobody presses a key (end of input)\n");
	at = countdown(period, 0);
	EXPECT(at == 0, "aborted at T-%ld without a key pressed", at);
	printf("round 2: the user presses Enter at T-%d\n", PRESS_AT);
	at = countdown(period, PRESS_AT);
	EXPECT(at > 0, "liftoff although the user pressed abort at T-%d",
	       PRESS_AT);
	EXPECT(at < PRESS_AT, "aborted at T-%ld, before the key was pressed",
	       at);
	printf("countdown: ok (liftoff after %d ticks; abort honoured at T-%ld)\n",
	       FROM, at);
	return 0;
}
