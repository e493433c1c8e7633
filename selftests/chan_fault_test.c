// SPDX-License-Identifier: GPL-2.0
/*
 * Faults and races (issue 6): close racing with blocked senders, receivers,
 * selects and select set waits; SIGKILL of processes blocked in send,
 * recv, select and a select set's wait; processes dying with buffered
 * messages and descriptors in flight, or with select sets holding the only
 * handles of channels (a set's case keeps its channel open); memory cgroup
 * pressure; module unload refused while a channel or a select set exists.
 *
 * Every blocking operation here waits forever (timeout -1): a hang is
 * caught by the test process, which reaps its children against a
 * deadline, kills what is left and fails. Randomness comes from a seed
 * printed at the start of each test (KCHAN_FAULT_SEED=N repeats it, as far
 * as timing allows).
 *
 * unload_refused_then_reload must stay the last test of this file: it
 * unloads chan.ko and loads it again (from KCHAN_VM_MODULE_PATH with
 * KCHAN_VM_MODULE_ARGS, which scripts/vm-run exports), and every later
 * test program depends on that reload.
 */
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <limits.h>
#include <linux/magic.h>

#include "kchan_test.h"

/* ---- helpers -------------------------------------------------------------- */

FIXTURE(fault) {
	int unused;
};

FIXTURE_SETUP(fault)
{
}

FIXTURE_TEARDOWN(fault)
{
}

static uint64_t rnd_state;

static void rnd_seed(uint64_t s)
{
	rnd_state = s ? s : 0x9e3779b97f4a7c15ULL;
}

static uint32_t rnd(void)
{
	uint64_t x = rnd_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rnd_state = x;
	return (uint32_t)(x >> 32);
}

static uint32_t rnd_below(uint32_t n)
{
	return n ? rnd() % n : 0;
}

/* A child draws its own sequence from the parent's and its index. */
static void rnd_fork_seed(unsigned int idx)
{
	rnd_seed(rnd_state * 6364136223846793005ULL + idx * 1442695040888963407ULL);
}

static uint64_t test_seed(void)
{
	const char *e = getenv("KCHAN_FAULT_SEED");

	if (e && *e)
		return strtoull(e, NULL, 0);
	return (uint64_t)kc_now_ns() ^ ((uint64_t)getpid() << 40);
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000L };

	if (us <= 0)
		return;
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* How long a child may take to finish once it should: generous for KASAN. */
#define REAP_MS		30000

#define ST_HUNG		1000	/* reap_deadline(): still running at the deadline */

/*
 * Reap pids[0..n) within ms. st[i] is the exit status, 128 + signal if
 * killed, or ST_HUNG when the child was still running at the deadline (it
 * is then killed and reaped). Returns how many hung.
 */
static int reap_deadline(const pid_t *pids, int *st, int n, int ms)
{
	int64_t end = kc_now_ns() + (int64_t)ms * 1000000;
	int left = 0, hung = 0, i, w;
	pid_t r;

	for (i = 0; i < n; i++) {
		st[i] = pids[i] > 0 ? -1 : 0;
		left += pids[i] > 0;
	}
	while (left) {
		for (i = 0; i < n; i++) {
			if (st[i] != -1)
				continue;
			r = waitpid(pids[i], &w, WNOHANG);
			if (r == pids[i]) {
				st[i] = WIFEXITED(w) ? WEXITSTATUS(w) :
					WIFSIGNALED(w) ? 128 + WTERMSIG(w) : -2;
				left--;
			} else if (r < 0 && errno != EINTR) {
				st[i] = -3;
				left--;
			}
		}
		if (!left)
			break;
		if (kc_now_ns() > end) {
			for (i = 0; i < n; i++) {
				if (st[i] != -1)
					continue;
				kill(pids[i], SIGKILL);
				kc_reap(pids[i]);
				st[i] = ST_HUNG;
				hung++;
			}
			break;
		}
		usleep(300);
	}
	return hung;
}

/* The first failure a child saw, in shared memory. */
struct failrec {
	int line;
	int role;
	long long val;
};

static struct failrec *failrec;
static int child_role;

static void child_fail(int line, long long val)
{
	int zero = 0;

	if (__atomic_compare_exchange_n(&failrec->line, &zero, line, 0,
					__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
		failrec->role = child_role;
		failrec->val = val;
	}
	_exit(KC_FAIL);
}

/* In a child: fail (exit 1) with the line and a value for the report. */
#define CFAIL(v)	child_fail(__LINE__, (long long)(v))
#define CCHECK(c, v)	do { if (!(c)) CFAIL(v); } while (0)

#define FAILREC_LOG() \
	TH_LOG("first child failure: line %d role %d value %lld", \
	       failrec->line, failrec->role, failrec->val)

/* One select case; ok preset to 7 so that untouched cases show. */
static void case_set(struct chan_select_case *c, int fd, unsigned int op, void *buf,
		     size_t len)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->op = op;
	c->buf = (uintptr_t)buf;
	c->len = len;
	c->ok = 7;
}

/* 1 once the read end of a pipe sees EOF (within ms), else 0. */
static int pipe_eof_within(int rfd, int ms)
{
	int64_t end = kc_now_ns() + (int64_t)ms * 1000000;
	struct pollfd p = { .fd = rfd, .events = POLLIN };
	char c;

	for (;;) {
		if (poll(&p, 1, 0) == 1 && read(rfd, &c, 1) == 0)
			return 1;
		if (kc_now_ns() > end)
			return 0;
		usleep(2000);
	}
}

/* ---- 1. close racing with blocked senders, receivers and selects ---------- */

#define T1_NS		3	/* senders */
#define T1_NR		3	/* receivers */
#define T1_NK		2	/* selectors */
#define T1_NSS		2	/* select set waiters */
/* producers: senders, then selectors, then set waiters */
#define T1_NP		(T1_NS + T1_NK + T1_NSS)
#define T1_NPROCS	(T1_NS + T1_NR + T1_NK + T1_NSS)
#define T1_SET_SLOTS	8	/* a set's cases lie at random indices below */
#define T1_MAXSEQ	4096
#define T1_ROUNDS	60	/* per (mode, capacity): 3 x 2 x 60 iterations */
/*
 * A slow kernel (KASAN, lockdep under emulation: 0.5 to 1 s an iteration)
 * stops after T1_BUDGET_S once T1_MIN_ROUNDS rounds ran, so that the
 * program stays well inside the runner's time limit.
 */
#define T1_MIN_ROUNDS	10
#define T1_BUDGET_S	90

enum { T1_SEND, T1_RECV, T1_MIXED, T1_MODES };

struct t1_msg {
	uint32_t producer;
	uint32_t seq;
};

struct t1_shared {
	struct failrec fr;
	uint32_t sent[T1_NP];		/* producer p's messages 0..sent-1 went in */
	uint16_t got[T1_NP][T1_MAXSEQ];	/* times each message came out */
};

static struct t1_shared *t1;

static void t1_record(const struct t1_msg *m, size_t len)
{
	CCHECK(len == sizeof(*m), len);
	CCHECK(m->producer < T1_NP, m->producer);
	CCHECK(m->seq < T1_MAXSEQ, m->seq);
	__atomic_fetch_add(&t1->got[m->producer][m->seq], 1, __ATOMIC_SEQ_CST);
}

/* Sends 0, 1, 2... until EPIPE, which is then also what a try gets. */
static void t1_sender(int c, uint32_t p)
{
	struct t1_msg m = { p, 0 };
	int r;

	for (m.seq = 0; m.seq < T1_MAXSEQ; m.seq++) {
		r = kc_send(c, &m, sizeof(m), -1);
		if (r == -EPIPE)
			break;
		CCHECK(r == 0, r);
		__atomic_store_n(&t1->sent[p], m.seq + 1, __ATOMIC_SEQ_CST);
	}
	if (m.seq < T1_MAXSEQ) {
		r = kc_send(c, &m, sizeof(m), 0);
		CCHECK(r == -EPIPE, r);
	}
	_exit(KC_OK);
}

/* Receives until closed and drained, which then stays so. */
static void t1_receiver(int c)
{
	struct t1_msg m;
	size_t len;
	int r;

	for (;;) {
		len = 0;
		r = kc_recv(c, &m, sizeof(m), &len, -1);
		if (r == 0)
			break;
		CCHECK(r == 1, r);
		t1_record(&m, len);
	}
	r = kc_recv(c, &m, sizeof(m), &len, 0);
	CCHECK(r == 0, r);
	_exit(KC_OK);
}

/*
 * A select with the racing channel's cases (send and/or recv by mode) and
 * three that never fire: recv on an empty channel nobody sends to, send on
 * a full one nobody receives from, and a nil case. Loops until a case of
 * the racing channel fires with ok = 0 (closed).
 */
static void t1_selector(int c, int empty, int full, uint32_t p, int mode)
{
	struct t1_msg out = { p, 0 }, in, junk;
	struct chan_select_case cs[5];
	unsigned int n, i;
	int r, send_at, recv_at;

	for (;;) {
		n = 0;
		send_at = recv_at = -1;
		if (mode != T1_SEND) {
			recv_at = n;
			case_set(&cs[n++], c, CHAN_OP_RECV, &in, sizeof(in));
		}
		case_set(&cs[n++], empty, CHAN_OP_RECV, &junk, sizeof(junk));
		if (mode != T1_RECV && out.seq < T1_MAXSEQ) {
			send_at = n;
			case_set(&cs[n++], c, CHAN_OP_SEND, &out, sizeof(out));
		}
		case_set(&cs[n++], -1, CHAN_OP_RECV, &junk, sizeof(junk));
		case_set(&cs[n++], full, CHAN_OP_SEND, &junk, sizeof(junk));
		if (send_at < 0 && recv_at < 0)
			_exit(KC_OK);	/* sent T1_MAXSEQ: done */

		r = kc_select_on(c, cs, n, -1);
		CCHECK(r >= 0, r);
		CCHECK(r == send_at || r == recv_at, 100 + r);
		for (i = 0; i < n; i++)
			CCHECK((int)i == r || cs[i].ok == 7, 200 + i);
		CCHECK(cs[r].ok <= 1, cs[r].ok);
		if (!cs[r].ok)
			break;		/* closed (and, for recv, drained) */
		if (r == send_at) {
			out.seq++;
			__atomic_store_n(&t1->sent[p], out.seq,
					 __ATOMIC_SEQ_CST);
		} else {
			t1_record(&in, cs[r].len);
		}
	}
	/* closed: a send now fails at once */
	r = kc_send(c, &out, sizeof(out), 0);
	CCHECK(r == -EPIPE, r);
	_exit(KC_OK);
}

/*
 * Where the cases of a t1 select set are: the racing channel's recv (not
 * in T1_SEND) and send (not in T1_RECV), and three that never fire: recv
 * on "empty", send on "full" and a nil case, at distinct random indices;
 * the other indices are never set. -1: no such case.
 */
struct t1_layout {
	int recv_at, send_at, empty_at, full_at, nil_at;
};

/* A set's buffers: at the same address in every process of the test. */
static struct t1_msg t1_out, t1_in, t1_junk;

/* A select set with @mode's cases on @c; its fd or -errno. */
static int t1_set_build(int c, int empty, int full, int mode,
			struct t1_layout *l)
{
	int slots[T1_SET_SLOTS], i, j, t, set, r;

