// SPDX-License-Identifier: GPL-2.0
/*
 * CHAN_IOC_SELECT (issue 3): Go's select across processes.
 *
 * One test per rule: ready case chosen, nil cases, default (timeout 0),
 * timeouts, closed channels, the same channel in several cases, no
 * rendezvous with itself, exactly one case takes effect, send data never
 * delivered unless reported, wakeup by any channel with every other waiter
 * removed, poll readiness of parked cases, bad input (EMSGSIZE, EFAULT,
 * EINVAL, EBADF, ENOBUFS), the case limit, signals. Then the heavy ones
 * (fairness, the duel of selects against selects, 1,024 channels) and the
 * classic patterns that need select (fan-in with nil-ing closed inputs,
 * timeout around a slow worker, done-channel cancellation, priority).
 *
 * Every peer is a fork()ed process. Ordering never relies on sleeps: a
 * process that needs "the select is parked now" waits until INFO shows its
 * waiters. Children report through their exit status (0 = fine, any other
 * code names the check that failed) and through shared memory.
 */
#include <limits.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include "kchan_test.h"

#define MS(x)		((int64_t)(x) * 1000000LL)
#define SENTINEL	0x5eU	/* ok preset in cases the kernel must not touch */
#define TEST_ALARM	60	/* no single test blocks longer than this */

/* Child check: exit with code on failure. */
#define CHILD_CHECK(cond, code)			\
	do {					\
		if (!(cond))			\
			_exit(code);		\
	} while (0)

/* ---- helpers ------------------------------------------------------------ */

/* Fill one case; ok is preset to SENTINEL so untouched cases are visible. */
static void cs(struct chan_select_case *c, int fd, unsigned int op, const void *buf,
	       size_t len)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->op = op;
	c->buf = (uintptr_t)buf;
	c->len = len;
	c->ok = SENTINEL;
}

/*
 * CHAN_IOC_SELECT issued on fd `on`. Returns the index, or -errno.
 * *index gets the struct's index field. A success whose return value and
 * index field disagree is -EPROTO; EAGAIN/ETIMEDOUT with an index other
 * than -1 is -EBADE.
 */
static int sel_on(int on, struct chan_select_case *c, unsigned int n,
		  int64_t timeout_ns, int *index)
{
	struct chan_select s;
	int r;

	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.cases = (uintptr_t)c;
	s.ncases = n;
	s.case_size = sizeof(struct chan_select_case);
	s.timeout_ns = timeout_ns;
	s.index = 12345;
	r = ioctl(on, CHAN_IOC_SELECT, &s);
	if (r < 0)
		r = -errno;
	if (index)
		*index = s.index;
	if (r >= 0 && s.index != r)
		return -EPROTO;
	if ((r == -EAGAIN || r == -ETIMEDOUT) && s.index != -1)
		return -EBADE;
	return r;
}

static int sel(struct chan_select_case *c, unsigned int n, int64_t timeout_ns)
{
	return sel_on(kc_devfd(), c, n, timeout_ns, NULL);
}

/* Cases other than `fired` whose ok the kernel wrote (should be 0). */
static int touched_others(const struct chan_select_case *c, unsigned int n,
			  int fired)
{
	unsigned int i;
	int bad = 0;

	for (i = 0; i < n; i++)
		if ((int)i != fired && c[i].ok != SENTINEL)
			bad++;
	return bad;
}

static int raise_nofile(rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	if (rl.rlim_cur >= want)
		return 0;
	rl.rlim_cur = want;
	if (rl.rlim_max < want)
		rl.rlim_max = want;
	return setrlimit(RLIMIT_NOFILE, &rl) ? -errno : 0;
}

/* Tests that run longer than the harness's 30 s default live here. */
FIXTURE(slow) {
	int unused;
};

FIXTURE_SETUP(slow)
{
	(void)self;
}

FIXTURE_TEARDOWN(slow)
{
	(void)self;
}

/* ---- a ready case is chosen --------------------------------------------- */

/*
 * Eight cases, exactly one ready (a buffered message or a parked-free
 * slot), timeout 0: the ready one must be found every time, wherever it
 * sits. Comes first: a select that visits some cases twice and others
 * never (a broken shuffle) fails here with EAGAIN before anything parks.
 */
TEST(only_ready_case_is_always_found)
{
	int ch[8], i, k, r, misses = 0;
	uint32_t bufs[8], v = 9;
	struct chan_select_case c[8];

	alarm(TEST_ALARM);
	for (k = 0; k < 8; k++) {
		ch[k] = kc_create(1, 4);
		ASSERT_GE(ch[k], 0);
	}
	for (i = 0; i < 400; i++) {
		int want = i % 8;
		int send = (i / 8) % 2;

		for (k = 0; k < 8; k++) {
			/* recv rounds: all empty; send rounds: all full */
			if (send) {
				ASSERT_EQ(0, kc_send_u32(ch[k], k, 0));
			}
			cs(&c[k], ch[k], send ? CHAN_OP_SEND : CHAN_OP_RECV,
			   send ? (void *)&v : (void *)&bufs[k], 4);
		}
		if (send) {
			ASSERT_EQ(1, kc_recv_u32(ch[want], &bufs[want], 0));
		} else {
			ASSERT_EQ(0, kc_send_u32(ch[want], want, 0));
		}
		r = sel(c, 8, 0);
		if (r != want && misses++ < 5)
			TH_LOG("round %d: case %d ready, select said %d", i,
			       want, r);
		/* empty every channel for the next round */
		for (k = 0; k < 8; k++)
			while (kc_recv_u32(ch[k], &bufs[k], 0) == 1)
				;
	}
	EXPECT_EQ(0, misses);
	for (k = 0; k < 8; k++)
		close(ch[k]);
}


TEST(ready_recv_case_chosen)
{
	int a = kc_create(2, 16), b = kc_create(2, 16), u = kc_create(0, 16);
	char ba[16], bb[16], bu[16];
	struct chan_select_case c[3];

	alarm(TEST_ALARM);
	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	ASSERT_GE(u, 0);
	ASSERT_EQ(0, kc_send(b, "hello", 5, 0));
	cs(&c[0], a, CHAN_OP_RECV, ba, sizeof(ba));
	cs(&c[1], b, CHAN_OP_RECV, bb, sizeof(bb));
	cs(&c[2], u, CHAN_OP_RECV, bu, sizeof(bu));
	/* Forever: a ready case must not wait. */
	ASSERT_EQ(1, sel(c, 3, -1));
	EXPECT_EQ(1, c[1].ok);
	EXPECT_EQ(5, c[1].len);
	EXPECT_EQ(0, memcmp(bb, "hello", 5));
	EXPECT_EQ(0, touched_others(c, 3, 1));
	EXPECT_EQ(sizeof(ba), c[0].len);
	EXPECT_EQ(sizeof(bu), c[2].len);
	EXPECT_EQ(0, KC_INFO(b, len));
	EXPECT_EQ(1, KC_INFO(b, received));
	EXPECT_EQ(0, KC_INFO(a, received));
	close(a);
	close(b);
	close(u);
}

TEST(ready_send_case_chosen)
{
	int full = kc_create(1, 8), room = kc_create(1, 8), u = kc_create(0, 8);
	struct chan_select_case c[3];
	char buf[8];
	size_t len;

	alarm(TEST_ALARM);
	ASSERT_GE(full, 0);
	ASSERT_GE(room, 0);
	ASSERT_GE(u, 0);
	ASSERT_EQ(0, kc_send(full, "old", 3, 0));
	cs(&c[0], full, CHAN_OP_SEND, "full", 4);
	cs(&c[1], room, CHAN_OP_SEND, "room", 4);
	cs(&c[2], u, CHAN_OP_SEND, "unbf", 4);
	ASSERT_EQ(1, sel(c, 3, 0));
	EXPECT_EQ(1, c[1].ok);
	EXPECT_EQ(4, c[1].len);		/* a send case's len is left alone */
	EXPECT_EQ(0, touched_others(c, 3, 1));
	EXPECT_EQ(1, KC_INFO(room, len));
	EXPECT_EQ(1, KC_INFO(full, len));
	EXPECT_EQ(1, KC_INFO(full, sent));
	EXPECT_EQ(0, KC_INFO(u, sent));
	ASSERT_EQ(1, kc_recv(room, buf, sizeof(buf), &len, 0));
	EXPECT_EQ(4, len);
	EXPECT_EQ(0, memcmp(buf, "room", 4));
	ASSERT_EQ(1, kc_recv(full, buf, sizeof(buf), &len, 0));
	EXPECT_EQ(0, memcmp(buf, "old", 3));
	close(full);
	close(room);
	close(u);
}

/* A peer parked in another process makes an unbuffered case ready. */
TEST(ready_case_is_a_parked_peer_process)
{
	int e = kc_create(1, 8), us = kc_create(0, 8), ur = kc_create(0, 8);
	struct chan_select_case c[2];
	char buf[8];
	pid_t ps, pr;

	alarm(TEST_ALARM);
	ASSERT_GE(e, 0);
	ASSERT_GE(us, 0);
	ASSERT_GE(ur, 0);
	ps = kc_fork();
	ASSERT_GE(ps, 0);
	if (ps == 0)
		_exit(kc_send(us, "peer", 4, MS(20000)) ? 10 : 0);
	pr = kc_fork();
	ASSERT_GE(pr, 0);
	if (pr == 0) {
		char b[8];
		size_t l = 0;

		CHILD_CHECK(kc_recv(ur, b, sizeof(b), &l, MS(20000)) == 1, 20);
		CHILD_CHECK(l == 4 && !memcmp(b, "back", 4), 21);
		_exit(0);
	}
	ASSERT_EQ(0, KC_WAIT(us, send_waiters, 1));
	ASSERT_EQ(0, KC_WAIT(ur, recv_waiters, 1));

	/* timeout 0: a parked sender is a ready recv case */
	cs(&c[0], e, CHAN_OP_RECV, buf, sizeof(buf));
	cs(&c[1], us, CHAN_OP_RECV, buf, sizeof(buf));
	ASSERT_EQ(1, sel(c, 2, 0));
	EXPECT_EQ(1, c[1].ok);
	EXPECT_EQ(4, c[1].len);
	EXPECT_EQ(0, memcmp(buf, "peer", 4));
	EXPECT_EQ(0, kc_reap(ps));

	/* and a parked receiver is a ready send case */
	cs(&c[0], e, CHAN_OP_RECV, buf, sizeof(buf));
	cs(&c[1], ur, CHAN_OP_SEND, "back", 4);
	ASSERT_EQ(1, sel(c, 2, 0));
	EXPECT_EQ(1, c[1].ok);
	EXPECT_EQ(0, kc_reap(pr));
	EXPECT_EQ(0, KC_INFO(us, send_waiters));
	EXPECT_EQ(0, KC_INFO(ur, recv_waiters));
	close(e);
	close(us);
	close(ur);
}

/* ---- nil cases ------------------------------------------------------------ */

TEST(nil_case_never_fires)
{
	int a = kc_create(1, 8), i, r;
	char b0[8], b2[8];
	struct chan_select_case c[3];
	int64_t t0;

	alarm(TEST_ALARM);
	ASSERT_GE(a, 0);
	for (i = 0; i < 30; i++) {
		ASSERT_EQ(0, kc_send(a, "msg", 3, 0));
		cs(&c[0], -1, CHAN_OP_RECV, b0, sizeof(b0));
		cs(&c[1], -1, CHAN_OP_SEND, "nil", 3);
		cs(&c[2], a, CHAN_OP_RECV, b2, sizeof(b2));
		ASSERT_EQ(2, sel(c, 3, -1));
		ASSERT_EQ(1, c[2].ok);
		ASSERT_EQ(0, touched_others(c, 3, 2));
	}
	/* Nothing ready but nil cases next to an open channel: it waits. */
	cs(&c[0], -1, CHAN_OP_RECV, b0, sizeof(b0));
	cs(&c[1], -1, CHAN_OP_SEND, "nil", 3);
	cs(&c[2], a, CHAN_OP_RECV, b2, sizeof(b2));
	t0 = kc_now_ns();
	r = sel(c, 3, MS(100));
	EXPECT_EQ(-ETIMEDOUT, r);
	EXPECT_GE(kc_now_ns() - t0, MS(100));
	EXPECT_EQ(0, touched_others(c, 3, -1));
	EXPECT_EQ(-EAGAIN, sel(c, 3, 0));
	close(a);
}

TEST(nil_case_needs_a_valid_op)
{
	unsigned int bad[] = { 0, 3, 4, 0x80000001U, 0xffffffffU };
	int a = kc_create(1, 8);
	struct chan_select_case c[2];
	char buf[8];
	unsigned int i;

	alarm(TEST_ALARM);
	ASSERT_GE(a, 0);
	ASSERT_EQ(0, kc_send(a, "x", 1, 0));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cs(&c[0], a, CHAN_OP_RECV, buf, sizeof(buf));
		cs(&c[1], -1, bad[i], buf, sizeof(buf));
		EXPECT_EQ(-EINVAL, sel(c, 2, 0)) TH_LOG("op %#x", bad[i]);
		EXPECT_EQ(-EINVAL, sel(&c[1], 1, 0)) TH_LOG("op %#x", bad[i]);
	}
	EXPECT_EQ(1, KC_INFO(a, len));
	close(a);
}

