// SPDX-License-Identifier: GPL-2.0
/*
 * libchan through its public API (userlib/chan.h): every function, every
 * error path, select, batches, signals (EINTR and SA_RESTART), and the
 * cross-process behaviour the library promises; select sets (libchan 1.2),
 * chan_call() (libchan 1.4).
 *
 * Tests named select_* need CHAN_IOC_SELECT in the module: when it answers
 * ENOTTY they fail (they do not skip). Tests of chan_open/chan_unlink skip
 * while the module answers EOPNOTSUPP (channel names not built yet).
 *
 * Synchronisation never relies on sleeping: "the other side is blocked now"
 * is read from chan_info()'s waiter counts.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <chan.h>	/* before anything that pulls in <linux/chan.h> */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"

/*
 * Every ioctl() of libchan.a (and of this file) comes through here (the
 * Makefile links with --wrap=ioctl): wrap_watch_fd counts the kchan
 * commands sent to one descriptor.
 */
int __real_ioctl(int fd, unsigned long req, ...);
static int wrap_watch_fd = -1;
static int wrap_hits;

int __wrap_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fd == wrap_watch_fd && _IOC_TYPE(req) == CHAN_IOC_MAGIC)
		wrap_hits++;
	return __real_ioctl(fd, req, arg);
}

#define MS(x)		((int64_t)(x) * 1000000)
#define WAIT_MS		10000	/* longest wait for a state to appear */
#define CHILD_ALARM	25	/* seconds a child may live */

/* call must fail with -1 and errno e */
#define ASSERT_ERR(e, call) do { \
	errno = 0; \
	long _r = (long)(call); \
	ASSERT_EQ(-1L, _r) TH_LOG("%s succeeded (%ld)", #call, _r); \
	ASSERT_EQ(e, errno) TH_LOG("%s: errno %d (%s), expected %d (%s)", \
				   #call, errno, strerror(errno), e, strerror(e)); \
} while (0)

#define EXPECT_ERR(e, call) do { \
	errno = 0; \
	long _r = (long)(call); \
	EXPECT_EQ(-1L, _r) TH_LOG("%s succeeded (%ld)", #call, _r); \
	EXPECT_EQ(e, errno) TH_LOG("%s: errno %d (%s), expected %d (%s)", \
				   #call, errno, strerror(errno), e, strerror(e)); \
} while (0)

/* call must succeed (>= 0) */
#define ASSERT_OK(call) do { \
	errno = 0; \
	long _r = (long)(call); \
	ASSERT_LE(0L, _r) TH_LOG("%s: %s", #call, strerror(errno)); \
} while (0)

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* fork() whose child cannot outlive the test. */
static pid_t child(void)
{
	pid_t ppid = getpid();
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != ppid)
			_exit(99);
		signal(SIGALRM, SIG_DFL);
		alarm(CHILD_ALARM);
	}
	return pid;
}

/* exit status, 128 + signal, or -1 */
static int reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

/* Wait until ch has this many blocked senders and receivers. 0 or -1. */
static int wait_waiters(int ch, unsigned int senders, unsigned int receivers)
{
	int64_t end = now_ns() + MS(WAIT_MS);
	struct chan_info info;

	for (;;) {
		if (chan_info(ch, &info) < 0)
			return -1;
		if (info.send_waiters == senders && info.recv_waiters == receivers)
			return 0;
		if (now_ns() > end)
			return -1;
		usleep(500);
	}
}

static void *shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static unsigned long param(const char *name, unsigned long dflt)
{
	char path[128];
	unsigned long v;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/chan/parameters/%s", name);
	f = fopen(path, "r");
	if (!f)
		return dflt;
	if (fscanf(f, "%lu", &v) != 1)
		v = dflt;
	fclose(f);
	return v;
}

static int fd_flags(int fd)
{
	return fcntl(fd, F_GETFL);
}

static int fd_cloexec(int fd)
{
	return fcntl(fd, F_GETFD) & FD_CLOEXEC;
}

/* ---- chan_make ---------------------------------------------------------- */

TEST(make_buffered)
{
	struct chan_info info;
	int ch = chan_make(16, 4, 0);

	ASSERT_OK(ch);
	EXPECT_EQ(4, chan_cap(ch));
	EXPECT_EQ(0, chan_len(ch));
	ASSERT_EQ(0, chan_info(ch, &info));
	EXPECT_EQ(4, info.capacity);
	EXPECT_EQ(16, info.msg_size);
	EXPECT_EQ(0, info.closed);
	EXPECT_EQ(CHAN_RIGHT_BOTH, info.rights);
	EXPECT_EQ(1, info.send_handles);
	EXPECT_EQ(1, info.recv_handles);
	EXPECT_EQ(0, fd_cloexec(ch));
	EXPECT_EQ(0, fd_flags(ch) & O_NONBLOCK);
	close(ch);
}

TEST(make_unbuffered_and_events)
{
	int a = chan_make(8, 0, 0), b = chan_make(0, 2, 0);

	ASSERT_OK(a);
	ASSERT_OK(b);
	EXPECT_EQ(0, chan_cap(a));
	EXPECT_EQ(2, chan_cap(b));
	close(a);
	close(b);
}

TEST(make_flags)
{
	int c = chan_make(4, 1, CHAN_CLOEXEC);
	int n = chan_make(4, 1, CHAN_NONBLOCK);

	ASSERT_OK(c);
	ASSERT_OK(n);
	EXPECT_NE(0, fd_cloexec(c));
	EXPECT_EQ(0, fd_flags(c) & O_NONBLOCK);
	EXPECT_EQ(0, fd_cloexec(n));
	EXPECT_NE(0, fd_flags(n) & O_NONBLOCK);
	close(c);
	close(n);
}

TEST(make_errors)
{
	unsigned long max_msg = param("max_msg_size", 65536);
	unsigned long max_cap = param("max_capacity", 65536);

	EXPECT_ERR(EINVAL, chan_make(4, 1, 1 << 20));		/* unknown flag */
	EXPECT_ERR(EMSGSIZE, chan_make(max_msg + 1, 1, 0));
	EXPECT_ERR(EMSGSIZE, chan_make(SIZE_MAX, 1, 0));	/* does not wrap */
	EXPECT_ERR(EMSGSIZE, chan_make((size_t)UINT32_MAX + 1, 1, 0));
	EXPECT_ERR(EINVAL, chan_make(1, max_cap + 1, 0));
	EXPECT_ERR(EINVAL, chan_make(max_msg, max_cap, 0));	/* too many bytes */
}

TEST(make_leaks_no_fd)
{
	int before = chan_make(1, 1, 0), after;

	ASSERT_OK(before);
	for (int i = 0; i < 100; i++) {
		int ch = chan_make(8, 1, 0);

		ASSERT_OK(ch);
		close(ch);
		EXPECT_ERR(EMSGSIZE, chan_make(SIZE_MAX, 1, 0));
	}
	after = chan_make(1, 1, 0);
	EXPECT_EQ(before + 1, after);	/* /dev/chan fds were all closed */
	close(before);
	close(after);
}

/* ---- chan_pipe ---------------------------------------------------------- */

TEST(pipe_ends)
{
	struct chan_info r, s;
	int fds[2] = { -1, -1 };
	char buf[8];
	bool ok;

	ASSERT_EQ(0, chan_pipe(fds, 8, 2, 0));
	ASSERT_EQ(0, chan_info(fds[0], &r));
	ASSERT_EQ(0, chan_info(fds[1], &s));
	EXPECT_EQ(CHAN_RIGHT_RECV, r.rights);
	EXPECT_EQ(CHAN_RIGHT_SEND, s.rights);
	EXPECT_EQ(r.id, s.id);
	/* the bidirectional stepping stone is gone: one handle each way */
	EXPECT_EQ(1, r.send_handles);
	EXPECT_EQ(1, r.recv_handles);
	EXPECT_EQ(8, r.msg_size);
	EXPECT_EQ(2, chan_cap(fds[0]));
	EXPECT_EQ(2, chan_cap(fds[1]));

	ASSERT_EQ(0, chan_send(fds[1], "pipe", 4));
	EXPECT_EQ(1, chan_len(fds[0]));
	ASSERT_EQ(4, chan_recv(fds[0], buf, sizeof(buf), &ok));
	EXPECT_TRUE(ok);
	EXPECT_EQ(0, memcmp(buf, "pipe", 4));
	close(fds[0]);
	close(fds[1]);
}

TEST(pipe_wrong_direction)
{
	int fds[2];
	char buf[8];
	bool ok;

	ASSERT_EQ(0, chan_pipe(fds, 8, 2, 0));
	EXPECT_ERR(EBADF, chan_send(fds[0], "x", 1));
	EXPECT_ERR(EBADF, chan_trysend(fds[0], "x", 1));
	EXPECT_ERR(EBADF, chan_send_timeout(fds[0], "x", 1, MS(10)));
	EXPECT_ERR(EBADF, chan_recv(fds[1], buf, sizeof(buf), &ok));
	EXPECT_ERR(EBADF, chan_tryrecv(fds[1], buf, sizeof(buf), &ok));
	EXPECT_ERR(EBADF, chan_recv_timeout(fds[1], buf, sizeof(buf), &ok, MS(10)));
	EXPECT_ERR(EBADF, chan_close(fds[0]));	/* close needs the send right */
	EXPECT_EQ(0, chan_close(fds[1]));
	close(fds[0]);
	close(fds[1]);
}

TEST(pipe_flags)
{
	int fds[2];

	ASSERT_EQ(0, chan_pipe(fds, 4, 1, CHAN_CLOEXEC | CHAN_NONBLOCK));
	for (int i = 0; i < 2; i++) {
		EXPECT_NE(0, fd_cloexec(fds[i]));
		EXPECT_NE(0, fd_flags(fds[i]) & O_NONBLOCK);
		close(fds[i]);
	}
	ASSERT_EQ(0, chan_pipe(fds, 4, 1, 0));
	for (int i = 0; i < 2; i++) {
		EXPECT_EQ(0, fd_cloexec(fds[i]));
		EXPECT_EQ(0, fd_flags(fds[i]) & O_NONBLOCK);
		close(fds[i]);
	}
}

TEST(pipe_errors_leave_fds_alone)
{
	int fds[2] = { -7, -7 };
	int probe = chan_make(1, 1, 0), probe2;

	ASSERT_OK(probe);
	EXPECT_ERR(EMSGSIZE, chan_pipe(fds, SIZE_MAX, 1, 0));
	EXPECT_ERR(EINVAL, chan_pipe(fds, 4, 1, 1 << 20));
	EXPECT_EQ(-7, fds[0]);
	EXPECT_EQ(-7, fds[1]);
	probe2 = chan_make(1, 1, 0);
	EXPECT_EQ(probe + 1, probe2);	/* nothing leaked */
	close(probe);
	close(probe2);
}

TEST(pipe_sender_gone_closes)
{
	int fds[2];
	char buf[4];
	bool ok = true;

	ASSERT_EQ(0, chan_pipe(fds, 4, 4, 0));
	ASSERT_EQ(0, chan_send(fds[1], "ab", 2));
	close(fds[1]);	/* last send-capable handle: the channel closes */
	ASSERT_EQ(2, chan_recv(fds[0], buf, sizeof(buf), &ok));	/* drains */
	EXPECT_TRUE(ok);
	ASSERT_EQ(0, chan_recv(fds[0], buf, sizeof(buf), &ok));
	EXPECT_FALSE(ok);
	close(fds[0]);
}

TEST(pipe_receiver_gone_epipe)
{
	int fds[2];

	ASSERT_EQ(0, chan_pipe(fds, 4, 4, 0));
	close(fds[0]);	/* last recv-capable handle */
	EXPECT_ERR(EPIPE, chan_send(fds[1], "ab", 2));
	EXPECT_ERR(EPIPE, chan_trysend(fds[1], "ab", 2));
	close(fds[1]);
}

/* ---- send / recv -------------------------------------------------------- */

TEST(fifo_lengths_and_ok)
{
	const char *msgs[] = { "one", "", "three!", "4444" };
	int ch = chan_make(8, 4, 0);
	char buf[8];
	bool ok;

	ASSERT_OK(ch);
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(0, chan_send(ch, msgs[i], strlen(msgs[i])));
	EXPECT_EQ(4, chan_len(ch));
	for (int i = 0; i < 4; i++) {
		ok = false;
		ASSERT_EQ((ssize_t)strlen(msgs[i]), chan_recv(ch, buf, sizeof(buf), &ok));
		EXPECT_TRUE(ok);	/* an empty message is still ok */
		EXPECT_EQ(0, memcmp(buf, msgs[i], strlen(msgs[i])));
	}
	EXPECT_EQ(0, chan_len(ch));
	close(ch);
}

TEST(recv_ok_may_be_null)
{
	int ch = chan_make(4, 2, 0);
	int v = 7, got = 0;

	ASSERT_OK(ch);
	ASSERT_EQ(0, chan_send(ch, &v, sizeof(v)));
	ASSERT_EQ((ssize_t)sizeof(got), chan_recv(ch, &got, sizeof(got), NULL));
	EXPECT_EQ(7, got);
	ASSERT_EQ(0, chan_close(ch));
	EXPECT_EQ(0, chan_recv(ch, &got, sizeof(got), NULL));
	close(ch);
}

TEST(events_msg_size_zero)
{
	int ch = chan_make(0, 2, 0);
	bool ok = false;

	ASSERT_OK(ch);
	ASSERT_EQ(0, chan_send(ch, NULL, 0));
	EXPECT_ERR(EMSGSIZE, chan_send(ch, "x", 1));
	ASSERT_EQ(0, chan_recv(ch, NULL, 0, &ok));
	EXPECT_TRUE(ok);
	ASSERT_EQ(0, chan_close(ch));
	ok = true;
	ASSERT_EQ(0, chan_recv(ch, NULL, 0, &ok));
	EXPECT_FALSE(ok);
	close(ch);
}

TEST(try_would_block)
{
	int ch = chan_make(4, 1, 0);
	char buf[4];
	bool ok;

	ASSERT_OK(ch);
	EXPECT_ERR(EAGAIN, chan_tryrecv(ch, buf, sizeof(buf), &ok));
	ASSERT_EQ(0, chan_trysend(ch, "a", 1));
	EXPECT_ERR(EAGAIN, chan_trysend(ch, "b", 1));
	EXPECT_EQ(1, chan_len(ch));
	ASSERT_EQ(1, chan_tryrecv(ch, buf, sizeof(buf), &ok));
	EXPECT_TRUE(ok);
	EXPECT_EQ('a', buf[0]);
	close(ch);

	ch = chan_make(4, 0, 0);	/* unbuffered, nobody waiting */
	ASSERT_OK(ch);
	EXPECT_ERR(EAGAIN, chan_trysend(ch, "a", 1));
	EXPECT_ERR(EAGAIN, chan_tryrecv(ch, buf, sizeof(buf), &ok));
	close(ch);
}

