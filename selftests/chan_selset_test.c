// SPDX-License-Identifier: GPL-2.0
/*
 * Select sets: CHAN_IOC_SELSET_CREATE on /dev/chan, CHAN_IOC_SELSET_CTL
 * and CHAN_IOC_SELSET_WAIT on the set's fd (cases registered once, a wait
 * has CHAN_IOC_SELECT's semantics over them).
 *
 * One test per rule of the spec: create (flags, struct size, CLOEXEC, only
 * on /dev/chan); ctl (every errno, a failed ctl changes nothing, nil cases,
 * replacing a case, the max_select_bytes budget); wait (a ready case fires
 * with its data, closed channels, EMSGSIZE, EAGAIN, ETIMEDOUT, the empty
 * set, a uniformly random choice, EFAULT with nothing moved, wakeups by
 * other processes, rendezvous with a select or another set in another
 * process, signals, concurrent waits on one set); lifetime (the set's
 * reference keeps a channel open, clearing a case or closing the set drops
 * it); a set fd cannot travel in a message; ENOTTY for the wrong ioctls.
 *
 * Every peer is a fork()ed process. Ordering never relies on sleeps: a
 * process that needs "the wait is parked now" waits until INFO shows the
 * waiter. Children report through their exit status (0 = fine, any other
 * code names the check that failed) and through shared memory.
 */
#include <limits.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "kchan_test.h"

#define MS(x)		((int64_t)(x) * 1000000LL)
#define SENTINEL	0x5eU	/* ok preset: the kernel must write 0 or 1 */
#define PAGE		kc_page()
#define TEST_ALARM	60	/* no single test blocks longer than this */

/* Child check: exit with code on failure. */
#define CHILD_CHECK(cond, code)			\
	do {					\
		if (!(cond))			\
			_exit(code);		\
	} while (0)

/* ---- helpers ------------------------------------------------------------ */

/* A new select set (on the shared /dev/chan fd); its fd or -errno. */
static int ss_create_flags(unsigned int flags)
{
	return kc_selset_create_on(kc_devfd(), flags);
}

static int ss_create(void)
{
	return ss_create_flags(0);
}

/*
 * Check what a wait reported against its return value r (index or
 * -errno): a success whose index field disagrees, or whose ok is neither
 * 0 nor 1, is -EPROTO; a failure where nothing fired (EAGAIN, ETIMEDOUT,
 * EINTR) with an index other than -1 is -EBADE.
 */
static int ss_wait_check(int r, const struct chan_selset_wait *w)
{
	if (r >= 0 && (w->index != r || w->ok > 1))
		return -EPROTO;
	if ((r == -EAGAIN || r == -ETIMEDOUT || r == -EINTR) && w->index != -1)
		return -EBADE;
	return r;
}

/* CHAN_IOC_SELSET_WAIT: the index that fired or -errno (see above). */
static int ss_wait(int set, int64_t timeout_ns, struct chan_selset_wait *w)
{
	return ss_wait_check(kc_selset_wait(set, w, timeout_ns), w);
}

/* One-case CHAN_IOC_SELECT: 0 (the index) or -errno; ok and len out. */
static int sel1(int fd, unsigned int op, const void *buf, size_t len,
		int64_t timeout_ns, uint32_t *ok, uint64_t *olen)
{
	struct chan_select_case c;
	struct chan_select s;
	int r;

	memset(&c, 0, sizeof(c));
	c.fd = fd;
	c.op = op;
	c.buf = (uintptr_t)buf;
	c.len = len;
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.cases = (uintptr_t)&c;
	s.ncases = 1;
	s.case_size = sizeof(struct chan_select_case);
	s.timeout_ns = timeout_ns;
	r = ioctl(kc_devfd(), CHAN_IOC_SELECT, &s);
	if (r < 0)
		return -errno;
	if (ok)
		*ok = c.ok;
	if (olen)
		*olen = c.len;
	return r;
}

/*
 * The lowest free descriptor number (to see that a failed call made none).
 * Opens /dev/chan first, so that its lazy open does not count.
 */
static int next_fd(void)
{
	int fd;

	kc_devfd();
	fd = dup(0);

	if (fd >= 0)
		close(fd);
	return fd;
}

/* sqrt for the fairness bounds (the Makefile links no libm). */
static double root(double x)
{
	double r = x > 1 ? x : 1;
	int i;

	for (i = 0; i < 60; i++)
		r = (r + x / r) / 2;
	return r;
}

/* ---- CREATE ------------------------------------------------------------- */

TEST(create_empty_read_write_anon_inode)
{
	struct chan_selset_wait w;
	char path[64], link[64];
	ssize_t n;
	int set;

	alarm(TEST_ALARM);
	set = ss_create();
	ASSERT_LE(0, set);
	EXPECT_EQ(O_RDWR, fcntl(set, F_GETFL) & O_ACCMODE);
	EXPECT_EQ(0, fcntl(set, F_GETFD) & FD_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", set);
	n = readlink(path, link, sizeof(link) - 1);
	ASSERT_LT(0, n);
	link[n] = 0;
	EXPECT_STREQ("anon_inode:[chan_selset]", link);
	/* it starts empty: nothing can fire */
	EXPECT_EQ(-EAGAIN, ss_wait(set, 0, &w));
	EXPECT_EQ(-1, w.index);
	close(set);
}

TEST(create_cloexec)
{
	int set;

	alarm(TEST_ALARM);
	set = ss_create_flags(CHAN_CLOEXEC);
	ASSERT_LE(0, set);
	EXPECT_EQ(FD_CLOEXEC, fcntl(set, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_RDWR, fcntl(set, F_GETFL) & O_ACCMODE);
	close(set);
}

/* Only CHAN_CLOEXEC: every other bit, alone or with it, is EINVAL. */
TEST(create_unknown_flags_einval)
{
	int bit, before = next_fd();

	alarm(TEST_ALARM);
	ASSERT_LE(0, before);
	for (bit = 0; bit < 32; bit++) {
		if ((1U << bit) == CHAN_CLOEXEC)
			continue;
		EXPECT_EQ(-EINVAL, ss_create_flags(1U << bit))
			TH_LOG("flag bit %d", bit);
		EXPECT_EQ(-EINVAL, ss_create_flags(CHAN_CLOEXEC | (1U << bit)))
			TH_LOG("flag bit %d with CLOEXEC", bit);
	}
	/* named explicitly: the channel flags are no set flags */
	EXPECT_EQ(-EINVAL, ss_create_flags(CHAN_NONBLOCK));
	EXPECT_EQ(-EINVAL, ss_create_flags(CHAN_FDPASS));
	/* no descriptor was made by a failed create */
	EXPECT_EQ(before, next_fd());
}

/*
 * CHAN_IOC_SELSET_CREATE with the struct's size field set to size (and a
 * non-zero byte at tail if >= 0): -errno, or 1 (2 with FD_CLOEXEC) for a
 * new fd, which is closed.
 */
static int create_sized(unsigned char *buf, uint32_t size, unsigned int flags,
			long tail)
{
	struct chan_selset_create *c = (void *)buf;
	int r, fd;

	memset(buf, 0, 3 * PAGE);
	c->size = size;
	c->flags = flags;
	if (tail >= 0)
		buf[tail] = 1;
	r = ioctl(kc_devfd(), CHAN_IOC_SELSET_CREATE, buf);
	if (r < 0)
		return -errno;
	fd = r;
	r = fcntl(fd, F_GETFD) & FD_CLOEXEC ? 2 : 1;
	close(fd);
	return r;
}

TEST(create_size_walk)
{
	unsigned char *buf = calloc(1, 3 * PAGE);
	void *hole = kc_page_none();
	int before = next_fd();

	alarm(TEST_ALARM);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, hole);
	EXPECT_EQ(-EINVAL, create_sized(buf, 0, 0, -1));
	EXPECT_EQ(-EINVAL, create_sized(buf, 4, 0, -1));
	EXPECT_EQ(-EINVAL, create_sized(buf, CHAN_SELSET_CREATE_SIZE_VER0 - 1, 0, -1));
	EXPECT_EQ(-E2BIG, create_sized(buf, 16, 0, 12));
	EXPECT_EQ(-E2BIG, create_sized(buf, 16, 0, 15));
	EXPECT_EQ(-E2BIG, create_sized(buf, PAGE, 0, PAGE - 1));
	EXPECT_EQ(-E2BIG, create_sized(buf, PAGE + 8, 0, -1));
	EXPECT_EQ(-1, ioctl(kc_devfd(), CHAN_IOC_SELSET_CREATE, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(kc_devfd(), CHAN_IOC_SELSET_CREATE, hole));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(before, next_fd());
	/* the sizes that work, closing each new fd */
	EXPECT_EQ(1, create_sized(buf, CHAN_SELSET_CREATE_SIZE_VER0, 0, -1));
	EXPECT_EQ(before, next_fd());
	EXPECT_EQ(1, create_sized(buf, 16, 0, -1));
	EXPECT_EQ(before, next_fd());
	/* the flags still count in a larger struct */
	EXPECT_EQ(2, create_sized(buf, 16, CHAN_CLOEXEC, -1));
	EXPECT_EQ(before, next_fd());
	EXPECT_EQ(1, create_sized(buf, PAGE, 0, -1));
	EXPECT_EQ(before, next_fd());
	free(buf);
}

TEST(create_only_on_dev_chan)
{
	struct chan_selset_create c = { .size = sizeof(c) };
	int ch = kc_create(1, 4), ro, set = ss_create(), before;

	alarm(TEST_ALARM);
	ASSERT_LE(0, ch);
	ASSERT_LE(0, set);
	ro = kc_dup(ch, CHAN_RIGHT_RECV);
	ASSERT_LE(0, ro);
	before = next_fd();
	EXPECT_EQ(-1, ioctl(ch, CHAN_IOC_SELSET_CREATE, &c));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(ro, CHAN_IOC_SELSET_CREATE, &c));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(set, CHAN_IOC_SELSET_CREATE, &c));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(before, next_fd());
	close(ro);
	close(ch);
	close(set);
}

/* ---- CTL: errors, and a failed ctl changes nothing ----------------------- */

/*
 * A set with one case, 0: recv on a (empty) into ba. x holds a message and
 * y has room, so a failed ctl that still registered a recv on x or a send
 * on y would make a wait fire.
 */
FIXTURE(ctl) {
	int set;
	int a;
	int x;
	int y;
	char ba[16];
	char bx[16];
};

FIXTURE_SETUP(ctl)
{
	alarm(TEST_ALARM);
	self->set = ss_create();
	self->a = kc_create(1, 16);
	self->x = kc_create(1, 16);
	self->y = kc_create(1, 16);
	ASSERT_LE(0, self->set);
	ASSERT_LE(0, self->a);
	ASSERT_LE(0, self->x);
	ASSERT_LE(0, self->y);
	ASSERT_EQ(0, kc_send(self->x, "x", 1, 0));
	memset(self->ba, 0, sizeof(self->ba));
	ASSERT_EQ(0, kc_selset_ctl(self->set, 0, self->a, CHAN_OP_RECV, self->ba,
				   sizeof(self->ba)));
}

FIXTURE_TEARDOWN(ctl)
{
	close(self->set);
	close(self->a);
	close(self->x);
	close(self->y);
}

/*
 * The set is as the setup made it: nothing fires (x keeps its message, y
 * stays empty), then a message on a fires case 0 into ba.
 */
static void ctl_unchanged(struct __test_metadata *_metadata,
			  FIXTURE_DATA(ctl) *self, const char *what)
{
	struct chan_selset_wait w;

	EXPECT_EQ(-EAGAIN, ss_wait(self->set, 0, &w)) TH_LOG("after %s", what);
	EXPECT_EQ(1, KC_INFO(self->x, len)) TH_LOG("after %s", what);
	EXPECT_EQ(0, KC_INFO(self->y, len)) TH_LOG("after %s", what);
	ASSERT_EQ(0, kc_send(self->a, "ping", 4, 0));
	memset(self->ba, 0, sizeof(self->ba));
	EXPECT_EQ(0, ss_wait(self->set, 0, &w)) TH_LOG("after %s", what);
	EXPECT_EQ(1, w.ok);
	EXPECT_EQ(4, w.len);
	EXPECT_EQ(0, memcmp(self->ba, "ping", 4)) TH_LOG("after %s", what);
	EXPECT_EQ(0, KC_INFO(self->a, len));
}

/* Try a bad recv on x and a bad send on y, at index 0 (replacing) and 1. */
static void ctl_try_both(struct __test_metadata *_metadata,
			 FIXTURE_DATA(ctl) *self, struct chan_selset_ctl *c,
			 int want, const char *what)
{
	unsigned int index;

	for (index = 0; index < 2; index++) {
		c->index = index;
		c->fd = self->x;
		c->op = CHAN_OP_RECV;
		c->buf = (uintptr_t)self->bx;
		c->len = sizeof(self->bx);
		EXPECT_EQ(want, kc_selset_ctl_raw(self->set, c))
			TH_LOG("%s: recv case %u", what, index);
		c->fd = self->y;
		c->op = CHAN_OP_SEND;
		c->buf = (uintptr_t)"y";
		c->len = 1;
		EXPECT_EQ(want, kc_selset_ctl_raw(self->set, c))
			TH_LOG("%s: send case %u", what, index);
	}
}

TEST_F(ctl, unknown_flags_einval)
{
	struct chan_selset_ctl c;
	char what[32];
	int bit;

	for (bit = 0; bit < 32; bit++) {
		kc_selset_ctl_init(&c, 0, -1, CHAN_OP_RECV, NULL, 0);
		c.flags = 1U << bit;
		snprintf(what, sizeof(what), "flag bit %d", bit);
		ctl_try_both(_metadata, self, &c, -EINVAL, what);
		/* a nil case checks its flags too */
		c.index = 0;
		c.fd = -1;
		EXPECT_EQ(-EINVAL, kc_selset_ctl_raw(self->set, &c)) TH_LOG("%s nil", what);
	}
	ctl_unchanged(_metadata, self, "flags");
}

TEST_F(ctl, reserved_nonzero_einval)
{
	uint32_t bad[] = { 1, 0x100, 0x80000000U, 0xffffffffU };
	struct chan_selset_ctl c;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		kc_selset_ctl_init(&c, 0, -1, CHAN_OP_RECV, NULL, 0);
		c.reserved = bad[i];
		ctl_try_both(_metadata, self, &c, -EINVAL, "reserved");
		c.index = 0;
		c.fd = -1;
		EXPECT_EQ(-EINVAL, kc_selset_ctl_raw(self->set, &c));
	}
	ctl_unchanged(_metadata, self, "reserved");
}

TEST_F(ctl, bad_op_einval_even_for_nil)
{
	unsigned int bad[] = { 0, 3, 4, 0x100, 0xffffffffU };
	unsigned int i, index;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (index = 0; index < 2; index++) {
			EXPECT_EQ(-EINVAL, kc_selset_ctl(self->set, index, self->x,
							 bad[i], self->bx, 16))
				TH_LOG("op %u case %u", bad[i], index);
			EXPECT_EQ(-EINVAL, kc_selset_ctl(self->set, index, self->y,
							 bad[i], "y", 1))
				TH_LOG("op %u case %u", bad[i], index);
			EXPECT_EQ(-EINVAL, kc_selset_ctl(self->set, index, -1,
							 bad[i], NULL, 0))
				TH_LOG("nil, op %u case %u", bad[i], index);
		}
	}
	ctl_unchanged(_metadata, self, "bad op");
	/* a nil case with either valid op is fine */
	EXPECT_EQ(0, kc_selset_ctl(self->set, 3, -1, CHAN_OP_SEND, NULL, 0));
	EXPECT_EQ(0, kc_selset_ctl(self->set, 3, -1, CHAN_OP_RECV, NULL, 0));
	ctl_unchanged(_metadata, self, "valid nil ops");
}

