// SPDX-License-Identifier: GPL-2.0
/*
 * Limits an admin sets through /sys/module/chan/parameters: per channel
 * (msg_size, capacity, buffer bytes), per select, per user (channels,
 * their bytes, staging; CAP_SYS_RESOURCE exempt). Each test restores what
 * it set. chan_security_test attacks the per-user limits.
 */
#include "kchan_test.h"



/* Run @fn in a child that has dropped root (uid/gid 65534, no caps). */
static int as_nobody(int (*fn)(void *), void *arg)
{
	pid_t pid = kc_fork();

	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(90);
		_exit(fn(arg));
	}
	return kc_reap(pid);
}

#define NPARAMS	8

FIXTURE(params) {
	long saved[NPARAMS];
};

static const char *const param_names[NPARAMS] = {
	"max_msg_size", "max_capacity", "max_chan_bytes", "max_select_cases",
	"max_select_bytes", "max_user_channels", "max_user_bytes",
	"max_user_staging_bytes",
};

FIXTURE_SETUP(params)
{
	unsigned int i;

	for (i = 0; i < NPARAMS; i++) {
		self->saved[i] = kc_param_get(param_names[i]);
		ASSERT_GT(self->saved[i], 0) TH_LOG("%s", param_names[i]);
	}
}

FIXTURE_TEARDOWN(params)
{
	unsigned int i;

	for (i = 0; i < NPARAMS; i++)
		kc_param_set(param_names[i], self->saved[i]);
}

TEST_F(params, defaults_are_documented)
{
	EXPECT_EQ(65536, self->saved[0]);
	EXPECT_EQ(65536, self->saved[1]);
	EXPECT_EQ(16L << 20, self->saved[2]);
	EXPECT_EQ(4096, self->saved[3]);
	EXPECT_EQ(16L << 20, self->saved[4]);
	EXPECT_EQ(65536, self->saved[5]);
	EXPECT_EQ(256L << 20, self->saved[6]);
	EXPECT_EQ(64L << 20, self->saved[7]);
}

TEST_F(params, max_msg_size_at_and_past)
{
	int fd;

	ASSERT_EQ(0, kc_param_set("max_msg_size", 100));
	fd = kc_create(1, 100);
	ASSERT_GE(fd, 0);
	close(fd);
	EXPECT_EQ(-EMSGSIZE, kc_create(1, 101));
}

TEST_F(params, max_capacity_at_and_past)
{
	int fd;

	ASSERT_EQ(0, kc_param_set("max_capacity", 10));
	fd = kc_create(10, 1);
	ASSERT_GE(fd, 0);
	close(fd);
	EXPECT_EQ(-EINVAL, kc_create(11, 1));
}

TEST_F(params, max_chan_bytes_at_and_past)
{
	int fd;

	ASSERT_EQ(0, kc_param_set("max_chan_bytes", 4096));
	fd = kc_create(64, 64);
	ASSERT_GE(fd, 0);
	close(fd);
	EXPECT_EQ(-EINVAL, kc_create(65, 64));
	/* Unbuffered channels hold no buffer: never limited by bytes. */
	fd = kc_create(0, 60000);
	ASSERT_GE(fd, 0);
	close(fd);
}

static int make_n_channels(void *arg)
{
	int n = *(int *)arg, i, fd, first = -1;

	for (i = 0; i < n; i++) {
		fd = kc_create(0, 8);
		if (fd < 0)
			return 10;
		if (first < 0)
			first = fd;
	}
	fd = kc_create(0, 8);
	if (fd != -EMFILE)
		return 11;
	/* Freeing one makes room for one. */
	close(first);
	fd = kc_create(0, 8);
	return fd >= 0 ? 0 : 12;
}

TEST_F(params, user_channels_limit_emfile)
{
	int n = 5;

	ASSERT_EQ(0, kc_param_set("max_user_channels", n));
	EXPECT_EQ(0, as_nobody(make_n_channels, &n));
}

/*
 * What a channel is charged (chan(7)): 1 KiB, plus per slot msg_size + 4
 * bytes (+ 16 with CHAN_FDPASS).
 */
#define CHARGE(cap, msg, fdpass) \
	(1024L + (long)(cap) * ((msg) + 4 + ((fdpass) ? 16 : 0)))