TEST(nonblocking_handle_never_waits)
{
	int ch = chan_make(4, 1, CHAN_NONBLOCK);
	char buf[4];
	bool ok;

	ASSERT_OK(ch);
	EXPECT_ERR(EAGAIN, chan_recv(ch, buf, sizeof(buf), &ok));
	EXPECT_ERR(EAGAIN, chan_recv_timeout(ch, buf, sizeof(buf), &ok, MS(1000)));
	ASSERT_EQ(0, chan_send(ch, "a", 1));
	EXPECT_ERR(EAGAIN, chan_send(ch, "b", 1));
	EXPECT_ERR(EAGAIN, chan_send_timeout(ch, "b", 1, MS(1000)));
	close(ch);
}

TEST(timeouts)
{
	int ch = chan_make(4, 1, 0);
	char buf[4];
	int64_t t0, el;
	bool ok;

	ASSERT_OK(ch);
	t0 = now_ns();
	EXPECT_ERR(ETIMEDOUT, chan_recv_timeout(ch, buf, sizeof(buf), &ok, MS(100)));
	el = now_ns() - t0;
	EXPECT_GE(el, MS(100));
	EXPECT_LT(el, MS(5000));

	ASSERT_EQ(0, chan_send(ch, "a", 1));
	t0 = now_ns();
	EXPECT_ERR(ETIMEDOUT, chan_send_timeout(ch, "b", 1, MS(100)));
	el = now_ns() - t0;
	EXPECT_GE(el, MS(100));
	EXPECT_LT(el, MS(5000));
	EXPECT_EQ(1, chan_len(ch));	/* nothing sent */

	/* timeout 0 is try, < 0 is forever (here: data is ready) */
	EXPECT_ERR(EAGAIN, chan_send_timeout(ch, "b", 1, 0));
	ASSERT_EQ(1, chan_recv_timeout(ch, buf, sizeof(buf), &ok, -1));
	EXPECT_ERR(EAGAIN, chan_recv_timeout(ch, buf, sizeof(buf), &ok, 0));
	ASSERT_EQ(0, chan_send_timeout(ch, "c", 1, -1));
	close(ch);
}

TEST(emsgsize)
{
	int ch = chan_make(4, 2, 0);
	char big[8] = "abcdefg", buf[8];
	bool ok;

	ASSERT_OK(ch);
	EXPECT_ERR(EMSGSIZE, chan_send(ch, big, 5));
	EXPECT_ERR(EMSGSIZE, chan_trysend(ch, big, 5));
	EXPECT_ERR(EMSGSIZE, chan_send_timeout(ch, big, 5, MS(10)));
	EXPECT_EQ(0, chan_len(ch));
	ASSERT_EQ(0, chan_send(ch, big, 4));
	/* a short buffer: EMSGSIZE, and the message stays */
	EXPECT_ERR(EMSGSIZE, chan_recv(ch, buf, 3, &ok));
	EXPECT_ERR(EMSGSIZE, chan_tryrecv(ch, buf, 0, &ok));
	EXPECT_EQ(1, chan_len(ch));
	ASSERT_EQ(4, chan_recv(ch, buf, sizeof(buf), &ok));
	EXPECT_EQ(0, memcmp(buf, "abcd", 4));
	close(ch);
}

/* chan_call() (libchan 1.4): a send then a receive; *sent says which half. */
TEST(call_send_then_recv)
{
	int a = chan_make(8, 2, 0), b = chan_make(8, 2, 0);
	char buf[8];
	bool ok = false, sent = false;

	ASSERT_OK(a);
	ASSERT_OK(b);
	ASSERT_EQ(0, chan_send(b, "reply", 6));
	/* the message goes to a, the reply comes from b */
	EXPECT_EQ(6, chan_call(a, "req", 4, b, buf, sizeof(buf), &ok, &sent,
			       -1));
	EXPECT_TRUE(ok);
	EXPECT_TRUE(sent);
	EXPECT_EQ(0, memcmp(buf, "reply", 6));
	EXPECT_EQ(1, chan_len(a));
	/* nothing to receive: the send went in, the receive times out */
	sent = false;
	EXPECT_ERR(ETIMEDOUT, chan_call(a, "req", 4, b, buf, sizeof(buf),
					&ok, &sent, MS(10)));
	EXPECT_TRUE(sent);
	EXPECT_EQ(2, chan_len(a));
	/* a is full: the send cannot go in, nothing moved */
	EXPECT_ERR(EAGAIN, chan_call(a, "req", 4, b, buf, sizeof(buf), &ok,
				     &sent, 0));
	EXPECT_FALSE(sent);
	/* closed and drained receive side: 0, ok false, still sent */
	ASSERT_EQ(4, chan_recv(a, buf, sizeof(buf), &ok));
	ASSERT_EQ(0, chan_close(b));
	EXPECT_EQ(0, chan_call(a, "req", 4, b, buf, sizeof(buf), &ok, NULL,
			       -1));
	EXPECT_FALSE(ok);
	EXPECT_EQ(2, chan_len(a));
	/* one descriptor for both halves, ok and sent may be NULL */
	EXPECT_ERR(EINVAL, chan_call(a, "x", 1, a, buf, sizeof(buf), NULL,
				     &sent, 0));
	EXPECT_FALSE(sent);
	close(a);
	close(b);
}

TEST(close_semantics)
{
	int ch = chan_make(4, 4, 0);
	char buf[4];
	struct chan_info info;
	bool ok;

	ASSERT_OK(ch);
	ASSERT_EQ(0, chan_send(ch, "a", 1));
	ASSERT_EQ(0, chan_send(ch, "b", 1));
	ASSERT_EQ(0, chan_close(ch));
	EXPECT_ERR(EALREADY, chan_close(ch));
	EXPECT_ERR(EPIPE, chan_send(ch, "c", 1));
	EXPECT_ERR(EPIPE, chan_trysend(ch, "c", 1));
	EXPECT_ERR(EPIPE, chan_send_timeout(ch, "c", 1, MS(10)));
	ASSERT_EQ(0, chan_info(ch, &info));
	EXPECT_EQ(1, info.closed);
	EXPECT_EQ(2, info.len);
	/* drains, then reports closed, at once and for ever */
	ASSERT_EQ(1, chan_recv(ch, buf, sizeof(buf), &ok));
	EXPECT_TRUE(ok);
	EXPECT_EQ('a', buf[0]);
	ASSERT_EQ(1, chan_tryrecv(ch, buf, sizeof(buf), &ok));
	EXPECT_EQ('b', buf[0]);
	for (int i = 0; i < 3; i++) {
		ok = true;
		ASSERT_EQ(0, chan_recv(ch, buf, sizeof(buf), &ok));
		EXPECT_FALSE(ok);
		ok = true;
		ASSERT_EQ(0, chan_tryrecv(ch, buf, sizeof(buf), &ok));
		EXPECT_FALSE(ok);
		ok = true;
		ASSERT_EQ(0, chan_recv_timeout(ch, buf, sizeof(buf), &ok, MS(10)));
		EXPECT_FALSE(ok);
	}
	close(ch);
}

TEST(bad_fds)
{
	struct chan_info info;
	struct chan_buf b = { NULL, 0 };
	char buf[4];
	int p[2], closed_fd;
	bool ok;

	EXPECT_ERR(EBADF, chan_send(-1, "a", 1));
	EXPECT_ERR(EBADF, chan_trysend(-1, "a", 1));
	EXPECT_ERR(EBADF, chan_send_timeout(-1, "a", 1, 0));
	EXPECT_ERR(EBADF, chan_recv(-1, buf, 4, &ok));
	EXPECT_ERR(EBADF, chan_tryrecv(-1, buf, 4, &ok));
	EXPECT_ERR(EBADF, chan_recv_timeout(-1, buf, 4, &ok, 0));
	EXPECT_ERR(EBADF, chan_close(-1));
	EXPECT_ERR(EBADF, chan_len(-1));
	EXPECT_ERR(EBADF, chan_cap(-1));
	EXPECT_ERR(EBADF, chan_info(-1, &info));
	EXPECT_ERR(EBADF, chan_send_batch(-1, &b, 1, 0));
	EXPECT_ERR(EBADF, chan_recv_batch(-1, &b, 1, 0));

	closed_fd = chan_make(4, 1, 0);
	ASSERT_OK(closed_fd);
	close(closed_fd);
	EXPECT_ERR(EBADF, chan_send(closed_fd, "a", 1));
	EXPECT_ERR(EBADF, chan_recv(closed_fd, buf, 4, &ok));
	EXPECT_ERR(EBADF, chan_len(closed_fd));

	/* not a channel: the file's own ioctl answers (ENOTTY for a pipe) */
	ASSERT_EQ(0, pipe(p));
	EXPECT_ERR(ENOTTY, chan_send(p[1], "a", 1));
	EXPECT_ERR(ENOTTY, chan_recv(p[0], buf, 4, &ok));
	EXPECT_ERR(ENOTTY, chan_close(p[1]));
	EXPECT_ERR(ENOTTY, chan_info(p[0], &info));
	close(p[0]);
	close(p[1]);
}

TEST(null_pointers)
{
	int ch = chan_make(4, 1, 0);
	char buf[4];
	bool ok;

	ASSERT_OK(ch);
	EXPECT_ERR(EFAULT, chan_info(ch, NULL));
	EXPECT_ERR(EFAULT, chan_open(NULL, O_RDWR, 0, 0, 0));
	EXPECT_ERR(EFAULT, chan_unlink(NULL));
	EXPECT_ERR(EFAULT, chan_select(NULL, 1, 0));
	EXPECT_ERR(EFAULT, chan_send_batch(ch, NULL, 1, 0));
	EXPECT_ERR(EFAULT, chan_recv_batch(ch, NULL, 1, 0));
	/* bad buffers: EFAULT from the kernel, nothing moved */
	EXPECT_ERR(EFAULT, chan_send(ch, (void *)8, 4));
	EXPECT_EQ(0, chan_len(ch));
	ASSERT_EQ(0, chan_send(ch, "abcd", 4));
	EXPECT_ERR(EFAULT, chan_recv(ch, (void *)8, 4, &ok));
	EXPECT_EQ(1, chan_len(ch));
	ASSERT_EQ(4, chan_recv(ch, buf, 4, &ok));
	close(ch);
}

TEST(info_counters)
{
	struct chan_info info;
	int ch = chan_make(8, 4, 0);
	char buf[8];
	bool ok;

	ASSERT_OK(ch);
	ASSERT_EQ(0, chan_send(ch, "a", 1));
	ASSERT_EQ(0, chan_send(ch, "b", 1));
	ASSERT_EQ(1, chan_recv(ch, buf, sizeof(buf), &ok));
	ASSERT_EQ(0, chan_info(ch, &info));
	EXPECT_EQ(CHAN_INFO_SIZE_VER0, info.size);
	EXPECT_EQ(2, info.sent);
	EXPECT_EQ(1, info.received);
	EXPECT_EQ(1, info.len);
	EXPECT_NE(0, info.id);
	close(ch);
}

TEST(len_cap_need_no_right)
{
	int fds[2];

	ASSERT_EQ(0, chan_pipe(fds, 4, 3, 0));
	ASSERT_EQ(0, chan_send(fds[1], "a", 1));
	EXPECT_EQ(1, chan_len(fds[0]));
	EXPECT_EQ(1, chan_len(fds[1]));
	EXPECT_EQ(3, chan_cap(fds[0]));
	EXPECT_EQ(3, chan_cap(fds[1]));
	close(fds[0]);
	close(fds[1]);
}

/* A descriptor sent along (CHAN_FDPASS, raw ioctl) is closed by chan_recv. */
TEST(fdpass_recv_drops_fd)
{
	int ch = chan_make(4, 1, CHAN_FDPASS), p[2], lowest, again;
	struct chan_msg m;
	char buf[4];
	bool ok;

	ASSERT_OK(ch);
	ASSERT_EQ(0, pipe(p));
	memset(&m, 0, sizeof(m));
	m.size = sizeof(m);
	m.buf = (uintptr_t)"fd!";
	m.len = 3;
	m.fd = p[0];
	ASSERT_EQ(0, ioctl(ch, CHAN_IOC_SEND, &m)) TH_LOG("send with fd: %s", strerror(errno));
	lowest = dup(0);
	ASSERT_LE(0, lowest);
	close(lowest);
	ASSERT_EQ(3, chan_recv(ch, buf, sizeof(buf), &ok));
	EXPECT_TRUE(ok);
	again = dup(0);
	EXPECT_EQ(lowest, again);	/* the installed descriptor was closed */
	close(again);
	close(p[0]);
	close(p[1]);
	close(ch);
}

/* ---- across processes --------------------------------------------------- */

TEST(rendezvous_across_fork)
{
	int ch = chan_make(sizeof(int), 0, 0);
	struct chan_info info;
	pid_t pid;
	int v;
	bool ok;

	ASSERT_OK(ch);
	pid = child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		v = 1234;
		_exit(chan_send(ch, &v, sizeof(v)) == 0 ? 0 : 1);	/* blocks */
	}
	ASSERT_EQ(0, wait_waiters(ch, 1, 0));	/* the sender is parked */
	ASSERT_EQ(0, chan_info(ch, &info));
	EXPECT_EQ(0, info.len);			/* unbuffered: nothing stored */
	ASSERT_EQ((ssize_t)sizeof(v), chan_recv(ch, &v, sizeof(v), &ok));
	EXPECT_TRUE(ok);
	EXPECT_EQ(1234, v);
	EXPECT_EQ(0, reap(pid));
	close(ch);
}

TEST(blocked_recv_woken_by_send)
{
	int ch = chan_make(sizeof(int), 0, 0);
	pid_t pid;
	int v = 0;
	bool ok;

	ASSERT_OK(ch);
	pid = child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (wait_waiters(ch, 0, 1))
			_exit(2);
		v = 99;
		_exit(chan_send(ch, &v, sizeof(v)) == 0 ? 0 : 1);
	}
	ASSERT_EQ((ssize_t)sizeof(v), chan_recv(ch, &v, sizeof(v), &ok));
	EXPECT_EQ(99, v);
	EXPECT_EQ(0, reap(pid));
	close(ch);
}

TEST(blocked_recv_woken_by_close)
{
	int fds[2];
	pid_t pid;
	char buf[4];
	bool ok = true;

	ASSERT_EQ(0, chan_pipe(fds, 4, 0, 0));
	pid = child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (wait_waiters(fds[1], 0, 1))
			_exit(2);
		_exit(chan_close(fds[1]) == 0 ? 0 : 1);
	}
	ASSERT_EQ(0, chan_recv(fds[0], buf, sizeof(buf), &ok));
	EXPECT_FALSE(ok);
	EXPECT_EQ(0, reap(pid));
	close(fds[0]);
	close(fds[1]);
}

