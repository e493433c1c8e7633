// SPDX-License-Identifier: GPL-2.0
/*
 * A multi-user machine (issue 13): /dev/chan is mode 0666, so every local
 * user can make the kernel hold memory and files for them. One test per
 * attack of the issue, each run as unprivileged users (fork, setgroups(0),
 * setresgid/setresuid to a uid of its own, as `setpriv --reuid --regid
 * --clear-groups` does) from a test process that is root:
 *
 *  1. slots: the per-slot arrays of a channel (lengths, descriptors) and
 *     the channel itself count against max_user_bytes, and an idle channel
 *     has a minimum charge, so names cannot pin memory for free;
 *  2. staging: what blocked operations hold (selects, sends, receives,
 *     batches, select set waits, select set case tables) counts against
 *     max_user_staging_bytes (ENOBUFS past it);
 *  3. namespace files may not travel in a message, so a named channel
 *     cannot hold its own IPC namespace (and with it the module) forever;
 *  4. descriptors in flight are charged to the user who sent them, so one
 *     user cannot use up another's quota;
 * plus the per-user usage an admin reads in /proc/kchan_users.
 *
 * Tests print MemAvailable and Slab before and after (in MB), and restore
 * every module parameter they set.
 */
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>

#include "kchan_test.h"

#define USERS_FILE	"/proc/kchan_users"

/* The documented defaults (chan(7)), for a module that lacks a parameter. */
#define DFLT_USER_STAGING	(64L << 20)

/* ---- helpers ---------------------------------------------------------------- */

/* Become @uid/@gid with no supplementary groups and no capabilities. */
static int drop_to(uid_t uid)
{
	if (setgroups(0, NULL) || setresgid(uid, uid, uid) ||
	    setresuid(uid, uid, uid))
		return -1;
	return 0;
}

/* A /proc/meminfo field in kB, or -1. */
static long meminfo_kb(const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = strtol(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

struct mem {
	long avail_mb, slab_mb;
};

static struct mem mem_now(void)
{
	struct mem m;

	/* let deferred frees (RCU, vfree) settle a little */
	usleep(200000);
	m.avail_mb = meminfo_kb("MemAvailable") / 1024;
	m.slab_mb = meminfo_kb("Slab") / 1024;
	return m;
}

/* /dev/chan opened before a chroot (see ns_child()), or -1. */
static int sec_devfd = -1;

static int sec_dev(void)
{
	if (sec_devfd >= 0)
		return fcntl(sec_devfd, F_DUPFD_CLOEXEC, 0);
	return open(CHAN_DEVICE, O_RDWR | O_CLOEXEC);
}

/* CHAN_IOC_OPEN / CHAN_IOC_UNLINK through sec_devfd when there is one. */
static int sec_open(const char *name, int oflag, unsigned int mode,
		    unsigned int flags, unsigned int cap, unsigned int msg_size)
{
	return kc_name_open(sec_devfd, name, oflag, mode, flags, cap,
			    msg_size);
}

static int sec_unlink(const char *name)
{
	return kc_name_unlink(sec_devfd, name);
}

/* Names carry the test process's pid (children too), so runs never collide. */
static pid_t name_pid;

static const char *sec_name(const char *what, int i)
{
	static char buf[64];

	if (!name_pid)
		name_pid = getpid();
	snprintf(buf, sizeof(buf), "sec-%s-%d.%d", what, i, name_pid);
	return buf;
}

/* One user's row of /proc/kchan_users. */
struct usage {
	long channels, bytes, staging, inflight;
};

/*
 * The row of @uid in /proc/kchan_users: 1 found, 0 no row (nothing
 * charged), -errno when the file cannot be read.
 */
static int usage_of(uid_t uid, struct usage *u)
{
	char line[256];
	unsigned long id;
	int found = 0;
	FILE *f = fopen(USERS_FILE, "r");

	memset(u, 0, sizeof(*u));
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lu %ld %ld %ld %ld", &id, &u->channels,
			   &u->bytes, &u->staging, &u->inflight) == 5 &&
		    id == uid) {
			found = 1;
			break;
		}
	}
	fclose(f);
	if (!found)
		memset(u, 0, sizeof(*u));
	return found;
}

/* Wait (at most 5 s) until @uid has no row: every charge returned. */
static int usage_gone(uid_t uid, struct usage *u)
{
	int i, r = 0;

	for (i = 0; i < 500; i++) {
		r = usage_of(uid, u);
		if (r <= 0)
			return r;
		usleep(10000);
	}
	return r;
}

