// SPDX-License-Identifier: GPL-2.0
/*
 * Passing file descriptors through channels (issue 5): CHAN_FDPASS,
 * chan_msg.fd, CHAN_MSG_FD_CLOEXEC; which files may travel; nothing leaks.
 *
 * Leak checks use a pipe whose write end is in flight: the reader sees
 * EOF exactly when the kernel has dropped the last reference to it.
 */
#include <grp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <netinet/in.h>

#include "kchan_test.h"

/*
 * Receive one message; 1 with *fd the installed descriptor (or -1),
 * 0 closed and drained, -errno.
 */
static int kf_recv(int ch, void *buf, size_t size, size_t *len, int *fd,
		   unsigned int flags, int64_t timeout_ns)
{
	struct chan_msg m;

	kc_msg_init(&m, buf, size, timeout_ns);
	m.flags = flags;
	m.fd = 12345;	/* must be overwritten */
	if (ioctl(ch, CHAN_IOC_RECV, &m) < 0)
		return -errno;
	if (len)
		*len = m.len;
	*fd = m.fd;
	return m.ok ? 1 : 0;
}

static int memfd_with(const char *text)
{
	int fd = memfd_create("kchan-test", MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		close(fd);
		return -EIO;
	}
	return fd;
}

/* 1 when the read end sees EOF now, 0 when the pipe is still open. */
static int pipe_eof(int rfd)
{
	struct pollfd p = { .fd = rfd, .events = POLLIN };
	char c;

	if (poll(&p, 1, 0) != 1)
		return 0;
	return read(rfd, &c, 1) == 0;
}

/* Wait (bounded) for EOF on a pipe: fput of a file may be deferred. */
static int pipe_eof_wait(int rfd)
{
	int i;

	for (i = 0; i < 2000; i++) {
		if (pipe_eof(rfd))
			return 1;
		usleep(1000);
	}
	return 0;
}

/* ---- ownership moves ---------------------------------------------------------- */

/* A memfd passed to another process is readable there; CLOEXEC on request. */
TEST(memfd_to_other_process)
{
	int ch = kc_create_flags(0, 16, CHAN_FDPASS);
	int mfd;
	pid_t pid;

	ASSERT_GE(ch, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		char msg[16], data[64] = { 0 };
		size_t len = 0;
		int fd = -1;

		if (kf_recv(ch, msg, sizeof(msg), &len, &fd,
			    CHAN_MSG_FD_CLOEXEC, -1) != 1)
			_exit(2);
		if (len != 5 || memcmp(msg, "hello", 5) || fd < 0)
			_exit(3);
		if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC))
			_exit(4);
		if (pread(fd, data, sizeof(data) - 1, 0) != 11 ||
		    strcmp(data, "zero-copy!\n"))
			_exit(5);
		_exit(0);
	}
	mfd = memfd_with("zero-copy!\n");
	ASSERT_GE(mfd, 0);
	/* unbuffered: the send returns once the receiver has it */
	ASSERT_EQ(0, kc_send_fd(ch, "hello", 5, mfd, -1));
	close(mfd);
	EXPECT_EQ(0, kc_reap(pid));
	close(ch);
}

TEST(buffered_fd_and_cloexec_choice)
{
	int ch = kc_create_flags(2, 4, CHAN_FDPASS);
	int mfd, fd = -1;
	char b[4];

	ASSERT_GE(ch, 0);
	mfd = memfd_with("abc");
	ASSERT_GE(mfd, 0);
	ASSERT_EQ(0, kc_send_fd(ch, "x", 1, mfd, 0));
	ASSERT_EQ(0, kc_send_fd(ch, "y", 1, -1, 0));
	close(mfd);
	EXPECT_EQ(2, KC_INFO(ch, len));
	ASSERT_EQ(1, kf_recv(ch, b, sizeof(b), NULL, &fd, 0, 0));
	ASSERT_GE(fd, 0);
	EXPECT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(3, lseek(fd, 0, SEEK_END));
	close(fd);
	/* a message without a descriptor reports -1 */
	ASSERT_EQ(1, kf_recv(ch, b, sizeof(b), NULL, &fd, 0, 0));
	EXPECT_EQ(-1, fd);
	close(ch);
}

