// SPDX-License-Identifier: GPL-2.0
/*
 * kchan and signals: EINTR without SA_RESTART (nothing moved), restart with
 * SA_RESTART (the operation completes exactly once), deadlines kept across
 * restarts, and SIGKILL never leaving half a message.
 *
 * The signalling child waits until INFO shows the test process parked, and
 * a counter in shared memory tells it when the handler has run, so no test
 * depends on sleeps for ordering.
 */
#include "kchan_test.h"

static int setup_hits(void)
{
	kc_hits = kc_shared(4096);
	return kc_hits ? 0 : -ENOMEM;
}

/* Child: once the parent is parked (INFO field == 1), signal it once. */
static pid_t signal_when_parked(int fd, size_t off, size_t width)
{
	pid_t parent = getpid();
	pid_t pid = kc_fork();

	if (pid == 0) {
		if (kc_wait_field(fd, off, width, 1))
			_exit(KC_FAIL);
		kill(parent, SIGUSR1);
		_exit(KC_OK);
	}
	return pid;
}

#define SIGNAL_WHEN_PARKED(fd, field) signal_when_parked(fd, KC_FIELD(field))

/* Wait until the handler ran n times and the parent is parked again. */
static int wait_hits_and_parked(int fd, size_t off, int n)
{
	int r = kc_wait_hits(n);

	return r ? r : kc_wait_field(fd, off, 4, 1);
}

/* ---- EINTR without SA_RESTART ------------------------------------------ */

TEST(recv_eintr_without_sa_restart)
{
	int fd = kc_create(1, 4);
	uint32_t v;
	pid_t pid;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, setup_hits());
	ASSERT_EQ(0, kc_sigaction(SIGUSR1, kc_on_usr1, 0));
	pid = SIGNAL_WHEN_PARKED(fd, recv_waiters);
	ASSERT_GE(pid, 0);
	EXPECT_EQ(-EINTR, kc_recv_u32(fd, &v, -1));
	EXPECT_EQ(1, *kc_hits);
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(0, KC_INFO(fd, recv_waiters));
	EXPECT_EQ(0, KC_INFO(fd, received));
	/* The channel still works. */
	ASSERT_EQ(0, kc_send_u32(fd, 8, 0));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(8, v);
	close(fd);
}

TEST(timed_recv_eintr_without_sa_restart)
{
	int fd = kc_create(0, 4);
	uint32_t v;
	pid_t pid;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, setup_hits());
	ASSERT_EQ(0, kc_sigaction(SIGUSR1, kc_on_usr1, 0));
	pid = SIGNAL_WHEN_PARKED(fd, recv_waiters);
	ASSERT_GE(pid, 0);
	EXPECT_EQ(-EINTR, kc_recv_u32(fd, &v, 20000000000LL));
	EXPECT_EQ(0, kc_reap(pid));
	close(fd);
}

TEST(unbuffered_send_eintr_nothing_sent)
{
	int fd = kc_create(0, 4);
	uint32_t v;
	pid_t pid;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, setup_hits());
	ASSERT_EQ(0, kc_sigaction(SIGUSR1, kc_on_usr1, 0));
	pid = SIGNAL_WHEN_PARKED(fd, send_waiters);
	ASSERT_GE(pid, 0);
	EXPECT_EQ(-EINTR, kc_send_u32(fd, 1, -1));
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(0, KC_INFO(fd, send_waiters));
	EXPECT_EQ(0, KC_INFO(fd, sent));
	/* The message did not stay behind for a later receiver. */
	EXPECT_EQ(-EAGAIN, kc_recv_u32(fd, &v, 0));
	close(fd);
}

TEST(buffered_send_eintr_nothing_sent)
{
	int fd = kc_create(1, 4);
	uint32_t v;
	pid_t pid;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, setup_hits());
	ASSERT_EQ(0, kc_sigaction(SIGUSR1, kc_on_usr1, 0));
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	pid = SIGNAL_WHEN_PARKED(fd, send_waiters);
	ASSERT_GE(pid, 0);
	EXPECT_EQ(-EINTR, kc_send_u32(fd, 2, -1));
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(1, KC_INFO(fd, len));
	EXPECT_EQ(1, KC_INFO(fd, sent));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(1, v);
	EXPECT_EQ(-EAGAIN, kc_recv_u32(fd, &v, 0));
	close(fd);
}