TEST_F(ctl, index_at_max_select_cases_einval)
{
	unsigned long maxc = kc_param("max_select_cases", 0);
	unsigned long bad[4];
	struct chan_selset_wait w;
	unsigned int i;

	ASSERT_LT(1, maxc) TH_LOG("cannot read max_select_cases");
	ASSERT_GE(0xffffffffUL, maxc);
	bad[0] = maxc;
	bad[1] = maxc + 1;
	bad[2] = 0x80000000UL;
	bad[3] = 0xffffffffUL;
	for (i = 0; i < 4; i++) {
		if (bad[i] > 0xffffffffUL)
			continue;
		EXPECT_EQ(-EINVAL, kc_selset_ctl(self->set, bad[i], self->x,
						 CHAN_OP_RECV, self->bx, 16))
			TH_LOG("index %lu", bad[i]);
		EXPECT_EQ(-EINVAL, kc_selset_ctl(self->set, bad[i], self->y,
						 CHAN_OP_SEND, "y", 1))
			TH_LOG("index %lu", bad[i]);
		EXPECT_EQ(-EINVAL, kc_selset_nil(self->set, bad[i]))
			TH_LOG("nil index %lu", bad[i]);
	}
	ctl_unchanged(_metadata, self, "index >= max");
	/* the last index below the limit is a case like any other */
	memset(self->bx, 0, sizeof(self->bx));
	ASSERT_EQ(0, kc_selset_ctl(self->set, maxc - 1, self->x, CHAN_OP_RECV,
				   self->bx, 16));
	EXPECT_EQ((int)(maxc - 1), ss_wait(self->set, 0, &w));
	EXPECT_EQ(1, w.ok);
	EXPECT_EQ(1, w.len);
	EXPECT_EQ('x', self->bx[0]);
	EXPECT_EQ(0, kc_selset_nil(self->set, maxc - 1));
	EXPECT_EQ(-EAGAIN, ss_wait(self->set, 0, &w));
}

TEST_F(ctl, ebadf_not_a_channel)
{
	int p[2], efd, epfd, other, nul, gone, i, n = 0, bad[16];
	unsigned int index;

	ASSERT_EQ(0, pipe(p));
	efd = eventfd(0, EFD_CLOEXEC);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	other = ss_create();
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, efd);
	ASSERT_LE(0, epfd);
	ASSERT_LE(0, other);
	ASSERT_LE(0, nul);
	ASSERT_LE(0, kc_devfd());
	gone = dup(p[0]);		/* a number that is not open */
	ASSERT_LE(0, gone);
	close(gone);
	bad[n++] = -2;
	bad[n++] = -1000;
	bad[n++] = INT_MIN;
	bad[n++] = p[0];
	bad[n++] = p[1];
	bad[n++] = efd;
	bad[n++] = epfd;
	bad[n++] = nul;
	bad[n++] = kc_devfd();
	bad[n++] = other;		/* another set */
	bad[n++] = self->set;		/* the set itself */
	bad[n++] = gone;
	bad[n++] = INT_MAX;
	for (i = 0; i < n; i++) {
		for (index = 0; index < 2; index++) {
			EXPECT_EQ(-EBADF, kc_selset_ctl(self->set, index, bad[i],
							CHAN_OP_RECV, self->bx, 16))
				TH_LOG("fd %d recv case %u", bad[i], index);
			EXPECT_EQ(-EBADF, kc_selset_ctl(self->set, index, bad[i],
							CHAN_OP_SEND, "y", 1))
				TH_LOG("fd %d send case %u", bad[i], index);
		}
	}
	ctl_unchanged(_metadata, self, "EBADF");
	close(p[0]);
	close(p[1]);
	close(efd);
	close(epfd);
	close(other);
	close(nul);
}

TEST_F(ctl, ebadf_without_the_right)
{
	int x_so = kc_dup(self->x, CHAN_RIGHT_SEND);
	int y_ro = kc_dup(self->y, CHAN_RIGHT_RECV);
	int x_ro = kc_dup(self->x, CHAN_RIGHT_RECV);
	int y_so = kc_dup(self->y, CHAN_RIGHT_SEND);
	struct chan_selset_wait w;
	unsigned int index;

	ASSERT_LE(0, x_so);
	ASSERT_LE(0, y_ro);
	ASSERT_LE(0, x_ro);
	ASSERT_LE(0, y_so);
	for (index = 0; index < 2; index++) {
		EXPECT_EQ(-EBADF, kc_selset_ctl(self->set, index, x_so, CHAN_OP_RECV,
						self->bx, 16)) TH_LOG("case %u", index);
		EXPECT_EQ(-EBADF, kc_selset_ctl(self->set, index, y_ro, CHAN_OP_SEND,
						"y", 1)) TH_LOG("case %u", index);
	}
	ctl_unchanged(_metadata, self, "wrong rights");
	/* the handles with the right work */
	memset(self->bx, 0, sizeof(self->bx));
	ASSERT_EQ(0, kc_selset_ctl(self->set, 1, x_ro, CHAN_OP_RECV, self->bx, 16));
	EXPECT_EQ(1, ss_wait(self->set, 0, &w));
	EXPECT_EQ('x', self->bx[0]);
	ASSERT_EQ(0, kc_selset_ctl(self->set, 1, y_so, CHAN_OP_SEND, "y", 1));
	EXPECT_EQ(1, ss_wait(self->set, 0, &w));
	EXPECT_EQ(1, w.ok);
	EXPECT_EQ(1, KC_INFO(self->y, len));
	close(x_so);
	close(y_ro);
	close(x_ro);
	close(y_so);
}

TEST_F(ctl, send_longer_than_msg_size_emsgsize)
{
	static char big[64] = "0123456789abcdefXYZ";
	uint64_t lens[] = { 17, 64, 1ULL << 32, ~0ULL };
	struct chan_selset_wait w;
	unsigned int i, index;
	size_t len = 0;
	char got[16];

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (index = 0; index < 2; index++) {
			EXPECT_EQ(-EMSGSIZE, kc_selset_ctl(self->set, index, self->y,
							   CHAN_OP_SEND, big, lens[i]))
				TH_LOG("len %llu case %u",
				       (unsigned long long)lens[i], index);
		}
	}
	ctl_unchanged(_metadata, self, "EMSGSIZE");
	/* exactly msg_size is fine */
	ASSERT_EQ(0, kc_selset_ctl(self->set, 1, self->y, CHAN_OP_SEND, big, 16));
	EXPECT_EQ(1, ss_wait(self->set, 0, &w));
	EXPECT_EQ(16, w.len);
	ASSERT_EQ(1, kc_recv(self->y, got, sizeof(got), &len, 0));
	EXPECT_EQ(16, len);
	EXPECT_EQ(0, memcmp(got, big, 16));
	/* a recv buffer larger than msg_size is fine (clamped) */
	memset(self->bx, 0, sizeof(self->bx));
	ASSERT_EQ(0, kc_selset_ctl(self->set, 1, self->x, CHAN_OP_RECV, self->bx,
				   1ULL << 40));
	EXPECT_EQ(1, ss_wait(self->set, 0, &w));
	EXPECT_EQ(1, w.len);
	EXPECT_EQ('x', self->bx[0]);
}

/* Fill buf with a ctl struct of the given size: case 1, recv on x. */
static void ctl_sized(FIXTURE_DATA(ctl) *self, unsigned char *buf,
		      uint32_t size, unsigned int index, long tail)
{
	struct chan_selset_ctl c;

	memset(buf, 0, 3 * PAGE);
	kc_selset_ctl_init(&c, index, self->x, CHAN_OP_RECV, self->bx,
			   sizeof(self->bx));
	c.size = size;
	memcpy(buf, &c, sizeof(c));
	if (tail >= 0)
		buf[tail] = 1;
}

TEST_F(ctl, size_walk)
{
	unsigned char *buf = calloc(1, 3 * PAGE);
	void *hole = kc_page_none();
	struct chan_selset_wait w;
	const uint32_t v0 = CHAN_SELSET_CTL_SIZE_VER0;
	int index;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, hole);
	for (index = 0; index < 2; index++) {
		ctl_sized(self, buf, 0, index, -1);
		EXPECT_EQ(-EINVAL, kc_selset_ctl_raw(self->set, buf));
		ctl_sized(self, buf, 4, index, -1);
		EXPECT_EQ(-EINVAL, kc_selset_ctl_raw(self->set, buf));
		ctl_sized(self, buf, v0 - 1, index, -1);
		EXPECT_EQ(-EINVAL, kc_selset_ctl_raw(self->set, buf));
		ctl_sized(self, buf, v0 + 8, index, v0 + 3);
		EXPECT_EQ(-E2BIG, kc_selset_ctl_raw(self->set, buf));
		ctl_sized(self, buf, PAGE, index, PAGE - 1);
		EXPECT_EQ(-E2BIG, kc_selset_ctl_raw(self->set, buf));
		ctl_sized(self, buf, PAGE + 8, index, -1);
		EXPECT_EQ(-E2BIG, kc_selset_ctl_raw(self->set, buf));
	}
	EXPECT_EQ(-EFAULT, kc_selset_ctl_raw(self->set, NULL));
	EXPECT_EQ(-EFAULT, kc_selset_ctl_raw(self->set, hole));
	ctl_unchanged(_metadata, self, "size walk");

	/* the exact size, and larger ones with a zero tail, work */
	ctl_sized(self, buf, v0, 1, -1);
	EXPECT_EQ(0, kc_selset_ctl_raw(self->set, buf));
	EXPECT_EQ(1, ss_wait(self->set, 0, &w));
	EXPECT_EQ('x', self->bx[0]);
	ASSERT_EQ(0, kc_send(self->x, "x", 1, 0));
	ctl_sized(self, buf, v0 + 8, 2, -1);
	EXPECT_EQ(0, kc_selset_ctl_raw(self->set, buf));
	EXPECT_EQ(0, kc_selset_nil(self->set, 1));
	EXPECT_EQ(2, ss_wait(self->set, 0, &w));
	ASSERT_EQ(0, kc_send(self->x, "x", 1, 0));
	ctl_sized(self, buf, PAGE, 3, -1);
	EXPECT_EQ(0, kc_selset_ctl_raw(self->set, buf));
	EXPECT_EQ(0, kc_selset_nil(self->set, 2));
	EXPECT_EQ(3, ss_wait(self->set, 0, &w));
	free(buf);
}

/* buf is only used by a wait: a bad one is accepted by ctl. */
TEST_F(ctl, buf_not_dereferenced_at_ctl_time)
{
	void *hole = kc_page_none();
	struct chan_selset_wait w;

	ASSERT_NE(NULL, hole);
	EXPECT_EQ(0, kc_selset_ctl(self->set, 1, self->y, CHAN_OP_SEND, hole, 4));
	EXPECT_EQ(0, kc_selset_ctl(self->set, 2, self->x, CHAN_OP_RECV, NULL, 16));
	EXPECT_EQ(0, kc_selset_ctl(self->set, 3, self->x, CHAN_OP_RECV, (void *)1, 16));
	/* both ready, both bad: whichever is chosen fails, nothing moves */
	EXPECT_EQ(-EFAULT, ss_wait(self->set, 0, &w));
	EXPECT_EQ(0, kc_selset_nil(self->set, 1));
	EXPECT_EQ(0, kc_selset_nil(self->set, 2));
	EXPECT_EQ(0, kc_selset_nil(self->set, 3));
	EXPECT_EQ(0, KC_INFO(self->y, sent));
	EXPECT_EQ(0, KC_INFO(self->x, received));
	ctl_unchanged(_metadata, self, "bad buffers, cleared");
}

/*
 * The bytes a set stages: sum over its cases of min(len, msg_size), at
 * most max_select_bytes (ENOBUFS). Replacing a case swaps its share, nil-ing
 * it frees it, a failed ctl changes nothing.
 */
TEST(ctl_enobufs_max_select_bytes)
{
	unsigned long maxb = kc_param("max_select_bytes", 0);
	unsigned long maxc = kc_param("max_select_cases", 0);
	unsigned long msz = kc_param("max_msg_size", 0), k, rem, i;
	int ch, small, set = ss_create();
	struct chan_selset_wait w;
	char *buf;

	alarm(TEST_ALARM);
	ASSERT_LT(0, maxb);
	ASSERT_LT(0, maxc);
	ASSERT_LT(8, msz);
	k = maxb / msz;		/* k full-size cases fit */
	rem = maxb - k * msz;
	if (k + 4 > maxc)
		SKIP(return, "max_select_bytes needs more than max_select_cases");
	ch = kc_create(0, msz);
	small = kc_create(1, 8);
	buf = malloc(msz);
	ASSERT_LE(0, set);
	ASSERT_LE(0, ch);
	ASSERT_LE(0, small);
	ASSERT_NE(NULL, buf);
	/*
	 * Cases 0..k-1 take msz each: even ones are recvs with a buffer four
	 * times msg_size (clamped), odd ones sends of msg_size bytes.
	 */
	for (i = 0; i < k; i++) {
		if (i % 2) {
			ASSERT_EQ(0, kc_selset_ctl(set, i, ch, CHAN_OP_SEND, buf, msz))
				TH_LOG("case %lu", i);
		} else {
			ASSERT_EQ(0, kc_selset_ctl(set, i, ch, CHAN_OP_RECV, buf, 4 * msz))
				TH_LOG("case %lu", i);
		}
	}
	if (rem) {
		ASSERT_EQ(0, kc_selset_ctl(set, k, ch, CHAN_OP_RECV, buf, rem));
	}
	/* the set is at the limit: one byte more fails */
	EXPECT_EQ(-ENOBUFS, kc_selset_ctl(set, k + 1, ch, CHAN_OP_RECV, buf, 1));
	EXPECT_EQ(-ENOBUFS, kc_selset_ctl(set, k + 1, ch, CHAN_OP_SEND, buf, 1));
	/* a recv on a small channel counts its msg_size, not its len */
	EXPECT_EQ(-ENOBUFS, kc_selset_ctl(set, k + 1, small, CHAN_OP_RECV, buf, 1ULL << 40));
	/* nil cases cost nothing */
	EXPECT_EQ(0, kc_selset_nil(set, k + 1));
	EXPECT_EQ(0, kc_selset_nil(set, k + 2));
	/* replacing a case swaps its share: same size still fits */
	EXPECT_EQ(0, kc_selset_ctl(set, 0, ch, CHAN_OP_SEND, buf, msz));
	EXPECT_EQ(0, kc_selset_ctl(set, 0, ch, CHAN_OP_RECV, buf, msz));
	/* growing a case past the limit fails and changes nothing */
	EXPECT_EQ(0, kc_selset_ctl(set, 0, ch, CHAN_OP_RECV, buf, msz - 8));
	EXPECT_EQ(0, kc_selset_ctl(set, k + 1, small, CHAN_OP_RECV, buf, 1ULL << 40));
	EXPECT_EQ(-ENOBUFS, kc_selset_ctl(set, 0, ch, CHAN_OP_RECV, buf, msz));
	EXPECT_EQ(-ENOBUFS, kc_selset_ctl(set, k + 2, ch, CHAN_OP_RECV, buf, 1));
	/* ... and left case k + 1 registered: it fires */
	ASSERT_EQ(0, kc_send(small, "s", 1, 0));
	EXPECT_EQ((int)(k + 1), ss_wait(set, 0, &w));
	EXPECT_EQ(1, w.ok);
	/* nil-ing a case frees its share */
	EXPECT_EQ(0, kc_selset_nil(set, 1));
	EXPECT_EQ(0, kc_selset_ctl(set, k + 2, ch, CHAN_OP_RECV, buf, msz));
	EXPECT_EQ(-ENOBUFS, kc_selset_ctl(set, k + 3, ch, CHAN_OP_RECV, buf, 1));
	/* clearing everything makes room for everything */
	for (i = 0; i <= k + 2; i++) {
		ASSERT_EQ(0, kc_selset_nil(set, i));
	}
	for (i = 0; i < k; i++) {
		ASSERT_EQ(0, kc_selset_ctl(set, i + 3, ch, CHAN_OP_RECV, buf, msz));
	}
	close(set);
	close(ch);
	close(small);
	free(buf);
}

