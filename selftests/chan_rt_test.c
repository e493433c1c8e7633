// SPDX-License-Identifier: GPL-2.0
/*
 * SCHED_FIFO processes of different priorities against each other on one
 * CPU (the PREEMPT_RT issue).
 *
 * On PREEMPT_RT a spinlock_t sleeps and its holder can be preempted. A
 * module whose select commit protocol spins on a waiter's state word while
 * a partner holds it BUSY then livelocks when the partner is preempted by
 * the spinner: a receiver at SCHED_FIFO 20 whose timeout fires while a
 * sender at FIFO 10 is completing it spins on CPU 0 for ever, and the
 * sender never runs again. Every test here builds such a pairing (all
 * workers pinned to one CPU, each at its own SCHED_FIFO priority, every
 * call racing a short timeout, a close or a select of another priority)
 * and checks exactly-once delivery and every call's documented result.
 *
 * The test process is the watchdog: it runs at SCHED_FIFO 90, above every
 * worker, so it runs even while a worker spins, and sleeps in 20 ms steps
 * checking a progress counter in shared memory that every worker bumps
 * after each call returns. When no call returns for 5 s it reports a
 * stall: each worker's current call, how long it has been in it, its
 * counts, its scheduler state, CPU time and kernel stack. Then it sets
 * every worker to SCHED_OTHER (a spinner then shares the CPU with the
 * preempted holder, which finishes, so the spin ends), SIGKILLs them and
 * fails. RT throttling (kernel.sched_rt_runtime_us) is switched on for
 * the test if it was off: it leaves 5% of the CPU to SCHED_OTHER tasks,
 * which keeps the rest of the guest alive during a stall.
 *
 * Work is counted (20,000 attempts, 8,000 selects, 400 rounds) and capped
 * at 12 s, so that a slow kernel (KASAN, PREEMPT_RT under emulation) ends
 * in time; less than a tenth of the count fails (the close tests: fewer
 * than CL_MIN_ROUNDS rounds, see there).
 *
 * Each test says how it fails in the comment above it. Every test fails
 * on a stall, on a worker's failed check (the first one is printed), or
 * when it runs over its time budget. New kernel log lines (for example
 * "sched: RT throttling activated") are printed at the end of each test.
 *
 * Without the right to use SCHED_FIFO (EPERM) every test is skipped.
 */
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/utsname.h>

#include "kchan_test.h"

#define RT_WATCHDOG_PRIO	90
#define RT_STALL_MS		5000	/* no call returned for this long: stall */
#define RT_STEP_MS		20	/* the watchdog's sleep */
#define RT_WORK_MS		12000	/* workers stop starting work after this */
#define RT_BUDGET_MS		45000	/* a test taking longer fails */
#define RT_REAP_MS		10000	/* killed workers must be gone by then */
#define RT_CHILD_ALARM		60	/* a worker's own life limit (s) */
#define RT_TIMEOUT_S		90	/* the harness's limit per test */

#define RT_MAXW			5
#define RT_SEQ_MAX		(1U << 18)	/* messages per sender */
#define RT_MAGIC		0x6b52547aU
#define RT_NOROUND		(-1)

/* ---- what a worker is doing, for the stall report ------------------------ */

enum rt_op { OP_NONE, OP_SEND, OP_RECV, OP_SELECT, OP_CLOSE, OP_NAP, OP_START };

static const char *const rt_op_name[] = {
	[OP_NONE] = "between calls", [OP_SEND] = "CHAN_IOC_SEND",
	[OP_RECV] = "CHAN_IOC_RECV", [OP_SELECT] = "CHAN_IOC_SELECT",
	[OP_CLOSE] = "CHAN_IOC_CLOSE", [OP_NAP] = "nanosleep",
	[OP_START] = "starting",
};

struct rt_worker {
	char name[24];
	int prio;		/* SCHED_FIFO priority */
	pid_t pid;
	int op;			/* enum rt_op now */
	int chan;		/* tag of the channel(s) of that call */
	int round;		/* close test: the round it works on */
	int64_t timeout;	/* of that call */
	int64_t since;		/* when it started (kc_now_ns) */
	uint64_t calls;		/* calls returned */
	uint64_t sent, received, timeouts, eagain, closed, raced;
	char why[320];		/* first failed check */
};

/* Every message: who sent it, on which channel, its sender's sequence. */
struct rt_msg {
	uint32_t magic;
	uint16_t from;		/* worker index */
	uint16_t tag;		/* channel tag */
	uint64_t seq;		/* per sender, counts successful sends */
};

struct rt_shared {
	uint64_t progress;		/* bumped after every call */
	int64_t t0;			/* go */
	int closing[2], closed[2];	/* close test: last round closing / closed */
	int last_round;			/* close test: the closer's last round */
	uint64_t done;			/* attempts or rounds the workers did */
	struct rt_worker w[RT_MAXW];
	uint8_t seen[RT_MAXW][RT_SEQ_MAX];	/* deliveries per message */
};

static struct rt_shared *sh;
static struct rt_worker *me;		/* in a worker: its slot */
static int me_idx;

/*
 * Work is counted (20,000 attempts, 400 rounds) but also capped in time,
 * so that a slow kernel (KASAN, PREEMPT_RT under emulation) ends too; a
 * test still demands a tenth of the count (close tests: CL_MIN_ROUNDS).
 */
static bool out_of_time(void)
{
	return kc_now_ns() - sh->t0 > (int64_t)RT_WORK_MS * 1000000;
}

static void op_begin(int op, int chan, int64_t timeout)
{
	me->chan = chan;
	me->timeout = timeout;
	me->since = kc_now_ns();
	__atomic_store_n(&me->op, op, __ATOMIC_RELEASE);
}

static void op_end(void)
{
	__atomic_store_n(&me->op, OP_NONE, __ATOMIC_RELEASE);
	me->calls++;
	__atomic_fetch_add(&sh->progress, 1, __ATOMIC_RELEASE);
}

/* Record a worker's first failed check; returns KC_FAIL. */
static int __attribute__((format(printf, 1, 2))) wfail(const char *fmt, ...)
{
	va_list ap;

	if (me->why[0])
		return KC_FAIL;
	va_start(ap, fmt);
	vsnprintf(me->why, sizeof(me->why), fmt, ap);
	va_end(ap);
	return KC_FAIL;
}

static const char *err_name(int r)
{
	static char buf[32];

	switch (r) {
	case 0:			return "0";
	case 1:			return "1 (message)";
	case -EAGAIN:		return "EAGAIN";
	case -ETIMEDOUT:	return "ETIMEDOUT";
	case -EPIPE:		return "EPIPE";
	case -EINTR:		return "EINTR";
	case -EPROTO:		return "EPROTO (test's check)";
	}
	snprintf(buf, sizeof(buf), "%d (%s)", r, strerror(r < 0 ? -r : r));
	return buf;
}

/* Timeouts cycle through 20, 40, ..., 200 µs. */
static int64_t cycle_us(uint64_t i)
{
	return (int64_t)(20 + (i % 10) * 20) * 1000;
}

/* An ETIMEDOUT must come after the whole timeout. */
static int check_elapsed(int64_t t0, int64_t timeout, const char *what)
{
	int64_t el = kc_now_ns() - t0;

	if (timeout > 0 && el < timeout)
		return wfail("%s: ETIMEDOUT after %lld ns, timeout %lld ns",
			     what, (long long)el, (long long)timeout);
	return KC_OK;
}