/* Go's chan chan T: a request carries its own reply channel. */
TEST(reply_channel_round_trip)
{
	int req = kc_create_flags(0, 8, CHAN_FDPASS);
	int i;
	pid_t pid;

	ASSERT_GE(req, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		/* server: answer n with n * n on the reply channel */
		for (i = 0; i < 3; i++) {
			uint32_t n;
			int reply = -1;

			if (kf_recv(req, &n, sizeof(n), NULL, &reply,
				    CHAN_MSG_FD_CLOEXEC, -1) != 1 || reply < 0)
				_exit(2);
			n *= n;
			if (kc_send(reply, &n, sizeof(n), -1))
				_exit(3);
			close(reply);
		}
		_exit(0);
	}
	for (i = 0; i < 3; i++) {
		uint32_t n = 5 + i, answer = 0;
		int reply = kc_create(1, 4);

		ASSERT_GE(reply, 0);
		ASSERT_EQ(0, kc_send_fd(req, &n, sizeof(n), reply, -1));
		ASSERT_EQ(1, kc_recv_u32(reply, &answer, 5000000000LL));
		EXPECT_EQ(n * n, answer);
		close(reply);
	}
	EXPECT_EQ(0, kc_reap(pid));
	close(req);
}

/* ---- what may travel --------------------------------------------------------------- */

TEST(fdpass_channel_refused)
{
	int a = kc_create_flags(1, 4, CHAN_FDPASS);
	int b = kc_create_flags(1, 4, CHAN_FDPASS);
	int plain = kc_create(1, 4), ro;

	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	ASSERT_GE(plain, 0);
	/* its own fd, another fd-carrying channel, a restricted dup of one */
	EXPECT_EQ(-EINVAL, kc_send_fd(a, "x", 1, a, 0));
	EXPECT_EQ(-EINVAL, kc_send_fd(a, "x", 1, b, 0));
	ro = kc_dup(b, CHAN_RIGHT_RECV);
	ASSERT_GE(ro, 0);
	EXPECT_EQ(-EINVAL, kc_send_fd(a, "x", 1, ro, 0));
	/* a plain channel carries no descriptor at all */
	EXPECT_EQ(-EINVAL, kc_send_fd(plain, "x", 1, plain, 0));
	EXPECT_EQ(-EINVAL, kc_send_fd(plain, "x", 1, 0, 0));
	/* nothing moved */
	EXPECT_EQ(0, KC_INFO(a, len));
	EXPECT_EQ(0, KC_INFO(plain, len));
	/* a plain channel may travel in an fd-carrying one */
	EXPECT_EQ(0, kc_send_fd(a, "x", 1, plain, 0));
	close(ro);
	close(a);
	close(b);
	close(plain);
}

TEST(unix_socket_refused_inet_allowed)
{
	int ch = kc_create_flags(2, 4, CHAN_FDPASS);
	int sv[2], in, fd = -1;
	char b[4];

	ASSERT_GE(ch, 0);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	EXPECT_EQ(-EINVAL, kc_send_fd(ch, "u", 1, sv[0], 0));
	close(sv[0]);
	close(sv[1]);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	EXPECT_EQ(-EINVAL, kc_send_fd(ch, "u", 1, sv[1], 0));
	close(sv[0]);
	close(sv[1]);
	EXPECT_EQ(0, KC_INFO(ch, len));

	in = socket(AF_INET, SOCK_DGRAM, 0);
	if (in < 0)
		in = socket(AF_INET6, SOCK_DGRAM, 0);
	if (in >= 0) {
		EXPECT_EQ(0, kc_send_fd(ch, "i", 1, in, 0));
		close(in);
		ASSERT_EQ(1, kf_recv(ch, b, sizeof(b), NULL, &fd, 0, 0));
		EXPECT_GE(fd, 0);
		close(fd);
	}
	close(ch);
}