TEST(blocked_send_woken_by_close_epipe)
{
	int ch = chan_make(4, 0, 0);
	pid_t pid;

	ASSERT_OK(ch);
	pid = child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (wait_waiters(ch, 1, 0))
			_exit(2);
		_exit(chan_close(ch) == 0 ? 0 : 1);
	}
	EXPECT_ERR(EPIPE, chan_send(ch, "x", 1));
	EXPECT_EQ(0, reap(pid));
	close(ch);
}

TEST(crash_killed_sender_closes)
{
	int fds[2];
	pid_t pid;
	char buf[4];
	bool ok = true;

	ASSERT_EQ(0, chan_pipe(fds, 4, 0, 0));
	pid = child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(fds[0]);
		for (;;)
			pause();
	}
	close(fds[1]);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	EXPECT_EQ(128 + SIGKILL, reap(pid));
	ASSERT_EQ(0, chan_recv_timeout(fds[0], buf, sizeof(buf), &ok, MS(WAIT_MS)));
	EXPECT_FALSE(ok);
	close(fds[0]);
}

TEST(crash_killed_receiver_epipe)
{
	int fds[2];
	pid_t pid;

	ASSERT_EQ(0, chan_pipe(fds, 4, 0, 0));
	pid = child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(fds[1]);
		for (;;)
			pause();
	}
	close(fds[0]);
	pid_t killer = child();

	ASSERT_LE(0, killer);
	if (killer == 0) {
		if (wait_waiters(fds[1], 1, 0))
			_exit(2);
		kill(pid, SIGKILL);
		_exit(0);
	}
	EXPECT_ERR(EPIPE, chan_send_timeout(fds[1], "x", 1, MS(WAIT_MS)));
	EXPECT_EQ(0, reap(killer));
	EXPECT_EQ(128 + SIGKILL, reap(pid));
	close(fds[1]);
}

struct thr {
	int ch;
	int id;
	long count;
	long sum;
};

static void *thr_send(void *arg)
{
	struct thr *t = arg;

	for (long i = 0; i < t->count; i++) {
		long v = t->id * 100000L + i;

		if (chan_send(t->ch, &v, sizeof(v)))
			return (void *)1;
	}
	return NULL;
}

static void *thr_recv(void *arg)
{
	struct thr *t = arg;
	long v;
	bool ok;

	for (;;) {
		if (chan_recv(t->ch, &v, sizeof(v), &ok) < 0)
			return (void *)1;
		if (!ok)
			return NULL;
		t->count++;
		t->sum += v;
	}
}

TEST(threads_share_a_channel)
{
	enum { NT = 4, PER = 2000 };
	struct thr s[NT], r[NT];
	pthread_t st[NT], rt[NT];
	long count = 0, sum = 0, want = 0;
	void *ret;
	int ch = chan_make(sizeof(long), 8, 0);

	ASSERT_OK(ch);
	for (int i = 0; i < NT; i++) {
		r[i] = (struct thr){ ch, i, 0, 0 };
		s[i] = (struct thr){ ch, i, PER, 0 };
		ASSERT_EQ(0, pthread_create(&rt[i], NULL, thr_recv, &r[i]));
		ASSERT_EQ(0, pthread_create(&st[i], NULL, thr_send, &s[i]));
		for (long j = 0; j < PER; j++)
			want += i * 100000L + j;
	}
	for (int i = 0; i < NT; i++) {
		ASSERT_EQ(0, pthread_join(st[i], &ret));
		EXPECT_EQ(NULL, ret);
	}
	ASSERT_EQ(0, chan_close(ch));
	for (int i = 0; i < NT; i++) {
		ASSERT_EQ(0, pthread_join(rt[i], &ret));
		EXPECT_EQ(NULL, ret);
		count += r[i].count;
		sum += r[i].sum;
	}
	EXPECT_EQ(NT * PER, count);
	EXPECT_EQ(want, sum);
	close(ch);
}

/* ---- signals: EINTR without SA_RESTART, restart with it ----------------- */

static volatile int *handled;

static void on_sig(int sig)
{
	(void)sig;
	__atomic_add_fetch(handled, 1, __ATOMIC_SEQ_CST);
}

static int set_handler(int restart)
{
	struct sigaction sa;

	if (!handled) {
		handled = shared(sizeof(*handled));
		if (!handled)
			return -1;
	}
	*handled = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGUSR1, &sa, NULL);
}

/*
 * Child: once ch shows the wanted waiters, send the parent @count SIGUSR1s,
 * each after @gap_ms.
 */
static pid_t signal_when_waiting_n(int ch, unsigned int senders,
				   unsigned int receivers, int count, long gap_ms)
{
	pid_t parent = getpid(), pid = child();

	if (pid == 0) {
		if (wait_waiters(ch, senders, receivers))
			_exit(2);
		for (int i = 0; i < count; i++) {
			if (gap_ms)
				sleep_ms(gap_ms);
			kill(parent, SIGUSR1);
		}
		_exit(0);
	}
	return pid;
}

/* Child: once ch shows the wanted waiters, signal the parent once. */
static pid_t signal_when_waiting(int ch, unsigned int senders, unsigned int receivers)
{
	return signal_when_waiting_n(ch, senders, receivers, 1, 0);
}

TEST(recv_eintr)
{
	int ch = chan_make(4, 0, 0);
	char buf[4];
	pid_t pid;
	bool ok;

	ASSERT_OK(ch);
	ASSERT_EQ(0, set_handler(0));
	pid = signal_when_waiting(ch, 0, 1);
	ASSERT_LE(0, pid);
	EXPECT_ERR(EINTR, chan_recv(ch, buf, sizeof(buf), &ok));
	EXPECT_EQ(1, *handled);
	EXPECT_EQ(0, reap(pid));
	EXPECT_EQ(0, wait_waiters(ch, 0, 0));
	close(ch);
}

TEST(recv_timeout_eintr)
{
	int ch = chan_make(4, 0, 0);
	char buf[4];
	pid_t pid;
	bool ok;

	ASSERT_OK(ch);
	ASSERT_EQ(0, set_handler(0));
	pid = signal_when_waiting(ch, 0, 1);
	ASSERT_LE(0, pid);
	EXPECT_ERR(EINTR, chan_recv_timeout(ch, buf, sizeof(buf), &ok, MS(WAIT_MS)));
	EXPECT_EQ(0, reap(pid));
	close(ch);
}

TEST(send_eintr_sends_nothing)
{
	int ch = chan_make(4, 1, 0);
	struct chan_info info;
	pid_t pid;

	ASSERT_OK(ch);
	ASSERT_EQ(0, chan_send(ch, "a", 1));	/* full */
	ASSERT_EQ(0, set_handler(0));
	pid = signal_when_waiting(ch, 1, 0);
	ASSERT_LE(0, pid);
	EXPECT_ERR(EINTR, chan_send(ch, "b", 1));
	EXPECT_EQ(0, reap(pid));
	ASSERT_EQ(0, chan_info(ch, &info));
	EXPECT_EQ(1, info.len);
	EXPECT_EQ(1, info.sent);
	close(ch);
}

TEST(recv_sa_restart_continues)
{
	int ch = chan_make(sizeof(int), 0, 0);
	pid_t parent = getpid(), pid;
	int v = 0;
	bool ok;

	ASSERT_OK(ch);
	ASSERT_EQ(0, set_handler(1));
	pid = child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (wait_waiters(ch, 0, 1))
			_exit(2);
		kill(parent, SIGUSR1);
		while (!__atomic_load_n(handled, __ATOMIC_SEQ_CST))
			usleep(500);
		if (wait_waiters(ch, 0, 1))	/* parked again: restarted */
			_exit(3);
		v = 5;
		_exit(chan_send(ch, &v, sizeof(v)) ? 4 : 0);
	}
	ASSERT_EQ((ssize_t)sizeof(v), chan_recv(ch, &v, sizeof(v), &ok));
	EXPECT_TRUE(ok);
	EXPECT_EQ(5, v);
	EXPECT_EQ(1, *handled);
	EXPECT_EQ(0, reap(pid));
	close(ch);
}

TEST(send_sa_restart_continues)
{
	int ch = chan_make(sizeof(int), 0, 0);
	pid_t parent = getpid(), pid;
	int v = 6;

	ASSERT_OK(ch);
	ASSERT_EQ(0, set_handler(1));
	pid = child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		bool ok;

		if (wait_waiters(ch, 1, 0))
			_exit(2);
		kill(parent, SIGUSR1);
		while (!__atomic_load_n(handled, __ATOMIC_SEQ_CST))
			usleep(500);
		if (wait_waiters(ch, 1, 0))
			_exit(3);
		v = 0;
		if (chan_recv(ch, &v, sizeof(v), &ok) != sizeof(v) || !ok || v != 6)
			_exit(4);
		_exit(0);
	}
	ASSERT_EQ(0, chan_send(ch, &v, sizeof(v)));
	EXPECT_EQ(1, *handled);
	EXPECT_EQ(0, reap(pid));
	close(ch);
}

/*
 * With SA_RESTART a timed wait keeps its deadline: signals every 100 ms
 * during a 1 s timeout must not stretch it to 1 s + the time spent.
 */
TEST(recv_timeout_sa_restart_keeps_deadline)
{
	int ch = chan_make(4, 0, 0);
	pid_t pid;
	char buf[4];
	int64_t t0, el;
	bool ok;

	ASSERT_OK(ch);
	ASSERT_EQ(0, set_handler(1));
	pid = signal_when_waiting_n(ch, 0, 1, 8, 100);
	ASSERT_LE(0, pid);
	t0 = now_ns();
	EXPECT_ERR(ETIMEDOUT, chan_recv_timeout(ch, buf, sizeof(buf), &ok, MS(1000)));
	el = now_ns() - t0;
	EXPECT_EQ(0, reap(pid));
	EXPECT_GE(*handled, 1);
	EXPECT_GE(el, MS(1000));
	/* restarting with the full timeout would take about 1.8 s */
	EXPECT_LT(el, MS(1600)) TH_LOG("timeout took %lld ms", (long long)(el / 1000000));
	close(ch);
}

/* ---- select ------------------------------------------------------------- */

TEST(select_recv_ready)
{
	int a = chan_make(8, 1, 0), b = chan_make(8, 1, 0);
	char ba[8] = "", bb[8] = "";

	ASSERT_OK(a);
	ASSERT_OK(b);
	ASSERT_EQ(0, chan_send(b, "hello", 5));
	struct chan_case c[] = {
		{ .ch = a, .op = CHAN_RECV, .buf = ba, .len = sizeof(ba) },
		{ .ch = b, .op = CHAN_RECV, .buf = bb, .len = sizeof(bb) },
	};
	ASSERT_EQ(1, chan_select(c, 2, -1));
	EXPECT_TRUE(c[1].ok);
	EXPECT_EQ(5, c[1].len);
	EXPECT_EQ(0, memcmp(bb, "hello", 5));
	EXPECT_EQ(sizeof(ba), c[0].len);	/* other cases untouched */
	EXPECT_EQ(0, chan_len(b));
	close(a);
	close(b);
}

TEST(select_send_ready)
{
	int full = chan_make(4, 1, 0), room = chan_make(4, 1, 0);
	int v = 42, got = 0;
	bool ok;

	ASSERT_OK(full);
	ASSERT_OK(room);
	ASSERT_EQ(0, chan_send(full, "f", 1));
	struct chan_case c[] = {
		{ .ch = full, .op = CHAN_SEND, .buf = "x", .len = 1 },
		{ .ch = room, .op = CHAN_SEND, .buf = &v, .len = sizeof(v) },
	};
	ASSERT_EQ(1, chan_select(c, 2, 0));
	EXPECT_TRUE(c[1].ok);
	EXPECT_EQ(sizeof(v), c[1].len);
	EXPECT_EQ(1, chan_len(full));
	ASSERT_EQ((ssize_t)sizeof(got), chan_recv(room, &got, sizeof(got), &ok));
	EXPECT_EQ(42, got);
	close(full);
	close(room);
}

TEST(select_default_eagain)
{
	int a = chan_make(4, 1, 0), b = chan_make(4, 0, 0);
	char buf[4];

	ASSERT_OK(a);
	ASSERT_OK(b);
	struct chan_case c[] = {
		{ .ch = a, .op = CHAN_RECV, .buf = buf, .len = sizeof(buf) },
		{ .ch = b, .op = CHAN_SEND, .buf = "x", .len = 1 },
	};
	EXPECT_ERR(EAGAIN, chan_select(c, 2, 0));
	EXPECT_EQ(0, chan_len(a));
	close(a);
	close(b);
}

TEST(select_timeout)
{
	int a = chan_make(4, 1, 0);
	char buf[4];
	int64_t t0, el;

	ASSERT_OK(a);
	struct chan_case c[] = {
		{ .ch = a, .op = CHAN_RECV, .buf = buf, .len = sizeof(buf) },
	};
	t0 = now_ns();
	EXPECT_ERR(ETIMEDOUT, chan_select(c, 1, MS(100)));
	el = now_ns() - t0;
	EXPECT_GE(el, MS(100));
	EXPECT_LT(el, MS(5000));
	close(a);
}

TEST(select_closed_cases)
{
	int r = chan_make(4, 1, 0), s = chan_make(4, 1, 0);
	char buf[4] = "zzz";

	ASSERT_OK(r);
	ASSERT_OK(s);
	ASSERT_EQ(0, chan_close(r));
	struct chan_case c[] = {
		{ .ch = r, .op = CHAN_RECV, .buf = buf, .len = sizeof(buf), .ok = true },
	};
	ASSERT_EQ(0, chan_select(c, 1, -1));
	EXPECT_FALSE(c[0].ok);
	EXPECT_EQ(0, c[0].len);

	/* a send case on a closed channel fires with ok = false, sends nothing */
	ASSERT_EQ(0, chan_close(s));
	struct chan_case d[] = {
		{ .ch = s, .op = CHAN_SEND, .buf = "x", .len = 1, .ok = true },
	};
	ASSERT_EQ(0, chan_select(d, 1, -1));
	EXPECT_FALSE(d[0].ok);
	EXPECT_EQ(0, chan_len(s));
	close(r);
	close(s);
}

