// SPDX-License-Identifier: GPL-2.0
/*
 * Timer channels (CHAN_IOC_TIMER, CHAN_IOC_TIMER_SET): a recv-only channel
 * of capacity 1 whose sender is the clock. One-shots deliver one tick and
 * close; tickers drop ticks while the slot is full and count them in the
 * next tick's missed; Stop and Reset discard an unread tick. A timer works
 * wherever a channel does: recv, read(2), select, select sets, poll,
 * epoll, fd passing (a shared ticker's ticks are each taken once).
 *
 * Timing is checked as bounds only: a tick never arrives before it is due,
 * expiry times are exact multiples of the period, and one test checks the
 * median arrival against the period with a 10% margin.
 */
#include "kchan_test.h"

#include <sys/epoll.h>

#define MS	1000000LL

/* Wait until @fd is readable (poll), at most KC_WAIT_MS; 1 or <= 0. */
static int wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r;

	do {
		r = poll(&p, 1, KC_WAIT_MS);
	} while (r < 0 && errno == EINTR);
	return r;
}

/* ---- one-shots ---- */

TEST(oneshot_fires_once_then_closed)
{
	struct chan_tick t;
	int64_t start = kc_now_ns();
	char buf[32];
	int fd;

	fd = kc_timer(20 * MS, 0);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(1, kc_recv_tick(fd, &t, -1));
	/* Due 20 ms after the call, received no earlier. */
	EXPECT_GE((int64_t)t.expiry_ns, start + 20 * MS);
	EXPECT_LE((int64_t)t.expiry_ns, kc_now_ns());
	EXPECT_EQ(0, t.missed);
	/* Then closed: recv, read(2), poll and INFO all say so. */
	EXPECT_EQ(0, kc_recv_tick(fd, &t, -1));
	EXPECT_EQ(0, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(POLLIN | POLLRDNORM | POLLHUP, kc_revents(fd));
	EXPECT_EQ(1, KC_INFO(fd, closed));
	EXPECT_EQ(1, KC_INFO(fd, sent));
	EXPECT_EQ(1, KC_INFO(fd, received));
	EXPECT_EQ(0, kc_fdinfo_num(fd, "timer_active"));
	close(fd);
}

TEST(oneshot_zero_and_past_fire_at_once)
{
	struct chan_tick t;
	int fd;

	fd = kc_timer(0, 0);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(1, kc_recv_tick(fd, &t, 10000 * MS));
	close(fd);

	fd = kc_timer_on(kc_devfd(), CLOCK_MONOTONIC, 1, 0,
			 CHAN_TIMER_ABSTIME);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(1, kc_recv_tick(fd, &t, 10000 * MS));
	EXPECT_EQ(1, t.expiry_ns);
	close(fd);
}

TEST(absolute_on_both_clocks)
{
	static const int clocks[] = { CLOCK_MONOTONIC, CLOCK_BOOTTIME };
	struct chan_tick t;
	struct timespec ts;
	unsigned int i;
	int64_t due;
	int fd;

	for (i = 0; i < 2; i++) {
		clock_gettime(clocks[i], &ts);
		due = ts.tv_sec * 1000000000LL + ts.tv_nsec + 20 * MS;
		fd = kc_timer_on(kc_devfd(), clocks[i], due, 0,
				 CHAN_TIMER_ABSTIME);
		ASSERT_GE(fd, 0);
		ASSERT_EQ(1, kc_recv_tick(fd, &t, -1));
		/* The due time, exactly, whenever it was received. */
		EXPECT_EQ(due, (int64_t)t.expiry_ns);
		clock_gettime(clocks[i], &ts);
		EXPECT_LE(due, ts.tv_sec * 1000000000LL + ts.tv_nsec);
		close(fd);
	}
}

/* A period past the clock's range: the first tick, then none (no wrap). */
TEST(huge_period_saturates)
{
	struct chan_tick t;
	struct timespec ts;
	int64_t now;
	int fd;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec * 1000000000LL + ts.tv_nsec;
	fd = kc_timer_on(kc_devfd(), CLOCK_MONOTONIC, now, INT64_MAX,
			 CHAN_TIMER_ABSTIME);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(1, kc_recv_tick(fd, &t, -1));
	EXPECT_EQ(now, (int64_t)t.expiry_ns);
	EXPECT_EQ(-ETIMEDOUT, kc_recv_tick(fd, &t, 30 * MS));
	EXPECT_EQ(INT64_MAX, kc_fdinfo_num(fd, "timer_next_ns"));
	EXPECT_EQ(1, kc_fdinfo_num(fd, "timer_fires"));
	close(fd);
}

TEST(recv_only_handle)
{
	struct chan_tick t = {};
	int fd, d;

	fd = kc_timer(10000 * MS, 0);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(CHAN_RIGHT_RECV, KC_INFO(fd, rights));
	EXPECT_EQ(1, KC_INFO(fd, capacity));
	EXPECT_EQ(sizeof(struct chan_tick), KC_INFO(fd, msg_size));
	EXPECT_EQ(0, KC_INFO(fd, send_handles));
	EXPECT_EQ(-EBADF, kc_send(fd, &t, sizeof(t), 0));
	EXPECT_EQ(-1, write(fd, &t, sizeof(t)));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(-EBADF, kc_close(fd));
	EXPECT_EQ(-EBADF, kc_dup(fd, CHAN_RIGHT_BOTH));
	d = kc_dup(fd, CHAN_RIGHT_RECV);
	ASSERT_GE(d, 0);
	EXPECT_EQ(2, KC_INFO(fd, recv_handles));
	/* Nothing yet: a non-blocking receive would block. */
	EXPECT_EQ(-EAGAIN, kc_recv_tick(d, &t, 0));
	EXPECT_EQ(1, kc_fdinfo_num(fd, "timer_active"));
	EXPECT_EQ(0, kc_fdinfo_num(fd, "timer_interval_ns"));
	close(d);
	close(fd);
}

TEST(nonblock_and_cloexec_flags)
{
	struct chan_tick t;
	int fd;

	fd = kc_timer_on(kc_devfd(), CLOCK_MONOTONIC, 10000 * MS, 0,
			 CHAN_NONBLOCK | CHAN_CLOEXEC);
	ASSERT_GE(fd, 0);
	EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
	EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(-1, read(fd, &t, sizeof(t)));
	EXPECT_EQ(EAGAIN, errno);
	close(fd);
	fd = kc_timer_on(kc_devfd(), CLOCK_MONOTONIC, 10000 * MS, 0, 0);
	ASSERT_GE(fd, 0);
	EXPECT_FALSE(fcntl(fd, F_GETFL) & O_NONBLOCK);
	EXPECT_FALSE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

/* ---- tickers ---- */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * A bound, not a benchmark: every tick is due exactly on the period grid
 * and never arrives early; the median gap between arrivals is within 10%
 * of the period (a median, so that one stall of the emulated VM does not
 * decide).
 */
TEST(ticks_arrive_within_period)
{
	enum { N = 12 };
	const int64_t period = 100 * MS;
	int64_t arrived[N], gaps[N - 1], first = 0;
	struct chan_tick t;
	int fd, i;

	fd = kc_timer(period, period);
	ASSERT_GE(fd, 0);
	for (i = 0; i < N; i++) {
		ASSERT_EQ(1, kc_recv_tick(fd, &t, -1));
		arrived[i] = kc_now_ns();
		EXPECT_LE((int64_t)t.expiry_ns, arrived[i]);
		if (!i)
			first = t.expiry_ns;
		EXPECT_EQ(0, ((int64_t)t.expiry_ns - first) % period);
		if (i)
			gaps[i - 1] = arrived[i] - arrived[i - 1];
	}
	qsort(gaps, N - 1, sizeof(gaps[0]), cmp_i64);
	TH_LOG("median gap %lld ns, min %lld, max %lld",
	       (long long)gaps[(N - 1) / 2], (long long)gaps[0],
	       (long long)gaps[N - 2]);
	EXPECT_GE(gaps[(N - 1) / 2], period * 9 / 10);
	EXPECT_LE(gaps[(N - 1) / 2], period * 11 / 10);
	close(fd);
}

/*
 * A receiver that sleeps through ten periods finds the first tick kept
 * (Go's capacity 1), the ones after it dropped and counted in the next
 * tick's missed; meanwhile the unread ticker fired once, not ten times.
 */
TEST(missed_ticks_under_slow_receiver)
{
	const int64_t period = 10 * MS;
	struct chan_tick t1, t2;
	int64_t start;
	int fd;

	start = kc_now_ns();
	fd = kc_timer(period, period);
	ASSERT_GE(fd, 0);
	/* The first tick is in the slot; then ten periods and more pass. */
	ASSERT_EQ(1, wait_readable(fd));
	kc_sleep_ms(105);
	EXPECT_EQ(1, kc_fdinfo_num(fd, "timer_fires"));
	EXPECT_EQ(1, kc_fdinfo_num(fd, "timer_parked"));
	EXPECT_EQ(1, KC_INFO(fd, len));
	ASSERT_EQ(1, kc_recv_tick(fd, &t1, 0));
	EXPECT_EQ(0, t1.missed);
	EXPECT_GE((int64_t)t1.expiry_ns, start + period);
	ASSERT_EQ(1, kc_recv_tick(fd, &t2, -1));
	/* Drained >= T1 + 105 ms: T2..T11 at least were dropped. */
	EXPECT_GE(t2.missed, 10);
	EXPECT_EQ(t1.expiry_ns + (t2.missed + 1) * period, t2.expiry_ns);
	close(fd);
}

TEST(ticker_read_poll_epoll)
{
	struct epoll_event ev = { .events = EPOLLIN }, out;
	struct chan_tick t;
	int fd, ep, i;

	fd = kc_timer(5 * MS, 5 * MS);
	ASSERT_GE(fd, 0);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_GE(ep, 0);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(1, epoll_wait(ep, &out, 1, KC_WAIT_MS));
		EXPECT_TRUE(out.events & EPOLLIN);
		ASSERT_EQ(sizeof(t), read(fd, &t, sizeof(t)));
		ASSERT_EQ(1, wait_readable(fd));
		EXPECT_EQ(POLLIN | POLLRDNORM, kc_revents(fd));
		ASSERT_EQ(1, kc_recv_tick(fd, &t, 0));
	}
	/* A buffer shorter than a tick: EMSGSIZE, the tick stays. */
	ASSERT_EQ(1, wait_readable(fd));
	EXPECT_EQ(-1, read(fd, &t, sizeof(t) - 1));
	EXPECT_EQ(EMSGSIZE, errno);
	EXPECT_EQ(1, KC_INFO(fd, len));
	close(ep);
	close(fd);
}

/* Go: for { select { case <-ticker.C: ...; case v := <-data: ... } } */
TEST(select_mixes_ticker_and_data_fairly)
{
	enum { ROUNDS = 200 };
	struct chan_select_case c[2];
	struct chan_tick t;
	int tk, data, i, r, hits[2] = { 0, 0 };
	uint32_t v = 7, got;

	tk = kc_timer(MS, MS);
	ASSERT_GE(tk, 0);
	data = kc_create(1, sizeof(v));
	ASSERT_GE(data, 0);
	ASSERT_EQ(0, kc_send_u32(data, v, 0));
	for (i = 0; i < ROUNDS; i++) {
		/* Both ready: the choice must be the select's. */
		ASSERT_EQ(1, wait_readable(tk));
		memset(c, 0, sizeof(c));
		c[0].fd = tk;
		c[0].op = CHAN_OP_RECV;
		c[0].buf = (uintptr_t)&t;
		c[0].len = sizeof(t);
		c[1].fd = data;
		c[1].op = CHAN_OP_RECV;
		c[1].buf = (uintptr_t)&got;
		c[1].len = sizeof(got);
		r = kc_select_on(kc_devfd(), c, 2, -1);
		ASSERT_TRUE(r == 0 || r == 1) TH_LOG("select: %d", r);
		ASSERT_EQ(1, c[r].ok);
		hits[r]++;
		if (r == 1) {
			EXPECT_EQ(v, got);
			ASSERT_EQ(0, kc_send_u32(data, v, 0));
		}
	}
	TH_LOG("ticker %d, data %d", hits[0], hits[1]);
	/* Binomial(200, 1/2): below 50 has probability < 1e-12. */
	EXPECT_GE(hits[0], ROUNDS / 4);
	EXPECT_GE(hits[1], ROUNDS / 4);
	close(data);
	close(tk);
}

TEST(select_on_fired_oneshot_reports_closed)
{
	struct chan_select_case c;
	struct chan_tick t;
	int fd;

	fd = kc_timer(0, 0);
	ASSERT_GE(fd, 0);
	memset(&c, 0, sizeof(c));
	c.fd = fd;
	c.op = CHAN_OP_RECV;
	c.buf = (uintptr_t)&t;
	c.len = sizeof(t);
	ASSERT_EQ(0, kc_select_on(kc_devfd(), &c, 1, -1));
	EXPECT_EQ(1, c.ok);
	EXPECT_EQ(sizeof(t), c.len);
	ASSERT_EQ(0, kc_select_on(kc_devfd(), &c, 1, -1));
	EXPECT_EQ(0, c.ok);
	close(fd);
}

TEST(selset_with_timer_case)
{
	struct chan_selset_wait w;
	struct chan_tick t;
	uint32_t got;
	int set, tk, data, i;

	set = kc_selset_create(CHAN_CLOEXEC);
	ASSERT_GE(set, 0);
	tk = kc_timer(2 * MS, 2 * MS);
	ASSERT_GE(tk, 0);
	data = kc_create(1, sizeof(got));
	ASSERT_GE(data, 0);
	ASSERT_EQ(0, kc_selset_ctl(set, 0, data, CHAN_OP_RECV, &got,
				   sizeof(got)));
	ASSERT_EQ(0, kc_selset_ctl(set, 1, tk, CHAN_OP_RECV, &t, sizeof(t)));
	/* The set holds its own handle: the ticker lives on without tk. */
	close(tk);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(1, kc_selset_wait(set, &w, -1));
		EXPECT_EQ(1, w.ok);
		EXPECT_EQ(sizeof(t), w.len);
	}
	/* Closing the set drops the last handle: the timer is gone. */
	close(set);
	close(data);
}