/* The other direction is fine: a unix socket may carry any channel fd. */
TEST(fdpass_channel_over_scm_rights)
{
	char cbuf[CMSG_SPACE(sizeof(int))], b = 'm';
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	int ch = kc_create_flags(1, 4, CHAN_FDPASS), sv[2], got;
	struct cmsghdr *cm;
	uint32_t v;

	ASSERT_GE(ch, 0);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &ch, sizeof(int));
	ASSERT_EQ(1, sendmsg(sv[0], &mh, 0));
	memset(cbuf, 0, sizeof(cbuf));
	mh.msg_controllen = sizeof(cbuf);
	ASSERT_EQ(1, recvmsg(sv[1], &mh, MSG_CMSG_CLOEXEC));
	cm = CMSG_FIRSTHDR(&mh);
	ASSERT_NE(NULL, cm);
	memcpy(&got, CMSG_DATA(cm), sizeof(int));
	ASSERT_EQ(0, kc_send_u32(ch, 77, 0));
	ASSERT_EQ(1, kc_recv_u32(got, &v, 0));
	EXPECT_EQ(77, v);
	close(got);
	close(sv[0]);
	close(sv[1]);
	close(ch);
}

TEST(io_uring_refused)
{
	struct { unsigned int v[30]; } params;	/* struct io_uring_params */
	int ch = kc_create_flags(1, 4, CHAN_FDPASS);
	int ring;

	ASSERT_GE(ch, 0);
	memset(&params, 0, sizeof(params));
	ring = syscall(__NR_io_uring_setup, 1, &params);
	if (ring < 0) {
		close(ch);
		SKIP(return, "io_uring_setup: %s", strerror(errno));
	}
	EXPECT_EQ(-EINVAL, kc_send_fd(ch, "r", 1, ring, 0));
	close(ring);
	close(ch);
}

/*
 * Descriptors in flight count against their opener, bounded by the
 * sender's RLIMIT_NOFILE (ETOOMANYREFS), as SCM_RIGHTS is; receiving or
 * freeing the channel gives the room back.
 */
static int inflight_child(void)
{
	struct rlimit rl = { 16, 16 };
	gid_t g = 65534;
	int ch, ch2, i, m, fd, r;
	char b;

	ch = kc_create_flags(64, 1, CHAN_FDPASS);
	ch2 = kc_create_flags(64, 1, CHAN_FDPASS);
	if (ch < 0 || ch2 < 0)
		return 2;
	if (setgroups(1, &g) || setresgid(65534, 65534, 65534) ||
	    setresuid(65534, 65534, 65534) || setrlimit(RLIMIT_NOFILE, &rl))
		return 3;
	for (i = 0; i < 16; i++) {
		m = memfd_create("inflight", MFD_CLOEXEC);
		if (m < 0)
			return 4;
		r = kc_send_fd(ch, "x", 1, m, 0);
		close(m);
		if (r)
			return 5;
	}
	m = memfd_create("inflight", MFD_CLOEXEC);
	if (m < 0)
		return 6;
	/* the 17th is refused, on any channel, and nothing moved */
	if (kc_send_fd(ch, "x", 1, m, 0) != -ETOOMANYREFS ||
	    kc_send_fd(ch2, "x", 1, m, 0) != -ETOOMANYREFS)
		return 7;
	if (KC_INFO(ch, len) != 16 || KC_INFO(ch2, len) != 0)
		return 8;
	/* one received (installed): room for one more */
	if (kf_recv(ch, &b, 1, NULL, &fd, 0, 0) != 1 || fd < 0)
		return 9;
	close(fd);
	if (kc_send_fd(ch2, "x", 1, m, 0))
		return 10;
	if (kc_send_fd(ch2, "x", 1, m, 0) != -ETOOMANYREFS)
		return 11;
	/* the channels freed: all the room is back */
	close(ch);
	close(ch2);
	ch = kc_create_flags(64, 1, CHAN_FDPASS);
	if (ch < 0)
		return 12;
	for (i = 0; i < 16; i++)
		if (kc_send_fd(ch, "x", 1, m, 0))
			return 13;
	return 0;
}

