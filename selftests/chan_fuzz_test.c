// SPDX-License-Identifier: GPL-2.0
/*
 * chan_fuzz_test: a randomized, multi-process fuzzer for /dev/chan.
 *
 * The test process creates a pool of channels (unbuffered and buffered,
 * msg_size 0 to 64 KiB, some with CHAN_FDPASS, two of them named), keeps
 * one bidirectional handle to each and forks worker processes. For a fixed
 * time every worker issues random operations on random channels, with a
 * PRNG seeded from the master seed: send/recv ioctls (valid and invalid
 * sizes, flags, pointers; non-blocking, short timeouts, or "forever" under
 * a periodic SIGALRM without SA_RESTART), read()/write(), poll, epoll,
 * CHAN_IOC_CALL (a send then a receive, one timeout),
 * select over random cases, select sets (cases registered once with
 * CHAN_IOC_SELSET_CTL, waits with CHAN_IOC_SELSET_WAIT; a process keeps
 * one or two, its children may inherit them), batches, CHAN_IOC_DUP,
 * closing handles, CHAN_IOC_CLOSE (only on the channels the pool marks
 * closable, and only late in the run), timer channels (CHAN_IOC_TIMER and
 * CHAN_IOC_TIMER_SET, valid and not, received from, reset and stopped
 * while they fire), INFO, fdinfo and /proc/kchan reads,
 * names, creation, garbage ioctls, descriptor passing (memfds, pipes,
 * eventfds, epoll fds, /dev/chan and channel fds; the refused kinds too,
 * select sets among them), storms of SA_RESTART
 * signals, receives whose buffer another thread unmaps, short-lived
 * children that are killed or exit with messages and handles in flight,
 * SIGSTOP/SIGCONT and SIGKILL of sibling workers (the parent respawns
 * them).
 *
 * Every result is checked against docs/semantics.md as far as a single
 * process can know it: the errno of a deterministic mistake exactly, and
 * for the rest only errnos that may happen (EAGAIN only when the call may
 * not wait, ETIMEDOUT only after the timeout, EINTR only after a SIGALRM
 * ran, EPIPE on a pool channel only once it is closed, nothing waits on a
 * closed channel...). Payloads describe themselves (length, checksum, and
 * the kind and identity of a passed descriptor), so corruption, a lost or
 * wrong descriptor and a message longer than msg_size are caught at once.
 * Workers record violations in shared memory.
 *
 * Every process counts, per pool channel, the messages its successful
 * calls moved, and before each call marks what the call may move, so that
 * a process killed in the middle leaves a bounded uncertainty. At the end,
 * with every process gone, the kernel's counters (INFO, /proc/kchan) must
 * lie between the sum of the counts and that sum plus the uncertainty and
 * balance, no waiter may be left, and a channel is closed exactly when one
 * CHAN_IOC_CLOSE succeeded. The balance: received counts every message a
 * receiver took, including those "dropped" because its buffer went away
 * before the copy out and there was no room to put them back
 * (chan_putback(), which op_unmap_race provokes), so sent == received +
 * len, and the processes count received - dropped. Then every handle and
 * name is dropped and /proc/kchan must be back to its baseline: no channel
 * the run created (workers' ones included, and those buffered inside
 * fd-carrying channels) may survive.
 *
 * Users: run as root, every worker drops to a uid of its own (FUZZ_UID +
 * its index; children share their worker's), with no groups and no
 * capabilities, so that the run crosses users the way a shared machine
 * does: descriptors, names (pool names are made 0666, workers' names are
 * 0666 too and only their owner may unlink them) and channels of one user
 * used by the others, every per-user charge taken and returned by another
 * uid than the pool's. Signals to a sibling (another uid) go through the
 * test process. After the run, with everything dropped,
 * /proc/kchan_users must show every user back where it was before: no
 * charge may leak. max_user_staging_bytes is raised for the run (a worker
 * and its children may all wait on 16 MiB select sets at once);
 * chan_security_test tests that limit. KCHAN_FUZZ_USERS=0 keeps the
 * workers root.
 *
 * Environment (the engine runs standalone the same way):
 *   KCHAN_FUZZ_SECONDS  how long the workers run (default 60)
 *   KCHAN_FUZZ_SEED     master seed (default from getrandom); printed first,
 *                       with the line that replays the run
 *   KCHAN_FUZZ_PROCS    worker processes (default 6, at most 32)
 *   KCHAN_FUZZ_USERS    1 (default as root): workers as distinct users
 *   KCHAN_FUZZ_OPS      only these operations, e.g. "send,recv_batch,fork"
 *                       (names as in ops[] and the stuck-worker report;
 *                       "selset*": every op whose name begins so)
 * The same seed replays every worker's sequence of operations; the
 * interleaving of the processes is up to the scheduler.
 */
#include <dirent.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "kchan_test.h"

/* ---- configuration ------------------------------------------------------ */

#define NPOOL		16
#define MAX_PROCS	32
#define MAX_FAILS	48
#define FAIL_LEN	1200
#define MAX_KINDS	64	/* distinct violations counted */
#define PER_KIND	3	/* messages kept of each */
#define MAX_H		40	/* handles per process */
#define MAX_PRIV	6	/* channels of its own per process */
#define MAX_KIDS	3
#define MAX_CASES	24
#define NSCRATCH	6	/* scratch names */
#define STUCK_S		20	/* a worker without progress this long hangs */
#define HOT_MS		150	/* the hot channels change this often */
#define MAX_SETS	2	/* select sets per process */
#define SET_CASES	12	/* indices of a set's cases (more: nil only) */
#define SET_SLOT	65536	/* buffer bytes per case of a set */
#define FUZZ_UID	61000	/* worker w runs as FUZZ_UID + w (users mode) */
#define STR_(x)		#x
#define STR(x)		STR_(x)
#define FUZZ_STAGING	(1UL << 30)	/* max_user_staging_bytes for the run */

struct pool_spec {
	unsigned int cap, msg_size, flags;
	bool named;
	int close_pct;	/* CHAN_IOC_CLOSE allowed from this % of the run; 0 never */
};

static const struct pool_spec pool_specs[NPOOL] = {
	{   0,    64, 0,           false,  0 },
	{   0,     0, 0,           false,  0 },
	{   0,  1024, 0,           false, 60 },
	{   1,    16, 0,           false,  0 },
	{   4,   256, 0,           true,   0 },
	{  16,    64, 0,           false,  0 },
	{  64,  4096, 0,           false, 75 },
	{   3,     0, 0,           false, 40 },
	{   8, 16384, 0,           false,  0 },
	{   0,    32, CHAN_FDPASS, false,  0 },
	{   8,    32, CHAN_FDPASS, false,  0 },
	{   2,     0, CHAN_FDPASS, true,   0 },
	{  32,     8, 0,           false,  0 },
	{   5,    40, CHAN_FDPASS, false, 50 },
	{ 128,   128, 0,           false,  0 },
	{   2, 65536, 0,           false, 85 },
};

/* ---- statistics --------------------------------------------------------- */

#define FZ_STATS(X)							\
	X(send) X(send_ok) X(recv) X(recv_ok) X(recv_closed)		\
	X(read) X(read_ok) X(write) X(write_ok)				\
	X(select) X(select_send) X(select_recv) X(select_closed)	\
	X(bsend) X(bsend_msgs) X(brecv) X(brecv_msgs)			\
	X(poll) X(poll_ready) X(epoll) X(epoll_events)			\
	X(info) X(fdinfo) X(kchan_read) X(dup) X(dup_ok) X(hclose)	\
	X(close) X(close_ok) X(fd_sent) X(chanfd_sent) X(fd_refused)	\
	X(fd_recv) X(chanfd_recv) X(names) X(names_ok) X(create)	\
	X(create_ok) X(probe) X(garbage) X(fork) X(kid_killed)		\
	X(sibling_killed) X(sibling_stopped) X(storm)			\
	X(eagain) X(etimedout) X(eintr) X(epipe) X(emsgsize) X(efault)	\
	X(sigalrm) X(sigstorm) X(unmap_race) X(unmap_efault)		\
	X(selset_new) X(selset_inherit) X(selset_ctl) X(selset_ctl_ok)	\
	X(selset_wait) X(selset_send) X(selset_recv) X(selset_closed)	\
	X(selset_efault) X(selset_e2big)					\
	X(timer) X(timer_ok) X(timer_tick) X(timer_set)			\
	X(call) X(call_sent) X(call_ok)

#define X_ENUM(n) ST_##n,
enum { FZ_STATS(X_ENUM) ST_N };
#undef X_ENUM
#define X_NAME(n) #n,
static const char *const st_names[] = { FZ_STATS(X_NAME) };
#undef X_NAME

/* ---- shared memory ------------------------------------------------------ */

/*
 * One per process. Counts of messages moved by successful calls, per pool
 * channel, and what the call in progress may move (cleared when it
 * returned): a process killed mid-call leaves that uncertainty behind.
 */
struct tally {
	uint64_t sent[NPOOL], recvd[NPOOL], closes[NPOOL];
	uint32_t pend_sent[NPOOL], pend_recvd[NPOOL], pend_close[NPOOL];
	uint64_t st[ST_N];
};

struct shm {
	uint64_t seed;
	int64_t start_ns, deadline_ns;
	int nprocs;
	pid_t tag;			/* the test process: in names */
	uint64_t base_id;		/* channels with a larger id are ours */
	uint64_t pool_id[NPOOL];
	int pool_fd[NPOOL];
	volatile int stop;
	volatile pid_t wpid[MAX_PROCS];
	volatile uint64_t wprog[MAX_PROCS];
	volatile int wop[MAX_PROCS];
	volatile int64_t wtmo[MAX_PROCS];	/* the call in progress: timeout */
	volatile int wfd[MAX_PROCS];		/* and fd, for a hang report */
	volatile bool wforever[MAX_PROCS];
	int wgen[MAX_PROCS];
	int next_slot;
	int nfails;
	int nlogged;
	char fails[MAX_FAILS][FAIL_LEN];
	struct {			/* violations by call site (format) */
		const char *fmt;
		int count;
	} kinds[MAX_KINDS];
	uint32_t op_mask;		/* KCHAN_FUZZ_OPS */
	bool users;			/* workers as distinct uids */
	volatile int sig_req[MAX_PROCS];	/* users: a signal for worker w */
	int max_slots;			/* one tally per process ever run */
	struct tally slot[];
};

static struct shm *S;

/* ---- per process -------------------------------------------------------- */

struct hd {
	int fd;
	int pool;		/* pool index, -1 for any other channel */
	uint32_t rights, cap, msg_size, flags;
	uint64_t id;
	uint32_t tag;		/* epoll data: stale events are recognised */
	uint32_t ep_events;
	bool nonblock, base, ep;
};

/*
 * A select set as its process knows it: what each case was set to (a
 * copy, since the handle it named may be gone: the case holds its own).
 */
struct scase {
	bool on;		/* not nil */
	bool bad;		/* its buffer faults */
	int pool;
	uint32_t op, msg_size;
	uint64_t len, id;	/* as registered */
	uint8_t *buf;
};

struct sset {
	int fd;			/* -1: none */
	bool shared;		/* a child has it too: never changed again */
	uint64_t staged;	/* sum of min(len, msg_size) */
	struct scase c[SET_CASES];
};

struct fz {
	uint64_t rs;
	int wslot, gen, op;
	bool kid;
	struct tally *t;
	uint64_t opno;
	uint32_t seq, tagctr;
	struct hd h[MAX_H];
	int nh;
	int dev, ep, usock[2];
	bool closed[NPOOL], drained[NPOOL];
	uint64_t last_sent[NPOOL];
	pid_t kids[MAX_KIDS];
	int kid_ttl[MAX_KIDS], nkids;
	char *ro, *hole, *edge;	/* read-only page, unmapped page, 8 bytes before a hole */
	timer_t storm;
	bool storm_made, storm_on;
	int64_t next_storm, next_kill, next_stop;
	unsigned long max_msg, max_cap, max_chan_bytes, max_cases, max_sel_bytes;
	unsigned int alrm_seen, storm_seen;
	struct sset ss[MAX_SETS];
};

static volatile sig_atomic_t n_alrm, n_storm;

/*
 * The storm's signal is a real-time one: the kernel delivers the lowest
 * pending signal first, so when both are pending SIGALRM decides that the
 * interrupted call fails EINTR; with SIGUSR1 (10 < 14) a storm could keep
 * restarting a call that only SIGALRM was to end.
 */
#define SIG_STORM	(SIGRTMIN + 2)

static void on_alrm(int sig)
{
	(void)sig;
	n_alrm++;
}

static void on_storm(int sig)
{
	(void)sig;
	n_storm++;
}

/* Message buffers: static, so that a fork copies them cheaply. */
static uint8_t sbuf[65536 + 256] __attribute__((aligned(64)));
static uint8_t rbuf[65536 + 256] __attribute__((aligned(64)));
static uint8_t arena[1 << 20] __attribute__((aligned(64)));
static uint8_t gbuf[8192] __attribute__((aligned(64)));
/* The buffers of the select sets' cases: registered once, used at each wait. */
static uint8_t casebuf[MAX_SETS][SET_CASES][SET_SLOT] __attribute__((aligned(64)));

/* ---- small helpers ------------------------------------------------------ */

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t rnd(struct fz *z)
{
	z->rs ^= z->rs >> 12;
	z->rs ^= z->rs << 25;
	z->rs ^= z->rs >> 27;
	return z->rs * 2685821657736338717ULL;
}

/* Uniform in [0, n). */
static uint32_t rn(struct fz *z, uint32_t n)
{
	return n ? (uint32_t)((rnd(z) >> 32) % n) : 0;
}

/* One random flag bit outside @known (O_CLOEXEC, O_NONBLOCK may be known). */
static uint32_t bad_bit(struct fz *z, uint32_t known)
{
	uint32_t b;

	do {
		b = 1u << rn(z, 32);
	} while (b & known);
	return b;
}

static bool pct(struct fz *z, unsigned int p)
{
	return rn(z, 100) < p;
}

static const char *en(int e)
{
	const char *s;

	if (!e)
		return "success";
	s = strerrorname_np(e);
	return s ? s : "E?";
}