TEST(read_eintr_without_sa_restart)
{
	int fd = kc_create(1, 4);
	uint32_t v;
	pid_t pid;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, setup_hits());
	ASSERT_EQ(0, kc_sigaction(SIGUSR1, kc_on_usr1, 0));
	pid = SIGNAL_WHEN_PARKED(fd, recv_waiters);
	ASSERT_GE(pid, 0);
	EXPECT_EQ(-1, read(fd, &v, sizeof(v)));
	EXPECT_EQ(EINTR, errno);
	EXPECT_EQ(0, kc_reap(pid));
	close(fd);
}

TEST(write_eintr_without_sa_restart)
{
	int fd = kc_create(0, 4);
	uint32_t v = 3;
	pid_t pid;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, setup_hits());
	ASSERT_EQ(0, kc_sigaction(SIGUSR1, kc_on_usr1, 0));
	pid = SIGNAL_WHEN_PARKED(fd, send_waiters);
	ASSERT_GE(pid, 0);
	EXPECT_EQ(-1, write(fd, &v, sizeof(v)));
	EXPECT_EQ(EINTR, errno);
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(-EAGAIN, kc_recv_u32(fd, &v, 0));
	close(fd);
}

/* ---- SA_RESTART: the call continues and completes ----------------------- */

TEST(recv_sa_restart_completes)
{
	int fd = kc_create(1, 4);
	pid_t parent = getpid(), pid;
	uint32_t v = 0;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, setup_hits());
	ASSERT_EQ(0, kc_sigaction(SIGUSR1, kc_on_usr1, 1));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		size_t off = offsetof(struct chan_info, recv_waiters);
		int i;

		for (i = 1; i <= 3; i++) {
			if (kc_wait_field(fd, off, 4, 1))
				_exit(KC_FAIL);
			kill(parent, SIGUSR1);
			if (wait_hits_and_parked(fd, off, i))
				_exit(KC_FAIL);
		}
		_exit(kc_send_u32(fd, 44, 0) ? KC_FAIL : KC_OK);
	}
	ASSERT_EQ(1, kc_recv_u32(fd, &v, -1));
	EXPECT_EQ(44, v);
	EXPECT_EQ(3, *kc_hits);
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(1, KC_INFO(fd, received));
	close(fd);
}

TEST(unbuffered_send_sa_restart_delivers_once)
{
	int fd = kc_create(0, 4);
	pid_t parent = getpid(), pid;
	uint32_t v;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, setup_hits());
	ASSERT_EQ(0, kc_sigaction(SIGUSR1, kc_on_usr1, 1));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		size_t off = offsetof(struct chan_info, send_waiters);
		uint32_t got = 0;

		if (kc_wait_field(fd, off, 4, 1))
			_exit(KC_FAIL);
		kill(parent, SIGUSR1);
		if (wait_hits_and_parked(fd, off, 1))
			_exit(KC_FAIL);
		if (kc_recv_u32(fd, &got, 0) != 1 || got != 66)
			_exit(KC_FAIL);
		_exit(KC_OK);
	}
	EXPECT_EQ(0, kc_send_u32(fd, 66, -1));
	EXPECT_EQ(1, *kc_hits);
	EXPECT_EQ(0, kc_reap(pid));
	/* Exactly once: nothing more to take. */
	EXPECT_EQ(-EAGAIN, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(1, KC_INFO(fd, sent));
	EXPECT_EQ(1, KC_INFO(fd, received));
	close(fd);
}

TEST(read_sa_restart_completes)
{
	int fd = kc_create(0, 8);
	pid_t parent = getpid(), pid;
	char buf[8];

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, setup_hits());
	ASSERT_EQ(0, kc_sigaction(SIGUSR1, kc_on_usr1, 1));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		size_t off = offsetof(struct chan_info, recv_waiters);

		if (kc_wait_field(fd, off, 4, 1))
			_exit(KC_FAIL);
		kill(parent, SIGUSR1);
		if (wait_hits_and_parked(fd, off, 1))
			_exit(KC_FAIL);
		_exit(kc_send(fd, "restart", 7, 0) ? KC_FAIL : KC_OK);
	}
	ASSERT_EQ(7, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "restart", 7));
	EXPECT_EQ(1, *kc_hits);
	EXPECT_EQ(0, kc_reap(pid));
	close(fd);
}