static void msg_make(struct rt_msg *m, int tag)
{
	m->magic = RT_MAGIC;
	m->from = me_idx;
	m->tag = tag;
	m->seq = me->sent;
}

/*
 * A message arrived on the channel tagged tag: check it and count its
 * delivery. *order (if not NULL) is the next sequence expected from a
 * single sender in order.
 */
static int msg_got(const struct rt_msg *m, size_t len, int tag,
		   uint64_t *order, const char *what)
{
	uint8_t n;

	if (len != sizeof(*m) || m->magic != RT_MAGIC || m->from >= RT_MAXW ||
	    m->seq >= RT_SEQ_MAX)
		return wfail("%s: bad message (len %zu, magic %#x, from %u, seq %llu)",
			     what, len, m->magic, m->from,
			     (unsigned long long)m->seq);
	if (m->tag != tag)
		return wfail("%s: message of channel %u arrived on channel %d (from %s, seq %llu)",
			     what, m->tag, tag, sh->w[m->from].name,
			     (unsigned long long)m->seq);
	if (order && m->seq != *order)
		return wfail("%s: got seq %llu from %s, expected %llu (%s)",
			     what, (unsigned long long)m->seq,
			     sh->w[m->from].name, (unsigned long long)*order,
			     m->seq < *order ? "duplicate" : "one lost");
	n = __atomic_fetch_add(&sh->seen[m->from][m->seq], 1, __ATOMIC_RELAXED);
	if (n)
		return wfail("%s: message %llu from %s delivered twice",
			     what, (unsigned long long)m->seq,
			     sh->w[m->from].name);
	if (order)
		(*order)++;
	me->received++;
	return KC_OK;
}

/* A send of the message made by msg_make() succeeded. */
static int msg_sent(const char *what)
{
	if (++me->sent >= RT_SEQ_MAX)
		return wfail("%s: more than %u messages, raise RT_SEQ_MAX",
			     what, RT_SEQ_MAX);
	return KC_OK;
}

/*
 * A select case. The uapi header is growing a case_size field and renaming
 * the case struct to chan_select_case; build against either.
 */
#ifdef CHAN_SELECT_CASE_SIZE_VER0
typedef struct chan_select_case rt_case;
#else
typedef struct chan_case rt_case;
#endif

/* CHAN_IOC_SELECT on /dev/chan: the index or -errno (-EPROTO if index
 * and return value disagree).
 */
static int rt_select(rt_case *c, unsigned int n, int64_t timeout_ns)
{
	struct chan_select s;
	int r;

	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.cases = (uintptr_t)c;
	s.ncases = n;
	s.timeout_ns = timeout_ns;
	s.index = 12345;
#ifdef CHAN_SELECT_CASE_SIZE_VER0
	s.case_size = sizeof(rt_case);
#endif
	r = ioctl(kc_devfd(), CHAN_IOC_SELECT, &s);
	if (r < 0)
		return (errno == EAGAIN || errno == ETIMEDOUT) && s.index != -1 ?
			-EPROTO : -errno;
	return r == s.index ? r : -EPROTO;
}

#define OK_UNTOUCHED	7	/* a case's ok before the call */

static void set_case(rt_case *c, int fd, unsigned int op, void *buf,
		     size_t len)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->op = op;
	c->buf = (uintptr_t)buf;
	c->len = len;
	c->ok = OK_UNTOUCHED;
}

/* Only the case that fired may have been written. */
static int check_cases(const rt_case *c, unsigned int n, int fired,
		       const char *what)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if ((int)i == fired) {
			if (c[i].ok > 1)
				return wfail("%s: case %u fired with ok %u",
					     what, i, c[i].ok);
		} else if (c[i].ok != OK_UNTOUCHED) {
			return wfail("%s: case %u did not fire (%d did) but its ok was written",
				     what, i, fired);
		}
	}
	return KC_OK;
}

/* ---- the fixture: SCHED_FIFO watchdog, RT throttling, kernel log --------- */

FIXTURE(rt) {
	char skip[200];
	int cpu;		/* where every worker runs */
	int nw;
	int gate[2];		/* workers wait for its EOF */
	int kmsg;		/* /dev/kmsg, at the end of the log */
	long rt_runtime_saved;	/* to restore, or LONG_MIN */
	int policy_saved;
	struct sched_param param_saved;
};

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = LONG_MIN;

	if (!f)
		return LONG_MIN;
	if (fscanf(f, "%ld", &v) != 1)
		v = LONG_MIN;
	fclose(f);
	return v;
}

static int write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	int r;

	if (!f)
		return -errno;
	r = fprintf(f, "%ld\n", v) < 0 ? -EIO : 0;
	if (fclose(f))
		r = -errno;
	return r;
}

#define RT_RUNTIME	"/proc/sys/kernel/sched_rt_runtime_us"
#define RT_PERIOD	"/proc/sys/kernel/sched_rt_period_us"

static int kernel_is_rt(void)
{
	struct utsname u;

	if (read_long("/sys/kernel/realtime") == 1)
		return 1;
	return !uname(&u) && strstr(u.version, "PREEMPT_RT") != NULL;
}

FIXTURE_SETUP(rt)
{
	struct sched_param sp = { .sched_priority = RT_WATCHDOG_PRIO };
	long runtime, period;
	struct utsname u;
	cpu_set_t set;
	int i;

	self->rt_runtime_saved = LONG_MIN;
	self->policy_saved = sched_getscheduler(0);
	sched_getparam(0, &self->param_saved);
	self->kmsg = -1;
	self->gate[0] = self->gate[1] = -1;

	sh = kc_shared(sizeof(*sh));
	ASSERT_NE(NULL, sh);

	ASSERT_EQ(0, sched_getaffinity(0, sizeof(set), &set));
	self->cpu = -1;
	for (i = 0; i < CPU_SETSIZE && self->cpu < 0; i++)
		if (CPU_ISSET(i, &set))
			self->cpu = i;
	ASSERT_LE(0, self->cpu);

	/* Children start as SCHED_OTHER and set their own priority. */
	if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp)) {
		ASSERT_EQ(EPERM, errno);
		snprintf(self->skip, sizeof(self->skip),
			 "cannot use SCHED_FIFO (sched_setscheduler: EPERM; needs root or CAP_SYS_NICE, RLIMIT_RTPRIO, rt runtime in the cgroup)");
		return;
	}

	/* RT throttling on, so that a spinning FIFO task leaves 5% to others. */
	runtime = read_long(RT_RUNTIME);
	period = read_long(RT_PERIOD);
	if (runtime == -1 && period > 0) {
		if (!write_long(RT_RUNTIME, period / 100 * 95))
			self->rt_runtime_saved = runtime;
		runtime = read_long(RT_RUNTIME);
	}

	self->kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (self->kmsg >= 0)
		lseek(self->kmsg, 0, SEEK_END);

	uname(&u);
	ksft_print_msg("kernel %s (%s), %ld CPUs online, workers on CPU %d, watchdog at SCHED_FIFO %d, sched_rt_runtime_us %ld of %ld%s\n",
		       u.release, kernel_is_rt() ? "PREEMPT_RT" : "not PREEMPT_RT",
		       sysconf(_SC_NPROCESSORS_ONLN), self->cpu,
		       RT_WATCHDOG_PRIO, runtime, period,
		       self->rt_runtime_saved != LONG_MIN ? " (was -1: set for the test)" : "");
	ASSERT_EQ(0, pipe2(self->gate, O_CLOEXEC));
}