	for (i = 0; i < T1_SET_SLOTS; i++)
		slots[i] = i;
	for (i = T1_SET_SLOTS - 1; i > 0; i--) {
		j = rnd_below(i + 1);
		t = slots[i];
		slots[i] = slots[j];
		slots[j] = t;
	}
	l->recv_at = mode != T1_SEND ? slots[0] : -1;
	l->send_at = mode != T1_RECV ? slots[1] : -1;
	l->empty_at = slots[2];
	l->full_at = slots[3];
	l->nil_at = slots[4];
	set = kc_selset_create(rnd_below(2) ? CHAN_CLOEXEC : 0);
	if (set < 0)
		return set;
	r = kc_selset_ctl(set, l->empty_at, empty, CHAN_OP_RECV, &t1_junk,
			  sizeof(t1_junk));
	if (!r)
		r = kc_selset_ctl(set, l->full_at, full, CHAN_OP_SEND, &t1_junk,
				  sizeof(t1_junk));
	if (!r)
		r = kc_selset_ctl(set, l->nil_at, -1, CHAN_OP_RECV, NULL, 0);
	if (!r && l->recv_at >= 0)
		r = kc_selset_ctl(set, l->recv_at, c, CHAN_OP_RECV, &t1_in,
				  sizeof(t1_in));
	if (!r && l->send_at >= 0)
		r = kc_selset_ctl(set, l->send_at, c, CHAN_OP_SEND, &t1_out,
				  sizeof(t1_out));
	if (r) {
		close(set);
		return r;
	}
	return set;
}

/*
 * t1_selector with a select set: the cases registered once, by the test
 * process in a set both set waiters share (concurrent waits on one set),
 * or here in a set of its own, after which it closes its channel fds so
 * that only the set holds them. The send case's message is read at each
 * wait, so bumping t1_out.seq is enough. Once a case fired closed, the
 * set answers at once: a send case closed, a recv case with what is left
 * in the buffer, then closed and drained for good.
 */
static void t1_set_waiter(int set, int c, int empty, int full, uint32_t p,
			  int mode, const struct t1_layout *shared)
{
	struct chan_selset_wait w;
	struct t1_layout l;
	bool drained;
	int r, i;

	if (set < 0) {
		set = t1_set_build(c, empty, full, mode, &l);
		CCHECK(set >= 0, set);
		close(c);
		close(empty);
		close(full);
	} else {
		l = *shared;
	}
	t1_out.producer = p;
	t1_out.seq = 0;
	for (;;) {
		if (t1_out.seq >= T1_MAXSEQ)
			_exit(KC_OK);	/* sent all it may */
		r = kc_selset_wait(set, &w, -1);
		CCHECK(r >= 0, r);
		CCHECK(r == l.send_at || r == l.recv_at, 100 + r);
		CCHECK(w.ok <= 1, w.ok);
		if (!w.ok)
			break;
		if (r == l.send_at) {
			CCHECK(w.len == sizeof(t1_out), w.len);
			t1_out.seq++;
			__atomic_store_n(&t1->sent[p], t1_out.seq,
					 __ATOMIC_SEQ_CST);
		} else {
			t1_record(&t1_in, w.len);
		}
	}
	CCHECK(r != l.recv_at || !w.len, w.len);
	drained = r == l.recv_at;
	for (i = 0; i < 2 * T1_MAXSEQ; i++) {
		r = kc_selset_wait(set, &w, 0);
		CCHECK(r == l.send_at || r == l.recv_at, 300 + r);
		CCHECK(w.ok <= 1, w.ok);
		if (r == l.send_at) {
			CCHECK(!w.ok, 500);	/* never a send once closed */
			_exit(KC_OK);
		}
		if (w.ok) {
			CCHECK(!drained, 600);	/* drained stays drained */
			t1_record(&t1_in, w.len);
		} else if (l.send_at < 0) {
			_exit(KC_OK);	/* drained, and again */
		}
		drained = !w.ok;
	}
	CFAIL(700);
}

static const char *const t1_mode_name[] = { "send", "recv", "mixed" };

/*
 * One iteration: the processes of @mode block on (or stream through) a
 * fresh channel, the test process closes it, every one must come back with
 * its documented result and every message that went in comes out once.
 */
static void t1_iteration(struct __test_metadata *_metadata, int mode,
			 unsigned int cap, int iter)
{
	pid_t pids[T1_NPROCS];
	int st[T1_NPROCS];
	int c, empty, full, np = 0, i, r, hung, set = -1;
	struct t1_layout layout;
	uint64_t sum_sent = 0, sum_got = 0;
	struct chan_info info;
	unsigned int waiters = 0;
	uint32_t p, s;
	struct t1_msg m = { 0, 0 };
	size_t len;

	memset(t1, 0, sizeof(*t1));
	c = kc_create(cap, sizeof(struct t1_msg));
	empty = kc_create(1, sizeof(struct t1_msg));
	full = kc_create(1, sizeof(struct t1_msg));
	ASSERT_GE(c, 0);
	ASSERT_GE(empty, 0);
	ASSERT_GE(full, 0);
	ASSERT_EQ(0, kc_send(full, &m, sizeof(m), 0));

	if (mode != T1_RECV) {
		for (p = 0; p < T1_NS; p++) {
			pids[np] = kc_fork();
			ASSERT_GE(pids[np], 0);
			if (pids[np] == 0) {
				child_role = np;
				t1_sender(c, p);
			}
			np++;
		}
		waiters += T1_NS;
	}
	if (mode != T1_SEND) {
		for (i = 0; i < T1_NR; i++) {
			pids[np] = kc_fork();
			ASSERT_GE(pids[np], 0);
			if (pids[np] == 0) {
				child_role = np;
				t1_receiver(c);
			}
			np++;
		}
		waiters += T1_NR;
	}
	for (p = T1_NS; p < T1_NS + T1_NK; p++) {
		pids[np] = kc_fork();
		ASSERT_GE(pids[np], 0);
		if (pids[np] == 0) {
			child_role = np;
			t1_selector(c, empty, full, p, mode);
		}
		np++;
	}
	waiters += T1_NK;
	/* one set for both set waiters, or a set each */
	if (rnd_below(2)) {
		set = t1_set_build(c, empty, full, mode, &layout);
		ASSERT_LE(0, set) TH_LOG("select set: %s", strerror(-set));
	}
	for (; p < T1_NP; p++) {
		pids[np] = kc_fork();
		ASSERT_GE(pids[np], 0);
		if (pids[np] == 0) {
			child_role = np;
			t1_set_waiter(set, c, empty, full, p, mode, &layout);
		}
		np++;
	}
	if (set >= 0)
		close(set);
	waiters += T1_NSS;

	if (mode == T1_SEND) {
		/* everybody parked (buffered: once the buffer is full) */
		r = KC_WAIT(c, send_waiters, waiters);
		if (r)
			TH_LOG("iteration %d: send_waiters %lld, want %u", iter,
			       KC_INFO(c, send_waiters), waiters);
		EXPECT_EQ(0, r);
		sleep_us(rnd_below(300));
	} else if (mode == T1_RECV) {
		r = KC_WAIT(c, recv_waiters, waiters);
		if (r)
			TH_LOG("iteration %d: recv_waiters %lld, want %u", iter,
			       KC_INFO(c, recv_waiters), waiters);
		EXPECT_EQ(0, r);
		sleep_us(rnd_below(300));
	} else {
		/* while messages flow, some of them parked, some arriving */
		sleep_us(rnd_below(2500));
	}
	ASSERT_EQ(0, kc_close(c));
	EXPECT_EQ(-EALREADY, kc_close(c));

	hung = reap_deadline(pids, st, np, REAP_MS);
	if (hung) {
		TH_LOG("iteration %d (%s, cap %u): %d process(es) still blocked %d s after close",
		       iter, t1_mode_name[mode], cap, hung, REAP_MS / 1000);
	}
	ASSERT_EQ(0, hung);
	for (i = 0; i < np; i++) {
		if (st[i] == 128 + SIGALRM)
			TH_LOG("iteration %d (%s, cap %u): child %d still blocked %d s after the close (its alarm fired)",
			       iter, t1_mode_name[mode], cap, i,
			       KC_CHILD_ALARM);
		else if (st[i]) {
			TH_LOG("iteration %d (%s, cap %u): child %d status %d",
			       iter, t1_mode_name[mode], cap, i, st[i]);
			FAILREC_LOG();
		}
		ASSERT_EQ(0, st[i]);
	}

	/* what is still buffered comes out, then closed */
	for (;;) {
		len = 0;
		r = kc_recv(c, &m, sizeof(m), &len, 0);
		if (r != 1)
			break;
		ASSERT_EQ(sizeof(m), len);
		ASSERT_LT(m.producer, T1_NP);
		ASSERT_LT(m.seq, T1_MAXSEQ);
		t1->got[m.producer][m.seq]++;
	}
	ASSERT_EQ(0, r);

	/* exactly once: every message sent, and nothing else */
	for (p = 0; p < T1_NP; p++) {
		sum_sent += t1->sent[p];
		for (s = 0; s < T1_MAXSEQ; s++) {
			if (t1->got[p][s] != (s < t1->sent[p])) {
				TH_LOG("iteration %d (%s, cap %u): producer %u message %u came out %u times (sent %u)",
				       iter, t1_mode_name[mode], cap, p, s,
				       t1->got[p][s], t1->sent[p]);
				ASSERT_EQ(s < t1->sent[p], t1->got[p][s]);
			}
			sum_got += t1->got[p][s];
		}
	}
	/* nobody received in T1_SEND: only the buffer's worth went in */
	if (mode == T1_SEND)
		EXPECT_EQ(cap, sum_sent);
	if (mode == T1_RECV)
		EXPECT_EQ(0, sum_sent);

	ASSERT_EQ(0, kc_info(c, &info));
	EXPECT_EQ(1, info.closed);
	EXPECT_EQ(0, info.len);
	EXPECT_EQ(0, info.send_waiters);
	EXPECT_EQ(0, info.recv_waiters);
	EXPECT_EQ(1, info.send_handles);
	EXPECT_EQ(1, info.recv_handles);
	EXPECT_EQ(sum_sent, info.sent);
	EXPECT_EQ(sum_got, info.received);
	EXPECT_EQ(0, KC_INFO(empty, recv_waiters));
	EXPECT_EQ(0, KC_INFO(full, send_waiters));
	EXPECT_EQ(1, KC_INFO(full, len));
	close(c);
	close(empty);
	close(full);
}

TEST_F_TIMEOUT(fault, close_races_blocked_ops, 500)
{
	uint64_t seed = test_seed();
	int iter = 0, round, mode, ci, base;
	int64_t t0;

	rnd_seed(seed);
	TH_LOG("seed %llu", (unsigned long long)seed);
	t1 = kc_shared(sizeof(*t1));
	ASSERT_NE(NULL, t1);
	failrec = &t1->fr;
	base = kc_kchan_count();
	ASSERT_LE(0, base);

	t0 = kc_now_ns();
	for (round = 0; round < T1_ROUNDS; round++) {
		for (ci = 0; ci < 2; ci++) {
			for (mode = 0; mode < T1_MODES; mode++) {
				t1_iteration(_metadata, mode, ci ? 4 : 0, iter++);
				rnd_fork_seed(iter);
				if (!kc_test_passed(_metadata))
					return;
			}
		}
		if (round + 1 >= T1_MIN_ROUNDS &&
		    kc_now_ns() - t0 > T1_BUDGET_S * 1000000000LL)
			break;
	}
	TH_LOG("%d iterations in %.1f s", iter,
	       (kc_now_ns() - t0) / 1e9);
	/* the select sets let go of every channel with their last process */
	EXPECT_EQ(base, kc_kchan_wait_count(base, 5000));
}

/* ---- 2. SIGKILL of processes blocked in send, recv, select ---------------- */

#define T2_KILLS	200	/* per channel kind: unbuffered, buffered */
#define T2_MIN_KILLS	50	/* a slow kernel stops there after T2_BUDGET_S */
#define T2_BUDGET_S	35
#define T2_VSEQ		256	/* messages one victim may send */
#define T2_PSEQ		65536	/* messages the partner sender may send */
#define T2_MSG		64

struct t2_msg {
	uint32_t src;		/* 0: partner sender, k: victim k */
	uint32_t seq;
	uint8_t pat[T2_MSG - 8];
};