/* ---- CTL: nil cases, replacing a case ------------------------------------ */

TEST(ctl_nil_cases)
{
	unsigned long maxc = kc_param("max_select_cases", 4096);
	int ch = kc_create(2, 4), set = ss_create();
	struct chan_selset_wait w;
	uint32_t v = 0;

	alarm(TEST_ALARM);
	ASSERT_LE(0, ch);
	ASSERT_LE(0, set);
	/* never-set indices may be made nil, the set stays empty */
	EXPECT_EQ(0, kc_selset_nil(set, 0));
	EXPECT_EQ(0, kc_selset_nil(set, 7));
	EXPECT_EQ(0, kc_selset_nil(set, maxc - 1));
	EXPECT_EQ(-EAGAIN, ss_wait(set, 0, &w));
	EXPECT_EQ(-ETIMEDOUT, ss_wait(set, MS(30), &w));
	/* a case above nil ones */
	ASSERT_EQ(0, kc_selset_ctl(set, 5, ch, CHAN_OP_RECV, &v, 4));
	ASSERT_EQ(0, kc_send_u32(ch, 11, 0));
	EXPECT_EQ(5, ss_wait(set, 0, &w));
	EXPECT_EQ(11, v);
	/* nil-ing it: it no longer fires, the message stays */
	ASSERT_EQ(0, kc_send_u32(ch, 12, 0));
	EXPECT_EQ(0, kc_selset_nil(set, 5));
	EXPECT_EQ(-EAGAIN, ss_wait(set, 0, &w));
	EXPECT_EQ(1, KC_INFO(ch, len));
	EXPECT_EQ(0, kc_selset_nil(set, 5));
	/* set again */
	ASSERT_EQ(0, kc_selset_ctl(set, 5, ch, CHAN_OP_RECV, &v, 4));
	EXPECT_EQ(5, ss_wait(set, 0, &w));
	EXPECT_EQ(12, v);
	/* nil-ing a lower index leaves the higher case alone */
	ASSERT_EQ(0, kc_send_u32(ch, 13, 0));
	EXPECT_EQ(0, kc_selset_nil(set, 3));
	EXPECT_EQ(0, kc_selset_nil(set, 6));
	EXPECT_EQ(5, ss_wait(set, 0, &w));
	EXPECT_EQ(13, v);
	close(set);
	close(ch);
}

TEST(ctl_replace_case)
{
	int a = kc_create(2, 4), b = kc_create(2, 4), set = ss_create();
	uint32_t v1 = 0, v2 = 0, v3 = 0, out = 4, got;
	struct chan_selset_wait w;

	alarm(TEST_ALARM);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_LE(0, set);
	/* another channel */
	ASSERT_EQ(0, kc_selset_ctl(set, 0, a, CHAN_OP_RECV, &v1, 4));
	ASSERT_EQ(0, kc_selset_ctl(set, 0, b, CHAN_OP_RECV, &v1, 4));
	ASSERT_EQ(0, kc_send_u32(a, 1, 0));
	EXPECT_EQ(-EAGAIN, ss_wait(set, 0, &w));
	EXPECT_EQ(1, KC_INFO(a, len));
	ASSERT_EQ(0, kc_send_u32(b, 2, 0));
	EXPECT_EQ(0, ss_wait(set, 0, &w));
	EXPECT_EQ(2, v1);
	/* another buffer */
	ASSERT_EQ(0, kc_selset_ctl(set, 0, b, CHAN_OP_RECV, &v2, 4));
	ASSERT_EQ(0, kc_send_u32(b, 3, 0));
	EXPECT_EQ(0, ss_wait(set, 0, &w));
	EXPECT_EQ(3, v2);
	EXPECT_EQ(2, v1);
	/* another op: a send on a (room for one more) */
	ASSERT_EQ(0, kc_selset_ctl(set, 0, a, CHAN_OP_SEND, &out, 4));
	EXPECT_EQ(0, ss_wait(set, 0, &w));
	EXPECT_EQ(1, w.ok);
	EXPECT_EQ(4, w.len);
	EXPECT_EQ(2, KC_INFO(a, len));
	EXPECT_EQ(-EAGAIN, ss_wait(set, 0, &w));	/* a is full */
	ASSERT_EQ(1, kc_recv_u32(a, &got, 0));
	EXPECT_EQ(1, got);
	ASSERT_EQ(1, kc_recv_u32(a, &got, 0));
	EXPECT_EQ(4, got);
	/* another len: a 2-byte buffer is too small for a 4-byte message */
	ASSERT_EQ(0, kc_selset_ctl(set, 0, a, CHAN_OP_RECV, &v3, 2));
	ASSERT_EQ(0, kc_send_u32(a, 5, 0));
	EXPECT_EQ(-EMSGSIZE, ss_wait(set, 0, &w));
	EXPECT_EQ(4, w.len);
	EXPECT_EQ(0, v3);
	ASSERT_EQ(0, kc_selset_ctl(set, 0, a, CHAN_OP_RECV, &v3, 4));
	EXPECT_EQ(0, ss_wait(set, 0, &w));
	EXPECT_EQ(5, v3);
	close(set);
	close(a);
	close(b);
}

/* ---- WAIT: struct, flags -------------------------------------------------- */

TEST(wait_unknown_flags_einval)
{
	int ch = kc_create(1, 4), set = ss_create(), bit, r;
	struct chan_selset_wait w;
	uint32_t v = 0;

	alarm(TEST_ALARM);
	ASSERT_LE(0, ch);
	ASSERT_LE(0, set);
	ASSERT_EQ(0, kc_send_u32(ch, 9, 0));
	ASSERT_EQ(0, kc_selset_ctl(set, 0, ch, CHAN_OP_RECV, &v, 4));
	for (bit = 0; bit < 32; bit++) {
		kc_selset_wait_init(&w, 0);
		w.flags = 1U << bit;
		r = ioctl(set, CHAN_IOC_SELSET_WAIT, &w);
		EXPECT_EQ(-1, r) TH_LOG("flag bit %d", bit);
		EXPECT_EQ(EINVAL, errno) TH_LOG("flag bit %d", bit);
	}
	EXPECT_EQ(1, KC_INFO(ch, len));
	EXPECT_EQ(0, v);
	EXPECT_EQ(0, ss_wait(set, 0, &w));
	EXPECT_EQ(9, v);
	close(set);
	close(ch);
}

/* A wait struct of the given size at buf (timeout 0). */
static int wait_sized(int set, unsigned char *buf, uint32_t size, long tail)
{
	struct chan_selset_wait w;
	int r;

	memset(buf, 0, 3 * PAGE);
	kc_selset_wait_init(&w, 0);
	w.size = size;
	memcpy(buf, &w, sizeof(w));
	if (tail >= 0)
		buf[tail] = 1;
	r = ioctl(set, CHAN_IOC_SELSET_WAIT, buf);
	return r < 0 ? -errno : r;
}

TEST(wait_size_walk)
{
	unsigned char *buf = calloc(1, 3 * PAGE);
	const uint32_t v0 = CHAN_SELSET_WAIT_SIZE_VER0;
	int ch = kc_create(4, 4), set = ss_create();
	struct chan_selset_wait *w = (void *)buf;
	void *hole = kc_page_none();
	uint32_t v = 0;

	alarm(TEST_ALARM);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, hole);
	ASSERT_LE(0, ch);
	ASSERT_LE(0, set);
	ASSERT_EQ(0, kc_send_u32(ch, 1, 0));
	ASSERT_EQ(0, kc_send_u32(ch, 2, 0));
	ASSERT_EQ(0, kc_send_u32(ch, 3, 0));
	ASSERT_EQ(0, kc_selset_ctl(set, 0, ch, CHAN_OP_RECV, &v, 4));
	EXPECT_EQ(-EINVAL, wait_sized(set, buf, 0, -1));
	EXPECT_EQ(-EINVAL, wait_sized(set, buf, 4, -1));
	EXPECT_EQ(-EINVAL, wait_sized(set, buf, v0 - 1, -1));
	EXPECT_EQ(-E2BIG, wait_sized(set, buf, v0 + 8, v0 + 7));
	EXPECT_EQ(-E2BIG, wait_sized(set, buf, PAGE, PAGE - 1));
	EXPECT_EQ(-E2BIG, wait_sized(set, buf, PAGE + 8, -1));
	EXPECT_EQ(-1, ioctl(set, CHAN_IOC_SELSET_WAIT, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(set, CHAN_IOC_SELSET_WAIT, hole));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(3, KC_INFO(ch, len));
	EXPECT_EQ(0, v);
	/* exact, and larger with a zero tail */
	EXPECT_EQ(0, wait_sized(set, buf, v0, -1));
	EXPECT_EQ(0, w->index);
	EXPECT_EQ(1, w->ok);
	EXPECT_EQ(4, w->len);
	EXPECT_EQ(1, v);
	EXPECT_EQ(0, wait_sized(set, buf, v0 + 8, -1));
	EXPECT_EQ(0, w->index);
	EXPECT_EQ(2, v);
	EXPECT_EQ(0, wait_sized(set, buf, PAGE, -1));
	EXPECT_EQ(3, v);
	EXPECT_EQ(0, KC_INFO(ch, len));
	free(buf);
	close(set);
	close(ch);
}

/* ---- WAIT: a ready case fires ------------------------------------------- */

TEST(wait_ready_recv_fires_with_data)
{
	int e = kc_create(1, 16), u = kc_create(0, 16), d = kc_create(2, 16);
	char be[16], bu[16], bd[16];
	struct chan_selset_wait w;
	int set = ss_create();

	alarm(TEST_ALARM);
	ASSERT_LE(0, e);
	ASSERT_LE(0, u);
	ASSERT_LE(0, d);
	ASSERT_LE(0, set);
	memset(be, 0xaa, sizeof(be));
	memset(bu, 0xaa, sizeof(bu));
	memset(bd, 0xaa, sizeof(bd));
	ASSERT_EQ(0, kc_selset_ctl(set, 0, e, CHAN_OP_RECV, be, sizeof(be)));
	ASSERT_EQ(0, kc_selset_ctl(set, 1, u, CHAN_OP_RECV, bu, sizeof(bu)));
	ASSERT_EQ(0, kc_selset_ctl(set, 2, d, CHAN_OP_RECV, bd, sizeof(bd)));
	ASSERT_EQ(0, kc_selset_nil(set, 3));
	EXPECT_EQ(-EAGAIN, ss_wait(set, 0, &w));
	ASSERT_EQ(0, kc_send(d, "hello", 5, 0));
	EXPECT_EQ(2, ss_wait(set, 0, &w));
	EXPECT_EQ(1, w.ok);
	EXPECT_EQ(5, w.len);
	EXPECT_EQ(0, memcmp(bd, "hello", 5));
	EXPECT_EQ((char)0xaa, bd[5]);	/* only the message was written */
	EXPECT_EQ((char)0xaa, be[0]);
	EXPECT_EQ((char)0xaa, bu[0]);
	EXPECT_EQ(0, KC_INFO(d, len));
	EXPECT_EQ(1, KC_INFO(d, received));
	/* the same set again, an empty message this time */
	ASSERT_EQ(0, kc_send(d, "", 0, 0));
	EXPECT_EQ(2, ss_wait(set, -1, &w));
	EXPECT_EQ(1, w.ok);
	EXPECT_EQ(0, w.len);
	EXPECT_EQ(-EAGAIN, ss_wait(set, 0, &w));
	close(set);
	close(e);
	close(u);
	close(d);
}

/* A send case reads its data at wait time, and reports its len. */
TEST(wait_ready_send_reads_buf_at_wait_time)
{
	int ch = kc_create(1, 8), f = kc_create(1, 8), set = ss_create();
	struct chan_selset_wait w;
	char msg[8] = "before", got[8];
	size_t len = 0;

	alarm(TEST_ALARM);
	ASSERT_LE(0, ch);
	ASSERT_LE(0, f);
	ASSERT_LE(0, set);
	ASSERT_EQ(0, kc_send(f, "full", 4, 0));
	ASSERT_EQ(0, kc_selset_ctl(set, 0, f, CHAN_OP_SEND, "never", 5));
	ASSERT_EQ(0, kc_selset_ctl(set, 1, ch, CHAN_OP_SEND, msg, 6));
	memcpy(msg, "after!", 6);
	EXPECT_EQ(1, ss_wait(set, 0, &w));
	EXPECT_EQ(1, w.ok);
	EXPECT_EQ(6, w.len);
	EXPECT_EQ(1, KC_INFO(ch, sent));
	EXPECT_EQ(-EAGAIN, ss_wait(set, 0, &w));	/* both full now */
	ASSERT_EQ(1, kc_recv(ch, got, sizeof(got), &len, 0));
	EXPECT_EQ(6, len);
	EXPECT_EQ(0, memcmp(got, "after!", 6));
	memcpy(msg, "third!", 6);
	EXPECT_EQ(1, ss_wait(set, 0, &w));
	ASSERT_EQ(1, kc_recv(ch, got, sizeof(got), &len, 0));
	EXPECT_EQ(0, memcmp(got, "third!", 6));
	EXPECT_EQ(1, KC_INFO(f, len));
	EXPECT_EQ(1, KC_INFO(f, sent));
	close(set);
	close(ch);
	close(f);
}

TEST(wait_recv_closed_channel_ok0_after_drain)
{
	int ch = kc_create(2, 4), set = ss_create(), i;
	struct chan_selset_wait w;
	uint32_t v = 0;

	alarm(TEST_ALARM);
	ASSERT_LE(0, ch);
	ASSERT_LE(0, set);
	ASSERT_EQ(0, kc_send_u32(ch, 1, 0));
	ASSERT_EQ(0, kc_send_u32(ch, 2, 0));
	ASSERT_EQ(0, kc_close(ch));
	ASSERT_EQ(0, kc_selset_ctl(set, 0, ch, CHAN_OP_RECV, &v, 4));
	EXPECT_EQ(0, ss_wait(set, 0, &w));
	EXPECT_EQ(1, w.ok);
	EXPECT_EQ(1, v);
	EXPECT_EQ(0, ss_wait(set, 0, &w));
	EXPECT_EQ(1, w.ok);
	EXPECT_EQ(2, v);
	for (i = 0; i < 3; i++) {
		v = 77;
		EXPECT_EQ(0, ss_wait(set, i == 2 ? -1 : 0, &w));
		EXPECT_EQ(0, w.ok);
		EXPECT_EQ(77, v);
	}
	EXPECT_EQ(2, KC_INFO(ch, received));
	close(set);
	close(ch);
}