TEST(inflight_limit)
{
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root to switch uid");
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(inflight_child());
	EXPECT_EQ(0, kc_reap(pid));
}

/* Root (CAP_SYS_RESOURCE) is not bound by it. */
TEST(inflight_limit_root_exempt)
{
	struct rlimit old, rl = { 8, 8 };
	int ch = kc_create_flags(32, 1, CHAN_FDPASS), i, m;

	ASSERT_GE(ch, 0);
	if (geteuid() != 0)
		SKIP(return, "needs root");
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &old));
	m = memfd_create("inflight", MFD_CLOEXEC);
	ASSERT_GE(m, 0);
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	for (i = 0; i < 20; i++)
		EXPECT_EQ(0, kc_send_fd(ch, "x", 1, m, 0));
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &old));
	close(m);
	close(ch);
}

TEST(bad_fd)
{
	int ch = kc_create_flags(1, 4, CHAN_FDPASS);
	int p[2];

	ASSERT_GE(ch, 0);
	ASSERT_EQ(0, pipe(p));
	close(p[1]);
	EXPECT_EQ(-EBADF, kc_send_fd(ch, "x", 1, p[1], 0));
	EXPECT_EQ(-EBADF, kc_send_fd(ch, "x", 1, -2, 0));
	EXPECT_EQ(-EBADF, kc_send_fd(ch, "x", 1, 1 << 30, 0));
	EXPECT_EQ(0, KC_INFO(ch, len));
	close(p[0]);
	close(ch);
}

/* ---- nothing leaks ----------------------------------------------------------------- */

/* A buffered descriptor is released when the channel is freed. */
TEST(buffered_fd_released_on_free)
{
	int ch = kc_create_flags(4, 1, CHAN_FDPASS);
	int p[2];

	ASSERT_GE(ch, 0);
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(0, kc_send_fd(ch, "w", 1, p[1], 0));
	close(p[1]);
	/* the write end lives on in the channel */
	EXPECT_EQ(0, pipe_eof(p[0]));
	ASSERT_EQ(0, kc_close(ch));
	EXPECT_EQ(0, pipe_eof(p[0]));	/* closed: still buffered */
	close(ch);			/* freed: released */
	EXPECT_EQ(1, pipe_eof_wait(p[0]));
	close(p[0]);
}

/* ...also when the channel dies with a process that never received. */
TEST(buffered_fd_released_on_exit)
{
	int p[2];
	pid_t pid;

	ASSERT_EQ(0, pipe(p));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int ch = kc_create_flags(4, 1, CHAN_FDPASS), i;

		close(p[0]);
		for (i = 0; i < 4; i++)
			if (kc_send_fd(ch, "w", 1, p[1], 0))
				_exit(2);
		_exit(0);	/* channel and write ends die with us */
	}
	close(p[1]);
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(1, pipe_eof_wait(p[0]));
	close(p[0]);
}

/* A named channel holds its buffered descriptors until unlinked. */
TEST(buffered_fd_released_on_unlink)
{
	struct chan_open o;
	struct chan_unlink u;
	char name[64];
	int dev, ch, p[2];

	snprintf(name, sizeof(name), "kf.unlink.%d", getpid());
	dev = open(CHAN_DEVICE, O_RDWR | O_CLOEXEC);
	ASSERT_GE(dev, 0);
	memset(&u, 0, sizeof(u));
	u.size = sizeof(u);
	u.name = (uintptr_t)name;
	ioctl(dev, CHAN_IOC_UNLINK, &u);
	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.oflag = O_RDWR | O_CREAT | O_EXCL;
	o.name = (uintptr_t)name;
	o.mode = 0600;
	o.flags = CHAN_FDPASS;
	o.capacity = 2;
	o.msg_size = 1;
	ch = ioctl(dev, CHAN_IOC_OPEN, &o);
	ASSERT_GE(ch, 0);
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(0, kc_send_fd(ch, "w", 1, p[1], 0));
	close(p[1]);
	close(ch);
	EXPECT_EQ(0, pipe_eof(p[0]));	/* the name keeps it */
	ASSERT_EQ(0, ioctl(dev, CHAN_IOC_UNLINK, &u));
	EXPECT_EQ(1, pipe_eof_wait(p[0]));
	close(p[0]);
	close(dev);
}