static int batch(int c, bool send, struct chan_iovec *v, unsigned int n,
		 int64_t timeout_ns)
{
	struct chan_batch b;
	int r;

	memset(&b, 0, sizeof(b));
	b.size = sizeof(b);
	b.msgs = (uintptr_t)v;
	b.n = n;
	b.timeout_ns = timeout_ns;
	r = ioctl(c, send ? CHAN_IOC_SEND_BATCH : CHAN_IOC_RECV_BATCH, &b);
	return r < 0 ? -errno : r;
}

/* ---- the fixture: parameters restored ----------------------------------------- */

static const char *const saved_params[] = {
	"max_user_bytes", "max_user_channels", "max_user_staging_bytes",
};
#define NSAVED	(sizeof(saved_params) / sizeof(saved_params[0]))

FIXTURE(sec) {
	long saved[NSAVED];
};

FIXTURE_SETUP(sec)
{
	unsigned int i;

	if (geteuid() != 0)
		SKIP(return, "needs root to switch users and set limits");
	for (i = 0; i < NSAVED; i++)
		self->saved[i] = kc_param_get(saved_params[i]);
}

FIXTURE_TEARDOWN(sec)
{
	unsigned int i;

	for (i = 0; i < NSAVED; i++)
		if (self->saved[i] > 0)
			kc_param_set(saved_params[i], self->saved[i]);
}

/* ---- 1. a channel's per-slot arrays and the channel itself are charged ---------- */

#define SLOTS_UID	64001
#define SLOTS_MAX	200		/* channels tried: 150 MiB of arrays */
#define SLOTS_CAP	65536
#define SLOTS_LIMIT	(64L << 20)

struct slots_out {
	int made, err;
};

/*
 * The attack, scaled down: named FDPASS channels of capacity 65536
 * and msg_size 0 (768 KiB of lengths and descriptor slots each, no
 * buffer), every fd closed, the names keep them. With max_user_bytes at
 * 64 MiB, creation must fail ENOSPC before the user holds more than that.
 */
TEST_F(sec, slot_arrays_are_charged)
{
	struct slots_out *out = kc_shared(sizeof(*out));
	struct mem before, held, after;
	/* what each costs, as chan(7) says: 1 KiB + per slot 4 + 16 bytes */
	long per = 1024 + (long)SLOTS_CAP * (4 + 16);
	pid_t pid;
	int i;

	ASSERT_NE(NULL, out);
	sec_name("slots", 0);
	ASSERT_EQ(0, kc_param_set("max_user_bytes", SLOTS_LIMIT));
	before = mem_now();
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int fd;

		if (drop_to(SLOTS_UID))
			_exit(90);
		for (i = 0; i < SLOTS_MAX; i++) {
			fd = sec_open(sec_name("slots", i),
				      O_RDWR | O_CREAT | O_EXCL, 0600,
				      CHAN_FDPASS, SLOTS_CAP, 0);
			if (fd < 0) {
				out->err = -fd;
				break;
			}
			close(fd);
			out->made = i + 1;
		}
		_exit(0);
	}
	ASSERT_EQ(0, kc_reap(pid));
	held = mem_now();
	for (i = 0; i < out->made; i++)
		EXPECT_EQ(0, sec_unlink(sec_name("slots", i)));
	after = mem_now();
	TH_LOG("uid %d: %d channels charged %ld KiB each (%ld MiB), then errno %d; MemAvailable %ld -> %ld MB (%+ld), Slab %ld -> %ld MB; after unlink %ld MB",
	       SLOTS_UID, out->made, per >> 10, (out->made * per) >> 20,
	       out->err, before.avail_mb, held.avail_mb,
	       held.avail_mb - before.avail_mb, before.slab_mb, held.slab_mb,
	       after.avail_mb);
	EXPECT_EQ(ENOSPC, out->err);
	EXPECT_LE(out->made * per, SLOTS_LIMIT);
	EXPECT_LE(before.avail_mb - held.avail_mb, (SLOTS_LIMIT >> 20) + 32);
}

#define IDLE_UID	64002
#define IDLE_MAX	2000
#define IDLE_LIMIT	(256L << 10)

/*
 * Idle channels (unbuffered, nothing in them) still cost kernel memory:
 * each has a minimum charge (1 KiB, chan(7)), so max_user_bytes bounds
 * their number too, not only max_user_channels.
 */