/* ---- Stop and Reset ---- */

TEST(stop_and_reset_return_and_discard)
{
	struct chan_tick t;
	int64_t before;
	int fd;

	fd = kc_timer(MS, MS);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(1, wait_readable(fd));
	/* Running: 1; the unread tick is discarded. */
	EXPECT_EQ(1, kc_timer_set(fd, 0, 0, CHAN_TIMER_STOP));
	EXPECT_EQ(-EAGAIN, kc_recv_tick(fd, &t, 0));
	EXPECT_EQ(0, KC_INFO(fd, len));
	EXPECT_EQ(KC_INFO(fd, sent), KC_INFO(fd, received));
	EXPECT_EQ(0, kc_fdinfo_num(fd, "timer_active"));
	/* Stopped: 0, and stays stopped. */
	EXPECT_EQ(0, kc_timer_set(fd, 0, 0, CHAN_TIMER_STOP));
	EXPECT_EQ(-ETIMEDOUT, kc_recv_tick(fd, &t, 30 * MS));

	/* Reset a stopped ticker as a one-shot: one tick, then closed. */
	before = kc_now_ns();
	EXPECT_EQ(0, kc_timer_set(fd, 5 * MS, 0, 0));
	ASSERT_EQ(1, kc_recv_tick(fd, &t, -1));
	EXPECT_GE((int64_t)t.expiry_ns, before + 5 * MS);
	EXPECT_EQ(0, kc_recv_tick(fd, &t, -1));
	/* Fired and closed: stop is a no-op, a new setting EALREADY. */
	EXPECT_EQ(0, kc_timer_set(fd, 0, 0, CHAN_TIMER_STOP));
	EXPECT_EQ(-EALREADY, kc_timer_set(fd, MS, 0, 0));
	close(fd);

	/* Reset moves a pending one-shot later: nothing at the old time. */
	fd = kc_timer(20 * MS, 0);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(1, kc_timer_set(fd, 10000 * MS, 0, 0));
	EXPECT_EQ(-ETIMEDOUT, kc_recv_tick(fd, &t, 60 * MS));
	/* ... and a ticker's period changes. */
	EXPECT_EQ(1, kc_timer_set(fd, 0, 3 * MS, 0));
	ASSERT_EQ(1, kc_recv_tick(fd, &t, -1));
	ASSERT_EQ(1, kc_recv_tick(fd, &t, -1));
	EXPECT_EQ(3 * MS, kc_fdinfo_num(fd, "timer_interval_ns"));
	close(fd);
}