TEST(all_nil_timeout_zero_eagain)
{
	struct chan_select_case c[3];
	char buf[4];
	int index = 0;

	alarm(TEST_ALARM);
	cs(&c[0], -1, CHAN_OP_RECV, buf, sizeof(buf));
	cs(&c[1], -1, CHAN_OP_SEND, buf, sizeof(buf));
	cs(&c[2], -1, CHAN_OP_RECV, NULL, 0);
	EXPECT_EQ(-EAGAIN, sel_on(kc_devfd(), c, 3, 0, &index));
	EXPECT_EQ(-1, index);
	EXPECT_EQ(0, touched_others(c, 3, -1));
	/* no cases at all: Go's select { default: } */
	EXPECT_EQ(-EAGAIN, sel_on(kc_devfd(), NULL, 0, 0, &index));
	EXPECT_EQ(-1, index);
}

TEST(all_nil_timeout_positive_etimedout)
{
	struct chan_select_case c[2];
	char buf[4];
	int64_t t0, el;
	int index = 0;

	alarm(TEST_ALARM);
	cs(&c[0], -1, CHAN_OP_RECV, buf, sizeof(buf));
	cs(&c[1], -1, CHAN_OP_SEND, buf, sizeof(buf));
	t0 = kc_now_ns();
	EXPECT_EQ(-ETIMEDOUT, sel_on(kc_devfd(), c, 2, MS(150), &index));
	el = kc_now_ns() - t0;
	EXPECT_EQ(-1, index);
	EXPECT_GE(el, MS(150));
	EXPECT_LT(el, MS(10000));
	t0 = kc_now_ns();
	EXPECT_EQ(-ETIMEDOUT, sel_on(kc_devfd(), NULL, 0, MS(100), &index));
	EXPECT_GE(kc_now_ns() - t0, MS(100));
}

/* select {} with nil cases: blocks until a signal; EINTR without restart. */
TEST(all_nil_forever_blocks_until_signal)
{
	struct chan_select_case c[2];
	pid_t parent = getpid(), pid;
	char buf[4];
	int64_t t0, el;

	alarm(TEST_ALARM);
	kc_hits = kc_shared(4096);
	ASSERT_NE(NULL, kc_hits);
	ASSERT_EQ(0, kc_sigaction(SIGUSR1, kc_on_usr1, 0));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		CHILD_CHECK(kc_wait_sleeping(parent) == 0, 10);
		kc_sleep_ms(400);
		/* still asleep in the select 400 ms later */
		CHILD_CHECK(kc_wait_sleeping(parent) == 0, 11);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	cs(&c[0], -1, CHAN_OP_RECV, buf, sizeof(buf));
	cs(&c[1], -1, CHAN_OP_SEND, buf, sizeof(buf));
	t0 = kc_now_ns();
	EXPECT_EQ(-EINTR, sel(c, 2, -1));
	el = kc_now_ns() - t0;
	EXPECT_GE(el, MS(400));
	EXPECT_EQ(1, *kc_hits);
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(0, touched_others(c, 2, -1));
}

/* ---- timeout 0 is default; timeouts --------------------------------------- */

TEST(timeout_zero_is_default)
{
	int e = kc_create(2, 8), u = kc_create(0, 8), f = kc_create(1, 8);
	int fds[3] = { e, u, f }, index = 0;
	struct chan_select_case c[4];
	char buf[8];
	int64_t t0;

	alarm(TEST_ALARM);
	ASSERT_GE(e, 0);
	ASSERT_GE(u, 0);
	ASSERT_GE(f, 0);
	ASSERT_EQ(0, kc_send(f, "f", 1, 0));
	cs(&c[0], e, CHAN_OP_RECV, buf, sizeof(buf));
	cs(&c[1], u, CHAN_OP_SEND, "u", 1);
	cs(&c[2], f, CHAN_OP_SEND, "g", 1);
	cs(&c[3], u, CHAN_OP_RECV, buf, sizeof(buf));
	t0 = kc_now_ns();
	EXPECT_EQ(-EAGAIN, sel_on(kc_devfd(), c, 4, 0, &index));
	EXPECT_LT(kc_now_ns() - t0, MS(2000));
	EXPECT_EQ(-1, index);
	EXPECT_EQ(0, touched_others(c, 4, -1));
	EXPECT_EQ(0, kc_waiters_sum(fds, 3));
	EXPECT_EQ(0, KC_INFO(u, sent));
	EXPECT_EQ(1, KC_INFO(f, sent));
	EXPECT_EQ(1, KC_INFO(f, len));
	EXPECT_EQ(0, KC_INFO(e, received));
	close(e);
	close(u);
	close(f);
}

TEST(timeout_expires_etimedout_nothing_moved)
{
	int e = kc_create(2, 8), u = kc_create(0, 8), f = kc_create(1, 8);
	int fds[3] = { e, u, f }, index = 0;
	struct chan_select_case c[3];
	char buf[8];
	int64_t t0, el;

	alarm(TEST_ALARM);
	ASSERT_GE(e, 0);
	ASSERT_GE(u, 0);
	ASSERT_GE(f, 0);
	ASSERT_EQ(0, kc_send(f, "f", 1, 0));
	cs(&c[0], e, CHAN_OP_RECV, buf, sizeof(buf));
	cs(&c[1], u, CHAN_OP_SEND, "u", 1);
	cs(&c[2], f, CHAN_OP_SEND, "g", 1);
	t0 = kc_now_ns();
	EXPECT_EQ(-ETIMEDOUT, sel_on(kc_devfd(), c, 3, MS(200), &index));
	el = kc_now_ns() - t0;
	EXPECT_GE(el, MS(200));
	EXPECT_LT(el, MS(10000));
	EXPECT_EQ(-1, index);
	EXPECT_EQ(0, touched_others(c, 3, -1));
	EXPECT_EQ(0, kc_waiters_sum(fds, 3));
	EXPECT_EQ(0, KC_INFO(u, sent));
	EXPECT_EQ(1, KC_INFO(f, len));
	/* The send data did not stay behind for a late receiver. */
	EXPECT_EQ(-EAGAIN, kc_recv(u, buf, sizeof(buf), NULL, 0));
	close(e);
	close(u);
	close(f);
}

/* ---- closed channels ------------------------------------------------------ */

TEST(send_case_on_closed_fires_ok0)
{
	int cl = kc_create(2, 8), e = kc_create(1, 8), f = kc_create(1, 8);
	struct chan_select_case c[2];
	char buf[8];
	size_t len;
	pid_t pid;
	int i;

	alarm(TEST_ALARM);
	ASSERT_GE(cl, 0);
	ASSERT_GE(e, 0);
	ASSERT_GE(f, 0);
	ASSERT_EQ(0, kc_close(cl));
	for (i = 0; i < 10; i++) {
		cs(&c[0], cl, CHAN_OP_SEND, "x", 1);
		cs(&c[1], e, CHAN_OP_RECV, buf, sizeof(buf));
		ASSERT_EQ(0, sel(c, 2, -1));
		ASSERT_EQ(0, c[0].ok);
		ASSERT_EQ(0, touched_others(c, 2, 0));
	}
	EXPECT_EQ(0, KC_INFO(cl, sent));
	EXPECT_EQ(0, KC_INFO(cl, len));

	/* A parked send case is woken by the close, with ok = 0. */
	ASSERT_EQ(0, kc_send(f, "old", 3, 0));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		cs(&c[0], f, CHAN_OP_SEND, "new", 3);
		cs(&c[1], e, CHAN_OP_RECV, buf, sizeof(buf));
		CHILD_CHECK(sel(c, 2, MS(20000)) == 0, 10);
		CHILD_CHECK(c[0].ok == 0, 11);
		CHILD_CHECK(c[1].ok == SENTINEL, 12);
		_exit(0);
	}
	ASSERT_EQ(0, KC_WAIT(f, send_waiters, 1));
	ASSERT_EQ(0, KC_WAIT(e, recv_waiters, 1));
	ASSERT_EQ(0, kc_close(f));
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(1, KC_INFO(f, sent));
	EXPECT_EQ(0, KC_INFO(f, send_waiters));
	EXPECT_EQ(0, KC_INFO(e, recv_waiters));
	ASSERT_EQ(1, kc_recv(f, buf, sizeof(buf), &len, 0));
	EXPECT_EQ(3, len);
	EXPECT_EQ(0, memcmp(buf, "old", 3));
	EXPECT_EQ(0, kc_recv(f, buf, sizeof(buf), &len, 0));
	close(cl);
	close(e);
	close(f);
}

TEST(recv_case_on_closed_fires_ok0_after_drain)
{
	int cl = kc_create(3, 8), e = kc_create(1, 8), e2 = kc_create(0, 8);
	struct chan_select_case c[2];
	char buf[8], eb[8];
	pid_t pid;

	alarm(TEST_ALARM);
	ASSERT_GE(cl, 0);
	ASSERT_GE(e, 0);
	ASSERT_GE(e2, 0);
	ASSERT_EQ(0, kc_send(cl, "m1", 2, 0));
	ASSERT_EQ(0, kc_send(cl, "m2", 2, 0));
	ASSERT_EQ(0, kc_close(cl));

	cs(&c[0], e, CHAN_OP_RECV, eb, sizeof(eb));
	cs(&c[1], cl, CHAN_OP_RECV, buf, sizeof(buf));
	ASSERT_EQ(1, sel(c, 2, -1));
	EXPECT_EQ(1, c[1].ok);
	EXPECT_EQ(2, c[1].len);
	EXPECT_EQ(0, memcmp(buf, "m1", 2));

	cs(&c[1], cl, CHAN_OP_RECV, buf, sizeof(buf));
	ASSERT_EQ(1, sel(c, 2, -1));
	EXPECT_EQ(1, c[1].ok);
	EXPECT_EQ(0, memcmp(buf, "m2", 2));

	cs(&c[1], cl, CHAN_OP_RECV, buf, sizeof(buf));
	ASSERT_EQ(1, sel(c, 2, -1));
	EXPECT_EQ(0, c[1].ok);
	EXPECT_EQ(0, c[1].len);
	cs(&c[1], cl, CHAN_OP_RECV, buf, sizeof(buf));
	ASSERT_EQ(1, sel(c, 2, 0));
	EXPECT_EQ(0, c[1].ok);
	EXPECT_EQ(2, KC_INFO(cl, received));

	/* A parked recv case is woken by the close, with ok = 0. */
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		cs(&c[0], e, CHAN_OP_RECV, eb, sizeof(eb));
		cs(&c[1], e2, CHAN_OP_RECV, buf, sizeof(buf));
		CHILD_CHECK(sel(c, 2, MS(20000)) == 1, 10);
		CHILD_CHECK(c[1].ok == 0, 11);
		CHILD_CHECK(c[1].len == 0, 12);
		CHILD_CHECK(c[0].ok == SENTINEL, 13);
		_exit(0);
	}
	ASSERT_EQ(0, KC_WAIT(e, recv_waiters, 1));
	ASSERT_EQ(0, KC_WAIT(e2, recv_waiters, 1));
	ASSERT_EQ(0, kc_close(e2));
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(0, KC_INFO(e, recv_waiters));
	EXPECT_EQ(0, KC_INFO(e2, recv_waiters));
	close(cl);
	close(e);
	close(e2);
}

/* ---- the same channel in several cases ----------------------------------- */