TEST(write_sa_restart_completes)
{
	int fd = kc_create(1, 4);
	pid_t parent = getpid(), pid;
	uint32_t v = 2;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, setup_hits());
	ASSERT_EQ(0, kc_sigaction(SIGUSR1, kc_on_usr1, 1));
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		size_t off = offsetof(struct chan_info, send_waiters);
		uint32_t a = 0;

		if (kc_wait_field(fd, off, 4, 1))
			_exit(KC_FAIL);
		kill(parent, SIGUSR1);
		if (wait_hits_and_parked(fd, off, 1))
			_exit(KC_FAIL);
		_exit(kc_recv_u32(fd, &a, 0) == 1 && a == 1 ? KC_OK : KC_FAIL);
	}
	ASSERT_EQ(sizeof(v), write(fd, &v, sizeof(v)));
	EXPECT_EQ(0, kc_reap(pid));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(2, v);
	EXPECT_EQ(-EAGAIN, kc_recv_u32(fd, &v, 0));
	close(fd);
}

TEST(ignored_signal_does_not_interrupt)
{
	int fd = kc_create(0, 4);
	pid_t parent = getpid(), pid;
	uint32_t v = 0;

	ASSERT_GE(fd, 0);
	signal(SIGUSR2, SIG_IGN);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (KC_WAIT(fd, recv_waiters, 1))
			_exit(KC_FAIL);
		kill(parent, SIGUSR2);
		kill(parent, SIGUSR2);
		if (KC_WAIT(fd, recv_waiters, 1))
			_exit(KC_FAIL);
		_exit(kc_send_u32(fd, 12, -1) ? KC_FAIL : KC_OK);
	}
	ASSERT_EQ(1, kc_recv_u32(fd, &v, -1));
	EXPECT_EQ(12, v);
	EXPECT_EQ(0, kc_reap(pid));
	close(fd);
}

/* ---- deadlines across SA_RESTART signals --------------------------------- */

/*
 * A timed wait hit by a signal every 100 ms for 3.5 s, timeout 1 s: with
 * the deadline kept it ends after ~1 s; a restart with the full timeout
 * would run until the signals stop (>= 3.5 s + 1 s). The bound (3 s)
 * leaves room for a slow emulated guest.
 */
/* One message by CHAN_IOC_SEND_BATCH / RECV_BATCH: 1, or -errno. */
static int batch_one(int fd, int send, uint32_t *v, int64_t timeout_ns)
{
	struct chan_iovec iov = { (uintptr_t)v, sizeof(*v) };
	struct chan_batch b = {
		.size = sizeof(b), .msgs = (uintptr_t)&iov, .n = 1,
		.timeout_ns = timeout_ns,
	};
	int r = ioctl(fd, send ? CHAN_IOC_SEND_BATCH : CHAN_IOC_RECV_BATCH, &b);

	return r < 0 ? -errno : r;
}

static int64_t timed_wait_under_signals(struct __test_metadata *_metadata,
					int send, int batch, int *err)
{
	const int64_t t = 1000000000LL;
	int fd = kc_create(send ? 0 : 1, 4);
	pid_t parent = getpid(), pid;
	int64_t t0, el;
	uint32_t v;

	*err = 0;
	if (fd < 0 || setup_hits() || kc_sigaction(SIGUSR1, kc_on_usr1, 1))
		return -1;
	pid = kc_fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int i;

		if (send ? KC_WAIT(fd, send_waiters, 1) :
			   KC_WAIT(fd, recv_waiters, 1))
			_exit(KC_FAIL);
		for (i = 0; i < 35; i++) {
			kill(parent, SIGUSR1);
			kc_sleep_ms(100);
		}
		_exit(KC_OK);
	}
	t0 = kc_now_ns();
	v = 1;
	if (batch)
		*err = batch_one(fd, send, &v, t);
	else
		*err = send ? kc_send_u32(fd, 1, t) : kc_recv_u32(fd, &v, t);
	el = kc_now_ns() - t0;
	kill(pid, SIGKILL);
	kc_reap(pid);
	TH_LOG("waited %lld ms, %d signals", (long long)(el / 1000000), *kc_hits);
	EXPECT_GE(*kc_hits, 3);
	EXPECT_EQ(0, send ? KC_INFO(fd, sent) : KC_INFO(fd, received));
	close(fd);
	return el;
}