static void fz_fail(struct fz *z, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fz_fail(struct fz *z, const char *fmt, ...)
{
	const char *none = NULL;
	int i, k, n, seen = PER_KIND;
	va_list ap;

	__atomic_fetch_add(&S->nfails, 1, __ATOMIC_RELAXED);
	/* Keep a few of each kind, so that a frequent one hides no other. */
	for (k = 0; k < MAX_KINDS; k++) {
		if (S->kinds[k].fmt == fmt ||
		    __atomic_compare_exchange_n(&S->kinds[k].fmt, &none, fmt,
						false, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED)) {
			seen = __atomic_fetch_add(&S->kinds[k].count, 1,
						  __ATOMIC_RELAXED);
			break;
		}
		none = NULL;
	}
	if (seen >= PER_KIND)
		return;
	i = __atomic_fetch_add(&S->nlogged, 1, __ATOMIC_RELAXED);
	if (i >= MAX_FAILS)
		return;
	if (z->wslot < 0)
		n = snprintf(S->fails[i], FAIL_LEN, "test process: ");
	else
		n = snprintf(S->fails[i], FAIL_LEN, "worker %d gen %d%s pid %d op #%llu: ",
			     z->wslot, z->gen, z->kid ? " (child)" : "",
			     getpid(), (unsigned long long)z->opno);
	if (n < 0 || n >= FAIL_LEN)
		n = 0;
	va_start(ap, fmt);
	vsnprintf(S->fails[i] + n, FAIL_LEN - n, fmt, ap);
	va_end(ap);
}

#define ST(z, name) ((z)->t->st[ST_##name]++)
#define STN(z, name, n) ((z)->t->st[ST_##name] += (n))

#define SEND_DIR	0
#define RECV_DIR	1
#define CLOSE_DIR	2

static void pend(struct fz *z, int p, int dir, uint32_t n)
{
	if (p < 0)
		return;
	if (dir == SEND_DIR)
		z->t->pend_sent[p] += n;
	else if (dir == RECV_DIR)
		z->t->pend_recvd[p] += n;
	else
		z->t->pend_close[p] += n;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static void unpend(struct fz *z)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	memset(z->t->pend_sent, 0, sizeof(z->t->pend_sent));
	memset(z->t->pend_recvd, 0, sizeof(z->t->pend_recvd));
	memset(z->t->pend_close, 0, sizeof(z->t->pend_close));
}

static void tally(struct fz *z, int p, int dir, uint64_t n)
{
	if (p < 0)
		return;
	if (dir == SEND_DIR)
		z->t->sent[p] += n;
	else if (dir == RECV_DIR)
		z->t->recvd[p] += n;
	else
		z->t->closes[p] += n;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/* The test process extends the run while it falls short of its targets. */
static int64_t deadline(void)
{
	return __atomic_load_n(&S->deadline_ns, __ATOMIC_RELAXED);
}

static int pool_of(uint64_t id)
{
	int i;

	for (i = 0; i < NPOOL; i++)
		if (S->pool_id[i] == id)
			return i;
	return -1;
}

static int alloc_slot(int reserve)
{
	int s = __atomic_load_n(&S->next_slot, __ATOMIC_RELAXED);

	/* never past the limit: a failed try must not eat the reserve */
	do {
		if (s >= S->max_slots - reserve)
			return -1;
	} while (!__atomic_compare_exchange_n(&S->next_slot, &s, s + 1, false,
					      __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return s;
}

static void scratch_name(char *buf, size_t sz, int k)
{
	snprintf(buf, sz, "kfz.%d.s%d", (int)S->tag, k);
}

static void pool_name(char *buf, size_t sz, int p)
{
	snprintf(buf, sz, "kfz.%d.p%d", (int)S->tag, p);
}

/*
 * SIGALRM (no SA_RESTART) bounds a call that may wait forever. Periodic:
 * when the process is scheduled out between arming and the call, the
 * first one may come before the call starts.
 */
static void arm(struct fz *z)
{
	long us = 2000 + rn(z, 23000);
	struct itimerval it = {
		.it_value = { 0, us }, .it_interval = { 0, us },
	};

	setitimer(ITIMER_REAL, &it, NULL);
}

static void disarm(void)
{
	struct itimerval it = {};

	setitimer(ITIMER_REAL, &it, NULL);
}

/*
 * A pointer that faults for an access of len bytes (len > 0): NULL, an
 * unmapped page, a kernel address, 8 bytes before a hole (only when
 * len > 8) or, for writes, a read-only page.
 */
static void *badptr(struct fz *z, bool write, size_t len)
{
	for (;;) {
		switch (rn(z, 5)) {
		case 0:
			return NULL;
		case 1:
			return z->hole;
		case 2:
			return (void *)0xffff888000001000UL;
		case 3:
			if (len > 8)
				return z->edge;
			break;
		default:
			if (write)
				return z->ro;
			break;
		}
	}
}

/* A pointer that faults for any access: NULL, a hole, a kernel address. */
static void *faultptr(struct fz *z)
{
	switch (rn(z, 3)) {
	case 0:
		return NULL;
	case 1:
		return z->hole;
	default:
		return (void *)0xffff888000001000UL;
	}
}

/* ---- self-describing payloads ------------------------------------------- */

enum {
	FK_NONE, FK_MEMFD, FK_PIPE, FK_EVENTFD, FK_EPOLL, FK_CHAN, FK_DEV,
	FK_BAD_FDPASS = 100, FK_BAD_UNIX, FK_BAD_NUM, FK_BAD_SELSET,
	FK_NOTOK = 0x10,	/* or'ed in: the kind, but no token */
};

#define HDR_MAGIC	0x4b465a31u

struct fz_hdr {
	uint32_t magic, len, seq, src, fdkind, sum;
	uint64_t tok;		/* memfd content or channel id of the fd */
};

#define HDR ((size_t)sizeof(struct fz_hdr))

static uint32_t fnv(uint32_t h, const uint8_t *p, size_t n)
{
	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

static uint8_t short_pat(size_t len, size_t i)
{
	return (uint8_t)(0x5a ^ (len * 37) ^ (i * 11));
}

/*
 * len >= HDR: header (length, sequence, source, fd kind and token,
 * checksum) and a body derived from the header. Shorter: a marker byte
 * with the fd kind, then a pattern derived from the length.
 */
static void mk_msg(struct fz *z, uint8_t *p, size_t len, int fdkind,
		   uint64_t tok)
{
	struct fz_hdr h;
	uint32_t x;
	size_t i;

	if (len >= HDR) {
		h.magic = HDR_MAGIC;
		h.len = len;
		h.seq = ++z->seq;
		h.src = getpid();
		h.fdkind = fdkind;
		h.sum = 0;
		h.tok = tok;
		memcpy(p, &h, HDR);
		x = h.seq ^ (h.src << 16) ^ 0x9e3779b9u;
		for (i = HDR; i < len; i++) {
			x = x * 1664525u + 1013904223u;
			p[i] = x >> 24;
		}
		h.sum = fnv(2166136261u, p, len);
		memcpy(p + offsetof(struct fz_hdr, sum), &h.sum, sizeof(h.sum));
	} else if (len) {
		p[0] = 0xa0 | fdkind;
		for (i = 1; i < len; i++)
			p[i] = short_pat(len, i);
	}
}

/*
 * NULL when intact; *fdkind: what it says about an fd (-1 nothing), plus
 * FK_NOTOK when it does not carry the token (a short message).
 */
static const char *msg_bad(const uint8_t *p, size_t len, int *fdkind,
			   uint64_t *tok)
{
	struct fz_hdr h;
	uint32_t sum;
	size_t i;

	*fdkind = -1;
	*tok = 0;
	if (len >= HDR) {
		memcpy(&h, p, HDR);
		if (h.magic != HDR_MAGIC)
			return "bad magic";
		if (h.len != len)
			return "length in the header differs";
		sum = h.sum;
		h.sum = 0;
		if (fnv(fnv(2166136261u, (const uint8_t *)&h, HDR), p + HDR,
			len - HDR) != sum)
			return "checksum mismatch";
		if (h.fdkind > FK_DEV)
			return "bad fd kind";
		*fdkind = h.fdkind;
		*tok = h.tok;
	} else if (len) {
		if ((p[0] & 0xf0) != 0xa0 || (p[0] & 0xf) > FK_DEV)
			return "bad marker byte";
		*fdkind = (p[0] & 0xf) | FK_NOTOK;
		for (i = 1; i < len; i++)
			if (p[i] != short_pat(len, i))
				return "pattern mismatch";
	}
	return NULL;
}

/* A valid length for a message of a channel (never 0 unless msg_size is). */
static size_t msg_len(struct fz *z, uint32_t msg_size)
{
	uint32_t r;

	if (!msg_size)
		return 0;
	r = rn(z, 100);
	if (r < 50)
		return 1 + rn(z, msg_size < 256 ? msg_size : 256);
	if (r < 85)
		return 1 + rn(z, msg_size);
	return msg_size;
}

/* ---- handles ------------------------------------------------------------ */

/* Track a channel fd; NULL (fd closed) when the table is full or INFO fails. */
static struct hd *adopt(struct fz *z, int fd, bool base)
{
	struct chan_info in;
	struct hd *h;
	int fl, r;

	if (z->nh >= MAX_H) {
		close(fd);
		return NULL;
	}
	r = kc_info(fd, &in);
	if (r) {
		fz_fail(z, "INFO on a new channel fd failed: %s", en(-r));
		close(fd);
		return NULL;
	}
	h = &z->h[z->nh++];
	memset(h, 0, sizeof(*h));
	h->fd = fd;
	h->rights = in.rights;
	h->cap = in.capacity;
	h->msg_size = in.msg_size;
	h->flags = in.flags;
	h->id = in.id;
	h->base = base;
	h->tag = ++z->tagctr;
	fl = fcntl(fd, F_GETFL);
	h->nonblock = fl >= 0 && (fl & O_NONBLOCK);
	h->pool = pool_of(in.id);
	if (h->pool >= 0) {
		const struct pool_spec *ps = &pool_specs[h->pool];

		if (in.capacity != ps->cap || in.msg_size != ps->msg_size ||
		    in.flags != ps->flags)
			fz_fail(z, "pool %d: INFO says cap %u msg_size %u flags %#x",
				h->pool, in.capacity, in.msg_size, in.flags);
	}
	if (!in.rights || (in.rights & ~CHAN_RIGHT_BOTH))
		fz_fail(z, "INFO rights %#x", in.rights);
	return h;
}

static void drop(struct fz *z, struct hd *h)
{
	/*
	 * Closing the fd removes the epoll item only with the file's last
	 * reference; the file may live on (in a message, in a child) and
	 * come back under the same number: EEXIST.
	 */
	if (h->ep)
		epoll_ctl(z->ep, EPOLL_CTL_DEL, h->fd, NULL);
	close(h->fd);
	*h = z->h[--z->nh];
}

static int nonbase_count(struct fz *z, bool priv_only)
{
	int i, n = 0;

	for (i = 0; i < z->nh; i++)
		if (!z->h[i].base && (!priv_only || z->h[i].pool < 0))
			n++;
	return n;
}

/* A random handle that is not inherited from the test process, or NULL. */
static struct hd *pick_nonbase(struct fz *z, bool priv_only)
{
	int i, n = nonbase_count(z, priv_only), k;

	if (!n)
		return NULL;
	k = rn(z, n);
	for (i = 0; i < z->nh; i++) {
		if (z->h[i].base || (priv_only && z->h[i].pool >= 0))
			continue;
		if (!k--)
			return &z->h[i];
	}
	return NULL;
}

/*
 * A random handle. Most picks go to the few "hot" pool channels of the
 * moment (the same for every process), so that unbuffered channels find
 * partners.
 */
static struct hd *pick(struct fz *z)
{
	int cand[MAX_H], n = 0, i, k;
	int hot[3];
	uint64_t slot;

	if (pct(z, 65)) {
		slot = (kc_now_ns() - S->start_ns) / (HOT_MS * 1000000LL);
		for (k = 0; k < 3; k++)
			hot[k] = mix64(S->seed ^ (slot * 3 + k)) % NPOOL;
		for (i = 0; i < z->nh; i++) {
			int p = z->h[i].pool;

			if (p >= 0 && (p == hot[0] || p == hot[1] || p == hot[2]))
				cand[n++] = i;
		}
		if (n)
			return &z->h[cand[rn(z, n)]];
	}
	return &z->h[rn(z, z->nh)];
}

/* A pool channel is closed: check that INFO agrees, remember it for good. */
static void latch_closed(struct fz *z, struct hd *h, const char *why)
{
	struct chan_info in;
	int p = h->pool, r;

	if (p < 0 || z->closed[p])
		return;
	r = kc_info(h->fd, &in);
	if (r)
		fz_fail(z, "pool %d: INFO failed: %s", p, en(-r));
	else if (!in.closed)
		fz_fail(z, "pool %d: %s, but INFO says it is open", p, why);
	z->closed[p] = true;
}

/* Closed and drained: nothing can be sent any more, so it stays empty. */
static void latch_drained(struct fz *z, struct hd *h, const char *why)
{
	struct chan_info in;
	int p = h->pool, r;

	if (p < 0 || z->drained[p])
		return;
	r = kc_info(h->fd, &in);
	if (r)
		fz_fail(z, "pool %d: INFO failed: %s", p, en(-r));
	else if (!in.closed || in.len)
		fz_fail(z, "pool %d: %s, but INFO says closed %u len %u", p,
			why, in.closed, in.len);
	z->closed[p] = true;
	z->drained[p] = true;
}

/* ---- timeouts and the errnos of waiting --------------------------------- */

struct tmo {
	int64_t ns;
	bool nb;	/* the call never waits */
	bool forever;	/* may wait forever: SIGALRM armed */
	int64_t t0;
	unsigned int alrm0;
};

/* ns: 0 (never wait), a few ms, or forever; handle_nb: O_NONBLOCK. */
static void tmo_pick(struct fz *z, struct tmo *t, bool handle_nb)
{
	uint32_t r = rn(z, 20);

	if (r < 6)
		t->ns = 0;
	else if (r < 17)
		t->ns = 50000 + rn(z, 15000000);
	else
		t->ns = pct(z, 20) ? INT64_MIN : -1 - (int64_t)rn(z, 1000);
	t->nb = handle_nb || t->ns == 0;
	t->forever = t->ns < 0 && !t->nb;
}

static void tmo_start(struct fz *z, struct tmo *t)
{
	if (!z->kid) {
		S->wtmo[z->wslot] = t->ns;
		S->wforever[z->wslot] = t->forever;
	}
	if (t->forever)
		arm(z);
	t->alrm0 = n_alrm;
	t->t0 = kc_now_ns();
}

static void tmo_end(struct tmo *t)
{
	if (t->forever)
		disarm();
}

/*
 * EAGAIN, ETIMEDOUT and EINTR: false for any other errno. Checks that the
 * call could have waited, waited long enough, was interrupted by a signal
 * whose handler lacks SA_RESTART (only SIGALRM here), and was not on a
 * channel known to be closed (a closed channel never makes anyone wait).
 */
static bool wait_err(struct fz *z, const char *what, struct hd *h, int e,
		     const struct tmo *t, bool closed)
{
	int64_t el;

	switch (e) {
	case EAGAIN:
		ST(z, eagain);
		if (!t->nb)
			fz_fail(z, "%s: EAGAIN though it may wait (timeout %lld)",
				what, (long long)t->ns);
		break;
	case ETIMEDOUT:
		ST(z, etimedout);
		el = kc_now_ns() - t->t0;
		if (t->nb || t->ns <= 0)
			fz_fail(z, "%s: ETIMEDOUT with timeout %lld%s", what,
				(long long)t->ns, t->nb ? " (non-blocking)" : "");
		else if (el + 20000 < t->ns)
			fz_fail(z, "%s: ETIMEDOUT after %lld ns of a %lld ns timeout",
				what, (long long)el, (long long)t->ns);
		break;
	case EINTR:
		ST(z, eintr);
		if (t->nb)
			fz_fail(z, "%s: EINTR from a call that never waits", what);
		else if (n_alrm == t->alrm0)
			fz_fail(z, "%s: EINTR, but only SA_RESTART handlers ran",
				what);
		break;
	default:
		return false;
	}
	if (closed)
		fz_fail(z, "%s: %s on closed pool channel %d (it never waits)",
			what, en(e), h ? h->pool : -1);
	return true;
}

static bool known_closed(struct fz *z, struct hd *h)
{
	return h->pool >= 0 && z->closed[h->pool];
}

static bool known_drained(struct fz *z, struct hd *h)
{
	return h->pool >= 0 && z->drained[h->pool];
}

/* ---- descriptors in messages -------------------------------------------- */

/* What a received descriptor is; -1 if nothing we send. */
static int fd_kind(int fd, char *link, size_t sz)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sz - 1);
	if (n < 0)
		n = 0;
	link[n] = 0;
	if (!strcmp(link, "anon_inode:[chan]"))
		return FK_CHAN;
	if (!strcmp(link, "anon_inode:[eventfd]"))
		return FK_EVENTFD;
	if (!strcmp(link, "anon_inode:[eventpoll]"))
		return FK_EPOLL;
	if (!strncmp(link, "pipe:", 5))
		return FK_PIPE;
	if (!strncmp(link, "/memfd:kfz", 10))
		return FK_MEMFD;
	if (!strcmp(link, "/dev/chan"))
		return FK_DEV;
	return -1;
}

/*
 * A RECV ioctl returned fd with a message that says hk (-1: says nothing)
 * and tok about it. Checks it, then keeps a channel fd now and then.
 */
static void rx_fd(struct fz *z, struct hd *h, int fd, int hk, uint64_t tok,
		  bool cloexec)
{
	bool has_tok = hk >= 0 && !(hk & FK_NOTOK);
	struct chan_info in;
	char link[128];
	uint64_t v = 0;
	int kind, fl;

	if (hk >= 0)
		hk &= ~FK_NOTOK;

	if (!(h->flags & CHAN_FDPASS)) {
		if (fd != -1) {
			fz_fail(z, "RECV gave fd %d on a channel without CHAN_FDPASS",
				fd);
			if (fd >= 0)
				close(fd);
		}
		return;
	}
	if (fd == -1) {
		if (hk > 0)
			fz_fail(z, "pool %d: the message carried an fd (kind %d), RECV gave none",
				h->pool, hk);
		return;
	}
	if (fd < 0) {
		fz_fail(z, "RECV gave fd %d", fd);
		return;
	}
	ST(z, fd_recv);
	fl = fcntl(fd, F_GETFD);
	if (fl < 0) {
		fz_fail(z, "RECV gave fd %d, which is not open", fd);
		return;
	}
	if (!!(fl & FD_CLOEXEC) != cloexec)
		fz_fail(z, "received fd: FD_CLOEXEC %d, asked %d",
			!!(fl & FD_CLOEXEC), cloexec);
	kind = fd_kind(fd, link, sizeof(link));
	if (kind < 0)
		fz_fail(z, "received an fd nobody sends: %s", link);
	else if (hk == 0)
		fz_fail(z, "the message carried no fd, RECV gave one (%s)", link);
	else if (hk > 0 && hk != kind)
		fz_fail(z, "received fd is %s, the message says kind %d", link, hk);
	if (kind == FK_MEMFD && hk == FK_MEMFD && has_tok) {
		if (pread(fd, &v, sizeof(v), 0) != sizeof(v) || v != tok)
			fz_fail(z, "received memfd holds %#llx, the message says %#llx",
				(unsigned long long)v, (unsigned long long)tok);
	}
	if (kind == FK_CHAN) {
		ST(z, chanfd_recv);
		if (kc_info(fd, &in)) {
			fz_fail(z, "INFO on a received channel fd failed");
		} else {
			if (in.flags & CHAN_FDPASS)
				fz_fail(z, "an fd-carrying channel travelled (id %llu)",
					(unsigned long long)in.id);
			if (hk == FK_CHAN && has_tok && in.id != tok)
				fz_fail(z, "received channel id %llu, the message says %llu",
					(unsigned long long)in.id,
					(unsigned long long)tok);
			if (!(in.flags & CHAN_FDPASS) && pct(z, 60) &&
			    adopt(z, fd, false))
				return;
		}
	}
	close(fd);
}

/*
 * An fd to send with a message on an fd-carrying channel. *kind is what
 * it is (FK_BAD_* for the ones the send must refuse), *owned when the
 * caller closes it after the send.
 */
static int tx_fd(struct fz *z, int *kind, uint64_t *tok, bool *owned)
{
	struct epoll_event ev = { .events = EPOLLIN };
	uint32_t r = rn(z, 100);
	struct hd *h;
	int fd, p[2], i, n;

	*owned = true;
	*tok = 0;
	if (r < 25) {
		*kind = FK_MEMFD;
		fd = memfd_create("kfz", 0);
		*tok = rnd(z);
		if (fd >= 0 && pwrite(fd, tok, sizeof(*tok), 0) != sizeof(*tok))
			fz_fail(z, "memfd write failed");
		return fd;
	}
	if (r < 33) {
		*kind = FK_PIPE;
		if (pipe(p))
			return -1;
		close(p[r & 1]);
		return p[!(r & 1)];
	}
	if (r < 41) {
		*kind = FK_EVENTFD;
		return eventfd(rn(z, 10), 0);
	}
	if (r < 45) {
		*kind = FK_EPOLL;
		fd = epoll_create1(0);
		if (fd >= 0)
			epoll_ctl(fd, EPOLL_CTL_ADD, pick(z)->fd, &ev);
		return fd;
	}
	if (r < 75) {
		*kind = FK_CHAN;
		for (n = 0; n < 4; n++) {
			h = pick(z);
			if (!(h->flags & CHAN_FDPASS))
				break;
		}
		if (h->flags & CHAN_FDPASS) {
			*tok = 0;
			fd = kc_create_flags(rn(z, 3), 16, 0);
			if (fd >= 0)
				*tok = KC_INFO(fd, id);
			return fd < 0 ? -1 : fd;
		}
		*tok = h->id;
		if (pct(z, 50)) {
			*owned = false;
			return h->fd;
		}
		fd = kc_dup(h->fd, (1 + rn(z, 3)) & h->rights ?: h->rights);
		return fd < 0 ? -1 : fd;
	}
	if (r < 80) {
		*kind = FK_DEV;
		return open(CHAN_DEVICE, O_RDWR);
	}
	*owned = false;
	if (r < 87) {
		*kind = FK_BAD_FDPASS;
		for (i = 0; i < z->nh; i++)
			if (z->h[i].flags & CHAN_FDPASS)
				break;
		return z->h[i % z->nh].fd;
	}
	if (r < 91) {
		*kind = FK_BAD_UNIX;
		return z->usock[0];
	}
	if (r < 95) {
		/* one of ours (it may hold this very channel), or a new one */
		*kind = FK_BAD_SELSET;
		fd = z->ss[r & 1].fd;
		if (fd >= 0)
			return fd;
		fd = kc_selset_create_on(z->dev, 0);
		*owned = fd >= 0;
		return fd >= 0 ? fd : -1;
	}
	*kind = FK_BAD_NUM;
	return pct(z, 50) ? -2 - (int)rn(z, 100) : 100000 + (int)rn(z, 1000);
}

/*
 * A message arrived on h: bounds and payload. Returns what it says about
 * an fd (-1 nothing) in *hk and *tok.
 */
static void got_msg(struct fz *z, struct hd *h, const uint8_t *buf,
		    uint64_t len, uint64_t bsz, const char *what, bool drained,
		    int *hk, uint64_t *tok)
{
	const char *bad;

	*hk = -1;
	*tok = 0;
	if (len > h->msg_size || len > bsz) {
		fz_fail(z, "%s: a message of %llu bytes (msg_size %u, buffer %llu)",
			what, (unsigned long long)len, h->msg_size,
			(unsigned long long)bsz);
		return;
	}
	if (h->msg_size && !len) {
		fz_fail(z, "%s: an empty message on pool %d (msg_size %u): nobody sends one",
			what, h->pool, h->msg_size);
		return;
	}
	if (drained)
		fz_fail(z, "%s: a message on pool %d after it was closed and drained",
			what, h->pool);
	bad = msg_bad(buf, len, hk, tok);
	if (bad)
		fz_fail(z, "%s on pool %d (channel %llu): corrupt message of %llu bytes: %s",
			what, h->pool, (unsigned long long)h->id,
			(unsigned long long)len, bad);
}

/* ---- send and receive ---------------------------------------------------- */

static void op_send(struct fz *z)
{
	int want = 0, fk = FK_NONE, sfd = -1, e, r, p;
	bool owned = false, flagsbad = false;
	uint8_t *buf = sbuf;
	struct chan_msg m;
	uint32_t d = rn(z, 100);
	uint64_t len, tok = 0;
	struct tmo t;
	bool closed;
	struct hd *h;

	h = pick(z);
	p = h->pool;
	closed = known_closed(z, h);
	len = msg_len(z, h->msg_size);
	kc_msg_init(&m, buf, len, 0);
	m.flags = pct(z, 5) ? CHAN_MSG_FD_CLOEXEC : 0;
	if (d < 3) {
		m.flags |= 2u << rn(z, 31);
		flagsbad = true;
	} else if (d < 6) {
		len = pct(z, 80) ? h->msg_size + 1 + rn(z, 100) :
				   (1ULL << 32) + rn(z, 10);
		want = EMSGSIZE;
	} else if (d < 8 && len) {
		buf = badptr(z, false, len);
		want = EFAULT;
	} else if (d < 10 && !(h->flags & CHAN_FDPASS)) {
		sfd = z->dev;
		want = EINVAL;
	} else if ((h->flags & CHAN_FDPASS) && pct(z, 50)) {
		sfd = tx_fd(z, &fk, &tok, &owned);
		if (sfd == -1 && fk != FK_BAD_NUM)
			fk = FK_NONE;	/* could not make one: send none */
		if (fk == FK_BAD_FDPASS || fk == FK_BAD_UNIX ||
		    fk == FK_BAD_SELSET)
			want = EINVAL;
		else if (fk == FK_BAD_NUM)
			want = EBADF;
	}
	if (flagsbad)
		want = EINVAL;
	else if (!(h->rights & CHAN_RIGHT_SEND))
		want = EBADF;
	if (buf == sbuf && len <= h->msg_size)
		mk_msg(z, sbuf, len, fk < FK_BAD_FDPASS ? fk : FK_NONE, tok);
	m.buf = (uintptr_t)buf;
	m.len = len;
	m.fd = sfd;
	tmo_pick(z, &t, h->nonblock);
	m.timeout_ns = t.ns;

	ST(z, send);
	pend(z, p, SEND_DIR, 1);
	tmo_start(z, &t);
	r = ioctl(h->fd, CHAN_IOC_SEND, &m);
	e = errno;
	tmo_end(&t);
	if (r == 0) {
		if (want) {
			fz_fail(z, "SEND on pool %d succeeded, expected %s", p,
				en(want));
		} else {
			tally(z, p, SEND_DIR, 1);
			ST(z, send_ok);
			if (sfd >= 0) {
				ST(z, fd_sent);
				if (fk == FK_CHAN)
					ST(z, chanfd_sent);
			}
			if (closed)
				fz_fail(z, "SEND succeeded on closed pool %d", p);
		}
	} else if (want) {
		if (e != want)
			fz_fail(z, "SEND on pool %d (len %llu flags %#x fd %d kind %d): %s, expected %s",
				p, (unsigned long long)len, m.flags, sfd, fk,
				en(e), en(want));
		if (fk >= FK_BAD_FDPASS)
			ST(z, fd_refused);
	} else if (e == EPIPE) {
		ST(z, epipe);
		latch_closed(z, h, "SEND failed EPIPE");
	} else if (e == ETOOMANYREFS && sfd >= 0) {
		/* in-flight bound: only without CAP_SYS_RESOURCE */
	} else if (!wait_err(z, "SEND", h, e, &t, closed)) {
		fz_fail(z, "SEND on pool %d: unexpected %s", p, en(e));
	}
	unpend(z);
	if (owned && sfd >= 0)
		close(sfd);
}

static void op_recv(struct fz *z)
{
	int want = 0, e, r, p, hk;
	bool flagsbad = false, closed, drained;
	uint8_t *buf = rbuf;
	uint32_t d = rn(z, 100);
	struct chan_msg m;
	uint64_t bsz, plen, tok;
	struct tmo t;
	struct hd *h;

	h = pick(z);
	p = h->pool;
	closed = known_closed(z, h);
	drained = known_drained(z, h);
	bsz = pct(z, 80) ? h->msg_size + rn(z, 64) : rn(z, h->msg_size + 1);
	kc_msg_init(&m, buf, bsz, 0);
	m.flags = pct(z, 15) ? CHAN_MSG_FD_CLOEXEC : 0;
	plen = bsz < h->msg_size ? bsz : h->msg_size;
	if (d < 3) {
		m.flags |= 2u << rn(z, 31);
		flagsbad = true;
	} else if (d < 6 && plen) {
		buf = badptr(z, true, plen);
		want = EFAULT;
	}
	if (flagsbad)
		want = EINVAL;
	else if (!(h->rights & CHAN_RIGHT_RECV))
		want = EBADF;
	m.buf = (uintptr_t)buf;
	m.fd = 777;
	m.ok = 9;
	tmo_pick(z, &t, h->nonblock);
	m.timeout_ns = t.ns;

	ST(z, recv);
	pend(z, p, RECV_DIR, 1);
	tmo_start(z, &t);
	r = ioctl(h->fd, CHAN_IOC_RECV, &m);
	e = errno;
	tmo_end(&t);
	if (r == 0) {
		if (want) {
			fz_fail(z, "RECV on pool %d succeeded, expected %s", p,
				en(want));
		} else if (m.ok == 1) {
			tally(z, p, RECV_DIR, 1);
			ST(z, recv_ok);
			got_msg(z, h, buf, m.len, bsz, "RECV", drained, &hk, &tok);
			rx_fd(z, h, m.fd, hk, tok, m.flags & CHAN_MSG_FD_CLOEXEC);
		} else if (m.ok == 0) {
			ST(z, recv_closed);
			if (m.len || m.fd != -1)
				fz_fail(z, "RECV closed: len %llu fd %d",
					(unsigned long long)m.len, m.fd);
			latch_drained(z, h, "RECV said closed and drained");
		} else {
			fz_fail(z, "RECV: ok = %u", m.ok);
		}
	} else if (want) {
		if (e != want)
			fz_fail(z, "RECV on pool %d (buffer %llu flags %#x): %s, expected %s",
				p, (unsigned long long)bsz, m.flags, en(e),
				en(want));
	} else if (e == EMSGSIZE) {
		ST(z, emsgsize);
		if (bsz >= h->msg_size)
			fz_fail(z, "RECV on pool %d: EMSGSIZE with a buffer of %llu >= msg_size %u",
				p, (unsigned long long)bsz, h->msg_size);
		else if (m.len <= bsz || m.len > h->msg_size)
			fz_fail(z, "RECV on pool %d: EMSGSIZE says %llu bytes (buffer %llu, msg_size %u)",
				p, (unsigned long long)m.len,
				(unsigned long long)bsz, h->msg_size);
		else if (m.ok || m.fd != -1)
			fz_fail(z, "RECV EMSGSIZE: ok %u fd %d", m.ok, m.fd);
		if (drained)
			fz_fail(z, "RECV EMSGSIZE on drained pool %d", p);
	} else if (!wait_err(z, "RECV", h, e, &t, closed)) {
		fz_fail(z, "RECV on pool %d: unexpected %s", p, en(e));
	}
	unpend(z);
}

/*
 * CHAN_IOC_CALL: a send on one handle, then a receive on another, in one
 * call (issued on either handle or /dev/chan), one timeout for both. What
 * each half may do is what SEND and RECV may; "sent" says which half the
 * result belongs to.
 */
static void op_call(struct fz *z)
{
	struct hd *hs = pick(z), *hr = pick(z);
	int ps = hs->pool, pr = hr->pool, want = 0, e, r, hk, on;
	bool sclosed = known_closed(z, hs), rclosed = known_closed(z, hr);
	bool drained = known_drained(z, hr);
	uint32_t d = rn(z, 100);
	uint8_t *buf = rbuf, *msg = sbuf;
	uint64_t len, bsz, plen, tok;
	struct chan_call c;
	struct tmo ts, tr;

	len = msg_len(z, hs->msg_size);
	bsz = pct(z, 80) ? hr->msg_size + rn(z, 64) : rn(z, hr->msg_size + 1);
	plen = bsz < hr->msg_size ? bsz : hr->msg_size;
	if (d < 3 && plen) {
		buf = badptr(z, true, plen);
		want = EFAULT;
	} else if (d < 5 && len) {
		msg = badptr(z, false, len);
		want = EFAULT;
	} else if (d < 7) {
		len = hs->msg_size + 1 + rn(z, 100);
		want = EMSGSIZE;
	}
	/* the checks in the kernel's order */
	if (!(hs->rights & CHAN_RIGHT_SEND))
		want = EBADF;
	else if (hs->flags & CHAN_FDPASS)
		want = EINVAL;
	else if (!(hr->rights & CHAN_RIGHT_RECV))
		want = EBADF;
	else if (hr->flags & CHAN_FDPASS)
		want = EINVAL;
	else if (hs->id == hr->id)
		want = EINVAL;
	if (hs->fd == hr->fd)
		want = EINVAL;
	if (msg == sbuf && len <= hs->msg_size)
		mk_msg(z, sbuf, len, FK_NONE, 0);
	tmo_pick(z, &ts, hs->nonblock);
	tr = ts;
	tr.nb = hr->nonblock || tr.ns == 0;
	ts.forever = ts.ns < 0 && (!ts.nb || !tr.nb);
	kc_call_init(&c, hs->fd, msg, len, hr->fd, buf, bsz, ts.ns);
	c.ok = 9;
	on = rn(z, 3);
	on = on == 0 ? hs->fd : on == 1 ? hr->fd : z->dev;

	ST(z, call);
	pend(z, ps, SEND_DIR, 1);
	pend(z, pr, RECV_DIR, 1);
	tmo_start(z, &ts);
	r = ioctl(on, CHAN_IOC_CALL, &c);
	e = errno;
	tmo_end(&ts);
	tr.t0 = ts.t0;
	tr.alrm0 = ts.alrm0;
	if (c.sent > 1)
		fz_fail(z, "CALL: sent = %u", c.sent);
	if (r == 0 && !c.sent)
		fz_fail(z, "CALL succeeded with sent 0");
	if (want) {
		if (r == 0 || c.sent)
			fz_fail(z, "CALL (pools %d -> %d) moved something, expected %s",
				ps, pr, en(want));
		else if (e != want)
			fz_fail(z, "CALL (pools %d -> %d, len %llu, buffer %llu): %s, expected %s",
				ps, pr, (unsigned long long)len,
				(unsigned long long)bsz, en(e), en(want));
		unpend(z);
		return;
	}
	if (c.sent) {
		tally(z, ps, SEND_DIR, 1);
		ST(z, call_sent);
		if (sclosed)
			fz_fail(z, "CALL sent on closed pool %d", ps);
	}
	if (r == 0) {
		if (c.ok == 1) {
			tally(z, pr, RECV_DIR, 1);
			ST(z, call_ok);
			/* hr is no CHAN_FDPASS channel: no fd came along */
			got_msg(z, hr, buf, c.recv_len, bsz, "CALL", drained,
				&hk, &tok);
		} else if (c.ok == 0) {
			if (c.recv_len)
				fz_fail(z, "CALL closed: len %llu",
					(unsigned long long)c.recv_len);
			latch_drained(z, hr, "CALL said closed and drained");
		} else {
			fz_fail(z, "CALL: ok = %u", c.ok);
		}
	} else if (!c.sent) {
		if (e == EPIPE) {
			ST(z, epipe);
			latch_closed(z, hs, "CALL failed EPIPE");
		} else if (!wait_err(z, "CALL (send half)", hs, e, &ts,
				     sclosed)) {
			fz_fail(z, "CALL on pool %d: unexpected %s in the send half",
				ps, en(e));
		}
	} else if (e == EMSGSIZE) {
		ST(z, emsgsize);
		if (bsz >= hr->msg_size || c.recv_len <= bsz ||
		    c.recv_len > hr->msg_size)
			fz_fail(z, "CALL on pool %d: EMSGSIZE says %llu bytes (buffer %llu, msg_size %u)",
				pr, (unsigned long long)c.recv_len,
				(unsigned long long)bsz, hr->msg_size);
	} else if (!wait_err(z, "CALL (recv half)", hr, e, &tr, rclosed)) {
		fz_fail(z, "CALL on pool %d: unexpected %s in the receive half",
			pr, en(e));
	}
	unpend(z);
}

static void op_read(struct fz *z)
{
	struct hd *h = pick(z);
	uint8_t *buf = rbuf;
	int p = h->pool, want = 0, e, hk;
	bool closed, drained;
	size_t n, plen;
	uint64_t tok;
	struct tmo t = {};
	ssize_t r;

	/* read() cannot tell an empty message from closed: skip msg_size 0 */
	if (!h->msg_size)
		return;
	closed = known_closed(z, h);
	drained = known_drained(z, h);
	n = pct(z, 80) ? h->msg_size + rn(z, 64) : rn(z, h->msg_size + 1);
	plen = n < h->msg_size ? n : h->msg_size;
	if (pct(z, 4) && plen) {
		buf = badptr(z, true, plen);
		want = EFAULT;
	}
	if (!(h->rights & CHAN_RIGHT_RECV))
		want = EBADF;
	t.ns = -1;
	t.nb = h->nonblock;
	t.forever = !t.nb;

	ST(z, read);
	pend(z, p, RECV_DIR, 1);
	tmo_start(z, &t);
	r = read(h->fd, buf, n);
	e = errno;
	tmo_end(&t);
	if (r > 0) {
		if (want) {
			fz_fail(z, "read() on pool %d returned %zd, expected %s",
				p, r, en(want));
		} else {
			tally(z, p, RECV_DIR, 1);
			ST(z, read_ok);
			got_msg(z, h, buf, r, n, "read()", drained, &hk, &tok);
		}
	} else if (r == 0) {
		if (want)
			fz_fail(z, "read() on pool %d returned 0, expected %s", p,
				en(want));
		else
			latch_drained(z, h, "read() returned 0");
	} else if (want) {
		if (e != want)
			fz_fail(z, "read() on pool %d: %s, expected %s", p, en(e),
				en(want));
	} else if (e == EMSGSIZE) {
		ST(z, emsgsize);
		if (n >= h->msg_size)
			fz_fail(z, "read() of %zu bytes on pool %d (msg_size %u): EMSGSIZE",
				n, p, h->msg_size);
	} else if (!wait_err(z, "read()", h, e, &t, closed)) {
		fz_fail(z, "read() on pool %d: unexpected %s", p, en(e));
	}
	unpend(z);
}

static void op_write(struct fz *z)
{
	struct hd *h = pick(z);
	int p = h->pool, want = 0, e;
	uint8_t *buf = sbuf;
	struct tmo t = {};
	bool closed;
	size_t n;
	ssize_t r;

	closed = known_closed(z, h);
	n = msg_len(z, h->msg_size);
	if (pct(z, 4)) {
		n = h->msg_size + 1 + rn(z, 64);
		want = EMSGSIZE;
	} else if (pct(z, 3) && n) {
		buf = badptr(z, false, n);
		want = EFAULT;
	} else {
		mk_msg(z, sbuf, n, FK_NONE, 0);
	}
	if (!(h->rights & CHAN_RIGHT_SEND))
		want = EBADF;
	t.ns = -1;
	t.nb = h->nonblock;
	t.forever = !t.nb;

	ST(z, write);
	pend(z, p, SEND_DIR, 1);
	tmo_start(z, &t);
	r = write(h->fd, buf, n);
	e = errno;
	tmo_end(&t);
	if (r >= 0) {
		if (want) {
			fz_fail(z, "write() on pool %d returned %zd, expected %s",
				p, r, en(want));
		} else if ((size_t)r != n) {
			fz_fail(z, "write() of %zu bytes returned %zd", n, r);
		} else {
			tally(z, p, SEND_DIR, 1);
			ST(z, write_ok);
			if (closed)
				fz_fail(z, "write() succeeded on closed pool %d", p);
		}
	} else if (want) {
		if (e != want)
			fz_fail(z, "write() of %zu on pool %d: %s, expected %s", n,
				p, en(e), en(want));
	} else if (e == EPIPE) {
		ST(z, epipe);
		latch_closed(z, h, "write() failed EPIPE");
	} else if (!wait_err(z, "write()", h, e, &t, closed)) {
		fz_fail(z, "write() on pool %d: unexpected %s", p, en(e));
	}
	unpend(z);
}

/* ---- select --------------------------------------------------------------- */

static bool op_ok(struct hd *h, uint32_t op)
{
	return (op == CHAN_OP_SEND && (h->rights & CHAN_RIGHT_SEND)) ||
	       (op == CHAN_OP_RECV && (h->rights & CHAN_RIGHT_RECV));
}

/* Bytes the kernel touches of a case's buffer. */
static uint64_t case_bytes(const struct chan_select_case *c, const struct hd *h)
{
	if (c->op == CHAN_OP_SEND)
		return c->len;
	return c->len < h->msg_size ? c->len : h->msg_size;
}

static void op_select(struct fz *z)
{
	static struct chan_select_case c[MAX_CASES], orig[MAX_CASES];
	struct hd *ch[MAX_CASES];
	bool closed[NPOOL], drained[NPOOL], badbuf[MAX_CASES] = {};
	int n, i, k, want = 0, e, r, hk, issue;
	uint32_t d = rn(z, 100);
	size_t used = 0, sz;
	struct chan_select s;
	struct tmo t;
	struct hd *h;
	uint64_t tok;

	memcpy(closed, z->closed, sizeof(closed));
	memcpy(drained, z->drained, sizeof(drained));
	n = pct(z, 12) ? (int)rn(z, MAX_CASES + 1) : 1 + (int)rn(z, 6);
	for (i = 0; i < n; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].ok = 0xa5;
		ch[i] = NULL;
		if (pct(z, 8)) {
			c[i].fd = -1;
			c[i].op = pct(z, 50) ? CHAN_OP_SEND : CHAN_OP_RECV;
			continue;
		}
		h = pick(z);
		ch[i] = h;
		c[i].fd = h->fd;
		if (pct(z, 92) && h->rights != CHAN_RIGHT_BOTH)
			c[i].op = h->rights == CHAN_RIGHT_SEND ? CHAN_OP_SEND :
								 CHAN_OP_RECV;
		else
			c[i].op = pct(z, 50) ? CHAN_OP_SEND : CHAN_OP_RECV;
		if (c[i].op == CHAN_OP_SEND)
			sz = msg_len(z, h->msg_size);
		else
			sz = pct(z, 85) ? h->msg_size : rn(z, h->msg_size + 1);
		if (used + sz > sizeof(arena)) {
			n = i;
			break;
		}
		c[i].buf = (uintptr_t)(arena + used);
		c[i].len = sz;
		if (c[i].op == CHAN_OP_SEND)
			mk_msg(z, arena + used, sz, FK_NONE, 0);
		used += (sz + 63) & ~(size_t)63;
	}
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.cases = (uintptr_t)c;
	s.ncases = n;
	s.case_size = sizeof(struct chan_select_case);
	s.index = 12345;
	k = n ? (int)rn(z, n) : 0;
	if (d < 2) {
		s.flags = 1u << rn(z, 32);
	} else if (d < 4 && n) {
		c[k].op = pct(z, 50) ? 0 : 3 + rn(z, 100);
	} else if (d < 6 && n) {
		c[k].reserved = 1 + rn(z, 100);
	} else if (d < 8 && n) {
		c[k].fd = pct(z, 50) ? -2 - (int)rn(z, 100) :
				      (pct(z, 50) ? z->usock[0] : z->dev);
		ch[k] = NULL;
	} else if (d < 10 && n && ch[k] && c[k].op == CHAN_OP_SEND) {
		c[k].len = ch[k]->msg_size + 1 + rn(z, 100);
	} else if (d < 12 && n && ch[k] && case_bytes(&c[k], ch[k])) {
		c[k].buf = (uintptr_t)badptr(z, c[k].op == CHAN_OP_RECV,
					     case_bytes(&c[k], ch[k]));
		badbuf[k] = true;
	}

	/* What the kernel must say before anything moves, in its order. */
	if (s.flags)
		want = EINVAL;
	for (i = 0; i < n && !want; i++) {
		if (c[i].reserved || (c[i].op != CHAN_OP_SEND &&
				      c[i].op != CHAN_OP_RECV))
			want = EINVAL;
		else if (c[i].fd == -1)
			continue;
		else if (!ch[i])
			want = EBADF;
		else if (!op_ok(ch[i], c[i].op))
			want = EBADF;
		else if (c[i].op == CHAN_OP_SEND && c[i].len > ch[i]->msg_size)
			want = EMSGSIZE;
	}
	for (i = 0; i < n && !want; i++)
		if (badbuf[i])
			want = EFAULT;

	tmo_pick(z, &t, false);
	s.timeout_ns = t.ns;
	issue = pct(z, 50) ? z->dev : pick(z)->fd;
	for (i = 0; i < n; i++)
		if (ch[i] && c[i].fd != -1)
			pend(z, ch[i]->pool, c[i].op == CHAN_OP_SEND ?
			     SEND_DIR : RECV_DIR, 1);
	memcpy(orig, c, n * sizeof(c[0]));

	ST(z, select);
	tmo_start(z, &t);
	r = ioctl(issue, CHAN_IOC_SELECT, &s);
	e = errno;
	tmo_end(&t);
	if (r >= 0) {
		if (want) {
			fz_fail(z, "SELECT of %d cases returned %d, expected %s",
				n, r, en(want));
		} else if (r >= n || s.index != r || !ch[r] || c[r].fd == -1) {
			fz_fail(z, "SELECT of %d cases returned %d, index %d",
				n, r, s.index);
		} else {
			h = ch[r];
			for (i = 0; i < n; i++)
				if (i != r && memcmp(&c[i], &orig[i], sizeof(c[i])))
					fz_fail(z, "SELECT: case %d was written, but case %d fired",
						i, r);
			if (c[r].fd != orig[r].fd || c[r].op != orig[r].op ||
			    c[r].buf != orig[r].buf || c[r].reserved)
				fz_fail(z, "SELECT: the fired case's input fields changed");
			if (c[r].op == CHAN_OP_SEND) {
				if (c[r].len != orig[r].len)
					fz_fail(z, "SELECT: a send case's len changed");
				if (c[r].ok == 1) {
					tally(z, h->pool, SEND_DIR, 1);
					ST(z, select_send);
					if (h->pool >= 0 && closed[h->pool])
						fz_fail(z, "SELECT sent on closed pool %d",
							h->pool);
				} else if (c[r].ok == 0) {
					ST(z, select_closed);
					latch_closed(z, h, "a SELECT send case fired with ok 0");
				} else {
					fz_fail(z, "SELECT: ok %u", c[r].ok);
				}
			} else if (c[r].ok == 1) {
				tally(z, h->pool, RECV_DIR, 1);
				ST(z, select_recv);
				got_msg(z, h, (uint8_t *)(uintptr_t)c[r].buf,
					c[r].len, orig[r].len, "SELECT recv",
					h->pool >= 0 && drained[h->pool], &hk, &tok);
			} else if (c[r].ok == 0) {
				ST(z, select_closed);
				if (c[r].len)
					fz_fail(z, "SELECT: closed recv case with len %llu",
						(unsigned long long)c[r].len);
				latch_drained(z, h, "a SELECT recv case fired with ok 0");
			} else {
				fz_fail(z, "SELECT: ok %u", c[r].ok);
			}
		}
	} else if (want) {
		if (e != want)
			fz_fail(z, "SELECT of %d cases (defect %u at %d): %s, expected %s",
				n, d, k, en(e), en(want));
	} else if (e == EMSGSIZE) {
		ST(z, emsgsize);
		i = s.index;
		if (i < 0 || i >= n || !ch[i] || c[i].op != CHAN_OP_RECV ||
		    orig[i].len >= ch[i]->msg_size || c[i].len <= orig[i].len ||
		    c[i].len > ch[i]->msg_size || c[i].ok)
			fz_fail(z, "SELECT EMSGSIZE: index %d of %d, len %llu",
				i, n, i >= 0 && i < n ?
				(unsigned long long)c[i].len : 0ULL);
	} else if (wait_err(z, "SELECT", NULL, e, &t, false)) {
		if (e == EAGAIN && s.index != -1)
			fz_fail(z, "SELECT EAGAIN with index %d", s.index);
		for (i = 0; i < n; i++) {
			if (memcmp(&c[i], &orig[i], sizeof(c[i])))
				fz_fail(z, "SELECT %s: case %d was written", en(e), i);
			if (ch[i] && c[i].fd != -1 && ch[i]->pool >= 0 &&
			    closed[ch[i]->pool])
				fz_fail(z, "SELECT %s with a case on closed pool %d (always ready)",
					en(e), ch[i]->pool);
		}
	} else {
		fz_fail(z, "SELECT of %d cases: unexpected %s", n, en(e));
	}
	unpend(z);
}

/* ---- select sets ---------------------------------------------------------- */

/*
 * Every process keeps up to MAX_SETS select sets, made lazily, sometimes
 * closed and made again, sometimes inherited by its children (a set both
 * have is never changed again by either: each only closes its fd). Their
 * cases name random handles (the case keeps its own reference, so the
 * handle may be closed meanwhile), send or recv, with buffers of their own
 * (casebuf), a few of them bad; waits use a timeout of 0, a few ms, or
 * forever under SIGALRM, and count what they move as select does.
 */

static void ss_reset(struct sset *ss, int fd)
{
	memset(ss, 0, sizeof(*ss));
	ss->fd = fd;
}

static void ss_close(struct sset *ss)
{
	if (ss->fd >= 0)
		close(ss->fd);
	ss_reset(ss, -1);
}

/* Bytes a case stages (what max_select_bytes counts). */
static uint64_t scase_bytes(const struct scase *c)
{
	if (!c->on)
		return 0;
	return c->len < c->msg_size ? c->len : c->msg_size;
}

/* ncases as the kernel counts it: the highest non-nil index + 1. */
static int ss_ncases(const struct sset *ss)
{
	int n = SET_CASES;

	while (n && !ss->c[n - 1].on)
		n--;
	return n;
}

/* A set's fdinfo: cases, active and staged, or false. */
static bool ss_fdinfo(struct fz *z, int fd, unsigned long long *v)
{
	char path[64], line[256];
	FILE *f;

	v[0] = v[1] = v[2] = ~0ULL;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f) {
		fz_fail(z, "open %s: %s", path, en(errno));
		return false;
	}
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "cases: %llu", &v[0]);
		sscanf(line, "active: %llu", &v[1]);
		sscanf(line, "staged: %llu", &v[2]);
	}
	fclose(f);
	return true;
}

