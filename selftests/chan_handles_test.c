// SPDX-License-Identifier: GPL-2.0
/*
 * kchan handles: CHAN_IOC_DUP and directional rights, handle counting per
 * open file description, and crash safety (the last send-capable or
 * recv-capable handle going away, processes killed mid-pipeline).
 */
#include <sys/socket.h>
#include <sys/syscall.h>

#include "kchan_test.h"

TEST(dup_send_only)
{
	struct chan_info info;
	uint32_t v = 1;
	int fd = kc_create(2, 4), s;

	ASSERT_GE(fd, 0);
	s = kc_dup(fd, CHAN_RIGHT_SEND);
	ASSERT_GE(s, 0);
	ASSERT_NE(fd, s);
	ASSERT_EQ(0, kc_info(s, &info));
	EXPECT_EQ(CHAN_RIGHT_SEND, info.rights);
	EXPECT_EQ(2, info.capacity);
	EXPECT_EQ(0, kc_send_u32(s, 5, 0));
	EXPECT_EQ(-EBADF, kc_recv_u32(s, &v, 0));
	EXPECT_EQ(-EBADF, kc_recv_u32(s, &v, -1));
	EXPECT_EQ(-1, read(s, &v, sizeof(v)));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(1, KC_INFO(fd, len));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(5, v);
	close(s);
	close(fd);
}

TEST(dup_recv_only)
{
	struct chan_info info;
	uint32_t v = 9;
	int fd = kc_create(2, 4), r;

	ASSERT_GE(fd, 0);
	r = kc_dup(fd, CHAN_RIGHT_RECV);
	ASSERT_GE(r, 0);
	ASSERT_EQ(0, kc_info(r, &info));
	EXPECT_EQ(CHAN_RIGHT_RECV, info.rights);
	EXPECT_EQ(-EBADF, kc_send_u32(r, 1, 0));
	EXPECT_EQ(-EBADF, kc_send_u32(r, 1, -1));
	EXPECT_EQ(-1, write(r, &v, sizeof(v)));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(0, KC_INFO(fd, len));
	ASSERT_EQ(0, kc_send_u32(fd, 6, 0));
	ASSERT_EQ(1, kc_recv_u32(r, &v, 0));
	EXPECT_EQ(6, v);
	close(r);
	close(fd);
}

TEST(dup_both_is_bidirectional)
{
	uint32_t v;
	int fd = kc_create(1, 4), b;

	ASSERT_GE(fd, 0);
	b = kc_dup(fd, CHAN_RIGHT_BOTH);
	ASSERT_GE(b, 0);
	EXPECT_EQ(CHAN_RIGHT_BOTH, KC_INFO(b, rights));
	EXPECT_EQ(2, KC_INFO(fd, send_handles));
	EXPECT_EQ(2, KC_INFO(fd, recv_handles));
	ASSERT_EQ(0, kc_send_u32(b, 3, 0));
	ASSERT_EQ(1, kc_recv_u32(b, &v, 0));
	EXPECT_EQ(3, v);
	close(b);
	close(fd);
}

TEST(dup_cannot_add_rights)
{
	int fd = kc_create(1, 4), s, r;

	ASSERT_GE(fd, 0);
	s = kc_dup(fd, CHAN_RIGHT_SEND);
	r = kc_dup(fd, CHAN_RIGHT_RECV);
	ASSERT_GE(s, 0);
	ASSERT_GE(r, 0);
	EXPECT_EQ(-EBADF, kc_dup(s, CHAN_RIGHT_RECV));
	EXPECT_EQ(-EBADF, kc_dup(s, CHAN_RIGHT_BOTH));
	EXPECT_EQ(-EBADF, kc_dup(r, CHAN_RIGHT_SEND));
	EXPECT_EQ(-EBADF, kc_dup(r, CHAN_RIGHT_BOTH));
	/* The same rights are fine. */
	int s2 = kc_dup(s, CHAN_RIGHT_SEND), r2 = kc_dup(r, CHAN_RIGHT_RECV);

	ASSERT_GE(s2, 0);
	ASSERT_GE(r2, 0);
	EXPECT_EQ(CHAN_RIGHT_SEND, KC_INFO(s2, rights));
	EXPECT_EQ(CHAN_RIGHT_RECV, KC_INFO(r2, rights));
	EXPECT_EQ(3, KC_INFO(fd, send_handles));
	EXPECT_EQ(3, KC_INFO(fd, recv_handles));
	close(s2);
	close(r2);
	close(s);
	close(r);
	close(fd);
}