TEST_F(sec, idle_channels_have_a_minimum_charge)
{
	struct slots_out *out = kc_shared(sizeof(*out));
	pid_t pid;
	int i;

	ASSERT_NE(NULL, out);
	sec_name("idle", 0);
	ASSERT_EQ(0, kc_param_set("max_user_bytes", IDLE_LIMIT));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int fd;

		if (drop_to(IDLE_UID))
			_exit(90);
		for (i = 0; i < IDLE_MAX; i++) {
			fd = sec_open(sec_name("idle", i),
				      O_RDWR | O_CREAT | O_EXCL, 0600, 0, 0, 0);
			if (fd < 0) {
				out->err = -fd;
				break;
			}
			close(fd);
			out->made = i + 1;
		}
		_exit(0);
	}
	ASSERT_EQ(0, kc_reap(pid));
	for (i = 0; i < out->made; i++)
		EXPECT_EQ(0, sec_unlink(sec_name("idle", i)));
	TH_LOG("uid %d, max_user_bytes %ld KiB: %d idle named channels, then errno %d",
	       IDLE_UID, IDLE_LIMIT >> 10, out->made, out->err);
	EXPECT_EQ(ENOSPC, out->err);
	EXPECT_LE(out->made, IDLE_LIMIT / 1024);
	EXPECT_GE(out->made, 1);
}

/* ---- 2. what blocked operations stage is bounded per user --------------------- */

#define PARK_MSG	65536
#define PARK_THREADS	128

enum route {
	R_SELECT, R_RECV, R_SEND, R_RECV_BATCH, R_SEND_BATCH, R_SELSET_WAIT,
};

struct parker {
	pthread_t t;
	enum route route;
	int ch, ncases;
	int ret;
	volatile int done;
};

static char park_buf[PARK_MSG];