/* fdinfo of a set: cases, active, staged as the process knows them. */
static void ss_check_fdinfo(struct fz *z, struct sset *ss)
{
	unsigned long long v[3], cases, active, staged, want_active = 0;
	int i;

	if (!ss_fdinfo(z, ss->fd, v))
		return;
	cases = v[0];
	active = v[1];
	staged = v[2];
	for (i = 0; i < SET_CASES; i++)
		want_active += ss->c[i].on;
	if (cases != (unsigned long long)ss_ncases(ss) ||
	    active != want_active || staged != ss->staged)
		fz_fail(z, "select set fdinfo: cases %llu active %llu staged %llu, expected %d %llu %llu",
			cases, active, staged, ss_ncases(ss), want_active,
			(unsigned long long)ss->staged);
}

/*
 * CHAN_IOC_SELSET_CREATE into *ss, now and then with one mistake (its
 * errno checked). False when there is no set.
 */
static bool ss_create(struct fz *z, struct sset *ss)
{
	static union {
		struct chan_selset_create c;
		uint8_t raw[4096 + 64];
	} u;
	uint32_t d = rn(z, 100), size = sizeof(u.c);
	void *ptr = &u;
	char path[64], link[64];
	int fd, want = 0, fl;
	ssize_t n;

	memset(&u, 0, sizeof(u));
	u.c.flags = pct(z, 30) ? CHAN_CLOEXEC : 0;
	if (d < 3) {
		u.c.flags |= bad_bit(z, CHAN_CLOEXEC);
		want = EINVAL;
	} else if (d < 4) {
		size = rn(z, CHAN_SELSET_CREATE_SIZE_VER0);
		want = EINVAL;
	} else if (d < 5) {
		size += 1 + rn(z, 64);
		u.raw[size - 1] = 1 + rn(z, 255);
		want = E2BIG;
	} else if (d < 7) {
		size += 8 * (1 + rn(z, 8));	/* a zero tail is fine */
	} else if (d < 8) {
		ptr = badptr(z, false, sizeof(u.c));
		want = EFAULT;
	}
	u.c.size = size;
	fd = ioctl(z->dev, CHAN_IOC_SELSET_CREATE, ptr);
	if (fd < 0) {
		if (errno != want)
			fz_fail(z, "SELSET_CREATE flags %#x size %u: %s, expected %s",
				u.c.flags, size, en(errno), en(want));
		return false;
	}
	if (want) {
		fz_fail(z, "SELSET_CREATE flags %#x size %u succeeded, expected %s",
			u.c.flags, size, en(want));
		close(fd);
		return false;
	}
	ST(z, selset_new);
	fl = fcntl(fd, F_GETFD);
	if (fl < 0 || !!(fl & FD_CLOEXEC) != !!(u.c.flags & CHAN_CLOEXEC))
		fz_fail(z, "SELSET_CREATE: FD_CLOEXEC %d, asked %d",
			fl < 0 ? -1 : !!(fl & FD_CLOEXEC),
			!!(u.c.flags & CHAN_CLOEXEC));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = 0;
	if (strcmp(link, "anon_inode:[chan_selset]"))
		fz_fail(z, "a select set fd is \"%s\"", link);
	/* ignored: the wait's timeout alone decides (docs/semantics.md) */
	if (pct(z, 20))
		fcntl(fd, F_SETFL, O_NONBLOCK);
	ss_reset(ss, fd);
	return true;
}

/*
 * One CHAN_IOC_SELSET_CTL: a random case (a nil one now and then) on a
 * random handle, about one in seven with one mistake whose errno is
 * checked in the kernel's order; what succeeded goes into the model, and
 * a failed CTL changes nothing (fdinfo shows it).
 */