TEST(same_channel_in_several_cases)
{
	int ch = kc_create(4, 8), one = kc_create(1, 8), both = kc_create(2, 8);
	uint32_t v[3] = { 10, 11, 12 }, got = 0, bufs[3];
	int seen[3] = { 0, 0, 0 };
	struct chan_select_case c[3];
	int i, r;

	alarm(TEST_ALARM);
	ASSERT_GE(ch, 0);
	ASSERT_GE(one, 0);
	ASSERT_GE(both, 0);

	/* three recv cases on one channel with two messages: one taken */
	ASSERT_EQ(0, kc_send_u32(ch, 1, 0));
	ASSERT_EQ(0, kc_send_u32(ch, 2, 0));
	for (i = 0; i < 3; i++)
		cs(&c[i], ch, CHAN_OP_RECV, &bufs[i], 4);
	r = sel(c, 3, 0);
	ASSERT_GE(r, 0);
	ASSERT_LT(r, 3);
	EXPECT_EQ(1, c[r].ok);
	EXPECT_EQ(1, bufs[r]);
	EXPECT_EQ(0, touched_others(c, 3, r));
	EXPECT_EQ(1, KC_INFO(ch, len));

	/* three send cases on a channel with one free slot: one sent */
	for (i = 0; i < 3; i++)
		cs(&c[i], one, CHAN_OP_SEND, &v[i], 4);
	r = sel(c, 3, 0);
	ASSERT_GE(r, 0);
	ASSERT_LT(r, 3);
	EXPECT_EQ(0, touched_others(c, 3, r));
	EXPECT_EQ(1, KC_INFO(one, len));
	ASSERT_EQ(1, kc_recv_u32(one, &got, 0));
	EXPECT_EQ(v[r], got);
	EXPECT_EQ(-EAGAIN, kc_recv_u32(one, &got, 0));

	/* send and recv on one buffered channel with room and data */
	for (i = 0; i < 40; i++) {
		uint32_t in = 0, out = 100 + i;

		ASSERT_EQ(0, kc_send_u32(both, i, 0));
		cs(&c[0], both, CHAN_OP_SEND, &out, 4);
		cs(&c[1], both, CHAN_OP_RECV, &in, 4);
		r = sel(c, 2, 0);
		ASSERT_GE(r, 0);
		ASSERT_LT(r, 2);
		seen[r]++;
		EXPECT_EQ(0, touched_others(c, 2, r));
		if (r == 0) {
			ASSERT_EQ(2, KC_INFO(both, len));
			ASSERT_EQ(1, kc_recv_u32(both, &got, 0));
			EXPECT_EQ(i, got);
			ASSERT_EQ(1, kc_recv_u32(both, &got, 0));
			EXPECT_EQ(out, got);
		} else {
			EXPECT_EQ(i, in);
			ASSERT_EQ(0, KC_INFO(both, len));
		}
	}
	/* both outcomes must occur (chance of missing one: 2^-39) */
	EXPECT_GT(seen[0], 0);
	EXPECT_GT(seen[1], 0);
	close(ch);
	close(one);
	close(both);
}

/* ---- a select never meets itself ----------------------------------------- */

TEST(no_rendezvous_with_itself)
{
	int u = kc_create(0, 8), u2, fds[1];
	struct chan_select_case c[2];
	char buf[8];
	pid_t pid;

	alarm(TEST_ALARM);
	ASSERT_GE(u, 0);
	fds[0] = u;
	cs(&c[0], u, CHAN_OP_SEND, "self", 4);
	cs(&c[1], u, CHAN_OP_RECV, buf, sizeof(buf));
	EXPECT_EQ(-EAGAIN, sel(c, 2, 0));
	EXPECT_EQ(-ETIMEDOUT, sel(c, 2, MS(200)));
	EXPECT_EQ(0, touched_others(c, 2, -1));
	EXPECT_EQ(0, KC_INFO(u, sent));
	EXPECT_EQ(0, kc_waiters_sum(fds, 1));

	/* the same through two handles of the channel */
	u2 = kc_dup(u, CHAN_RIGHT_RECV);
	ASSERT_GE(u2, 0);
	cs(&c[0], u, CHAN_OP_SEND, "self", 4);
	cs(&c[1], u2, CHAN_OP_RECV, buf, sizeof(buf));
	EXPECT_EQ(-ETIMEDOUT, sel(c, 2, MS(100)));
	EXPECT_EQ(0, KC_INFO(u, sent));

	/* parked on both sides of u, a real receiver takes the send case */
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		size_t l = 0;

		CHILD_CHECK(KC_WAIT(u, send_waiters, 1) == 0, 10);
		CHILD_CHECK(KC_WAIT(u, recv_waiters, 1) == 0, 11);
		CHILD_CHECK(kc_recv(u, buf, sizeof(buf), &l, MS(10000)) == 1,
			    12);
		CHILD_CHECK(l == 4 && !memcmp(buf, "self", 4), 13);
		_exit(0);
	}
	cs(&c[0], u, CHAN_OP_SEND, "self", 4);
	cs(&c[1], u, CHAN_OP_RECV, buf, sizeof(buf));
	EXPECT_EQ(0, sel(c, 2, MS(20000)));
	EXPECT_EQ(1, c[0].ok);
	EXPECT_EQ(SENTINEL, c[1].ok);
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(0, kc_waiters_sum(fds, 1));

	/* and a real sender meets the recv case */
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		CHILD_CHECK(KC_WAIT(u, send_waiters, 1) == 0, 10);
		CHILD_CHECK(KC_WAIT(u, recv_waiters, 1) == 0, 11);
		CHILD_CHECK(kc_send(u, "peer", 4, MS(10000)) == 0, 12);
		_exit(0);
	}
	memset(buf, 0, sizeof(buf));
	cs(&c[0], u, CHAN_OP_SEND, "self", 4);
	cs(&c[1], u, CHAN_OP_RECV, buf, sizeof(buf));
	EXPECT_EQ(1, sel(c, 2, MS(20000)));
	EXPECT_EQ(1, c[1].ok);
	EXPECT_EQ(0, memcmp(buf, "peer", 4));
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(0, kc_waiters_sum(fds, 1));
	EXPECT_EQ(2, KC_INFO(u, sent));
	close(u2);
	close(u);
}

/* ---- exactly one case takes effect --------------------------------------- */

TEST(exactly_one_of_two_ready_recv_cases)
{
	int seen[3] = { 0, 0, 0 }, i, r;

	alarm(TEST_ALARM);
	for (i = 0; i < 60; i++) {
		int a = kc_create(1, 4), b = kc_create(1, 4);
		uint32_t ba = 0, bb = 0, got = 0;
		struct chan_select_case c[2];

		ASSERT_GE(a, 0);
		ASSERT_GE(b, 0);
		ASSERT_EQ(0, kc_send_u32(a, 0xa0 + i, 0));
		ASSERT_EQ(0, kc_send_u32(b, 0xb0 + i, 0));
		cs(&c[0], a, CHAN_OP_RECV, &ba, 4);
		cs(&c[1], b, CHAN_OP_RECV, &bb, 4);
		r = sel(c, 2, -1);
		ASSERT_GE(r, 0);
		ASSERT_LT(r, 2);
		seen[r]++;
		ASSERT_EQ(0, touched_others(c, 2, r));
		ASSERT_EQ(1, KC_INFO(a, len) + KC_INFO(b, len));
		if (r == 0) {
			ASSERT_EQ(0xa0 + i, ba);
			ASSERT_EQ(1, kc_recv_u32(b, &got, 0));
			ASSERT_EQ(0xb0 + i, got);
		} else {
			ASSERT_EQ(0xb0 + i, bb);
			ASSERT_EQ(1, kc_recv_u32(a, &got, 0));
			ASSERT_EQ(0xa0 + i, got);
		}
		close(a);
		close(b);
	}
	EXPECT_GT(seen[0], 0);
	EXPECT_GT(seen[1], 0);
}

TEST(exactly_one_of_two_send_cases_with_room)
{
	int seen[3] = { 0, 0, 0 }, i, r;

	alarm(TEST_ALARM);
	for (i = 0; i < 60; i++) {
		int a = kc_create(1, 4), b = kc_create(1, 4);
		uint32_t va = 0xa0 + i, vb = 0xb0 + i, got = 0;
		struct chan_select_case c[2];

		ASSERT_GE(a, 0);
		ASSERT_GE(b, 0);
		cs(&c[0], a, CHAN_OP_SEND, &va, 4);
		cs(&c[1], b, CHAN_OP_SEND, &vb, 4);
		r = sel(c, 2, -1);
		ASSERT_GE(r, 0);
		ASSERT_LT(r, 2);
		seen[r]++;
		ASSERT_EQ(0, touched_others(c, 2, r));
		ASSERT_EQ(1, KC_INFO(a, len) + KC_INFO(b, len));
		ASSERT_EQ(1, KC_INFO(a, sent) + KC_INFO(b, sent));
		ASSERT_EQ(1, kc_recv_u32(r ? b : a, &got, 0));
		ASSERT_EQ(r ? vb : va, got);
		ASSERT_EQ(-EAGAIN, kc_recv_u32(r ? a : b, &got, 0));
		close(a);
		close(b);
	}
	EXPECT_GT(seen[0], 0);
	EXPECT_GT(seen[1], 0);
}

/* ---- a send case's data is delivered only if that case is reported -------- */

TEST(send_data_never_delivered_unless_reported)
{
	int a = kc_create(0, 8), b = kc_create(0, 8);
	struct chan_select_case c[2];
	pid_t pid;

	alarm(TEST_ALARM);
	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		char buf[8];
		size_t l = 0;

		CHILD_CHECK(KC_WAIT(a, send_waiters, 1) == 0, 10);
		CHILD_CHECK(KC_WAIT(b, send_waiters, 1) == 0, 11);
		CHILD_CHECK(kc_recv(b, buf, sizeof(buf), &l, MS(10000)) == 1,
			    12);
		CHILD_CHECK(l == 1 && buf[0] == 'b', 13);
		/* a's data must not be there, now or later */
		CHILD_CHECK(kc_recv(a, buf, sizeof(buf), NULL, 0) == -EAGAIN,
			    14);
		CHILD_CHECK(kc_recv(a, buf, sizeof(buf), NULL, MS(200)) ==
			    -ETIMEDOUT, 15);
		_exit(0);
	}
	cs(&c[0], a, CHAN_OP_SEND, "a", 1);
	cs(&c[1], b, CHAN_OP_SEND, "b", 1);
	EXPECT_EQ(1, sel(c, 2, MS(20000)));
	EXPECT_EQ(1, c[1].ok);
	EXPECT_EQ(SENTINEL, c[0].ok);
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(0, KC_INFO(a, sent));
	EXPECT_EQ(0, KC_INFO(a, send_waiters));
	EXPECT_EQ(1, KC_INFO(b, sent));
	close(a);
	close(b);
}

/* Three receivers, one per unbuffered channel; 300 selects over all three. */
#define DLV_K		3
#define DLV_N		300

struct dlv_shared {
	uint32_t reported[DLV_N];	/* case index + 1, by the selector */
	uint32_t got_on[DLV_N];		/* channel + 1, by the receivers */
	uint32_t got_count[DLV_N];
	uint32_t bad;
};

TEST(send_data_delivered_exactly_where_reported)
{
	struct dlv_shared *sh = kc_shared(sizeof(*sh));
	int ch[DLV_K], k, i, r, total = 0;
	pid_t pid[DLV_K];
	uint32_t payload[DLV_K];
	struct chan_select_case c[DLV_K];

	alarm(TEST_ALARM);
	ASSERT_NE(NULL, sh);
	for (k = 0; k < DLV_K; k++) {
		ch[k] = kc_create(0, 4);
		ASSERT_GE(ch[k], 0);
	}
	for (k = 0; k < DLV_K; k++) {
		pid[k] = kc_fork();
		ASSERT_GE(pid[k], 0);
		if (pid[k] == 0) {
			uint32_t v;

			for (;;) {
				r = kc_recv_u32(ch[k], &v, MS(20000));
				if (r == 0)
					_exit(0);
				CHILD_CHECK(r == 1, 10);
				CHILD_CHECK(v >> 16 == (uint32_t)k, 11);
				CHILD_CHECK((v & 0xffff) < DLV_N, 12);
				sh->got_on[v & 0xffff] = k + 1;
				__atomic_fetch_add(&sh->got_count[v & 0xffff],
						   1, __ATOMIC_SEQ_CST);
			}
		}
	}
	for (i = 0; i < DLV_N; i++) {
		for (k = 0; k < DLV_K; k++) {
			payload[k] = (uint32_t)k << 16 | i;
			cs(&c[k], ch[k], CHAN_OP_SEND, &payload[k], 4);
		}
		r = sel(c, DLV_K, MS(20000));
		ASSERT_GE(r, 0);
		ASSERT_LT(r, DLV_K);
		ASSERT_EQ(0, touched_others(c, DLV_K, r));
		sh->reported[i] = r + 1;
	}
	for (k = 0; k < DLV_K; k++)
		ASSERT_EQ(0, kc_close(ch[k]));
	for (k = 0; k < DLV_K; k++)
		EXPECT_EQ(0, kc_reap(pid[k])) TH_LOG("receiver %d", k);
	for (i = 0; i < DLV_N; i++) {
		EXPECT_EQ(1, sh->got_count[i]) TH_LOG("message %d", i);
		EXPECT_EQ(sh->reported[i], sh->got_on[i]) TH_LOG("message %d", i);
	}
	for (k = 0; k < DLV_K; k++)
		total += KC_INFO(ch[k], sent);
	EXPECT_EQ(DLV_N, total);
	EXPECT_EQ(0, kc_waiters_sum(ch, DLV_K));
	for (k = 0; k < DLV_K; k++)
		close(ch[k]);
}

/* ---- wakeup by any channel; every other waiter is removed ---------------- */