static int fill_user_bytes(void *arg)
{
	int a, b;

	(void)arg;
	a = kc_create(16, 256);		/* exactly the limit */
	if (a < 0)
		return 10;
	b = kc_create(1, 1);		/* past it */
	if (b != -ENOSPC)
		return 11;
	b = kc_create(0, 1024);		/* unbuffered: the 1 KiB minimum */
	if (b != -ENOSPC)
		return 12;
	close(a);
	a = kc_create_flags(15, 252, CHAN_FDPASS);	/* 15 * 272 <= 16 * 260 */
	if (a < 0)
		return 13;
	close(a);
	a = kc_create(16, 256);
	return a >= 0 ? 0 : 14;
}

TEST_F(params, user_bytes_limit_enospc)
{
	ASSERT_EQ(0, kc_param_set("max_user_bytes", CHARGE(16, 256, 0)));
	EXPECT_EQ(0, as_nobody(fill_user_bytes, NULL));
}

TEST_F(params, cap_sys_resource_is_exempt)
{
	int fds[4], i;

	ASSERT_EQ(0, kc_param_set("max_user_channels", 1));
	/* The test runs as root: the per-user limit does not apply. */
	for (i = 0; i < 4; i++) {
		fds[i] = kc_create(0, 8);
		ASSERT_GE(fds[i], 0);
	}
	for (i = 0; i < 4; i++)
		close(fds[i]);
}

static int other_user_unaffected(void *arg)
{
	int fd = kc_create(0, 8);

	(void)arg;
	return fd >= 0 ? 0 : 10;
}

TEST_F(params, limits_are_per_user)
{
	int fds[3], i;
	pid_t pid;

	ASSERT_EQ(0, kc_param_set("max_user_channels", 2));
	/* uid 65533 takes its two. */
	pid = kc_fork();
	if (pid == 0) {
		if (setresuid(65533, 65533, 65533))
			_exit(90);
		for (i = 0; i < 2; i++)
			fds[i] = kc_create(0, 8);
		fds[2] = kc_create(0, 8);
		_exit(fds[0] >= 0 && fds[1] >= 0 && fds[2] == -EMFILE ? 0 : 10);
	}
	ASSERT_EQ(0, kc_reap(pid));
	EXPECT_EQ(0, as_nobody(other_user_unaffected, NULL));
}

TEST_F(params, max_select_cases_at_and_past)
{
	struct chan_select_case cases[9];
	struct chan_select s;
	int fd = kc_create(1, 4), i;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_param_set("max_select_cases", 8));
	memset(cases, 0, sizeof(cases));
	for (i = 0; i < 9; i++) {
		cases[i].fd = -1;
		cases[i].op = CHAN_OP_RECV;
	}
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.cases = (uintptr_t)cases;
	s.ncases = 8;
	s.case_size = sizeof(struct chan_select_case);
	s.timeout_ns = 0;
	EXPECT_EQ(-1, ioctl(fd, CHAN_IOC_SELECT, &s));
	EXPECT_EQ(EAGAIN, errno);
	s.ncases = 9;
	EXPECT_EQ(-1, ioctl(fd, CHAN_IOC_SELECT, &s));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

TEST_F(params, max_select_bytes_enobufs)
{
	struct chan_select_case cases[2];
	struct chan_select s;
	char buf[2][1024];
	int fd = kc_create(1, 1024);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_param_set("max_select_bytes", 1500));
	memset(cases, 0, sizeof(cases));
	cases[0].fd = fd;
	cases[0].op = CHAN_OP_RECV;
	cases[0].buf = (uintptr_t)buf[0];
	cases[0].len = 1024;
	cases[1] = cases[0];
	cases[1].buf = (uintptr_t)buf[1];
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.cases = (uintptr_t)cases;
	s.ncases = 1;
	s.case_size = sizeof(struct chan_select_case);
	EXPECT_EQ(-1, ioctl(fd, CHAN_IOC_SELECT, &s));
	EXPECT_EQ(EAGAIN, errno);
	s.ncases = 2;
	EXPECT_EQ(-1, ioctl(fd, CHAN_IOC_SELECT, &s));
	EXPECT_EQ(ENOBUFS, errno);
	/* A recv case's staging is capped at msg_size, not its buffer. */
	cases[0].len = 1 << 30;
	s.ncases = 1;
	EXPECT_EQ(-1, ioctl(fd, CHAN_IOC_SELECT, &s));
	EXPECT_EQ(EAGAIN, errno);
	close(fd);
}

TEST_F(params, unprivileged_cannot_write_params)
{
	pid_t pid = kc_fork();

	if (pid == 0) {
		if (setresuid(65534, 65534, 65534))
			_exit(90);
		_exit(kc_param_set("max_msg_size", 1) == 0 ? 10 : 0);
	}
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(self->saved[0], kc_param_get("max_msg_size"));
}

TEST_HARNESS_MAIN
