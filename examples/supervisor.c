// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * supervisor: workers that crash are detected and restarted, and a
 * readers-writer lock built from channels survives their crashes.
 *
 * The supervisor starts NR readers and NWR writers. Each worker process
 * reports its exit on its own done channel, of which it holds the only
 * send handle: a worker that finishes sends a report and exits; a worker
 * that crashes (SIGKILL, abort(), an exit without a report) never sends,
 * and the kernel closes the channel when its last sender dies, so the
 * supervisor's receive sees "closed" instead of a report: crash-close is
 * the crash detector, with no timeout and no polling of pids. The crashed
 * worker is restarted (a new incarnation, with fresh channels).
 *
 * The resource the workers share is guarded by a readers-writer lock that
 * exists only as channels, with the supervisor as its monitor (like Go's
 * sync.RWMutex: readers share, a writer excludes everyone, waiters are
 * served in order):
 *
 *	lock <- req{RLOCK or WLOCK, me}; <-grant[me]	// acquire
 *	... use the resource ...
 *	lock <- req{UNLOCK, me}				// release
 *
 *	for {	// the supervisor
 *		select {
 *		case r := <-lock:	queue, grant or release
 *		case rep, ok := <-done[i]:
 *			if !ok { release what worker i held or waited for; restart it }
 *		}
 *	}
 *
 * A worker killed while holding the lock, or while its request waits in
 * the queue, or with a grant sitting unread in its one-slot grant channel,
 * loses it all when its crash is seen, so the lock is never held by the
 * dead. Crashes are random (the seed is printed; KCHAN_EXAMPLE_SEED=N
 * repeats a run): at a random operation and point (before acquiring,
 * waiting for the grant, holding the lock, after releasing), by a random
 * means; a reader and a writer always crash while holding the lock.
 *
 * Invariant, checked by the workers in shared memory (for checking only)
 * while they hold the lock: a writer is alone, readers only share with
 * readers, and readers did share; every worker finishes its operations,
 * however many times it was restarted; never do all the live workers
 * wait in the queue at once (the lock would be held by the dead: a
 * deadlock), nor does the supervisor go STALL_MS without an event.
 * KCHAN_EXAMPLE_BREAK=1 grants the write lock without waiting
 * for the readers to leave; =2 forgets to release the lock of a crashed
 * worker.
 */
#include "common.h"

#include <sys/resource.h>

const char *prog = "supervisor";

#define NR		4	/* readers: slots 0..NR-1 */
#define NWR		2	/* writers: slots NR..NW-1 */
#define NW		(NR + NWR)
#define OPS		8	/* lock/unlock cycles per worker */
#define HOLD_MS		10
#define STALL_MS	30000	/* no event at all: something is stuck */

enum { RLOCK = 1, WLOCK, UNLOCK };

struct lockreq {		/* on the lock channel */
	int32_t op;
	int32_t slot;
	int32_t inc;		/* incarnation: requests of the dead are stale */
};

struct report {			/* on a done channel */
	int32_t slot;
	int32_t inc;
	int32_t ops;
};

enum { NO_CRASH, BEFORE_ACQUIRE, WAITING, HOLDING, AFTER_RELEASE, NPOINTS };
enum { BY_SIGKILL, BY_ABORT, BY_EXIT, NHOW };

static const char *const point_name[NPOINTS] = {
	"", "before acquiring", "waiting for its grant", "holding the lock",
	"after releasing",
};

struct slot {
	pid_t pid;
	int inc;
	int grant[2];		/* supervisor -> worker, one slot */
	int done[2];		/* worker -> supervisor, one slot */
	int holding, wanting;	/* 0, RLOCK or WLOCK */
	bool finished;
	int crash_op, crash_point, crash_how;	/* this incarnation's fate */
};

struct shm {			/* for checking only */
	int state[NW];		/* 0, RLOCK or WLOCK: who is inside now */
	int violations, max_readers, reads, writes;
};

static struct slot slots[NW];
static struct shm *shm;
static int lock[2], cur;

static bool is_writer(int s)
{
	return s >= NR;
}

static const char *who(int s)
{
	static char buf[32];

	snprintf(buf, sizeof(buf), "%s %d", is_writer(s) ? "writer" : "reader",
		 is_writer(s) ? s - NR : s);
	return buf;
}