TEST(woken_by_any_channel_then_all_waiters_gone)
{
	int i;

	alarm(TEST_ALARM);
	for (i = 0; i < 4; i++) {
		/* r0 buffered empty, r1 unbuffered (recv cases);
		 * s2 unbuffered, s3 buffered full (send cases)
		 */
		int fds[4] = { kc_create(2, 8), kc_create(0, 8),
			       kc_create(0, 8), kc_create(1, 8) };
		char b0[8] = "", b1[8] = "", got[8] = "";
		struct chan_select_case c[4];
		size_t len = 0;
		pid_t pid;
		int k;

		for (k = 0; k < 4; k++)
			ASSERT_GE(fds[k], 0);
		ASSERT_EQ(0, kc_send(fds[3], "old", 3, 0));
		pid = kc_fork();
		ASSERT_GE(pid, 0);
		if (pid == 0) {
			char b[8];
			size_t l = 0;

			CHILD_CHECK(KC_WAIT(fds[0], recv_waiters, 1) == 0, 10);
			CHILD_CHECK(KC_WAIT(fds[1], recv_waiters, 1) == 0, 11);
			CHILD_CHECK(KC_WAIT(fds[2], send_waiters, 1) == 0, 12);
			CHILD_CHECK(KC_WAIT(fds[3], send_waiters, 1) == 0, 13);
			switch (i) {
			case 0:
				CHILD_CHECK(!kc_send(fds[0], "w0", 2, 0), 20);
				break;
			case 1:
				CHILD_CHECK(!kc_send(fds[1], "w1", 2, MS(10000)),
					    21);
				break;
			case 2:
				CHILD_CHECK(kc_recv(fds[2], b, 8, &l,
						    MS(10000)) == 1, 22);
				CHILD_CHECK(l == 2 && !memcmp(b, "s2", 2), 23);
				break;
			case 3:
				/* frees the slot the parked send case fills */
				CHILD_CHECK(kc_recv(fds[3], b, 8, &l, 0) == 1,
					    24);
				CHILD_CHECK(l == 3 && !memcmp(b, "old", 3), 25);
				break;
			}
			_exit(0);
		}
		cs(&c[0], fds[0], CHAN_OP_RECV, b0, sizeof(b0));
		cs(&c[1], fds[1], CHAN_OP_RECV, b1, sizeof(b1));
		cs(&c[2], fds[2], CHAN_OP_SEND, "s2", 2);
		cs(&c[3], fds[3], CHAN_OP_SEND, "s3", 2);
		ASSERT_EQ(i, sel(c, 4, MS(20000)));
		/* immediately after the return: nothing left queued */
		EXPECT_EQ(0, kc_waiters_sum(fds, 4)) TH_LOG("woken by %d", i);
		for (k = 0; k < 4; k++) {
			EXPECT_EQ(0, kc_fdinfo_num(fds[k], "send_waiters"));
			EXPECT_EQ(0, kc_fdinfo_num(fds[k], "recv_waiters"));
		}
		EXPECT_EQ(1, c[i].ok);
		EXPECT_EQ(0, touched_others(c, 4, i));
		if (i == 0) {
			EXPECT_EQ(0, memcmp(b0, "w0", 2));
		}
		if (i == 1) {
			EXPECT_EQ(0, memcmp(b1, "w1", 2));
		}
		EXPECT_EQ(0, kc_reap(pid)) TH_LOG("woken by %d", i);
		if (i == 3) {
			ASSERT_EQ(1, kc_recv(fds[3], got, 8, &len, 0));
			EXPECT_EQ(0, memcmp(got, "s3", 2));
		} else {
			EXPECT_EQ(1, KC_INFO(fds[3], len));
			EXPECT_EQ(1, KC_INFO(fds[3], sent));
		}
		if (i != 2) {
			EXPECT_EQ(0, KC_INFO(fds[2], sent));
		}
		for (k = 0; k < 4; k++)
			close(fds[k]);
	}
}

/*
 * The counts go back to their previous values, not to zero: a plain
 * receiver parked on X before the select stays counted after the select
 * completed through Y.
 */
TEST(waiting_counts_return_to_previous_values)
{
	int x = kc_create(0, 4), y = kc_create(0, 4);
	uint32_t bx = 0, by = 0;
	struct chan_select_case c[2];
	pid_t bystander, waker;

	alarm(TEST_ALARM);
	ASSERT_GE(x, 0);
	ASSERT_GE(y, 0);
	bystander = kc_fork();
	ASSERT_GE(bystander, 0);
	if (bystander == 0) {
		uint32_t v = 0;

		CHILD_CHECK(kc_recv_u32(x, &v, MS(20000)) == 1, 10);
		CHILD_CHECK(v == 5, 11);
		_exit(0);
	}
	ASSERT_EQ(0, KC_WAIT(x, recv_waiters, 1));
	waker = kc_fork();
	ASSERT_GE(waker, 0);
	if (waker == 0) {
		CHILD_CHECK(KC_WAIT(x, recv_waiters, 2) == 0, 10);
		CHILD_CHECK(KC_WAIT(y, recv_waiters, 1) == 0, 11);
		CHILD_CHECK(kc_send_u32(y, 7, MS(10000)) == 0, 12);
		_exit(0);
	}
	cs(&c[0], x, CHAN_OP_RECV, &bx, 4);
	cs(&c[1], y, CHAN_OP_RECV, &by, 4);
	EXPECT_EQ(1, sel(c, 2, MS(20000)));
	EXPECT_EQ(7, by);
	EXPECT_EQ(1, KC_INFO(x, recv_waiters));
	EXPECT_EQ(1, kc_fdinfo_num(x, "recv_waiters"));
	EXPECT_EQ(0, KC_INFO(y, recv_waiters));
	EXPECT_EQ(0, kc_fdinfo_num(y, "recv_waiters"));
	EXPECT_EQ(0, kc_reap(waker));
	/* the bystander is still there and gets the next message */
	EXPECT_EQ(0, kc_send_u32(x, 5, 0));
	EXPECT_EQ(0, kc_reap(bystander));
	EXPECT_EQ(0, KC_INFO(x, recv_waiters));
	close(x);
	close(y);
}

/* ---- parked cases count as waiters and drive poll readiness -------------- */

TEST(parked_recv_case_makes_send_side_ready)
{
	int u = kc_create(0, 8), other = kc_create(1, 8), ep, so;
	struct epoll_event ev = { .events = EPOLLOUT }, out;
	pid_t pid;

	alarm(TEST_ALARM);
	ASSERT_GE(u, 0);
	ASSERT_GE(other, 0);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_GE(ep, 0);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, u, &ev));
	so = kc_dup(u, CHAN_RIGHT_SEND);	/* the send side proper */
	ASSERT_GE(so, 0);
	EXPECT_EQ(0, kc_revents(u) & (POLLOUT | POLLWRNORM));
	EXPECT_EQ(0, kc_revents(so) & (POLLOUT | POLLWRNORM));
	EXPECT_EQ(0, epoll_wait(ep, &out, 1, 0));

	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		char b[8], bo[8];
		struct chan_select_case c[2];

		cs(&c[0], other, CHAN_OP_RECV, bo, sizeof(bo));
		cs(&c[1], u, CHAN_OP_RECV, b, sizeof(b));
		CHILD_CHECK(sel(c, 2, MS(20000)) == 1, 10);
		CHILD_CHECK(c[1].len == 4 && !memcmp(b, "ping", 4), 11);
		_exit(0);
	}
	/* epoll is woken when the select parks */
	ASSERT_EQ(1, epoll_wait(ep, &out, 1, KC_WAIT_MS));
	EXPECT_TRUE(out.events & EPOLLOUT);
	EXPECT_EQ(1, KC_INFO(u, recv_waiters));
	EXPECT_EQ(0, KC_INFO(u, send_waiters));
	EXPECT_EQ(1, kc_fdinfo_num(u, "recv_waiters"));
	EXPECT_EQ(POLLOUT | POLLWRNORM,
		  kc_revents(u) & (POLLOUT | POLLWRNORM));
	EXPECT_EQ(POLLOUT | POLLWRNORM,
		  kc_revents(so) & (POLLOUT | POLLWRNORM));
	EXPECT_EQ(0, kc_revents(u) & POLLIN);
	/* and a send that never waits meets it */
	EXPECT_EQ(0, kc_send(u, "ping", 4, 0));
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(0, KC_INFO(u, recv_waiters));
	EXPECT_EQ(0, KC_INFO(other, recv_waiters));
	EXPECT_EQ(0, kc_revents(u) & POLLOUT);
	EXPECT_EQ(0, kc_revents(so) & POLLOUT);
	close(so);
	close(ep);
	close(u);
	close(other);
}

TEST(parked_send_case_makes_recv_side_ready)
{
	int u = kc_create(0, 8), other = kc_create(0, 8), ep, ro;
	struct epoll_event ev = { .events = EPOLLIN }, out;
	char buf[8];
	size_t len = 0;
	pid_t pid;

	alarm(TEST_ALARM);
	ASSERT_GE(u, 0);
	ASSERT_GE(other, 0);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_GE(ep, 0);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, u, &ev));
	ro = kc_dup(u, CHAN_RIGHT_RECV);	/* the recv side proper */
	ASSERT_GE(ro, 0);
	EXPECT_EQ(0, kc_revents(u) & (POLLIN | POLLRDNORM));
	EXPECT_EQ(0, kc_revents(ro) & (POLLIN | POLLRDNORM));
	EXPECT_EQ(0, epoll_wait(ep, &out, 1, 0));

	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		char bo[8];
		struct chan_select_case c[2];

		cs(&c[0], other, CHAN_OP_RECV, bo, sizeof(bo));
		cs(&c[1], u, CHAN_OP_SEND, "pong", 4);
		CHILD_CHECK(sel(c, 2, MS(20000)) == 1, 10);
		CHILD_CHECK(c[1].ok == 1, 11);
		_exit(0);
	}
	ASSERT_EQ(1, epoll_wait(ep, &out, 1, KC_WAIT_MS));
	EXPECT_TRUE(out.events & EPOLLIN);
	EXPECT_EQ(1, KC_INFO(u, send_waiters));
	EXPECT_EQ(0, KC_INFO(u, recv_waiters));
	EXPECT_EQ(1, kc_fdinfo_num(u, "send_waiters"));
	EXPECT_EQ(POLLIN | POLLRDNORM, kc_revents(u) & (POLLIN | POLLRDNORM));
	EXPECT_EQ(POLLIN | POLLRDNORM, kc_revents(ro) & (POLLIN | POLLRDNORM));
	EXPECT_EQ(0, kc_revents(u) & POLLOUT);
	ASSERT_EQ(1, kc_recv(u, buf, sizeof(buf), &len, 0));
	EXPECT_EQ(4, len);
	EXPECT_EQ(0, memcmp(buf, "pong", 4));
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(0, KC_INFO(u, send_waiters));
	EXPECT_EQ(0, KC_INFO(other, recv_waiters));
	EXPECT_EQ(0, kc_revents(u) & POLLIN);
	EXPECT_EQ(0, kc_revents(ro) & POLLIN);
	close(ro);
	close(ep);
	close(u);
	close(other);
}

/* ---- message sizes -------------------------------------------------------- */

TEST(send_case_longer_than_msg_size_emsgsize)
{
	int a = kc_create(1, 4), d = kc_create(1, 4);
	struct chan_select_case c[2];
	uint32_t v;

	alarm(TEST_ALARM);
	ASSERT_GE(a, 0);
	ASSERT_GE(d, 0);
	ASSERT_EQ(0, kc_send_u32(d, 7, 0));
	cs(&c[0], a, CHAN_OP_SEND, "12345", 5);
	EXPECT_EQ(-EMSGSIZE, sel(c, 1, 0));
	/* even next to a ready case: checked before anything moves */
	cs(&c[0], d, CHAN_OP_RECV, &v, 4);
	cs(&c[1], a, CHAN_OP_SEND, "12345", 5);
	EXPECT_EQ(-EMSGSIZE, sel(c, 2, -1));
	EXPECT_EQ(1, KC_INFO(d, len));
	EXPECT_EQ(0, KC_INFO(a, len));
	EXPECT_EQ(0, touched_others(c, 2, -1));
	/* exactly msg_size is fine */
	cs(&c[0], a, CHAN_OP_SEND, "1234", 4);
	EXPECT_EQ(0, sel(c, 1, 0));
	EXPECT_EQ(1, KC_INFO(a, len));
	close(a);
	close(d);
}