TEST(wait_send_closed_channel_ok0_nothing_sent)
{
	int ch = kc_create(2, 4), h = kc_create(2, 4), set = ss_create(), so;
	struct chan_selset_wait w;
	uint32_t v = 3;

	alarm(TEST_ALARM);
	ASSERT_LE(0, ch);
	ASSERT_LE(0, h);
	ASSERT_LE(0, set);
	ASSERT_EQ(0, kc_close(ch));
	ASSERT_EQ(0, kc_selset_ctl(set, 0, ch, CHAN_OP_SEND, &v, 4));
	EXPECT_EQ(0, ss_wait(set, -1, &w));
	EXPECT_EQ(0, w.ok);
	EXPECT_EQ(0, KC_INFO(ch, sent));
	EXPECT_EQ(0, KC_INFO(ch, len));
	/* no recv-capable handle left: a send fails EPIPE, the case ok 0 */
	so = kc_dup(h, CHAN_RIGHT_SEND);
	ASSERT_LE(0, so);
	close(h);
	ASSERT_EQ(0, kc_selset_ctl(set, 0, so, CHAN_OP_SEND, &v, 4));
	EXPECT_EQ(0, ss_wait(set, -1, &w));
	EXPECT_EQ(0, w.ok);
	EXPECT_EQ(0, KC_INFO(so, sent));
	close(set);
	close(ch);
	close(so);
}

/* A parked wait is woken by a close in another process: ok 0. */
TEST(wait_woken_by_close_ok0)
{
	int ch = kc_create(0, 4), e = kc_create(1, 4), set = ss_create();
	struct chan_selset_wait w;
	uint32_t v = 0, ve = 0;
	pid_t pid;

	alarm(TEST_ALARM);
	ASSERT_LE(0, ch);
	ASSERT_LE(0, e);
	ASSERT_LE(0, set);
	ASSERT_EQ(0, kc_selset_ctl(set, 0, e, CHAN_OP_RECV, &ve, 4));
	ASSERT_EQ(0, kc_selset_ctl(set, 1, ch, CHAN_OP_RECV, &v, 4));
	pid = kc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		CHILD_CHECK(KC_WAIT(ch, recv_waiters, 1) == 0, 10);
		CHILD_CHECK(kc_close(ch) == 0, 11);
		_exit(0);
	}
	EXPECT_EQ(1, ss_wait(set, -1, &w));
	EXPECT_EQ(0, w.ok);
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(0, KC_INFO(e, recv_waiters));
	close(set);
	close(ch);
	close(e);
}

TEST(wait_recv_buffer_too_small_emsgsize_message_stays)
{
	int ch = kc_create(2, 16), u = kc_create(0, 16), set = ss_create();
	struct chan_selset_wait w;
	char small[4], big[16];
	size_t len = 0;
	pid_t pid;

	alarm(TEST_ALARM);
	ASSERT_LE(0, ch);
	ASSERT_LE(0, u);
	ASSERT_LE(0, set);

	/* a buffered message */
	ASSERT_EQ(0, kc_send(ch, "0123456789", 10, 0));
	ASSERT_EQ(0, kc_selset_ctl(set, 0, ch, CHAN_OP_RECV, small, sizeof(small)));
	EXPECT_EQ(-EMSGSIZE, ss_wait(set, -1, &w));
	EXPECT_EQ(10, w.len);
	TH_LOG("index after EMSGSIZE: %d", w.index);
	EXPECT_EQ(1, KC_INFO(ch, len));
	EXPECT_EQ(0, KC_INFO(ch, received));
	/* a buffer of the right size takes it */
	ASSERT_EQ(0, kc_selset_ctl(set, 0, ch, CHAN_OP_RECV, big, 10));
	memset(big, 0, sizeof(big));
	EXPECT_EQ(0, ss_wait(set, 0, &w));
	EXPECT_EQ(1, w.ok);
	EXPECT_EQ(10, w.len);
	EXPECT_EQ(0, memcmp(big, "0123456789", 10));

	/* a parked sender keeps its message */
	pid = kc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(kc_send(u, "abcdefghij", 10, MS(20000)) ? 10 : 0);
	ASSERT_EQ(0, KC_WAIT(u, send_waiters, 1));
	ASSERT_EQ(0, kc_selset_ctl(set, 0, u, CHAN_OP_RECV, small, sizeof(small)));
	EXPECT_EQ(-EMSGSIZE, ss_wait(set, -1, &w));
	EXPECT_EQ(10, w.len);
	EXPECT_EQ(1, KC_INFO(u, send_waiters));
	EXPECT_EQ(0, KC_INFO(u, sent));
	ASSERT_EQ(1, kc_recv(u, big, sizeof(big), &len, MS(10000)));
	EXPECT_EQ(10, len);
	EXPECT_EQ(0, memcmp(big, "abcdefghij", 10));
	EXPECT_EQ(0, kc_reap(pid));

	/* a parked set wait with a small buffer fails; the sender keeps it */
	pid = kc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct chan_selset_wait cw;
		int r = ss_wait(set, MS(20000), &cw);

		CHILD_CHECK(r == -EMSGSIZE, 10);
		CHILD_CHECK(cw.len == 10, 11);
		_exit(0);
	}
	ASSERT_EQ(0, KC_WAIT(u, recv_waiters, 1));
	EXPECT_EQ(-EAGAIN, kc_send(u, "ABCDEFGHIJ", 10, 0));
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(1, KC_INFO(u, sent));	/* the one of the parked sender */
	EXPECT_EQ(0, KC_INFO(u, recv_waiters));
	close(set);
	close(ch);
	close(u);
}

/* ---- WAIT: nothing ready ------------------------------------------------- */

/*
 * Nothing ready: an empty channel, a full one, and both sides of one
 * unbuffered channel (a wait never meets itself). EAGAIN for timeout 0,
 * ETIMEDOUT after at least the timeout; nothing moves, nobody stays parked.
 */
TEST(wait_nothing_ready_eagain_etimedout)
{
	int e = kc_create(1, 4), f = kc_create(1, 4), u = kc_create(0, 4);
	int fds[3] = { e, f, u }, set = ss_create(), i;
	int64_t timeouts[] = { 1, MS(100), MS(300) };
	uint32_t ve = 0, vu = 0, out = 8;
	struct chan_selset_wait w;
	int64_t t0, el;

	alarm(TEST_ALARM);
	ASSERT_LE(0, e);
	ASSERT_LE(0, f);
	ASSERT_LE(0, u);
	ASSERT_LE(0, set);
	ASSERT_EQ(0, kc_send_u32(f, 9, 0));
	ASSERT_EQ(0, kc_selset_ctl(set, 0, e, CHAN_OP_RECV, &ve, 4));
	ASSERT_EQ(0, kc_selset_ctl(set, 1, f, CHAN_OP_SEND, &out, 4));
	ASSERT_EQ(0, kc_selset_ctl(set, 2, u, CHAN_OP_RECV, &vu, 4));
	ASSERT_EQ(0, kc_selset_ctl(set, 3, u, CHAN_OP_SEND, &out, 4));
	ASSERT_EQ(0, kc_selset_nil(set, 4));
	EXPECT_EQ(-EAGAIN, ss_wait(set, 0, &w));
	EXPECT_EQ(-1, w.index);
	for (i = 0; i < 3; i++) {
		t0 = kc_now_ns();
		EXPECT_EQ(-ETIMEDOUT, ss_wait(set, timeouts[i], &w));
		el = kc_now_ns() - t0;
		EXPECT_EQ(-1, w.index);
		EXPECT_LE(timeouts[i], el);
		EXPECT_GT(timeouts[i] + MS(2000), el);
		EXPECT_EQ(0, kc_waiters_sum(fds, 3));
	}
	EXPECT_EQ(1, KC_INFO(f, len));
	EXPECT_EQ(1, KC_INFO(f, sent));
	EXPECT_EQ(0, KC_INFO(u, sent));
	EXPECT_EQ(0, ve);
	EXPECT_EQ(0, vu);
	close(set);
	close(e);
	close(f);
	close(u);
}

/* A set without non-nil cases: EAGAIN, ETIMEDOUT (Go's empty select). */
TEST(wait_empty_set_times_out)
{
	int set = ss_create(), ch = kc_create(1, 4), round;
	struct chan_selset_wait w;
	int64_t t0, el;
	uint32_t v;

	alarm(TEST_ALARM);
	ASSERT_LE(0, set);
	ASSERT_LE(0, ch);
	for (round = 0; round < 2; round++) {
		if (round) {	/* cases that were set, then nil-ed */
			ASSERT_EQ(0, kc_selset_ctl(set, 0, ch, CHAN_OP_RECV, &v, 4));
			ASSERT_EQ(0, kc_selset_ctl(set, 3, ch, CHAN_OP_SEND, &v, 4));
			ASSERT_EQ(0, kc_selset_nil(set, 0));
			ASSERT_EQ(0, kc_selset_nil(set, 3));
		}
		EXPECT_EQ(-EAGAIN, ss_wait(set, 0, &w));
		t0 = kc_now_ns();
		EXPECT_EQ(-ETIMEDOUT, ss_wait(set, MS(100), &w));
		el = kc_now_ns() - t0;
		EXPECT_LE(MS(100), el);
		EXPECT_GT(MS(2100), el);
	}
	EXPECT_EQ(0, KC_INFO(ch, len));
	close(set);
	close(ch);
}

/*
 * An empty set waits forever: only a signal ends it (EINTR without
 * SA_RESTART). The child signals every 100 ms once the parent sleeps, until
 * the parent says it is back.
 */
TEST(wait_empty_set_forever_until_signal)
{
	int set = ss_create(), round;
	struct chan_selset_wait w;
	pid_t parent = getpid(), pid;
	int64_t t0, el;

	alarm(TEST_ALARM);
	ASSERT_LE(0, set);
	kc_hits = kc_shared(PAGE);
	ASSERT_NE(NULL, kc_hits);
	ASSERT_EQ(0, kc_sigaction(SIGUSR1, kc_on_usr1, 0));
	for (round = 0; round < 2; round++) {
		kc_hits[1] = 0;
		if (round) {
			ASSERT_EQ(0, kc_selset_nil(set, 2));
		}
		pid = kc_fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			int i;

			CHILD_CHECK(kc_wait_sleeping(parent) == 0, 10);
			kc_sleep_ms(300);
			for (i = 0; i < 100 && !kc_hits[1]; i++) {
				kill(parent, SIGUSR1);
				kc_sleep_ms(100);
			}
			_exit(kc_hits[1] ? 0 : 11);
		}
		t0 = kc_now_ns();
		EXPECT_EQ(-EINTR, ss_wait(set, -1, &w));
		el = kc_now_ns() - t0;
		kc_hits[1] = 1;
		EXPECT_EQ(0, kc_reap(pid));
		EXPECT_LE(MS(250), el);
	}
	close(set);
}

/* ---- WAIT: a uniformly random choice among the ready cases ---------------- */

/*
 * n waits (timeout 0) over a set of ncases cases in which those listed in
 * ready[] (k of them) are always ready and every other one is a recv on an
 * empty channel. Each ready case must fire about n/k times, and the choice
 * must change from one wait to the next about (n-1)(k-1)/k times: always
 * the first (or last) ready case fails the first bound, a round robin the
 * second. Bounds are +-7 standard deviations.
 */
/*
 * k of ncases cases ready (the others on an empty channel), n waits with
 * timeout 0: the ready ones fire about equally often, in a changing order.
 * With @late the recv cases are registered before their channels get
 * their messages, so the ready list learns of them by wakeups only.
 */
static void fairness_(struct __test_metadata *_metadata, const int *ready,
		      int k, int ncases, int n, int send, int late)
{
	int e = kc_create(1, 4), set = ss_create(), ch[8], cnt[8] = { 0 };
	int i, j, r, prev = -1, switches = 0, which[64];
	uint32_t bufs[64], out[8];
	struct chan_selset_wait w;
	double p, sd, mean;

	ASSERT_LE(0, e);
	ASSERT_LE(0, set);
	ASSERT_GE(8, k);
	ASSERT_GE(64, ncases);
	for (i = 0; i < ncases; i++) {
		which[i] = -1;
		ASSERT_EQ(0, kc_selset_ctl(set, i, e, CHAN_OP_RECV, &bufs[i], 4));
	}
	for (j = 0; j < k; j++) {
		ch[j] = kc_create(n, 4);
		ASSERT_LE(0, ch[j]);
		which[ready[j]] = j;
		out[j] = 1000000 * (j + 1);
		if (send) {
			ASSERT_EQ(0, kc_selset_ctl(set, ready[j], ch[j], CHAN_OP_SEND,
						   &out[j], 4));
			continue;
		}
		if (late)
			ASSERT_EQ(0, kc_selset_ctl(set, ready[j], ch[j],
						   CHAN_OP_RECV,
						   &bufs[ready[j]], 4));
		for (i = 0; i < n; i++) {
			ASSERT_EQ(0, kc_send_u32(ch[j], out[j] + i, 0));
		}
		if (!late)
			ASSERT_EQ(0, kc_selset_ctl(set, ready[j], ch[j],
						   CHAN_OP_RECV,
						   &bufs[ready[j]], 4));
	}
	for (i = 0; i < n; i++) {
		r = ss_wait(set, 0, &w);
		ASSERT_LE(0, r) TH_LOG("wait %d", i);
		ASSERT_GT(ncases, r);
		j = which[r];
		ASSERT_LE(0, j) TH_LOG("case %d fired, it is not ready", r);
		ASSERT_EQ(1, w.ok);
		/* recv: each channel's messages in order */
		if (!send) {
			ASSERT_EQ(out[j] + cnt[j], bufs[r]);
		}
		cnt[j]++;
		if (prev >= 0 && r != prev)
			switches++;
		prev = r;
	}
	p = 1.0 / k;
	mean = n * p;
	sd = root(n * p * (1 - p));
	for (j = 0; j < k; j++) {
		TH_LOG("case %d fired %d of %d times", ready[j], cnt[j], n);
		EXPECT_LE(mean - 7 * sd, cnt[j]);
		EXPECT_GE(mean + 7 * sd, cnt[j]);
		EXPECT_EQ(send ? cnt[j] : n - cnt[j], KC_INFO(ch[j], len));
	}
	p = (double)(k - 1) / k;
	mean = (n - 1) * p;
	sd = root((n - 1) * p * (1 - p));
	TH_LOG("the choice changed %d times (expected about %.0f)", switches,
	       mean);
	EXPECT_LE(mean - 7 * sd, switches);
	EXPECT_GE(mean + 7 * sd, switches);
	EXPECT_EQ(0, KC_INFO(e, len));
	for (j = 0; j < k; j++)
		close(ch[j]);
	close(e);
	close(set);
}

static void fairness(struct __test_metadata *_metadata, const int *ready,
		     int k, int ncases, int n, int send)
{
	fairness_(_metadata, ready, k, ncases, n, send, 0);
}

TEST(random_choice_two_ready_recv_cases)
{
	const int ready[] = { 0, 7 };

	alarm(TEST_ALARM);
	fairness(_metadata, ready, 2, 8, 400, 0);
}