/* ---- the workers ---- */

static void maybe_crash(const struct slot *w, int op, int point)
{
	if (w->crash_op != op || w->crash_point != point)
		return;
	switch (w->crash_how) {
	case BY_SIGKILL:
		raise(SIGKILL);
		break;
	case BY_ABORT:
		abort();
	default:
		_exit(3);	/* gone without a report */
	}
}

/* Inside the lock: check who else is, for the invariant. */
static void check_inside(int s, int mode)
{
	int readers = 0;

	for (int j = 0; j < NW; j++) {
		int other = __atomic_load_n(&shm->state[j], __ATOMIC_SEQ_CST);

		if (other == RLOCK)
			readers++;
		if (j == s || !other)
			continue;
		if (mode == WLOCK || other == WLOCK) {
			if (__atomic_add_fetch(&shm->violations, 1, __ATOMIC_SEQ_CST) > 3)
				continue;	/* the first three say enough */
			printf("VIOLATION: %s inside with ", who(s));
			printf("%s holding the %s lock\n", who(j),
			       other == WLOCK ? "write" : "read");
		}
	}
	int m = __atomic_load_n(&shm->max_readers, __ATOMIC_SEQ_CST);

	while (readers > m &&
	       !__atomic_compare_exchange_n(&shm->max_readers, &m, readers, false,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		;
}

static int worker(void *arg)
{
	const struct slot *w = &slots[cur];
	int s = cur, mode = is_writer(cur) ? WLOCK : RLOCK;
	struct rlimit nocore = { 0, 0 };
	struct report rep = { s, w->inc, 0 };
	bool ok;

	(void)arg;
	setrlimit(RLIMIT_CORE, &nocore);	/* abort() without a core file */
	close(lock[0]);
	for (int j = 0; j < NW; j++) {	/* the supervisor's ends are not ours */
		if (slots[j].grant[1] >= 0)
			close(slots[j].grant[1]);
		if (slots[j].done[0] >= 0)
			close(slots[j].done[0]);
	}
	for (int op = 0; op < OPS; op++) {
		struct lockreq rq = { mode, s, w->inc };
		int32_t g;

		maybe_crash(w, op, BEFORE_ACQUIRE);
		CHECK(chan_send(lock[1], &rq, sizeof(rq)));
		maybe_crash(w, op, WAITING);
		CHECK(chan_recv(w->grant[0], &g, sizeof(g), &ok));
		if (!ok)
			_exit(2);	/* the supervisor is gone */
		EXPECT(g == w->inc, "%s: bad grant", who(s));

		__atomic_store_n(&shm->state[s], mode, __ATOMIC_SEQ_CST);
		check_inside(s, mode);
		sleep_ms(HOLD_MS);	/* use the resource */
		check_inside(s, mode);
		maybe_crash(w, op, HOLDING);
		__atomic_add_fetch(mode == WLOCK ? &shm->writes : &shm->reads, 1,
				   __ATOMIC_SEQ_CST);
		__atomic_store_n(&shm->state[s], 0, __ATOMIC_SEQ_CST);

		rq.op = UNLOCK;
		CHECK(chan_send(lock[1], &rq, sizeof(rq)));
		maybe_crash(w, op, AFTER_RELEASE);
		rep.ops++;
	}
	CHECK(chan_send(w->done[1], &rep, sizeof(rep)));	/* one slot: never blocks */
	return 0;
}

/* ---- the supervisor ---- */

static uint64_t rng;
static int bug;
static int queue[NW], qlen;	/* waiting requests, in order */
static int readers, writer = -1;
static int crashes, crashes_holding, restarts;
static int active = NW;		/* workers not finished */
static char dead_holder[64];	/* bug 2: who took the lock to the grave */

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static void start(int s)
{
	struct slot *w = &slots[s];

	CHECK(chan_pipe(w->grant, sizeof(int32_t), 1, CHAN_CLOEXEC));
	CHECK(chan_pipe(w->done, sizeof(struct report), 1, CHAN_CLOEXEC));
	w->holding = w->wanting = 0;
	/* Its fate: the first incarnation crashes three times in four (one
	 * reader and one writer always, holding the lock), the second one
	 * time in three, later ones never. */
	w->crash_point = NO_CRASH;
	if ((w->inc == 0 && (rnd(4) || s == 0 || s == NR)) ||
	    (w->inc == 1 && !rnd(3))) {
		w->crash_op = rnd(OPS);
		w->crash_point = 1 + rnd(NPOINTS - 1);
		w->crash_how = rnd(NHOW);
		if (w->inc == 0 && (s == 0 || s == NR))
			w->crash_point = HOLDING;
	}
	cur = s;
	w->pid = spawn(worker, NULL);
	close(w->grant[0]);
	close(w->done[1]);
}

static void grant(int s)
{
	struct slot *w = &slots[s];
	int32_t g = w->inc;

	w->holding = w->wanting;
	w->wanting = 0;
	if (w->holding == RLOCK)
		readers++;
	else
		writer = s;
	/* One outstanding request per worker: the slot is free. EPIPE: it
	 * died; its crash is on the way and will release the lock. */
	if (chan_trysend(w->grant[1], &g, sizeof(g)) < 0)
		EXPECT(errno == EPIPE, "grant to %s: %s", who(s), strerror(errno));
}

/* Serve the queue in order: readers together, a writer alone. */
static void try_grant(void)
{
	while (qlen > 0) {
		int s = queue[0];

		if (writer >= 0)
			break;
		if (slots[s].wanting == WLOCK && readers > 0 && bug != 1)
			break;
		memmove(queue, queue + 1, --qlen * sizeof(queue[0]));
		grant(s);
	}
}

static void release(int s)
{
	struct slot *w = &slots[s];

	if (w->holding == RLOCK)
		readers--;
	else if (w->holding == WLOCK)
		writer = -1;
	w->holding = 0;
}

static void on_lock(const struct lockreq *rq)
{
	struct slot *w;

	EXPECT(rq->slot >= 0 && rq->slot < NW, "bad lock request");
	w = &slots[rq->slot];
	if (rq->inc != w->inc || w->finished)
		return;		/* from a worker already buried */
	if (rq->op == UNLOCK) {
		EXPECT(w->holding, "%s unlocks what it does not hold", who(rq->slot));
		release(rq->slot);
	} else {
		EXPECT(!w->holding && !w->wanting, "%s locks twice", who(rq->slot));
		w->wanting = rq->op;
		queue[qlen++] = rq->slot;
	}
	try_grant();
}

static const char *how(int st)
{
	static char buf[32];

	if (st == 128 + SIGKILL)
		return "SIGKILL";
	if (st == 128 + SIGABRT)
		return "abort";
	snprintf(buf, sizeof(buf), "exit %d, no report", st);
	return buf;
}

static void forget(int s)	/* close the supervisor's ends of a slot */
{
	close(slots[s].grant[1]);
	close(slots[s].done[0]);
	slots[s].grant[1] = slots[s].done[0] = -1;
}

static void on_crash(int s)
{
	struct slot *w = &slots[s];
	int st = reap(w->pid);
	const char *what = w->holding == WLOCK ? "released the write lock" :
			   w->holding == RLOCK ? "released its read lock" :
			   w->wanting ? "dropped its request from the queue" :
			   "it held nothing";

	EXPECT(st != 0, "%s exited 0 without a report", who(s));
	crashes++;
	crashes_holding += w->holding != 0;
	if (bug == 2 && (w->holding || w->wanting))
		what = "left its lock and request as they were (bug 2)";
	if (bug == 2 && w->holding)
		snprintf(dead_holder, sizeof(dead_holder), "%s, incarnation %d (dead)",
			 who(s), w->inc);
	printf("supervisor: %s (pid %d, incarnation %d) crashed (%s) %s: %s",
	       who(s), (int)w->pid, w->inc, how(st), point_name[w->crash_point],
	       what);
	if (bug != 2) {	/* the dead hold nothing */
		for (int i = 0; i < qlen; i++)
			if (queue[i] == s) {
				memmove(queue + i, queue + i + 1,
					(qlen - i - 1) * sizeof(queue[0]));
				qlen--;
				break;
			}
		release(s);
		w->wanting = 0;
	}
	/* (for checking: a dead worker is not inside) */
	__atomic_store_n(&shm->state[s], 0, __ATOMIC_SEQ_CST);
	forget(s);
	w->inc++;
	restarts++;
	start(s);
	printf("; restarted as incarnation %d\n", w->inc);
	try_grant();
}

static void stalled(void)
{
	if (qlen == active)
		printf("supervisor: all %d live workers wait for the lock, held by %s; waiting:",
		       qlen, *dead_holder ? dead_holder : "?");
	else
		printf("supervisor: no event for %d ms: %d readers and %s inside, %d waiting:",
		       STALL_MS, readers, writer >= 0 ? who(writer) : "no writer", qlen);
	for (int i = 0; i < qlen; i++)
		printf(" %s", who(queue[i]));
	printf("\n");
	die("deadlock: nobody can take the lock");
}

int main(void)
{
	static const char *const bugs[] = {
		"the write lock is granted without waiting for the readers to leave",
		"the lock of a crashed worker is never released",
	};
	const char *seed_env = getenv("KCHAN_EXAMPLE_SEED");
	struct report reps[NW];
	struct lockreq rq;

	watchdog(120);
	setvbuf(stdout, NULL, _IOLBF, 0);
	bug = break_choose(bugs, 2);
	rng = seed_env && *seed_env ? strtoull(seed_env, NULL, 0) : (uint64_t)now_ns();
	rng = rng ? rng : 1;
	printf("supervisor: %d readers, %d writers, %d lock cycles each; crash seed %llu (KCHAN_EXAMPLE_SEED)\n",
	       NR, NWR, OPS, (unsigned long long)rng);
	shm = shared_alloc(sizeof(*shm));
	CHECK(chan_pipe(lock, sizeof(struct lockreq), 0, CHAN_CLOEXEC));
	for (int s = 0; s < NW; s++)
		slots[s].grant[1] = slots[s].done[0] = -1;
	for (int s = 0; s < NW; s++)
		start(s);

	while (active > 0) {
		struct chan_case cases[1 + NW];

		/* Every live worker waits in the queue: the lock is held, and
		 * not by the living. Nothing can ever happen again. */
		if (qlen == active)
			stalled();

		cases[0] = (struct chan_case){ .ch = lock[0], .op = CHAN_RECV,
					       .buf = &rq, .len = sizeof(rq) };
		for (int s = 0; s < NW; s++)
			cases[1 + s] = (struct chan_case){
				.ch = slots[s].finished ? -1 : slots[s].done[0],
				.op = CHAN_RECV, .buf = &reps[s], .len = sizeof(reps[s]) };
		int i = chan_select(cases, 1 + NW, MS(STALL_MS));

		if (i < 0 && errno == ETIMEDOUT)
			stalled();
		CHECK(i);
		if (i == 0) {
			EXPECT(cases[0].ok && cases[0].len == sizeof(rq), "lock channel");
			on_lock(&rq);
			continue;
		}
		int s = i - 1;

		if (!cases[i].ok) {	/* closed, no report: a crash */
			on_crash(s);
			continue;
		}
		EXPECT(reps[s].slot == s && reps[s].inc == slots[s].inc &&
		       reps[s].ops == OPS, "%s: bad report", who(s));
		EXPECT(!slots[s].holding && !slots[s].wanting,
		       "%s finished holding the lock", who(s));
		EXPECT(reap(slots[s].pid) == 0, "%s reported, then failed", who(s));
		slots[s].finished = true;
		forget(s);
		active--;
		printf("supervisor: %s finished its %d cycles (incarnation %d)\n",
		       who(s), OPS, slots[s].inc);
	}
	EXPECT(readers == 0 && writer < 0 && qlen == 0, "lock not free at the end");
	printf("%d crashes (%d holding the lock) detected by crash-close, %d restarts; every worker finished\n",
	       crashes, crashes_holding, restarts);
	printf("%d reads and %d writes; up to %d readers shared the resource; %d violations\n",
	       shm->reads, shm->writes, shm->max_readers, shm->violations);
	EXPECT(shm->violations == 0, "%d times a writer was not alone", shm->violations);
	EXPECT(crashes_holding > 0, "no crash while holding the lock");
	EXPECT(shm->max_readers >= 2, "readers never shared the resource");
	printf("supervisor: ok\n");
	return 0;
}