TEST(timed_recv_sa_restart_keeps_deadline)
{
	int err;
	int64_t el = timed_wait_under_signals(_metadata, 0, 0, &err);

	ASSERT_GE(el, 0);
	EXPECT_EQ(-ETIMEDOUT, err);
	EXPECT_GE(el, 1000000000LL);
	EXPECT_LT(el, 3000000000LL);
}

TEST(timed_send_sa_restart_keeps_deadline)
{
	int err;
	int64_t el = timed_wait_under_signals(_metadata, 1, 0, &err);

	ASSERT_GE(el, 0);
	EXPECT_EQ(-ETIMEDOUT, err);
	EXPECT_GE(el, 1000000000LL);
	EXPECT_LT(el, 3000000000LL);
}

/* The same for a batch's first message (found by chan_fuzz_test). */
TEST(timed_recv_batch_sa_restart_keeps_deadline)
{
	int err;
	int64_t el = timed_wait_under_signals(_metadata, 0, 1, &err);

	ASSERT_GE(el, 0);
	EXPECT_EQ(-ETIMEDOUT, err);
	EXPECT_GE(el, 1000000000LL);
	EXPECT_LT(el, 3000000000LL);
}

TEST(timed_send_batch_sa_restart_keeps_deadline)
{
	int err;
	int64_t el = timed_wait_under_signals(_metadata, 1, 1, &err);

	ASSERT_GE(el, 0);
	EXPECT_EQ(-ETIMEDOUT, err);
	EXPECT_GE(el, 1000000000LL);
	EXPECT_LT(el, 3000000000LL);
}

/* ---- SIGKILL: whole messages only ---------------------------------------- */

#define BIG 4096
#define NSEND 4

struct bigmsg {
	uint32_t sender;
	uint32_t seq;
	unsigned char fill[BIG - 8];
};

static int check_whole(const struct bigmsg *m, size_t len)
{
	unsigned char c;
	size_t i;

	if (len != BIG || m->sender >= NSEND)
		return 0;
	c = (unsigned char)(m->sender * 31 + m->seq);
	for (i = 0; i < sizeof(m->fill); i++)
		if (m->fill[i] != c)
			return 0;
	return 1;
}

static void sigkill_senders(struct __test_metadata *_metadata,
			    unsigned int cap)
{
	static struct bigmsg m;
	uint32_t next[NSEND] = { 0 };
	int fd = kc_create(cap, BIG), i, k, r;
	pid_t pid[NSEND];
	size_t len;

	ASSERT_GE(fd, 0);
	for (i = 0; i < NSEND; i++) {
		pid[i] = kc_fork();
		ASSERT_GE(pid[i], 0);
		if (pid[i] == 0) {
			static struct bigmsg out;
			uint32_t seq;

			out.sender = i;
			for (seq = 0;; seq++) {
				out.seq = seq;
				memset(out.fill, (unsigned char)(i * 31 + seq),
				       sizeof(out.fill));
				if (kc_send(fd, &out, BIG, -1))
					_exit(KC_FAIL);
			}
		}
	}
	/* Take some, then kill senders while they are parked mid-stream. */
	for (k = 0; k < NSEND; k++) {
		for (i = 0; i < 50; i++) {
			ASSERT_EQ(1, kc_recv(fd, &m, BIG, &len, -1));
			ASSERT_TRUE(check_whole(&m, len));
			ASSERT_EQ(next[m.sender], m.seq);
			next[m.sender]++;
		}
		ASSERT_EQ(0, KC_WAIT(fd, send_waiters, NSEND - k));
		ASSERT_EQ(0, kill(pid[k], SIGKILL));
		EXPECT_EQ(128 + SIGKILL, kc_reap(pid[k]));
	}
	/* All senders dead: drain whatever made it, all whole, in order. */
	EXPECT_EQ(0, KC_INFO(fd, send_waiters));
	while ((r = kc_recv(fd, &m, BIG, &len, 0)) == 1) {
		ASSERT_TRUE(check_whole(&m, len));
		ASSERT_EQ(next[m.sender], m.seq);
		next[m.sender]++;
	}
	EXPECT_EQ(-EAGAIN, r);
	EXPECT_EQ(KC_INFO(fd, sent), KC_INFO(fd, received));
	close(fd);
}

TEST(sigkill_unbuffered_senders_whole_messages_only)
{
	sigkill_senders(_metadata, 0);
}