/* Print the kernel log lines that appeared during the test. */
static void print_kmsg(int fd)
{
	char rec[1024], *msg, *nl;
	int lines = 0;
	ssize_t n;

	if (fd < 0)
		return;
	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on */
		if (n <= 0)
			break;
		rec[n] = 0;
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		msg++;
		nl = strchr(msg, '\n');
		if (nl)
			*nl = 0;
		if (lines++ < 40)
			ksft_print_msg("kernel: %s\n", msg);
	}
	if (lines > 40)
		ksft_print_msg("kernel: (%d more lines)\n", lines - 40);
}

FIXTURE_TEARDOWN(rt)
{
	int i;

	for (i = 0; i < self->nw; i++) {
		if (sh->w[i].pid > 0) {
			kill(sh->w[i].pid, SIGKILL);
			kc_reap(sh->w[i].pid);
			sh->w[i].pid = 0;
		}
	}
	sched_setscheduler(0, self->policy_saved, &self->param_saved);
	if (self->rt_runtime_saved != LONG_MIN)
		write_long(RT_RUNTIME, self->rt_runtime_saved);
	print_kmsg(self->kmsg);
	if (self->kmsg >= 0)
		close(self->kmsg);
}

#define RT_BEGIN() do {							\
	if (self->skip[0])						\
		SKIP(return, "%s", self->skip);				\
} while (0)

/*
 * Start worker idx: pinned to self->cpu at SCHED_FIFO prio, it waits for
 * the gate to open, then runs fn and exits with its result.
 */
static void rt_spawn(struct __test_metadata *_metadata,
		     FIXTURE_DATA(rt) *self, const char *name, int prio,
		     int (*fn)(void *), void *arg)
{
	struct sched_param sp = { .sched_priority = prio };
	int idx = self->nw;
	struct rt_worker *w;
	cpu_set_t set;
	pid_t pid;
	char c;

	ASSERT_GT(RT_MAXW, idx);
	w = &sh->w[idx];
	snprintf(w->name, sizeof(w->name), "%s", name);
	w->prio = prio;
	w->op = OP_START;
	w->round = RT_NOROUND;
	pid = kc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		me = w;
		me_idx = idx;
		alarm(RT_CHILD_ALARM);
		close(self->gate[1]);
		CPU_ZERO(&set);
		CPU_SET(self->cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			_exit(wfail("sched_setaffinity(CPU %d): %s", self->cpu,
				    strerror(errno)));
		if (sched_setscheduler(0, SCHED_FIFO, &sp))
			_exit(wfail("sched_setscheduler(SCHED_FIFO %d): %s",
				    prio, strerror(errno)));
		while (read(self->gate[0], &c, 1) < 0 && errno == EINTR)
			;
		me->op = OP_NONE;
		_exit(fn(arg));
	}
	w->pid = pid;
	self->nw++;
}

/* /proc/PID/stat: state and CPU time (ms); 0 or -1. */
static int proc_stat(pid_t pid, char *state, long *cpu_ms)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strrchr(buf, ')');
	/* ") S ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime" */
	if (!p || sscanf(p + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			 state, &ut, &st) != 3)
		return -1;
	*cpu_ms = (long)((ut + st) * 1000 / sysconf(_SC_CLK_TCK));
	return 0;
}

/* The first lines of /proc/PID/stack, joined with " < ". */
static void proc_stack(pid_t pid, char *out, size_t size)
{
	char path[64], buf[2048], *line, *save, *sym;
	size_t used = 0;
	ssize_t n;
	int fd, k = 0;

	out[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/stack", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		snprintf(out, size, "(no stack: %s)", strerror(errno));
		return;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		snprintf(out, size, "(empty stack: running)");
		return;
	}
	buf[n] = 0;
	for (line = strtok_r(buf, "\n", &save); line && k < 6;
	     line = strtok_r(NULL, "\n", &save), k++) {
		sym = strchr(line, ']');
		sym = sym ? sym + 2 : line;
		used += snprintf(out + used, size - used, "%s%s",
				 k ? " < " : "", sym);
		if (used >= size)
			break;
	}
}

static void describe_op(const struct rt_worker *w, int64_t now, char *out,
			size_t size)
{
	int op = __atomic_load_n(&w->op, __ATOMIC_ACQUIRE);

	if (op == OP_NONE || op == OP_START) {
		snprintf(out, size, "%s", rt_op_name[op]);
		return;
	}
	snprintf(out, size, "in %s (channel %d, timeout %s%lld us) for %.2f s",
		 rt_op_name[op], w->chan, w->timeout < 0 ? "forever " : "",
		 w->timeout < 0 ? 0LL : (long long)(w->timeout / 1000),
		 (now - w->since) / 1e9);
}

static void print_worker(const struct rt_worker *w)
{
	ksft_print_msg("  %-8s FIFO %2d: %llu calls, %llu sent, %llu received, %llu timed out, %llu EAGAIN, %llu closed/EPIPE (%llu racing a close)\n",
		       w->name, w->prio, (unsigned long long)w->calls,
		       (unsigned long long)w->sent,
		       (unsigned long long)w->received,
		       (unsigned long long)w->timeouts,
		       (unsigned long long)w->eagain,
		       (unsigned long long)w->closed,
		       (unsigned long long)w->raced);
}

/*
 * Get every worker off the CPU for good: SCHED_OTHER first (a worker
 * spinning on a state word a preempted lower-priority worker holds then
 * shares the CPU with it, the holder finishes and the spin ends), then
 * SIGKILL. Returns how many were still alive after RT_REAP_MS.
 */
static int rt_kill_all(FIXTURE_DATA(rt) *self, int64_t *took_ns)
{
	struct sched_param sp = { .sched_priority = 0 };
	int64_t t0 = kc_now_ns(), end = t0 + (int64_t)RT_REAP_MS * 1000000;
	int i, left, st;

	for (i = 0; i < self->nw; i++)
		if (sh->w[i].pid > 0)
			sched_setscheduler(sh->w[i].pid, SCHED_OTHER, &sp);
	for (i = 0; i < self->nw; i++)
		if (sh->w[i].pid > 0)
			kill(sh->w[i].pid, SIGKILL);
	for (;;) {
		left = 0;
		for (i = 0; i < self->nw; i++) {
			if (sh->w[i].pid <= 0)
				continue;
			if (waitpid(sh->w[i].pid, &st, WNOHANG) == sh->w[i].pid)
				sh->w[i].pid = 0;
			else
				left++;
		}
		if (!left || kc_now_ns() > end)
			break;
		kc_sleep_ms(RT_STEP_MS);
	}
	*took_ns = kc_now_ns() - t0;
	return left;
}

/*
 * The stall report: snapshot first (before anything moves), then get the
 * workers off the CPU, then print (the console may need threads a
 * spinning worker starves).
 */
static void rt_stall(FIXTURE_DATA(rt) *self, int64_t idle_ns)
{
	struct rt_worker snap[RT_MAXW];
	char state[RT_MAXW], stack[RT_MAXW][400], op[RT_MAXW][120];
	long cpu[RT_MAXW];
	uint64_t progress = __atomic_load_n(&sh->progress, __ATOMIC_ACQUIRE);
	int64_t now = kc_now_ns(), took;
	int i, left;

	for (i = 0; i < self->nw; i++) {
		snap[i] = sh->w[i];
		describe_op(&sh->w[i], now, op[i], sizeof(op[i]));
		state[i] = '-';
		cpu[i] = -1;
		stack[i][0] = 0;
		if (sh->w[i].pid <= 0)
			continue;
		proc_stat(sh->w[i].pid, &state[i], &cpu[i]);
		proc_stack(sh->w[i].pid, stack[i], sizeof(stack[i]));
	}
	left = rt_kill_all(self, &took);

	ksft_print_msg("STALL: no call returned for %.1f s, %.1f s into the test, after %llu calls\n",
		       idle_ns / 1e9, (now - sh->t0) / 1e9,
		       (unsigned long long)progress);
	for (i = 0; i < self->nw; i++) {
		print_worker(&snap[i]);
		ksft_print_msg("           pid %d, %s, state %c, CPU time %.2f s\n",
			       snap[i].pid, op[i], state[i], cpu[i] / 1e3);
		if (stack[i][0])
			ksft_print_msg("           kernel stack: %s\n", stack[i]);
	}
	ksft_print_msg("STALL: workers set to SCHED_OTHER and SIGKILLed: %s after %.2f s\n",
		       left ? "some still alive" : "all gone", took / 1e9);
}