TEST(random_choice_two_ready_send_cases)
{
	const int ready[] = { 2, 3 };

	alarm(TEST_ALARM);
	fairness(_metadata, ready, 2, 6, 400, 1);
}

TEST(random_choice_three_ready_among_twelve)
{
	const int ready[] = { 1, 4, 11 };

	alarm(TEST_ALARM);
	fairness(_metadata, ready, 3, 12, 600, 0);
}

/* The ready list learns of these by wakeups (registered while empty). */
TEST(random_choice_four_ready_by_wakeups)
{
	const int ready[] = { 0, 9, 31, 63 };

	alarm(TEST_ALARM);
	fairness_(_metadata, ready, 4, 64, 800, 0, 1);
}

/* ---- WAIT: EFAULT with nothing moved ------------------------------------- */

TEST(efault_bad_send_buffer_nothing_moved)
{
	int r = kc_create(1, 8), u = kc_create(0, 8), set = ss_create();
	char *edge = kc_page_then_hole();
	void *hole = kc_page_none();
	struct chan_selset_wait w;
	uint32_t v;
	pid_t pid;

	alarm(TEST_ALARM);
	ASSERT_LE(0, r);
	ASSERT_LE(0, u);
	ASSERT_LE(0, set);
	ASSERT_NE(NULL, hole);
	ASSERT_NE(NULL, edge);
	ASSERT_EQ(0, kc_selset_ctl(set, 0, r, CHAN_OP_SEND, hole, 4));
	EXPECT_EQ(-EFAULT, ss_wait(set, 0, &w));
	ASSERT_EQ(0, kc_selset_ctl(set, 0, r, CHAN_OP_SEND, NULL, 4));
	EXPECT_EQ(-EFAULT, ss_wait(set, -1, &w));
	/* straddling into the hole */
	ASSERT_EQ(0, kc_selset_ctl(set, 0, r, CHAN_OP_SEND, edge + PAGE - 4, 8));
	EXPECT_EQ(-EFAULT, ss_wait(set, 0, &w));
	EXPECT_EQ(0, KC_INFO(r, len));
	EXPECT_EQ(0, KC_INFO(r, sent));
	/* the last readable bytes before the hole are fine */
	memcpy(edge + PAGE - 4, "EDGE", 4);
	ASSERT_EQ(0, kc_selset_ctl(set, 0, r, CHAN_OP_SEND, edge + PAGE - 4, 4));
	EXPECT_EQ(0, ss_wait(set, 0, &w));
	ASSERT_EQ(1, kc_recv_u32(r, &v, 0));
	EXPECT_EQ(0, memcmp(&v, "EDGE", 4));

	/* to a receiver parked on an unbuffered channel */
	pid = kc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char b[8];

		_exit(kc_recv(u, b, sizeof(b), NULL, MS(1500)) == -ETIMEDOUT ?
		      0 : 10);
	}
	ASSERT_EQ(0, KC_WAIT(u, recv_waiters, 1));
	ASSERT_EQ(0, kc_selset_ctl(set, 0, u, CHAN_OP_SEND, hole, 4));
	EXPECT_EQ(-EFAULT, ss_wait(set, -1, &w));
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(0, KC_INFO(u, sent));
	EXPECT_EQ(0, KC_INFO(u, received));
	close(set);
	close(r);
	close(u);
}

TEST(efault_bad_recv_buffer_message_stays)
{
	int d = kc_create(1, 8), u = kc_create(0, 8), set = ss_create();
	void *ro = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	char *edge = kc_page_then_hole();
	void *hole = kc_page_none();
	struct chan_selset_wait w;
	size_t len = 0;
	char buf[8];
	pid_t pid;

	alarm(TEST_ALARM);
	ASSERT_LE(0, d);
	ASSERT_LE(0, u);
	ASSERT_LE(0, set);
	ASSERT_NE(NULL, hole);
	ASSERT_NE(NULL, edge);
	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_EQ(0, kc_send(d, "DATA", 4, 0));
	ASSERT_EQ(0, kc_selset_ctl(set, 0, d, CHAN_OP_RECV, hole, 8));
	EXPECT_EQ(-EFAULT, ss_wait(set, 0, &w));
	ASSERT_EQ(0, kc_selset_ctl(set, 0, d, CHAN_OP_RECV, NULL, 8));
	EXPECT_EQ(-EFAULT, ss_wait(set, -1, &w));
	ASSERT_EQ(0, kc_selset_ctl(set, 0, d, CHAN_OP_RECV, ro, 8));
	EXPECT_EQ(-EFAULT, ss_wait(set, 0, &w));
	ASSERT_EQ(0, kc_selset_ctl(set, 0, d, CHAN_OP_RECV, edge + PAGE - 2, 8));
	EXPECT_EQ(-EFAULT, ss_wait(set, 0, &w));
	EXPECT_EQ(1, KC_INFO(d, len));
	EXPECT_EQ(0, KC_INFO(d, received));
	ASSERT_EQ(0, kc_selset_ctl(set, 0, d, CHAN_OP_RECV, buf, sizeof(buf)));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(0, ss_wait(set, 0, &w));
	EXPECT_EQ(4, w.len);
	EXPECT_EQ(0, memcmp(buf, "DATA", 4));

	/* a parked sender keeps its message */
	pid = kc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(kc_send(u, "PEER", 4, MS(20000)) ? 10 : 0);
	ASSERT_EQ(0, KC_WAIT(u, send_waiters, 1));
	ASSERT_EQ(0, kc_selset_ctl(set, 0, u, CHAN_OP_RECV, hole, 8));
	EXPECT_EQ(-EFAULT, ss_wait(set, -1, &w));
	EXPECT_EQ(1, KC_INFO(u, send_waiters));
	EXPECT_EQ(0, KC_INFO(u, sent));
	ASSERT_EQ(1, kc_recv(u, buf, sizeof(buf), &len, MS(10000)));
	EXPECT_EQ(0, memcmp(buf, "PEER", 4));
	EXPECT_EQ(0, kc_reap(pid));
	close(set);
	close(d);
	close(u);
}

/* ---- WAIT: blocking, woken by other processes ---------------------------- */

TEST(blocking_wait_woken_by_sender_process)
{
	int a = kc_create(1, 8), b = kc_create(1, 8), u = kc_create(0, 8);
	int fds[3] = { a, b, u }, set = ss_create(), round;
	char ba[8], bb[8], bu[8];
	struct chan_selset_wait w;
	pid_t pid;

	alarm(TEST_ALARM);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_LE(0, u);
	ASSERT_LE(0, set);
	ASSERT_EQ(0, kc_selset_ctl(set, 0, a, CHAN_OP_RECV, ba, sizeof(ba)));
	ASSERT_EQ(0, kc_selset_ctl(set, 1, b, CHAN_OP_RECV, bb, sizeof(bb)));
	ASSERT_EQ(0, kc_selset_ctl(set, 2, u, CHAN_OP_RECV, bu, sizeof(bu)));
	/* rounds: buffered b, unbuffered u; forever, then timed */
	for (round = 0; round < 4; round++) {
		int target = round % 2 ? u : b;

		pid = kc_fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			CHILD_CHECK(KC_WAIT(a, recv_waiters, 1) == 0, 10);
			CHILD_CHECK(KC_WAIT(b, recv_waiters, 1) == 0, 11);
			CHILD_CHECK(KC_WAIT(u, recv_waiters, 1) == 0, 12);
			CHILD_CHECK(kc_send(target, "wake", 4, MS(10000)) == 0, 13);
			_exit(0);
		}
		memset(bb, 0, sizeof(bb));
		memset(bu, 0, sizeof(bu));
		EXPECT_EQ(round % 2 ? 2 : 1,
			  ss_wait(set, round < 2 ? -1 : MS(20000), &w));
		EXPECT_EQ(1, w.ok);
		EXPECT_EQ(4, w.len);
		EXPECT_EQ(0, memcmp(round % 2 ? bu : bb, "wake", 4));
		EXPECT_EQ(0, kc_reap(pid));
		EXPECT_EQ(0, kc_waiters_sum(fds, 3));
		EXPECT_EQ(0, KC_INFO(target, len));
	}
	EXPECT_EQ(0, KC_INFO(a, received));
	close(set);
	close(a);
	close(b);
	close(u);
}

/*
 * Unbuffered rendezvous between a set wait in this process and, in another
 * process, a CHAN_IOC_SELECT or a wait on a set of its own; the set sends
 * or receives; either side parks first (the other then uses timeout 0, so
 * it must find the parked one as a partner).
 */
FIXTURE(rdv) {
	int unused;
};

FIXTURE_VARIANT(rdv) {
	int peer_is_set;	/* else CHAN_IOC_SELECT */
	int set_sends;
};

FIXTURE_VARIANT_ADD(rdv, set_sends_to_select) {
	.peer_is_set = 0, .set_sends = 1,
};
FIXTURE_VARIANT_ADD(rdv, set_recvs_from_select) {
	.peer_is_set = 0, .set_sends = 0,
};
FIXTURE_VARIANT_ADD(rdv, set_sends_to_set) {
	.peer_is_set = 1, .set_sends = 1,
};
FIXTURE_VARIANT_ADD(rdv, set_recvs_from_set) {
	.peer_is_set = 1, .set_sends = 0,
};

FIXTURE_SETUP(rdv)
{
	(void)self;
	alarm(TEST_ALARM);
}

FIXTURE_TEARDOWN(rdv)
{
	(void)self;
}

/* The peer's side: one op on u (the opposite of the set's). Exit code. */
static int rdv_peer(int u, int peer_is_set, int peer_sends, int64_t timeout)
{
	unsigned int op = peer_sends ? CHAN_OP_SEND : CHAN_OP_RECV;
	static const char msg[] = "from-peer";
	uint32_t ok = SENTINEL;
	uint64_t len = 0;
	char buf[16];
	int r;

	memset(buf, 0, sizeof(buf));
	if (peer_is_set) {
		struct chan_selset_wait w;
		int set = ss_create(), e = kc_create(1, 4);
		uint32_t ve;

		if (set < 0 || e < 0)
			return 20;
		/* and a case that never fires */
		if (kc_selset_ctl(set, 0, e, CHAN_OP_RECV, &ve, 4))
			return 21;
		if (kc_selset_ctl(set, 1, u, op, peer_sends ? msg : buf,
				  peer_sends ? 9 : sizeof(buf)))
			return 22;
		r = ss_wait(set, timeout, &w);
		if (r != 1)
			return 23;
		ok = w.ok;
		len = w.len;
	} else {
		r = sel1(u, op, peer_sends ? msg : buf,
			 peer_sends ? 9 : sizeof(buf), timeout, &ok, &len);
		if (r != 0)
			return 24;
	}
	if (ok != 1)
		return 25;
	if (peer_sends)
		return len == 9 ? 0 : 26;
	if (len != 8 || memcmp(buf, "from-set", 8))
		return 27;
	return 0;
}

TEST_F(rdv, both_orders)
{
	int sends = variant->set_sends, order;

	for (order = 0; order < 2; order++) {
		int u = kc_create(0, 16), e = kc_create(1, 16);
		int set = ss_create(), fds[2] = { u, e };
		unsigned int op = sends ? CHAN_OP_SEND : CHAN_OP_RECV;
		struct chan_selset_wait w;
		char buf[16], be[16];
		pid_t pid;

		ASSERT_LE(0, u);
		ASSERT_LE(0, e);
		ASSERT_LE(0, set);
		memset(buf, 0, sizeof(buf));
		ASSERT_EQ(0, kc_selset_ctl(set, 0, e, CHAN_OP_RECV, be, sizeof(be)));
		ASSERT_EQ(0, kc_selset_ctl(set, 1, u, op, sends ? "from-set" : buf,
					   sends ? 8 : sizeof(buf)));
		pid = kc_fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			if (order == 0) {
				/* the set parks first */
				if (sends)
					CHILD_CHECK(KC_WAIT(u, send_waiters, 1) == 0, 10);
				else
					CHILD_CHECK(KC_WAIT(u, recv_waiters, 1) == 0, 11);
				_exit(rdv_peer(u, variant->peer_is_set, !sends, 0));
			}
			_exit(rdv_peer(u, variant->peer_is_set, !sends,
				       MS(20000)));
		}
		if (order == 0) {
			EXPECT_EQ(1, ss_wait(set, -1, &w)) TH_LOG("set first");
		} else {
			/* the peer parks first */
			if (sends) {
				ASSERT_EQ(0, KC_WAIT(u, recv_waiters, 1));
			} else {
				ASSERT_EQ(0, KC_WAIT(u, send_waiters, 1));
			}
			EXPECT_EQ(1, ss_wait(set, 0, &w)) TH_LOG("peer first");
		}
		EXPECT_EQ(1, w.ok);
		if (sends) {
			EXPECT_EQ(8, w.len);
		} else {
			EXPECT_EQ(9, w.len);
			EXPECT_EQ(0, memcmp(buf, "from-peer", 9));
		}
		EXPECT_EQ(0, kc_reap(pid)) TH_LOG("order %d", order);
		EXPECT_EQ(1, KC_INFO(u, sent));
		EXPECT_EQ(1, KC_INFO(u, received));
		EXPECT_EQ(0, kc_waiters_sum(fds, 2));
		close(set);
		close(u);
		close(e);
	}
}

/* ---- WAIT: signals -------------------------------------------------------- */

TEST(eintr_without_sa_restart_nothing_moved)
{
	int e = kc_create(1, 8), u = kc_create(0, 8), fds[2] = { e, u };
	int set = ss_create(), round;
	pid_t parent = getpid(), pid;
	struct chan_selset_wait w;
	char buf[8];

	alarm(TEST_ALARM);
	ASSERT_LE(0, e);
	ASSERT_LE(0, u);
	ASSERT_LE(0, set);
	kc_hits = kc_shared(PAGE);
	ASSERT_NE(NULL, kc_hits);
	ASSERT_EQ(0, kc_sigaction(SIGUSR1, kc_on_usr1, 0));
	ASSERT_EQ(0, kc_selset_ctl(set, 0, e, CHAN_OP_RECV, buf, sizeof(buf)));
	ASSERT_EQ(0, kc_selset_ctl(set, 1, u, CHAN_OP_SEND, "u", 1));
	for (round = 0; round < 2; round++) {
		pid = kc_fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			CHILD_CHECK(KC_WAIT(e, recv_waiters, 1) == 0, 10);
			CHILD_CHECK(KC_WAIT(u, send_waiters, 1) == 0, 11);
			kill(parent, SIGUSR1);
			_exit(0);
		}
		/* forever, then with a long timeout */
		EXPECT_EQ(-EINTR, ss_wait(set, round ? MS(30000) : -1, &w));
		EXPECT_EQ(round + 1, *kc_hits);
		EXPECT_EQ(0, kc_reap(pid));
		EXPECT_EQ(0, kc_waiters_sum(fds, 2));
		EXPECT_EQ(0, KC_INFO(u, sent));
		EXPECT_EQ(-EAGAIN, kc_recv(u, buf, sizeof(buf), NULL, 0));
	}
	/* the set still works */
	ASSERT_EQ(0, kc_send(e, "e", 1, 0));
	EXPECT_EQ(0, ss_wait(set, 0, &w));
	close(set);
	close(e);
	close(u);
}