struct t2_shared {
	struct failrec fr;
	uint32_t stop;
	uint32_t p_sent;			/* partner's messages 0..p_sent-1 went in */
	uint32_t v_sent[T2_KILLS + 1];		/* victim k's messages 0..v_sent-1 went in */
	uint32_t v_attempt[T2_KILLS + 1];	/* > v_sent: one send may have gone in */
	uint32_t v_inrecv[T2_KILLS + 1];	/* a receive may have taken one */
	uint8_t v_where[T2_KILLS + 1];		/* T2_IN_*: the op under way */
	uint8_t got_p[T2_PSEQ];
	uint8_t got_v[T2_KILLS + 1][T2_VSEQ];
};

static struct t2_shared *t2;

static void t2_fill(struct t2_msg *m, uint32_t src, uint32_t seq)
{
	unsigned int i;

	m->src = src;
	m->seq = seq;
	for (i = 0; i < sizeof(m->pat); i++)
		m->pat[i] = (uint8_t)(src * 131 + seq * 17 + i * 7 + 1);
}

/* A whole message, never a part of one: check and count it. */
static int t2_take(const struct t2_msg *m, size_t len)
{
	struct t2_msg want;

	if (len != sizeof(*m))
		return -1;
	if (m->src > T2_KILLS || m->seq >= (m->src ? T2_VSEQ : T2_PSEQ))
		return -2;
	t2_fill(&want, m->src, m->seq);
	if (memcmp(&want, m, sizeof(want)))
		return -3;
	if (m->src)
		__atomic_fetch_add(&t2->got_v[m->src][m->seq], 1,
				   __ATOMIC_SEQ_CST);
	else
		__atomic_fetch_add(&t2->got_p[m->seq], 1, __ATOMIC_SEQ_CST);
	return 0;
}

#define T2_PARTNER_WAIT	100000000LL	/* partners poll stop every 100 ms */

/* The partner sender: sends 0, 1, 2... with pauses, until told to stop. */
static void t2_partner_sender(int h)
{
	struct t2_msg m;
	uint32_t seq = 0;
	int r;

	while (!__atomic_load_n(&t2->stop, __ATOMIC_SEQ_CST)) {
		if (!rnd_below(4))
			sleep_us(rnd_below(1000));
		if (seq >= T2_PSEQ) {
			sleep_us(1000);
			continue;
		}
		t2_fill(&m, 0, seq);
		r = kc_send(h, &m, sizeof(m), T2_PARTNER_WAIT);
		if (r == -ETIMEDOUT)
			continue;	/* nothing went in: the same again */
		CCHECK(r == 0, r);
		__atomic_store_n(&t2->p_sent, ++seq, __ATOMIC_SEQ_CST);
	}
	_exit(KC_OK);
}

/* The partner receiver: takes messages with pauses, until told to stop. */
static void t2_partner_receiver(int h)
{
	struct t2_msg m;
	size_t len;
	int r;

	while (!__atomic_load_n(&t2->stop, __ATOMIC_SEQ_CST)) {
		if (!rnd_below(4))
			sleep_us(rnd_below(1000));
		len = 0;
		r = kc_recv(h, &m, sizeof(m), &len, T2_PARTNER_WAIT);
		if (r == -ETIMEDOUT)
			continue;
		CCHECK(r == 1, r);	/* never closed: the test holds a sender */
		r = t2_take(&m, len);
		CCHECK(r == 0, r);
	}
	_exit(KC_OK);
}

/* What a victim was doing when it was killed. */
enum { T2_IN_SETUP, T2_IN_SEND, T2_IN_RECV, T2_IN_SELECT, T2_IN_SET,
	T2_NWHERE };

static const char *const t2_where_name[T2_NWHERE] = {
	"elsewhere", "send", "recv", "select", "set wait",
};

static void t2_where(uint32_t k, int where)
{
	__atomic_store_n(&t2->v_where[k], where, __ATOMIC_SEQ_CST);
}

/*
 * A victim: blocking sends, receives, selects and select set waits until
 * it is killed. Its set (made on its first set wait) has a send and a
 * recv case on the channel and a recv case on "empty" at random indices;
 * half the time the channel's cases hold a handle of their own that the
 * victim does not keep (only the set does), which its death must release
 * like any other.
 */
static void t2_victim(int h, int empty, uint32_t k)
{
	struct t2_msg out, in, junk;
	struct chan_selset_wait w;
	struct chan_select_case cs[3];
	int set = -1, s_send = 0, s_recv = 0, s_empty, hold;
	bool send_nil = false;
	uint32_t seq = 0;
	size_t len;
	int r;

	for (;;) {
		t2_where(k, T2_IN_SETUP);
		switch (rnd_below(5)) {
		case 0:
			if (seq >= T2_VSEQ)
				continue;
			t2_where(k, T2_IN_SEND);
			t2_fill(&out, k, seq);
			__atomic_store_n(&t2->v_attempt[k], seq + 1,
					 __ATOMIC_SEQ_CST);
			r = kc_send(h, &out, sizeof(out), -1);
			CCHECK(r == 0, r);
			__atomic_store_n(&t2->v_sent[k], ++seq,
					 __ATOMIC_SEQ_CST);
			break;
		case 1:
			t2_where(k, T2_IN_RECV);
			__atomic_store_n(&t2->v_inrecv[k], 1, __ATOMIC_SEQ_CST);
			len = 0;
			r = kc_recv(h, &in, sizeof(in), &len, -1);
			CCHECK(r == 1, r);
			r = t2_take(&in, len);
			CCHECK(r == 0, r);
			__atomic_store_n(&t2->v_inrecv[k], 0, __ATOMIC_SEQ_CST);
			break;
		case 2:
			t2_where(k, T2_IN_SELECT);
			t2_fill(&out, k, seq);
			case_set(&cs[0], seq < T2_VSEQ ? h : -1, CHAN_OP_SEND,
				 &out, sizeof(out));
			case_set(&cs[1], h, CHAN_OP_RECV, &in, sizeof(in));
			case_set(&cs[2], empty, CHAN_OP_RECV, &junk,
				 sizeof(junk));
			__atomic_store_n(&t2->v_attempt[k], seq + 1,
					 __ATOMIC_SEQ_CST);
			__atomic_store_n(&t2->v_inrecv[k], 1, __ATOMIC_SEQ_CST);
			r = kc_select_on(h, cs, 3, -1);
			CCHECK(r == 0 || r == 1, r);
			CCHECK(cs[r].ok == 1, cs[r].ok);
			CCHECK(cs[!r].ok == 7 && cs[2].ok == 7, r);
			if (r == 0) {
				__atomic_store_n(&t2->v_sent[k], ++seq,
						 __ATOMIC_SEQ_CST);
			} else {
				r = t2_take(&in, cs[1].len);
				CCHECK(r == 0, r);
			}
			__atomic_store_n(&t2->v_attempt[k], seq,
					 __ATOMIC_SEQ_CST);
			__atomic_store_n(&t2->v_inrecv[k], 0, __ATOMIC_SEQ_CST);
			break;
		default:
			if (set < 0) {
				set = kc_selset_create(rnd_below(2) ? CHAN_CLOEXEC : 0);
				CCHECK(set >= 0, set);
				hold = rnd_below(2) ? kc_dup(h, CHAN_RIGHT_BOTH) : h;
				CCHECK(hold >= 0, hold);
				s_send = rnd_below(3);
				s_recv = 3 + rnd_below(3);
				s_empty = rnd_below(2) ? 6 + rnd_below(3) : 0;
				if (!s_empty) {
					s_send++;
					s_recv++;
				}
				if (rnd_below(2)) {
					r = s_send;
					s_send = s_recv;
					s_recv = r;
				}
				r = kc_selset_ctl(set, s_send, hold, CHAN_OP_SEND,
						  &out, sizeof(out));
				CCHECK(r == 0, r);
				r = kc_selset_ctl(set, s_recv, hold, CHAN_OP_RECV,
						  &in, sizeof(in));
				CCHECK(r == 0, r);
				r = kc_selset_ctl(set, s_empty, empty, CHAN_OP_RECV,
						  &junk, sizeof(junk));
				CCHECK(r == 0, r);
				if (hold != h)
					close(hold);
			}
			if (seq >= T2_VSEQ && !send_nil) {
				r = kc_selset_ctl(set, s_send, -1, CHAN_OP_SEND,
						  NULL, 0);
				CCHECK(r == 0, r);
				send_nil = true;
			}
			t2_where(k, T2_IN_SET);
			t2_fill(&out, k, seq);	/* read at the wait */
			__atomic_store_n(&t2->v_attempt[k],
					 send_nil ? seq : seq + 1,
					 __ATOMIC_SEQ_CST);
			__atomic_store_n(&t2->v_inrecv[k], 1, __ATOMIC_SEQ_CST);
			r = kc_selset_wait(set, &w, -1);
			CCHECK(r == s_send || r == s_recv, r);
			CCHECK(w.ok == 1, w.ok);
			if (r == s_send) {
				CCHECK(w.len == sizeof(out), w.len);
				__atomic_store_n(&t2->v_sent[k], ++seq,
						 __ATOMIC_SEQ_CST);
			} else {
				r = t2_take(&in, w.len);
				CCHECK(r == 0, r);
			}
			__atomic_store_n(&t2->v_attempt[k], seq,
					 __ATOMIC_SEQ_CST);
			__atomic_store_n(&t2->v_inrecv[k], 0, __ATOMIC_SEQ_CST);
			break;
		}
	}
}

/* The state letter of /proc/PID/stat ('S' asleep), 0 if unreadable. */
static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* Kills that found the victim asleep in a set wait, over both phases. */
static unsigned int t2_set_kills;