/*
 * Open the gate and watch: 0 when every worker exited 0; otherwise (a
 * worker failed, a stall, the budget ran out) every worker is killed, the
 * reason printed, and -1 returned.
 */
static int rt_watch(FIXTURE_DATA(rt) *self)
{
	int64_t last_change, now;
	uint64_t last, p;
	int i, st, live, failed = -1;
	int64_t took;

	sh->t0 = kc_now_ns();
	close(self->gate[1]);
	self->gate[1] = -1;
	last = __atomic_load_n(&sh->progress, __ATOMIC_ACQUIRE);
	last_change = sh->t0;
	for (;;) {
		kc_sleep_ms(RT_STEP_MS);
		live = 0;
		for (i = 0; i < self->nw; i++) {
			if (sh->w[i].pid <= 0)
				continue;
			if (waitpid(sh->w[i].pid, &st, WNOHANG) != sh->w[i].pid) {
				live++;
				continue;
			}
			sh->w[i].pid = 0;
			if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0) && failed < 0) {
				failed = i;
				ksft_print_msg("worker %s failed (%s %d): %s\n",
					       sh->w[i].name,
					       WIFEXITED(st) ? "exit" : "signal",
					       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
					       sh->w[i].why[0] ? sh->w[i].why : "(no reason recorded)");
			}
		}
		if (failed >= 0) {
			if (rt_kill_all(self, &took))
				ksft_print_msg("some workers did not die within %d ms\n",
					       RT_REAP_MS);
			for (i = 0; i < self->nw; i++)
				print_worker(&sh->w[i]);
			return -1;
		}
		if (!live)
			return 0;
		now = kc_now_ns();
		p = __atomic_load_n(&sh->progress, __ATOMIC_ACQUIRE);
		if (p != last) {
			last = p;
			last_change = now;
		} else if (now - last_change > (int64_t)RT_STALL_MS * 1000000) {
			rt_stall(self, now - last_change);
			return -1;
		}
		if (now - sh->t0 > (int64_t)RT_BUDGET_MS * 1000000) {
			ksft_print_msg("over budget: still running after %d s (%llu calls)\n",
				       RT_BUDGET_MS / 1000, (unsigned long long)p);
			rt_kill_all(self, &took);
			for (i = 0; i < self->nw; i++)
				print_worker(&sh->w[i]);
			return -1;
		}
	}
}

/*
 * Every message of every sender delivered exactly once: seq 0..sent-1
 * seen once each, nothing beyond. Returns the number of bad entries and
 * prints the first few.
 */
static int check_exactly_once(void)
{
	int i, bad = 0;
	uint32_t s;

	for (i = 0; i < RT_MAXW; i++) {
		for (s = 0; s < RT_SEQ_MAX; s++) {
			uint8_t n = sh->seen[i][s];
			int want = s < sh->w[i].sent;

			if (n == want)
				continue;
			if (bad++ < 5)
				ksft_print_msg("message %u of %s: delivered %u times, %s\n",
					       s, sh->w[i].name, n,
					       want ? "sent once" : "never sent");
		}
	}
	return bad;
}

static void print_summary(const char *what)
{
	int i;

	ksft_print_msg("%s: %.2f s, %llu calls\n", what,
		       (kc_now_ns() - sh->t0) / 1e9,
		       (unsigned long long)sh->progress);
	for (i = 0; i < RT_MAXW && sh->w[i].name[0]; i++)
		print_worker(&sh->w[i]);
}

/* ---- 1. unbuffered ping-pong: the issue's case and its inverse ------------ */

#define PP_ATTEMPTS	20000

struct pp {
	int fd;
	int attempts;
};

/*
 * Timed receiver: PP_ATTEMPTS receives (or what RT_WORK_MS allows) with
 * 20-200 µs timeouts, then close.
 */
static int pp_timed_recv(void *arg)
{
	struct pp *pp = arg;
	uint64_t order = 0;
	struct rt_msg m;
	size_t len = 0;
	int64_t t0, t;
	int i, r;

	for (i = 0; i < pp->attempts && !out_of_time(); i++) {
		t = cycle_us(i);
		op_begin(OP_RECV, 0, t);
		t0 = kc_now_ns();
		r = kc_recv(pp->fd, &m, sizeof(m), &len, t);
		op_end();
		if (r == 1) {
			if (msg_got(&m, len, 0, &order, "recv"))
				return KC_FAIL;
		} else if (r == -ETIMEDOUT) {
			me->timeouts++;
			if (check_elapsed(t0, t, "recv"))
				return KC_FAIL;
		} else {
			return wfail("recv %d (timeout %lld ns): %s, want a message or ETIMEDOUT",
				     i, (long long)t, err_name(r));
		}
	}
	sh->done = i;
	op_begin(OP_CLOSE, 0, 0);
	r = kc_close(pp->fd);
	op_end();
	if (r)
		return wfail("close: %s", err_name(r));
	r = kc_recv(pp->fd, &m, sizeof(m), &len, 0);
	if (r != 0)
		return wfail("recv after close: %s, want closed (ok 0)",
			     err_name(r));
	return KC_OK;
}

/* Blocking sender: sends until the channel is closed (EPIPE). */
static int pp_block_send(void *arg)
{
	struct pp *pp = arg;
	struct rt_msg m;
	int r;

	for (;;) {
		msg_make(&m, 0);
		op_begin(OP_SEND, 0, -1);
		r = kc_send(pp->fd, &m, sizeof(m), -1);
		op_end();
		if (r == -EPIPE) {
			me->closed++;
			return KC_OK;
		}
		if (r)
			return wfail("send: %s, want 0 or EPIPE", err_name(r));
		if (msg_sent("send"))
			return KC_FAIL;
	}
}

/* Timed sender: as the timed receiver, sending. */
static int pp_timed_send(void *arg)
{
	struct pp *pp = arg;
	struct rt_msg m;
	int64_t t0, t;
	int i, r;

	for (i = 0; i < pp->attempts && !out_of_time(); i++) {
		t = cycle_us(i);
		msg_make(&m, 0);
		op_begin(OP_SEND, 0, t);
		t0 = kc_now_ns();
		r = kc_send(pp->fd, &m, sizeof(m), t);
		op_end();
		if (r == 0) {
			if (msg_sent("send"))
				return KC_FAIL;
		} else if (r == -ETIMEDOUT) {
			me->timeouts++;
			if (check_elapsed(t0, t, "send"))
				return KC_FAIL;
		} else {
			return wfail("send %d (timeout %lld ns): %s, want 0 or ETIMEDOUT",
				     i, (long long)t, err_name(r));
		}
	}
	sh->done = i;
	op_begin(OP_CLOSE, 0, 0);
	r = kc_close(pp->fd);
	op_end();
	return r ? wfail("close: %s", err_name(r)) : KC_OK;
}