/*
 * A receiver blocked in another process: Stop leaves it waiting, Reset
 * hands it the tick through the commit protocol (it is parked, so the
 * tick goes straight to it, never through the slot).
 */
TEST(reset_wakes_blocked_receiver)
{
	struct chan_tick *got;
	pid_t pid;
	int fd;

	got = kc_shared(sizeof(*got));
	ASSERT_NE(NULL, got);
	fd = kc_timer(10000 * MS, 0);
	ASSERT_GE(fd, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(kc_recv_tick(fd, got, -1) == 1 ? KC_OK : KC_FAIL);
	ASSERT_EQ(0, KC_WAIT(fd, recv_waiters, 1));
	EXPECT_EQ(1, kc_timer_set(fd, 0, 0, CHAN_TIMER_STOP));
	EXPECT_EQ(1, KC_INFO(fd, recv_waiters));
	EXPECT_EQ(0, kc_timer_set(fd, 0, 0, 0));
	EXPECT_EQ(KC_OK, kc_reap(pid));
	EXPECT_NE(0, got->expiry_ns);
	EXPECT_EQ(0, KC_INFO(fd, len));
	EXPECT_EQ(1, KC_INFO(fd, closed));
	close(fd);
	munmap(got, sizeof(*got));
}

/*
 * Stop and Reset racing with receivers blocked in two other processes and
 * with the timer's own expiries: whatever interleaving, no tick arrives
 * before it is due, none is received twice, and after the last Stop
 * nothing is received.
 */
TEST(reset_stop_race_blocked_receivers)
{
	enum { KIDS = 2, ROUNDS = 400 };
	struct shared {
		int stop;
		int64_t last[KIDS];
		long got[KIDS];
		int bad[KIDS];
	} *sh;
	pid_t pid[KIDS];
	struct chan_tick t;
	int fd, k, i;

	sh = kc_shared(sizeof(*sh));
	ASSERT_NE(NULL, sh);
	fd = kc_timer(10000 * MS, 0);
	ASSERT_GE(fd, 0);
	for (k = 0; k < KIDS; k++) {
		pid[k] = kc_fork();
		ASSERT_GE(pid[k], 0);
		if (pid[k] == 0) {
			while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
				int r = kc_recv_tick(fd, &t, 20 * MS);

				if (r == -ETIMEDOUT)
					continue;
				if (r != 1 ||
				    (int64_t)t.expiry_ns > kc_now_ns() ||
				    (int64_t)t.expiry_ns < sh->last[k])
					sh->bad[k]++;
				sh->last[k] = t.expiry_ns;
				sh->got[k]++;
			}
			_exit(KC_OK);
		}
	}
	for (i = 0; i < ROUNDS; i++) {
		int r = kc_timer_set(fd, (i % 3) * 100000,
				     50000 * (1 + i % 2), 0);

		ASSERT_TRUE(r == 0 || r == 1) TH_LOG("reset: %d", r);
		if (i % 4 == 3)
			usleep(200);
		r = kc_timer_set(fd, 0, 0, CHAN_TIMER_STOP);
		ASSERT_TRUE(r == 0 || r == 1) TH_LOG("stop: %d", r);
		if (i % 5 == 0)
			usleep(100);
	}
	/* Stopped for good: nothing may arrive any more. */
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
	for (k = 0; k < KIDS; k++)
		EXPECT_EQ(KC_OK, kc_reap(pid[k]));
	EXPECT_EQ(-ETIMEDOUT, kc_recv_tick(fd, &t, 30 * MS));
	for (k = 0; k < KIDS; k++)
		EXPECT_EQ(0, sh->bad[k]);
	TH_LOG("received %ld + %ld, fires %lld", sh->got[0], sh->got[1],
	       kc_fdinfo_num(fd, "timer_fires"));
	EXPECT_EQ(KC_INFO(fd, sent), KC_INFO(fd, received) + KC_INFO(fd, len));
	EXPECT_GE(kc_fdinfo_num(fd, "timer_fires"), sh->got[0] + sh->got[1]);
	close(fd);
	munmap(sh, sizeof(*sh));
}