TEST(select_nil_cases)
{
	int a = chan_make(4, 1, 0);
	char buf[4];
	int64_t t0;

	ASSERT_OK(a);
	ASSERT_EQ(0, chan_send(a, "a", 1));
	struct chan_case c[] = {
		{ .ch = -1, .op = CHAN_RECV, .buf = buf, .len = sizeof(buf) },
		{ .ch = -1, .op = CHAN_SEND, .buf = "x", .len = 1 },
		{ .ch = a, .op = CHAN_RECV, .buf = buf, .len = sizeof(buf) },
	};
	ASSERT_EQ(2, chan_select(c, 3, -1));
	EXPECT_TRUE(c[2].ok);

	/* all nil: never fires (issued on /dev/chan) */
	EXPECT_ERR(EAGAIN, chan_select(c, 2, 0));
	t0 = now_ns();
	EXPECT_ERR(ETIMEDOUT, chan_select(c, 2, MS(50)));
	EXPECT_GE(now_ns() - t0, MS(50));
	/* no cases at all: the same */
	EXPECT_ERR(EAGAIN, chan_select(NULL, 0, 0));
	EXPECT_ERR(ETIMEDOUT, chan_select(NULL, 0, MS(20)));
	close(a);
}

TEST(select_many_cases)
{
	enum { N = 40 };	/* beyond the library's on-stack array */
	struct chan_case c[N];
	int ch[N], got = 0;

	for (int i = 0; i < N; i++) {
		ch[i] = chan_make(sizeof(int), 1, 0);
		ASSERT_OK(ch[i]);
		c[i] = (struct chan_case){ .ch = ch[i], .op = CHAN_RECV,
					   .buf = &got, .len = sizeof(got) };
	}
	int v = 37;

	ASSERT_EQ(0, chan_send(ch[37], &v, sizeof(v)));
	ASSERT_EQ(37, chan_select(c, N, 0));
	EXPECT_EQ(37, got);
	EXPECT_TRUE(c[37].ok);
	EXPECT_ERR(EAGAIN, chan_select(c, N, 0));
	for (int i = 0; i < N; i++)
		close(ch[i]);
}

TEST(select_random_choice)
{
	int a = chan_make(1, 1, 0), b = chan_make(1, 1, 0);
	int hits[2] = { 0, 0 };
	char buf[1];

	ASSERT_OK(a);
	ASSERT_OK(b);
	struct chan_case c[] = {
		{ .ch = a, .op = CHAN_RECV, .buf = buf, .len = 1 },
		{ .ch = b, .op = CHAN_RECV, .buf = buf, .len = 1 },
	};
	for (int i = 0; i < 400; i++) {
		if (chan_len(a) == 0)
			ASSERT_EQ(0, chan_send(a, "a", 1));
		if (chan_len(b) == 0)
			ASSERT_EQ(0, chan_send(b, "b", 1));
		c[0].len = c[1].len = 1;
		int idx = chan_select(c, 2, 0);

		ASSERT_TRUE(idx == 0 || idx == 1);
		hits[idx]++;
	}
	/* uniform: each near 200; 100 is > 10 sigma away */
	EXPECT_GT(hits[0], 100);
	EXPECT_GT(hits[1], 100);
	close(a);
	close(b);
}

TEST(select_blocks_until_a_peer)
{
	int a = chan_make(sizeof(int), 0, 0), b = chan_make(sizeof(int), 0, 0);
	int ga = 0, gb = 0;
	pid_t pid;

	ASSERT_OK(a);
	ASSERT_OK(b);
	pid = child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int v = 77;

		if (wait_waiters(b, 0, 1))	/* the select is parked on b */
			_exit(2);
		_exit(chan_send(b, &v, sizeof(v)) ? 1 : 0);
	}
	struct chan_case c[] = {
		{ .ch = a, .op = CHAN_RECV, .buf = &ga, .len = sizeof(ga) },
		{ .ch = b, .op = CHAN_RECV, .buf = &gb, .len = sizeof(gb) },
	};
	ASSERT_EQ(1, chan_select(c, 2, MS(WAIT_MS)));
	EXPECT_TRUE(c[1].ok);
	EXPECT_EQ(77, gb);
	EXPECT_EQ(0, ga);
	EXPECT_EQ(0, reap(pid));
	EXPECT_EQ(0, wait_waiters(a, 0, 0));	/* the other case was dequeued */
	close(a);
	close(b);
}

TEST(select_send_rendezvous)
{
	int a = chan_make(sizeof(int), 0, 0), b = chan_make(sizeof(int), 0, 0);
	int va = 1, vb = 2;
	pid_t pid;

	ASSERT_OK(a);
	ASSERT_OK(b);
	pid = child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int v = 0;
		bool ok;

		if (wait_waiters(a, 1, 0))
			_exit(2);
		if (chan_recv(a, &v, sizeof(v), &ok) != sizeof(v) || !ok || v != 1)
			_exit(1);
		/* exactly one case took effect: b has no sender */
		_exit(chan_tryrecv(b, &v, sizeof(v), &ok) < 0 && errno == EAGAIN ? 0 : 3);
	}
	struct chan_case c[] = {
		{ .ch = a, .op = CHAN_SEND, .buf = &va, .len = sizeof(va) },
		{ .ch = b, .op = CHAN_SEND, .buf = &vb, .len = sizeof(vb) },
	};
	ASSERT_EQ(0, chan_select(c, 2, MS(WAIT_MS)));
	EXPECT_TRUE(c[0].ok);
	EXPECT_EQ(0, reap(pid));
	close(a);
	close(b);
}

TEST(select_woken_by_close)
{
	int fds[2];
	char buf[4];
	pid_t pid;

	ASSERT_EQ(0, chan_pipe(fds, 4, 0, 0));
	pid = child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (wait_waiters(fds[1], 0, 1))
			_exit(2);
		_exit(chan_close(fds[1]) ? 1 : 0);
	}
	struct chan_case c[] = {
		{ .ch = fds[0], .op = CHAN_RECV, .buf = buf, .len = sizeof(buf), .ok = true },
	};
	ASSERT_EQ(0, chan_select(c, 1, MS(WAIT_MS)));
	EXPECT_FALSE(c[0].ok);
	EXPECT_EQ(0, reap(pid));
	close(fds[0]);
	close(fds[1]);
}

TEST(select_errors)
{
	int ch = chan_make(4, 1, 0), fds[2], p[2], gone;
	char buf[8];

	ASSERT_OK(ch);
	ASSERT_EQ(0, chan_pipe(fds, 4, 1, 0));
	ASSERT_EQ(0, pipe(p));
	gone = chan_make(4, 1, 0);
	ASSERT_OK(gone);
	close(gone);

	struct chan_case c = { .ch = ch, .op = 3, .buf = buf, .len = 4 };

	EXPECT_ERR(EINVAL, chan_select(&c, 1, 0));		/* bad op */
	c.op = 0;
	EXPECT_ERR(EINVAL, chan_select(&c, 1, 0));
	c = (struct chan_case){ .ch = gone, .op = CHAN_RECV, .buf = buf, .len = 4 };
	EXPECT_ERR(EBADF, chan_select(&c, 1, 0));		/* not open */
	c.ch = -2;
	EXPECT_ERR(EBADF, chan_select(&c, 1, 0));		/* fd < -1 */
	c.ch = p[0];
	EXPECT_ERR(EBADF, chan_select(&c, 1, 0));		/* not a channel */
	struct chan_case two[] = {
		{ .ch = ch, .op = CHAN_RECV, .buf = buf, .len = 4 },
		{ .ch = p[0], .op = CHAN_RECV, .buf = buf, .len = 4 },
	};
	EXPECT_ERR(EBADF, chan_select(two, 2, 0));
	c = (struct chan_case){ .ch = fds[0], .op = CHAN_SEND, .buf = buf, .len = 1 };
	EXPECT_ERR(EBADF, chan_select(&c, 1, 0));		/* no send right */
	c = (struct chan_case){ .ch = fds[1], .op = CHAN_RECV, .buf = buf, .len = 4 };
	EXPECT_ERR(EBADF, chan_select(&c, 1, 0));		/* no recv right */
	c = (struct chan_case){ .ch = ch, .op = CHAN_SEND, .buf = buf, .len = 5 };
	EXPECT_ERR(EMSGSIZE, chan_select(&c, 1, 0));		/* longer than msg_size */
	EXPECT_ERR(EINVAL, chan_select(&c, (size_t)UINT32_MAX + 1, 0));

	close(ch);
	close(fds[0]);
	close(fds[1]);
	close(p[0]);
	close(p[1]);
}

/*
 * Issue 14: chan_select() never sends its ioctl to a case's descriptor,
 * which may not be a channel (libchan 1.2 sent it to the first case's fd
 * and asked /dev/chan only if that failed).
 */
TEST(select_never_ioctls_a_case_fd)
{
	int ch = chan_make(4, 1, 0), p[2];
	char buf[8];

	ASSERT_OK(ch);
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(0, chan_send(ch, "abc", 3));
	struct chan_case two[] = {
		{ .ch = p[0], .op = CHAN_RECV, .buf = buf, .len = 4 },
		{ .ch = ch, .op = CHAN_RECV, .buf = buf, .len = 4 },
	};
	wrap_hits = 0;
	wrap_watch_fd = p[0];
	EXPECT_ERR(EBADF, chan_select(two, 2, 0));
	EXPECT_EQ(0, wrap_hits) TH_LOG("CHAN_IOC_SELECT sent to a pipe");
	/* a channel case first: still /dev/chan, and it works */
	two[0] = two[1];
	two[1].ch = -1;
	wrap_watch_fd = ch;
	wrap_hits = 0;
	EXPECT_EQ(0, chan_select(two, 2, 0));
	EXPECT_EQ(3, two[0].len);
	EXPECT_EQ(0, wrap_hits);
	wrap_watch_fd = -1;
	close(ch);
	close(p[0]);
	close(p[1]);
}

TEST(select_recv_buffer_too_short)
{
	int a = chan_make(8, 1, 0);
	char small[2], buf[8];
	bool ok;

	ASSERT_OK(a);
	ASSERT_EQ(0, chan_send(a, "abcd", 4));
	struct chan_case c[] = {
		{ .ch = a, .op = CHAN_RECV, .buf = small, .len = sizeof(small) },
	};
	EXPECT_ERR(EMSGSIZE, chan_select(c, 1, 0));
	EXPECT_EQ(1, chan_len(a));	/* the message stays */
	ASSERT_EQ(4, chan_recv(a, buf, sizeof(buf), &ok));
	close(a);
}

TEST(select_limits)
{
	unsigned long max_cases = param("max_select_cases", 4096);
	unsigned long max_bytes = param("max_select_bytes", 16UL << 20);
	unsigned long msg = param("max_msg_size", 65536);
	size_t n = max_bytes / msg + 1;
	struct chan_case *c;
	char *buf = malloc(msg);
	int ch = chan_make(msg, 0, 0);

	ASSERT_NE(NULL, buf);
	ASSERT_OK(ch);
	c = calloc(max_cases + 1, sizeof(*c));
	ASSERT_NE(NULL, c);
	for (size_t i = 0; i <= max_cases; i++)
		c[i] = (struct chan_case){ .ch = -1, .op = CHAN_RECV };
	EXPECT_ERR(EINVAL, chan_select(c, max_cases + 1, 0));	/* too many */
	EXPECT_ERR(EAGAIN, chan_select(c, max_cases, 0));	/* all nil */
	if (n <= max_cases) {
		/* the same channel in many cases is fine, until the staging
		 * (receive buffers, each capped at msg_size) is too big */
		for (size_t i = 0; i < n; i++)
			c[i] = (struct chan_case){ .ch = ch, .op = CHAN_RECV,
						   .buf = buf, .len = msg };
		EXPECT_ERR(ENOBUFS, chan_select(c, n, 0));
		EXPECT_ERR(EAGAIN, chan_select(c, n - 1, 0));
	}
	free(c);
	free(buf);
	close(ch);
}

TEST(read_write_interoperate)
{
	int ch = chan_make(8, 2, 0);
	char buf[8];
	bool ok;

	ASSERT_OK(ch);
	ASSERT_EQ(5, write(ch, "write", 5));
	ASSERT_EQ(5, chan_recv(ch, buf, sizeof(buf), &ok));
	EXPECT_EQ(0, memcmp(buf, "write", 5));
	ASSERT_EQ(0, chan_send(ch, "send", 4));
	ASSERT_EQ(4, read(ch, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "send", 4));
	close(ch);
}

TEST(select_eintr)
{
	int a = chan_make(4, 0, 0);
	char buf[4];
	pid_t pid;

	ASSERT_OK(a);
	ASSERT_EQ(0, set_handler(0));
	pid = signal_when_waiting(a, 0, 1);
	ASSERT_LE(0, pid);
	struct chan_case c[] = {
		{ .ch = a, .op = CHAN_RECV, .buf = buf, .len = sizeof(buf) },
	};
	EXPECT_ERR(EINTR, chan_select(c, 1, -1));
	EXPECT_EQ(0, reap(pid));
	EXPECT_EQ(0, wait_waiters(a, 0, 0));
	close(a);
}

TEST(select_sa_restart_continues)
{
	int a = chan_make(sizeof(int), 0, 0);
	pid_t parent = getpid(), pid;
	int got = 0;

	ASSERT_OK(a);
	ASSERT_EQ(0, set_handler(1));
	pid = child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int v = 11;

		if (wait_waiters(a, 0, 1))
			_exit(2);
		kill(parent, SIGUSR1);
		while (!__atomic_load_n(handled, __ATOMIC_SEQ_CST))
			usleep(500);
		if (wait_waiters(a, 0, 1))
			_exit(3);
		_exit(chan_send(a, &v, sizeof(v)) ? 4 : 0);
	}
	struct chan_case c[] = {
		{ .ch = a, .op = CHAN_RECV, .buf = &got, .len = sizeof(got) },
	};
	ASSERT_EQ(0, chan_select(c, 1, -1));
	EXPECT_EQ(11, got);
	EXPECT_EQ(1, *handled);
	EXPECT_EQ(0, reap(pid));
	close(a);
}

/* The select's timeout, not the O_NONBLOCK of whichever case fd the
 * library issues it on, decides whether it waits. */
TEST(select_nonblocking_case_fd_still_waits)
{
	int a = chan_make(4, 1, CHAN_NONBLOCK);
	char buf[4];
	int64_t t0;

	ASSERT_OK(a);
	struct chan_case c[] = {
		{ .ch = a, .op = CHAN_RECV, .buf = buf, .len = sizeof(buf) },
	};
	t0 = now_ns();
	EXPECT_ERR(ETIMEDOUT, chan_select(c, 1, MS(50)));
	EXPECT_GE(now_ns() - t0, MS(50));
	close(a);
}

/* ---- batches ------------------------------------------------------------ */