static void t2_phase(struct __test_metadata *_metadata, unsigned int cap)
{
	unsigned int uncertain = 0, lost_max = 0, lost, missing = 0;
	unsigned int asleep_in[T2_NWHERE] = {};
	uint64_t committed, recorded = 0;
	pid_t partners[2], victim;
	int c, empty, h, k, r, st[2], kills, asleep;
	int64_t t1_end;
	int64_t t0;
	struct chan_info info;
	struct t2_msg m;
	uint32_t s, v;
	size_t len;

	memset(t2, 0, sizeof(*t2));
	c = kc_create(cap, sizeof(struct t2_msg));
	empty = kc_create(1, 8);
	ASSERT_GE(c, 0);
	ASSERT_GE(empty, 0);

	/* Every process has a handle of its own, so handle counts show exits. */
	h = kc_dup(c, CHAN_RIGHT_SEND);
	ASSERT_GE(h, 0);
	partners[0] = kc_fork();
	ASSERT_GE(partners[0], 0);
	if (partners[0] == 0) {
		/* partners live through every kill of the phase */
		alarm(0);
		rnd_fork_seed(1);
		child_role = 1000;
		t2_partner_sender(h);
	}
	close(h);
	h = kc_dup(c, CHAN_RIGHT_RECV);
	ASSERT_GE(h, 0);
	partners[1] = kc_fork();
	ASSERT_GE(partners[1], 0);
	if (partners[1] == 0) {
		alarm(0);
		rnd_fork_seed(2);
		child_role = 1001;
		t2_partner_receiver(h);
	}
	close(h);

	t0 = kc_now_ns();
	for (k = 1; k <= T2_KILLS; k++) {
		if (k > T2_MIN_KILLS &&
		    kc_now_ns() - t0 > T2_BUDGET_S * 1000000000LL)
			break;
		h = kc_dup(c, CHAN_RIGHT_BOTH);
		ASSERT_GE(h, 0);
		victim = kc_fork();
		ASSERT_GE(victim, 0);
		if (victim == 0) {
			rnd_fork_seed(k + 2);
			child_role = k;
			t2_victim(h, empty, k);
		}
		close(h);
		asleep = 0;
		switch (cap ? 1 + rnd_below(2) : rnd_below(4)) {
		case 0:		/* anywhere, often before it even started */
			sleep_us(rnd_below(3000));
			break;
		case 3:		/* aimed: asleep in a set wait, if it comes soon */
			t1_end = kc_now_ns() + 300000000LL;
			while (kc_now_ns() < t1_end) {
				if (t2->v_where[k] == T2_IN_SET &&
				    proc_state(victim) == 'S') {
					asleep = 1;
					break;
				}
				sleep_us(100);
			}
			break;
		default:	/* parked in the kernel, or just after */
			asleep = kc_wait_sleeping(victim) == 0;
			if (asleep && rnd_below(2))
				sleep_us(rnd_below(150));
			break;
		}
		/* (what it was doing when last seen asleep: a rough census) */
		if (asleep)
			asleep_in[t2->v_where[k] % T2_NWHERE]++;
		kill(victim, SIGKILL);
		ASSERT_EQ(0, reap_deadline(&victim, st, 1, REAP_MS));
		if (st[0] != 128 + SIGKILL) {
			TH_LOG("victim %d: status %d instead of SIGKILL", k,
			       st[0]);
			FAILREC_LOG();
		}
		ASSERT_EQ(128 + SIGKILL, st[0]);
		uncertain += t2->v_attempt[k] > t2->v_sent[k];
		lost_max += t2->v_inrecv[k];

		/* the victim's handle is gone, the partners' are there */
		ASSERT_EQ(0, kc_info(c, &info));
		EXPECT_EQ(2, info.send_handles);
		EXPECT_EQ(2, info.recv_handles);
		EXPECT_EQ(0, info.closed);
		if (failrec->line) {
			FAILREC_LOG();
			ASSERT_EQ(0, failrec->line);
		}
	}

	kills = k - 1;
	__atomic_store_n(&t2->stop, 1, __ATOMIC_SEQ_CST);
	ASSERT_EQ(0, reap_deadline(partners, st, 2, REAP_MS));
	if (st[0] || st[1])
		FAILREC_LOG();
	ASSERT_EQ(0, st[0]);
	ASSERT_EQ(0, st[1]);

	ASSERT_EQ(0, kc_info(c, &info));
	EXPECT_EQ(0, info.send_waiters);
	EXPECT_EQ(0, info.recv_waiters);
	EXPECT_EQ(1, info.send_handles);
	EXPECT_EQ(1, info.recv_handles);
	EXPECT_EQ(info.sent, info.received + info.len);

	/* drain what is buffered; then nothing is left anywhere */
	for (;;) {
		len = 0;
		r = kc_recv(c, &m, sizeof(m), &len, 0);
		if (r != 1)
			break;
		ASSERT_EQ(0, t2_take(&m, len));
	}
	ASSERT_EQ(-EAGAIN, r);
	ASSERT_EQ(0, kc_info(c, &info));
	EXPECT_EQ(0, info.len);
	EXPECT_EQ(info.sent, info.received);

	/*
	 * Each message at most once. What went in for sure came out, except
	 * at most one per victim killed inside a receive (it may have taken
	 * a message and died before counting it). A victim killed inside a
	 * send may or may not have sent that one message.
	 */
	committed = t2->p_sent;
	for (s = 0; s < T2_PSEQ; s++) {
		ASSERT_GE(1, t2->got_p[s]);
		if (s >= t2->p_sent)
			ASSERT_EQ(0, t2->got_p[s]);
		missing += s < t2->p_sent && !t2->got_p[s];
		recorded += t2->got_p[s];
	}
	for (v = 1; v <= T2_KILLS; v++) {
		committed += t2->v_sent[v];
		for (s = 0; s < T2_VSEQ; s++) {
			ASSERT_GE(1, t2->got_v[v][s]);
			if (t2->got_v[v][s] && (s > t2->v_sent[v] ||
			    (s == t2->v_sent[v] && t2->v_attempt[v] <= s))) {
				TH_LOG("victim %u message %u came out but was never sent",
				       v, s);
				ASSERT_EQ(0, t2->got_v[v][s]);
			}
			missing += s < t2->v_sent[v] && !t2->got_v[v][s];
			recorded += t2->got_v[v][s];
		}
	}
	lost = info.received - recorded;
	TH_LOG("cap %u: %d kills, %llu messages, %u maybe-sent, %u maybe-lost receives, %u lost",
	       cap, kills, (unsigned long long)info.sent, uncertain,
	       lost_max, lost);
	TH_LOG("cap %u: killed asleep in %s %u, %s %u, %s %u, %s %u (%s %u)",
	       cap, t2_where_name[T2_IN_SEND], asleep_in[T2_IN_SEND],
	       t2_where_name[T2_IN_RECV], asleep_in[T2_IN_RECV],
	       t2_where_name[T2_IN_SELECT], asleep_in[T2_IN_SELECT],
	       t2_where_name[T2_IN_SET], asleep_in[T2_IN_SET],
	       t2_where_name[T2_IN_SETUP], asleep_in[T2_IN_SETUP]);
	t2_set_kills += asleep_in[T2_IN_SET];
	EXPECT_GE(info.received, recorded);
	EXPECT_LE(lost, lost_max);
	EXPECT_LE(missing, lost);
	EXPECT_GE(info.sent, committed);
	EXPECT_LE(info.sent, committed + uncertain);
	EXPECT_LT(0, t2->p_sent);

	/* still a working channel, across processes */
	victim = kc_fork();
	ASSERT_GE(victim, 0);
	if (victim == 0) {
		len = 0;
		r = kc_recv(c, &m, sizeof(m), &len, 10000000000LL);
		_exit(r == 1 && len == sizeof(m) && m.src == 0 && m.seq == 1 ?
		      KC_OK : KC_FAIL);
	}
	t2_fill(&m, 0, 1);
	EXPECT_EQ(0, kc_send(c, &m, sizeof(m), 10000000000LL));
	EXPECT_EQ(0, reap_deadline(&victim, st, 1, REAP_MS));
	EXPECT_EQ(0, st[0]);
	close(c);
	close(empty);
}

TEST_F_TIMEOUT(fault, sigkill_blocked_ops, 500)
{
	uint64_t seed = test_seed();
	int64_t t0;

	rnd_seed(seed);
	TH_LOG("seed %llu", (unsigned long long)seed);
	t2 = kc_shared(sizeof(*t2));
	ASSERT_NE(NULL, t2);
	failrec = &t2->fr;
	t0 = kc_now_ns();
	t2_phase(_metadata, 0);
	if (!kc_test_passed(_metadata))
		return;
	t2_phase(_metadata, 4);
	TH_LOG("both kinds in %.1f s", (kc_now_ns() - t0) / 1e9);
	/* a quarter of the unbuffered phase's kills aim at one */
	EXPECT_LT(0, t2_set_kills) TH_LOG("no kill found a victim in a set wait");
}

/* ---- 3. dying with buffered messages and descriptors in flight ------------ */

struct t3_shared {
	struct failrec fr;
	pid_t gpid;
};

static struct t3_shared *t3;

/*
 * Process A builds five channels that hold messages and descriptors:
 *   p1  buffered, 5 messages
 *   p2  unbuffered, empty
 *   p3  buffered, 2 messages
 *   f   CHAN_FDPASS, buffered, carrying p1, the write end of the test's
 *       pipe, a memfd, a send-only handle of p2, and a message without fd
 *   u   CHAN_FDPASS, unbuffered: A's child G is parked sending p3 on it
 * A closes its own copies of the pipe's write end, the memfd and p2's
 * handle (they live only inside f), tells the test it is ready, then
 * either exits at once without closing anything (G still holds all of it)
 * or blocks in a receive until it is killed.
 */
static void t3_builder(int wpipe, int ready, int exit_first)
{
	int p1, p2, p3, f, u, mfd, d, i, r;
	char b = 'r';
	pid_t g;

	p1 = kc_create(8, 16);
	p2 = kc_create(0, 16);
	p3 = kc_create(4, 16);
	f = kc_create_flags(8, 16, CHAN_FDPASS);
	u = kc_create_flags(0, 16, CHAN_FDPASS);
	CCHECK(p1 >= 0 && p2 >= 0 && p3 >= 0 && f >= 0 && u >= 0, 0);
	for (i = 0; i < 5; i++)
		CCHECK(kc_send(p1, "p1", 2, 0) == 0, i);
	for (i = 0; i < 2; i++)
		CCHECK(kc_send(p3, "p3", 2, 0) == 0, i);
	mfd = memfd_create("kchan-fault", MFD_CLOEXEC);
	CCHECK(mfd >= 0, errno);
	CCHECK(write(mfd, "data", 4) == 4, errno);
	d = kc_dup(p2, CHAN_RIGHT_SEND);
	CCHECK(d >= 0, d);
	r = kc_send_fd(f, "p1", 2, p1, 0);
	CCHECK(r == 0, r);
	r = kc_send_fd(f, "pipe", 4, wpipe, 0);
	CCHECK(r == 0, r);
	r = kc_send_fd(f, "memfd", 5, mfd, 0);
	CCHECK(r == 0, r);
	r = kc_send_fd(f, "p2", 2, d, 0);
	CCHECK(r == 0, r);
	r = kc_send_fd(f, "none", 4, -1, 0);
	CCHECK(r == 0, r);
	close(wpipe);
	close(mfd);
	close(d);

	g = kc_fork();
	CCHECK(g >= 0, errno);
	if (g == 0) {
		/* outlives A; its alarm still bounds it */
		prctl(PR_SET_PDEATHSIG, 0);
		child_role = 2;
		r = kc_send_fd(u, "p3", 2, p3, -1);
		CFAIL(r);	/* nobody receives: only SIGKILL ends this */
	}
	t3->gpid = g;
	r = KC_WAIT(u, send_waiters, 1);
	CCHECK(r == 0, r);
	CCHECK(KC_INFO(f, len) == 5, KC_INFO(f, len));
	CCHECK(write(ready, &b, 1) == 1, errno);
	if (exit_first)
		_exit(KC_OK);
	r = kc_recv(p2, &b, 1, NULL, -1);
	CFAIL(r);
}

static void t3_variant(struct __test_metadata *_metadata, int exit_first)
{
	int pw[2], rd[2], base, n, st[2];
	pid_t pids[2];

	memset(t3, 0, sizeof(*t3));
	base = kc_kchan_count();
	ASSERT_GE(base, 0);
	ASSERT_EQ(0, pipe2(pw, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(rd, O_CLOEXEC));
	pids[0] = kc_fork();
	ASSERT_GE(pids[0], 0);
	if (pids[0] == 0) {
		child_role = 1;
		close(pw[0]);
		close(rd[0]);
		t3_builder(pw[1], rd[1], exit_first);
	}
	close(pw[1]);
	close(rd[1]);
	if (kc_pipe_get(rd[0]) != 1)
		FAILREC_LOG();
	ASSERT_EQ(0, failrec->line);
	pids[1] = t3->gpid;
	ASSERT_LT(0, pids[1]);

	/* all five listed; the pipe's write end lives inside f */
	EXPECT_EQ(base + 5, kc_kchan_count());
	EXPECT_EQ(0, pipe_eof_within(pw[0], 0));

	if (exit_first) {
		/* A exits holding everything, G (now ours) is killed last */
		ASSERT_EQ(0, reap_deadline(&pids[0], st, 1, REAP_MS));
		ASSERT_EQ(0, st[0]);
		EXPECT_EQ(base + 5, kc_kchan_count());
		EXPECT_EQ(0, pipe_eof_within(pw[0], 0));
		ASSERT_EQ(0, kc_wait_sleeping(pids[1]));
		kill(pids[1], SIGKILL);
		ASSERT_EQ(0, reap_deadline(&pids[1], st, 1, REAP_MS));
		EXPECT_EQ(128 + SIGKILL, st[0]);
	} else {
		/* G is killed first; A, blocked in a receive, last */
		kill(pids[1], SIGKILL);
		ASSERT_EQ(0, kc_wait_sleeping(pids[0]));
		kill(pids[0], SIGKILL);
		/* G becomes ours once A is gone */
		ASSERT_EQ(0, reap_deadline(&pids[0], &st[0], 1, REAP_MS));
		ASSERT_EQ(0, reap_deadline(&pids[1], &st[1], 1, REAP_MS));
		EXPECT_EQ(128 + SIGKILL, st[0]);
		EXPECT_EQ(128 + SIGKILL, st[1]);
	}
	n = kc_kchan_wait_count(base, 5000);
	if (n != base)
		TH_LOG("%s: /proc/kchan lists %d channels, %d before",
		       exit_first ? "exit, then kill" : "kill, kill", n, base);
	EXPECT_EQ(base, n);
	EXPECT_EQ(1, pipe_eof_within(pw[0], 5000));
	close(pw[0]);
	close(rd[0]);
}

/*
 * A process exits, or is killed, while its channels hold buffered
 * messages, channel fds, a pipe, a memfd, and a parked sender with a
 * channel fd in flight: every channel is freed and every file released.
 */
TEST_F_TIMEOUT(fault, dying_with_inflight_fds, 120)
{
	t3 = kc_shared(sizeof(*t3));
	ASSERT_NE(NULL, t3);
	failrec = &t3->fr;
	/* G outlives A: make it ours to reap */
	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1));
	t3_variant(_metadata, 1);
	t3_variant(_metadata, 0);
}