/* ---- sharing, lifetime ---- */

/*
 * Two processes receive from one ticker passed to them in a message: every
 * tick is taken exactly once (no expiry seen twice, all on the grid).
 */
TEST(shared_ticker_each_tick_once)
{
	enum { KIDS = 2, PER = 40 };
	const int64_t period = 2 * MS;
	struct shared {
		uint64_t exp[KIDS][PER];
	} *sh;
	uint64_t all[KIDS * PER], base;
	pid_t pid[KIDS];
	int carrier, fd, k, i;
	char b;

	sh = kc_shared(sizeof(*sh));
	ASSERT_NE(NULL, sh);
	carrier = kc_create_flags(KIDS, 1, CHAN_FDPASS);
	ASSERT_GE(carrier, 0);
	for (k = 0; k < KIDS; k++) {
		pid[k] = kc_fork();
		ASSERT_GE(pid[k], 0);
		if (pid[k] == 0) {
			struct chan_msg m;
			struct chan_tick t;

			kc_msg_init(&m, &b, 1, -1);
			if (ioctl(carrier, CHAN_IOC_RECV, &m) || m.fd < 0)
				_exit(KC_FAIL);
			for (i = 0; i < PER; i++) {
				if (kc_recv_tick(m.fd, &t, -1) != 1)
					_exit(KC_FAIL);
				sh->exp[k][i] = t.expiry_ns;
			}
			_exit(KC_OK);
		}
	}
	/* Created after the fork: the children only have it by message. */
	fd = kc_timer(period, period);
	ASSERT_GE(fd, 0);
	for (k = 0; k < KIDS; k++)
		ASSERT_EQ(0, kc_send_fd(carrier, &b, 1, fd, -1));
	/* Our handle goes; the children's keep the ticker alive. */
	close(fd);
	for (k = 0; k < KIDS; k++)
		ASSERT_EQ(KC_OK, kc_reap(pid[k]));
	memcpy(all, sh->exp, sizeof(all));
	qsort(all, KIDS * PER, sizeof(all[0]), cmp_i64);
	base = all[0];
	for (i = 0; i < KIDS * PER; i++) {
		EXPECT_EQ(0, (all[i] - base) % period);
		if (i)
			ASSERT_NE(all[i - 1], all[i]) TH_LOG("tick %d twice", i);
	}
	for (k = 0; k < KIDS; k++)
		for (i = 1; i < PER; i++)
			EXPECT_LT(sh->exp[k][i - 1], sh->exp[k][i]);
	close(carrier);
	munmap(sh, sizeof(*sh));
}

