// SPDX-License-Identifier: GPL-2.0
/*
 * kchan interface v1 (issue 14): what a program can rely on at the edges.
 *
 * - Message boundaries through every I/O call: read/write, readv/writev,
 *   preadv2/pwritev2 (RWF_NOWAIT), io_uring's READ, WRITE, READV, WRITEV
 *   (liburing): one message per call, scattered/gathered, never split or
 *   merged; buffers too short fail EMSGSIZE with the message kept.
 * - Extensible structs: commands match on type and number only, so a
 *   caller built with a larger struct (zero tail) works and a non-zero
 *   tail fails E2BIG; a select case has its own size (case_size).
 * - Flags that are the O_* flags (CHAN_CLOEXEC, CHAN_NONBLOCK).
 * - Put-back: a receive whose copy-out faults gives its message to a
 *   receiver parked meanwhile (no lost wakeup, FIFO kept).
 * - A select set's fdinfo (and a ctl) never waits behind a waiter's page
 *   fault (userfaultfd).
 *
 * Each test names the defect of issue 14 it pins down; on a3445ea's module
 * they fail (see the commit messages for how).
 */
#include <liburing.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "kchan_test.h"

/* ---- 1. message boundaries -------------------------------------------- */

TEST(readv_takes_one_message)
{
	char a[8], b[8];
	struct iovec iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	int fd = kc_create(4, 16);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_send(fd, "AAAAAAAA", 8, 0));
	ASSERT_EQ(0, kc_send(fd, "BBBBBBBB", 8, 0));
	/* a3445ea: 16 (two messages merged) */
	EXPECT_EQ(8, readv(fd, iov, 2));
	EXPECT_EQ(0, memcmp(a, "AAAAAAAA", 8));
	EXPECT_EQ(1, KC_INFO(fd, len));
	EXPECT_EQ(8, readv(fd, iov, 2));
	EXPECT_EQ(0, memcmp(a, "BBBBBBBB", 8));
	close(fd);
}

TEST(readv_scatters_one_message)
{
	char a[8], b[8];
	struct iovec iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	int fd = kc_create(4, 16);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_send(fd, "0123456789ab", 12, 0));
	EXPECT_EQ(12, readv(fd, iov, 2));
	EXPECT_EQ(0, memcmp(a, "01234567", 8));
	EXPECT_EQ(0, memcmp(b, "89ab", 4));
	close(fd);
}

TEST(readv_too_short_emsgsize)
{
	char a[4], b[4];
	struct iovec iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	int fd = kc_create(4, 16);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_send(fd, "0123456789ab", 12, 0));
	EXPECT_EQ(-1, readv(fd, iov, 2));
	EXPECT_EQ(EMSGSIZE, errno);
	EXPECT_EQ(1, KC_INFO(fd, len));
	close(fd);
}

TEST(writev_gathers_one_message)
{
	struct iovec iov[2] = { { "01234567", 8 }, { "89abcdef", 8 } };
	char buf[16];
	size_t len;
	int fd = kc_create(4, 16);

	ASSERT_GE(fd, 0);
	/* a3445ea: two messages of 8 */
	EXPECT_EQ(16, writev(fd, iov, 2));
	EXPECT_EQ(1, KC_INFO(fd, len));
	ASSERT_EQ(1, kc_recv(fd, buf, sizeof(buf), &len, 0));
	EXPECT_EQ(16, len);
	EXPECT_EQ(0, memcmp(buf, "0123456789abcdef", 16));
	close(fd);
}

TEST(writev_too_long_sends_nothing)
{
	struct iovec iov[2] = { { "01234567", 8 }, { "89abcdef", 8 } };
	int fd = kc_create(4, 12);

	ASSERT_GE(fd, 0);
	/* a3445ea: the first 8 bytes went out as a message */
	EXPECT_EQ(-1, writev(fd, iov, 2));
	EXPECT_EQ(EMSGSIZE, errno);
	EXPECT_EQ(0, KC_INFO(fd, len));
	EXPECT_EQ(0, KC_INFO(fd, sent));
	close(fd);
}

