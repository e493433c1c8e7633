// SPDX-License-Identifier: GPL-2.0
/*
 * storm: ordinary (SCHED_OTHER) processes hammering a few shared channels
 * with a mix of sends, receives, selects and timed operations for a fixed
 * wall time; counts the messages that moved, exactly once.
 *
 *   storm [-p PROCS] [-t SECONDS] [-c CHANNELS] [-s SEED] [-v]
 *
 *   -p  worker processes (default 6)
 *   -t  wall time of the storm in seconds (default 5)
 *   -c  channels (default 4): even ones unbuffered, odd ones capacity 16
 *   -s  seed of the workers' choices (default: from the clock, printed)
 *   -v  per-operation counts
 *
 * Every worker picks, at random, one of: a send or a receive with a
 * timeout of 20 µs to 2 ms, a non-blocking send or receive (timeout 0),
 * a select over 2-4 cases (sends and receives on different channels) with
 * timeout 0, 20 µs-2 ms or 5 ms, or a send or receive with a 5 ms
 * timeout. Each message carries its sender and a per-sender sequence
 * number; every receipt sets the message's bit in a table shared by all
 * processes, and a bit found set already is a duplicate. At the end (the
 * workers stop, the parent drains what is buffered) every sender's
 * messages 0..sent-1 must have arrived once each and nothing else.
 *
 * Output, last line (the figure bench/storm-compare reads):
 *
 *   storm: N messages in T s
 *
 * T is the storm's wall time (CLOCK_MONOTONIC in the machine it runs
 * in), N the messages received by the workers in that time plus the few
 * the parent drains. Exit status 1 when the accounting fails.
 */
#define _GNU_SOURCE
#include "chan.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXPROCS	32
#define MAXCHANS	16
#define SEQ_BITS	22		/* messages per sender: 4 Mi */
#define SEQ_MAX		(1ULL << SEQ_BITS)
#define MAGIC		0x53544f52U
#define HANG_S		10		/* a worker not gone 10 s after the end hangs */

enum { OP_SEND, OP_RECV, OP_TRYSEND, OP_TRYRECV, OP_SELECT, OP_SEND_LONG,
       OP_RECV_LONG, NOPS };

static const char *const op_name[NOPS] = {
	"send", "recv", "trysend", "tryrecv", "select", "send5ms", "recv5ms",
};

/* Weights of the operations (out of 100). */
static const int op_weight[NOPS] = { 20, 20, 8, 8, 30, 7, 7 };

struct msg {
	uint32_t magic;
	uint32_t from;
	uint64_t seq;
};

struct worker {
	uint64_t sent, received, calls[NOPS], moved[NOPS];
	uint64_t timeouts, eagain;
	uint64_t late;			/* calls that overran their timeout by 10 ms */
	uint64_t worst_ns;		/* longest overrun of a call's timeout */
	int worst_op;
	int cur_op;			/* the call in progress, -1 between calls */
	int64_t cur_timeout;		/* its timeout */
	uint64_t cur_t0;		/* when it started */
	char why[256];
};

struct shared {
	volatile int stop;
	struct worker w[MAXPROCS + 1];	/* [nprocs] is the parent's drain */
};

static struct shared *sh;
static uint64_t *seen;			/* [MAXPROCS][SEQ_MAX / 64] bits */
static int chans[MAXCHANS], nchans = 4, nprocs = 6;
static const char *prog = "storm";

static void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

static uint64_t rnd_state;

static uint32_t rnd(void)
{
	uint64_t x = rnd_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rnd_state = x;
	return (uint32_t)(x >> 32);
}

static uint32_t below(uint32_t n)
{
	return rnd() % n;
}

/* 20 µs .. 2 ms */
static int64_t short_timeout(void)
{
	return 20000 + (int64_t)below(1980) * 1000;
}

static struct worker *me;
static int me_idx;
static int64_t timeout_now;		/* of the current call (the largest) */

static void set_timeout(int64_t t)
{
	timeout_now = t;
	me->cur_timeout = t;
}