/* Blocking receiver: receives (in order) until closed. */
static int pp_block_recv(void *arg)
{
	struct pp *pp = arg;
	uint64_t order = 0;
	struct rt_msg m;
	size_t len = 0;
	int r;

	for (;;) {
		op_begin(OP_RECV, 0, -1);
		r = kc_recv(pp->fd, &m, sizeof(m), &len, -1);
		op_end();
		if (r == 0) {
			me->closed++;
			return KC_OK;
		}
		if (r != 1)
			return wfail("recv: %s, want a message or closed",
				     err_name(r));
		if (msg_got(&m, len, 0, &order, "recv"))
			return KC_FAIL;
	}
}

static void run_pingpong(struct __test_metadata *_metadata,
			 FIXTURE_DATA(rt) *self, int timed_prio,
			 int block_prio, bool timed_recv)
{
	struct pp pp = { .attempts = PP_ATTEMPTS };
	struct rt_worker *t, *b;

	pp.fd = kc_create(0, sizeof(struct rt_msg));
	ASSERT_LE(0, pp.fd);
	if (timed_recv) {
		rt_spawn(_metadata, self, "recv", timed_prio, pp_timed_recv, &pp);
		rt_spawn(_metadata, self, "send", block_prio, pp_block_send, &pp);
	} else {
		rt_spawn(_metadata, self, "send", timed_prio, pp_timed_send, &pp);
		rt_spawn(_metadata, self, "recv", block_prio, pp_block_recv, &pp);
	}
	ASSERT_EQ(0, rt_watch(self));
	print_summary(timed_recv ? "timed receiver" : "timed sender");
	t = &sh->w[0];
	b = &sh->w[1];
	/* Enough attempts; each one returned, and one close. */
	EXPECT_LE((uint64_t)PP_ATTEMPTS / 10, sh->done);
	EXPECT_EQ(sh->done + 1, t->calls);
	EXPECT_EQ(1, b->closed);
	/* Each message sent was received once, in order (checked on arrival). */
	if (timed_recv) {
		EXPECT_EQ(b->sent, t->received);
		EXPECT_EQ(sh->done, t->received + t->timeouts);
		EXPECT_LT(0, t->received);
	} else {
		EXPECT_EQ(t->sent, b->received);
		EXPECT_EQ(sh->done, t->sent + t->timeouts);
		EXPECT_LT(0, t->sent);
	}
	EXPECT_EQ(0, check_exactly_once());
	EXPECT_EQ(1, KC_INFO(pp.fd, closed));
	EXPECT_EQ(0, KC_INFO(pp.fd, send_waiters));
	EXPECT_EQ(0, KC_INFO(pp.fd, recv_waiters));
	EXPECT_EQ((long long)(timed_recv ? b->sent : t->sent),
		  KC_INFO(pp.fd, sent));
	EXPECT_EQ(KC_INFO(pp.fd, sent), KC_INFO(pp.fd, received));
	close(pp.fd);
}

/*
 * The issue's case: an unbuffered channel, a receiver at SCHED_FIFO 20
 * doing 20,000 receives (or what 12 s allow) with timeouts cycling
 * 20-200 µs (then closing the channel), a sender at FIFO 10 sending numbered messages in a loop until
 * EPIPE, both on one CPU. Fails on a stall (on a PREEMPT_RT kernel with
 * the spinning protocol the receiver's timeout fires while the preempted
 * sender holds its state BUSY, and the receiver spins for ever), on a
 * message out of order, lost or twice (sequence check on arrival, then
 * the exactly-once table), a send that reports success for a message
 * nobody got (sent != received), an ETIMEDOUT before its timeout, any
 * other result, fewer than 2,000 receives, or counters in INFO that
 * disagree.
 */
TEST_F_TIMEOUT(rt, issue_recv20_timed_send10, RT_TIMEOUT_S)
{
	RT_BEGIN();
	run_pingpong(_metadata, self, 20, 10, true);
}

/*
 * The same with the receiver at FIFO 50, the priority of PREEMPT_RT's
 * interrupt threads: there a spinning receiver starves them too (the
 * issue saw the whole guest hang). The watchdog at FIFO 90 still runs;
 * fails like issue_recv20_timed_send10.
 */
TEST_F_TIMEOUT(rt, issue_recv50_timed_send10, RT_TIMEOUT_S)
{
	RT_BEGIN();
	run_pingpong(_metadata, self, 50, 10, true);
}

/*
 * Inverted: the sender at FIFO 20 with the 20-200 µs timeouts (20,000
 * sends, then close), the receiver at FIFO 10 receiving in a loop until
 * closed. The sender's timeout now fires while the preempted receiver is
 * completing it. Fails like issue_recv20_timed_send10 (a send reported
 * ETIMEDOUT whose message arrived shows as a duplicate sequence number).
 */
TEST_F_TIMEOUT(rt, inverted_send20_timed_recv10, RT_TIMEOUT_S)
{
	RT_BEGIN();
	run_pingpong(_metadata, self, 20, 10, false);
}

/* The inverted case with the sender at FIFO 50. Fails the same way. */
TEST_F_TIMEOUT(rt, inverted_send50_timed_recv10, RT_TIMEOUT_S)
{
	RT_BEGIN();
	run_pingpong(_metadata, self, 50, 10, false);
}

/* ---- 2. select duels ------------------------------------------------------ */

#define DUEL_ATTEMPTS	8000

struct duel {
	int c1, c2;		/* unbuffered; tags 1 and 2 */
	int attempts;
};

/* Timeouts of the duel: mostly 20-200 µs, sometimes 0 (default) or 2 ms. */
static int64_t duel_timeout(uint64_t i)
{
	if (i % 16 == 5)
		return 0;
	if (i % 16 == 11)
		return 2000000;
	return cycle_us(i);
}

/*
 * One select of a duelist: send on sfd (tag stag) or receive on rfd (tag
 * rtag), whichever partner comes first.
 */
static int duel_select(int sfd, int stag, int rfd, int rtag, uint64_t i)
{
	rt_case c[2];
	struct rt_msg out, in;
	int64_t t = duel_timeout(i), t0;
	int r;

	msg_make(&out, stag);
	memset(&in, 0, sizeof(in));
	set_case(&c[0], sfd, CHAN_OP_SEND, &out, sizeof(out));
	set_case(&c[1], rfd, CHAN_OP_RECV, &in, sizeof(in));
	op_begin(OP_SELECT, stag * 10 + rtag, t);
	t0 = kc_now_ns();
	r = rt_select(c, 2, t);
	op_end();
	if (r == 0 || r == 1) {
		if (check_cases(c, 2, r, "select"))
			return KC_FAIL;
		if (c[r].ok != 1)
			return wfail("select: case %d fired closed on an open channel", r);
		if (r == 0)
			return msg_sent("select");
		return msg_got(&in, c[1].len, rtag, NULL, "select");
	}
	if (check_cases(c, 2, -1, "select"))
		return KC_FAIL;
	if (r == -EAGAIN && t == 0) {
		me->eagain++;
		return KC_OK;
	}
	if (r == -ETIMEDOUT && t > 0) {
		me->timeouts++;
		return check_elapsed(t0, t, "select");
	}
	return wfail("select %llu (timeout %lld ns): %s", (unsigned long long)i,
		     (long long)t, err_name(r));
}