static void ss_ctl_one(struct fz *z, struct sset *ss)
{
	static union {
		struct chan_selset_ctl c;
		uint8_t raw[4096 + 64];
	} u;
	struct chan_selset_ctl *c = &u.c;
	uint32_t d = rn(z, 100), size = sizeof(*c), idx = rn(z, SET_CASES);
	bool ptrbad = false, tailbad = false, fdbad = false;
	uint8_t *buf = casebuf[ss - z->ss][idx];
	uint64_t staged = ss->staged;
	struct scase nc = {};
	struct hd *h = NULL;
	void *ptr = c;
	int want = 0, r, e;

	memset(&u, 0, sizeof(u));
	if (pct(z, 12)) {
		/* nil: the len and buffer do not matter */
		c->fd = -1;
		c->op = pct(z, 50) ? CHAN_OP_SEND : CHAN_OP_RECV;
		c->len = rn(z, 100000);
		c->buf = (uintptr_t)(pct(z, 50) ? buf : faultptr(z));
		if (pct(z, 20) && z->max_cases > SET_CASES)
			idx = SET_CASES + rn(z, z->max_cases - SET_CASES);
	} else {
		h = pick(z);
		if (h->msg_size > SET_SLOT)
			return;
		c->fd = h->fd;
		if (pct(z, 92) && h->rights != CHAN_RIGHT_BOTH)
			c->op = h->rights == CHAN_RIGHT_SEND ? CHAN_OP_SEND :
							       CHAN_OP_RECV;
		else
			c->op = pct(z, 50) ? CHAN_OP_SEND : CHAN_OP_RECV;
		nc.on = true;
		nc.pool = h->pool;
		nc.op = c->op;
		nc.msg_size = h->msg_size;
		nc.id = h->id;
		nc.buf = buf;
		if (c->op == CHAN_OP_SEND) {
			nc.len = msg_len(z, h->msg_size);
		} else if (pct(z, 80)) {
			nc.len = h->msg_size;
		} else {
			/* short (EMSGSIZE at the wait), or more than msg_size */
			nc.len = pct(z, 50) ? rn(z, h->msg_size + 1) :
					      h->msg_size + rn(z, 1000);
		}
		if (pct(z, 4) && scase_bytes(&nc)) {
			nc.buf = badptr(z, c->op == CHAN_OP_RECV,
					scase_bytes(&nc));
			nc.bad = true;
		}
		c->buf = (uintptr_t)nc.buf;
		c->len = nc.len;
		staged = staged - scase_bytes(&ss->c[idx]) + scase_bytes(&nc);
	}
	c->index = idx;

	if (d < 2) {
		c->flags = 1u << rn(z, 32);
	} else if (d < 4) {
		c->reserved = 1 + rn(z, 1000);
	} else if (d < 6) {
		c->op = pct(z, 50) ? 0 : 3 + rn(z, 100);
	} else if (d < 7) {
		c->index = z->max_cases + rn(z, 1000);
	} else if (d < 9) {
		switch (rn(z, 6)) {
		case 0:
			c->fd = -2 - (int)rn(z, 100);
			break;
		case 1:
			c->fd = 100000 + rn(z, 1000);
			break;
		case 2:
			c->fd = z->usock[0];
			break;
		case 3:
			c->fd = z->dev;
			break;
		case 4:
			c->fd = z->ep;
			break;
		default:
			c->fd = ss->fd;	/* a set is no channel */
			break;
		}
		fdbad = true;
	} else if (d < 11 && h && c->op == CHAN_OP_SEND) {
		c->len = h->msg_size + 1 + (pct(z, 80) ? rn(z, 100) :
					    (1ULL << 32));
	} else if (d < 12) {
		size = rn(z, CHAN_SELSET_CTL_SIZE_VER0);
	} else if (d < 13) {
		size += 1 + rn(z, 64);
		u.raw[size - 1] = 1 + rn(z, 255);
		tailbad = true;
	} else if (d < 14) {
		size += 8 * (1 + rn(z, 8));	/* zero tail: fine */
	} else if (d < 15) {
		ptr = badptr(z, false, sizeof(*c));
		ptrbad = true;
	}
	c->size = size;

	/* the kernel's order: the struct, its fields, the fd, the case */
	if (ptrbad)
		want = EFAULT;
	else if (size < CHAN_SELSET_CTL_SIZE_VER0)
		want = EINVAL;
	else if (tailbad)
		want = E2BIG;
	else if (c->flags || c->reserved || c->index >= z->max_cases ||
		 (c->op != CHAN_OP_SEND && c->op != CHAN_OP_RECV))
		want = EINVAL;
	else if (c->fd == -1)
		want = 0;
	else if (fdbad || !h || !op_ok(h, c->op))
		want = EBADF;
	else if (c->op == CHAN_OP_SEND && c->len > h->msg_size)
		want = EMSGSIZE;
	else if (staged > z->max_sel_bytes)
		want = ENOBUFS;

	ST(z, selset_ctl);
	r = ioctl(ss->fd, CHAN_IOC_SELSET_CTL, ptr);
	e = errno;
	if (r == 0 && want) {
		fz_fail(z, "SELSET_CTL index %u fd %d op %u len %llu size %u (defect %u) succeeded, expected %s",
			c->index, c->fd, c->op, (unsigned long long)c->len,
			size, d, en(want));
	} else if (r == 0) {
		ST(z, selset_ctl_ok);
		/*
		 * The message is read at each wait: write it only now, a
		 * failed CTL leaves the old case (and its message) in place.
		 */
		if (nc.on && nc.op == CHAN_OP_SEND && !nc.bad)
			mk_msg(z, buf, nc.len, FK_NONE, 0);
		if (idx < SET_CASES) {
			ss->staged = ss->staged - scase_bytes(&ss->c[idx]) +
				     scase_bytes(&nc);
			ss->c[idx] = nc;
		}
	} else if (e != want) {
		fz_fail(z, "SELSET_CTL index %u fd %d op %u len %llu size %u (defect %u): %s, expected %s",
			c->index, c->fd, c->op, (unsigned long long)c->len,
			size, d, en(e), en(want));
	} else if (e == ENOBUFS) {
		ST(z, selset_e2big);
	}
}

/* A set to work with: made (with a few cases) when there is none. */
static struct sset *ss_get(struct fz *z)
{
	struct sset *ss = &z->ss[rn(z, MAX_SETS)];
	int i, n;

	if (ss->fd >= 0)
		return ss;
	if (!ss_create(z, ss))
		return NULL;
	n = 1 + rn(z, 4);
	for (i = 0; i < n; i++)
		ss_ctl_one(z, ss);
	return ss;
}

/*
 * Change a set: a few cases. A set shared with a child is never changed:
 * it is let go of instead (the child keeps it), as is any set now and
 * then. Also CTL on an fd that is no set (ENOTTY).
 */
static void op_selset_ctl(struct fz *z)
{
	struct sset *ss = &z->ss[rn(z, MAX_SETS)];
	struct chan_selset_ctl c;
	int i, n, r, fd;

	if (pct(z, 5)) {
		memset(&c, 0, sizeof(c));
		c.size = sizeof(c);
		c.fd = -1;
		c.op = CHAN_OP_RECV;
		fd = pct(z, 50) ? z->dev : pick(z)->fd;
		r = ioctl(fd, CHAN_IOC_SELSET_CTL, &c);
		if (r != -1 || errno != ENOTTY)
			fz_fail(z, "SELSET_CTL on %s: %d %s, expected ENOTTY",
				fd == z->dev ? "/dev/chan" : "a channel", r,
				en(r < 0 ? errno : 0));
		return;
	}
	if (ss->fd >= 0 && (ss->shared || pct(z, 6))) {
		ss_close(ss);
		if (pct(z, 50))
			return;
	}
	if (ss->fd < 0 && !ss_create(z, ss))
		return;
	n = 1 + rn(z, 4);
	for (i = 0; i < n; i++)
		ss_ctl_one(z, ss);
	if (pct(z, 25))
		ss_check_fdinfo(z, ss);
}

/* The handle of pool channel p that every worker inherits (INFO for latches). */
static struct hd *pool_hd(struct fz *z, int p)
{
	int i;

	for (i = 0; i < z->nh && p >= 0; i++)
		if (z->h[i].base && z->h[i].pool == p)
			return &z->h[i];
	return NULL;
}

/*
 * Things a set fd is not: another ioctl (ENOTTY), read or write (EINVAL),
 * something to watch with epoll (EPERM: no poll method).
 */
static void ss_misuse(struct fz *z, struct sset *ss)
{
	struct epoll_event ev = { .events = EPOLLIN };
	static const unsigned long cmds[] = {
		CHAN_IOC_SEND, CHAN_IOC_RECV, CHAN_IOC_CLOSE, CHAN_IOC_INFO,
		CHAN_IOC_DUP, CHAN_IOC_SELECT, CHAN_IOC_SEND_BATCH,
		CHAN_IOC_RECV_BATCH, CHAN_IOC_CREATE, CHAN_IOC_OPEN,
		CHAN_IOC_UNLINK, CHAN_IOC_SELSET_CREATE,
	};
	unsigned long cmd;
	ssize_t n;
	int k = rn(z, 15);

	memset(gbuf, 0, sizeof(gbuf));
	*(uint32_t *)gbuf = 64;
	if (k < 12) {
		cmd = cmds[k];
		n = ioctl(ss->fd, cmd, gbuf);
		if (n != -1 || errno != ENOTTY)
			fz_fail(z, "ioctl %#lx on a select set: %zd %s, expected ENOTTY",
				cmd, n, en(n < 0 ? errno : 0));
		return;
	}
	if (k == 14) {
		n = epoll_ctl(z->ep, EPOLL_CTL_ADD, ss->fd, &ev);
		if (n != -1 || errno != EPERM)
			fz_fail(z, "epoll_ctl ADD of a select set: %zd %s, expected EPERM",
				n, en(n < 0 ? errno : 0));
		if (!n)
			epoll_ctl(z->ep, EPOLL_CTL_DEL, ss->fd, NULL);
		return;
	}
	n = k == 12 ? read(ss->fd, gbuf, 64) : write(ss->fd, gbuf, 64);
	if (n != -1 || errno != EINVAL)
		fz_fail(z, "%s on a select set: %zd %s, expected EINVAL",
			k == 12 ? "read()" : "write()", n, en(n < 0 ? errno : 0));
}

/*
 * CHAN_IOC_SELSET_WAIT on one of our sets, about one in ten with one
 * mistake (errno checked, nothing may move: no uncertainty is marked).
 * Otherwise every case may move a message: the result is checked against
 * the model of the set like a select's.
 */
static void op_selset_wait(struct fz *z)
{
	static union {
		struct chan_selset_wait w;
		uint8_t raw[4096 + 64];
	} u;
	struct chan_selset_wait *w = &u.w;
	bool closed[NPOOL], drained[NPOOL], anybad = false;
	uint32_t d = rn(z, 100), size = sizeof(*w);
	int want = 0, r, e, i, n, issue, hk;
	struct sset *ss = ss_get(z);
	struct scase *c;
	struct hd tmp, *ph;
	void *ptr = &u;
	uint64_t tok;
	struct tmo t = {};

	if (!ss)
		return;
	if (d < 3) {
		ss_misuse(z, ss);
		return;
	}
	memcpy(closed, z->closed, sizeof(closed));
	memcpy(drained, z->drained, sizeof(drained));
	n = ss_ncases(ss);
	for (i = 0; i < n; i++)
		anybad |= ss->c[i].on && ss->c[i].bad;

	memset(&u, 0, sizeof(u));
	issue = ss->fd;
	if (d < 5) {
		w->flags = 1u << rn(z, 32);
		want = EINVAL;
	} else if (d < 6) {
		size = rn(z, CHAN_SELSET_WAIT_SIZE_VER0);
		want = EINVAL;
	} else if (d < 7) {
		size += 1 + rn(z, 64);
		u.raw[size - 1] = 1 + rn(z, 255);
		want = E2BIG;
	} else if (d < 8) {
		ptr = badptr(z, false, sizeof(*w));
		want = EFAULT;
	} else if (d < 9) {
		issue = pct(z, 50) ? z->dev : pick(z)->fd;
		want = ENOTTY;
	} else if (d < 10) {
		size += 8 * (1 + rn(z, 8));	/* zero tail: fine */
	} else if (d < 11) {
		ptr = z->ro + 3072;	/* read-only: filled in below */
		want = EFAULT;
	}
	r = rn(z, 20);
	if (r < 8)
		t.ns = 0;
	else if (r < 19)
		t.ns = 20000 + rn(z, 6000000);
	else
		t.ns = pct(z, 20) ? INT64_MIN : -1;
	t.nb = t.ns == 0;
	t.forever = t.ns < 0;
	w->size = size;
	w->timeout_ns = t.ns;
	w->index = 12345;
	w->ok = 7;
	w->len = 777;
	if (ptr == z->ro + 3072) {
		/* the results cannot be written: fails before anything moves */
		if (mprotect(z->ro, kc_page(), PROT_READ | PROT_WRITE))
			return;
		memcpy(z->ro + 3072, w, sizeof(*w));
		mprotect(z->ro, kc_page(), PROT_READ);
	}
	if (!want) {
		for (i = 0; i < n; i++)
			if (ss->c[i].on)
				pend(z, ss->c[i].pool, ss->c[i].op == CHAN_OP_SEND ?
				     SEND_DIR : RECV_DIR, 1);
	}
	if (!z->kid)
		S->wfd[z->wslot] = ss->fd;

	ST(z, selset_wait);
	tmo_start(z, &t);
	r = ioctl(issue, CHAN_IOC_SELSET_WAIT, ptr);
	e = errno;
	tmo_end(&t);
	c = r >= 0 && r < SET_CASES ? &ss->c[r] : NULL;
	if (r >= 0 && want) {
		fz_fail(z, "SELSET_WAIT (defect %u) returned %d, expected %s",
			d, r, en(want));
	} else if (r >= 0) {
		if (!c || !c->on || c->bad || w->index != r || r >= n)
			fz_fail(z, "SELSET_WAIT returned %d, index %d: %s case of %d",
				r, w->index, !c ? "no" : !c->on ? "a nil" :
				c->bad ? "a bad-buffer" : "a", n);
		else if (w->ok > 1)
			fz_fail(z, "SELSET_WAIT: ok %u", w->ok);
		ph = c ? pool_hd(z, c->pool) : NULL;
		if (!c || !c->on || c->bad || w->index != r || w->ok > 1) {
			/* reported */
		} else if (c->op == CHAN_OP_SEND && w->ok) {
			tally(z, c->pool, SEND_DIR, 1);
			ST(z, selset_send);
			if (w->len != c->len)
				fz_fail(z, "SELSET_WAIT send case of %llu bytes: len %llu",
					(unsigned long long)c->len,
					(unsigned long long)w->len);
			if (c->pool >= 0 && closed[c->pool])
				fz_fail(z, "SELSET_WAIT sent on closed pool %d",
					c->pool);
		} else if (c->op == CHAN_OP_SEND) {
			ST(z, selset_closed);
			if (ph)
				latch_closed(z, ph, "a set's send case fired with ok 0");
		} else if (w->ok) {
			tally(z, c->pool, RECV_DIR, 1);
			ST(z, selset_recv);
			memset(&tmp, 0, sizeof(tmp));
			tmp.pool = c->pool;
			tmp.msg_size = c->msg_size;
			tmp.id = c->id;
			got_msg(z, &tmp, c->buf, w->len, c->len, "SELSET_WAIT recv",
				c->pool >= 0 && drained[c->pool], &hk, &tok);
		} else {
			ST(z, selset_closed);
			if (w->len)
				fz_fail(z, "SELSET_WAIT: closed recv case with len %llu",
					(unsigned long long)w->len);
			if (ph)
				latch_drained(z, ph, "a set's recv case fired with ok 0");
		}
	} else if (want) {
		if (e != want)
			fz_fail(z, "SELSET_WAIT (defect %u, size %u): %s, expected %s",
				d, size, en(e), en(want));
	} else if (e == EMSGSIZE) {
		ST(z, emsgsize);
		i = w->index;
		c = i >= 0 && i < n ? &ss->c[i] : NULL;
		if (!c || !c->on || c->bad || c->op != CHAN_OP_RECV ||
		    c->len >= c->msg_size || w->len <= c->len ||
		    w->len > c->msg_size || w->ok)
			fz_fail(z, "SELSET_WAIT EMSGSIZE: index %d of %d, len %llu ok %u",
				i, n, (unsigned long long)w->len, w->ok);
		else if (c->pool >= 0 && drained[c->pool])
			fz_fail(z, "SELSET_WAIT EMSGSIZE on drained pool %d",
				c->pool);
	} else if (e == EFAULT) {
		ST(z, selset_efault);
		if (!anybad)
			fz_fail(z, "SELSET_WAIT EFAULT, but no case has a bad buffer");
		if (w->index != -1)
			fz_fail(z, "SELSET_WAIT EFAULT with index %d", w->index);
	} else if (wait_err(z, "SELSET_WAIT", NULL, e, &t, false)) {
		if (w->index != -1 || w->ok || w->len)
			fz_fail(z, "SELSET_WAIT %s: index %d ok %u len %llu", en(e),
				w->index, w->ok, (unsigned long long)w->len);
		if (anybad)
			fz_fail(z, "SELSET_WAIT %s with a bad buffer registered (EFAULT first)",
				en(e));
		for (i = 0; i < n; i++)
			if (ss->c[i].on && ss->c[i].pool >= 0 &&
			    closed[ss->c[i].pool])
				fz_fail(z, "SELSET_WAIT %s with a case on closed pool %d (always ready)",
					en(e), ss->c[i].pool);
	} else {
		fz_fail(z, "SELSET_WAIT on a set of %d cases: unexpected %s", n,
			en(e));
	}
	unpend(z);
}

/*
 * A set filled to max_select_bytes with recv cases on a channel of its
 * own (64 KiB messages, nobody sends): the case past the limit fails ENOBUFS
 * and changes nothing, and a wait stages it all and finds nothing.
 */
static void op_selset_big(struct fz *z)
{
	uint32_t msz = z->max_msg < 65536 ? z->max_msg : 65536, i, need;
	unsigned long long v[3];
	struct chan_selset_wait w;
	int ch, r, set;

	if (!msz || !pct(z, 25))
		return;
	need = z->max_sel_bytes / msz + 1;	/* this many pass the limit */
	if (need > z->max_cases || need > 2048)
		return;
	ch = kc_create(0, msz);
	if (ch < 0) {
		fz_fail(z, "create for selset_big: %s", en(-ch));
		return;
	}
	set = kc_selset_create_on(z->dev, CHAN_CLOEXEC);
	if (set < 0) {
		fz_fail(z, "SELSET_CREATE: %s", en(-set));
		close(ch);
		return;
	}
	for (i = 0; i < need; i++) {
		r = kc_selset_ctl(set, i, ch, CHAN_OP_RECV, rbuf,
				  msz + rn(z, 100));
		if (i + 1 < need && r) {
			fz_fail(z, "SELSET_CTL case %u of %u bytes (max_select_bytes %lu): %s",
				i, msz, z->max_sel_bytes, en(-r));
			break;
		}
		if (i + 1 == need) {
			if (r != -ENOBUFS)
				fz_fail(z, "SELSET_CTL past max_select_bytes (%u x %u > %lu): %s, expected ENOBUFS",
					need, msz, z->max_sel_bytes, en(-r));
			else
				ST(z, selset_e2big);
		}
	}
	close(ch);	/* the set holds it now */
	/* the failed CTL changed nothing */
	if (ss_fdinfo(z, set, v) &&
	    (v[0] != need - 1 || v[1] != need - 1 ||
	     v[2] != (unsigned long long)(need - 1) * msz))
		fz_fail(z, "big select set fdinfo: cases %llu active %llu staged %llu, expected %u of %u bytes",
			v[0], v[1], v[2], need - 1, msz);
	r = kc_selset_wait(set, &w, 0);
	if (r != -EAGAIN || w.index != -1)
		fz_fail(z, "SELSET_WAIT on %u cases nobody can serve: %d %s index %d",
			need - 1, r, en(r < 0 ? -r : 0), w.index);
	close(set);
}

/* ---- batches -------------------------------------------------------------- */

static void op_batch(struct fz *z, bool send)
{
	static struct chan_iovec v[40], vo[40];
	uint32_t n = pct(z, 20) ? 1 + rn(z, 40) : 1 + rn(z, 8);
	uint32_t i, d = rn(z, 100), k = UINT32_MAX;
	const char *what = send ? "SEND_BATCH" : "RECV_BATCH";
	int want = 0, e, p, hk;
	bool closed, drained;
	struct chan_batch b;
	size_t used = 0, sz;
	struct tmo t;
	struct hd *h;
	uint64_t tok;
	long r;

	h = pick(z);
	p = h->pool;
	closed = known_closed(z, h);
	drained = known_drained(z, h);
	for (i = 0; i < n; i++) {
		if (send)
			sz = msg_len(z, h->msg_size);
		else
			sz = pct(z, 88) ? h->msg_size : rn(z, h->msg_size + 1);
		if (used + sz > sizeof(arena)) {
			n = i;	/* i >= 1: one message always fits */
			break;
		}
		v[i].buf = (uintptr_t)(arena + used);
		v[i].len = sz;
		if (send)
			mk_msg(z, arena + used, sz, FK_NONE, 0);
		used += (sz + 63) & ~(size_t)63;
	}
	memset(&b, 0, sizeof(b));
	b.size = sizeof(b);
	b.msgs = (uintptr_t)v;
	b.n = n;
	if (d < 2) {
		b.flags = 1u << rn(z, 32);
		want = EINVAL;
	} else if (d < 4) {
		b.reserved = 1 + rn(z, 1000);
		want = EINVAL;
	} else if (d < 6) {
		b.msgs = (uintptr_t)badptr(z, false, n * sizeof(v[0]));
		want = EFAULT;
	} else if (d < 10) {
		k = rn(z, n);
		if (send && pct(z, 50)) {
			v[k].len = h->msg_size + 1 + rn(z, 64);
			if (!k)
				want = EMSGSIZE;
		} else {
			sz = send ? v[k].len :
			     (v[k].len < h->msg_size ? v[k].len : h->msg_size);
			if (sz) {
				v[k].buf = (uintptr_t)badptr(z, !send, sz);
				if (!k)
					want = EFAULT;
			} else {
				k = UINT32_MAX;
			}
		}
	}
	if (want != EINVAL && !(h->rights & (send ? CHAN_RIGHT_SEND :
						   CHAN_RIGHT_RECV)))
		want = EBADF;
	tmo_pick(z, &t, h->nonblock);
	b.timeout_ns = t.ns;
	memcpy(vo, v, sizeof(v));

	if (send)
		ST(z, bsend);
	else
		ST(z, brecv);
	pend(z, p, send ? SEND_DIR : RECV_DIR, n);
	if (!z->kid)
		S->wfd[z->wslot] = h->fd;
	tmo_start(z, &t);
	r = ioctl(h->fd, send ? CHAN_IOC_SEND_BATCH : CHAN_IOC_RECV_BATCH, &b);
	e = errno;
	tmo_end(&t);
	if (r > 0) {
		if (want) {
			fz_fail(z, "%s on pool %d moved %ld, expected %s", what,
				p, r, en(want));
		} else if (r > n || (k != UINT32_MAX && r > k)) {
			fz_fail(z, "%s on pool %d moved %ld of %u (bad iovec at %d)",
				what, p, r, n, (int)k);
		} else {
			tally(z, p, send ? SEND_DIR : RECV_DIR, r);
			if (send) {
				STN(z, bsend_msgs, r);
				if (closed)
					fz_fail(z, "%s sent on closed pool %d", what, p);
			} else {
				STN(z, brecv_msgs, r);
				for (i = 0; i < r; i++)
					got_msg(z, h, (uint8_t *)(uintptr_t)v[i].buf,
						v[i].len, vo[i].len, what, drained,
						&hk, &tok);
			}
			for (i = r; i < n; i++)
				if (memcmp(&v[i], &vo[i], sizeof(v[i])))
					fz_fail(z, "%s: iovec %u written, only %ld moved",
						what, i, r);
		}
	} else if (r == 0) {
		if (want || send)
			fz_fail(z, "%s on pool %d returned 0 (expected %s)", what,
				p, en(want));
		else
			latch_drained(z, h, "RECV_BATCH returned 0");
	} else if (want) {
		if (e != want)
			fz_fail(z, "%s on pool %d (defect %u at %d): %s, expected %s",
				what, p, d, (int)k, en(e), en(want));
	} else if (send && e == EPIPE) {
		ST(z, epipe);
		latch_closed(z, h, "SEND_BATCH failed EPIPE");
	} else if (!send && e == EMSGSIZE) {
		ST(z, emsgsize);
		if (vo[0].len >= h->msg_size)
			fz_fail(z, "RECV_BATCH EMSGSIZE with a first buffer of %llu (msg_size %u)",
				(unsigned long long)vo[0].len, h->msg_size);
	} else if (!wait_err(z, what, h, e, &t, closed)) {
		fz_fail(z, "%s on pool %d: unexpected %s", what, p, en(e));
	}
	unpend(z);
}

static void op_bsend(struct fz *z)
{
	op_batch(z, true);
}

static void op_brecv(struct fz *z)
{
	op_batch(z, false);
}

/* ---- a receive whose buffer goes away while it waits ---------------------- */

struct unmapper {
	void *addr;
	size_t len;
	long delay_us;
	bool protect;	/* mprotect(PROT_READ) instead of munmap */
};