/*
 * The holder of a ticker is SIGKILLed: alone, its timer is freed with it;
 * after it passed the fd on, the receiver's ticks keep coming.
 */
TEST(sigkill_of_holder)
{
	struct chan_tick t;
	int before, carrier, fd, p[2];
	pid_t pid;
	char b = 0;

	before = kc_kchan_count();
	ASSERT_GE(before, 0);
	ASSERT_EQ(0, pipe(p));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int tk = kc_timer(MS, MS);

		if (tk < 0 || kc_recv_tick(tk, &t, -1) != 1)
			_exit(KC_FAIL);
		kc_pipe_put(p[1]);
		/* Blocked in a receive when the kill comes. */
		kc_recv_tick(tk, &t, -1);
		kc_recv_tick(tk, &t, -1);
		pause();
		_exit(KC_FAIL);
	}
	ASSERT_EQ(1, kc_pipe_get(p[0]));
	EXPECT_EQ(before + 1, kc_kchan_count());
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, kc_reap(pid));
	EXPECT_EQ(before, kc_kchan_wait_count(before, KC_WAIT_MS));

	carrier = kc_create_flags(1, 1, CHAN_FDPASS);
	ASSERT_GE(carrier, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int tk = kc_timer(MS, MS);

		if (tk < 0 || kc_send_fd(carrier, &b, 1, tk, -1))
			_exit(KC_FAIL);
		kc_pipe_put(p[1]);
		pause();
		_exit(KC_FAIL);
	}
	ASSERT_EQ(1, kc_pipe_get(p[0]));
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, kc_reap(pid));
	{
		struct chan_msg m;

		kc_msg_init(&m, &b, 1, -1);
		ASSERT_EQ(0, ioctl(carrier, CHAN_IOC_RECV, &m));
		fd = m.fd;
	}
	ASSERT_GE(fd, 0);
	ASSERT_EQ(1, kc_recv_tick(fd, &t, -1));
	ASSERT_EQ(1, kc_recv_tick(fd, &t, -1));
	close(fd);
	close(carrier);
	EXPECT_EQ(before, kc_kchan_wait_count(before, KC_WAIT_MS));
	close(p[0]);
	close(p[1]);
}