/* A: select { send c1, recv c2 }. */
static int duel_a(void *arg)
{
	struct duel *d = arg;
	int i;

	for (i = 0; i < d->attempts && !out_of_time(); i++)
		if (duel_select(d->c1, 1, d->c2, 2, i))
			return KC_FAIL;
	return KC_OK;
}

/* B: select { send c2, recv c1 }: A's mirror. */
static int duel_b(void *arg)
{
	struct duel *d = arg;
	int i;

	for (i = 0; i < d->attempts && !out_of_time(); i++)
		if (duel_select(d->c2, 2, d->c1, 1, i))
			return KC_FAIL;
	return KC_OK;
}

/* C: plain sends and receives on both channels, in turn. */
static int duel_plain(void *arg)
{
	struct duel *d = arg;
	struct rt_msg m;
	size_t len = 0;
	int64_t t, t0;
	int i, r, fd, tag;
	bool send;

	for (i = 0; i < d->attempts && !out_of_time(); i++) {
		send = i % 2 == 0;
		tag = (i / 2) % 2 ? 2 : 1;
		fd = tag == 1 ? d->c1 : d->c2;
		t = duel_timeout(i / 2);
		t0 = kc_now_ns();
		if (send) {
			msg_make(&m, tag);
			op_begin(OP_SEND, tag, t);
			r = kc_send(fd, &m, sizeof(m), t);
		} else {
			op_begin(OP_RECV, tag, t);
			r = kc_recv(fd, &m, sizeof(m), &len, t);
		}
		op_end();
		if (send && r == 0) {
			if (msg_sent("send"))
				return KC_FAIL;
		} else if (!send && r == 1) {
			if (msg_got(&m, len, tag, NULL, "recv"))
				return KC_FAIL;
		} else if (r == -EAGAIN && t == 0) {
			me->eagain++;
		} else if (r == -ETIMEDOUT && t > 0) {
			me->timeouts++;
			if (check_elapsed(t0, t, send ? "send" : "recv"))
				return KC_FAIL;
		} else {
			return wfail("%s on channel %d (timeout %lld ns): %s",
				     send ? "send" : "recv", tag, (long long)t,
				     err_name(r));
		}
	}
	return KC_OK;
}

static void run_duel(struct __test_metadata *_metadata,
		     FIXTURE_DATA(rt) *self, int a_prio, int b_prio,
		     int c_prio)
{
	struct duel d = { .attempts = DUEL_ATTEMPTS };
	uint64_t sent = 0, received = 0, by_select = 0;
	int i;

	d.c1 = kc_create(0, sizeof(struct rt_msg));
	d.c2 = kc_create(0, sizeof(struct rt_msg));
	ASSERT_LE(0, d.c1);
	ASSERT_LE(0, d.c2);
	ASSERT_LE(0, kc_devfd());
	rt_spawn(_metadata, self, "selectA", a_prio, duel_a, &d);
	rt_spawn(_metadata, self, "selectB", b_prio, duel_b, &d);
	rt_spawn(_metadata, self, "plain", c_prio, duel_plain, &d);
	ASSERT_EQ(0, rt_watch(self));
	print_summary("select duel");
	for (i = 0; i < 3; i++) {
		EXPECT_LE((uint64_t)DUEL_ATTEMPTS / 10, sh->w[i].calls);
		EXPECT_GE((uint64_t)DUEL_ATTEMPTS, sh->w[i].calls);
		sent += sh->w[i].sent;
		received += sh->w[i].received;
	}
	by_select = sh->w[0].sent + sh->w[0].received + sh->w[1].sent +
		    sh->w[1].received;
	EXPECT_EQ(sent, received);
	EXPECT_EQ(0, check_exactly_once());
	/* The duel happened: both selects moved messages. */
	EXPECT_LT(0, sh->w[0].sent + sh->w[0].received);
	EXPECT_LT(0, sh->w[1].sent + sh->w[1].received);
	EXPECT_LT(0, by_select);
	EXPECT_EQ((long long)sent, KC_INFO(d.c1, sent) + KC_INFO(d.c2, sent));
	EXPECT_EQ(KC_INFO(d.c1, sent), KC_INFO(d.c1, received));
	EXPECT_EQ(KC_INFO(d.c2, sent), KC_INFO(d.c2, received));
	EXPECT_EQ(0, kc_waiters_sum((int[]){ d.c1, d.c2 }, 2));
	close(d.c1);
	close(d.c2);
}

/*
 * Two selects pairing with each other over two unbuffered channels (A:
 * send c1 or recv c2 at FIFO 30; B: send c2 or recv c1 at FIFO 10), and a
 * plain process at FIFO 20 sending and receiving on both, all with
 * timeouts (20-200 µs, sometimes 0 or 2 ms), 8,000 calls each (at most
 * 12 s of them, at least 800). The middle
 * process can preempt B while B holds A's state BUSY and then spin on it
 * itself, or A's timeout can fire then. Fails on a stall, a message lost
 * or delivered twice (exactly-once table, sent != received), a message
 * on the wrong channel, a select that wrote a case that did not fire or
 * fired a case closed, EAGAIN/ETIMEDOUT when not allowed or early, or
 * INFO counters that disagree.
 */
TEST_F_TIMEOUT(rt, duel_a30_b10_plain20, RT_TIMEOUT_S)
{
	RT_BEGIN();
	run_duel(_metadata, self, 30, 10, 20);
}

/* The same with the select priorities swapped. Fails the same way. */
TEST_F_TIMEOUT(rt, duel_a10_b30_plain20, RT_TIMEOUT_S)
{
	RT_BEGIN();
	run_duel(_metadata, self, 10, 30, 20);
}

/* ---- 3. close and timeout races ------------------------------------------- */

#define CL_ROUNDS	400	/* 800 channels: below RLIMIT_NOFILE's 1024 */
/*
 * Fewest rounds that count as a run. A closer above everyone on the debug
 * kernel under emulation gets only a handful in 12 s (3 to 6 seen with a
 * 100 µs poll): every round must also have met calls in flight (raced).
 */
#define CL_MIN_ROUNDS	4
#define CL_A		0	/* unbuffered channel of a round */
#define CL_B		1	/* buffered (capacity 2) channel of a round */

struct cl {
	int fd[CL_ROUNDS][2];
	int nworkers;		/* the closer waits for these */
	int think_us;		/* workers pause 0..think_us after each call */
	uint32_t rnd;		/* the closer's; workers derive theirs */
};