static void *unmapper_fn(void *arg)
{
	struct unmapper *u = arg;
	struct timespec ts = { 0, u->delay_us * 1000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	if (u->protect)
		mprotect(u->addr, u->len, PROT_READ);
	else
		munmap(u->addr, u->len);
	return NULL;
}

/*
 * Another thread unmaps (or write-protects) part or all of the buffers of
 * a receive (RECV, read() or a RECV_BATCH, whose iovecs may be in the
 * region too) that may be waiting: a message it took then cannot be copied
 * out and goes back to the head, or is dropped when there is no room
 * (chan_putback()); a batch puts back the rest of its chunk too. The
 * caller sees EFAULT or a batch's shorter count, and counts only what it
 * was told it got.
 */
static void op_unmap_race(struct fz *z)
{
	struct hd *h = pick(z);
	bool closed = known_closed(z, h), drained = known_drained(z, h);
	int p = h->pool, e, r, hk, fd = -1, mode = rn(z, 3);
	uint32_t n = 1, i, pages, first;
	struct chan_iovec *v = NULL;
	bool ok = false, iov_in = false;
	size_t slot, len;
	struct unmapper u;
	struct chan_batch b;
	sigset_t all, old;
	struct chan_msg m;
	struct tmo t;
	pthread_t th;
	uint64_t tok, mlen = 0;
	ssize_t got = 0;
	char what[40];
	uint8_t *buf;

	/*
	 * Not on the pool channels that get closed: a message put back
	 * after a receiver saw the channel closed and drained would make it
	 * non-empty again, and the checks take "drained" as final.
	 */
	if (!h->msg_size || !(h->rights & CHAN_RIGHT_RECV) ||
	    (h->pool >= 0 && pool_specs[h->pool].close_pct))
		return;
	slot = h->msg_size;
	if (mode == 2)
		n = 1 + rn(z, (1 << 20) / slot < 24 ? (1 << 20) / slot : 24);
	len = (n * slot + 2 * kc_page() - 1) & ~(kc_page() - 1);
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return;
	if (mode == 2) {
		static struct chan_iovec vs[24];

		/* the iovecs in the region (its last page) or elsewhere */
		iov_in = pct(z, 30);
		v = iov_in ? (struct chan_iovec *)(buf + len - kc_page()) : vs;
		for (i = 0; i < n; i++) {
			v[i].buf = (uintptr_t)(buf + i * slot);
			v[i].len = slot;
		}
	}
	/* all of it, or some of its pages */
	pages = len / kc_page();
	first = pct(z, 50) ? 0 : rn(z, pages);
	u.addr = buf + (size_t)first * kc_page();
	u.len = (size_t)(first ? 1 + rn(z, pages - first) : pages) * kc_page();
	u.delay_us = rn(z, 4000);
	u.protect = pct(z, 40);
	tmo_pick(z, &t, h->nonblock);
	if (mode == 1) {
		t.ns = -1;
		t.nb = h->nonblock;
		t.forever = !t.nb;
	}
	snprintf(what, sizeof(what), "%s (racing an %s)",
		 mode == 0 ? "RECV" : mode == 1 ? "read()" : "RECV_BATCH",
		 u.protect ? "mprotect" : "unmap");
	/* Signals are for the thread that waits in the kernel. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&th, NULL, unmapper_fn, &u);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		munmap(buf, len);
		return;
	}

	ST(z, unmap_race);
	pend(z, p, RECV_DIR, n);
	tmo_start(z, &t);
	if (mode == 0) {
		kc_msg_init(&m, buf, slot, t.ns);
		r = ioctl(h->fd, CHAN_IOC_RECV, &m);
		if (!r) {
			ok = m.ok == 1;
			got = ok;
			mlen = m.len;
			fd = m.fd;
			if (m.len > slot || (!ok && m.len))
				fz_fail(z, "%s: len %llu ok %u", what,
					(unsigned long long)m.len, m.ok);
		}
	} else if (mode == 1) {
		got = read(h->fd, buf, slot);
		r = got < 0 ? -1 : 0;
		ok = got > 0;
		mlen = got;
		got = ok;
	} else {
		memset(&b, 0, sizeof(b));
		b.size = sizeof(b);
		b.msgs = (uintptr_t)v;
		b.n = n;
		b.timeout_ns = t.ns;
		got = ioctl(h->fd, CHAN_IOC_RECV_BATCH, &b);
		r = got < 0 ? -1 : 0;
		ok = got > 0;
	}
	e = errno;
	tmo_end(&t);
	pthread_join(th, NULL);
	if (r == 0 && ok) {
		if (got > n)
			fz_fail(z, "%s: %zd of %u messages", what, got, n);
		tally(z, p, RECV_DIR, got);
		ST(z, recv_ok);
		/* What it says it got is there, unless the pages are gone. */
		for (i = 0; u.protect && i < got; i++)
			got_msg(z, h, buf + i * slot, mode == 2 ? v[i].len : mlen,
				slot, what, drained, &hk, &tok);
		if (!(h->flags & CHAN_FDPASS) && fd != -1)
			fz_fail(z, "%s: fd %d on a channel without CHAN_FDPASS",
				what, fd);
		if (fd >= 0)
			close(fd);
	} else if (r == 0) {
		if (fd != -1)
			fz_fail(z, "%s closed: fd %d", what, fd);
		latch_drained(z, h, "a receive said closed and drained");
	} else if (e == EFAULT) {
		ST(z, unmap_efault);
	} else if (!wait_err(z, what, h, e, &t, closed)) {
		fz_fail(z, "%s on pool %d: unexpected %s", what, p, en(e));
	}
	unpend(z);
	/* not the pages the thread unmapped: something else may live there */
	if (u.protect) {
		munmap(buf, len);
	} else {
		munmap(buf, (uint8_t *)u.addr - buf);
		munmap((uint8_t *)u.addr + u.len,
		       buf + len - ((uint8_t *)u.addr + u.len));
	}
}

/* ---- readiness ------------------------------------------------------------ */

/*
 * revents rev of a handle that asked for req: only the bits of its rights,
 * only what was asked (plus HUP/ERR); a closed pool channel is always
 * ready; ERR and HUP on a pool channel mean closed (the test process
 * holds a receiver) and closed-and-drained.
 */
static void check_ready(struct fz *z, struct hd *h, uint32_t rev, uint32_t req,
			bool closed, bool drained, const char *what)
{
	uint32_t allowed = 0;

	if (h->rights & CHAN_RIGHT_RECV)
		allowed |= POLLIN | POLLRDNORM | POLLHUP;
	if (h->rights & CHAN_RIGHT_SEND)
		allowed |= POLLOUT | POLLWRNORM | POLLERR;
	if (rev & ~allowed)
		fz_fail(z, "%s: events %#x on a handle with rights %u", what, rev,
			h->rights);
	if (rev & ~(req | POLLHUP | POLLERR))
		fz_fail(z, "%s: events %#x, asked %#x", what, rev, req);
	if (h->pool < 0)
		return;
	if (rev & POLLERR)
		latch_closed(z, h, "POLLERR");
	if (rev & POLLHUP)
		latch_drained(z, h, "POLLHUP");
	if (closed && (h->rights & CHAN_RIGHT_SEND) &&
	    (!(rev & POLLERR) || ((req & POLLOUT) && !(rev & POLLOUT))))
		fz_fail(z, "%s: closed pool %d: events %#x for a sender", what,
			h->pool, rev);
	if (closed && (h->rights & CHAN_RIGHT_RECV) && (req & POLLIN) &&
	    !(rev & POLLIN))
		fz_fail(z, "%s: closed pool %d not readable (%#x)", what,
			h->pool, rev);
	if (drained && (h->rights & CHAN_RIGHT_RECV) && !(rev & POLLHUP))
		fz_fail(z, "%s: drained pool %d without POLLHUP (%#x)", what,
			h->pool, rev);
}

static uint32_t rand_events(struct fz *z)
{
	static const uint32_t bits[] = { POLLIN, POLLOUT, POLLRDNORM,
					 POLLWRNORM, POLLPRI };
	uint32_t ev = 0, i;

	for (i = 0; i < 5; i++)
		if (pct(z, 45))
			ev |= bits[i];
	return ev;
}

static void op_poll(struct fz *z)
{
	bool closed[NPOOL], drained[NPOOL];
	struct pollfd pf[6];
	struct hd *hs[6];
	int n = 1 + rn(z, 6), i, r, p;

	memcpy(closed, z->closed, sizeof(closed));
	memcpy(drained, z->drained, sizeof(drained));
	for (i = 0; i < n; i++) {
		hs[i] = pick(z);
		pf[i].fd = hs[i]->fd;
		pf[i].events = rand_events(z);
		pf[i].revents = 0;
	}
	ST(z, poll);
	r = poll(pf, n, pct(z, 30) ? (int)rn(z, 4) : 0);
	if (r < 0) {
		if (errno != EINTR)
			fz_fail(z, "poll: %s", en(errno));
		return;
	}
	if (r)
		ST(z, poll_ready);
	for (i = 0; i < n; i++) {
		p = hs[i]->pool;
		if (pf[i].revents & POLLNVAL)
			fz_fail(z, "poll: POLLNVAL on a channel fd");
		check_ready(z, hs[i], pf[i].revents & ~POLLNVAL, pf[i].events,
			    p >= 0 && closed[p], p >= 0 && drained[p], "poll");
	}
}

static void op_epoll(struct fz *z)
{
	bool closed[NPOOL], drained[NPOOL];
	struct epoll_event ev[8], e1;
	uint32_t r = rn(z, 100);
	struct hd *h = NULL;
	int n, i, j, p;

	ST(z, epoll);
	if (r < 30) {
		h = pick(z);
		e1.events = rand_events(z) & ~POLLPRI;
		if (pct(z, 30))
			e1.events |= EPOLLET;
		if (pct(z, 15))
			e1.events |= EPOLLONESHOT;
		e1.data.u64 = ((uint64_t)h->tag << 32) | (uint32_t)h->fd;
		if (epoll_ctl(z->ep, h->ep ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
			      h->fd, &e1))
			fz_fail(z, "epoll_ctl %s: %s", h->ep ? "MOD" : "ADD",
				en(errno));
		h->ep = true;
		h->ep_events = e1.events;
		return;
	}
	if (r < 40) {
		for (i = 0; i < z->nh; i++) {
			h = &z->h[i];
			if (h->ep) {
				if (epoll_ctl(z->ep, EPOLL_CTL_DEL, h->fd, NULL))
					fz_fail(z, "epoll_ctl DEL: %s", en(errno));
				h->ep = false;
				break;
			}
		}
		return;
	}
	memcpy(closed, z->closed, sizeof(closed));
	memcpy(drained, z->drained, sizeof(drained));
	n = epoll_wait(z->ep, ev, 8, pct(z, 30) ? (int)rn(z, 4) : 0);
	if (n < 0) {
		if (errno != EINTR)
			fz_fail(z, "epoll_wait: %s", en(errno));
		return;
	}
	STN(z, epoll_events, n);
	for (i = 0; i < n; i++) {
		for (j = 0; j < z->nh; j++) {
			h = &z->h[j];
			if (h->ep && ((uint64_t)h->tag << 32 | (uint32_t)h->fd) ==
				     ev[i].data.u64)
				break;
		}
		if (j == z->nh)
			continue;	/* closed since: the file lives elsewhere */
		p = h->pool;
		check_ready(z, h, ev[i].events,
			    h->ep_events & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM),
			    p >= 0 && closed[p], p >= 0 && drained[p], "epoll");
	}
}

/* ---- INFO, fdinfo, /proc/kchan -------------------------------------------- */

static void check_info(struct fz *z, struct hd *h, const struct chan_info *in,
		       bool closed, bool drained)
{
	int p = h->pool;

	if (in->size != sizeof(*in))
		fz_fail(z, "INFO size %u", in->size);
	if (in->capacity != h->cap || in->msg_size != h->msg_size ||
	    in->flags != h->flags || in->id != h->id || in->rights != h->rights)
		fz_fail(z, "INFO of channel %llu changed: cap %u msg_size %u flags %#x id %llu rights %u",
			(unsigned long long)h->id, in->capacity, in->msg_size,
			in->flags, (unsigned long long)in->id, in->rights);
	if (in->reserved || in->closed > 1 || in->len > in->capacity)
		fz_fail(z, "INFO: reserved %u closed %u len %u cap %u",
			in->reserved, in->closed, in->len, in->capacity);
	/* One snapshot under the channel lock (see op_kchan()). */
	if (in->sent != in->received + in->len)
		fz_fail(z, "INFO of pool %d (channel %llu): sent %llu != received %llu + len %u",
			p, (unsigned long long)h->id,
			(unsigned long long)in->sent,
			(unsigned long long)in->received, in->len);
	if (((h->rights & CHAN_RIGHT_SEND) && !in->send_handles) ||
	    ((h->rights & CHAN_RIGHT_RECV) && !in->recv_handles))
		fz_fail(z, "INFO: handles send %u recv %u, but ours has rights %u",
			in->send_handles, in->recv_handles, h->rights);
	if (p < 0)
		return;
	if (!in->send_handles || !in->recv_handles)
		fz_fail(z, "pool %d: INFO handles send %u recv %u (the test process holds both)",
			p, in->send_handles, in->recv_handles);
	/* received may go back: chan_putback() returns a message */
	if (in->sent < z->last_sent[p])
		fz_fail(z, "pool %d: sent went back: %llu -> %llu", p,
			(unsigned long long)z->last_sent[p],
			(unsigned long long)in->sent);
	z->last_sent[p] = in->sent;
	if (closed && !in->closed)
		fz_fail(z, "pool %d: open again after it was closed", p);
	if (drained && in->len)
		fz_fail(z, "pool %d: %u messages after closed and drained", p,
			in->len);
	if (in->closed)
		z->closed[p] = true;
}

static void op_info(struct fz *z)
{
	static union {
		struct chan_info in;
		uint8_t raw[4096 + 64];
	} u;
	struct hd *h = pick(z);
	uint32_t d = rn(z, 100), size = sizeof(u.in);
	bool closed = known_closed(z, h), drained = known_drained(z, h);
	void *ptr = &u;
	int want = 0, r;

	if (d < 4) {
		size += 8 * (1 + rn(z, 8));
	} else if (d < 6) {
		size += 1 + rn(z, 64);
		u.raw[size - 1] = 1 + rn(z, 255);
		want = E2BIG;
	} else if (d < 8) {
		size = rn(z, sizeof(u.in));
		want = EINVAL;
	} else if (d < 9) {
		size = kc_page() + 1 + rn(z, 100000);
		want = E2BIG;
	} else if (d < 11) {
		ptr = badptr(z, true, sizeof(u.in));
		want = EFAULT;
	}
	u.in.size = size;
	ST(z, info);
	r = ioctl(h->fd, CHAN_IOC_INFO, ptr);
	if (r == 0 && !want)
		check_info(z, h, &u.in, closed, drained);
	else if (r == 0)
		fz_fail(z, "INFO (size %u) succeeded, expected %s", size, en(want));
	else if (errno != want)
		fz_fail(z, "INFO (size %u): %s, expected %s", size, en(errno),
			en(want));
	memset(&u, 0, sizeof(u));
}