TEST(batch_roundtrip)
{
	char out[5][8], in[8][8];
	struct chan_buf sb[5], rb[8];
	int ch = chan_make(8, 8, 0);

	ASSERT_OK(ch);
	for (int i = 0; i < 5; i++) {
		snprintf(out[i], sizeof(out[i]), "m%d", i * 11);
		sb[i] = (struct chan_buf){ out[i], strlen(out[i]) };
	}
	ASSERT_EQ(5, chan_send_batch(ch, sb, 5, -1));
	EXPECT_EQ(5, chan_len(ch));
	for (int i = 0; i < 8; i++)
		rb[i] = (struct chan_buf){ in[i], sizeof(in[i]) };
	ASSERT_EQ(5, chan_recv_batch(ch, rb, 8, -1));
	for (int i = 0; i < 5; i++) {
		EXPECT_EQ(strlen(out[i]), rb[i].len);
		EXPECT_EQ(0, memcmp(in[i], out[i], rb[i].len));
	}
	EXPECT_EQ(0, chan_len(ch));
	close(ch);
}

TEST(batch_partial_and_would_block)
{
	struct chan_buf sb[10], rb[10];
	int v[10], w[10];
	int ch = chan_make(sizeof(int), 4, 0);

	ASSERT_OK(ch);
	for (int i = 0; i < 10; i++) {
		v[i] = i;
		sb[i] = (struct chan_buf){ &v[i], sizeof(int) };
		rb[i] = (struct chan_buf){ &w[i], sizeof(int) };
	}
	EXPECT_ERR(EAGAIN, chan_recv_batch(ch, rb, 10, 0));
	ASSERT_EQ(4, chan_send_batch(ch, sb, 10, 0));	/* what fits */
	EXPECT_ERR(EAGAIN, chan_send_batch(ch, sb + 4, 6, 0));
	EXPECT_ERR(ETIMEDOUT, chan_send_batch(ch, sb + 4, 6, MS(50)));
	ASSERT_EQ(4, chan_recv_batch(ch, rb, 10, 0));
	for (int i = 0; i < 4; i++)
		EXPECT_EQ(i, w[i]);
	EXPECT_ERR(ETIMEDOUT, chan_recv_batch(ch, rb, 10, MS(50)));
	close(ch);
}

TEST(batch_large)
{
	enum { N = 200 };	/* beyond the library's on-stack array */
	struct chan_buf *sb = calloc(N, sizeof(*sb)), *rb = calloc(N, sizeof(*rb));
	int *v = calloc(N, sizeof(int)), *w = calloc(N, sizeof(int));
	int ch = chan_make(sizeof(int), N, 0);

	ASSERT_TRUE(sb && rb && v && w);
	ASSERT_OK(ch);
	for (int i = 0; i < N; i++) {
		v[i] = i * 3;
		sb[i] = (struct chan_buf){ &v[i], sizeof(int) };
		rb[i] = (struct chan_buf){ &w[i], sizeof(int) };
	}
	ASSERT_EQ(N, chan_send_batch(ch, sb, N, 0));
	ASSERT_EQ(N, chan_recv_batch(ch, rb, N, 0));
	for (int i = 0; i < N; i++) {
		EXPECT_EQ(sizeof(int), rb[i].len);
		EXPECT_EQ(i * 3, w[i]);
	}
	close(ch);
	free(sb);
	free(rb);
	free(v);
	free(w);
}

TEST(batch_closed)
{
	struct chan_buf b;
	int x = 1, y;
	int ch = chan_make(sizeof(int), 4, 0);

	ASSERT_OK(ch);
	b = (struct chan_buf){ &x, sizeof(x) };
	ASSERT_EQ(1, chan_send_batch(ch, &b, 1, 0));
	ASSERT_EQ(0, chan_close(ch));
	EXPECT_ERR(EPIPE, chan_send_batch(ch, &b, 1, 0));
	b = (struct chan_buf){ &y, sizeof(y) };
	ASSERT_EQ(1, chan_recv_batch(ch, &b, 1, 0));	/* drains */
	EXPECT_EQ(1, y);
	ASSERT_EQ(0, chan_recv_batch(ch, &b, 1, 0));	/* closed and drained */
	ASSERT_EQ(0, chan_recv_batch(ch, &b, 1, -1));
	close(ch);
}

TEST(batch_errors)
{
	struct chan_buf b;
	char big[16] = "0123456789", small[2];
	int fds[2];

	ASSERT_EQ(0, chan_pipe(fds, 8, 4, 0));
	b = (struct chan_buf){ big, 9 };
	EXPECT_ERR(EMSGSIZE, chan_send_batch(fds[1], &b, 1, 0));
	EXPECT_ERR(EBADF, chan_send_batch(fds[0], &b, 1, 0));
	EXPECT_ERR(EBADF, chan_recv_batch(fds[1], &b, 1, 0));
	b = (struct chan_buf){ big, 8 };
	ASSERT_EQ(1, chan_send_batch(fds[1], &b, 1, 0));
	b = (struct chan_buf){ small, sizeof(small) };
	EXPECT_ERR(EMSGSIZE, chan_recv_batch(fds[0], &b, 1, 0));	/* stays */
	EXPECT_EQ(1, chan_len(fds[0]));
	close(fds[0]);
	close(fds[1]);
}

TEST(batch_blocks_until_first)
{
	int ch = chan_make(sizeof(int), 0, 0);
	struct chan_buf rb[4];
	int w[4];
	pid_t pid;

	ASSERT_OK(ch);
	pid = child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int v = 8;

		if (wait_waiters(ch, 0, 1))
			_exit(2);
		_exit(chan_send(ch, &v, sizeof(v)) ? 1 : 0);
	}
	for (int i = 0; i < 4; i++)
		rb[i] = (struct chan_buf){ &w[i], sizeof(int) };
	ASSERT_EQ(1, chan_recv_batch(ch, rb, 4, MS(WAIT_MS)));
	EXPECT_EQ(8, w[0]);
	EXPECT_EQ(0, reap(pid));
	close(ch);
}

TEST(batch_eintr)
{
	int ch = chan_make(sizeof(int), 0, 0);
	struct chan_buf rb[2];
	int w[2];
	pid_t pid;

	ASSERT_OK(ch);
	ASSERT_EQ(0, set_handler(0));
	for (int i = 0; i < 2; i++)
		rb[i] = (struct chan_buf){ &w[i], sizeof(int) };
	pid = signal_when_waiting(ch, 0, 1);
	ASSERT_LE(0, pid);
	EXPECT_ERR(EINTR, chan_recv_batch(ch, rb, 2, -1));
	EXPECT_EQ(0, reap(pid));
	close(ch);
}

/* ---- names -------------------------------------------------------------- */

#define NAMES_OR_SKIP(call) do { \
	errno = 0; \
	if ((call) < 0 && (errno == EOPNOTSUPP || errno == ENOTTY)) \
		SKIP(return, "channel names not supported by this module (%s)", \
		     strerror(errno)); \
} while (0)

TEST(open_unlink)
{
	char name[64];
	struct chan_info info;
	int a, r, w, rw;
	char buf[8];
	bool ok;

	snprintf(name, sizeof(name), "libchan_test.%d", getpid());
	chan_unlink(name);
	NAMES_OR_SKIP(a = chan_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
				    0600, 8, 4));
	ASSERT_OK(a);
	EXPECT_NE(0, fd_cloexec(a));
	EXPECT_EQ(4, chan_cap(a));
	EXPECT_ERR(EEXIST, chan_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, 8, 4));

	r = chan_open(name, O_RDONLY, 0, 0, 0);
	w = chan_open(name, O_WRONLY | O_NONBLOCK, 0, 0, 0);
	rw = chan_open(name, O_RDWR, 0, 0, 0);
	ASSERT_OK(r);
	ASSERT_OK(w);
	ASSERT_OK(rw);
	ASSERT_EQ(0, chan_info(r, &info));
	EXPECT_EQ(CHAN_RIGHT_RECV, info.rights);
	ASSERT_EQ(0, chan_info(w, &info));
	EXPECT_EQ(CHAN_RIGHT_SEND, info.rights);
	EXPECT_NE(0, fd_flags(w) & O_NONBLOCK);
	ASSERT_EQ(0, chan_info(rw, &info));
	EXPECT_EQ(CHAN_RIGHT_BOTH, info.rights);

	ASSERT_EQ(0, chan_send(w, "named", 5));
	ASSERT_EQ(5, chan_recv(r, buf, sizeof(buf), &ok));
	EXPECT_ERR(EBADF, chan_send(r, "x", 1));

	ASSERT_EQ(0, chan_unlink(name));
	EXPECT_ERR(ENOENT, chan_unlink(name));
	EXPECT_ERR(ENOENT, chan_open(name, O_RDWR, 0, 0, 0));
	/* open handles live on */
	ASSERT_EQ(0, chan_send(a, "still", 5));
	ASSERT_EQ(5, chan_recv(rw, buf, sizeof(buf), &ok));
	close(a);
	close(r);
	close(w);
	close(rw);
}

/* Issue 14: chan_open_flags() creates what chan_open() cannot. */
TEST(open_flags_fdpass_and_autoclose)
{
	char name[64];
	struct chan_info info;
	int a, w, m, fd = -1;
	char buf[8];
	bool ok;

	snprintf(name, sizeof(name), "libchan_test.flags.%d", getpid());
	chan_unlink(name);
	NAMES_OR_SKIP(a = chan_open_flags(name, O_RDONLY | O_CREAT | O_EXCL |
					  O_CLOEXEC, 0600, 8, 2,
					  CHAN_FDPASS | CHAN_AUTOCLOSE));
	ASSERT_OK(a);
	ASSERT_EQ(0, chan_info(a, &info));
	EXPECT_EQ(CHAN_FDPASS | CHAN_AUTOCLOSE, info.flags);
	w = chan_open(name, O_WRONLY, 0, 0, 0);
	ASSERT_OK(w);
	m = memfd_create("libchan_test", MFD_CLOEXEC);
	ASSERT_OK(m);
	EXPECT_EQ(0, chan_send_fd(w, "fd", 2, m, 0));
	close(m);
	EXPECT_EQ(2, chan_recv_fd(a, buf, sizeof(buf), &ok, &fd, CHAN_CLOEXEC, 0));
	EXPECT_TRUE(ok);
	EXPECT_LE(0, fd);
	if (fd >= 0)
		close(fd);
	/* CHAN_AUTOCLOSE: the last sender's close closes it, name or not */
	close(w);
	ASSERT_EQ(0, chan_info(a, &info));
	EXPECT_EQ(1, info.closed);
	/* bad attributes, and O_ flags are oflag's */
	EXPECT_ERR(EINVAL, chan_open_flags(name, O_RDWR, 0, 0, 0, 1 << 20));
	EXPECT_ERR(EINVAL, chan_open_flags(name, O_RDWR, 0, 0, 0, CHAN_CLOEXEC));
	EXPECT_EQ(0, chan_unlink(name));
	close(a);
}

TEST(open_errors)
{
	char name[64];

	snprintf(name, sizeof(name), "libchan_test.none.%d", getpid());
	NAMES_OR_SKIP(chan_unlink(name));
	EXPECT_ERR(ENOENT, chan_open(name, O_RDWR, 0, 0, 0));
	EXPECT_ERR(ENOENT, chan_unlink(name));
	EXPECT_ERR(EMSGSIZE, chan_open(name, O_RDWR | O_CREAT, 0600, SIZE_MAX, 1));
}

/* ---- installation --------------------------------------------------------- */

/*
 * make install into a scratch DESTDIR, build a program against it with
 * pkg-config (shared and static), run both (they make a channel), and
 * uninstall: userlib's check-install target, from the source tree next to
 * this binary.
 */
FIXTURE(install) {};
FIXTURE_SETUP(install) {}
FIXTURE_TEARDOWN(install) {}

/* compiling under emulation takes a while */
TEST_F_TIMEOUT(install, destdir_pkg_config, 600)
{
	char exe[PATH_MAX], dir[PATH_MAX + 16], cmd[3 * PATH_MAX];
	char log[] = "/tmp/libchan_test.install.XXXXXX";
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int st, fd;

	ASSERT_LT(0, n);
	exe[n] = 0;
	*strrchr(exe, '/') = 0;
	snprintf(dir, sizeof(dir), "%s/../userlib", exe);
	snprintf(cmd, sizeof(cmd), "%s/Makefile", dir);
	if (access(cmd, R_OK))
		SKIP(return, "no userlib source tree next to this binary");
	if (system("{ command -v make && command -v cc && command -v pkg-config; } >/dev/null 2>&1") != 0)
		SKIP(return, "make, cc or pkg-config missing");
	fd = mkstemp(log);
	ASSERT_LE(0, fd);
	snprintf(cmd, sizeof(cmd),
		 "make -s --no-print-directory -C '%s' check-install >'%s' 2>&1", dir, log);
	st = system(cmd);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		char out[4096];
		ssize_t len = read(fd, out, sizeof(out) - 1);

		out[len > 0 ? len : 0] = 0;
		TH_LOG("make check-install failed:\n%s", out);
	}
	close(fd);
	unlink(log);
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(0, WEXITSTATUS(st));
}

/* ---- handles and descriptors (libchan 1.1) ---- */

TEST(dup_fewer_rights)
{
	int ch, tx, rx, again;
	char buf[4];
	bool ok;

	ASSERT_OK(ch = chan_make(4, 2, 0));
	ASSERT_OK(tx = chan_dup(ch, CHAN_RIGHT_SEND, CHAN_CLOEXEC));
	ASSERT_OK(rx = chan_dup(ch, CHAN_RIGHT_RECV, CHAN_NONBLOCK));
	EXPECT_NE(0, fd_cloexec(tx));
	EXPECT_EQ(0, fd_cloexec(rx));
	EXPECT_NE(0, fd_flags(rx) & O_NONBLOCK);
	EXPECT_ERR(EBADF, chan_recv(tx, buf, sizeof(buf), &ok));
	EXPECT_ERR(EBADF, chan_send(rx, "x", 1));
	/* a right the handle lacks cannot be regained */
	EXPECT_ERR(EBADF, chan_dup(rx, CHAN_RIGHT_BOTH, 0));
	EXPECT_ERR(EBADF, chan_dup(tx, CHAN_RIGHT_RECV, 0));
	EXPECT_ERR(EINVAL, chan_dup(ch, 0, 0));
	EXPECT_ERR(EINVAL, chan_dup(ch, CHAN_RIGHT_SEND, 1 << 20));
	EXPECT_ERR(EBADF, chan_dup(-1, CHAN_RIGHT_SEND, 0));
	ASSERT_OK(again = chan_dup(tx, CHAN_RIGHT_SEND, 0));
	ASSERT_EQ(0, chan_send(again, "dup", 3));
	ASSERT_EQ(3, chan_recv(rx, buf, sizeof(buf), &ok));
	EXPECT_TRUE(ok);
	EXPECT_EQ(0, memcmp(buf, "dup", 3));
	close(again);
	close(tx);
	close(rx);
	close(ch);
}