TEST(dup_bad_rights_einval)
{
	int fd = kc_create(1, 4);

	ASSERT_GE(fd, 0);
	EXPECT_EQ(-EINVAL, kc_dup(fd, 0));
	EXPECT_EQ(-EINVAL, kc_dup(fd, 1U << 2));
	EXPECT_EQ(-EINVAL, kc_dup(fd, CHAN_RIGHT_BOTH | (1U << 5)));
	EXPECT_EQ(-EINVAL, kc_dup(fd, 0x80000000U | CHAN_RIGHT_SEND));
	EXPECT_EQ(1, KC_INFO(fd, send_handles));
	close(fd);
}

TEST(dup_flags_cloexec_nonblock)
{
	uint32_t v;
	int fd = kc_create(1, 4), a, b;

	ASSERT_GE(fd, 0);
	a = kc_dup_flags(fd, CHAN_RIGHT_RECV, CHAN_CLOEXEC);
	b = kc_dup_flags(fd, CHAN_RIGHT_RECV, CHAN_NONBLOCK);
	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	EXPECT_EQ(FD_CLOEXEC, fcntl(a, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(0, fcntl(a, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(0, fcntl(b, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_NONBLOCK, fcntl(b, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(-EAGAIN, kc_recv_u32(b, &v, -1));
	/* The original handle is not affected by the new one's flags. */
	EXPECT_EQ(0, fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(a);
	close(b);
	close(fd);
}

TEST(handles_counted_per_open_file_description)
{
	struct chan_info info;
	int fd = kc_create(1, 4), s, d;
	pid_t pid;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_info(fd, &info));
	EXPECT_EQ(1, info.send_handles);
	EXPECT_EQ(1, info.recv_handles);

	s = kc_dup(fd, CHAN_RIGHT_SEND);
	ASSERT_GE(s, 0);
	ASSERT_EQ(0, kc_info(fd, &info));
	EXPECT_EQ(2, info.send_handles);
	EXPECT_EQ(1, info.recv_handles);

	/* dup(2) and fork share the open file description: no new handle. */
	d = dup(s);
	ASSERT_GE(d, 0);
	ASSERT_EQ(0, kc_info(fd, &info));
	EXPECT_EQ(2, info.send_handles);
	EXPECT_EQ(1, info.recv_handles);
	EXPECT_EQ(CHAN_RIGHT_SEND, KC_INFO(d, rights));

	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct chan_info ci;

		if (kc_info(fd, &ci) || ci.send_handles != 2 ||
		    ci.recv_handles != 1)
			_exit(KC_FAIL);
		_exit(KC_OK);
	}
	EXPECT_EQ(0, kc_reap(pid));

	/* Closing one of two fds of a description releases nothing. */
	close(s);
	EXPECT_EQ(2, KC_INFO(fd, send_handles));
	close(d);
	EXPECT_EQ(1, KC_INFO(fd, send_handles));
	EXPECT_EQ(1, KC_INFO(fd, recv_handles));
	EXPECT_EQ(0, KC_INFO(fd, closed));
	close(fd);
}

TEST(last_send_handle_closed_closes_channel)
{
	uint32_t v;
	int fd = kc_create(4, 4), r;

	ASSERT_GE(fd, 0);
	r = kc_dup(fd, CHAN_RIGHT_RECV);
	ASSERT_GE(r, 0);
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	ASSERT_EQ(0, kc_send_u32(fd, 2, 0));
	close(fd);	/* the only send-capable handle */
	EXPECT_EQ(1, KC_INFO(r, closed));
	EXPECT_EQ(0, KC_INFO(r, send_handles));
	EXPECT_EQ(1, KC_INFO(r, recv_handles));
	ASSERT_EQ(1, kc_recv_u32(r, &v, -1));
	EXPECT_EQ(1, v);
	ASSERT_EQ(1, kc_recv_u32(r, &v, -1));
	EXPECT_EQ(2, v);
	EXPECT_EQ(0, kc_recv_u32(r, &v, -1));
	EXPECT_EQ(0, read(r, &v, sizeof(v)));
	close(r);
}

TEST(last_send_handle_closed_wakes_blocked_receiver)
{
	int fd = kc_create(0, 4), r;
	pid_t pid;

	ASSERT_GE(fd, 0);
	r = kc_dup(fd, CHAN_RIGHT_RECV);
	ASSERT_GE(r, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		uint32_t v;

		close(fd);
		_exit(kc_recv_u32(r, &v, -1) == 0 ? KC_OK : KC_FAIL);
	}
	ASSERT_EQ(0, KC_WAIT(r, recv_waiters, 1));
	close(fd);
	EXPECT_EQ(0, kc_reap(pid));
	close(r);
}

TEST(last_recv_handle_closed_send_epipe)
{
	uint32_t v = 0;
	int fd = kc_create(4, 4), s;

	ASSERT_GE(fd, 0);
	s = kc_dup(fd, CHAN_RIGHT_SEND);
	ASSERT_GE(s, 0);
	ASSERT_EQ(0, kc_send_u32(s, 1, 0));
	close(fd);	/* the only recv-capable handle */
	EXPECT_EQ(0, KC_INFO(s, recv_handles));
	EXPECT_EQ(1, KC_INFO(s, send_handles));
	/* Room in the buffer, but nobody can ever receive. */
	EXPECT_EQ(-EPIPE, kc_send_u32(s, 2, 0));
	EXPECT_EQ(-EPIPE, kc_send_u32(s, 2, -1));
	signal(SIGPIPE, SIG_DFL);
	EXPECT_EQ(-1, write(s, &v, sizeof(v)));
	EXPECT_EQ(EPIPE, errno);
	close(s);
}

TEST(last_recv_handle_closed_wakes_blocked_sender)
{
	int fd = kc_create(0, 4), s;
	pid_t pid;

	ASSERT_GE(fd, 0);
	s = kc_dup(fd, CHAN_RIGHT_SEND);
	ASSERT_GE(s, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(fd);	/* drop our reference to the recv handle */
		_exit(kc_send_u32(s, 1, -1) == -EPIPE ? KC_OK : KC_FAIL);
	}
	ASSERT_EQ(0, KC_WAIT(s, send_waiters, 1));
	close(fd);
	EXPECT_EQ(0, kc_reap(pid));
	close(s);
}

TEST(last_recv_handle_closed_wakes_blocked_buffered_sender)
{
	int fd = kc_create(1, 4), s;
	pid_t pid;

	ASSERT_GE(fd, 0);
	s = kc_dup(fd, CHAN_RIGHT_SEND);
	ASSERT_GE(s, 0);
	ASSERT_EQ(0, kc_send_u32(s, 1, 0));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(fd);
		_exit(kc_send_u32(s, 2, -1) == -EPIPE ? KC_OK : KC_FAIL);
	}
	ASSERT_EQ(0, KC_WAIT(s, send_waiters, 1));
	close(fd);
	EXPECT_EQ(0, kc_reap(pid));
	close(s);
}

/*
 * A producer killed with SIGKILL mid-stream: the consumer drains what was
 * sent and then sees closed, never blocks forever.
 */
TEST(killed_producer_does_not_block_consumer)
{
	int fd = kc_create(8, 4), r, got = 0, res;
	uint32_t v, expect = 0;
	pid_t pid;

	ASSERT_GE(fd, 0);
	r = kc_dup(fd, CHAN_RIGHT_RECV);
	ASSERT_GE(r, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		uint32_t i;

		close(r);
		for (i = 0;; i++)
			if (kc_send_u32(fd, i, -1))
				_exit(KC_FAIL);
	}
	close(fd);	/* the child now holds the only send handle */
	for (got = 0; got < 20; got++) {
		ASSERT_EQ(1, kc_recv_u32(r, &v, -1));
		ASSERT_EQ(expect++, v);
	}
	/* The producer is blocked on the full buffer or about to be. */
	ASSERT_EQ(0, kill(pid, SIGKILL));
	EXPECT_EQ(128 + SIGKILL, kc_reap(pid));
	for (;;) {
		res = kc_recv_u32(r, &v, 10000000000LL);
		if (res != 1)
			break;
		ASSERT_EQ(expect++, v);
	}
	EXPECT_EQ(0, res);
	EXPECT_EQ(1, KC_INFO(r, closed));
	close(r);
}

/* A consumer killed while the producer is blocked: the producer gets EPIPE. */
TEST(killed_consumer_wakes_blocked_producer)
{
	int fd = kc_create(0, 4), s, r;
	int64_t t0;
	pid_t pid;

	ASSERT_GE(fd, 0);
	s = kc_dup(fd, CHAN_RIGHT_SEND);
	r = kc_dup(fd, CHAN_RIGHT_RECV);
	ASSERT_GE(s, 0);
	ASSERT_GE(r, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(fd);
		close(s);
		/* Wait until the parent is blocked in send, then die hard. */
		if (KC_WAIT(r, send_waiters, 1))
			_exit(KC_FAIL);
		kill(getpid(), SIGKILL);
		_exit(KC_FAIL);
	}
	close(fd);
	close(r);
	t0 = kc_now_ns();
	EXPECT_EQ(-EPIPE, kc_send_u32(s, 1, 20000000000LL));
	EXPECT_LT(kc_now_ns() - t0, 15000000000LL);
	EXPECT_EQ(128 + SIGKILL, kc_reap(pid));
	EXPECT_EQ(-EPIPE, kc_send_u32(s, 1, -1));
	close(s);
}

/*
 * parent -> A -> child -> B -> parent. The child is killed with SIGKILL
 * while the parent waits on B: the parent sees B closed, and sends on A
 * fail EPIPE.
 */
TEST(killed_child_mid_pipeline_parent_not_blocked)
{
	int a = kc_create(0, 4), b = kc_create(0, 4), as, br, i;
	uint32_t v;
	pid_t pid;

	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	as = kc_dup(a, CHAN_RIGHT_SEND);
	br = kc_dup(b, CHAN_RIGHT_RECV);
	ASSERT_GE(as, 0);
	ASSERT_GE(br, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(as);
		close(br);
		for (;;) {
			if (kc_recv_u32(a, &v, -1) != 1)
				_exit(KC_FAIL);
			if (kc_send_u32(b, v * 2, -1))
				_exit(KC_FAIL);
		}
	}
	/* The child holds the only recv handle of A, send handle of B. */
	close(a);
	close(b);
	for (i = 0; i < 10; i++) {
		ASSERT_EQ(0, kc_send_u32(as, i, -1));
		ASSERT_EQ(1, kc_recv_u32(br, &v, -1));
		ASSERT_EQ(2 * i, v);
	}
	/* Park ourselves on B, then have the child killed. */
	pid_t killer = kc_fork();

	ASSERT_GE(killer, 0);
	if (killer == 0) {
		if (KC_WAIT(br, recv_waiters, 1))
			_exit(KC_FAIL);
		if (KC_WAIT(as, recv_waiters, 1))	/* child parked on A */
			_exit(KC_FAIL);
		kill(pid, SIGKILL);
		_exit(KC_OK);
	}
	EXPECT_EQ(0, kc_recv_u32(br, &v, 20000000000LL));
	EXPECT_EQ(0, kc_reap(killer));
	EXPECT_EQ(128 + SIGKILL, kc_reap(pid));
	EXPECT_EQ(-EPIPE, kc_send_u32(as, 1, -1));
	close(as);
	close(br);
}

TEST(info_works_on_any_handle)
{
	int fd = kc_create(3, 4), s, r;

	ASSERT_GE(fd, 0);
	s = kc_dup(fd, CHAN_RIGHT_SEND);
	r = kc_dup(fd, CHAN_RIGHT_RECV);
	ASSERT_GE(s, 0);
	ASSERT_GE(r, 0);
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	EXPECT_EQ(1, KC_INFO(s, len));
	EXPECT_EQ(1, KC_INFO(r, len));
	EXPECT_EQ(KC_INFO(fd, id), KC_INFO(s, id));
	EXPECT_EQ(KC_INFO(fd, id), KC_INFO(r, id));
	EXPECT_EQ(3, KC_INFO(r, capacity));
	close(s);
	close(r);
	close(fd);
}

TEST(channel_survives_in_child_after_parent_closes)
{
	int fd = kc_create(2, 4), p[2];
	uint32_t v;
	pid_t pid;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(0, kc_send_u32(fd, 31, 0));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (kc_pipe_get(p[0]) != 1)
			_exit(KC_FAIL);
		/* Parent's fd is closed; ours keeps the description alive. */
		if (kc_recv_u32(fd, &v, 0) != 1 || v != 31)
			_exit(KC_FAIL);
		if (kc_send_u32(fd, 32, 0))
			_exit(KC_FAIL);
		_exit(KC_OK);
	}
	close(fd);
	kc_pipe_put(p[1]);
	EXPECT_EQ(0, kc_reap(pid));
}

/* A CHAN_CLOEXEC handle is released by exec: if it was the last sender, the
 * channel closes while the exec'd program is still running.
 */
TEST(cloexec_handle_released_on_exec)
{
	int fd = kc_create(1, 4), s, r;
	uint32_t v;
	pid_t pid;

	ASSERT_GE(fd, 0);
	s = kc_dup_flags(fd, CHAN_RIGHT_SEND, CHAN_CLOEXEC);
	r = kc_dup(fd, CHAN_RIGHT_RECV);
	ASSERT_GE(s, 0);
	ASSERT_GE(r, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(fd);
		close(r);
		if (kc_send_u32(s, 5, 0))
			_exit(KC_FAIL);
		execl("/bin/sleep", "sleep", "20", (char *)NULL);
		_exit(KC_FAIL);
	}
	close(fd);
	close(s);
	ASSERT_EQ(1, kc_recv_u32(r, &v, 10000000000LL));
	EXPECT_EQ(5, v);
	/* The sleeping program holds no handle: closed, not blocked. */
	EXPECT_EQ(0, kc_recv_u32(r, &v, 10000000000LL));
	EXPECT_EQ(0, KC_INFO(r, send_handles));
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, kc_reap(pid));
	close(r);
}

TEST(plain_handle_survives_exec)
{
	int fd = kc_create(1, 4), s, r;
	pid_t pid;

	ASSERT_GE(fd, 0);
	s = kc_dup(fd, CHAN_RIGHT_SEND);
	r = kc_dup(fd, CHAN_RIGHT_RECV);
	ASSERT_GE(s, 0);
	ASSERT_GE(r, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(fd);
		close(r);
		execl("/bin/sleep", "sleep", "20", (char *)NULL);
		_exit(KC_FAIL);
	}
	close(fd);
	close(s);
	ASSERT_EQ(0, kc_wait_sleeping(pid));
	/* The exec'd program still holds the send handle. */
	EXPECT_EQ(1, KC_INFO(r, send_handles));
	EXPECT_EQ(0, KC_INFO(r, closed));
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, kc_reap(pid));
	EXPECT_EQ(0, KC_INFO(r, send_handles));
	EXPECT_EQ(1, KC_INFO(r, closed));
	close(r);
}

/* ---- handles travelling: SCM_RIGHTS and pidfd_getfd --------------------- */

/*
 * A recv-only handle sent over SCM_RIGHTS to a process that never had the
 * channel: it works there, it is the same handle (no new one counted), and
 * when that process exits holding the last recv handle, senders get EPIPE.
 */
TEST(scm_rights_passes_a_handle)
{
	int sv[2], fd, r;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		uint32_t v;
		int h = kc_unix_recv_fd(sv[1]), i;

		if (h < 0 || KC_INFO(h, rights) != CHAN_RIGHT_RECV)
			_exit(KC_FAIL);
		for (i = 0; i < 3; i++)
			if (kc_recv_u32(h, &v, -1) != 1 || v != (uint32_t)i)
				_exit(KC_FAIL);
		_exit(KC_OK);
	}
	/* Created after the fork: the child can only get it by passing. */
	fd = kc_create(4, 4);
	ASSERT_GE(fd, 0);
	r = kc_dup(fd, CHAN_RIGHT_RECV);
	ASSERT_GE(r, 0);
	ASSERT_EQ(0, kc_unix_send_fd(sv[0], r));
	close(r);	/* the in-flight / installed copy keeps the handle */
	EXPECT_EQ(2, KC_INFO(fd, recv_handles));
	ASSERT_EQ(0, kc_send_u32(fd, 0, -1));
	ASSERT_EQ(0, kc_send_u32(fd, 1, -1));
	ASSERT_EQ(0, kc_send_u32(fd, 2, -1));
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(1, KC_INFO(fd, recv_handles));
	close(sv[0]);
	close(sv[1]);
	close(fd);
}

TEST(scm_rights_last_recv_handle_exits_epipe)
{
	int sv[2], fd, s, r;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int h = kc_unix_recv_fd(sv[1]);

		if (h < 0)
			_exit(KC_FAIL);
		/* Hold it until the parent is parked in send, then go. */
		if (KC_WAIT(h, send_waiters, 1))
			_exit(KC_FAIL);
		_exit(KC_OK);
	}
	fd = kc_create(0, 4);
	ASSERT_GE(fd, 0);
	s = kc_dup(fd, CHAN_RIGHT_SEND);
	r = kc_dup(fd, CHAN_RIGHT_RECV);
	ASSERT_GE(s, 0);
	ASSERT_GE(r, 0);
	close(fd);
	ASSERT_EQ(0, kc_unix_send_fd(sv[0], r));
	close(r);
	/* The child holds the only recv handle; its exit must wake us. */
	EXPECT_EQ(-EPIPE, kc_send_u32(s, 1, 20000000000LL));
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(0, KC_INFO(s, recv_handles));
	close(sv[0]);
	close(sv[1]);
	close(s);
}