/* /proc/self/fdinfo: one snapshot of the counters (see op_kchan()). */
static void op_fdinfo(struct fz *z)
{
	unsigned long long id = 0, sent = 0, received = 0, len = 0, dropped = 0;
	struct hd *h = pick(z);
	char path[64], line[256];
	int seen = 0;
	FILE *f;

	ST(z, fdinfo);
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", h->fd);
	f = fopen(path, "re");
	if (!f) {
		fz_fail(z, "open %s: %s", path, en(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		seen += sscanf(line, "chan_id: %llu", &id);
		seen += sscanf(line, "sent: %llu", &sent);
		seen += sscanf(line, "received: %llu", &received);
		seen += sscanf(line, "len: %llu", &len);
		seen += sscanf(line, "dropped: %llu", &dropped);
	}
	fclose(f);
	if (seen != 5 || id != h->id || dropped > received ||
	    sent != received + len)
		fz_fail(z, "fdinfo of channel %llu: %d fields, id %llu sent %llu received %llu len %llu dropped %llu",
			(unsigned long long)h->id, seen, id, sent, received, len,
			dropped);
}

struct kline {
	unsigned long long id, sent, received, dropped;
	unsigned int cap, msg_size, len, closed, sw, rw, sh, rh;
	char name[300], flags[16];
};

/* Parse /proc/kchan: number of lines (without the header) or -errno. */
static int read_kchan(struct kline *out, int max)
{
	char line[1024];
	int n = 0, first = 1;
	struct kline k;
	FILE *f;

	f = fopen("/proc/kchan", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (first) {
			first = 0;
			continue;
		}
		if (sscanf(line, "%llu %299s %15s %u %u %u %u %u %u %u %u %llu %llu %llu",
			   &k.id, k.name, k.flags, &k.cap, &k.msg_size, &k.len,
			   &k.closed, &k.sw, &k.rw, &k.sh, &k.rh, &k.sent,
			   &k.received, &k.dropped) != 14) {
			fclose(f);
			return -EPROTO;
		}
		if (out && n < max)
			out[n] = k;
		n++;
	}
	fclose(f);
	return n;
}

/*
 * Every line is one snapshot under its channel's lock: it must balance.
 * received counts every message taken by a receiver, dropped ones too
 * (chan_putback(): the copy out failed and there was no room to put it
 * back), so sent == received + len and dropped <= received.
 */
static void op_kchan(struct fz *z)
{
	static struct kline kl[512];
	int n, i;

	ST(z, kchan_read);
	n = read_kchan(kl, 512);
	if (n < 0) {
		fz_fail(z, "reading /proc/kchan: %s", en(-n));
		return;
	}
	for (i = 0; i < n && i < 512; i++) {
		if (kl[i].sent != kl[i].received + kl[i].len ||
		    kl[i].dropped > kl[i].received ||
		    kl[i].len > kl[i].cap || kl[i].closed > 1)
			fz_fail(z, "/proc/kchan: channel %llu: sent %llu received %llu len %u dropped %llu cap %u closed %u",
				kl[i].id, kl[i].sent, kl[i].received,
				kl[i].len, kl[i].dropped, kl[i].cap,
				kl[i].closed);
	}
}

/* ---- handles: dup, close ------------------------------------------------- */

static void op_dup(struct fz *z)
{
	struct chan_dup *dp = (struct chan_dup *)gbuf;
	uint32_t d = rn(z, 100), size = sizeof(*dp), rights, flags;
	struct hd *h = pick(z), *nh;
	int want = 0, r, fl;
	void *ptr = dp;
	uint64_t id = h->id;

	memset(gbuf, 0, sizeof(gbuf));
	rights = 1 + rn(z, 3);
	flags = (pct(z, 50) ? CHAN_CLOEXEC : 0) | (pct(z, 50) ? CHAN_NONBLOCK : 0);
	if (d < 3) {
		rights = 0;
		want = EINVAL;
	} else if (d < 5) {
		rights |= 4u << rn(z, 30);
		want = EINVAL;
	} else if (d < 7) {
		flags |= bad_bit(z, CHAN_CLOEXEC | CHAN_NONBLOCK);
		want = EINVAL;
	} else if (d < 9) {
		dp->reserved = 1 + rn(z, 100);
		want = EINVAL;
	} else if (d < 10) {
		size = rn(z, sizeof(*dp));
		want = EINVAL;
	} else if (d < 11) {
		size += 1 + rn(z, 200);
		gbuf[size - 1] = 0x80;
		want = E2BIG;
	} else if (d < 12) {
		ptr = badptr(z, false, sizeof(*dp));
		want = EFAULT;
	}
	if (!want && (rights & ~h->rights))
		want = EBADF;
	dp->size = size;
	dp->rights = rights;
	dp->flags = flags;
	ST(z, dup);
	r = ioctl(h->fd, CHAN_IOC_DUP, ptr);
	if (r < 0) {
		if (errno != want)
			fz_fail(z, "DUP rights %u of %u flags %#x size %u: %s, expected %s",
				rights, h->rights, flags, size, en(errno),
				en(want));
		return;
	}
	if (want) {
		fz_fail(z, "DUP rights %u of %u flags %#x size %u succeeded, expected %s",
			rights, h->rights, flags, size, en(want));
		close(r);
		return;
	}
	ST(z, dup_ok);
	fl = fcntl(r, F_GETFD);
	if (fl < 0 || !!(fl & FD_CLOEXEC) != !!(flags & CHAN_CLOEXEC))
		fz_fail(z, "DUP: FD_CLOEXEC %d, asked %d", fl < 0 ? -1 :
			!!(fl & FD_CLOEXEC), !!(flags & CHAN_CLOEXEC));
	nh = adopt(z, r, false);
	if (!nh)
		return;
	if (nh->rights != rights || nh->id != id ||
	    nh->nonblock != !!(flags & CHAN_NONBLOCK))
		fz_fail(z, "DUP gave rights %u id %llu nonblock %d, asked %u of %llu nonblock %d",
			nh->rights, (unsigned long long)nh->id, nh->nonblock,
			rights, (unsigned long long)id,
			!!(flags & CHAN_NONBLOCK));
}

static void op_hclose(struct fz *z)
{
	struct hd *h = pick_nonbase(z, false);

	if (!h)
		return;
	ST(z, hclose);
	drop(z, h);
}

/* Go's close(): on channels of our own, and late in the run on a few pool ones. */
static void op_close(struct fz *z)
{
	int64_t el = kc_now_ns() - S->start_ns;
	int64_t dur = deadline() - S->start_ns;
	int cand[MAX_H], n = 0, i, p, r, e;
	bool closed;
	struct hd *h;

	for (i = 0; i < z->nh; i++) {
		p = z->h[i].pool;
		if (p < 0 || (pool_specs[p].close_pct &&
			      el * 100 >= dur * pool_specs[p].close_pct))
			cand[n++] = i;
	}
	if (!n)
		return;
	h = &z->h[cand[rn(z, n)]];
	p = h->pool;
	closed = known_closed(z, h);
	ST(z, close);
	pend(z, p, CLOSE_DIR, 1);
	r = ioctl(h->fd, CHAN_IOC_CLOSE, (unsigned long)rnd(z));
	e = errno;
	if (r == 0) {
		tally(z, p, CLOSE_DIR, 1);
		ST(z, close_ok);
		if (!(h->rights & CHAN_RIGHT_SEND))
			fz_fail(z, "CLOSE succeeded on a recv-only handle");
		if (closed)
			fz_fail(z, "CLOSE succeeded twice on pool %d", p);
		latch_closed(z, h, "CLOSE succeeded");
	} else if (!(h->rights & CHAN_RIGHT_SEND)) {
		if (e != EBADF)
			fz_fail(z, "CLOSE on a recv-only handle: %s", en(e));
	} else if (e == EALREADY) {
		latch_closed(z, h, "CLOSE said EALREADY");
	} else {
		fz_fail(z, "CLOSE on pool %d: %s", p, en(e));
	}
	unpend(z);
}

/* ---- names and creation --------------------------------------------------- */

static int ioc(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

static int fz_open(struct fz *z, const char *name, int oflag, uint32_t mode,
		   uint32_t flags, uint32_t cap, uint32_t msz)
{
	struct chan_open o = {
		.size = sizeof(o), .oflag = oflag, .name = (uintptr_t)name,
		.mode = mode, .flags = flags, .capacity = cap, .msg_size = msz,
	};
	int r = ioctl(z->dev, CHAN_IOC_OPEN, &o);

	return r < 0 ? -errno : r;
}

static const uint32_t acc_rights[3] = {
	CHAN_RIGHT_RECV, CHAN_RIGHT_SEND, CHAN_RIGHT_BOTH,
};

static void check_named(struct fz *z, int fd, uint32_t rights, bool nb,
			int pool, const char *what)
{
	struct hd *h = adopt(z, fd, false);

	if (!h)
		return;
	if (h->rights != rights || h->nonblock != nb ||
	    (pool >= 0 && h->pool != pool))
		fz_fail(z, "%s: rights %u nonblock %d pool %d, asked %u %d %d",
			what, h->rights, h->nonblock, h->pool, rights, nb, pool);
}

static void op_names(struct fz *z)
{
	static const int bad_oflags[] = {
		O_TRUNC, O_APPEND, O_DIRECTORY, O_NOFOLLOW, O_SYNC, O_NOCTTY,
	};
	static const uint32_t sizes[] = { 0, 8, 32, 64, 300 };
	static const int named[] = { 4, 11 };
	uint32_t r = rn(z, 100), acc = rn(z, 3), flags = 0, mode;
	char name[320];
	struct chan_unlink u;
	struct chan_create c;
	int oflag, want, fd, k;
	bool nb;

	ST(z, names);
	oflag = acc;
	nb = pct(z, 30);
	if (nb)
		oflag |= O_NONBLOCK;
	if (pct(z, 30))
		oflag |= O_CLOEXEC;
	mode = 0600 | rn(z, 0200);
	if (S->users)
		mode |= 0066;	/* other workers are other users */
	if (pct(z, 30))
		flags |= CHAN_FDPASS;
	if (nonbase_count(z, false) > MAX_H - NPOOL - 4) {
		op_hclose(z);
		op_hclose(z);
	}

	if (r < 25) {
		/* a pool name: exists until the end, whatever O_CREAT says */
		k = named[rn(z, 2)];
		pool_name(name, sizeof(name), k);
		if (pct(z, 30))
			oflag |= O_CREAT;
		fd = fz_open(z, name, oflag, mode, flags, rn(z, 4), 8);
		if (fd < 0) {
			fz_fail(z, "OPEN %s (oflag %#x): %s", name, oflag, en(-fd));
			return;
		}
		ST(z, names_ok);
		check_named(z, fd, acc_rights[acc], nb, k, "OPEN of a pool name");
		return;
	}
	scratch_name(name, sizeof(name), rn(z, NSCRATCH));
	if (r < 60) {
		if (pct(z, 70)) {
			oflag |= O_CREAT;
			if (pct(z, 25))
				oflag |= O_EXCL;
		}
		fd = fz_open(z, name, oflag, mode, flags, rn(z, 9),
			     sizes[rn(z, 5)]);
		if (fd >= 0) {
			ST(z, names_ok);
			check_named(z, fd, acc_rights[acc], nb, -1, "OPEN");
		} else if (!(fd == -ENOENT && !(oflag & O_CREAT)) &&
			   !(fd == -EEXIST && (oflag & O_EXCL))) {
			fz_fail(z, "OPEN %s (oflag %#x): %s", name, oflag, en(-fd));
		}
		return;
	}
	if (r < 75) {
		memset(&u, 0, sizeof(u));
		u.size = sizeof(u);
		u.name = (uintptr_t)name;
		fd = ioc(z->dev, CHAN_IOC_UNLINK, &u);
		if (fd == -EACCES && S->users)
			;	/* another worker's: only its owner may */
		else if (fd && fd != -ENOENT)
			fz_fail(z, "UNLINK %s: %s", name, en(-fd));
		else if (!fd)
			ST(z, names_ok);
		return;
	}
	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.name = (uintptr_t)name;
	c.capacity = rn(z, 5);
	c.msg_size = 16;
	c.mode = S->users ? 0666 : 0600;
	if (r < 85) {
		k = pct(z, 20);
		if (k)
			pool_name(name, sizeof(name), named[rn(z, 2)]);
		fd = ioctl(z->dev, CHAN_IOC_CREATE, &c);
		if (fd >= 0 && k) {
			fz_fail(z, "CREATE of existing pool name %s succeeded", name);
			close(fd);
		} else if (fd >= 0) {
			ST(z, names_ok);
			check_named(z, fd, CHAN_RIGHT_BOTH, false, -1, "CREATE");
		} else if (errno != EEXIST) {
			fz_fail(z, "CREATE %s: %s", name, en(errno));
		}
		return;
	}

	/* Mistakes, each with its errno. */
	want = EINVAL;
	switch (rn(z, 10)) {
	case 0:
		name[0] = 0;
		break;
	case 1:
		strcat(name, "/x");
		break;
	case 2:
		memset(name, 'n', 256);
		name[256] = 0;
		break;
	case 3:
		/* not the 8 readable bytes before a hole: a valid name */
		fd = fz_open(z, faultptr(z), oflag | O_CREAT, mode, flags, 1, 8);
		if (fd != -EFAULT)
			fz_fail(z, "OPEN with a bad name pointer: %s", en(-fd));
		if (fd >= 0)
			close(fd);
		return;
	case 4:
		oflag |= bad_oflags[rn(z, 6)];
		break;
	case 5:
		oflag = (oflag & ~O_ACCMODE) | 3;
		break;
	case 6:
		flags |= 8u << rn(z, 29);
		break;
	case 7:
		mode |= 01000 << rn(z, 3);
		break;
	case 8:
		oflag |= O_CREAT;
		fd = fz_open(z, name, oflag, mode, flags, 1, z->max_msg + 1);
		if (fd != -EMSGSIZE)
			fz_fail(z, "OPEN O_CREAT msg_size %lu: %s", z->max_msg + 1,
				en(-fd));
		if (fd >= 0)
			close(fd);
		return;
	default:
		memset(&u, 0, sizeof(u));
		u.size = sizeof(u);
		u.name = (uintptr_t)name;
		u.reserved = 1 + rn(z, 10);
		fd = ioc(z->dev, CHAN_IOC_UNLINK, &u);
		if (fd != -EINVAL)
			fz_fail(z, "UNLINK with reserved %u: %s", u.reserved,
				en(-fd));
		return;
	}
	fd = fz_open(z, name, oflag | O_CREAT, mode, flags, 1, 8);
	if (fd != -want)
		fz_fail(z, "OPEN \"%.20s\" oflag %#x flags %#x mode %#o: %s, expected %s",
			name, oflag, flags, mode, en(-fd), en(want));
	if (fd >= 0)
		close(fd);
}

static void op_create(struct fz *z)
{
	static const uint32_t sizes[] = { 0, 16, 40, 64, 4096 };
	struct chan_create *c = (struct chan_create *)gbuf;
	uint32_t d = rn(z, 100), size = sizeof(*c);
	struct chan_info in;
	int want = 0, fd, fl;
	void *ptr = c;
	struct hd *h;

	ST(z, create);
	while (nonbase_count(z, true) >= MAX_PRIV)
		drop(z, pick_nonbase(z, true));
	memset(gbuf, 0, sizeof(gbuf));
	c->capacity = pct(z, 30) ? 0 : rn(z, 17);
	c->msg_size = sizes[rn(z, 5)];
	if (pct(z, 25))
		c->flags |= CHAN_FDPASS;
	if (pct(z, 20))
		c->flags |= CHAN_NONBLOCK;
	if (pct(z, 20))
		c->flags |= CHAN_CLOEXEC;
	if (d < 5) {
		c->msg_size = z->max_msg + 1 + rn(z, 100);
		want = EMSGSIZE;
	} else if (d < 7) {
		c->capacity = z->max_cap + 1 + rn(z, 100);
		want = EINVAL;
	} else if (d < 9) {
		c->capacity = 1024;
		c->msg_size = z->max_chan_bytes / 1024 + 1;
		want = c->msg_size > z->max_msg ? EMSGSIZE : EINVAL;
	} else if (d < 11) {
		c->flags |= bad_bit(z, CHAN_CLOEXEC | CHAN_NONBLOCK |
				    CHAN_FDPASS | CHAN_AUTOCLOSE);
		want = EINVAL;
	} else if (d < 13) {
		c->mode = 0600;
		want = EINVAL;
	} else if (d < 15) {
		c->reserved = 1 + rn(z, 100);
		want = EINVAL;
	} else if (d < 16) {
		size = rn(z, sizeof(*c));
		want = EINVAL;
	} else if (d < 17) {
		size += 1 + rn(z, 500);
		gbuf[size - 1] = 1;
		want = E2BIG;
	} else if (d < 18) {
		ptr = badptr(z, false, sizeof(*c));
		want = EFAULT;
	}
	c->size = size;
	fd = ioctl(z->dev, CHAN_IOC_CREATE, ptr);
	if (fd < 0) {
		if (errno != want)
			fz_fail(z, "CREATE cap %u msg_size %u flags %#x size %u: %s, expected %s",
				c->capacity, c->msg_size, c->flags, size,
				en(errno), en(want));
		return;
	}
	if (want) {
		fz_fail(z, "CREATE cap %u msg_size %u flags %#x size %u succeeded, expected %s",
			c->capacity, c->msg_size, c->flags, size, en(want));
		close(fd);
		return;
	}
	ST(z, create_ok);
	fl = fcntl(fd, F_GETFD);
	if (fl < 0 || !!(fl & FD_CLOEXEC) != !!(c->flags & CHAN_CLOEXEC))
		fz_fail(z, "CREATE: FD_CLOEXEC wrong");
	if (kc_info(fd, &in) || in.capacity != c->capacity ||
	    in.msg_size != c->msg_size ||
	    in.flags != (c->flags & CHAN_FDPASS) || in.rights != CHAN_RIGHT_BOTH ||
	    in.send_handles != 1 || in.recv_handles != 1 || in.sent ||
	    in.received || in.len || in.closed || in.id <= S->base_id)
		fz_fail(z, "CREATE cap %u msg_size %u flags %#x: INFO cap %u msg_size %u flags %#x rights %u handles %u/%u id %llu",
			c->capacity, c->msg_size, c->flags, in.capacity,
			in.msg_size, in.flags, in.rights, in.send_handles,
			in.recv_handles, (unsigned long long)in.id);
	h = adopt(z, fd, false);
	if (h && h->nonblock != !!(c->flags & CHAN_NONBLOCK))
		fz_fail(z, "CREATE: O_NONBLOCK %d, asked %d", h->nonblock,
			!!(c->flags & CHAN_NONBLOCK));
}

/* ---- deterministic probes on a channel nobody else has -------------------- */

#define PROBE_FAIL(z, fmt, ...) fz_fail(z, "probe %s: " fmt, what, ##__VA_ARGS__)

static void op_probe(struct fz *z)
{
	static const char *const names[] = {
		"fifo", "toobig", "ro-msg", "batch-partial", "ro-select",
		"ro-batch",
	};
	uint32_t cap = 1 + rn(z, 4), msz = 8 + rn(z, 57), kind = rn(z, 6);
	const char *what;
	uint8_t msgs[4][64], in[64];
	struct chan_iovec v[3];
	struct chan_batch b;
	struct chan_select_case cs;
	struct chan_select s;
	struct chan_msg m;
	size_t len[4], got = 0;
	int fd, i, r;

	what = names[kind];
	ST(z, probe);
	fd = kc_create(cap, msz);
	if (fd < 0) {
		PROBE_FAIL(z, "create: %s", en(-fd));
		return;
	}
	for (i = 0; i < (int)cap; i++) {
		len[i] = 1 + rn(z, msz);
		mk_msg(z, msgs[i], len[i], FK_NONE, 0);
	}
	switch (kind) {
	case 0:		/* FIFO, counters, close, drain, EPIPE, EALREADY */
		for (i = 0; i < (int)cap; i++) {
			r = kc_send(fd, msgs[i], len[i], 0);
			if (r)
				PROBE_FAIL(z, "send %d: %s", i, en(-r));
		}
		r = kc_send(fd, msgs[0], len[0], 0);
		if (r != -EAGAIN)
			PROBE_FAIL(z, "send to a full channel: %s", en(-r));
		if (KC_INFO(fd, len) != cap || KC_INFO(fd, sent) != cap)
			PROBE_FAIL(z, "len %lld sent %lld after %u sends",
				   KC_INFO(fd, len), KC_INFO(fd, sent), cap);
		r = kc_close(fd);
		if (r)
			PROBE_FAIL(z, "close: %s", en(-r));
		for (i = 0; i < (int)cap; i++) {
			r = kc_recv(fd, in, sizeof(in), &got, 0);
			if (r != 1 || got != len[i] || memcmp(in, msgs[i], got))
				PROBE_FAIL(z, "recv %d: %d, %zu bytes (sent %zu)",
					   i, r, got, len[i]);
		}
		r = kc_recv(fd, in, sizeof(in), &got, -1);
		if (r != 0)
			PROBE_FAIL(z, "recv after drain: %d", r);
		r = kc_send(fd, msgs[0], len[0], -1);
		if (r != -EPIPE)
			PROBE_FAIL(z, "send after close: %s", en(-r));
		r = kc_close(fd);
		if (r != -EALREADY)
			PROBE_FAIL(z, "second close: %s", en(-r));
		if (KC_INFO(fd, received) != cap || KC_INFO(fd, len))
			PROBE_FAIL(z, "received %lld len %lld",
				   KC_INFO(fd, received), KC_INFO(fd, len));
		break;
	case 1:		/* a short buffer: EMSGSIZE, the message stays */
		kc_send(fd, msgs[0], len[0], 0);
		kc_msg_init(&m, in, len[0] - 1, 0);
		r = ioctl(fd, CHAN_IOC_RECV, &m) ? -errno : 0;
		if (r != -EMSGSIZE || m.len != len[0])
			PROBE_FAIL(z, "recv of %zu into %zu: %s len %llu", len[0],
				   len[0] - 1, en(-r), (unsigned long long)m.len);
		r = kc_recv(fd, in, sizeof(in), &got, 0);
		if (r != 1 || got != len[0] || memcmp(in, msgs[0], got))
			PROBE_FAIL(z, "the message did not stay: %d %zu", r, got);
		break;
	case 2:		/* read-only chan_msg: EFAULT before anything moves */
		kc_msg_init(&m, msgs[0], len[0], 0);
		if (mprotect(z->ro, kc_page(), PROT_READ | PROT_WRITE) == 0) {
			memcpy(z->ro + 2048, &m, sizeof(m));
			mprotect(z->ro, kc_page(), PROT_READ);
		}
		/* nothing is written back: it may send, or fail EFAULT */
		r = ioc(fd, CHAN_IOC_SEND, z->ro + 2048);
		if ((r && r != -EFAULT) || KC_INFO(fd, sent) != !r)
			PROBE_FAIL(z, "SEND with a read-only struct: %s, sent %lld",
				   en(-r), KC_INFO(fd, sent));
		if (r)
			kc_send(fd, msgs[0], len[0], 0);
		r = ioc(fd, CHAN_IOC_RECV, z->ro + 2048);
		if (r != -EFAULT ||
		    KC_INFO(fd, received) || KC_INFO(fd, len) != 1)
			PROBE_FAIL(z, "RECV with a read-only struct: %s, received %lld",
				   en(-r), KC_INFO(fd, received));
		break;
	case 3:		/* a bad second buffer: the batch stops there */
		if (cap < 2)
			break;
		kc_send(fd, msgs[0], len[0], 0);
		kc_send(fd, msgs[1], len[1], 0);
		v[0].buf = (uintptr_t)in;
		v[0].len = sizeof(in);
		v[1].buf = (uintptr_t)badptr(z, true, msz);
		v[1].len = msz;
		memset(&b, 0, sizeof(b));
		b.size = sizeof(b);
		b.msgs = (uintptr_t)v;
		b.n = 2;
		r = ioctl(fd, CHAN_IOC_RECV_BATCH, &b);
		if (r != 1 || v[0].len != len[0] || memcmp(in, msgs[0], len[0]) ||
		    KC_INFO(fd, len) != 1)
			PROBE_FAIL(z, "RECV_BATCH with a bad second buffer: %d (%s), len %lld",
				   r, en(errno), KC_INFO(fd, len));
		break;
	case 4:		/* read-only select cases: EFAULT and nothing moves */
		memset(&cs, 0, sizeof(cs));
		cs.fd = fd;
		if (pct(z, 50)) {
			kc_send(fd, msgs[0], len[0], 0);
			cs.op = CHAN_OP_RECV;
			cs.buf = (uintptr_t)in;
			cs.len = sizeof(in);
		} else {
			cs.op = CHAN_OP_SEND;	/* the channel has room */
			cs.buf = (uintptr_t)msgs[0];
			cs.len = len[0];
		}
		if (mprotect(z->ro, kc_page(), PROT_READ | PROT_WRITE) == 0) {
			memcpy(z->ro + 512, &cs, sizeof(cs));
			mprotect(z->ro, kc_page(), PROT_READ);
		}
		memset(&s, 0, sizeof(s));
		s.size = sizeof(s);
		s.cases = (uintptr_t)(z->ro + 512);
		s.ncases = 1;
		s.case_size = sizeof(struct chan_select_case);
		r = ioc(fd, CHAN_IOC_SELECT, &s);
		if (r != -EFAULT ||
		    KC_INFO(fd, sent) != (cs.op == CHAN_OP_RECV) ||
		    KC_INFO(fd, received) || KC_INFO(fd, len) != (cs.op == CHAN_OP_RECV))
			PROBE_FAIL(z, "SELECT %s case in a read-only array: %s, sent %lld received %lld (nothing may move)",
				   cs.op == CHAN_OP_RECV ? "recv" : "send",
				   en(-r), KC_INFO(fd, sent),
				   KC_INFO(fd, received));
		break;
	default:	/* read-only recv batch iovecs: EFAULT, nothing moves */
		kc_send(fd, msgs[0], len[0], 0);
		v[0].buf = (uintptr_t)in;
		v[0].len = sizeof(in);
		if (mprotect(z->ro, kc_page(), PROT_READ | PROT_WRITE) == 0) {
			memcpy(z->ro + 1024, v, sizeof(v[0]));
			mprotect(z->ro, kc_page(), PROT_READ);
		}
		memset(&b, 0, sizeof(b));
		b.size = sizeof(b);
		b.msgs = (uintptr_t)(z->ro + 1024);
		b.n = 1;
		r = ioc(fd, CHAN_IOC_RECV_BATCH, &b);
		if (r != -EFAULT || KC_INFO(fd, received) || KC_INFO(fd, len) != 1)
			PROBE_FAIL(z, "RECV_BATCH with read-only iovecs: %s, received %lld len %lld (nothing may move)",
				   en(-r), KC_INFO(fd, received),
				   KC_INFO(fd, len));
		break;
	}
	close(fd);
}

/* ---- garbage ioctls ------------------------------------------------------- */

static const unsigned long chan_cmds[] = {
	CHAN_IOC_SEND, CHAN_IOC_RECV, CHAN_IOC_CLOSE, CHAN_IOC_INFO,
	CHAN_IOC_DUP, CHAN_IOC_SELECT, CHAN_IOC_SEND_BATCH, CHAN_IOC_RECV_BATCH,
	CHAN_IOC_CALL,
};
#define N_CHAN_CMDS	((int)(sizeof(chan_cmds) / sizeof(chan_cmds[0])))
/* the first three are for /dev/chan only */
static const unsigned long dev_cmds[] = {
	CHAN_IOC_CREATE, CHAN_IOC_OPEN, CHAN_IOC_UNLINK, CHAN_IOC_SELECT,
	CHAN_IOC_CALL,
};
#define N_DEV_CMDS	((int)(sizeof(dev_cmds) / sizeof(dev_cmds[0])))
/* CREATE on /dev/chan, CTL and WAIT on a select set only */
static const unsigned long set_cmds[] = {
	CHAN_IOC_SELSET_CREATE, CHAN_IOC_SELSET_CTL, CHAN_IOC_SELSET_WAIT,
};
/* Size-first structs: command and its struct's first published size. */
static const struct { unsigned long cmd; uint32_t ver0; bool dev; } sized[] = {
	{ CHAN_IOC_SEND, CHAN_MSG_SIZE_VER0, false },
	{ CHAN_IOC_RECV, CHAN_MSG_SIZE_VER0, false },
	{ CHAN_IOC_INFO, CHAN_INFO_SIZE_VER0, false },
	{ CHAN_IOC_DUP, CHAN_DUP_SIZE_VER0, false },
	{ CHAN_IOC_SELECT, CHAN_SELECT_SIZE_VER0, false },
	{ CHAN_IOC_SEND_BATCH, CHAN_BATCH_SIZE_VER0, false },
	{ CHAN_IOC_RECV_BATCH, CHAN_BATCH_SIZE_VER0, false },
	{ CHAN_IOC_CREATE, CHAN_CREATE_SIZE_VER0, true },
	{ CHAN_IOC_OPEN, CHAN_OPEN_SIZE_VER0, true },
	{ CHAN_IOC_UNLINK, CHAN_UNLINK_SIZE_VER0, true },
	{ CHAN_IOC_SELECT, CHAN_SELECT_SIZE_VER0, true },
	{ CHAN_IOC_SELSET_CREATE, CHAN_SELSET_CREATE_SIZE_VER0, true },
	{ CHAN_IOC_CALL, CHAN_CALL_SIZE_VER0, false },
	{ CHAN_IOC_CALL, CHAN_CALL_SIZE_VER0, true },
};
#define NSIZED ((int)(sizeof(sized) / sizeof(sized[0])))

/*
 * The kernel matches a command's type and number only: the size and
 * direction encoded in it are ignored (the struct's own size decides).
 */
#define CMD_MATCH(cmd)	((cmd) & ~(unsigned long)(IOC_INOUT | IOCSIZE_MASK))

static bool cmd_in(unsigned long cmd, const unsigned long *cmds, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (CMD_MATCH(cmd) == CMD_MATCH(cmds[i]))
			return true;
	return false;
}

/* Is cmd (any size or direction) one of ours, for any kind of fd? */
/* CHAN_IOC_TIMER on /dev/chan, TIMER_SET on a timer only: op_timer. */
static const unsigned long timer_cmds[] = {
	CHAN_IOC_TIMER, CHAN_IOC_TIMER_SET,
};

static bool is_cmd(unsigned long cmd)
{
	return cmd_in(cmd, chan_cmds, N_CHAN_CMDS) ||
	       cmd_in(cmd, dev_cmds, N_DEV_CMDS) ||
	       cmd_in(cmd, set_cmds, 3) || cmd_in(cmd, timer_cmds, 2);
}

static void op_garbage(struct fz *z)
{
	struct hd *h = pick(z);
	unsigned long cmd, base;
	uint32_t kind = rn(z, 8), size, type;
	void *arg = gbuf;
	int fd = h->fd, want = ENOTTY, i, r;

	ST(z, garbage);
	memset(gbuf, 0, sizeof(gbuf));
	switch (kind) {
	case 0:		/* an unknown number of ours */
		do {
			cmd = _IOC(rn(z, 4), CHAN_IOC_MAGIC, rn(z, 256),
				   rn(z, 1 << 14));
		} while (is_cmd(cmd));
		if (pct(z, 50))
			fd = z->dev;
		break;
	case 1:
		/*
		 * A known number with another size or direction: that command
		 * (on its kind of fd), whose struct here says size 0 (EINVAL).
		 * Not CLOSE, which has no struct: it would close the channel.
		 */
		do {
			base = pct(z, 50) ? chan_cmds[rn(z, N_CHAN_CMDS)] :
					    dev_cmds[rn(z, N_DEV_CMDS)];
		} while (base == CHAN_IOC_CLOSE);
		do {
			if (pct(z, 50))
				cmd = _IOC(rn(z, 4), CHAN_IOC_MAGIC, _IOC_NR(base),
					   _IOC_SIZE(base));
			else
				cmd = _IOC(_IOC_DIR(base), CHAN_IOC_MAGIC,
					   _IOC_NR(base), rn(z, 1 << 14));
		} while (cmd == base);
		if (pct(z, 50))
			fd = z->dev;
		want = cmd_in(cmd, fd == z->dev ? dev_cmds : chan_cmds,
			      fd == z->dev ? N_DEV_CMDS : N_CHAN_CMDS) ?
		       EINVAL : ENOTTY;
		break;
	case 2:		/* any command, but none the VFS handles itself */
		do {
			cmd = (uint32_t)rnd(z);
			type = _IOC_TYPE(cmd);
		} while (type == 0 || type == 'T' || type == 'X' ||
			 type == 'f' || type == 0x94 || is_cmd(cmd));
		if (pct(z, 50))
			fd = z->dev;
		break;
	case 3:		/* a command for the other kind of fd */
		if (pct(z, 40)) {
			do {
				cmd = chan_cmds[rn(z, N_CHAN_CMDS)];
			} while (cmd == CHAN_IOC_SELECT ||
				 cmd == CHAN_IOC_CALL);
			fd = z->dev;
		} else if (pct(z, 65)) {
			cmd = dev_cmds[rn(z, 3)];
		} else {
			/* a select set's, on a channel or /dev/chan */
			cmd = set_cmds[rn(z, 3)];
			if (cmd != CHAN_IOC_SELSET_CREATE && pct(z, 50))
				fd = z->dev;
		}
		break;
	case 4:		/* a bad struct pointer */
		i = rn(z, NSIZED);
		cmd = sized[i].cmd;
		if (sized[i].dev)
			fd = z->dev;
		arg = pct(z, 25) ? (void *)1 : faultptr(z);
		want = EFAULT;
		break;
	case 5:		/* a bad size */
		i = rn(z, NSIZED);
		cmd = sized[i].cmd;
		if (sized[i].dev)
			fd = z->dev;
		switch (rn(z, 3)) {
		case 0:
			size = rn(z, sized[i].ver0);
			want = EINVAL;
			break;
		case 1:
			size = kc_page() + 1 + rn(z, UINT32_MAX - kc_page() - 1);
			want = E2BIG;
			break;
		default:
			size = sized[i].ver0 + 1 + rn(z, 4096 - sized[i].ver0);
			gbuf[sized[i].ver0 + rn(z, size - sized[i].ver0)] =
				1 + rn(z, 255);
			want = E2BIG;
			break;
		}
		memcpy(gbuf, &size, sizeof(size));
		break;
	case 6:		/* select: too many cases, or a bad case array */
		{
			struct chan_select *s = (struct chan_select *)gbuf;

			s->size = sizeof(*s);
			s->case_size = sizeof(struct chan_select_case);
			cmd = CHAN_IOC_SELECT;
			if (pct(z, 50)) {
				s->ncases = z->max_cases + 1 +
					    rn(z, INT32_MAX - z->max_cases);
				want = EINVAL;
			} else {
				s->ncases = 1 + rn(z, 8);
				s->cases = (uintptr_t)(pct(z, 50) ? z->hole : NULL);
				want = EFAULT;
			}
			if (pct(z, 50))
				fd = z->dev;
		}
		break;
	default:	/* a batch of more than INT_MAX */
		{
			struct chan_batch *b = (struct chan_batch *)gbuf;
			bool send = pct(z, 50);

			b->size = sizeof(*b);
			b->n = (uint32_t)INT32_MAX + 1 + rn(z, INT32_MAX);
			b->msgs = (uintptr_t)arena;
			cmd = send ? CHAN_IOC_SEND_BATCH : CHAN_IOC_RECV_BATCH;
			want = h->rights & (send ? CHAN_RIGHT_SEND :
					    CHAN_RIGHT_RECV) ? EINVAL : EBADF;
		}
		break;
	}
	r = ioctl(fd, cmd, arg);
	if (r >= 0) {
		fz_fail(z, "garbage ioctl %#lx (kind %u) on %s succeeded: %d",
			cmd, kind, fd == z->dev ? "/dev/chan" : "a channel", r);
		if (r > 2 && r != fd && r != z->dev)
			close(r);	/* it might be an fd */
	} else if (errno != want) {
		fz_fail(z, "garbage ioctl %#lx (kind %u) on %s: %s, expected %s",
			cmd, kind, fd == z->dev ? "/dev/chan" : "a channel",
			en(errno), en(want));
	}
}

/* ---- timer channels -------------------------------------------------------- */

static int64_t clock_ns(int clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * A timer of its own (CHAN_IOC_TIMER, now and then with one mistake), then
 * a few receives, resets, stops and polls on it while it fires, and close.
 * A tick is 16 bytes and never early; only a timer that was a one-shot may
 * report closed or refuse a reset (EALREADY); a send is refused (EBADF).
 */
static void op_timer(struct fz *z)
{
	static const int bad_clocks[] = {
		CLOCK_REALTIME, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID,
		CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_TAI, -1, 64,
	};
	struct chan_timer *t = (struct chan_timer *)gbuf;
	uint32_t d = rn(z, 100), size = sizeof(*t);
	struct chan_tick tick;
	bool may_close;
	int want = 0, fd, i, n, r;
	void *ptr = t;

	ST(z, timer);
	memset(gbuf, 0, sizeof(gbuf));
	t->clockid = pct(z, 50) ? CLOCK_MONOTONIC : CLOCK_BOOTTIME;
	t->value_ns = rn(z, 2000000);
	t->interval_ns = pct(z, 50) ? 0 : 20000 + rn(z, 2000000);
	if (pct(z, 20))
		t->flags |= CHAN_NONBLOCK;
	if (pct(z, 50))
		t->flags |= CHAN_CLOEXEC;
	if (d < 4) {
		t->clockid = bad_clocks[rn(z, 8)];
		want = EINVAL;
	} else if (d < 6) {
		t->value_ns = -1 - (int64_t)rn(z, 1000);
		want = EINVAL;
	} else if (d < 8) {
		t->interval_ns = -1 - (int64_t)rn(z, 1000);
		want = EINVAL;
	} else if (d < 10) {
		t->value_ns = INT64_MAX - rn(z, 1000);
		want = EINVAL;
	} else if (d < 12) {
		t->flags |= bad_bit(z, CHAN_CLOEXEC | CHAN_NONBLOCK |
				    CHAN_TIMER_ABSTIME);
		want = EINVAL;
	} else if (d < 14) {
		t->reserved = 1 + rn(z, 100);
		want = EINVAL;
	} else if (d < 15) {
		size = rn(z, sizeof(*t));
		want = EINVAL;
	} else if (d < 16) {
		size += 1 + rn(z, 500);
		gbuf[size - 1] = 1;
		want = E2BIG;
	} else if (d < 17) {
		ptr = badptr(z, false, sizeof(*t));
		want = EFAULT;
	} else if (d < 25) {
		t->flags |= CHAN_TIMER_ABSTIME;
		t->value_ns += clock_ns(t->clockid) - 1000000;
	}
	t->size = size;
	fd = ioctl(z->dev, CHAN_IOC_TIMER, ptr);
	if (fd < 0) {
		if (errno != want)
			fz_fail(z, "TIMER clock %d value %lld interval %lld flags %#x size %u: %s, expected %s",
				t->clockid, (long long)t->value_ns,
				(long long)t->interval_ns, t->flags, size,
				en(errno), en(want));
		return;
	}
	if (want) {
		fz_fail(z, "TIMER clock %d value %lld interval %lld flags %#x size %u succeeded, expected %s",
			t->clockid, (long long)t->value_ns,
			(long long)t->interval_ns, t->flags, size, en(want));
		close(fd);
		return;
	}
	ST(z, timer_ok);
	may_close = !t->interval_ns;
	n = 1 + rn(z, 8);
	for (i = 0; i < n; i++) {
		switch (rn(z, 5)) {
		case 0:
		case 1:
			r = kc_recv_tick(fd, &tick, rn(z, 3) * 1000000LL);
			if (r == 1) {
				ST(z, timer_tick);
				if ((int64_t)tick.expiry_ns > clock_ns(t->clockid))
					fz_fail(z, "timer: a tick due at %llu arrived early",
						(unsigned long long)tick.expiry_ns);
			} else if (r == 0 ? !may_close :
				   r != -EAGAIN && r != -ETIMEDOUT &&
				   r != -EINTR) {
				fz_fail(z, "timer recv: %d (one-shot %d)", r,
					may_close);
			}
			break;
		case 2: {
			int64_t v = rn(z, 2000000), iv = 0;
			unsigned int fl = 0;

			ST(z, timer_set);
			if (pct(z, 30)) {
				fl = CHAN_TIMER_STOP;
				v = 0;
			} else if (pct(z, 50)) {
				iv = 20000 + rn(z, 2000000);
			}
			if (pct(z, 10)) {
				r = kc_timer_set(fd, -1, iv, fl);
				if (r != -EINVAL)
					fz_fail(z, "TIMER_SET value -1: %d", r);
				break;
			}
			r = kc_timer_set(fd, v, iv, fl);
			if (r == -EALREADY && may_close && !fl)
				break;
			if (r != 0 && r != 1)
				fz_fail(z, "TIMER_SET %lld/%lld flags %#x: %d",
					(long long)v, (long long)iv, fl, r);
			else if (!fl)
				may_close = !iv;
			break;
		}
		case 3:
			r = kc_revents(fd);
			if (r == -EINTR)	/* SIGALRM, no SA_RESTART */
				break;
			if (r < 0 || (r & ~(POLLIN | POLLRDNORM | POLLHUP)) ||
			    ((r & POLLHUP) && !may_close))
				fz_fail(z, "timer poll: %#x", r);
			break;
		default:
			r = kc_send(fd, &tick, sizeof(tick), 0);
			if (r != -EBADF)
				fz_fail(z, "send on a timer: %d", r);
			break;
		}
	}
	close(fd);
}

/* ---- processes: children, siblings, signal storms ------------------------- */

static void one_op(struct fz *z);

static void reap_kids(struct fz *z)
{
	int st, i, j;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (i = 0; i < z->nkids; i++)
			if (z->kids[i] == pid)
				break;
		if (WIFSIGNALED(st) && WTERMSIG(st) != SIGKILL)
			fz_fail(z, "child %d died of signal %d", pid, WTERMSIG(st));
		else if (WIFEXITED(st) && WEXITSTATUS(st))
			fz_fail(z, "child %d exited %d", pid, WEXITSTATUS(st));
		if (i == z->nkids)
			continue;
		for (j = i; j + 1 < z->nkids; j++) {
			z->kids[j] = z->kids[j + 1];
			z->kid_ttl[j] = z->kid_ttl[j + 1];
		}
		z->nkids--;
	}
}

/* A child's life: a few random operations, then exit (with whatever is in flight). */
static void kid_main(struct fz *z, int slot, pid_t parent)
{
	int i, n;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	z->kid = true;
	z->t = &S->slot[slot];
	z->rs = mix64(z->rs ^ ((uint64_t)slot << 20)) | 1;
	z->nkids = 0;
	z->storm_made = false;
	z->storm_on = false;
	close(z->ep);
	z->ep = epoll_create1(0);
	for (i = 0; i < z->nh; i++)
		z->h[i].ep = false;
	n = 1 + rn(z, 40);
	for (i = 0; i < n && !S->stop && kc_now_ns() < deadline(); i++)
		one_op(z);
	_exit(0);
}

static void op_fork(struct fz *z)
{
	bool inherit[MAX_SETS], any = false;
	int slot, i;
	pid_t pid, me = getpid();

	reap_kids(z);
	if (z->kid || z->nkids >= MAX_KIDS)
		return;
	slot = alloc_slot(S->max_slots / 4);	/* the rest: respawns */
	if (slot < 0)
		return;
	/* the child has our select sets, or some of them */
	for (i = 0; i < MAX_SETS; i++) {
		inherit[i] = z->ss[i].fd >= 0 && pct(z, 50);
		any |= inherit[i];
	}
	pid = fork();
	if (pid < 0)
		return;
	if (pid == 0) {
		for (i = 0; i < MAX_SETS; i++) {
			if (inherit[i])
				z->ss[i].shared = true;
			else
				ss_close(&z->ss[i]);
		}
		kid_main(z, slot, me);
	}
	/* both have it now: neither changes it again */
	for (i = 0; i < MAX_SETS; i++)
		z->ss[i].shared |= inherit[i];
	if (any)
		ST(z, selset_inherit);
	ST(z, fork);
	z->kids[z->nkids] = pid;
	z->kid_ttl[z->nkids] = 1 + rn(z, 40);
	z->nkids++;
}

/* Every operation: children whose time has come are killed, wherever they are. */
static void tick_kids(struct fz *z)
{
	int i;

	for (i = 0; i < z->nkids; i++) {
		if (z->kid_ttl[i] > 0 && --z->kid_ttl[i] == 0 && pct(z, 60)) {
			kill(z->kids[i], SIGKILL);
			ST(z, kid_killed);
		}
	}
	reap_kids(z);
}

static int64_t ms(int64_t v)
{
	return v * 1000000LL;
}

/* SIGKILL or SIGSTOP/SIGCONT of a sibling worker, now and then. */
static void tick_siblings(struct fz *z, int64_t now)
{
	struct timespec ts;
	int j = rn(z, S->nprocs);
	pid_t pid;

	if (now >= z->next_kill) {
		z->next_kill = now + ms(3000 + rn(z, 14000));
		pid = S->wpid[j];
		if (S->users && j != z->wslot && pid > 0) {
			/* another uid: the test process sends it */
			__atomic_store_n(&S->sig_req[j], SIGKILL,
					 __ATOMIC_RELAXED);
			ST(z, sibling_killed);
		} else if (j != z->wslot && pid > 0 && !kill(pid, SIGKILL)) {
			ST(z, sibling_killed);
		}
	}
	if (now >= z->next_stop) {
		z->next_stop = now + ms(1000 + rn(z, 5000));
		pid = S->wpid[j];
		if (S->users && j != z->wslot && pid > 0) {
			/* stopped until the test process's next SIGCONT */
			__atomic_store_n(&S->sig_req[j], SIGSTOP,
					 __ATOMIC_RELAXED);
			ST(z, sibling_stopped);
		} else if (j != z->wslot && pid > 0 && !kill(pid, SIGSTOP)) {
			ST(z, sibling_stopped);
			ts.tv_sec = 0;
			ts.tv_nsec = 200000 + rn(z, 3000000);
			while (nanosleep(&ts, &ts) && errno == EINTR)
				;
			kill(pid, SIGCONT);
		}
	}
}

/* Turn a storm of SA_RESTART signals on or off. */
static void tick_storm(struct fz *z, int64_t now)
{
	struct sigevent sev = {
		.sigev_notify = SIGEV_SIGNAL,
	};
	struct itimerspec its = {};
	long iv;

	sev.sigev_signo = SIG_STORM;
	if (now < z->next_storm)
		return;
	if (!z->storm_made) {
		if (timer_create(CLOCK_MONOTONIC, &sev, &z->storm))
			return;
		z->storm_made = true;
	}
	z->storm_on = !z->storm_on;
	if (z->storm_on) {
		iv = 2000000 + rn(z, 6000000);
		its.it_value.tv_nsec = iv;
		its.it_interval.tv_nsec = iv;
		ST(z, storm);
	}
	timer_settime(z->storm, 0, &its, NULL);
	z->next_storm = now + ms(z->storm_on ? 200 + rn(z, 1300) :
					       1000 + rn(z, 3000));
}

/* ---- the engine ------------------------------------------------------------ */

struct fz_op {
	void (*fn)(struct fz *z);
	const char *name;
	unsigned int weight;
	bool kid_too;
};

static const struct fz_op ops[] = {
	{ op_send,	"send",		160, true },
	{ op_recv,	"recv",		160, true },
	{ op_call,	"call",		60, true },
	{ op_read,	"read",		45, true },
	{ op_write,	"write",	45, true },
	{ op_select,	"select",	100, true },
	{ op_bsend,	"send_batch",	35, true },
	{ op_brecv,	"recv_batch",	35, true },
	{ op_poll,	"poll",		35, true },
	{ op_epoll,	"epoll",	35, false },
	{ op_info,	"info",		40, true },
	{ op_fdinfo,	"fdinfo",	4, true },
	{ op_kchan,	"proc_kchan",	2, true },
	{ op_dup,	"dup",		25, true },
	{ op_hclose,	"close_handle",	20, true },
	{ op_close,	"chan_close",	3, true },
	{ op_names,	"names",	15, true },
	{ op_create,	"create",	12, true },
	{ op_probe,	"probe",	6, true },
	{ op_garbage,	"garbage",	35, true },
	{ op_fork,	"fork",		4, false },
	{ op_unmap_race, "unmap_race",	12, true },
	{ op_selset_ctl, "selset_ctl",	25, true },
	{ op_selset_wait, "selset_wait", 70, true },
	{ op_selset_big, "selset_big",	1, true },
	{ op_timer,	"timer",	10, true },
};
#define NOPS ((int)(sizeof(ops) / sizeof(ops[0])))

static bool op_on(struct fz *z, int i)
{
	return (S->op_mask & (1u << i)) && (!z->kid || ops[i].kid_too);
}

static void one_op(struct fz *z)
{
	unsigned int total = 0, r;
	int i;

	for (i = 0; i < NOPS; i++)
		if (op_on(z, i))
			total += ops[i].weight;
	r = rn(z, total);
	for (i = 0; i < NOPS; i++) {
		if (!op_on(z, i))
			continue;
		if (r < ops[i].weight)
			break;
		r -= ops[i].weight;
	}
	z->opno++;
	if (!z->kid) {
		S->wfd[z->wslot] = -1;
		S->wop[z->wslot] = i;
		S->wprog[z->wslot]++;
	}
	ops[i].fn(z);
	STN(z, sigalrm, n_alrm - z->alrm_seen);
	STN(z, sigstorm, n_storm - z->storm_seen);
	z->alrm_seen = n_alrm;
	z->storm_seen = n_storm;
}

static void fz_setup(struct fz *z)
{
	struct sigaction sa;
	char *p;
	int i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_alrm;	/* no SA_RESTART: bounds "forever" */
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = on_storm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIG_STORM, &sa, NULL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);

	z->dev = open(CHAN_DEVICE, O_RDWR);
	z->ep = epoll_create1(0);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, z->usock))
		z->usock[0] = z->usock[1] = -1;
	z->ro = mmap(NULL, kc_page(), PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	p = mmap(NULL, 3 * kc_page(), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (z->dev < 0 || z->ep < 0 || z->ro == MAP_FAILED || p == MAP_FAILED) {
		fz_fail(z, "setup failed: %s", en(errno));
		_exit(1);
	}
	/* INFO through these must fault on the copy, not fail on the size. */
	*(uint32_t *)z->ro = sizeof(struct chan_info);
	mprotect(z->ro, kc_page(), PROT_READ);
	munmap(p + kc_page(), kc_page());
	z->hole = p + kc_page();
	z->edge = p + kc_page() - 8;
	*(uint32_t *)z->edge = sizeof(struct chan_info);
	z->max_msg = kc_param("max_msg_size", 65536);
	z->max_cap = kc_param("max_capacity", 65536);
	z->max_chan_bytes = kc_param("max_chan_bytes", 16UL << 20);
	z->max_cases = kc_param("max_select_cases", 4096);
	z->max_sel_bytes = kc_param("max_select_bytes", 16UL << 20);
	for (i = 0; i < MAX_SETS; i++)
		ss_reset(&z->ss[i], -1);
}

static void worker_main(int w, int gen, int slot, pid_t parent)
{
	static struct fz zz;
	struct fz *z = &zz;
	int64_t now;
	int i;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	memset(z, 0, sizeof(*z));
	z->wslot = w;
	z->gen = gen;
	z->t = &S->slot[slot];
	z->rs = mix64(S->seed ^ mix64(((uint64_t)w << 32) | (uint32_t)gen)) | 1;
	if (S->users) {
		uid_t uid = FUZZ_UID + w;

		umask(0);
		if (setgroups(0, NULL) || setresgid(uid, uid, uid) ||
		    setresuid(uid, uid, uid)) {
			fz_fail(z, "worker %d: cannot become uid %d: %s", w,
				uid, en(errno));
			_exit(1);
		}
		/* a change of credentials cleared it */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
	}
	fz_setup(z);
	for (i = 0; i < NPOOL; i++)
		adopt(z, S->pool_fd[i], true);
	now = kc_now_ns();
	z->next_kill = now + ms(1000 + rn(z, 10000));
	z->next_stop = now + ms(rn(z, 3000));
	z->next_storm = now + ms(rn(z, 2000));
	while (!S->stop) {
		now = kc_now_ns();
		if (now >= deadline())
			break;
		tick_siblings(z, now);
		tick_storm(z, now);
		one_op(z);
		tick_kids(z);
	}
	_exit(0);
}

/* ---- the test process ------------------------------------------------------ */

static unsigned long long env_ull(const char *name, unsigned long long dflt)
{
	const char *s = getenv(name);
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return dflt;
	v = strtoull(s, &end, 0);
	return *end ? dflt : v;
}

static int fuzz_seconds(void)
{
	unsigned long long s = env_ull("KCHAN_FUZZ_SECONDS", 60);

	return s < 1 ? 1 : s > 86400 ? 86400 : (int)s;
}

/*
 * KCHAN_FUZZ_OPS: a comma-separated list of ops[] names, a name ending in
 * '*' standing for every op it begins ("selset*"); all by default.
 */
static uint32_t op_mask(const char *list)
{
	uint32_t mask = 0;
	size_t len, n;
	bool prefix;
	int i;

	if (!list || !*list)
		return (1u << NOPS) - 1;
	while (*list) {
		len = strcspn(list, ",");
		prefix = len && list[len - 1] == '*';
		n = len - prefix;
		for (i = 0; i < NOPS; i++)
			if ((prefix ? strlen(ops[i].name) >= n :
				      strlen(ops[i].name) == n) &&
			    !strncmp(ops[i].name, list, n))
				mask |= 1u << i;
		list += len + (list[len] == ',');
	}
	return mask;
}

static struct fz parent_z = { .wslot = -1 };

static void spawn_worker(int w)
{
	int slot = alloc_slot(0);
	pid_t me = getpid(), pid;

	if (slot < 0) {
		fz_fail(&parent_z, "out of tally slots: worker %d not respawned", w);
		return;
	}
	S->wgen[w]++;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0)
		worker_main(w, S->wgen[w], slot, me);
	if (pid < 0)
		fz_fail(&parent_z, "fork: %s", en(errno));
	else
		S->wpid[w] = pid;
}

static int worker_of(pid_t pid)
{
	int w;

	for (w = 0; w < S->nprocs; w++)
		if (S->wpid[w] == pid)
			return w;
	return -1;
}

/* Where a process sleeps: wchan and the top of its kernel stack. */
static void where(pid_t pid, int chfd, char *out, size_t sz)
{
	char path[64], buf[512] = "";
	size_t n = 0;
	FILE *f;
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/wchan", pid);
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		r = read(fd, buf, sizeof(buf) - 1);
		buf[r > 0 ? r : 0] = 0;
		close(fd);
	}
	n = snprintf(out, sz, "wchan %s;", buf);
	/* state and signals: pending (thread, process), blocked, caught */
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	while (f && fgets(buf, sizeof(buf), f) && n < sz) {
		if (strncmp(buf, "State:", 6) && strncmp(buf, "SigPnd:", 7) &&
		    strncmp(buf, "ShdPnd:", 7) && strncmp(buf, "SigBlk:", 7) &&
		    strncmp(buf, "SigCgt:", 7))
			continue;
		buf[strcspn(buf, "\n")] = 0;
		n += snprintf(out + n, sz - n, " %s;", buf);
	}
	if (f)
		fclose(f);
	/* the channel fd's flags (O_NONBLOCK) and state */
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, chfd);
	f = chfd >= 0 ? fopen(path, "re") : NULL;
	while (f && fgets(buf, sizeof(buf), f) && n < sz) {
		buf[strcspn(buf, "\n")] = 0;
		n += snprintf(out + n, sz - n, " %s;", buf);
	}
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/stack", pid);
	fd = open(path, O_RDONLY);
	if (fd >= 0 && n < sz) {
		r = read(fd, buf, sizeof(buf) - 1);
		buf[r > 0 ? r : 0] = 0;
		for (r = 0; buf[r]; r++)
			if (buf[r] == '\n')
				buf[r] = ' ';
		snprintf(out + n, sz - n, " stack: %s", buf);
	}
	if (fd >= 0)
		close(fd);
}