/*
 * No cycle can keep a channel alive (docs/names.md): an fd-carrying
 * channel may not travel in a channel, not even in itself, nor may an
 * AF_UNIX socket; a plain channel cannot carry anything. What may travel
 * is released with its carrier: a channel inside a unix socket's queue, a
 * plain channel inside an fd-carrying one, a named channel's buffer once
 * the name is unlinked.
 */
TEST_F(fault, fd_cycles_freed)
{
	int base, f, f2, d, p, q, sv[2], r, n;
	char name[64];
	struct chan_create cc;
	struct chan_unlink ul;
	int dev;

	base = kc_kchan_count();
	ASSERT_GE(base, 0);
	f = kc_create_flags(4, 8, CHAN_FDPASS);
	f2 = kc_create_flags(4, 8, CHAN_FDPASS);
	p = kc_create(2, 8);
	q = kc_create(2, 8);
	ASSERT_GE(f, 0);
	ASSERT_GE(f2, 0);
	ASSERT_GE(p, 0);
	ASSERT_GE(q, 0);
	d = kc_dup(f, CHAN_RIGHT_RECV);
	ASSERT_GE(d, 0);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));

	/* every cycle is refused at the send, and nothing moved */
	EXPECT_EQ(-EINVAL, kc_send_fd(f, "self", 4, f, 0));
	EXPECT_EQ(-EINVAL, kc_send_fd(f, "self", 4, d, 0));
	EXPECT_EQ(-EINVAL, kc_send_fd(f, "f2", 2, f2, 0));
	EXPECT_EQ(-EINVAL, kc_send_fd(f2, "f", 1, f, 0));
	EXPECT_EQ(-EINVAL, kc_send_fd(f, "unix", 4, sv[0], 0));
	EXPECT_EQ(-EINVAL, kc_send_fd(p, "self", 4, p, 0));
	EXPECT_EQ(-EINVAL, kc_send_fd(p, "q", 1, q, 0));
	EXPECT_EQ(0, KC_INFO(f, len));
	EXPECT_EQ(0, KC_INFO(f2, len));
	EXPECT_EQ(0, KC_INFO(p, len));

	/* what may travel: p (with a message) in f, f in a socket's queue */
	ASSERT_EQ(0, kc_send(p, "in p", 4, 0));
	ASSERT_EQ(0, kc_send_fd(f, "p", 1, p, 0));
	ASSERT_EQ(0, kc_unix_send_fd(sv[0], f));
	EXPECT_EQ(base + 4, kc_kchan_count());
	close(p);
	close(d);
	close(f);
	close(f2);
	close(q);
	/* f is alive only inside sv[1]'s queue, p only inside f */
	n = kc_kchan_wait_count(base + 2, 5000);
	EXPECT_EQ(base + 2, n);
	close(sv[0]);
	close(sv[1]);
	n = kc_kchan_wait_count(base, 5000);
	if (n != base)
		TH_LOG("after closing the sockets: %d channels, %d before", n,
		       base);
	EXPECT_EQ(base, n);

	/* a named channel holding a channel fd, no handle left, then unlinked */
	snprintf(name, sizeof(name), "kchan-fault-cycle-%d", getpid());
	dev = open(CHAN_DEVICE, O_RDWR | O_CLOEXEC);
	ASSERT_GE(dev, 0);
	memset(&cc, 0, sizeof(cc));
	cc.size = sizeof(cc);
	cc.flags = CHAN_FDPASS;
	cc.capacity = 2;
	cc.msg_size = 8;
	cc.name = (uintptr_t)name;
	cc.mode = 0600;
	f = ioctl(dev, CHAN_IOC_CREATE, &cc);
	ASSERT_GE(f, 0);
	p = kc_create(1, 8);
	ASSERT_GE(p, 0);
	ASSERT_EQ(0, kc_send_fd(f, "p", 1, p, 0));
	close(p);
	close(f);
	EXPECT_EQ(base + 2, kc_kchan_count());
	memset(&ul, 0, sizeof(ul));
	ul.size = sizeof(ul);
	ul.name = (uintptr_t)name;
	r = ioctl(dev, CHAN_IOC_UNLINK, &ul);
	EXPECT_EQ(0, r);
	close(dev);
	n = kc_kchan_wait_count(base, 5000);
	EXPECT_EQ(base, n);
}

/* ---- 3b. select sets holding channels ------------------------------------ */

enum {
	T5_NIL,		/* the case is set nil */
	T5_REPLACE,	/* the case is set to another channel */
	T5_CLOSE,	/* the set is closed */
	T5_KILL_WAIT,	/* its process is killed inside a wait on it */
	T5_KILL,	/* its process is killed (blocked in another set's wait) */
	T5_EXIT,	/* its process exits */
	T5_NVARIANTS
};

static const char *const t5_name[T5_NVARIANTS] = {
	"case set nil", "case replaced", "set closed",
	"holder killed in a wait on the set", "holder killed", "holder exits",
};

#define T5_VAL	0xfeedULL

/*
 * The holder: a set whose case 0 sends on @c (fd closed at once: only the
 * set holds that handle). T5_KILL_WAIT: blocks in a wait on the set, the
 * send case parked on the unbuffered @c. Otherwise it first sends one
 * message through the set (into @c's buffer), then blocks in a wait on a
 * second set (a recv nobody can complete) until killed, or exits on the
 * go.
 */
static void t5_holder(int c, int ready, int go, int variant)
{
	struct chan_selset_wait w;
	uint64_t v = T5_VAL, junk;
	int set, set2, e, r;

	set = kc_selset_create(0);
	CCHECK(set >= 0, set);
	r = kc_selset_ctl(set, 0, c, CHAN_OP_SEND, &v, sizeof(v));
	CCHECK(r == 0, r);
	close(c);
	if (variant != T5_KILL_WAIT) {
		r = kc_selset_wait(set, &w, 0);
		CCHECK(r == 0 && w.ok == 1, r);
	}
	kc_pipe_put(ready);
	if (variant == T5_EXIT) {
		CCHECK(kc_pipe_get(go) == 1, 0);
		_exit(KC_OK);
	}
	if (variant == T5_KILL) {
		e = kc_create(0, 8);
		set2 = kc_selset_create(0);
		CCHECK(e >= 0 && set2 >= 0, e);
		r = kc_selset_ctl(set2, 3, e, CHAN_OP_RECV, &junk, sizeof(junk));
		CCHECK(r == 0, r);
		close(e);
		set = set2;
	}
	r = kc_selset_wait(set, &w, -1);
	CFAIL(r);	/* nothing can fire: only SIGKILL ends this */
}

/*
 * The last send handle of a channel lives in a set's case: the channel
 * stays open (a blocked receiver keeps waiting, INFO counts the handle)
 * until the case lets go of it: set nil, set to another channel, the set
 * closed, or its process killed (inside a wait on that set or elsewhere)
 * or exiting. Then the channel is closed at once: the blocked receiver
 * gets closed after what was buffered.
 */
TEST_F_TIMEOUT(fault, selset_holds_last_sender, 120)
{
	uint64_t v = T5_VAL, got;
	struct chan_selset_wait w;
	struct chan_info in;
	int vt, c, r, d, set, rd[2], go[2], st[2], base, ret;
	bool kid, msg;
	pid_t pids[2];
	size_t len = 0;

	t3 = kc_shared(sizeof(*t3));
	ASSERT_NE(NULL, t3);
	failrec = &t3->fr;
	base = kc_kchan_count();
	ASSERT_LE(0, base);
	for (vt = 0; vt < T5_NVARIANTS; vt++) {
		kid = vt >= T5_KILL_WAIT;
		msg = vt != T5_KILL_WAIT;	/* one went in through the set */
		c = kc_create(msg ? 1 : 0, 8);
		ASSERT_LE(0, c);
		d = kc_create(1, 8);
		ASSERT_LE(0, d);
		r = kc_dup(c, CHAN_RIGHT_RECV);
		ASSERT_LE(0, r);
		/* from here c is the only send handle, and a send-only one */
		ret = kc_dup(c, CHAN_RIGHT_SEND);
		ASSERT_LE(0, ret);
		close(c);
		c = ret;
		set = -1;
		pids[0] = pids[1] = -1;
		ASSERT_EQ(0, pipe2(rd, O_CLOEXEC));
		ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
		if (kid) {
			pids[1] = kc_fork();
			ASSERT_LE(0, pids[1]);
			if (pids[1] == 0) {
				child_role = 10 + vt;
				t5_holder(c, rd[1], go[0], vt);
			}
			ret = kc_pipe_get(rd[0]);
			if (ret != 1)
				FAILREC_LOG();
			ASSERT_EQ(1, ret);
		} else {
			set = kc_selset_create(0);
			ASSERT_LE(0, set);
			ASSERT_EQ(0, kc_selset_ctl(set, 0, c, CHAN_OP_SEND, &v,
						   sizeof(v)));
			ASSERT_EQ(0, kc_selset_wait(set, &w, 0));
			EXPECT_EQ(1, w.ok);
			EXPECT_EQ(sizeof(v), w.len);
		}
		/* our last send handle goes: only the set's case is left */
		close(c);
		if (vt == T5_KILL_WAIT)
			ASSERT_EQ(0, KC_WAIT(r, send_waiters, 1));
		ASSERT_EQ(0, kc_info(r, &in));
		EXPECT_EQ(0, in.closed) TH_LOG("%s", t5_name[vt]);
		EXPECT_EQ(1, in.send_handles);
		EXPECT_EQ(1, in.recv_handles);
		EXPECT_EQ(msg, in.len);

		/* a receiver: the set's message (if any), then closed */
		if (msg) {
			pids[0] = kc_fork();
			ASSERT_LE(0, pids[0]);
			if (pids[0] == 0) {
				child_role = 20 + vt;
				if (set >= 0)
					close(set);
				got = 0;
				ret = kc_recv(r, &got, sizeof(got), &len, -1);
				CCHECK(ret == 1, ret);
				CCHECK(len == 8 && got == T5_VAL, got);
				ret = kc_recv(r, &got, sizeof(got), &len, -1);
				CCHECK(ret == 0, ret);
				_exit(KC_OK);
			}
			/* parked for the close: open while the set holds c */
			ASSERT_EQ(0, KC_WAIT(r, recv_waiters, 1));
			sleep_us(2000);
			ASSERT_EQ(0, kc_info(r, &in));
			EXPECT_EQ(0, in.closed) TH_LOG("%s", t5_name[vt]);
			EXPECT_EQ(1, in.recv_waiters);
			EXPECT_EQ(1, in.send_handles);
			EXPECT_EQ(0, in.len);
		}

		switch (vt) {
		case T5_NIL:
			EXPECT_EQ(0, kc_selset_ctl(set, 0, -1, CHAN_OP_SEND, NULL, 0));
			break;
		case T5_REPLACE:
			EXPECT_EQ(0, kc_selset_ctl(set, 0, d, CHAN_OP_SEND, &v,
						   sizeof(v)));
			break;
		case T5_CLOSE:
			close(set);
			set = -1;
			break;
		case T5_EXIT:
			kc_pipe_put(go[1]);
			break;
		default:
			kill(pids[1], SIGKILL);
			break;
		}
		if (kid) {
			ASSERT_EQ(0, reap_deadline(&pids[1], &st[1], 1, REAP_MS));
			if (st[1] != (vt == T5_EXIT ? 0 : 128 + SIGKILL))
				FAILREC_LOG();
			EXPECT_EQ(vt == T5_EXIT ? 0 : 128 + SIGKILL, st[1]);
		}
		if (!msg) {
			/* the killed sender's message never went in */
			pids[0] = kc_fork();
			ASSERT_LE(0, pids[0]);
			if (pids[0] == 0) {
				child_role = 20 + vt;
				ret = kc_recv(r, &got, sizeof(got), &len, -1);
				CCHECK(ret == 0, ret);
				_exit(KC_OK);
			}
		}
		ASSERT_EQ(0, reap_deadline(&pids[0], &st[0], 1, REAP_MS))
			TH_LOG("%s: the receiver still waits", t5_name[vt]);
		if (st[0])
			FAILREC_LOG();
		EXPECT_EQ(0, st[0]) TH_LOG("%s: the receiver", t5_name[vt]);
		ASSERT_EQ(0, kc_info(r, &in));
		EXPECT_EQ(1, in.closed) TH_LOG("%s", t5_name[vt]);
		EXPECT_EQ(0, in.send_handles);
		EXPECT_EQ(1, in.recv_handles);
		EXPECT_EQ(0, in.send_waiters);
		EXPECT_EQ(0, in.recv_waiters);
		EXPECT_EQ(0, in.len);
		EXPECT_EQ(msg, in.sent);
		EXPECT_EQ(in.sent, in.received);
		if (vt == T5_REPLACE) {
			/* the set lives on, with the other channel */
			EXPECT_EQ(0, kc_selset_wait(set, &w, 0));
			EXPECT_EQ(1, w.ok);
			EXPECT_EQ(1, KC_INFO(d, len));
		}
		if (set >= 0)
			close(set);
		close(r);
		close(d);
		close(rd[0]);
		close(rd[1]);
		close(go[0]);
		close(go[1]);
		if (!kc_test_passed(_metadata))
			return;
	}
	EXPECT_EQ(base, kc_kchan_wait_count(base, 5000));
}