/* Closing the original leaves the send-only dup able to close the channel. */
TEST(dup_handles_count_for_crash_safety)
{
	int ch, tx, rx;
	char buf[4];
	bool ok = true;

	ASSERT_OK(ch = chan_make(4, 1, 0));
	ASSERT_OK(tx = chan_dup(ch, CHAN_RIGHT_SEND, 0));
	ASSERT_OK(rx = chan_dup(ch, CHAN_RIGHT_RECV, 0));
	close(ch);
	ASSERT_EQ(0, chan_send(tx, "a", 1));
	close(tx);	/* the last sender: the channel closes */
	ASSERT_EQ(1, chan_recv(rx, buf, sizeof(buf), &ok));
	EXPECT_TRUE(ok);
	ASSERT_EQ(0, chan_recv(rx, buf, sizeof(buf), &ok));
	EXPECT_FALSE(ok);
	close(rx);
}

TEST(send_fd_across_fork)
{
	int ch, p[2], status;
	pid_t pid;

	ASSERT_OK(ch = chan_make(8, 1, CHAN_FDPASS));
	pid = child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char msg[8], data[8];
		int fd = -2;
		bool ok = false;
		ssize_t n = chan_recv_fd(ch, msg, sizeof(msg), &ok, &fd,
					 CHAN_CLOEXEC, -1);

		if (n != 5 || !ok || memcmp(msg, "pipe!", 5) || fd < 0)
			_exit(1);
		if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC))
			_exit(2);
		if (read(fd, data, sizeof(data)) != 5 || memcmp(data, "hello", 5))
			_exit(3);
		_exit(0);
	}
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(5, write(p[1], "hello", 5));
	ASSERT_EQ(0, chan_send_fd(ch, "pipe!", 5, p[0], -1));
	/* the sender's descriptor stays open */
	EXPECT_LE(0, fcntl(p[0], F_GETFD));
	status = reap(pid);
	EXPECT_EQ(0, status);
	close(p[0]);
	close(p[1]);
	close(ch);
}

TEST(recv_fd_without_cloexec_and_none_sent)
{
	int ch, fd = -2, ev;
	char buf[4];
	bool ok = false;

	ASSERT_OK(ch = chan_make(4, 2, CHAN_FDPASS));
	ASSERT_OK(ev = open("/dev/null", O_RDONLY));
	ASSERT_EQ(0, chan_send_fd(ch, "fd", 2, ev, 0));
	ASSERT_EQ(0, chan_send_fd(ch, "no", 2, -1, 0));
	ASSERT_EQ(2, chan_recv_fd(ch, buf, sizeof(buf), &ok, &fd, 0, 0));
	EXPECT_TRUE(ok);
	ASSERT_LE(0, fd);
	EXPECT_NE(ev, fd);
	EXPECT_EQ(0, fd_cloexec(fd));
	close(fd);
	fd = -2;
	ASSERT_EQ(2, chan_recv_fd(ch, buf, sizeof(buf), &ok, &fd, 0, 0));
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(0, memcmp(buf, "no", 2));
	ASSERT_EQ(0, chan_close(ch));
	fd = -2;
	ASSERT_EQ(0, chan_recv_fd(ch, buf, sizeof(buf), &ok, &fd, 0, 0));
	EXPECT_FALSE(ok);
	EXPECT_EQ(-1, fd);
	close(ev);
	close(ch);
}

TEST(send_fd_errors)
{
	int plain, fdpass, other, ev;
	char buf[4];
	bool ok;
	int fd;

	ASSERT_OK(plain = chan_make(4, 1, 0));
	ASSERT_OK(fdpass = chan_make(4, 1, CHAN_FDPASS));
	ASSERT_OK(other = chan_make(4, 1, CHAN_FDPASS));
	ASSERT_OK(ev = open("/dev/null", O_RDONLY));
	/* no CHAN_FDPASS: no descriptor may ride along, but -1 is fine */
	EXPECT_ERR(EINVAL, chan_send_fd(plain, "x", 1, ev, 0));
	EXPECT_EQ(0, chan_send_fd(plain, "x", 1, -1, 0));
	/* a closed descriptor */
	EXPECT_ERR(EBADF, chan_send_fd(fdpass, "x", 1, 1000, 0));
	/* files that can carry files do not travel */
	EXPECT_ERR(EINVAL, chan_send_fd(fdpass, "x", 1, other, 0));
	EXPECT_ERR(EINVAL, chan_send_fd(fdpass, "x", 1, fdpass, 0));
	EXPECT_EQ(0, chan_len(fdpass));
	/* full, timeout 0 */
	ASSERT_EQ(0, chan_send_fd(fdpass, "x", 1, ev, 0));
	EXPECT_ERR(EAGAIN, chan_send_fd(fdpass, "y", 1, ev, 0));
	EXPECT_ERR(ETIMEDOUT, chan_send_fd(fdpass, "y", 1, ev, MS(5)));
	/* bad flags are refused before anything is taken */
	EXPECT_ERR(EINVAL, chan_recv_fd(fdpass, buf, sizeof(buf), &ok, &fd,
					CHAN_NONBLOCK, 0));
	EXPECT_EQ(1, chan_len(fdpass));
	/* NULL fd: the descriptor is dropped, the message delivered */
	ASSERT_EQ(1, chan_recv_fd(fdpass, buf, sizeof(buf), &ok, NULL, 0, 0));
	EXPECT_TRUE(ok);
	EXPECT_ERR(EAGAIN, chan_recv_fd(fdpass, buf, sizeof(buf), &ok, &fd, 0, 0));
	EXPECT_ERR(ETIMEDOUT, chan_recv_fd(fdpass, buf, sizeof(buf), &ok, &fd,
					   0, MS(5)));
	close(ev);
	close(other);
	close(fdpass);
	close(plain);
}

/* ---- select sets (libchan 1.2) ------------------------------------------ */

static struct chan_case recv_case(int ch, void *buf, size_t len)
{
	return (struct chan_case){ .ch = ch, .op = CHAN_RECV, .buf = buf, .len = len };
}

static struct chan_case send_case(int ch, const void *msg, size_t len)
{
	return (struct chan_case){ .ch = ch, .op = CHAN_SEND, .buf = (void *)msg,
				   .len = len };
}

TEST(selset_make)
{
	char link[64], path[64];
	int set, cl, after;
	char c;

	ASSERT_OK(set = chan_selset_make(0));
	ASSERT_OK(cl = chan_selset_make(CHAN_CLOEXEC));
	EXPECT_EQ(0, fd_cloexec(set));
	EXPECT_NE(0, fd_cloexec(cl));
	EXPECT_EQ(O_RDWR, fd_flags(set) & O_ACCMODE);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", set);
	memset(link, 0, sizeof(link));
	ASSERT_LT(0, readlink(path, link, sizeof(link) - 1));
	EXPECT_STREQ("anon_inode:[chan_selset]", link);
	/* CHAN_CLOEXEC is the only flag */
	EXPECT_ERR(EINVAL, chan_selset_make(CHAN_NONBLOCK));
	EXPECT_ERR(EINVAL, chan_selset_make(CHAN_FDPASS));
	EXPECT_ERR(EINVAL, chan_selset_make(1 << 20));
	EXPECT_ERR(EINVAL, chan_selset_make(-1));
	/* a set is no channel: no read/write, no channel ioctls */
	EXPECT_ERR(EINVAL, read(set, &c, 1));
	EXPECT_ERR(EINVAL, write(set, "x", 1));
	EXPECT_ERR(ENOTTY, chan_len(set));
	EXPECT_ERR(ENOTTY, chan_send(set, "x", 1));
	EXPECT_ERR(ENOTTY, chan_close(set));
	/* /dev/chan is opened for the call only, also when it fails */
	close(cl);
	for (int i = 0; i < 50; i++) {
		ASSERT_OK(cl = chan_selset_make(0));
		close(cl);
		EXPECT_ERR(EINVAL, chan_selset_make(CHAN_NONBLOCK));
	}
	ASSERT_OK(after = chan_selset_make(0));
	EXPECT_EQ(set + 1, after);
	close(after);
	close(set);
}

TEST(selset_recv_ready)
{
	int a = chan_make(8, 2, 0), b = chan_make(8, 2, 0), set;
	char ba[8] = "", bb[8] = "";
	struct chan_case c;
	size_t len = 99;
	bool ok = false;

	ASSERT_OK(a);
	ASSERT_OK(b);
	ASSERT_OK(set = chan_selset_make(CHAN_CLOEXEC));
	c = recv_case(a, ba, sizeof(ba));
	ASSERT_EQ(0, chan_selset_set(set, 0, &c));
	c = recv_case(b, bb, sizeof(bb));
	ASSERT_EQ(0, chan_selset_set(set, 1, &c));
	c = recv_case(-1, NULL, 0);	/* the set copied the case */

	ASSERT_EQ(0, chan_send(b, "hello", 5));
	ASSERT_EQ(1, chan_selset_wait(set, -1, &len, &ok));
	EXPECT_TRUE(ok);
	EXPECT_EQ(5, len);
	EXPECT_EQ(0, memcmp(bb, "hello", 5));
	EXPECT_EQ(0, chan_len(b));
	/* registered once, waited on again and again */
	for (int i = 0; i < 10; i++) {
		ASSERT_EQ(0, chan_send(a, "ab", 2));
		ASSERT_EQ(0, chan_selset_wait(set, 0, &len, &ok));
		EXPECT_TRUE(ok);
		EXPECT_EQ(2, len);
		EXPECT_EQ(0, memcmp(ba, "ab", 2));
	}
	ASSERT_EQ(0, chan_send(b, "bye", 3));
	ASSERT_EQ(1, chan_selset_wait(set, 0, &len, &ok));
	EXPECT_EQ(3, len);
	EXPECT_EQ(0, memcmp(bb, "bye", 3));
	close(set);
	close(a);
	close(b);
}

TEST(selset_send_ready)
{
	int full = chan_make(4, 1, 0), room = chan_make(4, 1, 0), set;
	struct chan_case c;
	int v = 42, got = 0;
	size_t len = 0;
	bool ok = false;

	ASSERT_OK(full);
	ASSERT_OK(room);
	ASSERT_OK(set = chan_selset_make(0));
	ASSERT_EQ(0, chan_send(full, "f", 1));
	c = send_case(full, "x", 1);
	ASSERT_EQ(0, chan_selset_set(set, 0, &c));
	c = send_case(room, &v, sizeof(v));
	ASSERT_EQ(0, chan_selset_set(set, 1, &c));
	ASSERT_EQ(1, chan_selset_wait(set, 0, &len, &ok));
	EXPECT_TRUE(ok);
	EXPECT_EQ(sizeof(v), len);	/* a send case reports its own length */
	EXPECT_EQ(1, chan_len(full));
	ASSERT_EQ((ssize_t)sizeof(got), chan_recv(room, &got, sizeof(got), &ok));
	EXPECT_EQ(42, got);
	/* the message is read at wait time, not when the case was set */
	v = 43;
	ASSERT_EQ(1, chan_selset_wait(set, 0, NULL, NULL));
	ASSERT_EQ((ssize_t)sizeof(got), chan_recv(room, &got, sizeof(got), &ok));
	EXPECT_EQ(43, got);
	close(set);
	close(full);
	close(room);
}

TEST(selset_len_ok_may_be_null)
{
	int a = chan_make(8, 4, 0), set;
	char buf[8];
	struct chan_case c = recv_case(a, buf, sizeof(buf));
	size_t len = 0;
	bool ok = false;

	ASSERT_OK(a);
	ASSERT_OK(set = chan_selset_make(0));
	ASSERT_EQ(0, chan_selset_set(set, 3, &c));
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(0, chan_send(a, "abc", 3));
	EXPECT_EQ(3, chan_selset_wait(set, 0, NULL, NULL));
	EXPECT_EQ(3, chan_selset_wait(set, 0, &len, NULL));
	EXPECT_EQ(3, len);
	EXPECT_EQ(3, chan_selset_wait(set, 0, NULL, &ok));
	EXPECT_TRUE(ok);
	EXPECT_EQ(0, chan_len(a));
	/* closed: ok false, length 0 */
	ASSERT_EQ(0, chan_close(a));
	len = 7;
	EXPECT_EQ(3, chan_selset_wait(set, 0, NULL, NULL));
	EXPECT_EQ(3, chan_selset_wait(set, 0, &len, &ok));
	EXPECT_FALSE(ok);
	EXPECT_EQ(0, len);
	close(set);
	close(a);
}

TEST(selset_default_timeout_and_empty)
{
	int a = chan_make(4, 1, 0), b = chan_make(4, 0, 0), set;
	char buf[4];
	struct chan_case c;
	size_t len = 123;
	bool ok = true;
	int64_t t0, el;

	ASSERT_OK(a);
	ASSERT_OK(b);
	ASSERT_OK(set = chan_selset_make(0));
	/* an empty set never fires: Go's empty select */
	EXPECT_ERR(EAGAIN, chan_selset_wait(set, 0, &len, &ok));
	t0 = now_ns();
	EXPECT_ERR(ETIMEDOUT, chan_selset_wait(set, MS(50), &len, &ok));
	EXPECT_GE(now_ns() - t0, MS(50));
	/* nothing ready */
	c = recv_case(a, buf, sizeof(buf));
	ASSERT_EQ(0, chan_selset_set(set, 0, &c));
	c = send_case(b, "x", 1);
	ASSERT_EQ(0, chan_selset_set(set, 1, &c));
	EXPECT_ERR(EAGAIN, chan_selset_wait(set, 0, &len, &ok));
	t0 = now_ns();
	EXPECT_ERR(ETIMEDOUT, chan_selset_wait(set, MS(100), &len, &ok));
	el = now_ns() - t0;
	EXPECT_GE(el, MS(100));
	EXPECT_LT(el, MS(5000));
	/* failures leave *len and *ok alone */
	EXPECT_EQ(123, len);
	EXPECT_TRUE(ok);
	EXPECT_EQ(0, wait_waiters(a, 0, 0));	/* nothing left queued */
	EXPECT_EQ(0, wait_waiters(b, 0, 0));
	close(set);
	close(a);
	close(b);
}

/* The set's timeout decides, not an O_NONBLOCK on a case's descriptor. */
TEST(selset_nonblocking_case_fd_still_waits)
{
	int a = chan_make(4, 1, CHAN_NONBLOCK), set;
	char buf[4];
	struct chan_case c = recv_case(a, buf, sizeof(buf));
	int64_t t0;

	ASSERT_OK(a);
	ASSERT_OK(set = chan_selset_make(0));
	ASSERT_EQ(0, chan_selset_set(set, 0, &c));
	t0 = now_ns();
	EXPECT_ERR(ETIMEDOUT, chan_selset_wait(set, MS(50), NULL, NULL));
	EXPECT_GE(now_ns() - t0, MS(50));
	close(set);
	close(a);
}