static void *park_fn(void *arg)
{
	struct parker *p = arg;
	struct chan_select_case *cs = NULL;
	struct chan_iovec v[16];
	struct chan_selset_wait w;
	int i, set;

	switch (p->route) {
	case R_SELECT:
		cs = calloc(p->ncases, sizeof(*cs));
		for (i = 0; cs && i < p->ncases; i++) {
			cs[i].fd = p->ch;
			cs[i].op = CHAN_OP_RECV;
			cs[i].buf = (uintptr_t)park_buf;
			cs[i].len = PARK_MSG;
		}
		p->ret = cs ? kc_select_on(p->ch, cs, p->ncases, -1) : -ENOMEM;
		free(cs);
		break;
	case R_RECV:
		p->ret = kc_recv(p->ch, park_buf, PARK_MSG, NULL, -1);
		break;
	case R_SEND:
		p->ret = kc_send(p->ch, park_buf, PARK_MSG, -1);
		break;
	case R_RECV_BATCH:
	case R_SEND_BATCH:
		for (i = 0; i < 16; i++) {
			v[i].buf = (uintptr_t)park_buf;
			v[i].len = PARK_MSG;
		}
		p->ret = batch(p->ch, p->route == R_SEND_BATCH, v,
			       p->route == R_SEND_BATCH ? 1 : 16, -1);
		break;
	case R_SELSET_WAIT:
		set = kc_selset_create(CHAN_CLOEXEC);
		p->ret = set;
		for (i = 0; set >= 0 && i < p->ncases && p->ret >= 0; i++)
			p->ret = kc_selset_ctl(set, i, p->ch, CHAN_OP_RECV,
					       park_buf, PARK_MSG);
		if (set >= 0 && p->ret >= 0)
			p->ret = kc_selset_wait(set, &w, -1);
		if (set >= 0)
			close(set);
		break;
	}
	__atomic_store_n(&p->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

struct park_out {
	int parked, err, unparked_ok;
	volatile int held, release;
};

/*
 * In a child as @uid: start parkers one at a time on one unbuffered
 * channel of msg_size PARK_MSG until one fails or @max are parked (each
 * shows as @per waiters in INFO). Then, with *out filled in and held set,
 * wait for release, close the channel and reap every thread.
 */
static int park_child(uid_t uid, enum route route, int ncases, int max,
		      struct park_out *out)
{
	static struct parker ps[PARK_THREADS];
	bool send = route == R_SEND || route == R_SEND_BATCH;
	int per = route == R_SELECT || route == R_SELSET_WAIT ? ncases : 1;
	int ch, i, k, ret = 0;
	int64_t end;

	if (drop_to(uid))
		return 90;
	ch = kc_create(0, PARK_MSG);
	if (ch < 0)
		return 91;
	for (i = 0; i < max && i < PARK_THREADS; i++) {
		ps[i].route = route;
		ps[i].ch = ch;
		ps[i].ncases = ncases;
		if (pthread_create(&ps[i].t, NULL, park_fn, &ps[i]))
			return 92;
		end = kc_now_ns() + 10000000000LL;
		for (;;) {
			k = send ? KC_INFO(ch, send_waiters) :
				   KC_INFO(ch, recv_waiters);
			if (k == (i + 1) * per)
				break;
			if (__atomic_load_n(&ps[i].done, __ATOMIC_SEQ_CST) ||
			    kc_now_ns() > end)
				break;
			usleep(1000);
		}
		if (k != (i + 1) * per) {
			pthread_join(ps[i].t, NULL);
			out->err = ps[i].ret < 0 ? -ps[i].ret : 0;
			if (!out->err)
				ret = 93;	/* neither parked nor failed */
			break;
		}
		out->parked = i + 1;
	}
	__atomic_store_n(&out->held, 1, __ATOMIC_SEQ_CST);
	end = kc_now_ns() + 20000000000LL;
	while (!__atomic_load_n(&out->release, __ATOMIC_SEQ_CST) &&
	       kc_now_ns() < end)
		usleep(1000);
	/* receivers see closed, senders EPIPE: every parker returns */
	kc_close(ch);
	out->unparked_ok = 1;
	for (i = 0; i < out->parked; i++) {
		pthread_join(ps[i].t, NULL);
		if (ps[i].ret < 0 && ps[i].ret != -EPIPE)
			out->unparked_ok = 0;
	}
	close(ch);
	return ret;
}

/* Wait (at most 20 s) until the parking child says it holds. */
static int park_wait_held(struct park_out *out)
{
	int64_t end = kc_now_ns() + 20000000000LL;

	while (!__atomic_load_n(&out->held, __ATOMIC_SEQ_CST)) {
		if (kc_now_ns() > end)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}

#define SEL_UID		65532
#define SEL_CASES	256
#define SEL_THREADS	12	/* 192 MiB of staging if all of them park */

/*
 * The attack: one unbuffered channel of msg_size 64 KiB, threads
 * each parked in a 256-case receive select (16 MiB of staging each). With
 * the default max_user_staging_bytes only that much may be parked; the
 * next select fails ENOBUFS.
 */
TEST_F(sec, parked_selects_are_bounded_per_user)
{
	struct park_out *out = kc_shared(sizeof(*out));
	long limit = kc_param_get("max_user_staging_bytes");
	long per = (long)SEL_CASES * PARK_MSG;
	struct mem before, held, after;
	struct usage u;
	pid_t pid;
	int st;

	ASSERT_NE(NULL, out);
	if (limit <= 0)
		limit = DFLT_USER_STAGING;
	before = mem_now();
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(park_child(SEL_UID, R_SELECT, SEL_CASES, SEL_THREADS,
				 out));
	ASSERT_EQ(0, park_wait_held(out));
	held = mem_now();
	usage_of(SEL_UID, &u);
	__atomic_store_n(&out->release, 1, __ATOMIC_SEQ_CST);
	st = kc_reap(pid);
	after = mem_now();
	TH_LOG("uid %d: %d selects of %d x 64 KiB receive cases parked (%ld MiB staged), then errno %d; MemAvailable %ld -> %ld MB (%+ld), Slab %ld -> %ld MB; %ld MB after; kchan_users staging %ld",
	       SEL_UID, out->parked, SEL_CASES, (out->parked * per) >> 20,
	       out->err, before.avail_mb, held.avail_mb,
	       held.avail_mb - before.avail_mb, before.slab_mb, held.slab_mb,
	       after.avail_mb, u.staging);
	EXPECT_EQ(0, st);
	EXPECT_EQ(ENOBUFS, out->err);
	EXPECT_LE(out->parked * per, limit);
	EXPECT_LE(before.avail_mb - held.avail_mb, (limit >> 20) + 32);
	EXPECT_EQ(1, out->unparked_ok);
	EXPECT_EQ(0, usage_gone(SEL_UID, &u));
}

/* Every other way to park staging, under a small limit. */
FIXTURE(route) {
	long saved;
};

FIXTURE_VARIANT(route) {
	enum route route;
	int ncases;		/* select / set wait: cases per operation */
	long bytes;		/* staging one operation holds at least */
};

FIXTURE_VARIANT_ADD(route, recv) { R_RECV, 1, PARK_MSG };
FIXTURE_VARIANT_ADD(route, send) { R_SEND, 1, PARK_MSG };
FIXTURE_VARIANT_ADD(route, recv_batch) { R_RECV_BATCH, 1, PARK_MSG };
FIXTURE_VARIANT_ADD(route, send_batch) { R_SEND_BATCH, 1, PARK_MSG };
FIXTURE_VARIANT_ADD(route, select) { R_SELECT, 16, 16L * PARK_MSG };
FIXTURE_VARIANT_ADD(route, selset_wait) { R_SELSET_WAIT, 16, 16L * PARK_MSG };

#define ROUTE_UID	64010
#define ROUTE_LIMIT	(2L << 20)

FIXTURE_SETUP(route)
{
	if (geteuid() != 0)
		SKIP(return, "needs root to switch users and set limits");
	self->saved = kc_param_get("max_user_staging_bytes");
	/* absent from a module that has no such limit: the test then fails */
	kc_param_set("max_user_staging_bytes", ROUTE_LIMIT);
}

FIXTURE_TEARDOWN(route)
{
	if (self->saved > 0)
		kc_param_set("max_user_staging_bytes", self->saved);
}

TEST_F(route, staging_is_bounded_per_user)
{
	struct park_out *out = kc_shared(sizeof(*out));
	int max = ROUTE_LIMIT / variant->bytes * 2 + 2;
	uid_t uid = ROUTE_UID + variant->route;
	struct usage u;
	pid_t pid;
	int st;

	ASSERT_NE(NULL, out);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(park_child(uid, variant->route, variant->ncases, max,
				 out));
	ASSERT_EQ(0, park_wait_held(out));
	usage_of(uid, &u);
	__atomic_store_n(&out->release, 1, __ATOMIC_SEQ_CST);
	st = kc_reap(pid);
	TH_LOG("uid %d, max_user_staging_bytes %ld KiB: %d parked of %ld KiB each, then errno %d; kchan_users staging %ld",
	       uid, ROUTE_LIMIT >> 10, out->parked, variant->bytes >> 10,
	       out->err, u.staging);
	EXPECT_EQ(0, st);
	EXPECT_EQ(ENOBUFS, out->err);
	EXPECT_LE(out->parked * variant->bytes, ROUTE_LIMIT);
	EXPECT_GE(out->parked, 1);
	EXPECT_LE(u.staging, ROUTE_LIMIT);
	EXPECT_GE(u.staging, out->parked * variant->bytes);
	EXPECT_EQ(1, out->unparked_ok);
	EXPECT_EQ(0, usage_gone(uid, &u));
}

#define CACHE_UID	64030
#define CACHE_MSG	1000
/* a channel of capacity 1 and msg_size CACHE_MSG, as chan(7) counts it */
#define CACHE_CHARGE	(1024L + 1 * (CACHE_MSG + 4))

struct cache_out {
	long idle, used, parked_staging, parked_bytes, after_ops;
	int err;
};

/* Child of stage_cache_is_charged: the user whose rows are read. */
static int cache_child(struct cache_out *out)
{
	char m[CACHE_MSG] = { 1 }, r[CACHE_MSG];
	struct usage u;
	pid_t kid;
	int c;

	if (drop_to(CACHE_UID))
		return 90;
	c = kc_create(1, CACHE_MSG);
	if (c < 0)
		return 91;
	usage_of(CACHE_UID, &u);
	out->idle = u.bytes;
	if (kc_send(c, m, CACHE_MSG, 0) || kc_recv(c, r, CACHE_MSG, NULL, 0) != 1)
		return 92;
	usage_of(CACHE_UID, &u);
	out->used = u.bytes;
	/* a receiver parked with a cache buffer: charged as staging too */
	kid = kc_fork();
	if (kid == 0)
		_exit(kc_recv(c, r, CACHE_MSG, NULL, -1) == 1 ? 0 : 1);
	if (KC_WAIT(c, recv_waiters, 1))
		return 93;
	usage_of(CACHE_UID, &u);
	out->parked_staging = u.staging;
	out->parked_bytes = u.bytes;
	if (kc_send(c, m, CACHE_MSG, -1) || kc_reap(kid))
		return 94;
	usage_of(CACHE_UID, &u);
	out->after_ops = u.staging;
	close(c);
	return 0;
}

/*
 * The stage cache (chan(7), max_user_bytes): a channel whose messages are
 * above 64 bytes keeps up to two msg_size buffers once used, charged to its
 * user's bytes; an operation that waits with one is charged its staging
 * as for an allocated buffer (one that completes at once is not). At
 * max_user_bytes none is made and operations still work; everything goes
 * back when the channel goes.
 */
static void stage_cache(struct __test_metadata *_metadata, long limit)
{
	struct cache_out *out = kc_shared(sizeof(*out));
	struct usage u;
	pid_t pid;

	ASSERT_NE(NULL, out);
	ASSERT_EQ(0, kc_param_set("max_user_bytes", limit));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(cache_child(out));
	ASSERT_EQ(0, kc_reap(pid));
	TH_LOG("max_user_bytes %ld: bytes idle %ld, used %ld, with a parked receiver %ld (staging %ld)",
	       limit, out->idle, out->used, out->parked_bytes,
	       out->parked_staging);
	EXPECT_EQ(CACHE_CHARGE, out->idle);
	if (limit == CACHE_CHARGE) {
		EXPECT_EQ(CACHE_CHARGE, out->used);
		EXPECT_EQ(CACHE_CHARGE, out->parked_bytes);
	} else {
		EXPECT_EQ(CACHE_CHARGE + CACHE_MSG, out->used);
		EXPECT_GE(out->parked_bytes, out->used);
		EXPECT_LE(out->parked_bytes, CACHE_CHARGE + 2 * CACHE_MSG);
	}
	EXPECT_GE(out->parked_staging, CACHE_MSG);
	EXPECT_EQ(0, out->after_ops);
	EXPECT_EQ(0, usage_gone(CACHE_UID, &u));
}

TEST_F(sec, stage_cache_is_charged)
{
	stage_cache(_metadata, 1L << 20);
}

TEST_F(sec, stage_cache_not_made_at_the_limit)
{
	stage_cache(_metadata, CACHE_CHARGE);
}

#define SETS_UID	64020
#define SETS_MAX	64

/*
 * A select set's case table (one entry per index up to the highest one
 * set, up to max_select_cases) is kernel memory a user pins without
 * waiting: it counts against max_user_staging_bytes too.
 */
TEST_F(sec, selset_tables_are_bounded_per_user)
{
	struct slots_out *out = kc_shared(sizeof(*out));
	long cases = kc_param_get("max_select_cases");
	struct usage u;
	pid_t pid;

	ASSERT_NE(NULL, out);
	ASSERT_GT(cases, 0);
	kc_param_set("max_user_staging_bytes", ROUTE_LIMIT);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int ch, set, i, r;

		if (drop_to(SETS_UID))
			_exit(90);
		ch = kc_create(1, 0);
		if (ch < 0)
			_exit(91);
		for (i = 0; i < SETS_MAX; i++) {
			set = kc_selset_create(CHAN_CLOEXEC);
			if (set < 0) {
				out->err = -set;
				break;
			}
			r = kc_selset_ctl(set, cases - 1, ch, CHAN_OP_RECV,
					  NULL, 0);
			if (r < 0) {
				out->err = -r;
				break;
			}
			out->made = i + 1;
		}
		_exit(0);
	}
	ASSERT_EQ(0, kc_reap(pid));
	TH_LOG("uid %d, max_user_staging_bytes %ld KiB: %d sets with case %ld set, then errno %d",
	       SETS_UID, ROUTE_LIMIT >> 10, out->made, cases - 1, out->err);
	EXPECT_EQ(ENOBUFS, out->err);
	/* at least 32 bytes per case */
	EXPECT_LE(out->made * cases * 32, ROUTE_LIMIT);
	EXPECT_EQ(0, usage_gone(SETS_UID, &u));
}

/* ---- 3. a named channel cannot hold its own IPC namespace --------------------- */

/* A plain channel (capacity 1, msg_size 1) made through sec_dev(). */
static int sec_create_plain(void)
{
	struct chan_create c;
	int dev = sec_dev(), fd, err;

	if (dev < 0)
		return -errno;
	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.capacity = 1;
	c.msg_size = 1;
	fd = ioctl(dev, CHAN_IOC_CREATE, &c);
	err = errno;
	close(dev);
	return fd < 0 ? -err : fd;
}

struct ns_out {
	int step, err, send_ns, send_chan;
};

/*
 * In a new IPC namespace (as @uid in a new user namespace too, unless
 * @uid is 0): a named FDPASS channel, the namespace's own nsfs file sent
 * into it, then a plain channel fd; then exit. The nsfs file must be
 * refused, and once the process is gone the name must go with the
 * namespace, and both channels with it.
 */
static int ns_child(uid_t uid, struct ns_out *out)
{
	int ch, nsfd, plain, proc;

	out->step = 1;
	/* /proc/self resolves to the caller wherever its root is */
	proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (proc < 0)
		return 92;
	if (uid) {
		/*
		 * A chrooted process may not create a user namespace, and
		 * scripts/vm-run runs its command chrooted: work from init's
		 * root, with /dev/chan and /proc opened before.
		 */
		sec_devfd = open(CHAN_DEVICE, O_RDWR | O_CLOEXEC);
		if (chroot("/proc/1/root") || chdir("/"))
			return 91;
		if (drop_to(uid))
			return 90;
		if (unshare(CLONE_NEWUSER | CLONE_NEWIPC))
			return 77;
	} else if (unshare(CLONE_NEWIPC)) {
		return 77;
	}
	out->step = 2;
	ch = sec_open("sec-ns-cycle", O_RDWR | O_CREAT | O_EXCL, 0600,
		      CHAN_FDPASS, 4, 1);
	if (ch < 0)
		return 2;
	nsfd = openat(proc, "self/ns/ipc", O_RDONLY | O_CLOEXEC);
	if (nsfd < 0) {
		out->err = errno;
		return 3;
	}
	out->step = 3;
	out->send_ns = kc_send_fd(ch, "n", 1, nsfd, 0);
	plain = sec_create_plain();
	if (plain < 0)
		return 4;
	out->step = 4;
	out->send_chan = kc_send_fd(ch, "c", 1, plain, 0);
	return 0;	/* the namespace's last task is gone */
}

static void ns_cycle(struct __test_metadata *_metadata, uid_t uid)
{
	struct ns_out *out = kc_shared(sizeof(*out));
	int base = kc_kchan_count(), n, i, st;
	pid_t pid;

	ASSERT_NE(NULL, out);
	ASSERT_GE(base, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(ns_child(uid, out));
	st = kc_reap(pid);
	if (st == 77)
		SKIP(return, "unshare(%s) not permitted here",
		     uid ? "CLONE_NEWUSER | CLONE_NEWIPC" : "CLONE_NEWIPC");
	ASSERT_EQ(0, st) TH_LOG("child failed at step %d, errno %d",
				out->step, out->err);
	/* reading /proc/kchan sweeps the names of unreachable namespaces */
	for (i = 0, n = kc_kchan_count(); i < 100 && n != base; i++) {
		usleep(50000);
		n = kc_kchan_count();
	}
	TH_LOG("uid %d: nsfs send %d, channel fd send %d; /proc/kchan %d channels before, %d after the exit",
	       uid, out->send_ns, out->send_chan, base, n);
	EXPECT_EQ(-EINVAL, out->send_ns);
	EXPECT_EQ(0, out->send_chan);
	EXPECT_EQ(base, n);
}

TEST(named_channel_cannot_hold_its_ipc_namespace)
{
	if (geteuid() != 0)
		SKIP(return, "needs root for unshare(CLONE_NEWIPC)");
	ns_cycle(_metadata, 0);
}

#define NS_UID		64021

TEST(named_channel_cannot_hold_its_ipc_namespace_userns)
{
	if (geteuid() != 0)
		SKIP(return, "needs root to switch users");
	ns_cycle(_metadata, NS_UID);
}

/* Namespace files of every kind are refused, not only the IPC one. */
TEST(namespace_files_refused)
{
	static const char *const kinds[] = {
		"ipc", "net", "mnt", "uts", "user", "pid", "cgroup",
	};
	char path[64];
	unsigned int i;
	int ch, fd;

	ch = kc_create_flags(8, 1, CHAN_FDPASS);
	ASSERT_GE(ch, 0);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		snprintf(path, sizeof(path), "/proc/self/ns/%s", kinds[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		EXPECT_EQ(-EINVAL, kc_send_fd(ch, "n", 1, fd, 0))
			TH_LOG("%s", path);
		close(fd);
	}
	EXPECT_EQ(0, KC_INFO(ch, len));
	close(ch);
}

/* ---- 4. descriptors in flight are charged to their sender ---------------------- */

#define HOARD_UID	64030	/* user A */
#define VICTIM_UID	64031	/* user B */
#define HOARD_N		1024

struct inflight_out {
	int sent, err, victim_send;
	struct usage hoarder, victim;
};

/*
 * User B gives user A one reply channel (over a unix socket). A parks it
 * HOARD_N times in A's own named channel (A's RLIMIT_NOFILE is HOARD_N)
 * and exits. B must still be able to send its own descriptors: the HOARD_N
 * in flight are A's, not B's.
 */
TEST(inflight_is_charged_to_the_sender)
{
	struct inflight_out *out = kc_shared(sizeof(*out));
	struct rlimit rl = { HOARD_N, HOARD_N };
	struct usage u;
	int sv[2], st, i;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root to switch users");
	ASSERT_NE(NULL, out);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));

	/* B: a reply channel, opened by B, handed over */
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int r;

		if (drop_to(VICTIM_UID))
			_exit(90);
		r = kc_create(1, 8);
		if (r < 0)
			_exit(2);
		_exit(kc_unix_send_fd(sv[0], r) ? 3 : 0);
	}
	ASSERT_EQ(0, kc_reap(pid));

	/* A: parks it HOARD_N times and exits */
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int r, ch;

		if (setrlimit(RLIMIT_NOFILE, &rl) || drop_to(HOARD_UID))
			_exit(90);
		r = kc_unix_recv_fd(sv[1]);
		if (r < 0)
			_exit(2);
		ch = sec_open("sec-hoard", O_RDWR | O_CREAT | O_EXCL, 0600,
			      CHAN_FDPASS, HOARD_N + 16, 1);
		if (ch < 0)
			_exit(3);
		for (i = 0; i < HOARD_N + 1; i++) {
			st = kc_send_fd(ch, "r", 1, r, 0);
			if (st) {
				out->err = -st;
				break;
			}
			out->sent = i + 1;
		}
		_exit(0);
	}
	ASSERT_EQ(0, kc_reap(pid));
	usage_of(HOARD_UID, &out->hoarder);
	usage_of(VICTIM_UID, &out->victim);

	/* B again: its own /dev/null, into its own channel */
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int ch, null;

		if (setrlimit(RLIMIT_NOFILE, &rl) || drop_to(VICTIM_UID))
			_exit(90);
		ch = kc_create_flags(4, 1, CHAN_FDPASS);
		null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (ch < 0 || null < 0)
			_exit(2);
		out->victim_send = kc_send_fd(ch, "n", 1, null, 0);
		_exit(0);
	}
	ASSERT_EQ(0, kc_reap(pid));
	EXPECT_EQ(0, sec_unlink("sec-hoard"));
	TH_LOG("A (uid %d) parked B's reply channel %d times, then errno %d; B's own send then: %d; kchan_users inflight A %ld, B %ld",
	       HOARD_UID, out->sent, out->err, out->victim_send,
	       out->hoarder.inflight, out->victim.inflight);
	EXPECT_EQ(HOARD_N, out->sent);
	EXPECT_EQ(ETOOMANYREFS, out->err);
	EXPECT_EQ(0, out->victim_send);
	EXPECT_EQ(HOARD_N, out->hoarder.inflight);
	EXPECT_EQ(0, out->victim.inflight);
	/* unlinked: A's charge is gone, on free as on receive */
	EXPECT_EQ(0, usage_gone(HOARD_UID, &u));
	EXPECT_EQ(0, usage_gone(VICTIM_UID, &u));
	close(sv[0]);
	close(sv[1]);
}