/*
 * Process A makes four channels and gives them away to select sets:
 *   p1  buffered, full        (set A: send, blocks)
 *   p2  unbuffered            (set A and set B: send, blocks)
 *   p3  buffered, empty       (set A and set B: recv, blocks)
 *   f   CHAN_FDPASS, full of messages carrying the write end of the
 *       test's pipe and send handles of p3 (set A: send, blocks)
 * and a set C with a recv case on p1 that lives only in flight in a unix
 * socket A holds. A closes every channel fd: only the sets hold them. Its
 * child G keeps set B only and blocks in a wait on it. Then A exits at
 * once, or blocks in a wait on set A until it is killed (G first).
 */
static void t5_builder(int wpipe, int ready, int go, int exit_first)
{
	int p1, p2, p3, f, sa, sb, sc, sv[2], d, i, r;
	struct chan_selset_wait w;
	static uint8_t buf[16];
	pid_t g;

	p1 = kc_create(2, 16);
	p2 = kc_create(0, 16);
	p3 = kc_create(2, 16);
	f = kc_create_flags(3, 16, CHAN_FDPASS);
	CCHECK(p1 >= 0 && p2 >= 0 && p3 >= 0 && f >= 0, 0);
	sa = kc_selset_create(0);
	sb = kc_selset_create(CHAN_CLOEXEC);
	sc = kc_selset_create(0);
	CCHECK(sa >= 0 && sb >= 0 && sc >= 0, 0);
	/* a set may not travel in a message (f has room: nothing else stops it) */
	CCHECK(kc_send_fd(f, "set", 3, sc, 0) == -EINVAL, 8);
	CCHECK(KC_INFO(f, len) == 0, 8);
	for (i = 0; i < 2; i++)
		CCHECK(kc_send(p1, "p1", 2, 0) == 0, i);
	r = kc_send_fd(f, "pipe", 4, wpipe, 0);
	CCHECK(r == 0, r);
	close(wpipe);
	for (i = 0; i < 2; i++) {
		d = kc_dup(p3, CHAN_RIGHT_SEND);
		CCHECK(d >= 0, d);
		r = kc_send_fd(f, "p3", 2, d, 0);
		CCHECK(r == 0, r);
		close(d);
	}
	CCHECK(kc_selset_ctl(sa, 3, p1, CHAN_OP_SEND, buf, 2) == 0, 1);
	CCHECK(kc_selset_ctl(sa, 1, p2, CHAN_OP_SEND, buf, 2) == 0, 2);
	CCHECK(kc_selset_ctl(sa, 7, p3, CHAN_OP_RECV, buf, 16) == 0, 3);
	CCHECK(kc_selset_ctl(sa, 0, f, CHAN_OP_SEND, buf, 2) == 0, 4);
	CCHECK(kc_selset_ctl(sb, 2, p2, CHAN_OP_SEND, buf, 2) == 0, 5);
	CCHECK(kc_selset_ctl(sb, 0, p3, CHAN_OP_RECV, buf, 16) == 0, 6);
	CCHECK(kc_selset_ctl(sc, 5, p1, CHAN_OP_RECV, buf, 16) == 0, 7);
	/* but in a unix socket's queue */
	CCHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0,
	       errno);
	CCHECK(kc_unix_send_fd(sv[0], sc) == 0, 9);
	close(sc);
	close(p1);
	close(p2);
	close(p3);
	close(f);

	g = kc_fork();
	CCHECK(g >= 0, errno);
	if (g == 0) {
		/* outlives A; its alarm still bounds it */
		prctl(PR_SET_PDEATHSIG, 0);
		child_role = 2;
		close(sa);
		close(sv[0]);
		close(sv[1]);
		r = kc_selset_wait(sb, &w, -1);
		CFAIL(r);	/* nothing can fire: only SIGKILL ends this */
	}
	t3->gpid = g;
	close(sb);
	CCHECK(kc_wait_sleeping(g) == 0, 10);
	/* nothing of set A is ready: a wait may not return */
	r = kc_selset_wait(sa, &w, 0);
	CCHECK(r == -EAGAIN, r);
	kc_pipe_put(ready);
	if (exit_first) {
		CCHECK(kc_pipe_get(go) == 1, 11);
		_exit(KC_OK);
	}
	r = kc_selset_wait(sa, &w, -1);
	CFAIL(r);
}

static void t5_variant(struct __test_metadata *_metadata, int exit_first)
{
	int pw[2], rd[2], go[2], base, n, st[2];
	pid_t pids[2];

	memset(t3, 0, sizeof(*t3));
	base = kc_kchan_count();
	ASSERT_GE(base, 0);
	ASSERT_EQ(0, pipe2(pw, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(rd, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	pids[0] = kc_fork();
	ASSERT_GE(pids[0], 0);
	if (pids[0] == 0) {
		child_role = 1;
		close(pw[0]);
		close(rd[0]);
		close(go[1]);
		t5_builder(pw[1], rd[1], go[0], exit_first);
	}
	close(pw[1]);
	close(rd[1]);
	close(go[0]);
	if (kc_pipe_get(rd[0]) != 1)
		FAILREC_LOG();
	ASSERT_EQ(0, failrec->line);
	pids[1] = t3->gpid;
	ASSERT_LT(0, pids[1]);

	/* all four, held only by sets (and f's buffer) */
	EXPECT_EQ(base + 4, kc_kchan_count());
	EXPECT_EQ(0, pipe_eof_within(pw[0], 0));

	if (exit_first) {
		/* A's sets go with it; G's set keeps p2 and p3 */
		kc_pipe_put(go[1]);
		ASSERT_EQ(0, reap_deadline(&pids[0], st, 1, REAP_MS));
		if (st[0])
			FAILREC_LOG();
		ASSERT_EQ(0, st[0]);
		n = kc_kchan_wait_count(base + 2, 5000);
		EXPECT_EQ(base + 2, n) TH_LOG("A exited, G holds a set of p2 and p3");
		EXPECT_EQ(1, pipe_eof_within(pw[0], 5000));
		ASSERT_EQ(0, kc_wait_sleeping(pids[1]));
		kill(pids[1], SIGKILL);
		ASSERT_EQ(0, reap_deadline(&pids[1], st, 1, REAP_MS));
		EXPECT_EQ(128 + SIGKILL, st[0]);
	} else {
		/* G is killed first; A, blocked in a wait on set A, last */
		kill(pids[1], SIGKILL);
		ASSERT_EQ(0, kc_wait_sleeping(pids[0]));
		EXPECT_EQ(base + 4, kc_kchan_count());
		kill(pids[0], SIGKILL);
		ASSERT_EQ(0, reap_deadline(&pids[0], &st[0], 1, REAP_MS));
		ASSERT_EQ(0, reap_deadline(&pids[1], &st[1], 1, REAP_MS));
		EXPECT_EQ(128 + SIGKILL, st[0]);
		EXPECT_EQ(128 + SIGKILL, st[1]);
	}
	n = kc_kchan_wait_count(base, 5000);
	if (n != base)
		TH_LOG("%s: /proc/kchan lists %d channels, %d before",
		       exit_first ? "exit, then kill" : "kill, kill", n, base);
	EXPECT_EQ(base, n);
	EXPECT_EQ(1, pipe_eof_within(pw[0], 5000));
	close(pw[0]);
	close(rd[0]);
	close(go[1]);
}

/*
 * A process exits, or is killed inside a wait, while its select sets hold
 * channels it has no fd of any more (one of them full of descriptors, one
 * set in flight in a unix socket, one inherited by a child that outlives
 * it): every channel is freed with the last set that holds it.
 */
TEST_F_TIMEOUT(fault, selset_holder_dies, 120)
{
	t3 = kc_shared(sizeof(*t3));
	ASSERT_NE(NULL, t3);
	failrec = &t3->fr;
	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1));
	t5_variant(_metadata, 1);
	t5_variant(_metadata, 0);
}

/* ---- 4. memory cgroup pressure ------------------------------------------- */

#define CG_ROOT		"/sys/fs/cgroup"
#define T4_MAX		(12LL << 20)	/* memory.max of the test's cgroup */
#define T4_BIG_CAP	64		/* 64 x 64 KiB: a 4 MiB channel */
#define T4_MSG		65536
#define T4_MID_CAP	16		/* 1 MiB channels until memory runs out */
#define T4_MID_MAX	64
#define T4_SEL_CASES	64		/* a select staging 4 MiB */

struct t4_shared {
	struct failrec fr;
	int step;
	long long cur0, cur1, cur2;	/* memory.current around the big channel */
	int nmid, errmid;		/* 1 MiB channels made, then the errno */
	int nsmall, errsmall;		/* then 64 KiB ones, then the errno */
	/* at the brim: a 64 KiB send, a 64 KiB batch, 4 MiB of select staging */
	int err_send_brim, err_batch_brim, err_sel_brim;
	/* 1 MiB free: the same select, the send */
	int err_sel_full, err_send_full;
	/* everything closed: the select, the batch */
	int err_sel_after, err_batch_after;
};

static struct t4_shared *t4;

static long long read_ll(const char *path)
{
	char buf[64];
	long long v;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	if (!strncmp(buf, "max", 3))
		return LLONG_MAX;
	v = strtoll(buf, NULL, 10);
	return v;
}

static int write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	n = n == (ssize_t)strlen(val) ? 0 : -errno;
	close(fd);
	return n;
}

static int file_has_word(const char *path, const char *word)
{
	char buf[512], *tok, *save;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	for (tok = strtok_r(buf, " \n", &save); tok;
	     tok = strtok_r(NULL, " \n", &save))
		if (!strcmp(tok, word))
			return 1;
	return 0;
}