static uint32_t xorshift(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

static void nap_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * A worker's pause after a call, so that a closer below the workers'
 * priorities gets the CPU at all (not a call: no progress).
 */
static void cl_think(struct cl *cl, uint32_t *rnd)
{
	if (!cl->think_us)
		return;
	__atomic_store_n(&me->op, OP_NAP, __ATOMIC_RELEASE);
	nap_us(xorshift(rnd) % cl->think_us);
	__atomic_store_n(&me->op, OP_NONE, __ATOMIC_RELEASE);
}

static int cl_tag(int round, int which)
{
	return 2 * round + which + 10;
}

/* Timeouts of the close test: 20-200 µs, sometimes for ever or 1 ms. */
static int64_t cl_timeout(uint64_t i)
{
	if (i % 8 == 3)
		return -1;
	if (i % 8 == 6)
		return 1000000;
	return cycle_us(i);
}

/*
 * The last round the closer closes (it decides at the start of a round,
 * before closing it, so a worker that has seen round r closed reads the
 * final value here).
 */
static int cl_last_round(void)
{
	return __atomic_load_n(&sh->last_round, __ATOMIC_ACQUIRE);
}

/* Round r of channel which was closed before now (the closer's mark). */
static bool cl_was_closed(int r, int which)
{
	return __atomic_load_n(&sh->closed[which], __ATOMIC_ACQUIRE) >= r;
}

/* A closed result is allowed once the closer began closing. */
static int cl_check_closing(int r, int which, const char *what)
{
	if (__atomic_load_n(&sh->closing[which], __ATOMIC_ACQUIRE) < r)
		return wfail("%s: round %d channel %c reported closed before anyone closed it",
			     what, r, "AB"[which]);
	return KC_OK;
}

/* Receiver: recv on A and B in turn until both report closed. */
static int cl_recv(void *arg)
{
	struct cl *cl = arg;
	uint32_t rnd = cl->rnd + 0x9e3779b9U * (me_idx + 1);
	struct rt_msg m;
	bool done[2];
	uint64_t i = 0;
	size_t len = 0;
	int64_t t, t0;
	int r, ret, which;
	bool was;

	for (r = 0; r < CL_ROUNDS && r <= cl_last_round(); r++) {
		__atomic_store_n(&me->round, r, __ATOMIC_RELEASE);
		done[0] = done[1] = false;
		while (!done[0] || !done[1]) {
			which = done[0] ? 1 : done[1] ? 0 : (int)(i % 2);
			t = cl_timeout(i++);
			was = cl_was_closed(r, which);
			op_begin(OP_RECV, cl_tag(r, which), t);
			t0 = kc_now_ns();
			ret = kc_recv(cl->fd[r][which], &m, sizeof(m), &len, t);
			op_end();
			cl_think(cl, &rnd);
			if (ret == 1) {
				if (was && which == CL_A)
					return wfail("recv: a message from round %d channel A after it was closed", r);
				if (msg_got(&m, len, cl_tag(r, which), NULL, "recv"))
					return KC_FAIL;
			} else if (ret == 0) {
				if (cl_check_closing(r, which, "recv"))
					return KC_FAIL;
				me->closed++;
				me->raced += !was;
				done[which] = true;
			} else if (ret == -ETIMEDOUT && t > 0) {
				if (was)
					return wfail("recv: ETIMEDOUT on round %d channel %c, closed before the call",
						     r, "AB"[which]);
				me->timeouts++;
				if (check_elapsed(t0, t, "recv"))
					return KC_FAIL;
			} else {
				return wfail("recv on round %d channel %c (timeout %lld ns): %s",
					     r, "AB"[which], (long long)t, err_name(ret));
			}
		}
	}
	__atomic_store_n(&me->round, r, __ATOMIC_RELEASE);
	return KC_OK;
}

/* Sender: send on A and B in turn until both fail EPIPE. */
static int cl_send(void *arg)
{
	struct cl *cl = arg;
	uint32_t rnd = cl->rnd + 0x9e3779b9U * (me_idx + 1);
	struct rt_msg m;
	bool done[2];
	uint64_t i = 0;
	int64_t t, t0;
	int r, ret, which;
	bool was;

	for (r = 0; r < CL_ROUNDS && r <= cl_last_round(); r++) {
		__atomic_store_n(&me->round, r, __ATOMIC_RELEASE);
		done[0] = done[1] = false;
		while (!done[0] || !done[1]) {
			which = done[0] ? 1 : done[1] ? 0 : (int)(i % 2);
			t = cl_timeout(i++);
			was = cl_was_closed(r, which);
			msg_make(&m, cl_tag(r, which));
			op_begin(OP_SEND, cl_tag(r, which), t);
			t0 = kc_now_ns();
			ret = kc_send(cl->fd[r][which], &m, sizeof(m), t);
			op_end();
			cl_think(cl, &rnd);
			if (ret == 0) {
				if (was)
					return wfail("send: round %d channel %c accepted a message after it was closed",
						     r, "AB"[which]);
				if (msg_sent("send"))
					return KC_FAIL;
			} else if (ret == -EPIPE) {
				if (cl_check_closing(r, which, "send"))
					return KC_FAIL;
				me->closed++;
				me->raced += !was;
				done[which] = true;
			} else if (ret == -ETIMEDOUT && t > 0) {
				if (was)
					return wfail("send: ETIMEDOUT on round %d channel %c, closed before the call",
						     r, "AB"[which]);
				me->timeouts++;
				if (check_elapsed(t0, t, "send"))
					return KC_FAIL;
			} else {
				return wfail("send on round %d channel %c (timeout %lld ns): %s",
					     r, "AB"[which], (long long)t, err_name(ret));
			}
		}
	}
	__atomic_store_n(&me->round, r, __ATOMIC_RELEASE);
	return KC_OK;
}

/* Select: { send on A, recv on B } until both cases fired closed. */
static int cl_select(void *arg)
{
	struct cl *cl = arg;
	uint32_t rnd = cl->rnd + 0x9e3779b9U * (me_idx + 1);
	rt_case c[2];
	struct rt_msg out, in;
	bool done[2], was[2];
	uint64_t i = 0;
	int64_t t, t0;
	int r, ret, k;

	for (r = 0; r < CL_ROUNDS && r <= cl_last_round(); r++) {
		__atomic_store_n(&me->round, r, __ATOMIC_RELEASE);
		done[0] = done[1] = false;
		while (!done[0] || !done[1]) {
			t = cl_timeout(i++);
			msg_make(&out, cl_tag(r, CL_A));
			memset(&in, 0, sizeof(in));
			set_case(&c[0], done[0] ? -1 : cl->fd[r][CL_A],
				 CHAN_OP_SEND, &out, sizeof(out));
			set_case(&c[1], done[1] ? -1 : cl->fd[r][CL_B],
				 CHAN_OP_RECV, &in, sizeof(in));
			for (k = 0; k < 2; k++)
				was[k] = !done[k] && cl_was_closed(r, k);
			op_begin(OP_SELECT, cl_tag(r, 0), t);
			t0 = kc_now_ns();
			ret = rt_select(c, 2, t);
			op_end();
			cl_think(cl, &rnd);
			if (ret == 0 || ret == 1) {
				if (check_cases(c, 2, ret, "select"))
					return KC_FAIL;
				if (done[ret])
					return wfail("select: nil case %d fired", ret);
			}
			if (ret == 0 && c[0].ok) {
				if (was[0])
					return wfail("select: send case on round %d channel A fired ok after the close", r);
				if (msg_sent("select"))
					return KC_FAIL;
			} else if (ret == 1 && c[1].ok) {
				if (msg_got(&in, c[1].len, cl_tag(r, CL_B), NULL,
					    "select"))
					return KC_FAIL;
			} else if (ret == 0 || ret == 1) {
				if (cl_check_closing(r, ret, "select"))
					return KC_FAIL;
				me->closed++;
				me->raced += !was[ret];
				done[ret] = true;
			} else if ((ret == -ETIMEDOUT && t > 0) ||
				   (ret == -EAGAIN && t == 0)) {
				if (was[0] || was[1])
					return wfail("select: %s with a case on a channel closed before the call (round %d)",
						     err_name(ret), r);
				if (ret == -EAGAIN)
					return wfail("select: EAGAIN with timeout %lld",
						     (long long)t);
				if (check_cases(c, 2, -1, "select"))
					return KC_FAIL;
				me->timeouts++;
				if (check_elapsed(t0, t, "select"))
					return KC_FAIL;
			} else {
				return wfail("select on round %d (timeout %lld ns): %s",
					     r, (long long)t, err_name(ret));
			}
		}
	}
	__atomic_store_n(&me->round, r, __ATOMIC_RELEASE);
	return KC_OK;
}

static void cl_nap(long us)
{
	op_begin(OP_NAP, -1, us * 1000);
	nap_us(us);
	op_end();
}

/*
 * Closer: for each round, once every worker works on it, wait 0-2 ms,
 * close A, wait 0-300 µs, close B. Marks closing before and closed after
 * each close.
 */
static int cl_closer(void *arg)
{
	struct cl *cl = arg;
	uint32_t rnd = cl->rnd;
	int r, k, which, ret;
	bool all;

	for (r = 0; r < CL_ROUNDS; r++) {
		__atomic_store_n(&me->round, r, __ATOMIC_RELEASE);
		if (r == CL_ROUNDS - 1 || out_of_time())
			__atomic_store_n(&sh->last_round, r, __ATOMIC_RELEASE);
		/* Wait (without counting it as progress) for the workers. */
		op_begin(OP_NAP, -1, 100000);
		for (;;) {
			all = true;
			for (k = 0; k < cl->nworkers; k++)
				if (__atomic_load_n(&sh->w[k].round, __ATOMIC_ACQUIRE) < r)
					all = false;
			if (all)
				break;
			usleep(1000);	/* not 100: above everyone, it starves them */
		}
		__atomic_store_n(&me->op, OP_NONE, __ATOMIC_RELEASE);
		for (which = 0; which < 2; which++) {
			cl_nap(xorshift(&rnd) % (which == CL_A ? 2000 : 300));
			__atomic_store_n(&sh->closing[which], r, __ATOMIC_RELEASE);
			op_begin(OP_CLOSE, cl_tag(r, which), 0);
			ret = kc_close(cl->fd[r][which]);
			op_end();
			if (ret)
				return wfail("close of round %d channel %c: %s",
					     r, "AB"[which], err_name(ret));
			__atomic_store_n(&sh->closed[which], r, __ATOMIC_RELEASE);
			me->closed++;
		}
		if (r == cl_last_round()) {
			r++;
			break;
		}
	}
	sh->done = r;
	__atomic_store_n(&me->round, r, __ATOMIC_RELEASE);
	return KC_OK;
}

static void run_close(struct __test_metadata *_metadata,
		      FIXTURE_DATA(rt) *self, int closer_prio, int recv_prio,
		      int sel_prio, int send_prio, int think_us)
{
	struct cl *cl = kc_shared(sizeof(*cl));
	uint64_t sent = 0, received = 0, raced = 0;
	long long ksent = 0, krecv = 0;
	int r, k, i, rounds;

	ASSERT_NE(NULL, cl);
	ASSERT_LE(0, kc_devfd());
	sh->closing[0] = sh->closing[1] = -1;
	sh->closed[0] = sh->closed[1] = -1;
	for (r = 0; r < CL_ROUNDS; r++) {
		cl->fd[r][CL_A] = kc_create(0, sizeof(struct rt_msg));
		cl->fd[r][CL_B] = kc_create(2, sizeof(struct rt_msg));
		ASSERT_LE(0, cl->fd[r][CL_A]);
		ASSERT_LE(0, cl->fd[r][CL_B]);
	}
	sh->last_round = CL_ROUNDS;
	cl->nworkers = 3;
	cl->think_us = think_us;
	cl->rnd = (uint32_t)kc_now_ns() | 1;
	ksft_print_msg("close test: random seed %#x\n", cl->rnd);
	rt_spawn(_metadata, self, "recv", recv_prio, cl_recv, cl);
	rt_spawn(_metadata, self, "select", sel_prio, cl_select, cl);
	rt_spawn(_metadata, self, "send", send_prio, cl_send, cl);
	rt_spawn(_metadata, self, "closer", closer_prio, cl_closer, cl);
	ASSERT_EQ(0, rt_watch(self));
	print_summary("close races");
	rounds = (int)sh->done;
	EXPECT_LE(CL_MIN_ROUNDS, rounds);
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(rounds, sh->w[i].round);
		sent += sh->w[i].sent;
		received += sh->w[i].received;
		if (i < 3)
			raced += sh->w[i].raced;
	}
	EXPECT_EQ((uint64_t)2 * rounds, sh->w[3].closed);
	/* Each worker saw every channel it uses closed once per round. */
	EXPECT_EQ((uint64_t)2 * rounds, sh->w[0].closed);
	EXPECT_EQ((uint64_t)2 * rounds, sh->w[1].closed);
	EXPECT_EQ((uint64_t)2 * rounds, sh->w[2].closed);
	EXPECT_EQ(sent, received);
	EXPECT_EQ(0, check_exactly_once());
	/* Closes met calls in flight, not only calls that came later. */
	EXPECT_LT(0, raced);
	for (r = 0; r < CL_ROUNDS; r++) {
		for (k = 0; k < 2; k++) {
			int fd = cl->fd[r][k];

			/* Rounds after the last one stayed untouched. */
			EXPECT_EQ(r < rounds, KC_INFO(fd, closed));
			EXPECT_EQ(0, KC_INFO(fd, len));
			EXPECT_EQ(0, KC_INFO(fd, send_waiters));
			EXPECT_EQ(0, KC_INFO(fd, recv_waiters));
			EXPECT_EQ(KC_INFO(fd, sent), KC_INFO(fd, received));
			ksent += KC_INFO(fd, sent);
			krecv += KC_INFO(fd, received);
			close(fd);
		}
	}
	EXPECT_EQ((long long)sent, ksent);
	EXPECT_EQ((long long)received, krecv);
	munmap(cl, sizeof(*cl));
}