/* Receiving gives the sender's charge back, whoever receives. */
TEST(inflight_uncharged_on_receive)
{
	struct rlimit rl = { 8, 8 };
	struct usage u;
	int ch, st;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root to switch users");
	ch = kc_create_flags(16, 1, CHAN_FDPASS);
	ASSERT_GE(ch, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int i, null;

		if (setrlimit(RLIMIT_NOFILE, &rl) || drop_to(HOARD_UID))
			_exit(90);
		null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		for (i = 0; i < 8; i++)
			if (kc_send_fd(ch, "n", 1, null, 0))
				_exit(2);
		_exit(kc_send_fd(ch, "n", 1, null, 0) == -ETOOMANYREFS ? 0 : 3);
	}
	ASSERT_EQ(0, kc_reap(pid));
	EXPECT_EQ(1, usage_of(HOARD_UID, &u));
	EXPECT_EQ(8, u.inflight);
	/* root takes them: the sender's count goes back to zero */
	for (st = 0; st < 8; st++) {
		struct chan_msg m;
		char b;

		kc_msg_init(&m, &b, 1, 0);
		ASSERT_EQ(0, ioctl(ch, CHAN_IOC_RECV, &m));
		ASSERT_GE(m.fd, 0);
		close(m.fd);
	}
	EXPECT_EQ(0, usage_gone(HOARD_UID, &u));
	close(ch);
}