/* CHAN_IOC_SEND_BATCH of one message: 0 when it moved, or -errno. */
static int send_batch1(int c, void *buf, size_t len, int64_t timeout_ns)
{
	struct chan_iovec iov = { (uintptr_t)buf, len };
	struct chan_batch b;
	int r;

	memset(&b, 0, sizeof(b));
	b.size = sizeof(b);
	b.msgs = (uintptr_t)&iov;
	b.n = 1;
	b.timeout_ns = timeout_ns;
	r = ioctl(c, CHAN_IOC_SEND_BATCH, &b);
	if (r < 0)
		return -errno;
	return r == 1 ? 0 : -EPROTO;
}

/*
 * In the cgroup: a 4 MiB channel (memory.current must rise by that much
 * and fall back when it is closed), then 1 MiB channels while they fit,
 * then one whose buffer cannot fit: ENOMEM; the same with 64 KiB ones. At
 * that brim a 64 KiB send, a 64 KiB batch and a select staging 4 MiB must
 * fail ENOMEM or (when what is left happens to be enough) time out; with
 * one 1 MiB channel closed again the select still fails; with everything
 * closed it all works again.
 *
 * What this guarantees, and what not: every allocation whose size the
 * caller chooses (a channel's buffer and slot arrays, staging, select
 * arrays) fails ENOMEM past memory.max instead of waking the memcg OOM
 * killer, and a failed create leaves nothing charged. Creating a channel
 * also makes the kernel allocate fixed-size objects of its own with plain
 * GFP_KERNEL_ACCOUNT: the file, and on 6.12 its dentry (d_alloc_pseudo()
 * in anon_inode_getfile()), plus slab pages and the fd table. Those may
 * OOM-kill whoever allocates within a few pages of memory.max, which no
 * module can prevent; the module makes them before the user-sized parts,
 * so that a create whose buffer does not fit fails ENOMEM after they
 * succeeded. The test therefore never calls into the kernel with less than
 * T4_MARGIN of memory.max - memory.current left (memory.current counts
 * the per-CPU charge caches and reclaimable page cache too, so the real
 * room is larger): it fills with channels while that much is left, then
 * probes with a buffer larger than memory.max, never by filling the rest.
 */
#define T4_MARGIN	(512LL << 10)

/* memory.max - memory.current: a lower bound of what can still be charged. */
static long long t4_room(const char *cur_path)
{
	return T4_MAX - read_ll(cur_path);
}

/*
 * A channel of msg_size T4_MSG whose buffer is larger than memory.max
 * itself (what memory.current counts may partly be reclaimable page
 * cache, so "larger than the room" could still fit): -errno.
 */
static int t4_create_too_big(void)
{
	int fd;

	fd = kc_create(T4_MAX / T4_MSG + 16, T4_MSG);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return fd;
}

static void t4_child(const char *cur_path, int go)
{
	int big, mids[T4_MID_MAX], smalls[T4_MID_MAX], sel[T4_SEL_CASES];
	struct chan_select_case cs[T4_SEL_CASES];
	static char msg[T4_MSG];
	int i, n, ns;

	child_role = 4;
	if (kc_pipe_get(go) != 1)
		CFAIL(-1);
	/* made before memory runs out, used after */
	for (i = 0; i < T4_SEL_CASES; i++) {
		sel[i] = kc_create(0, T4_MSG);
		CCHECK(sel[i] >= 0, sel[i]);
		case_set(&cs[i], sel[i], CHAN_OP_SEND, msg, sizeof(msg));
	}
	memset(msg, 'm', sizeof(msg));
	memset(mids, 0, sizeof(mids));
	memset(smalls, 0, sizeof(smalls));

	t4->step = 1;
	t4->cur0 = read_ll(cur_path);
	big = kc_create(T4_BIG_CAP, T4_MSG);
	CCHECK(big >= 0, big);
	t4->cur1 = read_ll(cur_path);
	close(big);
	t4->cur2 = read_ll(cur_path);

	t4->step = 2;
	for (n = 0; n < T4_MID_MAX; n++) {
		if (t4_room(cur_path) < T4_MID_CAP * T4_MSG + T4_MARGIN)
			break;
		mids[n] = kc_create(T4_MID_CAP, T4_MSG);
		if (mids[n] < 0)
			break;
		t4->nmid = n + 1;
	}
	if (n < T4_MID_MAX && mids[n] < 0)
		t4->errmid = -mids[n];	/* failed with room left */
	else if (n < T4_MID_MAX)
		t4->errmid = -t4_create_too_big();

	t4->step = 3;
	for (ns = 0; ns < T4_MID_MAX; ns++) {
		if (t4_room(cur_path) < T4_MSG + T4_MARGIN)
			break;
		smalls[ns] = kc_create(1, T4_MSG);
		if (smalls[ns] < 0)
			break;
		t4->nsmall = ns + 1;
	}
	if (ns < T4_MID_MAX && smalls[ns] < 0)
		t4->errsmall = -smalls[ns];
	else if (ns < T4_MID_MAX)
		t4->errsmall = -t4_create_too_big();

	/* at the brim: less than T4_MARGIN + 64 KiB left */
	t4->step = 4;
	t4->err_send_brim = -kc_send(sel[0], msg, sizeof(msg), 1000000);
	t4->step = 5;
	t4->err_batch_brim = -send_batch1(sel[0], msg, sizeof(msg), 1000000);
	t4->step = 6;
	t4->err_sel_brim = -kc_select_on(sel[0], cs, T4_SEL_CASES, 1000000);

	/*
	 * Room for small allocations (a 64 KiB message may fit or not), not
	 * for 4 MiB of select staging.
	 */
	for (i = 0; i < ns; i++)
		close(smalls[i]);
	if (n)
		close(mids[--n]);
	t4->step = 7;
	t4->err_sel_full = -kc_select_on(sel[0], cs, T4_SEL_CASES, 1000000);
	t4->step = 8;
	t4->err_send_full = -kc_send(sel[0], msg, sizeof(msg), 1000000);

	for (i = 0; i < n; i++)
		close(mids[i]);
	t4->step = 9;
	t4->err_sel_after = -kc_select_on(sel[0], cs, T4_SEL_CASES, 1000000);
	t4->step = 10;
	t4->err_batch_after = -send_batch1(sel[0], msg, sizeof(msg), 1000000);
	t4->step = 11;
	_exit(KC_OK);
}

TEST_F_TIMEOUT(fault, memcg_pressure, 120)
{
	char dir[128], path[192], pidbuf[32];
	long long cur_after, big = (long long)T4_BIG_CAP * T4_MSG;
	int mounted = 0, base, go[2], st, n, i, hung, rmdir_err;
	struct statfs sfs;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root (cgroup setup)");
	if (statfs(CG_ROOT, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		if (mount("cgroup2", CG_ROOT, "cgroup2", 0, NULL))
			SKIP(return, "cannot mount cgroup2 at %s: %s", CG_ROOT,
			     strerror(errno));
		mounted = 1;
	}
	if (!file_has_word(CG_ROOT "/cgroup.controllers", "memory") ||
	    write_str(CG_ROOT "/cgroup.subtree_control", "+memory")) {
		if (mounted)
			umount2(CG_ROOT, MNT_DETACH);
		SKIP(return, "no cgroup2 memory controller");
	}
	snprintf(dir, sizeof(dir), CG_ROOT "/kchan-fault-%d", getpid());
	ASSERT_EQ(0, mkdir(dir, 0755));
	snprintf(path, sizeof(path), "%s/memory.max", dir);
	snprintf(pidbuf, sizeof(pidbuf), "%lld", T4_MAX);
	EXPECT_EQ(0, write_str(path, pidbuf));
	snprintf(path, sizeof(path), "%s/memory.swap.max", dir);
	write_str(path, "0");

	t4 = kc_shared(sizeof(*t4));
	ASSERT_NE(NULL, t4);
	failrec = &t4->fr;
	base = kc_kchan_count();
	ASSERT_GE(base, 0);
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	snprintf(path, sizeof(path), "%s/memory.current", dir);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(go[1]);
		t4_child(path, go[0]);
	}
	close(go[0]);
	/* moved before it allocates anything: what it makes is charged here */
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	snprintf(pidbuf, sizeof(pidbuf), "%d", pid);
	EXPECT_EQ(0, write_str(path, pidbuf));
	kc_pipe_put(go[1]);
	close(go[1]);
	hung = reap_deadline(&pid, &st, 1, REAP_MS);

	/* nothing left behind: the charge is gone, the channels freed */
	n = kc_kchan_wait_count(base, 5000);
	snprintf(path, sizeof(path), "%s/memory.current", dir);
	cur_after = read_ll(path);
	for (i = 0; i < 500 && cur_after > (1 << 20); i++) {
		usleep(10000);
		cur_after = read_ll(path);
	}
	for (i = 0; i < 200 && rmdir(dir) && errno == EBUSY; i++)
		usleep(10000);
	rmdir_err = access(dir, F_OK) ? 0 : -1;
	if (mounted)
		umount2(CG_ROOT, MNT_DETACH);

	TH_LOG("status %d at step %d; memory.current %lld -> %lld (4 MiB channel) -> %lld, %lld after the exit",
	       st, t4->step, t4->cur0, t4->cur1, t4->cur2, cur_after);
	TH_LOG("%d x 1 MiB channels, then errno %d; %d x 64 KiB, then errno %d; at the brim: send %d, batch %d, select %d; 1 MiB free: select %d, send %d; all free: select %d, batch %d",
	       t4->nmid, t4->errmid, t4->nsmall, t4->errsmall,
	       t4->err_send_brim, t4->err_batch_brim, t4->err_sel_brim,
	       t4->err_sel_full, t4->err_send_full, t4->err_sel_after,
	       t4->err_batch_after);
	ASSERT_EQ(0, hung);
	EXPECT_EQ(base, n);
	EXPECT_LE(cur_after, 1 << 20);
	EXPECT_EQ(0, rmdir_err);
	if (st == 128 + SIGKILL)
		TH_LOG("the child was killed at step %d, the memcg OOM killer's doing (see the kernel log): running out of memory.max must fail ENOMEM",
		       t4->step);
	else if (st)
		FAILREC_LOG();
	ASSERT_EQ(0, st);

	/* the 4 MiB channel was charged to the cgroup, and uncharged */
	EXPECT_GE(t4->cur1 - t4->cur0, big - big / 8);
	EXPECT_LE(t4->cur1 - t4->cur0, big + (1 << 20));
	EXPECT_GE(t4->cur1 - t4->cur2, big - big / 8);
	/* memory ran out before 64 MiB of channels, with ENOMEM */
	EXPECT_GE(t4->nmid, 1);
	EXPECT_LT(t4->nmid, T4_MID_MAX);
	EXPECT_EQ(ENOMEM, t4->errmid);
	EXPECT_LT(t4->nsmall, T4_MID_MAX);
	EXPECT_EQ(ENOMEM, t4->errsmall);
	/* at the brim: ENOMEM, or a timeout when it happened to fit */
	EXPECT_TRUE(t4->err_send_brim == ENOMEM ||
		    t4->err_send_brim == ETIMEDOUT);
	EXPECT_TRUE(t4->err_batch_brim == ENOMEM ||
		    t4->err_batch_brim == ETIMEDOUT);
	EXPECT_EQ(ENOMEM, t4->err_sel_brim);
	/* 4 MiB of select staging with about 1 MiB free */
	EXPECT_EQ(ENOMEM, t4->err_sel_full);
	EXPECT_TRUE(t4->err_send_full == ENOMEM ||
		    t4->err_send_full == ETIMEDOUT);
	/* and all of it once the memory is back */
	EXPECT_EQ(ETIMEDOUT, t4->err_batch_after);
	EXPECT_EQ(ETIMEDOUT, t4->err_sel_after);
}

/* ---- 5. unload refused while a channel exists; reload --------------------- */

/* delete_module("chan", O_NONBLOCK): 0 or -errno. */
static int chan_unload(void)
{
	return syscall(SYS_delete_module, "chan", O_NONBLOCK) ? -errno : 0;
}