/* With SA_RESTART the wait continues and completes with the message. */
TEST(sa_restart_untimed_completes)
{
	int e = kc_create(1, 8), u = kc_create(0, 8), fds[2] = { e, u };
	pid_t parent = getpid(), pid;
	struct chan_selset_wait w;
	int set = ss_create();
	char be[8], bu[8];

	alarm(TEST_ALARM);
	ASSERT_LE(0, e);
	ASSERT_LE(0, u);
	ASSERT_LE(0, set);
	kc_hits = kc_shared(PAGE);
	ASSERT_NE(NULL, kc_hits);
	ASSERT_EQ(0, kc_sigaction(SIGUSR1, kc_on_usr1, 1));
	ASSERT_EQ(0, kc_selset_ctl(set, 0, e, CHAN_OP_RECV, be, sizeof(be)));
	ASSERT_EQ(0, kc_selset_ctl(set, 1, u, CHAN_OP_RECV, bu, sizeof(bu)));
	pid = kc_fork();
	ASSERT_LE(0, pid);
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
	EXPECT_EQ(1, ss_wait(set, -1, &w));
	EXPECT_EQ(1, w.ok);
	EXPECT_EQ(4, w.len);
	EXPECT_EQ(0, memcmp(bu, "late", 4));
	EXPECT_EQ(3, *kc_hits);
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(0, kc_waiters_sum(fds, 2));
	EXPECT_EQ(1, KC_INFO(u, received));
	close(set);
	close(e);
	close(u);
}

/*
 * With SA_RESTART a timed wait keeps its deadline across restarts (as
 * chan_select_test's sa_restart_timed_keeps_deadline: signals every 500 ms
 * while parked, only those that hit the wait count).
 */
TEST(sa_restart_timed_keeps_deadline)
{
	const int64_t timeout = MS(4000);
	int e = kc_create(1, 8), u = kc_create(0, 8), fds[2] = { e, u };
	pid_t parent = getpid(), pid;
	struct chan_selset_wait w;
	struct kc_restart *sh;
	int set = ss_create();
	int64_t t0, el, margin;
	char be[8];

	alarm(TEST_ALARM);
	ASSERT_LE(0, e);
	ASSERT_LE(0, u);
	ASSERT_LE(0, set);
	kc_hits = kc_shared(PAGE);
	ASSERT_NE(NULL, kc_hits);
	sh = kc_shared(sizeof(*sh));
	ASSERT_NE(NULL, sh);
	ASSERT_EQ(0, kc_sigaction(SIGUSR1, kc_on_usr1, 1));
	ASSERT_EQ(0, kc_selset_ctl(set, 0, e, CHAN_OP_RECV, be, sizeof(be)));
	ASSERT_EQ(0, kc_selset_ctl(set, 1, u, CHAN_OP_SEND, "u", 1));
	pid = kc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		kc_restart_signaller(parent, e, u, 4, 500, sh);
	t0 = kc_now_ns();
	EXPECT_EQ(-ETIMEDOUT, ss_wait(set, timeout, &w));
	el = kc_now_ns() - t0;
	__atomic_store_n(&sh->stop, 1, __ATOMIC_SEQ_CST);
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_LE(timeout, el);
	margin = kc_restart_margin(sh, t0, el, timeout, 2);
	EXPECT_NE(INT64_MIN, margin) TH_LOG("fewer than 2 signals hit the wait");
	EXPECT_LT(MS(300), margin);
	TH_LOG("timeout %lld ms, %d signals, waited %lld ms, %lld ms below the bound of a full restart",
	       (long long)(timeout / 1000000), *kc_hits,
	       (long long)(el / 1000000), (long long)(margin / 1000000));
	EXPECT_EQ(0, kc_waiters_sum(fds, 2));
	EXPECT_EQ(0, KC_INFO(u, sent));
	close(set);
	close(e);
	close(u);
}

/*
 * The time left is written back into timeout_ns when a signal restarts
 * the wait: after a restart ~300 ms in, a wait of 20 s that then completes
 * finds less than 19.75 s (and more than 0) in its struct.
 */
TEST(sa_restart_writes_time_left_back)
{
	const int64_t timeout = MS(20000);
	int e = kc_create(1, 8), set = ss_create();
	pid_t parent = getpid(), pid;
	struct chan_selset_wait w;
	char be[8];
	int r;

	alarm(TEST_ALARM);
	ASSERT_LE(0, e);
	ASSERT_LE(0, set);
	kc_hits = kc_shared(PAGE);
	ASSERT_NE(NULL, kc_hits);
	ASSERT_EQ(0, kc_sigaction(SIGUSR1, kc_on_usr1, 1));
	ASSERT_EQ(0, kc_selset_ctl(set, 0, e, CHAN_OP_RECV, be, sizeof(be)));
	pid = kc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		CHILD_CHECK(KC_WAIT(e, recv_waiters, 1) == 0, 10);
		kc_sleep_ms(300);
		kill(parent, SIGUSR1);
		CHILD_CHECK(kc_wait_hits(1) == 0, 11);
		CHILD_CHECK(KC_WAIT(e, recv_waiters, 1) == 0, 12);
		CHILD_CHECK(kc_send(e, "done", 4, 0) == 0, 13);
		_exit(0);
	}
	kc_selset_wait_init(&w, timeout);
	r = ioctl(set, CHAN_IOC_SELSET_WAIT, &w);
	EXPECT_EQ(0, ss_wait_check(r < 0 ? -errno : r, &w));
	EXPECT_EQ(1, w.ok);
	EXPECT_EQ(1, *kc_hits);
	TH_LOG("timeout_ns after one restart: %lld", (long long)w.timeout_ns);
	EXPECT_LT(0, w.timeout_ns);
	EXPECT_GT(timeout - MS(250), w.timeout_ns);
	EXPECT_EQ(0, kc_reap(pid));
	close(set);
	close(e);
}

/* ---- concurrent waits on one set ------------------------------------------ */

#define CONC_N 1000

struct conc {
	uint32_t count[CONC_N];
	uint32_t got[2];
	uint32_t bad;
};

/* Longer than the harness's 30 s default: a fixture for the timeout. */
FIXTURE(conc) {
	int unused;
};

FIXTURE_VARIANT(conc) {
	unsigned int cap;
};

FIXTURE_VARIANT_ADD(conc, unbuffered) {
	.cap = 0,
};

FIXTURE_VARIANT_ADD(conc, buffered) {
	.cap = 8,
};

FIXTURE_SETUP(conc)
{
	(void)self;
}

FIXTURE_TEARDOWN(conc)
{
	(void)self;
}

/*
 * Two processes wait on the same set fd (inherited through fork) with one
 * recv case; this process sends 0..N-1 and then closes the channel. Both
 * waits park at once (INFO shows two receivers), every message arrives
 * exactly once, and both see the close (ok 0).
 */
TEST_F_TIMEOUT(conc, concurrent_waits_exactly_once, 300)
{
	struct conc *sh = kc_shared(sizeof(struct conc));
	int ch = kc_create(variant->cap, 4), set = ss_create(), i;
	static uint32_t v;
	pid_t pid[2];
	long long total = 0;

	alarm(280);
	ASSERT_NE(NULL, sh);
	ASSERT_LE(0, ch);
	ASSERT_LE(0, set);
	ASSERT_EQ(0, kc_selset_ctl(set, 0, ch, CHAN_OP_RECV, &v, 4));
	for (i = 0; i < 2; i++) {
		pid[i] = kc_fork();
		ASSERT_LE(0, pid[i]);
		if (pid[i] == 0) {
			struct chan_selset_wait w;
			int r;

			alarm(250);
			for (;;) {
				r = ss_wait(set, -1, &w);
				CHILD_CHECK(r == 0, 10);
				if (!w.ok)
					break;
				CHILD_CHECK(w.len == 4 && v < CONC_N, 11);
				__atomic_fetch_add(&sh->count[v], 1,
						   __ATOMIC_RELAXED);
				sh->got[i]++;
			}
			_exit(0);
		}
	}
	/* both waits parked at the same time on the one set */
	ASSERT_EQ(0, KC_WAIT(ch, recv_waiters, 2));
	for (i = 0; i < CONC_N; i++) {
		ASSERT_EQ(0, kc_send_u32(ch, i, MS(20000))) TH_LOG("message %d", i);
	}
	ASSERT_EQ(0, kc_close(ch));
	EXPECT_EQ(0, kc_reap(pid[0]));
	EXPECT_EQ(0, kc_reap(pid[1]));
	TH_LOG("the two waiters got %u and %u", sh->got[0], sh->got[1]);
	for (i = 0; i < CONC_N; i++) {
		if (sh->count[i] != 1) {
			TH_LOG("message %d received %u times", i, sh->count[i]);
			ASSERT_EQ(1, sh->count[i]);
		}
		total += sh->count[i];
	}
	EXPECT_EQ(CONC_N, total);
	EXPECT_EQ(CONC_N, KC_INFO(ch, received));
	EXPECT_EQ(0, KC_INFO(ch, recv_waiters));
	close(set);
	close(ch);
}

/*
 * A ctl made while another process waits on the set takes effect at that
 * process's next wait: the wait in progress keeps the old case.
 */
TEST(ctl_during_wait_takes_effect_next_wait)
{
	int a = kc_create(1, 4), b = kc_create(1, 4), set = ss_create();
	static uint32_t v;
	pid_t pid;

	alarm(TEST_ALARM);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_LE(0, set);
	ASSERT_EQ(0, kc_selset_ctl(set, 0, a, CHAN_OP_RECV, &v, 4));
	pid = kc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct chan_selset_wait w;

		CHILD_CHECK(ss_wait(set, MS(20000), &w) == 0, 10);
		CHILD_CHECK(w.ok == 1 && v == 1, 11);	/* a's message */
		CHILD_CHECK(ss_wait(set, 0, &w) == 0, 12);
		CHILD_CHECK(w.ok == 1 && v == 2, 13);	/* b's message */
		_exit(0);
	}
	ASSERT_EQ(0, KC_WAIT(a, recv_waiters, 1));
	ASSERT_EQ(0, kc_selset_ctl(set, 0, b, CHAN_OP_RECV, &v, 4));
	ASSERT_EQ(0, kc_send_u32(b, 2, 0));
	/* the parked wait does not take b's message (a bounded look) */
	kc_sleep_ms(200);
	EXPECT_EQ(1, KC_INFO(b, len));
	EXPECT_EQ(1, KC_INFO(a, recv_waiters));
	ASSERT_EQ(0, kc_send_u32(a, 1, 0));
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(0, KC_INFO(a, len));
	EXPECT_EQ(0, KC_INFO(b, len));
	close(set);
	close(a);
	close(b);
}

/* ---- lifetime: the set's reference to a channel -------------------------- */

/*
 * The set keeps its own reference to the handle a case names: closing the
 * caller's only send fd does not close the channel while the case holds
 * it; nil-ing the case (or closing the set) does.
 */
TEST(set_reference_keeps_channel_open)
{
	struct chan_selset_wait w;
	int round, ch, r, set;
	uint32_t v = 5, got;

	alarm(TEST_ALARM);
	for (round = 0; round < 2; round++) {
		set = ss_create();
		ch = kc_create(1, 4);
		ASSERT_LE(0, set);
		ASSERT_LE(0, ch);
		r = kc_dup(ch, CHAN_RIGHT_RECV);
		ASSERT_LE(0, r);
		ASSERT_EQ(0, kc_selset_ctl(set, 0, ch, CHAN_OP_SEND, &v, 4));
		close(ch);	/* the only send handle, as far as fds go */
		EXPECT_EQ(-EAGAIN, kc_recv_u32(r, &got, 0));
		EXPECT_EQ(0, KC_INFO(r, closed));
		EXPECT_EQ(1, KC_INFO(r, send_handles));
		EXPECT_EQ(0, ss_wait(set, 0, &w));
		if (round == 0) {
			EXPECT_EQ(0, kc_selset_nil(set, 0));
		} else {
			close(set);
		}
		EXPECT_EQ(0, KC_WAIT(r, send_handles, 0));
		EXPECT_EQ(1, KC_INFO(r, closed));
		/* receivers drain, then see closed */
		EXPECT_EQ(1, kc_recv_u32(r, &got, 0));
		EXPECT_EQ(5, got);
		EXPECT_EQ(0, kc_recv_u32(r, &got, -1));
		if (round == 0)
			close(set);
		close(r);
	}
}

/* The same for the recv side: senders do not fail EPIPE while it holds. */
TEST(set_reference_keeps_receiver)
{
	struct chan_selset_wait w;
	int ch = kc_create(2, 4), set = ss_create(), so;
	uint32_t v = 0;

	alarm(TEST_ALARM);
	ASSERT_LE(0, ch);
	ASSERT_LE(0, set);
	so = kc_dup(ch, CHAN_RIGHT_SEND);
	ASSERT_LE(0, so);
	ASSERT_EQ(0, kc_selset_ctl(set, 0, ch, CHAN_OP_RECV, &v, 4));
	close(ch);
	EXPECT_EQ(1, KC_INFO(so, recv_handles));
	EXPECT_EQ(0, kc_send_u32(so, 6, 0));
	EXPECT_EQ(0, ss_wait(set, 0, &w));
	EXPECT_EQ(6, v);
	EXPECT_EQ(0, kc_selset_nil(set, 0));
	EXPECT_EQ(0, KC_WAIT(so, recv_handles, 0));
	EXPECT_EQ(-EPIPE, kc_send_u32(so, 7, 0));
	close(set);
	close(so);
}

/*
 * A case follows the channel it was set on, not the descriptor number: a
 * wait still uses the channel after the caller closed its fd, even when
 * the number now names another channel.
 */
TEST(wait_uses_set_reference_after_fd_closed)
{
	int a = kc_create(2, 4), set = ss_create(), a_so, b, n;
	struct chan_selset_wait w;
	uint32_t v = 0;

	alarm(TEST_ALARM);
	ASSERT_LE(0, a);
	ASSERT_LE(0, set);
	a_so = kc_dup(a, CHAN_RIGHT_SEND);
	ASSERT_LE(0, a_so);
	ASSERT_EQ(0, kc_selset_ctl(set, 0, a, CHAN_OP_RECV, &v, 4));
	n = a;
	close(a);
	b = kc_create(2, 4);
	ASSERT_LE(0, b);
	TH_LOG("closed fd %d, the new channel got fd %d", n, b);
	ASSERT_EQ(0, kc_send_u32(b, 2, 0));
	ASSERT_EQ(0, kc_send_u32(a_so, 1, 0));
	EXPECT_EQ(0, ss_wait(set, 0, &w));
	EXPECT_EQ(1, w.ok);
	EXPECT_EQ(1, v);
	EXPECT_EQ(1, KC_INFO(b, len));
	EXPECT_EQ(-EAGAIN, ss_wait(set, 0, &w));
	close(set);
	close(a_so);
	close(b);
}

/* /proc/kchan: channels held only by a set go when the set lets go. */
TEST(closing_set_drops_every_channel)
{
	int base = kc_kchan_count(), a, b, c, set;
	uint32_t va, vb = 1, vc;

	alarm(TEST_ALARM);
	ASSERT_LE(0, base);
	set = ss_create();
	a = kc_create(1, 4);
	b = kc_create(0, 4);
	c = kc_create(4, 4);
	ASSERT_LE(0, set);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, kc_send_u32(c, 3, 0));
	ASSERT_EQ(0, kc_selset_ctl(set, 0, a, CHAN_OP_RECV, &va, 4));
	ASSERT_EQ(0, kc_selset_ctl(set, 1, b, CHAN_OP_SEND, &vb, 4));
	ASSERT_EQ(0, kc_selset_ctl(set, 2, a, CHAN_OP_SEND, &vb, 4));
	ASSERT_EQ(0, kc_selset_ctl(set, 9, c, CHAN_OP_RECV, &vc, 4));
	EXPECT_EQ(base + 3, kc_kchan_count());
	close(a);
	close(b);
	close(c);
	EXPECT_EQ(base + 3, kc_kchan_count());
	close(set);
	EXPECT_EQ(base, kc_kchan_wait_count(base, KC_WAIT_MS));
}