TEST(selset_closed_cases)
{
	int r = chan_make(4, 1, 0), s = chan_make(4, 1, 0), set;
	char buf[4] = "zzz";
	struct chan_case c;
	size_t len = 9;
	bool ok = true;

	ASSERT_OK(r);
	ASSERT_OK(s);
	ASSERT_OK(set = chan_selset_make(0));
	c = recv_case(r, buf, sizeof(buf));
	ASSERT_EQ(0, chan_selset_set(set, 0, &c));
	ASSERT_EQ(0, chan_send(r, "m", 1));
	ASSERT_EQ(0, chan_close(r));
	/* drains first, then reports closed, again and again */
	ASSERT_EQ(0, chan_selset_wait(set, -1, &len, &ok));
	EXPECT_TRUE(ok);
	EXPECT_EQ(1, len);
	for (int i = 0; i < 3; i++) {
		ok = true;
		len = 9;
		ASSERT_EQ(0, chan_selset_wait(set, -1, &len, &ok));
		EXPECT_FALSE(ok);
		EXPECT_EQ(0, len);
	}
	/* a send case on a closed channel fires with ok false, sends nothing */
	ASSERT_EQ(0, chan_selset_set(set, 0, NULL));
	c = send_case(s, "x", 1);
	ASSERT_EQ(0, chan_selset_set(set, 1, &c));
	ASSERT_EQ(0, chan_close(s));
	ok = true;
	len = 9;
	ASSERT_EQ(1, chan_selset_wait(set, -1, &len, &ok));
	EXPECT_FALSE(ok);
	EXPECT_EQ(0, len);
	EXPECT_EQ(0, chan_len(s));
	close(set);
	close(r);
	close(s);
}

TEST(selset_nil_cases)
{
	int a = chan_make(4, 4, 0), set;
	char buf[4];
	struct chan_case c;

	ASSERT_OK(a);
	ASSERT_OK(set = chan_selset_make(0));
	/* nil, also at an index never set; NULL or ch -1, either op */
	EXPECT_EQ(0, chan_selset_set(set, 0, NULL));
	EXPECT_EQ(0, chan_selset_set(set, 77, NULL));
	c = (struct chan_case){ .ch = -1, .op = CHAN_SEND };
	EXPECT_EQ(0, chan_selset_set(set, 5, &c));
	c = (struct chan_case){ .ch = -1, .op = CHAN_RECV, .buf = buf, .len = 4 };
	EXPECT_EQ(0, chan_selset_set(set, 6, &c));
	EXPECT_ERR(EAGAIN, chan_selset_wait(set, 0, NULL, NULL));
	/* a sparse set: only case 100 is live */
	c = recv_case(a, buf, sizeof(buf));
	ASSERT_EQ(0, chan_selset_set(set, 100, &c));
	ASSERT_EQ(0, chan_send(a, "a", 1));
	ASSERT_EQ(0, chan_send(a, "b", 1));
	EXPECT_EQ(100, chan_selset_wait(set, 0, NULL, NULL));
	/* nil again: never fires, though a message waits */
	c.ch = -1;
	ASSERT_EQ(0, chan_selset_set(set, 100, &c));
	EXPECT_ERR(EAGAIN, chan_selset_wait(set, 0, NULL, NULL));
	EXPECT_EQ(1, chan_len(a));
	/* the same channel in two cases */
	c = recv_case(a, buf, sizeof(buf));
	ASSERT_EQ(0, chan_selset_set(set, 1, &c));
	ASSERT_EQ(0, chan_selset_set(set, 2, &c));
	int idx = chan_selset_wait(set, 0, NULL, NULL);

	EXPECT_TRUE(idx == 1 || idx == 2);
	EXPECT_EQ(0, chan_len(a));
	close(set);
	close(a);
}

TEST(selset_errors)
{
	unsigned long max_cases = param("max_select_cases", 4096);
	int ch = chan_make(4, 1, 0), fds[2], p[2], gone, set, dev;
	char buf[8];
	struct chan_case c;
	size_t len = 5;
	bool ok = true;

	ASSERT_OK(ch);
	ASSERT_EQ(0, chan_pipe(fds, 4, 1, 0));
	ASSERT_EQ(0, pipe(p));
	ASSERT_OK(dev = open("/dev/chan", O_RDWR | O_CLOEXEC));
	ASSERT_OK(set = chan_selset_make(0));
	ASSERT_OK(gone = chan_make(4, 1, 0));
	close(gone);	/* last: nothing below reuses its number */
	c = recv_case(ch, buf, 4);

	/* the set descriptor */
	EXPECT_ERR(EBADF, chan_selset_set(-1, 0, &c));
	EXPECT_ERR(EBADF, chan_selset_set(gone, 0, &c));
	EXPECT_ERR(ENOTTY, chan_selset_set(ch, 0, &c));		/* a channel */
	EXPECT_ERR(ENOTTY, chan_selset_set(dev, 0, &c));	/* /dev/chan */
	EXPECT_ERR(ENOTTY, chan_selset_set(p[0], 0, &c));	/* a pipe */
	EXPECT_ERR(EBADF, chan_selset_wait(-1, 0, &len, &ok));
	EXPECT_ERR(EBADF, chan_selset_wait(gone, 0, &len, &ok));
	EXPECT_ERR(ENOTTY, chan_selset_wait(ch, 0, &len, &ok));
	EXPECT_ERR(ENOTTY, chan_selset_wait(dev, 0, &len, &ok));
	EXPECT_ERR(ENOTTY, chan_selset_wait(p[0], 0, &len, &ok));
	EXPECT_EQ(5, len);
	EXPECT_TRUE(ok);

	/* the index */
	EXPECT_ERR(EINVAL, chan_selset_set(set, (unsigned)max_cases, &c));
	EXPECT_ERR(EINVAL, chan_selset_set(set, UINT_MAX, &c));
	EXPECT_ERR(EINVAL, chan_selset_set(set, UINT_MAX, NULL));
	EXPECT_EQ(0, chan_selset_set(set, (unsigned)max_cases - 1, NULL));

	/* the op, checked for a nil case too */
	c.op = 3;
	EXPECT_ERR(EINVAL, chan_selset_set(set, 0, &c));
	c.op = 0;
	EXPECT_ERR(EINVAL, chan_selset_set(set, 0, &c));
	c.ch = -1;
	EXPECT_ERR(EINVAL, chan_selset_set(set, 0, &c));

	/* the case's descriptor */
	c = recv_case(gone, buf, 4);
	EXPECT_ERR(EBADF, chan_selset_set(set, 0, &c));		/* not open */
	c.ch = -2;
	EXPECT_ERR(EBADF, chan_selset_set(set, 0, &c));		/* below -1 */
	c.ch = INT_MIN;
	EXPECT_ERR(EBADF, chan_selset_set(set, 0, &c));
	c.ch = p[0];
	EXPECT_ERR(EBADF, chan_selset_set(set, 0, &c));		/* not a channel */
	c.ch = dev;
	EXPECT_ERR(EBADF, chan_selset_set(set, 0, &c));
	c.ch = set;
	EXPECT_ERR(EBADF, chan_selset_set(set, 0, &c));		/* a set */

	/* the wrong direction */
	c = send_case(fds[0], "x", 1);
	EXPECT_ERR(EBADF, chan_selset_set(set, 0, &c));		/* no send right */
	c = recv_case(fds[1], buf, 4);
	EXPECT_ERR(EBADF, chan_selset_set(set, 0, &c));		/* no recv right */
	c = send_case(fds[1], "x", 1);
	EXPECT_EQ(0, chan_selset_set(set, 0, &c));
	c = recv_case(fds[0], buf, 4);
	EXPECT_EQ(0, chan_selset_set(set, 1, &c));

	/* a message longer than msg_size; a recv buffer may be longer */
	c = send_case(ch, buf, 5);
	EXPECT_ERR(EMSGSIZE, chan_selset_set(set, 2, &c));
	c = recv_case(ch, buf, sizeof(buf));
	EXPECT_EQ(0, chan_selset_set(set, 2, &c));

	/* a select set is not a case of a select, nor a passed descriptor */
	c = recv_case(set, buf, 4);
	EXPECT_ERR(EBADF, chan_select(&c, 1, 0));
	int fp = chan_make(4, 1, CHAN_FDPASS);

	ASSERT_OK(fp);
	EXPECT_ERR(EINVAL, chan_send_fd(fp, "s", 1, set, 0));
	EXPECT_EQ(0, chan_len(fp));
	close(fp);

	close(set);
	close(dev);
	close(ch);
	close(fds[0]);
	close(fds[1]);
	close(p[0]);
	close(p[1]);
}

/* A failed chan_selset_set() leaves the case as it was. */
TEST(selset_failed_set_changes_nothing)
{
	int a = chan_make(4, 2, 0), b = chan_make(2, 2, 0), set;
	char buf[4];
	struct chan_case c = recv_case(a, buf, sizeof(buf)), bad;
	size_t len;
	bool ok;

	ASSERT_OK(a);
	ASSERT_OK(b);
	ASSERT_OK(set = chan_selset_make(0));
	ASSERT_EQ(0, chan_selset_set(set, 0, &c));
	bad = send_case(b, "toolong", 7);
	EXPECT_ERR(EMSGSIZE, chan_selset_set(set, 0, &bad));
	bad = recv_case(-5, buf, 4);
	EXPECT_ERR(EBADF, chan_selset_set(set, 0, &bad));
	bad = recv_case(b, buf, 4);
	bad.op = 9;
	EXPECT_ERR(EINVAL, chan_selset_set(set, 0, &bad));
	ASSERT_EQ(0, chan_send(a, "kept", 4));
	ASSERT_EQ(0, chan_selset_wait(set, 0, &len, &ok));
	EXPECT_TRUE(ok);
	EXPECT_EQ(4, len);
	EXPECT_EQ(0, memcmp(buf, "kept", 4));
	/* and no case appeared where the failed one was aimed */
	ASSERT_EQ(0, chan_send(b, "b", 1));
	EXPECT_ERR(EAGAIN, chan_selset_wait(set, 0, &len, &ok));
	close(set);
	close(a);
	close(b);
}

TEST(selset_recv_buffer_too_short)
{
	int a = chan_make(8, 1, 0), set;
	char small[2], buf[8];
	struct chan_case c = recv_case(a, small, sizeof(small));
	size_t len = 0;
	bool ok = true;

	ASSERT_OK(a);
	ASSERT_OK(set = chan_selset_make(0));
	ASSERT_EQ(0, chan_selset_set(set, 0, &c));
	ASSERT_EQ(0, chan_send(a, "abcde", 5));
	EXPECT_ERR(EMSGSIZE, chan_selset_wait(set, 0, &len, &ok));
	EXPECT_EQ(5, len);	/* the size the message needs */
	EXPECT_TRUE(ok);	/* untouched */
	EXPECT_ERR(EMSGSIZE, chan_selset_wait(set, 0, NULL, NULL));
	EXPECT_EQ(1, chan_len(a));	/* the message stays */
	c = recv_case(a, buf, sizeof(buf));
	ASSERT_EQ(0, chan_selset_set(set, 0, &c));
	ASSERT_EQ(0, chan_selset_wait(set, 0, &len, &ok));
	EXPECT_EQ(5, len);
	EXPECT_EQ(0, memcmp(buf, "abcde", 5));
	close(set);
	close(a);
}

/* Buffers are used at wait time: a bad one fails EFAULT, nothing moves. */
TEST(selset_bad_buffer_efault)
{
	int a = chan_make(4, 1, 0), b = chan_make(4, 1, 0), set;
	void *bad = (void *)8;
	struct chan_case c = recv_case(a, bad, 4);

	ASSERT_OK(a);
	ASSERT_OK(b);
	ASSERT_OK(set = chan_selset_make(0));
	ASSERT_EQ(0, chan_selset_set(set, 0, &c));	/* not read here */
	ASSERT_EQ(0, chan_send(a, "m", 1));
	EXPECT_ERR(EFAULT, chan_selset_wait(set, 0, NULL, NULL));
	EXPECT_EQ(1, chan_len(a));
	ASSERT_EQ(0, chan_selset_set(set, 0, NULL));
	c = send_case(b, bad, 4);
	ASSERT_EQ(0, chan_selset_set(set, 0, &c));
	EXPECT_ERR(EFAULT, chan_selset_wait(set, 0, NULL, NULL));
	EXPECT_EQ(0, chan_len(b));
	close(set);
	close(a);
	close(b);
}

TEST(selset_limits)
{
	unsigned long max_bytes = param("max_select_bytes", 16UL << 20);
	unsigned long msg = param("max_msg_size", 65536);
	unsigned long max_cases = param("max_select_cases", 4096);
	size_t n = max_bytes / msg + 1;
	char *buf = malloc(msg);
	int ch = chan_make(msg, 0, 0), small = chan_make(1, 1, 0), set;
	struct chan_case c;

	ASSERT_NE(NULL, buf);
	ASSERT_OK(ch);
	ASSERT_OK(small);
	ASSERT_OK(set = chan_selset_make(0));
	if (n > max_cases)
		SKIP(goto out, "max_select_bytes not reachable in max_select_cases cases");
	/* recv buffers count up to msg_size each, the same channel or not */
	c = recv_case(ch, buf, msg * 4);
	for (size_t i = 0; i < n - 1; i++)
		ASSERT_EQ(0, chan_selset_set(set, (unsigned)i, &c));
	EXPECT_ERR(ENOBUFS, chan_selset_set(set, (unsigned)(n - 1), &c));
	EXPECT_ERR(EAGAIN, chan_selset_wait(set, 0, NULL, NULL));
	/* replacing a case frees its bytes first */
	c = recv_case(small, buf, 1);
	ASSERT_EQ(0, chan_selset_set(set, 0, &c));
	c = recv_case(ch, buf, msg - 1);
	EXPECT_EQ(0, chan_selset_set(set, (unsigned)(n - 1), &c));
	ASSERT_EQ(0, chan_send(small, "s", 1));
	EXPECT_EQ(0, chan_selset_wait(set, 0, NULL, NULL));
	EXPECT_EQ('s', buf[0]);
out:
	close(set);
	free(buf);
	close(ch);
	close(small);
}