static int unload_refused(int r)
{
	return r == -EWOULDBLOCK || r == -EBUSY;
}

static int chan_loaded(void)
{
	return access("/sys/module/chan", F_OK) == 0;
}

/* The value of key= in the module file's .modinfo, or NULL. */
static char *modinfo_value(const char *img, size_t size, const char *key)
{
	size_t klen = strlen(key);
	const char *p = img, *end = img + size;

	while (p < end && (p = memmem(p, end - p, key, klen))) {
		if ((p == img || p[-1] == 0) && p + klen < end &&
		    p[klen] == '=')
			return strndup(p + klen + 1, end - p - klen - 1);
		p += klen;
	}
	return NULL;
}

/* The whole file (for srcversion and to be sure it is readable). */
static char *slurp_fd(int fd, size_t *size)
{
	struct stat sb;
	char *buf;
	size_t got = 0;
	ssize_t n;

	if (fstat(fd, &sb) || sb.st_size <= 0)
		return NULL;
	buf = malloc(sb.st_size + 1);
	if (!buf)
		return NULL;
	while (got < (size_t)sb.st_size) {
		n = pread(fd, buf + got, sb.st_size - got, got);
		if (n <= 0) {
			free(buf);
			return NULL;
		}
		got += n;
	}
	buf[got] = 0;
	*size = got;
	return buf;
}

static int read_sysfs_str(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = 0;
	return 0;
}

/* Retry an unload that may race with the exit of an earlier test's child. */
static int chan_unload_settled(void)
{
	int64_t end = kc_now_ns() + 10000000000LL;
	int r;

	for (;;) {
		r = chan_unload();
		if (!unload_refused(r) || kc_now_ns() > end)
			return r;
		usleep(20000);
	}
}

/*
 * Every name=value of the module arguments reads back the same from
 * /sys/module/chan/parameters. Returns the first that does not, or NULL.
 */
static const char *params_mismatch(const char *args, char *bad, size_t badsz)
{
	char *copy = strdup(args), *tok, *save, *eq, path[256], val[128];

	if (!copy)
		return "strdup";
	for (tok = strtok_r(copy, " \t", &save); tok;
	     tok = strtok_r(NULL, " \t", &save)) {
		eq = strchr(tok, '=');
		if (!eq)
			continue;
		*eq = 0;
		snprintf(path, sizeof(path), "/sys/module/chan/parameters/%s",
			 tok);
		if (read_sysfs_str(path, val, sizeof(val)) ||
		    strtoull(val, NULL, 0) != strtoull(eq + 1, NULL, 0)) {
			snprintf(bad, badsz, "%s=%s (now %s)", tok, eq + 1,
				 val);
			free(copy);
			return bad;
		}
	}
	free(copy);
	return NULL;
}

static int named_create(const char *name, unsigned int flags,
			unsigned int cap)
{
	struct chan_create cc;
	int dev, fd, err;

	dev = open(CHAN_DEVICE, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return -errno;
	memset(&cc, 0, sizeof(cc));
	cc.size = sizeof(cc);
	cc.flags = flags;
	cc.capacity = cap;
	cc.msg_size = 8;
	cc.name = (uintptr_t)name;
	cc.mode = 0600;
	fd = ioctl(dev, CHAN_IOC_CREATE, &cc);
	err = errno;
	close(dev);
	return fd < 0 ? -err : fd;
}

static int named_open(const char *name)
{
	struct chan_open o;
	int dev, fd, err;

	dev = open(CHAN_DEVICE, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return -errno;
	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.oflag = O_RDWR;
	o.name = (uintptr_t)name;
	fd = ioctl(dev, CHAN_IOC_OPEN, &o);
	err = errno;
	close(dev);
	return fd < 0 ? -err : fd;
}

static int named_unlink(const char *name)
{
	struct chan_unlink u;
	int dev, r;

	dev = open(CHAN_DEVICE, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return -errno;
	memset(&u, 0, sizeof(u));
	u.size = sizeof(u);
	u.name = (uintptr_t)name;
	r = ioctl(dev, CHAN_IOC_UNLINK, &u) ? -errno : 0;
	close(dev);
	return r;
}

/*
 * rmmod is refused while any channel fd exists: open here, only in
 * flight in a unix socket, only inside a named channel's buffer (names
 * themselves hold no module reference, docs/names.md), or while /dev/chan
 * is open. With none of them left the module unloads, /dev/chan and
 * /proc/kchan go away, and it is loaded again, from the same file with the
 * same parameters, so that later test programs run: this test must stay
 * the last one of the program.
 */
TEST_F_TIMEOUT(fault, unload_refused_then_reload, 120)
{
	const char *path = getenv("KCHAN_VM_MODULE_PATH");
	const char *args = getenv("KCHAN_VM_MODULE_ARGS");
	char name[64], name2[64], srcv[128], bad[320], *img, *fsrcv;
	int modfd, c, c2, dev, f, p, sv[2], r, n, set, unloaded, reloaded = -1;
	int dev_gone, proc_gone, sys_gone;
	const char *mismatch;
	struct stat sb;
	size_t imgsz = 0;

	if (!path || !*path)
		SKIP(return, "KCHAN_VM_MODULE_PATH unset (run by scripts/vm-run)");
	if (geteuid() != 0)
		SKIP(return, "needs root (delete_module)");
	if (!chan_loaded())
		SKIP(return, "chan is not a loaded module");
	if (!args)
		args = "";
	/* Never unload what cannot be loaded again. */
	modfd = open(path, O_RDONLY | O_CLOEXEC);
	if (modfd < 0)
		SKIP(return, "%s: %s", path, strerror(errno));
	img = slurp_fd(modfd, &imgsz);
	if (!img || imgsz < 4 || memcmp(img, "\177ELF", 4)) {
		close(modfd);
		SKIP(return, "%s is not readable as a module", path);
	}
	fsrcv = modinfo_value(img, imgsz, "srcversion");
	if (fsrcv && !read_sysfs_str("/sys/module/chan/srcversion", srcv,
				     sizeof(srcv)) && strcmp(fsrcv, srcv)) {
		TH_LOG("%s has srcversion %s, the loaded chan %s", path, fsrcv,
		       srcv);
		free(fsrcv);
		free(img);
		close(modfd);
		SKIP(return, "%s is not the loaded module", path);
	}
	free(fsrcv);
	free(img);

	/* an open channel */
	c = kc_create(1, 8);
	ASSERT_GE(c, 0);
	r = chan_unload();
	EXPECT_TRUE(unload_refused(r)) TH_LOG("open channel: unload %d", r);
	ASSERT_TRUE(chan_loaded());

	/* a channel that exists only in flight in a unix socket */
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	ASSERT_EQ(0, kc_unix_send_fd(sv[0], c));
	close(c);
	r = chan_unload();
	EXPECT_TRUE(unload_refused(r)) TH_LOG("fd in flight: unload %d", r);
	ASSERT_TRUE(chan_loaded());
	c2 = kc_unix_recv_fd(sv[1]);
	ASSERT_GE(c2, 0);
	EXPECT_EQ(1, KC_INFO(c2, capacity));
	close(c2);
	/* and in flight when the socket goes away */
	c = kc_create(1, 8);
	ASSERT_GE(c, 0);
	ASSERT_EQ(0, kc_unix_send_fd(sv[0], c));
	close(c);
	close(sv[0]);
	close(sv[1]);

	/* /dev/chan itself */
	dev = open(CHAN_DEVICE, O_RDWR | O_CLOEXEC);
	ASSERT_GE(dev, 0);
	r = chan_unload();
	EXPECT_TRUE(unload_refused(r)) TH_LOG("/dev/chan open: unload %d", r);
	ASSERT_TRUE(chan_loaded());
	close(dev);

	/*
	 * A select set: a file of the module, even empty; then one holding
	 * the last handle of a channel, which goes with the set.
	 */
	set = kc_selset_create(0);
	ASSERT_LE(0, set);
	r = chan_unload();
	EXPECT_TRUE(unload_refused(r)) TH_LOG("empty select set: unload %d", r);
	ASSERT_TRUE(chan_loaded());
	n = kc_kchan_count();
	c = kc_create(1, 8);
	ASSERT_GE(c, 0);
	ASSERT_EQ(0, kc_selset_ctl(set, 4, c, CHAN_OP_RECV, name, 8));
	close(c);
	EXPECT_EQ(n + 1, kc_kchan_count());
	r = chan_unload();
	EXPECT_TRUE(unload_refused(r))
		TH_LOG("a channel held by a select set: unload %d", r);
	ASSERT_TRUE(chan_loaded());
	close(set);
	EXPECT_EQ(n, kc_kchan_wait_count(n, 5000));

	/* a channel fd held only inside a named channel's buffer */
	snprintf(name, sizeof(name), "kchan-fault-unload-%d", getpid());
	snprintf(name2, sizeof(name2), "kchan-fault-kept-%d", getpid());
	named_unlink(name);
	named_unlink(name2);
	f = named_create(name, CHAN_FDPASS, 2);
	ASSERT_GE(f, 0);
	p = kc_create(1, 8);
	ASSERT_GE(p, 0);
	ASSERT_EQ(0, kc_send_fd(f, "p", 1, p, 0));
	close(p);
	close(f);
	r = chan_unload();
	EXPECT_TRUE(unload_refused(r)) TH_LOG("fd in a named channel: unload %d", r);
	ASSERT_TRUE(chan_loaded());
	ASSERT_EQ(0, named_unlink(name));

	/* a name alone holds no module reference: it goes with the module */
	f = named_create(name2, 0, 2);
	ASSERT_GE(f, 0);
	ASSERT_EQ(0, kc_send(f, "kept", 4, 0));
	close(f);

	/*
	 * Unload. From here until the reload nothing may return early:
	 * collect, load again, then check.
	 */
	r = chan_unload_settled();
	unloaded = r == 0;
	if (unloaded) {
		dev_gone = stat(CHAN_DEVICE, &sb) && errno == ENOENT;
		proc_gone = access("/proc/kchan", F_OK) && errno == ENOENT;
		sys_gone = !chan_loaded();
		reloaded = syscall(SYS_finit_module, modfd, args, 0) ? -errno : 0;
		if (reloaded)
			/* once more, in case the first attempt raced */
			reloaded = syscall(SYS_finit_module, modfd, args, 0) ?
				   -errno : 0;
	}
	close(modfd);
	if (!unloaded)
		TH_LOG("unload with nothing open: %d (%s)", r, strerror(-r));
	ASSERT_TRUE(unloaded);
	if (reloaded)
		TH_LOG("RELOAD FAILED: finit_module(%s, \"%s\"): %s; /dev/chan is gone for every later test",
		       path, args, strerror(-reloaded));
	ASSERT_EQ(0, reloaded);
	EXPECT_TRUE(dev_gone);
	EXPECT_TRUE(proc_gone);
	EXPECT_TRUE(sys_gone);

	/* back as it was: the device, its mode, the parameters */
	ASSERT_TRUE(chan_loaded());
	ASSERT_EQ(0, stat(CHAN_DEVICE, &sb));
	if ((sb.st_mode & 0777) != 0666)
		chmod(CHAN_DEVICE, 0666);	/* as scripts/vm-run does */
	EXPECT_EQ(0666, sb.st_mode & 0777);
	mismatch = params_mismatch(args, bad, sizeof(bad));
	if (mismatch)
		TH_LOG("parameter not restored: %s", mismatch);
	EXPECT_EQ(NULL, mismatch);
	EXPECT_EQ(0, kc_kchan_count());
	/* the name went with the old module; channels work */
	EXPECT_EQ(-ENOENT, named_open(name2));
	c = kc_create(1, 8);
	ASSERT_GE(c, 0);
	EXPECT_EQ(0, kc_send_u32(c, 5, 0));
	r = chan_unload();
	EXPECT_TRUE(unload_refused(r));
	close(c);
}

TEST_HARNESS_MAIN