/* Receivers that cannot take a descriptor drop it: read(), select. */
TEST(read_and_select_drop_the_fd)
{
	int ch = kc_create_flags(2, 1, CHAN_FDPASS);
	struct chan_select s;
	struct chan_select_case c;
	char b;
	int p[2];

	ASSERT_GE(ch, 0);
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(0, kc_send_fd(ch, "r", 1, p[1], 0));
	ASSERT_EQ(0, kc_send_fd(ch, "s", 1, p[1], 0));
	close(p[1]);
	ASSERT_EQ(1, read(ch, &b, 1));
	EXPECT_EQ('r', b);
	EXPECT_EQ(0, pipe_eof(p[0]));	/* one still buffered */

	memset(&c, 0, sizeof(c));
	c.fd = ch;
	c.op = CHAN_OP_RECV;
	c.buf = (uintptr_t)&b;
	c.len = 1;
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.cases = (uintptr_t)&c;
	s.ncases = 1;
	s.case_size = sizeof(struct chan_select_case);
	ASSERT_EQ(0, ioctl(ch, CHAN_IOC_SELECT, &s));
	EXPECT_EQ('s', b);
	EXPECT_EQ(1, pipe_eof_wait(p[0]));
	close(p[0]);
	close(ch);
}

/* A closed channel drains its descriptors to the receiver, then reports closed. */
TEST(closed_drains_fds)
{
	int ch = kc_create_flags(2, 1, CHAN_FDPASS);
	int m1 = memfd_with("1"), m2 = memfd_with("22"), fd;
	char b;

	ASSERT_GE(ch, 0);
	ASSERT_GE(m1, 0);
	ASSERT_GE(m2, 0);
	ASSERT_EQ(0, kc_send_fd(ch, "a", 1, m1, 0));
	ASSERT_EQ(0, kc_send_fd(ch, "b", 1, m2, 0));
	close(m1);
	close(m2);
	ASSERT_EQ(0, kc_close(ch));
	ASSERT_EQ(1, kf_recv(ch, &b, 1, NULL, &fd, 0, 0));
	EXPECT_EQ(1, lseek(fd, 0, SEEK_END));
	close(fd);
	ASSERT_EQ(1, kf_recv(ch, &b, 1, NULL, &fd, 0, 0));
	EXPECT_EQ(2, lseek(fd, 0, SEEK_END));
	close(fd);
	EXPECT_EQ(0, kf_recv(ch, &b, 1, NULL, &fd, 0, 0));
	EXPECT_EQ(-1, fd);
	close(ch);
}

/* A receive that fails (buffer too small) takes neither message nor fd. */
TEST(emsgsize_keeps_fd)
{
	int ch = kc_create_flags(1, 8, CHAN_FDPASS);
	int m = memfd_with("x"), fd = -1;
	char b[8];

	ASSERT_GE(ch, 0);
	ASSERT_GE(m, 0);
	ASSERT_EQ(0, kc_send_fd(ch, "12345678", 8, m, 0));
	close(m);
	EXPECT_EQ(-EMSGSIZE, kf_recv(ch, b, 4, NULL, &fd, 0, 0));
	ASSERT_EQ(1, kf_recv(ch, b, 8, NULL, &fd, 0, 0));
	EXPECT_GE(fd, 0);
	close(fd);
	close(ch);
}

TEST(fdinfo_fdpass)
{
	int ch = kc_create_flags(1, 1, CHAN_FDPASS), found = 0;
	char path[64], line[256];
	FILE *f;

	ASSERT_GE(ch, 0);
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", ch);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f))
		if (!strcmp(line, "fdpass:\t1\n"))
			found = 1;
	fclose(f);
	EXPECT_EQ(1, found);
	close(ch);
}

TEST_HARNESS_MAIN