TEST(selset_random_choice)
{
	int a = chan_make(1, 1, 0), b = chan_make(1, 1, 0), set;
	int hits[2] = { 0, 0 };
	char ba[1], bb[1];
	struct chan_case c;

	ASSERT_OK(a);
	ASSERT_OK(b);
	ASSERT_OK(set = chan_selset_make(0));
	c = recv_case(a, ba, 1);
	ASSERT_EQ(0, chan_selset_set(set, 0, &c));
	c = recv_case(b, bb, 1);
	ASSERT_EQ(0, chan_selset_set(set, 1, &c));
	for (int i = 0; i < 400; i++) {
		if (chan_len(a) == 0)
			ASSERT_EQ(0, chan_send(a, "a", 1));
		if (chan_len(b) == 0)
			ASSERT_EQ(0, chan_send(b, "b", 1));
		int idx = chan_selset_wait(set, 0, NULL, NULL);

		ASSERT_TRUE(idx == 0 || idx == 1);
		hits[idx]++;
	}
	/* uniform: each near 200; 100 is > 10 sigma away */
	EXPECT_GT(hits[0], 100);
	EXPECT_GT(hits[1], 100);
	close(set);
	close(a);
	close(b);
}

TEST(selset_blocks_until_a_peer)
{
	int a = chan_make(sizeof(int), 0, 0), b = chan_make(sizeof(int), 0, 0), set;
	int ga = 0, gb = 0, va = 1;
	struct chan_case c;
	size_t len = 0;
	bool ok = false;
	pid_t pid;

	ASSERT_OK(a);
	ASSERT_OK(b);
	ASSERT_OK(set = chan_selset_make(0));
	c = send_case(a, &va, sizeof(va));
	ASSERT_EQ(0, chan_selset_set(set, 0, &c));
	c = recv_case(b, &gb, sizeof(gb));
	ASSERT_EQ(0, chan_selset_set(set, 1, &c));
	pid = child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int v = 77;

		/* the wait is parked on both channels */
		if (wait_waiters(b, 0, 1) || wait_waiters(a, 1, 0))
			_exit(2);
		_exit(chan_send(b, &v, sizeof(v)) ? 1 : 0);
	}
	ASSERT_EQ(1, chan_selset_wait(set, MS(WAIT_MS), &len, &ok));
	EXPECT_TRUE(ok);
	EXPECT_EQ(sizeof(int), len);
	EXPECT_EQ(77, gb);
	EXPECT_EQ(0, reap(pid));
	EXPECT_EQ(0, wait_waiters(a, 0, 0));	/* the send case was dequeued */
	EXPECT_ERR(EAGAIN, chan_tryrecv(a, &ga, sizeof(ga), &ok));
	close(set);
	close(a);
	close(b);
}

/*
 * The set holds its own handle of each channel in a case, as dup() would:
 * closing the caller's descriptor does not release the channel, setting
 * the case to nil or closing the set does.
 */
TEST(selset_holds_its_own_handle)
{
	int fds[2], set;
	struct chan_case c;
	struct chan_info info;
	char buf[4];
	bool ok = true;

	ASSERT_EQ(0, chan_pipe(fds, 4, 1, 0));
	ASSERT_OK(set = chan_selset_make(0));
	c = send_case(fds[1], "s", 1);
	ASSERT_EQ(0, chan_selset_set(set, 0, &c));
	ASSERT_EQ(0, chan_info(fds[0], &info));
	EXPECT_EQ(1, info.send_handles);	/* one handle, two holders */
	close(fds[1]);				/* the set still holds it */
	ASSERT_EQ(0, chan_info(fds[0], &info));
	EXPECT_EQ(0, info.closed);
	EXPECT_EQ(1, info.send_handles);
	EXPECT_ERR(EAGAIN, chan_tryrecv(fds[0], buf, sizeof(buf), &ok));
	/* and the set can still send on it */
	ASSERT_EQ(0, chan_selset_wait(set, 0, NULL, NULL));
	ASSERT_EQ(1, chan_tryrecv(fds[0], buf, sizeof(buf), &ok));
	EXPECT_TRUE(ok);
	/* nil drops the set's reference: the last sender is gone */
	ASSERT_EQ(0, chan_selset_set(set, 0, NULL));
	ASSERT_EQ(0, chan_info(fds[0], &info));
	EXPECT_EQ(1, info.closed);
	EXPECT_EQ(0, info.send_handles);
	ASSERT_EQ(0, chan_tryrecv(fds[0], buf, sizeof(buf), &ok));
	EXPECT_FALSE(ok);
	close(fds[0]);

	/* closing the set drops it too */
	ASSERT_EQ(0, chan_pipe(fds, 4, 1, 0));
	c = send_case(fds[1], "s", 1);
	ASSERT_EQ(0, chan_selset_set(set, 3, &c));
	close(fds[1]);
	ASSERT_EQ(0, chan_info(fds[0], &info));
	EXPECT_EQ(0, info.closed);
	close(set);
	ASSERT_EQ(0, chan_info(fds[0], &info));
	EXPECT_EQ(1, info.closed);
	close(fds[0]);
}

TEST(selset_eintr)
{
	int a = chan_make(4, 0, 0), set;
	char buf[4];
	struct chan_case c = recv_case(a, buf, sizeof(buf));
	size_t len = 3;
	pid_t pid;

	ASSERT_OK(a);
	ASSERT_OK(set = chan_selset_make(0));
	ASSERT_EQ(0, chan_selset_set(set, 0, &c));
	ASSERT_EQ(0, set_handler(0));
	pid = signal_when_waiting(a, 0, 1);
	ASSERT_LE(0, pid);
	EXPECT_ERR(EINTR, chan_selset_wait(set, -1, &len, NULL));
	EXPECT_EQ(3, len);
	EXPECT_EQ(1, *handled);
	EXPECT_EQ(0, reap(pid));
	EXPECT_EQ(0, wait_waiters(a, 0, 0));
	/* a timed wait too */
	pid = signal_when_waiting(a, 0, 1);
	ASSERT_LE(0, pid);
	EXPECT_ERR(EINTR, chan_selset_wait(set, MS(WAIT_MS), NULL, NULL));
	EXPECT_EQ(0, reap(pid));
	close(set);
	close(a);
}

TEST(selset_sa_restart_continues)
{
	int a = chan_make(sizeof(int), 0, 0), set;
	pid_t parent = getpid(), pid;
	struct chan_case c;
	int got = 0;
	size_t len = 0;
	bool ok = false;

	ASSERT_OK(a);
	ASSERT_OK(set = chan_selset_make(0));
	c = recv_case(a, &got, sizeof(got));
	ASSERT_EQ(0, chan_selset_set(set, 0, &c));
	ASSERT_EQ(0, set_handler(1));
	pid = child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int v = 11;

		if (wait_waiters(a, 0, 1))
			_exit(2);
		kill(parent, SIGUSR1);
		while (!__atomic_load_n(handled, __ATOMIC_SEQ_CST))
			usleep(500);
		if (wait_waiters(a, 0, 1))	/* parked again: restarted */
			_exit(3);
		_exit(chan_send(a, &v, sizeof(v)) ? 4 : 0);
	}
	ASSERT_EQ(0, chan_selset_wait(set, -1, &len, &ok));
	EXPECT_TRUE(ok);
	EXPECT_EQ(sizeof(got), len);
	EXPECT_EQ(11, got);
	EXPECT_EQ(1, *handled);
	EXPECT_EQ(0, reap(pid));
	close(set);
	close(a);
}

/* As recv_timeout_sa_restart_keeps_deadline: restarts keep the deadline. */
TEST(selset_timeout_sa_restart_keeps_deadline)
{
	int a = chan_make(4, 0, 0), set;
	pid_t pid;
	char buf[4];
	struct chan_case c = recv_case(a, buf, sizeof(buf));
	int64_t t0, el;

	ASSERT_OK(a);
	ASSERT_OK(set = chan_selset_make(0));
	ASSERT_EQ(0, chan_selset_set(set, 0, &c));
	ASSERT_EQ(0, set_handler(1));
	pid = signal_when_waiting_n(a, 0, 1, 8, 100);
	ASSERT_LE(0, pid);
	t0 = now_ns();
	EXPECT_ERR(ETIMEDOUT, chan_selset_wait(set, MS(1000), NULL, NULL));
	el = now_ns() - t0;
	EXPECT_EQ(0, reap(pid));
	EXPECT_GE(*handled, 1);
	EXPECT_GE(el, MS(1000));
	EXPECT_LT(el, MS(1600)) TH_LOG("timeout took %lld ms", (long long)(el / 1000000));
	close(set);
	close(a);
}

/*
 * Go's for-select loop over several producers, with a set: register every
 * input once, wait in a loop, and turn each input that closes into a nil
 * case. Each producer is a process holding only its send end; its exit
 * closes its channel. The consumer keeps no descriptor of the inputs
 * either: the set's own handles are enough.
 */
TEST(selset_for_select_over_producers)
{
	enum { NPROD = 5, PER = 300 };
	int fds[NPROD][2], set, live = NPROD;
	long bufs[NPROD], count[NPROD] = { 0 };
	pid_t pids[NPROD];

	for (int i = 0; i < NPROD; i++)
		ASSERT_EQ(0, chan_pipe(fds[i], sizeof(long), 4, CHAN_CLOEXEC));
	for (int i = 0; i < NPROD; i++) {
		pids[i] = child();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0) {
			for (int j = 0; j < NPROD; j++) {
				close(fds[j][0]);
				if (j != i)
					close(fds[j][1]);
			}
			for (long v = 1; v <= PER; v++) {
				long m = i * 1000000L + v;

				if (chan_send(fds[i][1], &m, sizeof(m)))
					_exit(1);
			}
			_exit(0);	/* the last sender: the channel closes */
		}
	}
	ASSERT_OK(set = chan_selset_make(CHAN_CLOEXEC));
	for (int i = 0; i < NPROD; i++) {
		struct chan_case c = recv_case(fds[i][0], &bufs[i], sizeof(bufs[i]));

		close(fds[i][1]);
		ASSERT_EQ(0, chan_selset_set(set, (unsigned)i, &c));
		close(fds[i][0]);	/* the set holds its own handle */
	}
	while (live > 0) {
		size_t len;
		bool ok;
		int k = chan_selset_wait(set, MS(WAIT_MS), &len, &ok);

		ASSERT_LE(0, k) TH_LOG("chan_selset_wait: %s", strerror(errno));
		ASSERT_LT(k, NPROD);
		if (!ok) {
			EXPECT_EQ(0, len);
			ASSERT_EQ(0, chan_selset_set(set, (unsigned)k, NULL));
			live--;
			continue;
		}
		ASSERT_EQ(sizeof(long), len);
		count[k]++;
		/* each input arrives in order */
		ASSERT_EQ(k * 1000000L + count[k], bufs[k]);
	}
	for (int i = 0; i < NPROD; i++) {
		EXPECT_EQ(PER, count[i]);
		EXPECT_EQ(0, reap(pids[i]));
	}
	EXPECT_ERR(EAGAIN, chan_selset_wait(set, 0, NULL, NULL));
	close(set);
}

/* ---- timers (1.4) ---- */

TEST(timer_after_and_ticker)
{
	struct chan_tick t;
	int64_t t0 = now_ns();
	bool ok;
	int a, tk, d;

	/* chan_after: one tick ns from now (<= 0: at once), then closed. */
	ASSERT_OK(a = chan_after(MS(5), CHAN_CLOEXEC));
	EXPECT_NE(0, fd_cloexec(a));
	EXPECT_EQ((ssize_t)sizeof(t), chan_recv(a, &t, sizeof(t), &ok));
	EXPECT_TRUE(ok);
	EXPECT_LE(t0 + MS(5), (int64_t)t.expiry_ns);
	EXPECT_EQ(0, chan_recv(a, &t, sizeof(t), &ok));
	EXPECT_FALSE(ok);
	/* Fired: stop says "was not running", a reset is refused. */
	EXPECT_EQ(0, chan_timer_stop(a));
	EXPECT_ERR(EALREADY, chan_timer_reset(a, MS(1), 0, 0));
	close(a);
	ASSERT_OK(a = chan_after(-5, 0));
	EXPECT_EQ((ssize_t)sizeof(t), chan_recv(a, &t, sizeof(t), &ok));
	close(a);

	/* chan_ticker: period > 0 (Go's NewTicker panics otherwise). */
	EXPECT_ERR(EINVAL, chan_ticker(0, 0));
	EXPECT_ERR(EINVAL, chan_ticker(-1, 0));
	ASSERT_OK(tk = chan_ticker(MS(2), CHAN_NONBLOCK));
	EXPECT_NE(0, fd_flags(tk) & O_NONBLOCK);
	EXPECT_EQ(1, chan_cap(tk));
	EXPECT_ERR(EAGAIN, chan_tryrecv(tk, &t, sizeof(t), &ok));
	ASSERT_OK(d = chan_dup(tk, CHAN_RIGHT_RECV, 0));
	EXPECT_EQ((ssize_t)sizeof(t), chan_recv(d, &t, sizeof(t), &ok));
	EXPECT_ERR(EBADF, chan_send(tk, &t, sizeof(t)));
	EXPECT_EQ(1, chan_timer_stop(tk));
	EXPECT_EQ(0, chan_timer_stop(tk));
	EXPECT_EQ(0, chan_timer_reset(tk, MS(1), MS(1), 0));
	EXPECT_EQ((ssize_t)sizeof(t), chan_recv(d, &t, sizeof(t), &ok));
	EXPECT_EQ(1, chan_timer_reset(tk, MS(3600000), 0, 0));
	close(d);
	close(tk);
}

TEST(timer_clock_and_abstime)
{
	struct chan_tick t;
	struct timespec ts;
	int64_t due;
	bool ok;
	int fd;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	due = ts.tv_sec * 1000000000LL + ts.tv_nsec + MS(5);
	ASSERT_OK(fd = chan_timer(CLOCK_BOOTTIME, due, 0,
				  CHAN_TIMER_ABSTIME | CHAN_CLOEXEC));
	EXPECT_EQ((ssize_t)sizeof(t), chan_recv(fd, &t, sizeof(t), &ok));
	EXPECT_EQ(due, (int64_t)t.expiry_ns);
	close(fd);
	EXPECT_ERR(EINVAL, chan_timer(CLOCK_REALTIME, MS(1), 0, 0));
	EXPECT_ERR(EINVAL, chan_timer(CLOCK_MONOTONIC, MS(1), -1, 0));
	EXPECT_ERR(EINVAL, chan_timer(CLOCK_MONOTONIC, MS(1), 0, CHAN_FDPASS));
	/* Not a timer: reset and stop fail ENOTTY. */
	ASSERT_OK(fd = chan_make(8, 1, 0));
	EXPECT_ERR(ENOTTY, chan_timer_stop(fd));
	EXPECT_ERR(ENOTTY, chan_timer_reset(fd, MS(1), 0, 0));
	close(fd);
}

TEST_HARNESS_MAIN