/* A writev that blocks is still one message, handed to a parked reader. */
TEST(writev_rendezvous)
{
	struct iovec iov[3] = { { "ab", 2 }, { "", 0 }, { "cdef", 4 } };
	char buf[8];
	size_t len;
	pid_t pid;
	int fd = kc_create(0, 8);

	ASSERT_GE(fd, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(writev(fd, iov, 3) == 6 ? KC_OK : KC_FAIL);
	ASSERT_EQ(0, KC_WAIT(fd, send_waiters, 1));
	ASSERT_EQ(1, kc_recv(fd, buf, sizeof(buf), &len, -1));
	EXPECT_EQ(6, len);
	EXPECT_EQ(0, memcmp(buf, "abcdef", 6));
	EXPECT_EQ(0, kc_reap(pid));
	close(fd);
}

TEST(preadv2_pwritev2_nowait)
{
	struct iovec in = { "x", 1 };
	char c;
	struct iovec out = { &c, 1 };
	int fd = kc_create(1, 4);

	ASSERT_GE(fd, 0);
	/* a3445ea: EOPNOTSUPP (no FMODE_NOWAIT) */
	EXPECT_EQ(-1, preadv2(fd, &out, 1, -1, RWF_NOWAIT));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(1, pwritev2(fd, &in, 1, -1, RWF_NOWAIT));
	EXPECT_EQ(-1, pwritev2(fd, &in, 1, -1, RWF_NOWAIT));
	EXPECT_EQ(EAGAIN, errno);
	/* a stream: no offsets */
	EXPECT_EQ(-1, preadv2(fd, &out, 1, 0, 0));
	EXPECT_EQ(ESPIPE, errno);
	EXPECT_EQ(-1, pwritev2(fd, &in, 1, 0, 0));
	EXPECT_EQ(ESPIPE, errno);
	EXPECT_EQ(1, preadv2(fd, &out, 1, -1, RWF_NOWAIT));
	EXPECT_EQ('x', c);
	close(fd);
}

/* ---- io_uring ---------------------------------------------------------- */

FIXTURE(uring) {
	struct io_uring ring;
	bool ok;
};

FIXTURE_SETUP(uring)
{
	int r = io_uring_queue_init(8, &self->ring, 0);

	self->ok = !r;
	if (r)
		SKIP(return, "io_uring_queue_init: %s", strerror(-r));
}

FIXTURE_TEARDOWN(uring)
{
	if (self->ok)
		io_uring_queue_exit(&self->ring);
}

/* Submit the prepared request and wait for it: its result. */
static int uring_run(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;
	int r;

	r = io_uring_submit(ring);
	if (r != 1)
		return r < 0 ? r : -EPROTO;
	r = io_uring_wait_cqe(ring, &cqe);
	if (r)
		return r;
	r = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return r;
}

TEST_F(uring, read_write_readv_writev)
{
	struct iovec wv[2] = { { "01234567", 8 }, { "89abcdef", 8 } };
	char a[8], b[8], buf[16];
	struct iovec rv[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	struct io_uring_sqe *sqe;
	size_t len;
	int fd = kc_create(4, 16);

	ASSERT_GE(fd, 0);
	/* WRITEV: one message of 16 (a3445ea: two of 8) */
	sqe = io_uring_get_sqe(&self->ring);
	io_uring_prep_writev(sqe, fd, wv, 2, -1);
	EXPECT_EQ(16, uring_run(&self->ring));
	EXPECT_EQ(1, KC_INFO(fd, len));
	ASSERT_EQ(1, kc_recv(fd, buf, sizeof(buf), &len, 0));
	EXPECT_EQ(16, len);

	/* WRITE, then READV over two messages of 8: one of them */
	sqe = io_uring_get_sqe(&self->ring);
	io_uring_prep_write(sqe, fd, "AAAAAAAA", 8, -1);
	EXPECT_EQ(8, uring_run(&self->ring));
	ASSERT_EQ(0, kc_send(fd, "BBBBBBBB", 8, 0));
	sqe = io_uring_get_sqe(&self->ring);
	io_uring_prep_readv(sqe, fd, rv, 2, -1);
	EXPECT_EQ(8, uring_run(&self->ring));	/* a3445ea: 16 */
	EXPECT_EQ(0, memcmp(a, "AAAAAAAA", 8));
	EXPECT_EQ(1, KC_INFO(fd, len));

	/* READ */
	sqe = io_uring_get_sqe(&self->ring);
	io_uring_prep_read(sqe, fd, buf, sizeof(buf), -1);
	EXPECT_EQ(8, uring_run(&self->ring));
	EXPECT_EQ(0, memcmp(buf, "BBBBBBBB", 8));

	/* READ of a message longer than the buffer: EMSGSIZE, it stays */
	ASSERT_EQ(0, kc_send(fd, "0123456789", 10, 0));
	sqe = io_uring_get_sqe(&self->ring);
	io_uring_prep_read(sqe, fd, buf, 4, -1);
	EXPECT_EQ(-EMSGSIZE, uring_run(&self->ring));
	EXPECT_EQ(1, KC_INFO(fd, len));

	/* WRITE longer than msg_size: EMSGSIZE, nothing sent */
	sqe = io_uring_get_sqe(&self->ring);
	io_uring_prep_write(sqe, fd, "0123456789abcdefXYZ", 19, -1);
	EXPECT_EQ(-EMSGSIZE, uring_run(&self->ring));
	EXPECT_EQ(1, KC_INFO(fd, len));
	close(fd);
}

/*
 * A READ on an empty channel waits (io_uring polls the channel) and
 * completes when a message comes; on an unbuffered channel when a blocking
 * sender parks.
 */
TEST_F(uring, read_waits_for_sender)
{
	struct io_uring_sqe *sqe;
	char buf[8];
	pid_t pid;
	int cap, fd;

	for (cap = 0; cap <= 1; cap++) {
		fd = kc_create(cap, 8);
		ASSERT_GE(fd, 0);
		sqe = io_uring_get_sqe(&self->ring);
		io_uring_prep_read(sqe, fd, buf, sizeof(buf), -1);
		ASSERT_EQ(1, io_uring_submit(&self->ring));
		pid = kc_fork();
		ASSERT_GE(pid, 0);
		if (pid == 0) {
			kc_sleep_ms(100);
			_exit(kc_send(fd, "hello", 5, -1) ? KC_FAIL : KC_OK);
		}
		{
			struct io_uring_cqe *cqe;

			ASSERT_EQ(0, io_uring_wait_cqe(&self->ring, &cqe));
			EXPECT_EQ(5, cqe->res) TH_LOG("capacity %d", cap);
			io_uring_cqe_seen(&self->ring, cqe);
		}
		EXPECT_EQ(0, memcmp(buf, "hello", 5));
		EXPECT_EQ(0, kc_reap(pid));
		close(fd);
	}
}

/* ---- 3. extensible structs ---------------------------------------------- */

struct big_msg {
	struct chan_msg m;
	__u64 more;
};

struct big_create {
	struct chan_create c;
	__u64 more[2];
};

struct big_info {
	struct chan_info i;
	__u64 more;
};

#define BIG_SEND	_IOWR(CHAN_IOC_MAGIC, 0x10, struct big_msg)
#define BIG_RECV	_IOWR(CHAN_IOC_MAGIC, 0x11, struct big_msg)
#define BIG_CREATE	_IOW(CHAN_IOC_MAGIC, 0x01, struct big_create)
#define BIG_INFO	_IOWR(CHAN_IOC_MAGIC, 0x13, struct big_info)

TEST(grown_structs_with_zero_tail_work)
{
	struct big_create c;
	struct big_msg m;
	struct big_info i;
	char buf[8];
	int fd;

	memset(&c, 0, sizeof(c));
	c.c.size = sizeof(c);
	c.c.capacity = 2;
	c.c.msg_size = 8;
	/* a3445ea: ENOTTY (the command number carries the size) */
	fd = ioctl(kc_devfd(), BIG_CREATE, &c);
	ASSERT_GE(fd, 0) TH_LOG("grown CREATE: %s", strerror(errno));

	memset(&m, 0, sizeof(m));
	kc_msg_init(&m.m, "grown", 5, 0);
	m.m.size = sizeof(m);
	EXPECT_EQ(0, ioctl(fd, BIG_SEND, &m)) TH_LOG("%s", strerror(errno));
	memset(&m, 0, sizeof(m));
	kc_msg_init(&m.m, buf, sizeof(buf), 0);
	m.m.size = sizeof(m);
	EXPECT_EQ(0, ioctl(fd, BIG_RECV, &m)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(5, m.m.len);
	EXPECT_EQ(1, m.m.ok);
	EXPECT_EQ(0, memcmp(buf, "grown", 5));

	memset(&i, 0xff, sizeof(i));
	memset(&i.i, 0, sizeof(i.i));
	i.more = 0;
	i.i.size = sizeof(i);
	EXPECT_EQ(0, ioctl(fd, BIG_INFO, &i));
	EXPECT_EQ(sizeof(struct chan_info), i.i.size);	/* bytes filled */
	EXPECT_EQ(2, i.i.capacity);

	/* The encoded size and direction are not what is matched. */
	kc_msg_init(&m.m, "x", 1, 0);
	m.m.size = sizeof(m.m);
	EXPECT_EQ(0, ioctl(fd, _IO(CHAN_IOC_MAGIC, 0x10), &m));
	EXPECT_EQ(1, KC_INFO(fd, len));
	close(fd);
}

TEST(grown_structs_with_tail_e2big)
{
	struct big_create c;
	struct big_msg m;
	int fd = kc_create(2, 8);

	ASSERT_GE(fd, 0);
	memset(&c, 0, sizeof(c));
	c.c.size = sizeof(c);
	c.c.msg_size = 8;
	c.more[1] = 1;
	EXPECT_EQ(-1, ioctl(kc_devfd(), BIG_CREATE, &c));
	EXPECT_EQ(E2BIG, errno);
	memset(&m, 0, sizeof(m));
	kc_msg_init(&m.m, "x", 1, 0);
	m.m.size = sizeof(m);
	m.more = 1;
	EXPECT_EQ(-1, ioctl(fd, BIG_SEND, &m));
	EXPECT_EQ(E2BIG, errno);
	EXPECT_EQ(0, KC_INFO(fd, len));
	/* another type or number is still no command of ours */
	EXPECT_EQ(-1, ioctl(fd, _IOWR(CHAN_IOC_MAGIC, 0x7f, struct big_msg), &m));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(fd, _IOWR(CHAN_IOC_MAGIC + 1, 0x10, struct big_msg),
			    &m));
	EXPECT_EQ(ENOTTY, errno);
	close(fd);
}

/* A select case of a larger size (a newer program): its own size. */
struct big_case {
	struct chan_select_case c;
	__u64 more;
};

TEST(select_case_size)
{
	struct big_case cases[2];
	struct chan_select s;
	uint32_t v = 0;
	int a = kc_create(1, 4), b = kc_create(1, 4);

	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	memset(cases, 0, sizeof(cases));
	cases[0].c.fd = a;
	cases[0].c.op = CHAN_OP_RECV;
	cases[0].c.buf = (uintptr_t)&v;
	cases[0].c.len = sizeof(v);
	cases[1].c = cases[0].c;
	cases[1].c.fd = b;
	ASSERT_EQ(0, kc_send_u32(b, 7, 0));
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.cases = (uintptr_t)cases;
	s.ncases = 2;
	s.case_size = sizeof(cases[0]);
	EXPECT_EQ(1, ioctl(a, CHAN_IOC_SELECT, &s));
	EXPECT_EQ(1, s.index);
	EXPECT_EQ(7, v);
	EXPECT_EQ(1, cases[1].c.ok);
	EXPECT_EQ(4, cases[1].c.len);
	EXPECT_EQ(0, cases[0].c.ok);

	/* non-zero bytes past the kernel's case: E2BIG, nothing moves */
	ASSERT_EQ(0, kc_send_u32(b, 8, 0));
	cases[1].more = 1;
	EXPECT_EQ(-1, ioctl(a, CHAN_IOC_SELECT, &s));
	EXPECT_EQ(E2BIG, errno);
	EXPECT_EQ(1, KC_INFO(b, len));
	/* ... reported in case order: a bad case before it first */
	cases[0].c.op = 9;
	EXPECT_EQ(-1, ioctl(a, CHAN_IOC_SELECT, &s));
	EXPECT_EQ(EINVAL, errno);
	cases[0].c.op = CHAN_OP_RECV;
	cases[1].more = 0;

	/* case_size below the first version, or past a page */
	s.case_size = CHAN_SELECT_CASE_SIZE_VER0 - 8;
	EXPECT_EQ(-1, ioctl(a, CHAN_IOC_SELECT, &s));
	EXPECT_EQ(EINVAL, errno);
	s.case_size = kc_page() + 8;
	EXPECT_EQ(-1, ioctl(a, CHAN_IOC_SELECT, &s));
	EXPECT_EQ(E2BIG, errno);
	s.case_size = sizeof(cases[0]);
	s.reserved = 1;
	EXPECT_EQ(-1, ioctl(a, CHAN_IOC_SELECT, &s));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(1, KC_INFO(b, len));
	close(a);
	close(b);
}

/* ---- 4. flags ------------------------------------------------------------ */

TEST(flags_are_the_o_flags)
{
	int fd, d, set;

	_Static_assert(CHAN_CLOEXEC == O_CLOEXEC, "CHAN_CLOEXEC");
	_Static_assert(CHAN_NONBLOCK == O_NONBLOCK, "CHAN_NONBLOCK");
	_Static_assert(!((CHAN_FDPASS | CHAN_AUTOCLOSE) &
			 (O_CLOEXEC | O_NONBLOCK)), "attributes");
	/* a3445ea: EINVAL (its CHAN_CLOEXEC was 1) */
	fd = kc_create_flags(1, 4, O_CLOEXEC | O_NONBLOCK);
	ASSERT_GE(fd, 0);
	EXPECT_NE(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_NE(0, fcntl(fd, F_GETFL) & O_NONBLOCK);
	d = kc_dup_flags(fd, CHAN_RIGHT_RECV, O_CLOEXEC);
	ASSERT_GE(d, 0);
	EXPECT_NE(0, fcntl(d, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(0, fcntl(d, F_GETFL) & O_NONBLOCK);
	set = kc_selset_create(O_CLOEXEC);
	ASSERT_GE(set, 0);
	EXPECT_NE(0, fcntl(set, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(-EINVAL, kc_selset_create(O_NONBLOCK));
	close(set);
	close(d);
	close(fd);
}

/* ---- 2. put-back --------------------------------------------------------- */

struct pb_recv {
	int fd;
	void *buf;
	int ret;
};

static void *pb_recv_thread(void *arg)
{
	struct pb_recv *p = arg;

	p->ret = kc_recv(p->fd, p->buf, 64, NULL, -1);
	return NULL;
}

/*
 * A receiver takes a message whose copy-out then faults (its buffer was
 * made inaccessible while it waited); meanwhile a second receiver (another
 * process) parked. The message goes to that receiver, before a message
 * sent after it. a3445ea put it into the buffer instead: the parked
 * receiver slept on, and then got the next message first.
 */
TEST(putback_goes_to_parked_receiver)
{
	volatile char *got = kc_shared(kc_page());
	struct pb_recv p;
	pthread_t t;
	char buf[64];
	size_t len;
	pid_t pid;
	int fd = kc_create(4, 64);

	ASSERT_GE(fd, 0);
	ASSERT_NE(NULL, got);
	p.fd = fd;
	p.buf = mmap(NULL, kc_page(), PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p.buf);
	ASSERT_EQ(0, pthread_create(&t, NULL, pb_recv_thread, &p));
	ASSERT_EQ(0, KC_WAIT(fd, recv_waiters, 1));
	/* the probe passed; now the copy out will fault */
	ASSERT_EQ(0, mprotect(p.buf, kc_page(), PROT_NONE));

	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		char b[64];
		size_t l = 0;
		int r = kc_recv(fd, b, sizeof(b), &l, 3000000000LL);

		if (r == 1)
			memcpy((char *)got, b, l < 63 ? l : 63);
		_exit(r == 1 ? KC_OK : KC_FAIL);
	}
	ASSERT_EQ(0, KC_WAIT(fd, recv_waiters, 2));
	ASSERT_EQ(0, kc_send(fd, "first", 6, 0));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(-EFAULT, p.ret);
	ASSERT_EQ(0, kc_send(fd, "second", 7, 0));
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_STREQ("first", (const char *)got);
	ASSERT_EQ(1, kc_recv(fd, buf, sizeof(buf), &len, 0));
	EXPECT_STREQ("second", buf);
	EXPECT_EQ(-EAGAIN, kc_recv(fd, buf, sizeof(buf), &len, 0));
	/* counted once each, none dropped */
	EXPECT_EQ(2, KC_INFO(fd, sent));
	EXPECT_EQ(2, KC_INFO(fd, received));
	munmap(p.buf, kc_page());
	close(fd);
}

/* ---- 6. a select set never makes a reader wait behind a fault ------------ */

struct uf_wait {
	int set;
	int ret;
	struct chan_selset_wait w;
};

static void *uf_wait_thread(void *arg)
{
	struct uf_wait *u = arg;

	u->ret = kc_selset_wait(u->set, &u->w, -1);
	return NULL;
}

struct uf_reader {
	int set;
	int ch;
	volatile int done;
	int fdinfo_ok;
	int ctl_ret;
};

/* Read the set's fdinfo, then change one of its cases. */
static void *uf_reader_thread(void *arg)
{
	struct uf_reader *r = arg;
	char path[64], buf[256];
	uint32_t v;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", r->set);
	fd = open(path, O_RDONLY);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n > 0) {
		buf[n] = 0;
		r->fdinfo_ok = !!strstr(buf, "cases:\t1");
	}
	r->done = 1;
	r->ctl_ret = kc_selset_ctl(r->set, 3, r->ch, CHAN_OP_RECV, &v,
				   sizeof(v));
	r->done = 2;
	return NULL;
}

/* Wait (at most ms) until *flag >= want. */
static int uf_wait_flag(volatile int *flag, int want, int ms)
{
	int64_t end = kc_now_ns() + (int64_t)ms * 1000000;

	while (*flag < want) {
		if (kc_now_ns() > end)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}

/*
 * A wait on a set whose chosen case's buffer faults into userfaultfd
 * stays in that fault until we resolve it. Meanwhile fdinfo of the set and
 * a CHAN_IOC_SELSET_CTL must complete. a3445ea held set->lock (a mutex)
 * across the fault: fdinfo slept in mutex_lock until the fault was
 * resolved (forever, had nobody resolved it).
 */
TEST(selset_fdinfo_not_behind_fault)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	struct uffdio_zeropage zp;
	struct uf_reader rd = { 0 };
	struct uf_wait uw = { 0 };
	struct uffd_msg msg;
	struct pollfd pfd;
	pthread_t tw, tr;
	size_t page = kc_page();
	int uffd, ch, set, rdone;
	char *area;

	uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0)
		SKIP(return, "userfaultfd: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
	area = mmap(NULL, page, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, area);
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)area;
	reg.range.len = page;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg));

	ch = kc_create(1, 8);
	set = kc_selset_create(0);
	ASSERT_GE(ch, 0);
	ASSERT_GE(set, 0);
	ASSERT_EQ(0, kc_selset_ctl(set, 0, ch, CHAN_OP_RECV, area, 8));
	ASSERT_EQ(0, kc_send(ch, "ready!", 6, 0));

	uw.set = set;
	ASSERT_EQ(0, pthread_create(&tw, NULL, uf_wait_thread, &uw));
	/* the wait is in the fault now */
	pfd.fd = uffd;
	pfd.events = POLLIN;
	ASSERT_EQ(1, poll(&pfd, 1, KC_WAIT_MS));
	ASSERT_EQ((ssize_t)sizeof(msg), read(uffd, &msg, sizeof(msg)));
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);

	rd.set = set;
	rd.ch = ch;
	ASSERT_EQ(0, pthread_create(&tr, NULL, uf_reader_thread, &rd));
	rdone = uf_wait_flag(&rd.done, 2, 3000);

	/* resolve the fault whatever happened, so that everything ends */
	memset(&zp, 0, sizeof(zp));
	zp.range.start = (uintptr_t)area;
	zp.range.len = page;
	EXPECT_EQ(0, ioctl(uffd, UFFDIO_ZEROPAGE, &zp));
	ASSERT_EQ(0, pthread_join(tw, NULL));
	ASSERT_EQ(0, pthread_join(tr, NULL));

	EXPECT_EQ(0, rdone) TH_LOG("fdinfo/ctl waited behind a page fault (reached step %d)",
				   rd.done);
	EXPECT_EQ(1, rd.fdinfo_ok);
	EXPECT_EQ(0, rd.ctl_ret);
	EXPECT_EQ(0, uw.ret);
	EXPECT_EQ(1, uw.w.ok);
	EXPECT_EQ(6, uw.w.len);
	EXPECT_EQ(0, memcmp(area, "ready!", 6));
	close(set);
	close(ch);
	close(uffd);
	munmap(area, page);
}

TEST_HARNESS_MAIN