TEST(recv_case_buffer_too_small_emsgsize_message_stays)
{
	int ch = kc_create(2, 16), u = kc_create(0, 16);
	struct chan_select_case c[1];
	char small[4], big[16];
	size_t len = 0;
	pid_t pid;

	alarm(TEST_ALARM);
	ASSERT_GE(ch, 0);
	ASSERT_GE(u, 0);

	/* buffered message */
	ASSERT_EQ(0, kc_send(ch, "0123456789", 10, 0));
	cs(&c[0], ch, CHAN_OP_RECV, small, sizeof(small));
	EXPECT_EQ(-EMSGSIZE, sel(c, 1, -1));
	EXPECT_EQ(1, KC_INFO(ch, len));
	EXPECT_EQ(0, KC_INFO(ch, received));
	ASSERT_EQ(1, kc_recv(ch, big, sizeof(big), &len, 0));
	EXPECT_EQ(10, len);
	EXPECT_EQ(0, memcmp(big, "0123456789", 10));

	/* a parked sender keeps its message */
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(kc_send(u, "abcdefghij", 10, MS(20000)) ? 10 : 0);
	ASSERT_EQ(0, KC_WAIT(u, send_waiters, 1));
	cs(&c[0], u, CHAN_OP_RECV, small, sizeof(small));
	EXPECT_EQ(-EMSGSIZE, sel(c, 1, -1));
	EXPECT_EQ(1, KC_INFO(u, send_waiters));
	EXPECT_EQ(0, KC_INFO(u, sent));
	ASSERT_EQ(1, kc_recv(u, big, sizeof(big), &len, MS(10000)));
	EXPECT_EQ(10, len);
	EXPECT_EQ(0, memcmp(big, "abcdefghij", 10));
	EXPECT_EQ(0, kc_reap(pid));

	/* a parked select with a small buffer fails; the sender keeps it */
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		cs(&c[0], u, CHAN_OP_RECV, small, sizeof(small));
		_exit(sel(c, 1, MS(20000)) == -EMSGSIZE ? 0 : 10);
	}
	ASSERT_EQ(0, KC_WAIT(u, recv_waiters, 1));
	EXPECT_EQ(-EAGAIN, kc_send(u, "ABCDEFGHIJ", 10, 0));
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(1, KC_INFO(u, sent));
	EXPECT_EQ(0, KC_INFO(u, recv_waiters));
	close(ch);
	close(u);
}

/* ---- EFAULT: nothing delivered -------------------------------------------- */

TEST(efault_bad_send_buffer_nothing_moved)
{
	int r = kc_create(1, 8), d = kc_create(1, 8), u = kc_create(0, 8);
	void *hole = kc_page_none();
	char *edge = kc_page_then_hole();
	struct chan_select_case c[2];
	char buf[8];
	pid_t pid;

	alarm(TEST_ALARM);
	ASSERT_GE(r, 0);
	ASSERT_GE(d, 0);
	ASSERT_GE(u, 0);
	ASSERT_NE(NULL, hole);
	ASSERT_NE(NULL, edge);
	ASSERT_EQ(0, kc_send(d, "D", 1, 0));

	cs(&c[0], d, CHAN_OP_RECV, buf, sizeof(buf));
	cs(&c[1], r, CHAN_OP_SEND, hole, 4);
	EXPECT_EQ(-EFAULT, sel(c, 2, 0));
	cs(&c[0], r, CHAN_OP_SEND, hole, 4);
	cs(&c[1], d, CHAN_OP_RECV, buf, sizeof(buf));
	EXPECT_EQ(-EFAULT, sel(c, 2, 0));
	/* straddling into the hole */
	cs(&c[0], r, CHAN_OP_SEND, edge + kc_page() - 4, 8);
	EXPECT_EQ(-EFAULT, sel(c, 1, 0));
	cs(&c[0], r, CHAN_OP_SEND, (void *)1, 4);
	EXPECT_EQ(-EFAULT, sel(c, 1, 0));
	EXPECT_EQ(0, KC_INFO(r, len));
	EXPECT_EQ(0, KC_INFO(r, sent));
	EXPECT_EQ(1, KC_INFO(d, len));
	EXPECT_EQ(0, KC_INFO(d, received));

	/* with a receiver parked on an unbuffered channel */
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		char b[8];

		_exit(kc_recv(u, b, sizeof(b), NULL, MS(1500)) == -ETIMEDOUT ?
		      0 : 10);
	}
	ASSERT_EQ(0, KC_WAIT(u, recv_waiters, 1));
	cs(&c[0], u, CHAN_OP_SEND, hole, 4);
	EXPECT_EQ(-EFAULT, sel(c, 1, -1));
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(0, KC_INFO(u, sent));
	close(r);
	close(d);
	close(u);
}

TEST(efault_bad_recv_buffer_message_stays)
{
	int d = kc_create(1, 8), r = kc_create(1, 8), u = kc_create(0, 8);
	void *hole = kc_page_none();
	char *edge = kc_page_then_hole();
	void *ro = mmap(NULL, kc_page(), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	struct chan_select_case c[2];
	char buf[8];
	size_t len = 0;
	pid_t pid;

	alarm(TEST_ALARM);
	ASSERT_GE(d, 0);
	ASSERT_GE(r, 0);
	ASSERT_GE(u, 0);
	ASSERT_NE(NULL, hole);
	ASSERT_NE(NULL, edge);
	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_EQ(0, kc_send(d, "DATA", 4, 0));

	cs(&c[0], d, CHAN_OP_RECV, hole, 8);
	cs(&c[1], r, CHAN_OP_SEND, "s", 1);
	EXPECT_EQ(-EFAULT, sel(c, 2, 0));
	cs(&c[0], r, CHAN_OP_SEND, "s", 1);
	cs(&c[1], d, CHAN_OP_RECV, hole, 8);
	EXPECT_EQ(-EFAULT, sel(c, 2, 0));
	cs(&c[0], d, CHAN_OP_RECV, ro, 8);
	EXPECT_EQ(-EFAULT, sel(c, 1, 0));
	cs(&c[0], d, CHAN_OP_RECV, edge + kc_page() - 4, 8);
	EXPECT_EQ(-EFAULT, sel(c, 1, 0));
	EXPECT_EQ(1, KC_INFO(d, len));
	EXPECT_EQ(0, KC_INFO(d, received));
	EXPECT_EQ(0, KC_INFO(r, len));
	ASSERT_EQ(1, kc_recv(d, buf, sizeof(buf), &len, 0));
	EXPECT_EQ(4, len);
	EXPECT_EQ(0, memcmp(buf, "DATA", 4));

	/* a parked sender keeps its message */
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(kc_send(u, "PEER", 4, MS(20000)) ? 10 : 0);
	ASSERT_EQ(0, KC_WAIT(u, send_waiters, 1));
	cs(&c[0], u, CHAN_OP_RECV, hole, 8);
	EXPECT_EQ(-EFAULT, sel(c, 1, -1));
	EXPECT_EQ(1, KC_INFO(u, send_waiters));
	ASSERT_EQ(1, kc_recv(u, buf, sizeof(buf), &len, MS(10000)));
	EXPECT_EQ(0, memcmp(buf, "PEER", 4));
	EXPECT_EQ(0, kc_reap(pid));
	close(d);
	close(r);
	close(u);
}

TEST(efault_bad_cases_pointer)
{
	int r = kc_create(1, 8);
	void *hole = kc_page_none();
	char *edge = kc_page_then_hole();
	struct chan_select_case *c;

	alarm(TEST_ALARM);
	ASSERT_GE(r, 0);
	ASSERT_NE(NULL, hole);
	ASSERT_NE(NULL, edge);
	EXPECT_EQ(-EFAULT, sel(hole, 2, 0));
	EXPECT_EQ(-EFAULT, sel((void *)8, 1, 0));
	EXPECT_EQ(-EFAULT, sel(NULL, 1, 0));
	/* case 0 valid (a send with room), case 1 in the hole */
	c = (struct chan_select_case *)(edge + kc_page() - sizeof(*c));
	cs(c, r, CHAN_OP_SEND, "x", 1);
	EXPECT_EQ(-EFAULT, sel(c, 2, 0));
	EXPECT_EQ(0, KC_INFO(r, len));
	EXPECT_EQ(0, KC_INFO(r, sent));
	/* the select struct itself */
	EXPECT_EQ(-1, ioctl(kc_devfd(), CHAN_IOC_SELECT, hole));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(r, CHAN_IOC_SELECT, NULL));
	EXPECT_EQ(EFAULT, errno);
	/* and the valid case alone still works */
	EXPECT_EQ(0, sel(c, 1, 0));
	EXPECT_EQ(1, KC_INFO(r, len));
	close(r);
}

/* ---- EINVAL ----------------------------------------------------------------- */

TEST(einval_bad_op)
{
	unsigned int bad[] = { 0, 3, 4, 0x100, 0xffffffffU };
	int d = kc_create(1, 8), r = kc_create(1, 8);
	struct chan_select_case c[3];
	char buf[8];
	unsigned int i;

	alarm(TEST_ALARM);
	ASSERT_GE(d, 0);
	ASSERT_GE(r, 0);
	ASSERT_EQ(0, kc_send(d, "D", 1, 0));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cs(&c[0], d, CHAN_OP_RECV, buf, sizeof(buf));
		cs(&c[1], r, CHAN_OP_SEND, "s", 1);
		cs(&c[2], r, bad[i], buf, 1);
		EXPECT_EQ(-EINVAL, sel(c, 3, -1)) TH_LOG("op %#x", bad[i]);
		EXPECT_EQ(0, touched_others(c, 3, -1));
	}
	EXPECT_EQ(1, KC_INFO(d, len));
	EXPECT_EQ(0, KC_INFO(r, len));
	close(d);
	close(r);
}

TEST(einval_nonzero_reserved)
{
	int d = kc_create(1, 8);
	struct chan_select_case c[2];
	char buf[8];

	alarm(TEST_ALARM);
	ASSERT_GE(d, 0);
	ASSERT_EQ(0, kc_send(d, "D", 1, 0));
	cs(&c[0], d, CHAN_OP_RECV, buf, sizeof(buf));
	cs(&c[1], d, CHAN_OP_RECV, buf, sizeof(buf));
	c[1].reserved = 1;
	EXPECT_EQ(-EINVAL, sel(c, 2, 0));
	c[1].reserved = 0x80000000U;
	EXPECT_EQ(-EINVAL, sel(c, 2, 0));
	/* a nil case is checked too */
	cs(&c[1], -1, CHAN_OP_RECV, buf, sizeof(buf));
	c[1].reserved = 1;
	EXPECT_EQ(-EINVAL, sel(c, 2, 0));
	EXPECT_EQ(1, KC_INFO(d, len));
	close(d);
}

TEST(einval_nonzero_flags)
{
	unsigned int bad[] = { 1, 2, 0x80000000U, 0xffffffffU };
	int d = kc_create(1, 8);
	struct chan_select_case c[1];
	struct chan_select s;
	char buf[8];
	unsigned int i;

	alarm(TEST_ALARM);
	ASSERT_GE(d, 0);
	ASSERT_EQ(0, kc_send(d, "D", 1, 0));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cs(&c[0], d, CHAN_OP_RECV, buf, sizeof(buf));
		memset(&s, 0, sizeof(s));
		s.size = sizeof(s);
		s.flags = bad[i];
		s.cases = (uintptr_t)c;
		s.ncases = 1;
		s.case_size = sizeof(struct chan_select_case);
		EXPECT_EQ(-1, ioctl(kc_devfd(), CHAN_IOC_SELECT, &s));
		EXPECT_EQ(EINVAL, errno) TH_LOG("flags %#x", bad[i]);
	}
	EXPECT_EQ(1, KC_INFO(d, len));
	close(d);
}

TEST(einval_more_cases_than_max)
{
	unsigned long max = kc_param("max_select_cases", 0);
	struct chan_select_case *c;
	unsigned long i;

	alarm(TEST_ALARM);
	ASSERT_GE(max, 1024) TH_LOG("max_select_cases %lu < 1024", max);
	c = calloc(max + 1, sizeof(*c));
	ASSERT_NE(NULL, c);
	for (i = 0; i <= max; i++)
		cs(&c[i], -1, CHAN_OP_RECV, NULL, 0);
	EXPECT_EQ(-EINVAL, sel(c, max + 1, 0));
	EXPECT_EQ(-EINVAL, sel(c, UINT_MAX, 0));
	EXPECT_EQ(-EAGAIN, sel(c, max, 0));
	free(c);
}

/* max_select_bytes bounds what one select may stage in the kernel. */
TEST(e2big_staging_bound)
{
	unsigned long maxb = kc_param("max_select_bytes", 16UL << 20);
	unsigned long maxc = kc_param("max_select_cases", 4096);
	unsigned long msz = kc_param("max_msg_size", 65536), over, fit, i;
	struct chan_select_case *c;
	char *buf;
	int ch, d;

	alarm(TEST_ALARM);
	/* case 0 stages 8 bytes, every other case msz bytes */
	over = maxb / msz + 1;		/* 8 + over * msz > maxb */
	fit = (maxb - 8) / msz;		/* 8 + fit * msz <= maxb */
	if (over + 1 > maxc)
		SKIP(return, "max_select_bytes needs more than max_select_cases");
	ch = kc_create(0, msz);
	d = kc_create(1, 8);
	ASSERT_GE(ch, 0);
	ASSERT_GE(d, 0);
	ASSERT_EQ(0, kc_send(d, "D", 1, 0));
	buf = malloc(msz);
	c = calloc(over + 1, sizeof(*c));
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, c);
	cs(&c[0], d, CHAN_OP_RECV, buf, 8);
	for (i = 1; i <= over; i++)
		cs(&c[i], ch, CHAN_OP_RECV, buf, msz);
	EXPECT_EQ(-ENOBUFS, sel(c, over + 1, 0));
	EXPECT_EQ(1, KC_INFO(d, len));
	/* a recv buffer larger than msg_size stages only msg_size */
	for (i = 1; i <= fit; i++)
		c[i].len = 4 * msz;
	EXPECT_EQ(0, sel(c, fit + 1, 0));
	EXPECT_EQ(0, KC_INFO(d, len));
	free(c);
	free(buf);
	close(ch);
	close(d);
}