/* ---- what an admin sees --------------------------------------------------------- */

#define USAGE_UID	64040

/*
 * /proc/kchan_users: one line per user with something charged (uid,
 * channels, bytes, staging, inflight); a user's line goes once every
 * charge is returned.
 */
TEST_F(sec, usage_per_user_is_visible)
{
	struct usage *seen = kc_shared(2 * sizeof(*seen));
	struct usage u;
	pid_t pid;

	ASSERT_NE(NULL, seen);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int a, b;

		if (drop_to(USAGE_UID))
			_exit(90);
		a = kc_create(16, 256);
		b = kc_create_flags(8, 0, CHAN_FDPASS);
		if (a < 0 || b < 0)
			_exit(2);
		if (usage_of(USAGE_UID, &seen[0]) != 1)
			_exit(3);
		close(a);
		if (usage_of(USAGE_UID, &seen[1]) != 1)
			_exit(4);
		_exit(0);
	}
	ASSERT_EQ(0, kc_reap(pid));
	TH_LOG("uid %d: two channels: %ld channels, %ld bytes; one: %ld, %ld",
	       USAGE_UID, seen[0].channels, seen[0].bytes, seen[1].channels,
	       seen[1].bytes);
	EXPECT_EQ(2, seen[0].channels);
	/* at least the buffers and slot arrays, and a minimum per channel */
	EXPECT_GE(seen[0].bytes, 16 * (256 + 4) + 8 * (4 + 8) + 2 * 1024);
	EXPECT_EQ(1, seen[1].channels);
	EXPECT_GE(seen[1].bytes, 8 * (4 + 8) + 1024);
	EXPECT_LT(seen[1].bytes, seen[0].bytes);
	EXPECT_EQ(0, usage_gone(USAGE_UID, &u));
}

TEST_HARNESS_MAIN