/* Reap every child that has ended; respawn workers if asked. */
static int reap_ready(bool respawn, int *respawns)
{
	siginfo_t si;
	int n = 0, st, w;

	for (;;) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) ||
		    !si.si_pid)
			break;
		/* No sibling may see the pid once it can be reused. */
		w = worker_of(si.si_pid);
		if (w >= 0)
			S->wpid[w] = 0;
		if (waitpid(si.si_pid, &st, 0) < 0)
			break;
		n++;
		if (WIFSIGNALED(st) && WTERMSIG(st) != SIGKILL)
			fz_fail(&parent_z, "process %d (worker %d) died of signal %d",
				si.si_pid, w, WTERMSIG(st));
		else if (WIFEXITED(st) && WEXITSTATUS(st))
			fz_fail(&parent_z, "process %d (worker %d) exited %d",
				si.si_pid, w, WEXITSTATUS(st));
		if (w >= 0 && respawn) {
			spawn_worker(w);
			(*respawns)++;
		}
	}
	return n;
}

/* SIGKILL every child of ours (orphans come to us: we are a subreaper). */
static int kill_children(void)
{
	char path[300], buf[512], *p;
	pid_t me = getpid();
	struct dirent *de;
	int n = 0, ppid, fd;
	ssize_t r;
	DIR *d;

	d = opendir("/proc");
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		r = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (r <= 0)
			continue;
		buf[r] = 0;
		p = strrchr(buf, ')');
		if (!p || sscanf(p + 2, "%*c %d", &ppid) != 1 || ppid != me)
			continue;
		kill(atoi(de->d_name), SIGKILL);
		kill(atoi(de->d_name), SIGCONT);
		n++;
	}
	closedir(d);
	return n;
}