/*
 * Close racing blocked calls: 400 rounds of two fresh channels (A
 * unbuffered, B buffered with capacity 2). A closer at FIFO 30 closes
 * each round's A then B at random moments once every worker has reached
 * the round; below it a receiver (FIFO 20: recv on A and B), a select
 * (FIFO 15: send on A or recv on B) and a sender (FIFO 10: send on A and
 * B) call with timeouts of 20-200 µs, 1 ms or for ever until they see the
 * round's channels closed. Fails on a stall; a send that succeeds on a
 * channel closed before the call, an ETIMEDOUT (or EAGAIN) on a channel
 * closed before the call, a closed result before the closer began
 * closing, any result other than the documented ones (message, ok 0,
 * EPIPE, ETIMEDOUT after the timeout); a message lost (buffered messages
 * must be drained before ok 0), duplicated or on the wrong channel; a
 * close that does not return 0; no close that met a call in flight; fewer
 * than CL_MIN_ROUNDS rounds in 12 s; a channel left with waiters, buffered messages or
 * unequal counters, or a round after the last one touched.
 */
TEST_F_TIMEOUT(rt, close_closer30_recv20_select15_send10, RT_TIMEOUT_S)
{
	RT_BEGIN();
	run_close(_metadata, self, 30, 20, 15, 10, 0);
}

/* Inverted: the sender above the select above the receiver. Same checks. */
TEST_F_TIMEOUT(rt, close_closer30_send20_select15_recv10, RT_TIMEOUT_S)
{
	RT_BEGIN();
	run_close(_metadata, self, 30, 10, 15, 20, 0);
}

/*
 * The closer below everyone (FIFO 5): a worker whose timeout fires while
 * the closer is failing it preempts the closer. The workers pause up to
 * 250 µs after each call, or the closer would never run. Same checks.
 */
TEST_F_TIMEOUT(rt, close_closer5_recv20_select15_send10, RT_TIMEOUT_S)
{
	RT_BEGIN();
	run_close(_metadata, self, 5, 20, 15, 10, 250);
}

TEST_HARNESS_MAIN