static int __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	if (!me->why[0]) {
		va_start(ap, fmt);
		vsnprintf(me->why, sizeof(me->why), fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* A call that did not move anything: count ETIMEDOUT/EAGAIN, else fail. */
static int not_moved(const char *what)
{
	if (errno == ETIMEDOUT) {
		me->timeouts++;
		return 0;
	}
	if (errno == EAGAIN) {
		me->eagain++;
		return 0;
	}
	return fail("%s: %s", what, strerror(errno));
}

/* A message arrived: check it, set its bit; -1 on a bad or duplicate one. */
static int got(const struct msg *m, size_t len)
{
	uint64_t bit, old;

	if (len != sizeof(*m) || m->magic != MAGIC || m->from >= (uint32_t)nprocs ||
	    m->seq >= SEQ_MAX)
		return fail("malformed message (len %zu, from %u, seq %llu)",
			    len, m->from, (unsigned long long)m->seq);
	bit = 1ULL << (m->seq % 64);
	old = __atomic_fetch_or(&seen[m->from * (SEQ_MAX / 64) + m->seq / 64],
				bit, __ATOMIC_RELAXED);
	if (old & bit)
		return fail("message %u/%llu delivered twice", m->from,
			    (unsigned long long)m->seq);
	me->received++;
	return 0;
}

static void make_msg(struct msg *m)
{
	m->magic = MAGIC;
	m->from = me_idx;
	m->seq = me->sent;
}

/* One send of the next message; returns 1 moved, 0 not, -1 error. */
static int do_send(int ch, int64_t timeout)
{
	struct msg m;

	make_msg(&m);
	set_timeout(timeout);
	if (chan_send_timeout(ch, &m, sizeof(m), timeout) == 0) {
		me->sent++;
		return 1;
	}
	return not_moved("send");
}

static int do_recv(int ch, int64_t timeout)
{
	struct msg m;
	bool ok;
	ssize_t n;

	set_timeout(timeout);
	n = chan_recv_timeout(ch, &m, sizeof(m), &ok, timeout);
	if (n >= 0 && ok)
		return got(&m, (size_t)n) ? -1 : 1;
	if (n >= 0)
		return fail("recv: the channel is closed");
	return not_moved("recv");
}

static int do_select(void)
{
	struct chan_case c[4];
	struct msg out, in[4];
	int used[MAXCHANS] = { 0 };
	int n = 2 + (int)below(3), i, k, r;
	int64_t t;

	if (n > nchans)
		n = nchans;
	make_msg(&out);
	for (i = 0; i < n; i++) {
		do
			k = (int)below((uint32_t)nchans);
		while (used[k]);
		used[k] = 1;
		c[i].ch = chans[k];
		c[i].op = below(2) ? CHAN_SEND : CHAN_RECV;
		c[i].buf = c[i].op == CHAN_SEND ? (void *)&out : (void *)&in[i];
		c[i].len = sizeof(struct msg);
		c[i].ok = false;
	}
	k = (int)below(8);
	t = k < 2 ? 0 : k < 7 ? short_timeout() : 5000000;
	set_timeout(t);
	r = chan_select(c, (size_t)n, t);
	if (r < 0)
		return not_moved("select");
	if (r >= n || !c[r].ok)
		return fail("select: case %d of %d fired with ok %d", r, n,
			    r < n ? c[r].ok : -1);
	if (c[r].op == CHAN_SEND) {
		me->sent++;
		return 1;
	}
	return got(&in[r], c[r].len) ? -1 : 1;
}

static int worker(int idx, uint64_t seed)
{
	uint64_t t0, over;
	int op, w, r;

	me = &sh->w[idx];
	me_idx = idx;
	me->cur_op = -1;
	rnd_state = seed * 6364136223846793005ULL + (uint64_t)(idx + 1) * 1442695040888963407ULL;
	if (!rnd_state)
		rnd_state = 1;
	while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		if (me->sent >= SEQ_MAX - 1)
			return fail("more than %llu messages", SEQ_MAX);
		w = (int)below(100);
		for (op = 0; op < NOPS - 1 && w >= op_weight[op]; op++)
			w -= op_weight[op];
		me->calls[op]++;
		t0 = now_ns();
		me->cur_t0 = t0;
		__atomic_store_n(&me->cur_op, op, __ATOMIC_RELEASE);
		switch (op) {
		case OP_SEND:
			r = do_send(chans[below((uint32_t)nchans)], short_timeout());
			break;
		case OP_RECV:
			r = do_recv(chans[below((uint32_t)nchans)], short_timeout());
			break;
		case OP_TRYSEND:
			r = do_send(chans[below((uint32_t)nchans)], 0);
			break;
		case OP_TRYRECV:
			r = do_recv(chans[below((uint32_t)nchans)], 0);
			break;
		case OP_SELECT:
			r = do_select();
			break;
		case OP_SEND_LONG:
			r = do_send(chans[below((uint32_t)nchans)], 5000000);
			break;
		default:
			r = do_recv(chans[below((uint32_t)nchans)], 5000000);
			break;
		}
		__atomic_store_n(&me->cur_op, -1, __ATOMIC_RELEASE);
		if (r < 0)
			return 1;
		me->moved[op] += (uint64_t)r;
		/* How far past its timeout did the call return? */
		over = now_ns() - t0;
		over = over > (uint64_t)timeout_now ? over - (uint64_t)timeout_now : 0;
		if (over > me->worst_ns) {
			me->worst_ns = over;
			me->worst_op = op;
		}
		if (over > 10000000)
			me->late++;
	}
	return 0;
}

/* The first lines of /proc/PID/stack on one line, or why not. */
static void print_stack(pid_t pid)
{
	char path[64], buf[2048];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stack", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	for (char *p = buf; *p; p++)
		if (*p == '\n' && p[1])
			*p = '<';
	fprintf(stderr, "%s:   kernel stack: %s", prog, buf);
}

/*
 * Reap the workers, waiting at most hang_s seconds: a worker still there
 * then is stuck in a call that should have timed out long ago. It is
 * reported (its call, for how long, its kernel stack) and killed.
 * Returns 1 if a worker failed or hung.
 */
static int reap(const pid_t *pids, int hang_s)
{
	uint64_t end = now_ns() + (uint64_t)hang_s * 1000000000ull;
	int i, st, left, bad = 0, done[MAXPROCS] = { 0 };
	struct timespec nap = { 0, 20000000 };

	for (;;) {
		left = 0;
		for (i = 0; i < nprocs; i++) {
			if (done[i])
				continue;
			if (waitpid(pids[i], &st, WNOHANG) != pids[i]) {
				left++;
				continue;
			}
			done[i] = 1;
			if (!WIFEXITED(st) || WEXITSTATUS(st)) {
				fprintf(stderr, "%s: worker %d failed: %s\n", prog, i,
					sh->w[i].why[0] ? sh->w[i].why : "killed");
				bad = 1;
			}
		}
		if (!left)
			return bad;
		if (now_ns() > end)
			break;
		nanosleep(&nap, NULL);
	}
	for (i = 0; i < nprocs; i++) {
		const struct worker *w = &sh->w[i];
		int op = __atomic_load_n(&w->cur_op, __ATOMIC_ACQUIRE);

		if (done[i])
			continue;
		fprintf(stderr, "%s: HUNG: worker %d (pid %d) still in %s (timeout %lld ns) for %.1f s, %d s after the storm ended\n",
			prog, i, pids[i], op >= 0 && op < NOPS ? op_name[op] : "no call",
			(long long)w->cur_timeout,
			(double)(now_ns() - w->cur_t0) / 1e9, hang_s);
		print_stack(pids[i]);
	}
	for (i = 0; i < nprocs; i++)
		if (!done[i])
			kill(pids[i], SIGKILL);
	for (i = 0; i < nprocs; i++)
		if (!done[i])
			waitpid(pids[i], &st, 0);
	return 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: storm [-p PROCS] [-t SECONDS] [-c CHANNELS] [-s SEED] [-v]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sched_param sp = { .sched_priority = 0 };
	uint64_t seed = 0, t0, t1, total_sent = 0, total_recv = 0, bad = 0;
	uint64_t calls[NOPS] = { 0 }, moved[NOPS] = { 0 }, timeouts = 0, eagain = 0;
	uint64_t late = 0, worst = 0;
	int worst_op = 0;
	double seconds = 5;
	pid_t pids[MAXPROCS];
	int opt, i, verbose = 0, failed = 0;
	struct timespec ts;

	while ((opt = getopt(argc, argv, "p:t:c:s:v")) != -1) {
		switch (opt) {
		case 'p': nprocs = atoi(optarg); break;
		case 't': seconds = atof(optarg); break;
		case 'c': nchans = atoi(optarg); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'v': verbose = 1; break;
		default: usage();
		}
	}
	if (optind != argc || nprocs < 2 || nprocs > MAXPROCS || nchans < 2 ||
	    nchans > MAXCHANS || !(seconds > 0))
		usage();
	if (!seed)
		seed = now_ns() ^ ((uint64_t)getpid() << 32);

	/* Ordinary processes, whatever we were started as. */
	if (sched_setscheduler(0, SCHED_OTHER, &sp))
		die("sched_setscheduler(SCHED_OTHER)");
	sh = shared_alloc(sizeof(*sh));
	seen = shared_alloc((size_t)MAXPROCS * (SEQ_MAX / 8));
	for (i = 0; i < nchans; i++) {
		chans[i] = chan_make(sizeof(struct msg), i % 2 ? 16 : 0, CHAN_CLOEXEC);
		if (chans[i] < 0)
			die("chan_make");
	}
	printf("storm: %d processes, %d channels (even unbuffered, odd capacity 16), %.1f s, seed %#llx\n",
	       nprocs, nchans, seconds, (unsigned long long)seed);
	fflush(stdout);

	t0 = now_ns();
	for (i = 0; i < nprocs; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork");
		if (pids[i] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			_exit(worker(i, seed));
		}
	}
	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
	t1 = now_ns();
	/* Every call has a timeout of 5 ms at most: all gone within seconds. */
	failed = reap(pids, HANG_S);

	/* What is still buffered was sent: drain it into the table. */
	me = &sh->w[nprocs];
	me_idx = nprocs;
	for (i = 0; i < nchans; i++) {
		struct msg m;
		bool ok;
		ssize_t n;

		while ((n = chan_tryrecv(chans[i], &m, sizeof(m), &ok)) >= 0 && ok)
			if (got(&m, (size_t)n))
				break;
		if (me->why[0]) {
			fprintf(stderr, "%s: drain: %s\n", prog, me->why);
			failed = 1;
			break;
		}
	}

	for (i = 0; i <= nprocs; i++) {
		int k;

		total_recv += sh->w[i].received;
		late += sh->w[i].late;
		if (sh->w[i].worst_ns > worst) {
			worst = sh->w[i].worst_ns;
			worst_op = sh->w[i].worst_op;
		}
		timeouts += sh->w[i].timeouts;
		eagain += sh->w[i].eagain;
		for (k = 0; k < NOPS; k++) {
			calls[k] += sh->w[i].calls[k];
			moved[k] += sh->w[i].moved[k];
		}
		if (i == nprocs)
			break;
		total_sent += sh->w[i].sent;
		/* Bits 0..sent-1 set, none beyond. */
		{
			const uint64_t *b = &seen[(size_t)i * (SEQ_MAX / 64)];
			uint64_t s, n = sh->w[i].sent, miss = 0, extra = 0;

			for (s = 0; s < SEQ_MAX; s += 64) {
				uint64_t want = s + 64 <= n ? ~0ULL :
					s >= n ? 0 : (1ULL << (n - s)) - 1;
				uint64_t got_bits = b[s / 64];

				miss += (uint64_t)__builtin_popcountll(want & ~got_bits);
				extra += (uint64_t)__builtin_popcountll(got_bits & ~want);
			}
			if (miss || extra) {
				fprintf(stderr, "%s: worker %d: %llu sent, %llu never arrived, %llu arrived but were not sent\n",
					prog, i, (unsigned long long)n,
					(unsigned long long)miss, (unsigned long long)extra);
				bad++;
			}
		}
	}
	if (total_sent != total_recv) {
		fprintf(stderr, "%s: %llu sent, %llu received\n", prog,
			(unsigned long long)total_sent, (unsigned long long)total_recv);
		bad++;
	}
	if (verbose) {
		for (i = 0; i < NOPS; i++)
			printf("storm: %-8s %10llu calls %10llu moved\n", op_name[i],
			       (unsigned long long)calls[i], (unsigned long long)moved[i]);
		printf("storm: %llu timed out, %llu EAGAIN, %llu drained at the end\n",
		       (unsigned long long)timeouts, (unsigned long long)eagain,
		       (unsigned long long)sh->w[nprocs].received);
	}
	printf("storm: %llu calls returned over 10 ms past their timeout; worst %.1f ms past (%s)\n",
	       (unsigned long long)late, worst / 1e6, op_name[worst_op]);
	printf("storm: exactly-once %s (%llu sent, %llu received)\n",
	       bad || failed ? "FAILED" : "ok", (unsigned long long)total_sent,
	       (unsigned long long)total_recv);
	printf("storm: %llu messages in %.2f s\n", (unsigned long long)total_recv,
	       (double)(t1 - t0) / 1e9);
	return bad || failed ? 1 : 0;
}