static bool have_children(void)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return !(waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 &&
		 errno == ECHILD);
}

static void print_stats(const uint64_t *st)
{
	char line[200];
	int i, n = 0;

	for (i = 0; i < ST_N; i++) {
		n += snprintf(line + n, sizeof(line) - n, " %14s %8llu",
			      st_names[i], (unsigned long long)st[i]);
		if (i % 4 == 3 || i == ST_N - 1) {
			ksft_print_msg("%s\n", line);
			n = 0;
		}
	}
}

static int ours(const struct kline *kl, int n)
{
	int i, k = 0;

	for (i = 0; i < n; i++)
		if (kl[i].id > S->base_id)
			k++;
	return k;
}

/*
 * What a run must have done, scaled to its length: a run that falls short
 * is extended (up to three times its length) before the test gives up.
 * Returns the number of targets missed, listed in why.
 */
static int shortfall(const uint64_t *st, int secs, char *why, size_t sz)
{
	uint64_t t = 2000ULL * (secs < 60 ? secs : 60) / 60;
	struct {
		const char *what;
		uint64_t have, want;
	} tg[] = {
		{ "messages sent", st[ST_send_ok] + st[ST_write_ok] +
		  st[ST_select_send] + st[ST_bsend_msgs] +
		  st[ST_selset_send] + st[ST_call_sent], t },
		{ "messages received", st[ST_recv_ok] + st[ST_read_ok] +
		  st[ST_select_recv] + st[ST_brecv_msgs] +
		  st[ST_selset_recv] + st[ST_call_ok], t },
		{ "selects that moved a message",
		  st[ST_select_send] + st[ST_select_recv], t / 20 },
		{ "select set waits that moved a message",
		  st[ST_selset_send] + st[ST_selset_recv], t / 20 },
		{ "select sets inherited by a child", st[ST_selset_inherit],
		  t / 400 },
		{ "fds sent", st[ST_fd_sent], t / 40 },
		{ "channel fds sent", st[ST_chanfd_sent], t / 200 },
		{ "fds received", st[ST_fd_recv], t / 200 },
		{ "channel fds received", st[ST_chanfd_recv], t / 400 },
		{ "garbage ioctls", st[ST_garbage], t / 20 },
		{ "dups", st[ST_dup_ok], t / 40 },
		{ "children", st[ST_fork], t / 200 },
		{ "siblings killed", st[ST_sibling_killed], secs >= 20 },
		{ "EINTRs", st[ST_eintr], secs >= 20 },
		{ "channels closed", st[ST_close_ok], secs >= 20 },
		{ "receives whose buffer went away", st[ST_unmap_efault],
		  secs >= 20 },
	};
	int i, n = 0, len = 0;

	why[0] = 0;
	if (S->op_mask != (1u << NOPS) - 1)
		return 0;	/* KCHAN_FUZZ_OPS: no targets */
	for (i = 0; i < (int)(sizeof(tg) / sizeof(tg[0])); i++) {
		if (tg[i].have >= tg[i].want)
			continue;
		n++;
		if (len < (int)sz)
			len += snprintf(why + len, sz - len, "%s%s %llu < %llu",
					n > 1 ? ", " : "", tg[i].what,
					(unsigned long long)tg[i].have,
					(unsigned long long)tg[i].want);
	}
	return n;
}

static void sum_stats(uint64_t *st)
{
	int j, i, n = __atomic_load_n(&S->next_slot, __ATOMIC_RELAXED);

	memset(st, 0, ST_N * sizeof(*st));
	for (j = 0; j < n && j < S->max_slots; j++)
		for (i = 0; i < ST_N; i++)
			st[i] += S->slot[j].st[i];
}

#define MAX_KLINES 8192
static struct kline kl[MAX_KLINES];

/* ---- per-user charges (/proc/kchan_users) --------------------------------- */

#define MAX_ULINES 256

struct uline {
	unsigned long uid, v[4];	/* channels bytes staging inflight */
};

/* The rows of /proc/kchan_users (at most @max), or -errno. */
static int read_users(struct uline *out, int max)
{
	char line[256];
	struct uline u;
	FILE *f = fopen("/proc/kchan_users", "r");
	int n = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lu %lu %lu %lu %lu", &u.uid, &u.v[0],
			   &u.v[1], &u.v[2], &u.v[3]) != 5)
			continue;	/* the header */
		if (n < max)
			out[n] = u;
		n++;
	}
	fclose(f);
	return n;
}

/* The row of @uid in @rows, or NULL when it has none (nothing charged). */
static const struct uline *user_row(const struct uline *rows, int n,
				    unsigned long uid)
{
	int i;

	for (i = 0; i < n && i < MAX_ULINES; i++)
		if (rows[i].uid == uid)
			return &rows[i];
	return NULL;
}

/* Users whose counters differ between @a and @b, described in @why. */
static int users_differ(const struct uline *a, int na, const struct uline *b,
			int nb, char *why, size_t sz)
{
	static const unsigned long zero[4];
	const struct uline *x, *y, *r;
	int i, k, n = 0, len = 0;
	const unsigned long *vx, *vy;

	why[0] = 0;
	for (k = 0; k < 2; k++) {
		for (i = 0; i < (k ? nb : na) && i < MAX_ULINES; i++) {
			r = k ? &b[i] : &a[i];
			if (k && user_row(a, na, r->uid))
				continue;	/* compared already */
			x = user_row(a, na, r->uid);
			y = user_row(b, nb, r->uid);
			vx = x ? x->v : zero;
			vy = y ? y->v : zero;
			if (!memcmp(vx, vy, sizeof(zero)))
				continue;
			n++;
			if (len < (int)sz)
				len += snprintf(why + len, sz - len,
						"%suid %lu: %lu %lu %lu %lu -> %lu %lu %lu %lu",
						n > 1 ? "; " : "", r->uid,
						vx[0], vx[1], vx[2], vx[3],
						vy[0], vy[1], vy[2], vy[3]);
		}
	}
	return n;
}

TEST(fuzz)
{
	uint64_t st[ST_N] = {}, us[NPOOL] = {}, ur[NPOOL] = {}, uc[NPOOL] = {};
	uint64_t ss[NPOOL] = {}, sr[NPOOL] = {}, sc[NPOOL] = {};
	int secs = fuzz_seconds(), nprocs, i, j, w, n, base_n, respawns = 0;
	int extended = 0;
	uint64_t seed, last_prog[MAX_PROCS] = {}, drops = 0;
	int64_t now, last_move[MAX_PROCS], end, next_check;
	char name[64], info[2000];
	struct chan_unlink u;
	struct chan_info in;
	int dev, fd, nslots, nu0, nu1;
	static struct uline users0[MAX_ULINES], users1[MAX_ULINES];
	long staging_saved = -1;
	bool users;

	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = kc_now_ns() ^ ((uint64_t)getpid() << 40);
	seed = env_ull("KCHAN_FUZZ_SEED", seed);
	nprocs = env_ull("KCHAN_FUZZ_PROCS", 6);
	if (nprocs < 2)
		nprocs = 2;
	if (nprocs > MAX_PROCS)
		nprocs = MAX_PROCS;
	users = geteuid() == 0 && env_ull("KCHAN_FUZZ_USERS", 1);
	ksft_print_msg("chan_fuzz: seed %#llx, %d s, %d workers%s; replay with KCHAN_FUZZ_SEED=%#llx KCHAN_FUZZ_SECONDS=%d KCHAN_FUZZ_PROCS=%d\n",
		       (unsigned long long)seed, secs, nprocs,
		       users ? " as uids " STR(FUZZ_UID) "+" : " as root",
		       (unsigned long long)seed, secs, nprocs);

	/* A tally per process: a few children per worker and second. */
	nslots = 5 * secs * nprocs + 1024;
	if (nslots > 65536)
		nslots = 65536;
	S = mmap(NULL, sizeof(*S) + nslots * sizeof(struct tally),
		 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, S);
	S->max_slots = nslots;
	S->seed = seed;
	S->nprocs = nprocs;
	S->tag = getpid();
	S->op_mask = op_mask(getenv("KCHAN_FUZZ_OPS"));
	ASSERT_NE(0, S->op_mask) TH_LOG("KCHAN_FUZZ_OPS names no operation");
	S->users = users;
	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1));

	/* What every user holds before: it must be so again at the end. */
	nu0 = read_users(users0, MAX_ULINES);
	if (nu0 < 0)
		ksft_print_msg("chan_fuzz: no /proc/kchan_users (%s): per-user charges not checked\n",
			       en(-nu0));

	/* Baseline: every channel made from now on has a larger id. */
	base_n = read_kchan(NULL, 0);
	ASSERT_LE(0, base_n) TH_LOG("/proc/kchan: %s", en(-base_n));
	fd = kc_create(0, 0);
	ASSERT_LE(0, fd);
	S->base_id = KC_INFO(fd, id);
	close(fd);

	dev = open(CHAN_DEVICE, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dev);
	if (users)
		umask(0);	/* pool names 0666: the workers are other users */
	for (i = 0; i < NPOOL; i++) {
		const struct pool_spec *ps = &pool_specs[i];

		if (ps->named) {
			struct chan_open o = {
				.size = sizeof(o), .oflag = O_RDWR | O_CREAT | O_EXCL,
				.name = (uintptr_t)name,
				.mode = users ? 0666 : 0600,
				.flags = ps->flags, .capacity = ps->cap,
				.msg_size = ps->msg_size,
			};

			pool_name(name, sizeof(name), i);
			fd = ioctl(dev, CHAN_IOC_OPEN, &o);
		} else {
			fd = kc_create_flags(ps->cap, ps->msg_size, ps->flags);
		}
		ASSERT_LE(0, fd) TH_LOG("pool channel %d: %s", i, en(errno));
		ASSERT_EQ(0, kc_info(fd, &in));
		S->pool_fd[i] = fd;
		S->pool_id[i] = in.id;
	}

	/* Restored once the workers are gone, before any ASSERT can return. */
	if (users) {
		staging_saved = kc_param("max_user_staging_bytes", 0);
		if (staging_saved > 0)
			kc_param_set("max_user_staging_bytes", FUZZ_STAGING);
	}

	S->start_ns = kc_now_ns();
	S->deadline_ns = S->start_ns + (int64_t)secs * 1000000000LL;
	for (w = 0; w < nprocs; w++)
		spawn_worker(w);

	/* Supervise: respawn killed workers, watch for hangs. */
	now = kc_now_ns();
	for (w = 0; w < nprocs; w++)
		last_move[w] = now;
	next_check = now;
	for (;;) {
		now = kc_now_ns();
		if (now >= deadline()) {
			sum_stats(st);
			if (!shortfall(st, secs, info, sizeof(info)) ||
			    now >= S->start_ns + 3LL * secs * 1000000000LL)
				break;
			if (!extended++)
				ksft_print_msg("chan_fuzz: extending the run: %s\n",
					       info);
			__atomic_store_n(&S->deadline_ns, now + 2000000000LL,
					 __ATOMIC_RELAXED);
		}
		reap_ready(now < deadline() - 500000000LL, &respawns);
		if (now >= next_check) {
			next_check = now + 1000000000LL;
			for (w = 0; w < nprocs; w++) {
				pid_t pid = S->wpid[w];

				if (S->wprog[w] != last_prog[w] || pid <= 0) {
					last_prog[w] = S->wprog[w];
					last_move[w] = now;
					continue;
				}
				if (now - last_move[w] < STUCK_S * 1000000000LL)
					continue;
				where(pid, S->wfd[w], info, sizeof(info));
				fz_fail(&parent_z, "worker %d (pid %d) made no progress for %d s in %s (timeout %lld%s, fd %d): %s",
					w, pid, STUCK_S, ops[S->wop[w]].name,
					(long long)S->wtmo[w],
					S->wforever[w] ? ", SIGALRM armed" : "",
					S->wfd[w], info);
				kill(pid, SIGKILL);
				last_move[w] = now;
			}
		}
		for (w = 0; w < nprocs; w++)
			if (S->wpid[w] > 0)
				kill(S->wpid[w], SIGCONT);
		/* users: what a worker asked for a sibling (a SIGSTOP lasts
		 * until the SIGCONT above, 20 ms later) */
		for (w = 0; w < nprocs; w++) {
			int sig = __atomic_exchange_n(&S->sig_req[w], 0,
						      __ATOMIC_RELAXED);

			if (sig && S->wpid[w] > 0)
				kill(S->wpid[w], sig);
		}
		kc_sleep_ms(20);
	}

	/* Stop: workers end on their own at the deadline; then SIGKILL. */
	S->stop = 1;
	end = kc_now_ns() + 5000000000LL;
	for (;;) {
		reap_ready(false, &respawns);
		for (n = 0, w = 0; w < nprocs; w++) {
			if (S->wpid[w] > 0)
				kill(S->wpid[w], SIGCONT);	/* a sibling's SIGSTOP */
			n += S->wpid[w] > 0;
		}
		if (!n || kc_now_ns() > end)
			break;
		kc_sleep_ms(10);
	}
	for (w = 0; w < nprocs; w++) {
		if (S->wpid[w] > 0) {
			where(S->wpid[w], -1, info, sizeof(info));
			ksft_print_msg("worker %d did not stop in time (in %s: %s): SIGKILL\n",
				       w, ops[S->wop[w]].name, info);
			kill(S->wpid[w], SIGKILL);
		}
	}
	end = kc_now_ns() + 30000000000LL;
	next_check = 0;
	while (have_children() && kc_now_ns() < end) {
		reap_ready(false, &respawns);
		if (kc_now_ns() > next_check) {
			kill_children();
			next_check = kc_now_ns() + 1000000000LL;
		}
		kc_sleep_ms(10);
	}
	if (have_children())
		fz_fail(&parent_z, "%d processes survive SIGKILL for 30 s",
			kill_children());
	if (staging_saved > 0)
		kc_param_set("max_user_staging_bytes", staging_saved);
	if (nu0 >= 0)
		ksft_print_msg("chan_fuzz: %d users hold charges with the workers gone (names, buffered descriptors)\n",
			       read_users(users1, MAX_ULINES));

	/* Sum what every process counted. */
	nslots = S->next_slot < S->max_slots ? S->next_slot : S->max_slots;
	for (j = 0; j < nslots; j++) {
		struct tally *t = &S->slot[j];

		for (i = 0; i < NPOOL; i++) {
			us[i] += t->sent[i];
			ur[i] += t->recvd[i];
			uc[i] += t->closes[i];
			ss[i] += t->pend_sent[i];
			sr[i] += t->pend_recvd[i];
			sc[i] += t->pend_close[i];
		}
	}
	sum_stats(st);
	ksft_print_msg("chan_fuzz: %d processes ran (%d workers respawned); operations:\n",
		       nslots, respawns);
	print_stats(st);

	/* Every pool channel, with everyone gone. */
	n = read_kchan(kl, MAX_KLINES);
	ASSERT_LE(0, n) TH_LOG("/proc/kchan: %s", en(-n));
	ksft_print_msg("pool   id cap msg_size closed       sent   received  len dropped  ours: sent (+unsure)  received (+unsure) closes\n");
	for (i = 0; i < NPOOL; i++) {
		struct kline *k = NULL;

		for (j = 0; j < n && j < MAX_KLINES; j++)
			if (kl[j].id == S->pool_id[i])
				k = &kl[j];
		ASSERT_NE(NULL, k) TH_LOG("pool %d (id %llu) is not in /proc/kchan",
					  i, (unsigned long long)S->pool_id[i]);
		ksft_print_msg("%4d %4llu %3u %8u %6u %10llu %10llu %4u %7llu %10llu (+%llu) %10llu (+%llu) %llu (+%llu)\n",
			       i, k->id, k->cap, k->msg_size, k->closed,
			       k->sent, k->received, k->len, k->dropped,
			       (unsigned long long)us[i], (unsigned long long)ss[i],
			       (unsigned long long)ur[i], (unsigned long long)sr[i],
			       (unsigned long long)uc[i], (unsigned long long)sc[i]);
		/* received includes the dropped: see op_kchan() */
		EXPECT_EQ(k->sent, k->received + k->len)
			TH_LOG("pool %d: counters do not balance", i);
		EXPECT_LE(k->dropped, k->received) TH_LOG("pool %d: dropped", i);
		drops += k->dropped;
		EXPECT_EQ(0, k->sw) TH_LOG("pool %d: a sender still waits", i);
		EXPECT_EQ(0, k->rw) TH_LOG("pool %d: a receiver still waits", i);
		EXPECT_LE(1, k->sh) TH_LOG("pool %d: send handles", i);
		EXPECT_LE(1, k->rh) TH_LOG("pool %d: recv handles", i);
		EXPECT_LE(us[i], k->sent)
			TH_LOG("pool %d: %llu messages sent, the kernel counts %llu",
			       i, (unsigned long long)us[i], k->sent);
		EXPECT_LE(k->sent, us[i] + ss[i])
			TH_LOG("pool %d: the kernel counts %llu sent, the processes %llu (+%llu unsure)",
			       i, k->sent, (unsigned long long)us[i],
			       (unsigned long long)ss[i]);
		/* nobody counts a dropped message: its receive failed */
		EXPECT_LE(ur[i], k->received - k->dropped)
			TH_LOG("pool %d: %llu messages received, the kernel counts %llu (%llu dropped)",
			       i, (unsigned long long)ur[i], k->received,
			       k->dropped);
		EXPECT_LE(k->received - k->dropped, ur[i] + sr[i])
			TH_LOG("pool %d: the kernel counts %llu received (%llu dropped), the processes %llu (+%llu unsure)",
			       i, k->received, k->dropped,
			       (unsigned long long)ur[i],
			       (unsigned long long)sr[i]);
		EXPECT_GE(1, uc[i]) TH_LOG("pool %d: closed %llu times", i,
					   (unsigned long long)uc[i]);
		if (k->closed) {
			EXPECT_LE(1, uc[i] + sc[i])
				TH_LOG("pool %d: closed, but no CLOSE succeeded", i);
		} else {
			EXPECT_EQ(0, uc[i])
				TH_LOG("pool %d: open, but a CLOSE succeeded", i);
		}
		if (!pool_specs[i].close_pct) {
			EXPECT_EQ(0, k->closed)
				TH_LOG("pool %d was never to be closed", i);
		}
		ASSERT_EQ(0, kc_info(S->pool_fd[i], &in));
		EXPECT_EQ(k->sent, in.sent);
		EXPECT_EQ(k->received, in.received);
		EXPECT_EQ(k->len, in.len);
	}

	/* Violations the processes saw: a few of each kind. */
	n = S->nlogged < MAX_FAILS ? S->nlogged : MAX_FAILS;
	for (i = 0; i < n; i++)
		TH_LOG("%s", S->fails[i]);
	for (i = 0, j = 0; i < MAX_KINDS && S->kinds[i].fmt; i++)
		j++;
	EXPECT_EQ(0, S->nfails) TH_LOG("%d violations of %d kinds (up to %d of each above); seed %#llx",
				      S->nfails, j, PER_KIND,
				      (unsigned long long)seed);

	/* It did real work. */
	EXPECT_EQ(0, shortfall(st, secs, info, sizeof(info)))
		TH_LOG("the run fell short even after %lld s: %s",
		       (long long)((deadline() - S->start_ns) / 1000000000LL),
		       info);
	ksft_print_msg("chan_fuzz: %llu messages dropped by receives whose buffer went away\n",
		       (unsigned long long)drops);

	/* Drop everything: every channel of the run must go. */
	for (i = 0; i < NPOOL; i++)
		close(S->pool_fd[i]);
	memset(&u, 0, sizeof(u));
	u.size = sizeof(u);
	u.name = (uintptr_t)name;
	for (i = 0; i < NPOOL; i++) {
		if (!pool_specs[i].named)
			continue;
		pool_name(name, sizeof(name), i);
		EXPECT_EQ(0, ioc(dev, CHAN_IOC_UNLINK, &u)) TH_LOG("unlink %s", name);
	}
	for (i = 0; i < NSCRATCH; i++) {
		scratch_name(name, sizeof(name), i);
		ioc(dev, CHAN_IOC_UNLINK, &u);
	}
	close(dev);
	end = kc_now_ns() + 10000000000LL;
	do {
		n = read_kchan(kl, MAX_KLINES);
		if (n >= 0 && !ours(kl, n < MAX_KLINES ? n : MAX_KLINES))
			break;
		kc_sleep_ms(50);
	} while (kc_now_ns() < end);
	ASSERT_LE(0, n);
	for (i = 0; i < n && i < MAX_KLINES; i++) {
		if (kl[i].id > S->base_id)
			TH_LOG("left over: channel %llu %s %s cap %u msg_size %u len %u closed %u handles %u/%u",
			       kl[i].id, kl[i].name, kl[i].flags, kl[i].cap,
			       kl[i].msg_size, kl[i].len, kl[i].closed,
			       kl[i].sh, kl[i].rh);
	}
	EXPECT_EQ(0, ours(kl, n < MAX_KLINES ? n : MAX_KLINES));
	/* (others' channels may have gone meanwhile: namespace sweeps) */
	EXPECT_LE(n, base_n) TH_LOG("/proc/kchan had %d channels before, %d now",
				    base_n, n);

	/* Every charge of the run returned, to every user (workers' too). */
	if (nu0 >= 0) {
		end = kc_now_ns() + 10000000000LL;
		do {
			nu1 = read_users(users1, MAX_ULINES);
			if (nu1 >= 0 && !users_differ(users0, nu0, users1, nu1,
						      info, sizeof(info)))
				break;
			kc_sleep_ms(50);
		} while (kc_now_ns() < end);
		ASSERT_LE(0, nu1);
		EXPECT_EQ(0, users_differ(users0, nu0, users1, nu1, info,
					  sizeof(info)))
			TH_LOG("per-user charges (channels bytes staging inflight) not back: %s",
			       info);
		ksft_print_msg("chan_fuzz: per-user charges back to where they were (%d users before, %d now)\n",
			       nu0, nu1);
	}
	ksft_print_msg("chan_fuzz: seed %#llx: %d violations\n",
		       (unsigned long long)seed, S->nfails);
}

/* The harness's limit: the run, extended at most 3x, and the checks. */
static void __attribute__((constructor)) fuzz_timeout(void)
{
	_fuzz_object.timeout = 3 * fuzz_seconds() + 240;
}

TEST_HARNESS_MAIN