TEST(sigkill_buffered_senders_whole_messages_only)
{
	sigkill_senders(_metadata, 2);
}

TEST(sigkill_blocked_receiver_loses_nothing)
{
	int fd = kc_create(1, 4);
	uint32_t v = 0;
	pid_t pid;

	ASSERT_GE(fd, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		kc_recv_u32(fd, &v, -1);
		_exit(KC_FAIL);
	}
	ASSERT_EQ(0, KC_WAIT(fd, recv_waiters, 1));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	EXPECT_EQ(128 + SIGKILL, kc_reap(pid));
	EXPECT_EQ(0, KC_INFO(fd, recv_waiters));
	/* The dead receiver takes nothing: the next message is buffered. */
	ASSERT_EQ(0, kc_send_u32(fd, 17, 0));
	EXPECT_EQ(1, KC_INFO(fd, len));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(17, v);
	close(fd);
}

/*
 * SIGSTOP/SIGCONT (no handler) must be invisible: the blocked call resumes
 * and completes, it never fails EINTR. Both plain and timed waits.
 */
static void stop_continue(struct __test_metadata *_metadata, int send,
			  int64_t timeout)
{
	int fd = kc_create(0, 4);
	uint32_t v = 0;
	pid_t pid;

	ASSERT_GE(fd, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int r = send ? kc_send_u32(fd, 31, timeout) :
			       kc_recv_u32(fd, &v, timeout);

		_exit(r == (send ? 0 : 1) && (send || v == 32) ? KC_OK : KC_FAIL);
	}
	if (send) {
		ASSERT_EQ(0, KC_WAIT(fd, send_waiters, 1));
	} else {
		ASSERT_EQ(0, KC_WAIT(fd, recv_waiters, 1));
	}
	ASSERT_EQ(0, kill(pid, SIGSTOP));
	ASSERT_EQ(0, kc_wait_state(pid, 'T'));
	ASSERT_EQ(0, kill(pid, SIGCONT));
	/* Parked again after the restart. */
	ASSERT_EQ(0, kc_wait_sleeping(pid));
	if (send) {
		ASSERT_EQ(0, KC_WAIT(fd, send_waiters, 1));
		ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
		EXPECT_EQ(31, v);
	} else {
		ASSERT_EQ(0, KC_WAIT(fd, recv_waiters, 1));
		ASSERT_EQ(0, kc_send_u32(fd, 32, 0));
	}
	EXPECT_EQ(0, kc_reap(pid));
	close(fd);
}

TEST(stop_continue_recv_resumes)
{
	stop_continue(_metadata, 0, -1);
}

TEST(stop_continue_send_resumes)
{
	stop_continue(_metadata, 1, -1);
}

TEST(stop_continue_timed_recv_resumes)
{
	stop_continue(_metadata, 0, 20000000000LL);
}

/* ---- exactly once under signal storms and racing timeouts ---------------- */

#define STORM_N 3000

struct storm {
	uint32_t count[STORM_N];
	uint32_t received;
	uint32_t gaps;		/* consumer saw a later seq than expected */
	uint32_t retries;	/* EINTR / ETIMEDOUT retries, both sides */
	uint32_t stop;
	uint32_t prod_done;	/* set before exit: stop signalling that pid */
	uint32_t cons_done;
};

static void storm_handler(int sig)
{
	(void)sig;
}

FIXTURE(storm) {
	struct storm *sh;
};

FIXTURE_VARIANT(storm) {
	unsigned int cap;
	int64_t send_timeout;	/* -1: wait, retry on EINTR */
	int64_t recv_timeout;
	int signals;
};

FIXTURE_VARIANT_ADD(storm, unbuffered_signals) {
	.cap = 0, .send_timeout = -1, .recv_timeout = -1, .signals = 1,
};
FIXTURE_VARIANT_ADD(storm, buffered_signals) {
	.cap = 2, .send_timeout = -1, .recv_timeout = -1, .signals = 1,
};
FIXTURE_VARIANT_ADD(storm, unbuffered_timeouts) {
	.cap = 0, .send_timeout = 20000, .recv_timeout = 30000, .signals = 0,
};
FIXTURE_VARIANT_ADD(storm, buffered_timeouts) {
	.cap = 1, .send_timeout = 15000, .recv_timeout = 25000, .signals = 0,
};
FIXTURE_VARIANT_ADD(storm, unbuffered_signals_and_timeouts) {
	.cap = 0, .send_timeout = 50000, .recv_timeout = 40000, .signals = 1,
};