/* ---- EBADF ------------------------------------------------------------------ */

TEST(ebadf_not_a_channel)
{
	int d = kc_create(1, 8), p[2], gone, i;
	int bad[6];
	struct chan_select_case c[2];
	char buf[8];

	alarm(TEST_ALARM);
	ASSERT_GE(d, 0);
	ASSERT_LE(0, kc_devfd());		/* before `gone` frees a number */
	ASSERT_EQ(0, pipe(p));
	gone = dup(p[0]);
	ASSERT_GE(gone, 0);
	close(gone);
	ASSERT_EQ(0, kc_send(d, "D", 1, 0));
	bad[0] = p[0];
	bad[1] = p[1];
	bad[2] = kc_devfd();
	bad[3] = gone;
	bad[4] = -2;
	bad[5] = INT_MIN;
	for (i = 0; i < 6; i++) {
		cs(&c[0], d, CHAN_OP_RECV, buf, sizeof(buf));
		cs(&c[1], bad[i], CHAN_OP_RECV, buf, sizeof(buf));
		EXPECT_EQ(-EBADF, sel(c, 2, 0)) TH_LOG("fd %d", bad[i]);
		cs(&c[1], bad[i], CHAN_OP_SEND, "x", 1);
		EXPECT_EQ(-EBADF, sel(c, 2, 0)) TH_LOG("fd %d", bad[i]);
	}
	EXPECT_EQ(1, KC_INFO(d, len));
	close(p[0]);
	close(p[1]);
	close(d);
}

TEST(ebadf_wrong_direction)
{
	int ch = kc_create(2, 8), ro, so;
	struct chan_select_case c[2];
	char buf[8];

	alarm(TEST_ALARM);
	ASSERT_GE(ch, 0);
	ro = kc_dup(ch, CHAN_RIGHT_RECV);
	so = kc_dup(ch, CHAN_RIGHT_SEND);
	ASSERT_GE(ro, 0);
	ASSERT_GE(so, 0);
	ASSERT_EQ(0, kc_send(ch, "D", 1, 0));
	cs(&c[0], ch, CHAN_OP_RECV, buf, sizeof(buf));
	cs(&c[1], ro, CHAN_OP_SEND, "x", 1);
	EXPECT_EQ(-EBADF, sel(c, 2, 0));
	cs(&c[1], so, CHAN_OP_RECV, buf, sizeof(buf));
	EXPECT_EQ(-EBADF, sel(c, 2, 0));
	EXPECT_EQ(1, KC_INFO(ch, len));
	EXPECT_EQ(1, KC_INFO(ch, sent));
	/* the right directions work */
	cs(&c[0], so, CHAN_OP_SEND, "y", 1);
	EXPECT_EQ(0, sel(c, 1, 0));
	cs(&c[0], ro, CHAN_OP_RECV, buf, sizeof(buf));
	EXPECT_EQ(0, sel(c, 1, 0));
	EXPECT_EQ(1, c[0].ok);
	EXPECT_EQ('D', buf[0]);
	close(ro);
	close(so);
	close(ch);
}

/* ---- many cases; where the ioctl is issued -------------------------------- */

TEST(accepts_1024_cases)
{
	int ch = kc_create(1, 4);
	struct chan_select_case *c = calloc(1024, sizeof(*c));
	uint32_t *bufs = calloc(1024, sizeof(*bufs)), v = 77;
	int i, r;

	alarm(TEST_ALARM);
	ASSERT_GE(ch, 0);
	ASSERT_NE(NULL, c);
	ASSERT_NE(NULL, bufs);
	for (i = 0; i < 1024; i++)
		cs(&c[i], ch, CHAN_OP_RECV, &bufs[i], 4);
	EXPECT_EQ(-EAGAIN, sel(c, 1024, 0));
	ASSERT_EQ(0, kc_send_u32(ch, 1234, 0));
	r = sel(c, 1024, -1);
	ASSERT_GE(r, 0);
	ASSERT_LT(r, 1024);
	EXPECT_EQ(1234, bufs[r]);
	EXPECT_EQ(0, touched_others(c, 1024, r));
	EXPECT_EQ(0, KC_INFO(ch, len));
	for (i = 0; i < 1024; i++)
		cs(&c[i], ch, CHAN_OP_SEND, &v, 4);
	r = sel(c, 1024, 0);
	ASSERT_GE(r, 0);
	EXPECT_EQ(1, KC_INFO(ch, len));
	EXPECT_EQ(-EAGAIN, sel(c, 1024, 0));
	EXPECT_EQ(1, KC_INFO(ch, len));
	free(c);
	free(bufs);
	close(ch);
}

TEST(select_on_dev_and_on_channel_fds)
{
	int ch = kc_create(4, 4), other = kc_create(0, 4), ro, so, index;
	struct chan_select_case c[1];
	uint32_t v = 5, got = 0;

	alarm(TEST_ALARM);
	ASSERT_GE(ch, 0);
	ASSERT_GE(other, 0);
	ro = kc_dup(ch, CHAN_RIGHT_RECV);
	so = kc_dup(other, CHAN_RIGHT_SEND);
	ASSERT_GE(ro, 0);
	ASSERT_GE(so, 0);
	cs(&c[0], ch, CHAN_OP_SEND, &v, 4);
	EXPECT_EQ(0, sel_on(kc_devfd(), c, 1, 0, &index));
	EXPECT_EQ(0, sel_on(ch, c, 1, 0, &index));	/* a channel in the set */
	EXPECT_EQ(0, sel_on(other, c, 1, 0, &index));	/* one that is not */
	EXPECT_EQ(0, sel_on(so, c, 1, 0, &index));	/* send-only handle */
	EXPECT_EQ(4, KC_INFO(ch, len));
	cs(&c[0], ch, CHAN_OP_RECV, &got, 4);
	EXPECT_EQ(0, sel_on(ro, c, 1, 0, &index));	/* recv-only handle */
	EXPECT_EQ(5, got);
	EXPECT_EQ(3, KC_INFO(ch, len));
	/* default and timeout through a channel fd as well */
	cs(&c[0], other, CHAN_OP_RECV, &got, 4);
	EXPECT_EQ(-EAGAIN, sel_on(ch, c, 1, 0, &index));
	EXPECT_EQ(-1, index);
	EXPECT_EQ(-ETIMEDOUT, sel_on(ch, c, 1, MS(50), &index));
	close(ro);
	close(so);
	close(ch);
	close(other);
}

/* ---- signals ------------------------------------------------------------- */

TEST(eintr_without_sa_restart)
{
	int e = kc_create(1, 8), u = kc_create(0, 8), fds[2] = { e, u };
	struct chan_select_case c[2];
	pid_t parent = getpid(), pid;
	char buf[8];
	int round;

	alarm(TEST_ALARM);
	ASSERT_GE(e, 0);
	ASSERT_GE(u, 0);
	kc_hits = kc_shared(4096);
	ASSERT_NE(NULL, kc_hits);
	ASSERT_EQ(0, kc_sigaction(SIGUSR1, kc_on_usr1, 0));
	for (round = 0; round < 2; round++) {
		pid = kc_fork();
		ASSERT_GE(pid, 0);
		if (pid == 0) {
			CHILD_CHECK(KC_WAIT(e, recv_waiters, 1) == 0, 10);
			CHILD_CHECK(KC_WAIT(u, send_waiters, 1) == 0, 11);
			kill(parent, SIGUSR1);
			_exit(0);
		}
		cs(&c[0], e, CHAN_OP_RECV, buf, sizeof(buf));
		cs(&c[1], u, CHAN_OP_SEND, "u", 1);
		/* forever, then with a long timeout */
		EXPECT_EQ(-EINTR, sel(c, 2, round ? MS(30000) : -1));
		EXPECT_EQ(round + 1, *kc_hits);
		EXPECT_EQ(0, kc_reap(pid));
		EXPECT_EQ(0, touched_others(c, 2, -1));
		EXPECT_EQ(0, kc_waiters_sum(fds, 2));
		EXPECT_EQ(0, KC_INFO(u, sent));
		EXPECT_EQ(-EAGAIN, kc_recv(u, buf, sizeof(buf), NULL, 0));
	}
	close(e);
	close(u);
}

/* With SA_RESTART the select continues and completes with the message. */
TEST(sa_restart_untimed_completes)
{
	int e = kc_create(1, 8), u = kc_create(0, 8), fds[2] = { e, u };
	pid_t parent = getpid(), pid;
	struct chan_select_case c[2];
	char be[8], bu[8];

	alarm(TEST_ALARM);
	ASSERT_GE(e, 0);
	ASSERT_GE(u, 0);
	kc_hits = kc_shared(4096);
	ASSERT_NE(NULL, kc_hits);
	ASSERT_EQ(0, kc_sigaction(SIGUSR1, kc_on_usr1, 1));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int i;

		for (i = 1; i <= 3; i++) {
			CHILD_CHECK(KC_WAIT(e, recv_waiters, 1) == 0, 10);
			CHILD_CHECK(KC_WAIT(u, recv_waiters, 1) == 0, 11);
			kill(parent, SIGUSR1);
			CHILD_CHECK(kc_wait_hits(i) == 0, 12);
		}
		CHILD_CHECK(KC_WAIT(e, recv_waiters, 1) == 0, 13);
		CHILD_CHECK(KC_WAIT(u, recv_waiters, 1) == 0, 14);
		CHILD_CHECK(kc_send(u, "late", 4, MS(10000)) == 0, 15);
		_exit(0);
	}
	cs(&c[0], e, CHAN_OP_RECV, be, sizeof(be));
	cs(&c[1], u, CHAN_OP_RECV, bu, sizeof(bu));
	EXPECT_EQ(1, sel(c, 2, -1));
	EXPECT_EQ(1, c[1].ok);
	EXPECT_EQ(4, c[1].len);
	EXPECT_EQ(0, memcmp(bu, "late", 4));
	EXPECT_EQ(3, *kc_hits);
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(0, kc_waiters_sum(fds, 2));
	close(e);
	close(u);
}

/*
 * With SA_RESTART a timed select keeps its deadline across restarts: a
 * child signals it every 500 ms while it is parked (four times at most);
 * restarting with the full timeout after a signal would return at least
 * the timeout after that signal. Robust to a slow guest: only the signals
 * that hit the wait count, and at least two must.
 */
TEST(sa_restart_timed_keeps_deadline)
{
	const int64_t timeout = MS(4000);
	int e = kc_create(1, 8), u = kc_create(0, 8), fds[2] = { e, u };
	pid_t parent = getpid(), pid;
	struct chan_select_case c[2];
	struct kc_restart *sh;
	int64_t t0, el, margin;
	char be[8];

	alarm(TEST_ALARM);
	ASSERT_GE(e, 0);
	ASSERT_GE(u, 0);
	kc_hits = kc_shared(4096);
	ASSERT_NE(NULL, kc_hits);
	sh = kc_shared(sizeof(*sh));
	ASSERT_NE(NULL, sh);
	ASSERT_EQ(0, kc_sigaction(SIGUSR1, kc_on_usr1, 1));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		kc_restart_signaller(parent, e, u, 4, 500, sh);
	cs(&c[0], e, CHAN_OP_RECV, be, sizeof(be));
	cs(&c[1], u, CHAN_OP_SEND, "u", 1);
	t0 = kc_now_ns();
	EXPECT_EQ(-ETIMEDOUT, sel(c, 2, timeout));
	el = kc_now_ns() - t0;
	__atomic_store_n(&sh->stop, 1, __ATOMIC_SEQ_CST);
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_LE(timeout, el);
	margin = kc_restart_margin(sh, t0, el, timeout, 2);
	EXPECT_NE(INT64_MIN, margin) TH_LOG("fewer than 2 signals hit the wait");
	/* kept: returns ~timeout after t0, >= 1 s before the restart bound */
	EXPECT_LT(MS(300), margin);
	TH_LOG("timeout %lld ms, %d signals, waited %lld ms, %lld ms below the bound of a full restart",
	       (long long)(timeout / 1000000), *kc_hits,
	       (long long)(el / 1000000), (long long)(margin / 1000000));
	EXPECT_EQ(0, kc_waiters_sum(fds, 2));
	EXPECT_EQ(0, KC_INFO(u, sent));
	close(e);
	close(u);
}

/* ---- selects against selects ---------------------------------------------- */

/*
 * X selects {send A, recv B}, Y selects {recv A, send B}, both unbuffered,
 * 400 rounds: they can only meet each other, so round by round exactly one
 * pairing happens and both report the same channel.
 */
#define CROSS_N 400