/* Nil-ing or replacing a case drops its channel; a failed ctl does not. */
TEST(nil_and_replace_drop_the_reference)
{
	int base = kc_kchan_count(), a, b, set;
	struct chan_selset_wait w;
	uint32_t v = 0;

	alarm(TEST_ALARM);
	ASSERT_LE(0, base);
	set = ss_create();
	a = kc_create(1, 4);
	b = kc_create(2, 4);
	ASSERT_LE(0, set);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, kc_send_u32(b, 7, 0));
	ASSERT_EQ(0, kc_selset_ctl(set, 0, a, CHAN_OP_RECV, &v, 4));
	close(a);
	EXPECT_EQ(base + 2, kc_kchan_count());
	/* replacing case 0 drops a */
	ASSERT_EQ(0, kc_selset_ctl(set, 0, b, CHAN_OP_RECV, &v, 4));
	close(b);
	EXPECT_EQ(base + 1, kc_kchan_wait_count(base + 1, KC_WAIT_MS));
	/* a failed ctl on case 0 keeps b */
	EXPECT_EQ(-EBADF, kc_selset_ctl(set, 0, -2, CHAN_OP_RECV, &v, 4));
	EXPECT_EQ(-EINVAL, kc_selset_ctl(set, 0, -1, 0, &v, 4));
	EXPECT_EQ(base + 1, kc_kchan_count());
	EXPECT_EQ(0, ss_wait(set, 0, &w));
	EXPECT_EQ(1, w.ok);
	EXPECT_EQ(7, v);
	/* the set's handle can send, so b is not closed: nothing to take */
	EXPECT_EQ(-EAGAIN, ss_wait(set, 0, &w));
	/* nil-ing case 0 drops b */
	EXPECT_EQ(0, kc_selset_nil(set, 0));
	EXPECT_EQ(base, kc_kchan_wait_count(base, KC_WAIT_MS));
	EXPECT_EQ(-EAGAIN, ss_wait(set, 0, &w));
	close(set);
}

/* ---- a set fd in a message; ioctls on the wrong fd ------------------------- */

TEST(set_fd_cannot_be_passed)
{
	int ch = kc_create_flags(2, 4, CHAN_FDPASS), set = ss_create(), p[2];
	struct chan_msg m;
	uint32_t v = 1;

	alarm(TEST_ALARM);
	ASSERT_LE(0, ch);
	ASSERT_LE(0, set);
	ASSERT_EQ(0, pipe(p));
	/* a set holding a case on the very channel it would travel in */
	ASSERT_EQ(0, kc_selset_ctl(set, 0, ch, CHAN_OP_RECV, &v, 4));
	kc_msg_init(&m, &v, 4, 0);
	m.fd = set;
	EXPECT_EQ(-1, ioctl(ch, CHAN_IOC_SEND, &m));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, kc_selset_nil(set, 0));
	EXPECT_EQ(-1, ioctl(ch, CHAN_IOC_SEND, &m));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, KC_INFO(ch, len));
	EXPECT_EQ(0, KC_INFO(ch, sent));
	/* another kind of fd travels: the refusal is about the set */
	m.fd = p[0];
	EXPECT_EQ(0, ioctl(ch, CHAN_IOC_SEND, &m));
	EXPECT_EQ(1, KC_INFO(ch, len));
	close(p[0]);
	close(p[1]);
	close(set);
	close(ch);
}

/* A set fd is no channel: a CHAN_IOC_SELECT case on it is EBADF. */
TEST(set_fd_in_a_select_case_ebadf)
{
	int set = ss_create(), ch = kc_create(1, 4);
	uint32_t v = 0;

	alarm(TEST_ALARM);
	ASSERT_LE(0, set);
	ASSERT_LE(0, ch);
	EXPECT_EQ(-EBADF, sel1(set, CHAN_OP_RECV, &v, 4, 0, NULL, NULL));
	EXPECT_EQ(-EBADF, sel1(set, CHAN_OP_SEND, &v, 4, 0, NULL, NULL));
	close(set);
	close(ch);
}

TEST(other_ioctls_on_set_fd_enotty)
{
	static const struct {
		unsigned long cmd;
		const char *name;
	} cmds[] = {
		{ CHAN_IOC_CREATE, "CREATE" },
		{ CHAN_IOC_OPEN, "OPEN" },
		{ CHAN_IOC_UNLINK, "UNLINK" },
		{ CHAN_IOC_SEND, "SEND" },
		{ CHAN_IOC_RECV, "RECV" },
		{ CHAN_IOC_CLOSE, "CLOSE" },
		{ CHAN_IOC_INFO, "INFO" },
		{ CHAN_IOC_DUP, "DUP" },
		{ CHAN_IOC_SELECT, "SELECT" },
		{ CHAN_IOC_SELSET_CREATE, "SELSET_CREATE" },
		{ CHAN_IOC_SEND_BATCH, "SEND_BATCH" },
		{ CHAN_IOC_RECV_BATCH, "RECV_BATCH" },
		{ _IO(CHAN_IOC_MAGIC, 0x7f), "unknown 0x7f" },
		{ _IOWR('x', 1, int), "foreign" },
		{ FIONREAD, "FIONREAD" },
	};
	int set = ss_create(), ch = kc_create(1, 4), before;
	unsigned char *buf = calloc(1, PAGE);
	unsigned int i;

	alarm(TEST_ALARM);
	ASSERT_LE(0, set);
	ASSERT_LE(0, ch);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, kc_selset_ctl(set, 0, ch, CHAN_OP_SEND, "s", 1));
	before = next_fd();
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		/* a zeroed struct: size 0 would be EINVAL if it were parsed */
		memset(buf, 0, PAGE);
		EXPECT_EQ(-1, ioctl(set, cmds[i].cmd, buf)) TH_LOG("%s", cmds[i].name);
		EXPECT_EQ(ENOTTY, errno) TH_LOG("%s", cmds[i].name);
	}
	EXPECT_EQ(before, next_fd());
	EXPECT_EQ(0, KC_INFO(ch, len));
	EXPECT_EQ(0, KC_INFO(ch, closed));
	free(buf);
	close(set);
	close(ch);
}

TEST(selset_ioctls_on_channel_or_dev_enotty)
{
	int ch = kc_create(1, 4), set = ss_create(), ro, so, i;
	struct chan_selset_wait w;
	struct chan_selset_ctl c;
	uint32_t v = 0;
	int fds[4];

	alarm(TEST_ALARM);
	ASSERT_LE(0, ch);
	ASSERT_LE(0, set);
	ro = kc_dup(ch, CHAN_RIGHT_RECV);
	so = kc_dup(ch, CHAN_RIGHT_SEND);
	ASSERT_LE(0, ro);
	ASSERT_LE(0, so);
	ASSERT_EQ(0, kc_send_u32(ch, 4, 0));
	fds[0] = ch;
	fds[1] = ro;
	fds[2] = so;
	fds[3] = kc_devfd();
	for (i = 0; i < 4; i++) {
		kc_selset_ctl_init(&c, 0, ch, CHAN_OP_RECV, &v, 4);
		EXPECT_EQ(-1, ioctl(fds[i], CHAN_IOC_SELSET_CTL, &c)) TH_LOG("fd %d", i);
		EXPECT_EQ(ENOTTY, errno) TH_LOG("fd %d", i);
		kc_selset_wait_init(&w, 0);
		EXPECT_EQ(-1, ioctl(fds[i], CHAN_IOC_SELSET_WAIT, &w)) TH_LOG("fd %d", i);
		EXPECT_EQ(ENOTTY, errno) TH_LOG("fd %d", i);
	}
	EXPECT_EQ(1, KC_INFO(ch, len));
	EXPECT_EQ(0, v);
	/* the set itself never got a case */
	EXPECT_EQ(-EAGAIN, ss_wait(set, 0, &w));
	close(ro);
	close(so);
	close(set);
	close(ch);
}

TEST(read_write_on_set_fd_einval)
{
	int set = ss_create(), ch = kc_create(1, 4);
	char buf[8] = "abcd";

	alarm(TEST_ALARM);
	ASSERT_LE(0, set);
	ASSERT_LE(0, ch);
	ASSERT_EQ(0, kc_send(ch, "m", 1, 0));
	ASSERT_EQ(0, kc_selset_ctl(set, 0, ch, CHAN_OP_RECV, buf, sizeof(buf)));
	EXPECT_EQ(-1, read(set, buf, sizeof(buf)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, write(set, buf, 4));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(1, KC_INFO(ch, len));
	EXPECT_EQ('a', buf[0]);
	close(set);
	close(ch);
}

/* ---- the ready list -------------------------------------------------------- */

/*
 * A wait picks among the cases on the set's ready list, fed by the
 * channels' wakeups (selset.c). fdinfo's "ready:" is the number of cases
 * on that list that look ready: a lost wakeup shows as a ready case it
 * does not count, and a wait that finds nothing on the list takes the full
 * scan, so these tests look at both.
 */

/* Registered first, then made ready and unready by each kind of change. */
TEST(ready_list_follows_every_change)
{
	int c[4], f = kc_create(1, 4), set = ss_create(), i, r;
	int fired[5] = { 0 };
	uint32_t v[4], fv = 7, got;
	struct chan_selset_wait w;

	alarm(TEST_ALARM);
	ASSERT_LE(0, f);
	ASSERT_LE(0, set);
	for (i = 0; i < 4; i++) {
		c[i] = kc_create(2, 4);
		ASSERT_LE(0, c[i]);
		ASSERT_EQ(0, kc_selset_ctl(set, i, c[i], CHAN_OP_RECV, &v[i], 4));
	}
	/* case 4: a send on a full channel */
	ASSERT_EQ(0, kc_send_u32(f, 1, 0));
	ASSERT_EQ(0, kc_selset_ctl(set, 4, f, CHAN_OP_SEND, &fv, 4));
	EXPECT_EQ(0, (int)kc_fdinfo_num(set, "ready"));
	EXPECT_EQ(-EAGAIN, ss_wait(set, 0, &w));

	ASSERT_EQ(0, kc_send_u32(c[3], 30, 0));
	EXPECT_EQ(1, (int)kc_fdinfo_num(set, "ready"));
	ASSERT_EQ(0, kc_send_u32(c[3], 31, 0));
	EXPECT_EQ(1, (int)kc_fdinfo_num(set, "ready"));
	ASSERT_EQ(0, kc_send_u32(c[1], 10, 0));
	EXPECT_EQ(2, (int)kc_fdinfo_num(set, "ready"));
	/* a receive frees f's slot: the send case becomes ready */
	ASSERT_EQ(1, kc_recv_u32(f, &got, 0));
	EXPECT_EQ(3, (int)kc_fdinfo_num(set, "ready"));
	/* the send (it refills f: not ready again) and the three messages */
	for (i = 0; i < 4; i++) {
		r = ss_wait(set, 0, &w);
		ASSERT_TRUE(r == 1 || r == 3 || r == 4) TH_LOG("case %d fired", r);
		EXPECT_EQ(1, w.ok);
		fired[r]++;
		if (r == 1)
			EXPECT_EQ(10, v[1]);
		if (r == 3)
			EXPECT_EQ(29 + fired[3], v[3]);	/* in order */
		if (r == 4)
			EXPECT_EQ(1, KC_INFO(f, len));
		EXPECT_EQ((fired[1] < 1) + (fired[3] < 2) + (fired[4] < 1),
			  (int)kc_fdinfo_num(set, "ready"));
	}
	EXPECT_EQ(1, fired[1]);
	EXPECT_EQ(2, fired[3]);
	EXPECT_EQ(1, fired[4]);
	EXPECT_EQ(0, (int)kc_fdinfo_num(set, "ready"));
	EXPECT_EQ(-EAGAIN, ss_wait(set, 0, &w));
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(0, KC_INFO(c[i], len));
		close(c[i]);
	}
	close(f);
	close(set);
}

/*
 * A wait parked on every case is woken by another process's send (a
 * hand-off), and the cases that become ready afterwards, while nobody
 * waits, are on the list for the next wait; both by fork()ed processes.
 */
TEST(ready_while_wait_parked_and_after)
{
	int c[8], fds[8], set = ss_create(), i;
	static uint32_t v[8];
	pid_t pid;

	alarm(TEST_ALARM);
	ASSERT_LE(0, set);
	for (i = 0; i < 8; i++) {
		c[i] = kc_create(1, 4);
		fds[i] = c[i];
		ASSERT_LE(0, c[i]);
		ASSERT_EQ(0, kc_selset_ctl(set, i, c[i], CHAN_OP_RECV, &v[i], 4));
	}
	pid = kc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct chan_selset_wait w;

		CHILD_CHECK(ss_wait(set, -1, &w) == 5, 10);
		CHILD_CHECK(w.ok == 1 && v[5] == 55, 11);
		/* the parent sends on 2, then on 6, while nobody waits */
		CHILD_CHECK(KC_WAIT(c[6], len, 1) == 0, 12);
		CHILD_CHECK((int)kc_fdinfo_num(set, "ready") == 2, 13);
		CHILD_CHECK(ss_wait(set, 0, &w) >= 0, 14);
		CHILD_CHECK(ss_wait(set, 0, &w) >= 0, 15);
		CHILD_CHECK(v[2] == 22 && v[6] == 66, 16);
		CHILD_CHECK((int)kc_fdinfo_num(set, "ready") == 0, 17);
		CHILD_CHECK(ss_wait(set, 0, &w) == -EAGAIN, 18);
		_exit(0);
	}
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, KC_WAIT(c[i], recv_waiters, 1));
	ASSERT_EQ(0, kc_send_u32(c[5], 55, MS(20000)));
	ASSERT_EQ(0, KC_WAIT(c[5], recv_waiters, 0));
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, KC_WAIT(c[i], recv_waiters, 0));
	ASSERT_EQ(0, kc_send_u32(c[2], 22, 0));
	ASSERT_EQ(0, kc_send_u32(c[6], 66, 0));
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(0, kc_waiters_sum(fds, 8));
	for (i = 0; i < 8; i++) {
		EXPECT_EQ(0, KC_INFO(c[i], len));
		close(c[i]);
	}
	close(set);
}

/*
 * A case on the list whose readiness another process consumes before the
 * wait: the wait drops it (EAGAIN, nothing moved), and the next message
 * puts it back.
 */