/* Many idle timers: each a channel in /proc/kchan, none firing. */
TEST(idle_timers_are_channels)
{
	enum { N = 200 };
	int fds[N], i, before;

	before = kc_kchan_count();
	ASSERT_GE(before, 0);
	for (i = 0; i < N; i++) {
		fds[i] = kc_timer(3600000 * MS, i % 2 ? 3600000 * MS : 0);
		ASSERT_GE(fds[i], 0);
	}
	EXPECT_EQ(before + N, kc_kchan_count());
	for (i = 0; i < N; i++) {
		EXPECT_EQ(0, kc_fdinfo_num(fds[i], "timer_fires"));
		close(fds[i]);
	}
	EXPECT_EQ(before, kc_kchan_wait_count(before, KC_WAIT_MS));
}

/* Counted as channels of their user: max_user_channels bounds them. */
TEST(timers_count_against_user_limits)
{
	long saved = kc_param_get("max_user_channels");
	pid_t pid;

	ASSERT_GT(saved, 0);
	ASSERT_EQ(0, kc_param_set("max_user_channels", 3));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int dev = open(CHAN_DEVICE, O_RDWR | O_CLOEXEC), i;

		if (setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(90);
		for (i = 0; i < 3; i++)
			if (kc_timer_on(dev, CLOCK_MONOTONIC, 3600000 * MS,
					0, 0) < 0)
				_exit(91);
		_exit(kc_timer_on(dev, CLOCK_MONOTONIC, 3600000 * MS, 0, 0) ==
		      -EMFILE ? KC_OK : KC_FAIL);
	}
	EXPECT_EQ(KC_OK, kc_reap(pid));
	kc_param_set("max_user_channels", saved);
}