FIXTURE_SETUP(storm)
{
	self->sh = kc_shared(sizeof(struct storm));
	ASSERT_NE(NULL, self->sh);
}

FIXTURE_TEARDOWN(storm)
{
	munmap(self->sh, sizeof(struct storm));
}

/*
 * A producer and a consumer retry every EINTR/ETIMEDOUT while signals rain
 * on both and/or their timeouts expire in the middle of transfers. A
 * failed call must have moved nothing, a successful one exactly one
 * message: the consumer sees 0..N-1 once each, in order, with no gaps.
 */
TEST_F_TIMEOUT(storm, exactly_once, 120)
{
	struct storm *sh = self->sh;
	int fd = kc_create(variant->cap, 4), i;
	pid_t prod, cons, sig = -1;
	uint32_t v;

	ASSERT_GE(fd, 0);
	/* Before the forks: a signal must never find the default action. */
	ASSERT_EQ(0, kc_sigaction(SIGUSR1, storm_handler, 0));
	prod = kc_fork();
	ASSERT_GE(prod, 0);
	if (prod == 0) {
		uint32_t seq;
		int r;

		alarm(100);
		for (seq = 0; seq < STORM_N; seq++) {
			while ((r = kc_send_u32(fd, seq, variant->send_timeout)) ==
			       -EINTR || r == -ETIMEDOUT)
				__atomic_fetch_add(&sh->retries, 1, __ATOMIC_RELAXED);
			if (r)
				break;
		}
		__atomic_store_n(&sh->prod_done, 1, __ATOMIC_SEQ_CST);
		_exit(seq == STORM_N ? KC_OK : KC_FAIL);
	}
	cons = kc_fork();
	ASSERT_GE(cons, 0);
	if (cons == 0) {
		uint32_t expect = 0, got;
		int r;

		alarm(100);
		while (expect < STORM_N) {
			r = kc_recv_u32(fd, &got, variant->recv_timeout);
			if (r == -EINTR || r == -ETIMEDOUT) {
				__atomic_fetch_add(&sh->retries, 1, __ATOMIC_RELAXED);
				continue;
			}
			if (r != 1 || got >= STORM_N)
				break;
			sh->count[got]++;
			if (got != expect)
				sh->gaps++;
			expect = got + 1;
			sh->received++;
		}
		__atomic_store_n(&sh->cons_done, 1, __ATOMIC_SEQ_CST);
		_exit(expect == STORM_N ? KC_OK : KC_FAIL);
	}
	if (variant->signals) {
		sig = kc_fork();
		ASSERT_GE(sig, 0);
		if (sig == 0) {
			alarm(100);
			while (!__atomic_load_n(&sh->stop, __ATOMIC_SEQ_CST)) {
				if (!__atomic_load_n(&sh->prod_done, __ATOMIC_SEQ_CST))
					kill(prod, SIGUSR1);
				if (!__atomic_load_n(&sh->cons_done, __ATOMIC_SEQ_CST))
					kill(cons, SIGUSR1);
				usleep(100);
			}
			_exit(KC_OK);
		}
	}
	EXPECT_EQ(0, kc_reap(prod));
	EXPECT_EQ(0, kc_reap(cons));
	__atomic_store_n(&sh->stop, 1, __ATOMIC_SEQ_CST);
	if (sig > 0)
		EXPECT_EQ(0, kc_reap(sig));
	TH_LOG("%u retries", sh->retries);
	EXPECT_EQ(STORM_N, sh->received);
	EXPECT_EQ(0, sh->gaps);
	for (i = 0; i < STORM_N; i++)
		if (sh->count[i] != 1) {
			TH_LOG("seq %d received %u times", i, sh->count[i]);
			ASSERT_EQ(1, sh->count[i]);
		}
	/* Nothing left over, nobody parked. */
	EXPECT_EQ(-EAGAIN, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(0, KC_INFO(fd, send_waiters));
	EXPECT_EQ(0, KC_INFO(fd, recv_waiters));
	EXPECT_EQ(STORM_N, KC_INFO(fd, sent));
	EXPECT_EQ(STORM_N, KC_INFO(fd, received));
	close(fd);
}

TEST_HARNESS_MAIN