TEST(readiness_consumed_before_the_wait)
{
	int a = kc_create(4, 4), e = kc_create(1, 4), set = ss_create(), i;
	static uint32_t va, ve;
	struct chan_selset_wait w;
	pid_t pid;

	alarm(TEST_ALARM);
	ASSERT_LE(0, a);
	ASSERT_LE(0, e);
	ASSERT_LE(0, set);
	ASSERT_EQ(0, kc_selset_ctl(set, 0, e, CHAN_OP_RECV, &ve, 4));
	ASSERT_EQ(0, kc_selset_ctl(set, 1, a, CHAN_OP_RECV, &va, 4));
	for (i = 0; i < 20; i++) {
		ASSERT_EQ(0, kc_send_u32(a, 2 * i, 0));
		ASSERT_EQ(1, (int)kc_fdinfo_num(set, "ready"));
		pid = kc_fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			uint32_t got;

			CHILD_CHECK(kc_recv_u32(a, &got, 0) == 1, 10);
			CHILD_CHECK(got == 2 * (uint32_t)i, 11);
			_exit(0);
		}
		ASSERT_EQ(0, kc_reap(pid));
		EXPECT_EQ(0, (int)kc_fdinfo_num(set, "ready"));
		EXPECT_EQ(-EAGAIN, ss_wait(set, 0, &w));
		ASSERT_EQ(0, kc_send_u32(a, 2 * i + 1, 0));
		EXPECT_EQ(1, (int)kc_fdinfo_num(set, "ready"));
		ASSERT_EQ(1, ss_wait(set, 0, &w));
		EXPECT_EQ(2 * i + 1, va);
		EXPECT_EQ(0, KC_INFO(a, len));
	}
	close(a);
	close(e);
	close(set);
}

#define RACE_N 1000

/*
 * One producer process, and two consumers of one channel: this process
 * through a set (blocking waits), another by plain receives. Every message
 * arrives once, whoever takes it, and both see the close.
 */
TEST_F_TIMEOUT(conc, set_and_plain_receiver_race, 300)
{
	uint32_t *count = kc_shared(RACE_N * sizeof(uint32_t));
	int ch = kc_create(variant->cap, 4), e = kc_create(1, 4);
	int set = ss_create(), i, r, mine = 0;
	static uint32_t v, ve;
	struct chan_selset_wait w;
	pid_t prod, cons;
	long long total = 0;

	alarm(280);
	ASSERT_NE(NULL, count);
	ASSERT_LE(0, ch);
	ASSERT_LE(0, e);
	ASSERT_LE(0, set);
	ASSERT_EQ(0, kc_selset_ctl(set, 0, e, CHAN_OP_RECV, &ve, 4));
	ASSERT_EQ(0, kc_selset_ctl(set, 1, ch, CHAN_OP_RECV, &v, 4));
	cons = kc_fork();
	ASSERT_LE(0, cons);
	if (cons == 0) {
		uint32_t got;

		alarm(250);
		while ((r = kc_recv_u32(ch, &got, -1)) == 1) {
			CHILD_CHECK(got < RACE_N, 10);
			__atomic_fetch_add(&count[got], 1, __ATOMIC_RELAXED);
		}
		CHILD_CHECK(r == 0, 11);
		_exit(0);
	}
	prod = kc_fork();
	ASSERT_LE(0, prod);
	if (prod == 0) {
		alarm(250);
		for (i = 0; i < RACE_N; i++)
			CHILD_CHECK(kc_send_u32(ch, i, -1) == 0, 20);
		CHILD_CHECK(kc_close(ch) == 0, 21);
		_exit(0);
	}
	for (;;) {
		r = ss_wait(set, -1, &w);
		ASSERT_EQ(1, r);
		if (!w.ok)
			break;
		ASSERT_GT(RACE_N, v);
		__atomic_fetch_add(&count[v], 1, __ATOMIC_RELAXED);
		mine++;
	}
	EXPECT_EQ(0, kc_reap(prod));
	EXPECT_EQ(0, kc_reap(cons));
	TH_LOG("the set took %d of %d", mine, RACE_N);
	for (i = 0; i < RACE_N; i++) {
		if (count[i] != 1) {
			TH_LOG("message %d received %u times", i, count[i]);
			ASSERT_EQ(1, count[i]);
		}
		total += count[i];
	}
	EXPECT_EQ(RACE_N, total);
	/* closed and drained: ready for good */
	EXPECT_EQ(1, (int)kc_fdinfo_num(set, "ready"));
	close(set);
	close(ch);
	close(e);
}

/*
 * CTL on a case that is on the ready list: replacing it by a case that is
 * not ready, clearing it, registering it again (at its index or another,
 * twice on one channel) or with the other op.
 */
TEST(ctl_on_a_listed_case)
{
	int a = kc_create(2, 4), b = kc_create(2, 4), set = ss_create(), r;
	static uint32_t va, vb, out = 9;
	struct chan_selset_wait w;

	alarm(TEST_ALARM);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_LE(0, set);
	ASSERT_EQ(0, kc_selset_ctl(set, 0, a, CHAN_OP_RECV, &va, 4));
	ASSERT_EQ(0, kc_send_u32(a, 1, 0));
	ASSERT_EQ(1, (int)kc_fdinfo_num(set, "ready"));
	/* replaced by b (empty) */
	ASSERT_EQ(0, kc_selset_ctl(set, 0, b, CHAN_OP_RECV, &vb, 4));
	EXPECT_EQ(0, (int)kc_fdinfo_num(set, "ready"));
	EXPECT_EQ(-EAGAIN, ss_wait(set, 0, &w));
	EXPECT_EQ(1, KC_INFO(a, len));
	/* a again: listed at once, as it is ready */
	ASSERT_EQ(0, kc_selset_ctl(set, 0, a, CHAN_OP_RECV, &va, 4));
	EXPECT_EQ(1, (int)kc_fdinfo_num(set, "ready"));
	/* cleared */
	ASSERT_EQ(0, kc_selset_nil(set, 0));
	EXPECT_EQ(0, (int)kc_fdinfo_num(set, "ready"));
	EXPECT_EQ(-EAGAIN, ss_wait(set, 0, &w));
	/* twice on a, at 3 and 7 */
	ASSERT_EQ(0, kc_selset_ctl(set, 3, a, CHAN_OP_RECV, &va, 4));
	ASSERT_EQ(0, kc_selset_ctl(set, 7, a, CHAN_OP_RECV, &va, 4));
	EXPECT_EQ(2, (int)kc_fdinfo_num(set, "ready"));
	r = ss_wait(set, 0, &w);
	EXPECT_TRUE(r == 3 || r == 7) TH_LOG("case %d fired", r);
	EXPECT_EQ(1, va);
	EXPECT_EQ(0, (int)kc_fdinfo_num(set, "ready"));
	/* 7 becomes a send on a (one free slot now, one after): listed */
	ASSERT_EQ(0, kc_selset_ctl(set, 7, a, CHAN_OP_SEND, &out, 4));
	EXPECT_EQ(1, (int)kc_fdinfo_num(set, "ready"));
	EXPECT_EQ(7, ss_wait(set, 0, &w));
	EXPECT_EQ(1, KC_INFO(a, len));
	/* now 3 (recv, a holds 9) and 7 (send, a has room) */
	EXPECT_EQ(2, (int)kc_fdinfo_num(set, "ready"));
	ASSERT_EQ(0, kc_selset_nil(set, 7));
	EXPECT_EQ(3, ss_wait(set, 0, &w));
	EXPECT_EQ(9, va);
	EXPECT_EQ(0, (int)kc_fdinfo_num(set, "ready"));
	/* a send to b is not news for the set, which has no case on b */
	ASSERT_EQ(0, kc_send_u32(b, 2, 0));
	EXPECT_EQ(0, (int)kc_fdinfo_num(set, "ready"));
	EXPECT_EQ(-EAGAIN, ss_wait(set, 0, &w));
	close(set);
	close(a);
	close(b);
}

/*
 * A listed channel is closed: it stays ready (its messages, then ok 0); a
 * channel closed while not listed becomes ready; so does a send case whose
 * channel loses its last receiver.
 */
TEST(close_of_a_listed_channel)
{
	int a = kc_create(2, 4), b = kc_create(2, 4), u = kc_create(0, 4);
	int us, set = ss_create(), r, i, seen = 0;
	static uint32_t va, vb, out = 3;
	struct chan_selset_wait w;

	alarm(TEST_ALARM);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_LE(0, u);
	ASSERT_LE(0, set);
	us = kc_dup(u, CHAN_RIGHT_SEND);
	ASSERT_LE(0, us);
	ASSERT_EQ(0, kc_selset_ctl(set, 0, a, CHAN_OP_RECV, &va, 4));
	ASSERT_EQ(0, kc_selset_ctl(set, 1, b, CHAN_OP_RECV, &vb, 4));
	ASSERT_EQ(0, kc_selset_ctl(set, 2, us, CHAN_OP_SEND, &out, 4));
	close(us);
	ASSERT_EQ(0, kc_send_u32(a, 1, 0));
	ASSERT_EQ(1, (int)kc_fdinfo_num(set, "ready"));
	ASSERT_EQ(0, kc_close(a));
	EXPECT_EQ(1, (int)kc_fdinfo_num(set, "ready"));
	EXPECT_EQ(0, ss_wait(set, 0, &w));
	EXPECT_EQ(1, w.ok);
	EXPECT_EQ(1, va);
	EXPECT_EQ(1, (int)kc_fdinfo_num(set, "ready"));
	EXPECT_EQ(0, ss_wait(set, 0, &w));
	EXPECT_EQ(0, w.ok);
	EXPECT_EQ(1, (int)kc_fdinfo_num(set, "ready"));
	/* b closed while not listed */
	ASSERT_EQ(0, kc_close(b));
	EXPECT_EQ(2, (int)kc_fdinfo_num(set, "ready"));
	/* u's only receiver goes away: its send case fails, ready */
	close(u);
	EXPECT_EQ(3, (int)kc_fdinfo_num(set, "ready"));
	for (i = 0; i < 30; i++) {
		r = ss_wait(set, 0, &w);
		ASSERT_TRUE(r >= 0 && r <= 2) TH_LOG("wait: %d", r);
		EXPECT_EQ(0, w.ok);
		seen |= 1 << r;
	}
	EXPECT_EQ(7, seen);
	close(set);
	close(a);
	close(b);
}

#define CTL_RACE_N 3000

/*
 * CTL registering cases on a channel whose readiness another process keeps
 * changing: a wakeup may list a case between its queueing and CTL's own
 * look (the case must go on the list once). Afterwards the list still
 * follows the channel.
 */
TEST_F_TIMEOUT(conc, ctl_races_wakeups, 300)
{
	int c = kc_create(1, 4), set = ss_create(), i, r;
	uint32_t *stop = kc_shared(sizeof(uint32_t));
	static uint32_t vin, vout = 1;
	struct chan_selset_wait w;
	pid_t pid;

	alarm(280);
	ASSERT_NE(NULL, stop);
	ASSERT_LE(0, c);
	ASSERT_LE(0, set);
	pid = kc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		uint32_t v = 0;

		alarm(250);
		while (!__atomic_load_n(stop, __ATOMIC_RELAXED)) {
			kc_send_u32(c, v, 0);
			kc_recv_u32(c, &v, 0);
		}
		_exit(0);
	}
	for (i = 0; i < CTL_RACE_N; i++) {
		ASSERT_EQ(0, kc_selset_ctl(set, i % 4, c, i % 2 ? CHAN_OP_SEND :
					   CHAN_OP_RECV, i % 2 ? (void *)&vout :
					   (void *)&vin, 4));
		if (i % 7 == 0)
			ASSERT_EQ(0, kc_selset_nil(set, (i + 1) % 4));
		if (i % 16 == 0) {
			r = ss_wait(set, 0, &w);
			ASSERT_TRUE(r == -EAGAIN || (r >= 0 && r < 4))
				TH_LOG("wait: %d", r);
		}
	}
	__atomic_store_n(stop, 1, __ATOMIC_RELAXED);
	ASSERT_EQ(0, kc_reap(pid));
	/* quiet now: cases 0 and 2 recv, 1 and 3 send on c */
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, kc_selset_ctl(set, i, c, i % 2 ? CHAN_OP_SEND :
					   CHAN_OP_RECV, i % 2 ? (void *)&vout :
					   (void *)&vin, 4));
	r = (int)KC_INFO(c, len);
	EXPECT_EQ(2, (int)kc_fdinfo_num(set, "ready"));	/* two recv if c is full, else two send */
	ASSERT_EQ(0, kc_selset_nil(set, r ? 0 : 1));
	EXPECT_EQ(1, (int)kc_fdinfo_num(set, "ready"));
	r = ss_wait(set, 0, &w);
	EXPECT_TRUE(r == 2 || r == 3) TH_LOG("case %d fired", r);
	EXPECT_EQ(1, w.ok);
	close(set);
	close(c);
}

/*
 * The largest set: max_select_cases cases (4,096 by default), all but one
 * on one empty channel. The one that becomes ready is found by a wait with
 * timeout 0 and, through a hand-off, by another process's parked wait;
 * when the shared channel gets a message every one of its cases is listed.
 */
TEST_F_TIMEOUT(conc, largest_set_one_ready, 300)
{
	unsigned int n = kc_param("max_select_cases", 4096), k, i;
	int e = kc_create(variant->cap ? 1 : 0, 4), r = kc_create(1, 4);
	int set = ss_create(), fired;
	uint32_t *bufs = calloc(4096, sizeof(uint32_t));
	struct chan_selset_wait w;
	pid_t pid;

	alarm(280);
	ASSERT_NE(NULL, bufs);
	ASSERT_LE(0, e);
	ASSERT_LE(0, r);
	ASSERT_LE(0, set);
	if (n > 4096)
		n = 4096;
	k = n * 2 / 3;
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, kc_selset_ctl(set, i, i == k ? r : e, CHAN_OP_RECV,
					   &bufs[i], 4)) TH_LOG("case %u", i);
	EXPECT_EQ(0, (int)kc_fdinfo_num(set, "ready"));
	EXPECT_EQ(-EAGAIN, ss_wait(set, 0, &w));
	ASSERT_EQ(0, kc_send_u32(r, 77, 0));
	EXPECT_EQ(1, (int)kc_fdinfo_num(set, "ready"));
	EXPECT_EQ((int)k, ss_wait(set, 0, &w));
	EXPECT_EQ(77, bufs[k]);
	EXPECT_EQ(0, (int)kc_fdinfo_num(set, "ready"));

	pid = kc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		CHILD_CHECK(ss_wait(set, -1, &w) == (int)k, 10);
		CHILD_CHECK(w.ok == 1 && bufs[k] == 78, 11);
		_exit(0);
	}
	ASSERT_EQ(0, KC_WAIT(r, recv_waiters, 1));
	/* 4,095 waiters to queue: give a slow (TCG, PREEMPT_RT) guest time */
	for (i = 0; i < 12 && KC_WAIT(e, recv_waiters, n - 1); i++)
		;
	ASSERT_EQ(n - 1, KC_INFO(e, recv_waiters));
	ASSERT_EQ(0, kc_send_u32(r, 78, MS(20000)));
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(0, KC_INFO(e, recv_waiters));

	if (variant->cap) {
		ASSERT_EQ(0, kc_send_u32(e, 79, 0));
		EXPECT_EQ((int)n - 1, (int)kc_fdinfo_num(set, "ready"));
		fired = ss_wait(set, 0, &w);
		EXPECT_TRUE(fired >= 0 && fired < (int)n && fired != (int)k)
			TH_LOG("case %d fired", fired);
		if (fired >= 0 && fired < (int)n)
			EXPECT_EQ(79, bufs[fired]);
		EXPECT_EQ(0, (int)kc_fdinfo_num(set, "ready"));
		EXPECT_EQ(-EAGAIN, ss_wait(set, 0, &w));
	}
	free(bufs);
	close(set);
	close(e);
	close(r);
}

TEST_HARNESS_MAIN