#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd 438
#endif

/* pidfd_getfd takes a child's channel fd: the same handle, usable here. */
TEST(pidfd_getfd_shares_the_handle)
{
	int p[2], q[2], pidfd, fd, childfd = -1;
	uint32_t v;
	pid_t pid;

	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(0, pipe(q));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int c = kc_create(2, 4);

		if (c < 0 || kc_send_u32(c, 55, 0))
			_exit(KC_FAIL);
		if (write(p[1], &c, sizeof(c)) != sizeof(c))
			_exit(KC_FAIL);
		kc_pipe_get(q[0]);	/* wait until the parent has it */
		_exit(KC_OK);		/* our fd goes; the handle stays */
	}
	ASSERT_EQ(sizeof(childfd), read(p[0], &childfd, sizeof(childfd)));
	pidfd = syscall(__NR_pidfd_open, pid, 0);
	if (pidfd < 0 && errno == ENOSYS)
		SKIP(return, "no pidfd_open");
	ASSERT_GE(pidfd, 0);
	fd = syscall(__NR_pidfd_getfd, pidfd, childfd, 0);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(1, KC_INFO(fd, send_handles));
	EXPECT_EQ(1, KC_INFO(fd, recv_handles));
	EXPECT_EQ(1, KC_INFO(fd, len));
	kc_pipe_put(q[1]);
	EXPECT_EQ(0, kc_reap(pid));
	/* The child's exit did not close the channel: we hold the handle. */
	EXPECT_EQ(0, KC_INFO(fd, closed));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(55, v);
	ASSERT_EQ(0, kc_send_u32(fd, 56, 0));
	close(pidfd);
	close(fd);
}

TEST_HARNESS_MAIN