/* ---- bad input ---- */

TEST(bad_timer_create)
{
	int dev = kc_devfd(), mono = CLOCK_MONOTONIC, fd;
	struct {
		struct chan_timer t;
		uint64_t extra;
	} big;
	struct chan_timer t;

	/* Clocks: only MONOTONIC and BOOTTIME. */
	EXPECT_EQ(-EINVAL, kc_timer_on(dev, CLOCK_REALTIME, MS, 0, 0));
	EXPECT_EQ(-EINVAL, kc_timer_on(dev, CLOCK_TAI, MS, 0, 0));
	EXPECT_EQ(-EINVAL, kc_timer_on(dev, CLOCK_PROCESS_CPUTIME_ID, MS, 0, 0));
	EXPECT_EQ(-EINVAL, kc_timer_on(dev, -1, MS, 0, 0));
	EXPECT_EQ(-EINVAL, kc_timer_on(dev, 1000, MS, 0, 0));
	/* Negative and overflowing values. */
	EXPECT_EQ(-EINVAL, kc_timer_on(dev, mono, -1, 0, 0));
	EXPECT_EQ(-EINVAL, kc_timer_on(dev, mono, MS, -1, 0));
	EXPECT_EQ(-EINVAL, kc_timer_on(dev, mono, INT64_MIN, INT64_MIN, 0));
	EXPECT_EQ(-EINVAL, kc_timer_on(dev, mono, INT64_MAX, 0, 0));
	EXPECT_EQ(-EINVAL, kc_timer_on(dev, mono, INT64_MAX - 1, MS, 0));
	EXPECT_EQ(-EINVAL, kc_timer_on(dev, mono, -1, 0, CHAN_TIMER_ABSTIME));
	/* An absolute INT64_MAX is a time that never comes: fine. */
	fd = kc_timer_on(dev, mono, INT64_MAX, INT64_MAX, CHAN_TIMER_ABSTIME);
	EXPECT_GE(fd, 0);
	close(fd);
	/* Flags: CREATE's attributes, STOP, unknown bits. */
	EXPECT_EQ(-EINVAL, kc_timer_on(dev, mono, MS, 0, CHAN_FDPASS));
	EXPECT_EQ(-EINVAL, kc_timer_on(dev, mono, MS, 0, CHAN_AUTOCLOSE));
	EXPECT_EQ(-EINVAL, kc_timer_on(dev, mono, MS, 0, CHAN_TIMER_STOP));
	EXPECT_EQ(-EINVAL, kc_timer_on(dev, mono, MS, 0, 1U << 31));
	/* Reserved, sizes, pointers. */
	memset(&t, 0, sizeof(t));
	t.size = sizeof(t);
	t.clockid = mono;
	t.value_ns = MS;
	t.reserved = 1;
	EXPECT_EQ(-1, ioctl(dev, CHAN_IOC_TIMER, &t));
	EXPECT_EQ(EINVAL, errno);
	t.reserved = 0;
	t.size = CHAN_TIMER_SIZE_VER0 - 1;
	EXPECT_EQ(-1, ioctl(dev, CHAN_IOC_TIMER, &t));
	EXPECT_EQ(EINVAL, errno);
	memset(&big, 0, sizeof(big));
	big.t = t;
	big.t.size = sizeof(big);
	big.extra = 1;
	EXPECT_EQ(-1, ioctl(dev, CHAN_IOC_TIMER, &big));
	EXPECT_EQ(E2BIG, errno);
	big.extra = 0;
	fd = ioctl(dev, CHAN_IOC_TIMER, &big);
	EXPECT_GE(fd, 0);
	close(fd);
	EXPECT_EQ(-1, ioctl(dev, CHAN_IOC_TIMER, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(dev, CHAN_IOC_TIMER, kc_page_none()));
	EXPECT_EQ(EFAULT, errno);
}

TEST(bad_timer_set)
{
	struct chan_timer_set s;
	int fd, ch, dev = kc_devfd();

	fd = kc_timer(3600000 * MS, 0);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(-EINVAL, kc_timer_set(fd, -1, 0, 0));
	EXPECT_EQ(-EINVAL, kc_timer_set(fd, 0, -1, 0));
	EXPECT_EQ(-EINVAL, kc_timer_set(fd, INT64_MAX, 0, 0));
	EXPECT_EQ(-EINVAL, kc_timer_set(fd, MS, 0, CHAN_TIMER_STOP));
	EXPECT_EQ(-EINVAL, kc_timer_set(fd, 0, MS, CHAN_TIMER_STOP));
	EXPECT_EQ(-EINVAL, kc_timer_set(fd, 0, 0,
					CHAN_TIMER_STOP | CHAN_TIMER_ABSTIME));
	EXPECT_EQ(-EINVAL, kc_timer_set(fd, MS, 0, CHAN_CLOEXEC));
	EXPECT_EQ(-EINVAL, kc_timer_set(fd, MS, 0, 1U << 31));
	/* A failed call changed nothing. */
	EXPECT_EQ(1, kc_fdinfo_num(fd, "timer_active"));
	memset(&s, 0, sizeof(s));
	s.size = CHAN_TIMER_SET_SIZE_VER0 - 1;
	EXPECT_EQ(-1, ioctl(fd, CHAN_IOC_TIMER_SET, &s));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(fd, CHAN_IOC_TIMER_SET, NULL));
	EXPECT_EQ(EFAULT, errno);
	/* The other kinds of fd: ENOTTY. */
	ch = kc_create(1, 16);
	ASSERT_GE(ch, 0);
	EXPECT_EQ(-ENOTTY, kc_timer_set(ch, MS, 0, 0));
	EXPECT_EQ(-ENOTTY, kc_timer_on(ch, CLOCK_MONOTONIC, MS, 0, 0));
	EXPECT_EQ(-ENOTTY, kc_timer_on(fd, CLOCK_MONOTONIC, MS, 0, 0));
	EXPECT_EQ(-ENOTTY, kc_timer_set(dev, MS, 0, 0));
	close(ch);
	close(fd);
}

TEST_HARNESS_MAIN