TEST_F_TIMEOUT(slow, crossed_selects_pair_exactly_once, 300)
{
	int a = kc_create(0, 4), b = kc_create(0, 4), fds[2] = { a, b };
	uint8_t *xi = kc_shared(CROSS_N), yi[CROSS_N];
	struct chan_select_case c[2];
	uint32_t in = 0, out;
	int i, r, mism = 0;
	pid_t pid;

	alarm(280);
	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	ASSERT_NE(NULL, xi);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		uint32_t xin, xout;

		alarm(280);
		for (i = 0; i < CROSS_N; i++) {
			xout = 0x10000 | i;
			xin = 0;
			cs(&c[0], a, CHAN_OP_SEND, &xout, 4);
			cs(&c[1], b, CHAN_OP_RECV, &xin, 4);
			r = sel(c, 2, MS(20000));
			CHILD_CHECK(r == 0 || r == 1, 10);
			CHILD_CHECK(c[r].ok == 1, 11);
			CHILD_CHECK(c[!r].ok == SENTINEL, 12);
			CHILD_CHECK(r == 0 || xin == (0x20000U | i), 13);
			xi[i] = r + 1;
		}
		_exit(0);
	}
	for (i = 0; i < CROSS_N; i++) {
		out = 0x20000 | i;
		in = 0;
		cs(&c[0], a, CHAN_OP_RECV, &in, 4);
		cs(&c[1], b, CHAN_OP_SEND, &out, 4);
		r = sel(c, 2, MS(20000));
		ASSERT_GE(r, 0) TH_LOG("round %d", i);
		ASSERT_EQ(1, c[r].ok);
		ASSERT_EQ(SENTINEL, c[!r].ok);
		if (r == 0) {
			ASSERT_EQ(0x10000U | i, in);
		}
		yi[i] = r + 1;	/* compared with X's once it is reaped */
	}
	EXPECT_EQ(0, kc_reap(pid));
	for (i = 0; i < CROSS_N; i++)
		if (xi[i] != yi[i] && mism++ < 5)
			TH_LOG("round %d: X fired case %d, Y case %d", i,
			       xi[i] - 1, yi[i] - 1);
	EXPECT_EQ(0, mism);
	EXPECT_EQ(CROSS_N, KC_INFO(a, sent) + KC_INFO(b, sent));
	EXPECT_EQ(0, kc_waiters_sum(fds, 2));
	close(a);
	close(b);
}

/*
 * The duel: P processes select over sends to K unbuffered channels, Q
 * processes select over receives from the same K; 20,000 unique ids.
 */
#define DUEL_P		2
#define DUEL_Q		2
#define DUEL_K		4
#define DUEL_N		20000

struct duel_shared {
	uint32_t seen[DUEL_N];		/* times received */
	uint8_t recv_case[DUEL_N];	/* case + 1 that received it */
	uint8_t send_case[DUEL_N];	/* case + 1 the sender reported */
	uint32_t selects[DUEL_P + DUEL_Q];	/* selects that reported a case */
};

struct duel_msg {
	uint32_t id;
	uint32_t k;
};

TEST_F_TIMEOUT(slow, duel_senders_vs_receivers_exactly_once, 600)
{
	struct duel_shared *sh = kc_shared(sizeof(*sh));
	int ch[DUEL_K], k, p, q, i, bad_seen = 0, bad_case = 0;
	unsigned long long total = 0;
	pid_t sp[DUEL_P], rp[DUEL_Q];
	int64_t t0 = kc_now_ns();

	alarm(580);
	ASSERT_NE(NULL, sh);
	for (k = 0; k < DUEL_K; k++) {
		ch[k] = kc_create(0, sizeof(struct duel_msg));
		ASSERT_GE(ch[k], 0);
	}
	for (q = 0; q < DUEL_Q; q++) {
		rp[q] = kc_fork();
		ASSERT_GE(rp[q], 0);
		if (rp[q] == 0) {
			struct duel_msg m[DUEL_K];
			struct chan_select_case c[DUEL_K];
			int r;

			alarm(560);
			for (;;) {
				for (k = 0; k < DUEL_K; k++)
					cs(&c[k], ch[k], CHAN_OP_RECV, &m[k],
					   sizeof(m[k]));
				r = sel_on(q ? ch[0] : kc_devfd(), c, DUEL_K,
					   MS(60000), NULL);
				CHILD_CHECK(r >= 0 && r < DUEL_K, 10);
				CHILD_CHECK(!touched_others(c, DUEL_K, r), 11);
				for (k = 0; k < DUEL_K; k++)
					CHILD_CHECK(k == r || c[k].len ==
						    sizeof(m[k]), 12);
				if (c[r].ok == 0)
					_exit(0);	/* closed: all done */
				CHILD_CHECK(c[r].ok == 1, 13);
				CHILD_CHECK(c[r].len == sizeof(m[r]), 14);
				CHILD_CHECK(m[r].id < DUEL_N, 15);
				CHILD_CHECK(m[r].k == (uint32_t)r, 16);
				__atomic_fetch_add(&sh->seen[m[r].id], 1,
						   __ATOMIC_SEQ_CST);
				sh->recv_case[m[r].id] = r + 1;
				sh->selects[DUEL_P + q]++;
			}
		}
	}
	for (p = 0; p < DUEL_P; p++) {
		sp[p] = kc_fork();
		ASSERT_GE(sp[p], 0);
		if (sp[p] == 0) {
			struct duel_msg m[DUEL_K];
			struct chan_select_case c[DUEL_K];
			int r;

			alarm(560);
			for (i = p; i < DUEL_N; i += DUEL_P) {
				for (k = 0; k < DUEL_K; k++) {
					m[k].id = i;
					m[k].k = k;
					cs(&c[k], ch[k], CHAN_OP_SEND, &m[k],
					   sizeof(m[k]));
				}
				r = sel_on(p ? ch[1] : kc_devfd(), c, DUEL_K,
					   MS(60000), NULL);
				CHILD_CHECK(r >= 0 && r < DUEL_K, 20);
				CHILD_CHECK(c[r].ok == 1, 21);
				CHILD_CHECK(!touched_others(c, DUEL_K, r), 22);
				sh->send_case[i] = r + 1;
				sh->selects[p]++;
			}
			_exit(0);
		}
	}
	for (p = 0; p < DUEL_P; p++)
		EXPECT_EQ(0, kc_reap(sp[p])) TH_LOG("sender %d", p);
	/* unbuffered: every sent message has been taken; now end it */
	for (k = 0; k < DUEL_K; k++)
		EXPECT_EQ(0, kc_close(ch[k]));
	for (q = 0; q < DUEL_Q; q++)
		EXPECT_EQ(0, kc_reap(rp[q])) TH_LOG("receiver %d", q);
	for (i = 0; i < DUEL_N; i++) {
		if (sh->seen[i] != 1) {
			if (bad_seen++ < 5)
				TH_LOG("id %d received %u times", i,
				       sh->seen[i]);
		} else if (sh->recv_case[i] != sh->send_case[i]) {
			if (bad_case++ < 5)
				TH_LOG("id %d sent on case %d, received on %d",
				       i, sh->send_case[i] - 1,
				       sh->recv_case[i] - 1);
		}
	}
	EXPECT_EQ(0, bad_seen);
	EXPECT_EQ(0, bad_case);
	for (p = 0; p < DUEL_P; p++)
		EXPECT_EQ(DUEL_N / DUEL_P, sh->selects[p]);
	EXPECT_EQ(DUEL_N, sh->selects[DUEL_P] + sh->selects[DUEL_P + 1]);
	for (k = 0; k < DUEL_K; k++) {
		EXPECT_EQ(0, KC_INFO(ch[k], send_waiters));
		EXPECT_EQ(0, KC_INFO(ch[k], recv_waiters));
		EXPECT_EQ(KC_INFO(ch[k], sent), KC_INFO(ch[k], received));
		total += KC_INFO(ch[k], sent);
	}
	EXPECT_EQ(DUEL_N, total);
	TH_LOG("duel: %d messages in %lld ms", DUEL_N,
	       (long long)((kc_now_ns() - t0) / 1000000));
	for (k = 0; k < DUEL_K; k++)
		close(ch[k]);
}

/*
 * Giving up races with completion: a select that times out (or is
 * interrupted) just as a partner takes its case must either report the
 * case (the message moved) or report the error (nothing moved), never a
 * mix. One process selects over sends to A and B with tiny timeouts (or
 * forever, under a storm of SIGUSR1 without SA_RESTART), another selects
 * over receives with tiny timeouts; what the sender reports must be
 * exactly what the receiver got.
 */
#define RACE_N	3000

struct race_shared {
	uint8_t sent_case[RACE_N];	/* case + 1 reported by the sender */
	uint8_t recv_case[RACE_N];	/* case + 1 it arrived through */
	uint32_t recv_count[RACE_N];
	uint32_t stop;			/* sender done: stop the signaller */
	uint32_t eintr, etimedout;
};

static void on_usr1_quiet(int sig)
{
	(void)sig;
}

static void race_run(struct __test_metadata *_metadata, int use_signals)
{
	struct race_shared *sh = kc_shared(sizeof(*sh));
	int a = kc_create(0, 4), b = kc_create(0, 4), fds[2] = { a, b };
	pid_t snd, rcv, sig = -1;
	int i, bad = 0, moved = 0;

	ASSERT_NE(NULL, sh);
	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	/* inherited by the sender before any signal can come */
	if (use_signals)
		ASSERT_EQ(0, kc_sigaction(SIGUSR1, on_usr1_quiet, 0));
	rcv = kc_fork();
	ASSERT_GE(rcv, 0);
	if (rcv == 0) {
		struct chan_select_case c[2];
		uint32_t va, vb, v;
		unsigned int seed = 1;
		int r;

		alarm(250);
		for (;;) {
			cs(&c[0], a, CHAN_OP_RECV, &va, 4);
			cs(&c[1], b, CHAN_OP_RECV, &vb, 4);
			/* now and then come late, so the sender parks */
			if (rand_r(&seed) % 8 == 0)
				usleep(200);
			r = sel(c, 2, (1 + rand_r(&seed) % 300) * 1000LL);
			if (r == -ETIMEDOUT)
				continue;
			CHILD_CHECK(r == 0 || r == 1, 10);
			if (!c[r].ok)
				_exit(0);	/* closed: the sender is done */
			v = r ? vb : va;
			CHILD_CHECK(v < RACE_N, 11);
			__atomic_fetch_add(&sh->recv_count[v], 1,
					   __ATOMIC_SEQ_CST);
			sh->recv_case[v] = r + 1;
		}
	}
	snd = kc_fork();
	ASSERT_GE(snd, 0);
	if (snd == 0) {
		struct chan_select_case c[2];
		unsigned int seed = 2;
		uint32_t v;
		int r;

		alarm(250);
		for (v = 0; v < RACE_N; v++) {
			cs(&c[0], a, CHAN_OP_SEND, &v, 4);
			cs(&c[1], b, CHAN_OP_SEND, &v, 4);
			r = sel(c, 2, use_signals ? -1 :
				(int64_t)(1 + rand_r(&seed) % 300) * 1000LL);
			if (r == -ETIMEDOUT && !use_signals) {
				sh->etimedout++;
				continue;
			}
			if (r == -EINTR && use_signals) {
				sh->eintr++;
				continue;
			}
			CHILD_CHECK(r == 0 || r == 1, 21);
			CHILD_CHECK(c[r].ok == 1, 22);
			CHILD_CHECK(c[!r].ok == SENTINEL, 23);
			sh->sent_case[v] = r + 1;
		}
		__atomic_store_n(&sh->stop, 1, __ATOMIC_SEQ_CST);
		_exit(0);
	}
	if (use_signals) {
		sig = kc_fork();
		ASSERT_GE(sig, 0);
		if (sig == 0) {
			alarm(250);
			while (!__atomic_load_n(&sh->stop, __ATOMIC_SEQ_CST)) {
				kill(snd, SIGUSR1);
				usleep(50 + rand() % 200);
			}
			_exit(0);
		}
	}
	EXPECT_EQ(0, kc_reap(snd));
	if (use_signals)
		EXPECT_EQ(0, kc_reap(sig));
	ASSERT_EQ(0, kc_close(a));
	ASSERT_EQ(0, kc_close(b));
	EXPECT_EQ(0, kc_reap(rcv));
	for (i = 0; i < RACE_N; i++) {
		int sent = sh->sent_case[i] != 0;

		moved += sent;
		if (sh->recv_count[i] != (uint32_t)sent ||
		    sh->recv_case[i] != sh->sent_case[i]) {
			if (bad++ < 5)
				TH_LOG("message %d: sender reported case %d, received %u times (case %d)",
				       i, sh->sent_case[i] - 1,
				       sh->recv_count[i], sh->recv_case[i] - 1);
		}
	}
	EXPECT_EQ(0, bad);
	EXPECT_EQ(moved, KC_INFO(a, sent) + KC_INFO(b, sent));
	EXPECT_EQ(0, kc_waiters_sum(fds, 2));
	TH_LOG("%d of %d moved; %u timeouts, %u EINTR", moved, RACE_N,
	       sh->etimedout, sh->eintr);
	/* the race must have been run: some of each */
	EXPECT_GT(moved, 0);
	EXPECT_GT(use_signals ? sh->eintr : sh->etimedout, 0);
	close(a);
	close(b);
}

TEST_F_TIMEOUT(slow, timeout_races_completion_exactly_once, 300)
{
	alarm(280);
	race_run(_metadata, 0);
}

TEST_F_TIMEOUT(slow, eintr_races_completion_exactly_once, 300)
{
	alarm(280);
	race_run(_metadata, 1);
}

/* ---- fairness --------------------------------------------------------------- */

#define FAIR_N	30000

TEST_F_TIMEOUT(slow, fairness_three_ready_cases, 600)
{
	int ch[3], count[3] = { 0, 0, 0 }, i, k, r;
	uint32_t v[3];
	struct chan_select_case c[3];
	int64_t t0 = kc_now_ns();

	alarm(580);
	for (k = 0; k < 3; k++) {
		ch[k] = kc_create(1, 4);
		ASSERT_GE(ch[k], 0);
		ASSERT_EQ(0, kc_send_u32(ch[k], k, 0));
	}
	for (i = 0; i < FAIR_N; i++) {
		for (k = 0; k < 3; k++)
			cs(&c[k], ch[k], CHAN_OP_RECV, &v[k], 4);
		r = sel(c, 3, 0);
		ASSERT_GE(r, 0) TH_LOG("select %d", i);
		ASSERT_LT(r, 3);
		ASSERT_EQ(r, v[r]);
		count[r]++;
		ASSERT_EQ(0, kc_send_u32(ch[r], r, 0));	/* ready again */
	}
	TH_LOG("fairness: %d %d %d of %d in %lld ms", count[0], count[1],
	       count[2], FAIR_N, (long long)((kc_now_ns() - t0) / 1000000));
	for (k = 0; k < 3; k++) {
		/* 30% .. 36.7% */
		EXPECT_GE(count[k] * 1000LL, FAIR_N * 300LL) TH_LOG("case %d", k);
		EXPECT_LE(count[k] * 1000LL, FAIR_N * 367LL) TH_LOG("case %d", k);
		close(ch[k]);
	}
}

/* ---- 1,024 channels, woken by the last -------------------------------------- */

#define WIDE_N	1024

TEST_F_TIMEOUT(slow, select_over_1024_channels_woken_by_last, 300)
{
	struct chan_select_case *c = calloc(WIDE_N, sizeof(*c));
	uint32_t *bufs = calloc(WIDE_N, sizeof(*bufs));
	int *ch = calloc(WIDE_N, sizeof(*ch));
	long long left;
	pid_t pid;
	int i;

	alarm(280);
	ASSERT_NE(NULL, c);
	ASSERT_NE(NULL, bufs);
	ASSERT_NE(NULL, ch);
	ASSERT_EQ(0, raise_nofile(WIDE_N + 256));
	for (i = 0; i < WIDE_N; i++) {
		ch[i] = kc_create(0, 4);
		ASSERT_GE(ch[i], 0) TH_LOG("channel %d", i);
	}
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		alarm(250);
		/* every case queued (they are visited in random order) */
		for (i = 0; i < WIDE_N; i++)
			CHILD_CHECK(KC_WAIT(ch[i], recv_waiters, 1) == 0, 10);
		CHILD_CHECK(kc_send_u32(ch[WIDE_N - 1], 0xfeed, MS(10000)) == 0,
			    11);
		_exit(0);
	}
	for (i = 0; i < WIDE_N; i++)
		cs(&c[i], ch[i], CHAN_OP_RECV, &bufs[i], 4);
	ASSERT_EQ(WIDE_N - 1, sel(c, WIDE_N, MS(120000)));
	EXPECT_EQ(1, c[WIDE_N - 1].ok);
	EXPECT_EQ(0xfeed, bufs[WIDE_N - 1]);
	EXPECT_EQ(0, touched_others(c, WIDE_N, WIDE_N - 1));
	left = kc_waiters_sum(ch, WIDE_N);
	EXPECT_EQ(0, left);
	EXPECT_EQ(0, kc_reap(pid));
	for (i = 0; i < WIDE_N; i++)
		close(ch[i]);
	free(c);
	free(bufs);
	free(ch);
}

/* ---- seed patterns -------------------------------------------------------- */

/* Fan-in: for-select that sets closed inputs to nil until all are closed. */
#define FAN_P	3
#define FAN_N	60

TEST(pattern_fanin_nil_closed_inputs)
{
	int ch[FAN_P], next[FAN_P] = { 0 }, open = FAN_P, rounds = 0;
	struct chan_select_case c[FAN_P];
	uint32_t v[FAN_P];
	pid_t pid[FAN_P];
	int p, r;

	alarm(TEST_ALARM);
	for (p = 0; p < FAN_P; p++) {
		ch[p] = kc_create(2, 4);
		ASSERT_GE(ch[p], 0);
	}
	for (p = 0; p < FAN_P; p++) {
		pid[p] = kc_fork();
		ASSERT_GE(pid[p], 0);
		if (pid[p] == 0) {
			for (r = 0; r < FAN_N; r++)
				CHILD_CHECK(kc_send_u32(ch[p], p << 16 | r,
							MS(20000)) == 0, 10);
			CHILD_CHECK(kc_close(ch[p]) == 0, 11);
			_exit(0);
		}
	}
	for (p = 0; p < FAN_P; p++)
		cs(&c[p], ch[p], CHAN_OP_RECV, &v[p], 4);
	while (open > 0) {
		ASSERT_LT(rounds++, FAN_P * (FAN_N + 1) + 10);
		for (p = 0; p < FAN_P; p++) {
			c[p].len = 4;
			c[p].ok = SENTINEL;
		}
		r = sel(c, FAN_P, MS(20000));
		ASSERT_GE(r, 0);
		ASSERT_LT(r, FAN_P);
		ASSERT_NE(-1, c[r].fd) TH_LOG("a nil case fired");
		ASSERT_EQ(0, touched_others(c, FAN_P, r));
		if (c[r].ok == 0) {
			c[r].fd = -1;		/* closed: make it nil */
			open--;
			continue;
		}
		ASSERT_EQ(1, c[r].ok);
		ASSERT_EQ((uint32_t)r, v[r] >> 16);
		ASSERT_EQ((uint32_t)next[r], v[r] & 0xffff);
		next[r]++;
	}
	for (p = 0; p < FAN_P; p++) {
		EXPECT_EQ(FAN_N, next[p]) TH_LOG("producer %d", p);
		EXPECT_EQ(0, kc_reap(pid[p]));
	}
	EXPECT_EQ(FAN_P * (FAN_N + 1), rounds);
	/* all nil now: default fires */
	EXPECT_EQ(-EAGAIN, sel(c, FAN_P, 0));
	for (p = 0; p < FAN_P; p++)
		close(ch[p]);
}

/* Timeout around a slow worker: give up after 100 ms, collect later. */
TEST(pattern_timeout_around_slow_worker)
{
	int req = kc_create(0, 4), res = kc_create(1, 4);
	struct chan_select_case c[1];
	uint32_t v = 0;
	int64_t t0, el;
	pid_t pid;

	alarm(TEST_ALARM);
	ASSERT_GE(req, 0);
	ASSERT_GE(res, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		uint32_t job;
		int r;

		for (;;) {
			r = kc_recv_u32(req, &job, MS(20000));
			if (r == 0)
				_exit(0);
			CHILD_CHECK(r == 1, 10);
			kc_sleep_ms(job);	/* the work */
			CHILD_CHECK(kc_send_u32(res, job * 2 + 1, MS(20000))
				    == 0, 11);
		}
	}
	/* slow job: the timeout wins */
	ASSERT_EQ(0, kc_send_u32(req, 800, MS(10000)));
	cs(&c[0], res, CHAN_OP_RECV, &v, 4);
	t0 = kc_now_ns();
	EXPECT_EQ(-ETIMEDOUT, sel(c, 1, MS(100)));
	el = kc_now_ns() - t0;
	EXPECT_GE(el, MS(100));
	EXPECT_LT(el, MS(800));
	EXPECT_EQ(SENTINEL, c[0].ok);
	/* the late result is still delivered to a later select */
	cs(&c[0], res, CHAN_OP_RECV, &v, 4);
	EXPECT_EQ(0, sel(c, 1, MS(10000)));
	EXPECT_EQ(1601, v);
	/* fast job: the result wins */
	ASSERT_EQ(0, kc_send_u32(req, 0, MS(10000)));
	cs(&c[0], res, CHAN_OP_RECV, &v, 4);
	EXPECT_EQ(0, sel(c, 1, MS(10000)));
	EXPECT_EQ(1, v);
	ASSERT_EQ(0, kc_close(req));
	EXPECT_EQ(0, kc_reap(pid));
	close(req);
	close(res);
}

/* Done channel: closing it cancels a generator blocked in a select. */
TEST(pattern_done_channel_cancels_generator)
{
	int out = kc_create(0, 4), done = kc_create(0, 0);
	volatile uint32_t *count = kc_shared(4096);
	uint32_t v, i;
	int64_t t0;
	pid_t pid;

	alarm(TEST_ALARM);
	ASSERT_GE(out, 0);
	ASSERT_GE(done, 0);
	ASSERT_NE(NULL, count);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct chan_select_case c[2];
		uint32_t n = 0;
		int r;

		for (;;) {
			cs(&c[0], out, CHAN_OP_SEND, &n, 4);
			cs(&c[1], done, CHAN_OP_RECV, NULL, 0);
			r = sel(c, 2, MS(20000));
			if (r == 1) {
				CHILD_CHECK(c[1].ok == 0, 10);
				_exit(0);	/* cancelled */
			}
			CHILD_CHECK(r == 0 && c[0].ok == 1, 11);
			*count = ++n;
		}
	}
	for (i = 0; i < 10; i++) {
		ASSERT_EQ(1, kc_recv_u32(out, &v, MS(10000)));
		ASSERT_EQ(i, v);
	}
	ASSERT_EQ(0, KC_WAIT(done, recv_waiters, 1));
	t0 = kc_now_ns();
	ASSERT_EQ(0, kc_close(done));
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_LT(kc_now_ns() - t0, MS(5000));
	EXPECT_EQ(10, *count);
	EXPECT_EQ(10, KC_INFO(out, sent));
	EXPECT_EQ(0, KC_INFO(out, send_waiters));
	EXPECT_EQ(-EAGAIN, kc_recv_u32(out, &v, 0));
	close(out);
	close(done);
}

/* Priority: drain high before low (try high with timeout 0 first). */
TEST(pattern_priority_select_high_first)
{
	int hi = kc_create(32, 4), lo = kc_create(32, 4), i, r, n = 0;
	uint32_t got[20], v, vh = 0, vl = 0;
	struct chan_select_case c[2];
	pid_t pid;

	alarm(TEST_ALARM);
	ASSERT_GE(hi, 0);
	ASSERT_GE(lo, 0);
	for (i = 0; i < 10; i++) {
		ASSERT_EQ(0, kc_send_u32(lo, 100 + i, 0));
		ASSERT_EQ(0, kc_send_u32(hi, 200 + i, 0));
	}
	while (n < 20) {
		r = kc_recv_u32(hi, &v, 0);
		if (r == 1) {
			got[n++] = v;
			continue;
		}
		ASSERT_EQ(-EAGAIN, r);
		cs(&c[0], hi, CHAN_OP_RECV, &vh, 4);
		cs(&c[1], lo, CHAN_OP_RECV, &vl, 4);
		r = sel(c, 2, MS(10000));
		ASSERT_GE(r, 0);
		ASSERT_LT(r, 2);
		ASSERT_EQ(1, c[r].ok);
		got[n++] = r ? vl : vh;
	}
	for (i = 0; i < 10; i++) {
		EXPECT_EQ(200 + i, got[i]);
		EXPECT_EQ(100 + i, got[10 + i]);
	}
	/* both empty: the two-case select parks and takes what comes */
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		CHILD_CHECK(KC_WAIT(hi, recv_waiters, 1) == 0, 10);
		CHILD_CHECK(KC_WAIT(lo, recv_waiters, 1) == 0, 11);
		CHILD_CHECK(kc_send_u32(hi, 300, 0) == 0, 12);
		_exit(0);
	}
	ASSERT_EQ(-EAGAIN, kc_recv_u32(hi, &v, 0));
	cs(&c[0], hi, CHAN_OP_RECV, &vh, 4);
	cs(&c[1], lo, CHAN_OP_RECV, &vl, 4);
	EXPECT_EQ(0, sel(c, 2, MS(20000)));
	EXPECT_EQ(300, vh);
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(0, KC_INFO(lo, recv_waiters));
	close(hi);
	close(lo);
}

TEST_HARNESS_MAIN
