// SPDX-License-Identifier: GPL-2.0
/*
 * kchan basics: create, INFO, limits, and every row of the semantics table
 * of chan(7) (FIFO, rendezvous, blocking, close, non-blocking, timeouts,
 * EMSGSIZE, msg_size 0, read/write).
 */
#include "kchan_test.h"

/* ---- create and INFO ---------------------------------------------------- */

TEST(create_buffered_info)
{
	struct chan_info info;
	int fd = kc_create(4, 16);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_info(fd, &info));
	EXPECT_EQ(CHAN_INFO_SIZE_VER0, info.size);
	EXPECT_EQ(0, info.flags);
	EXPECT_EQ(4, info.capacity);
	EXPECT_EQ(16, info.msg_size);
	EXPECT_EQ(0, info.len);
	EXPECT_EQ(0, info.closed);
	EXPECT_EQ(0, info.send_waiters);
	EXPECT_EQ(0, info.recv_waiters);
	EXPECT_EQ(1, info.send_handles);
	EXPECT_EQ(1, info.recv_handles);
	EXPECT_EQ(CHAN_RIGHT_BOTH, info.rights);
	EXPECT_EQ(0, info.reserved);
	EXPECT_EQ(0, info.sent);
	EXPECT_EQ(0, info.received);
	close(fd);
}

TEST(create_unbuffered_info)
{
	struct chan_info info;
	int fd = kc_create(0, 8);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_info(fd, &info));
	EXPECT_EQ(0, info.capacity);
	EXPECT_EQ(8, info.msg_size);
	EXPECT_EQ(0, info.len);
	EXPECT_EQ(CHAN_RIGHT_BOTH, info.rights);
	close(fd);
}

TEST(create_msg_size_zero)
{
	struct chan_info info;
	int fd = kc_create(3, 0);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_info(fd, &info));
	EXPECT_EQ(3, info.capacity);
	EXPECT_EQ(0, info.msg_size);
	close(fd);
}

TEST(create_ids_unique)
{
	struct chan_info a, b;
	int fa = kc_create(1, 4), fb = kc_create(1, 4);

	ASSERT_GE(fa, 0);
	ASSERT_GE(fb, 0);
	ASSERT_EQ(0, kc_info(fa, &a));
	ASSERT_EQ(0, kc_info(fb, &b));
	EXPECT_NE(a.id, b.id);
	close(fa);
	close(fb);
}

TEST(create_cloexec_flag)
{
	int plain = kc_create(1, 4);
	int cx = kc_create_flags(1, 4, CHAN_CLOEXEC);

	ASSERT_GE(plain, 0);
	ASSERT_GE(cx, 0);
	EXPECT_EQ(0, fcntl(plain, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(FD_CLOEXEC, fcntl(cx, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(0, fcntl(cx, F_GETFL) & O_NONBLOCK);
	close(plain);
	close(cx);
}

TEST(create_nonblock_flag)
{
	int plain = kc_create(1, 4);
	int nb = kc_create_flags(1, 4, CHAN_NONBLOCK);
	uint32_t v;

	ASSERT_GE(plain, 0);
	ASSERT_GE(nb, 0);
	EXPECT_EQ(0, fcntl(plain, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(O_NONBLOCK, fcntl(nb, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(0, fcntl(nb, F_GETFD) & FD_CLOEXEC);
	/* O_NONBLOCK wins over an infinite timeout. */
	EXPECT_EQ(-EAGAIN, kc_recv_u32(nb, &v, -1));
	EXPECT_EQ(0, kc_send_u32(nb, 1, -1));
	EXPECT_EQ(-EAGAIN, kc_send_u32(nb, 2, -1));
	close(plain);
	close(nb);
}

TEST(create_fdpass_flag_in_info)
{
	struct chan_info info;
	int fd = kc_create_flags(1, 4, CHAN_FDPASS);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_info(fd, &info));
	EXPECT_EQ(CHAN_FDPASS, info.flags);
	close(fd);
}

TEST(create_msg_size_at_limit)
{
	unsigned long max = kc_param("max_msg_size", 65536);
	int fd = kc_create(1, max);

	ASSERT_GE(fd, 0);
	EXPECT_EQ(max, KC_INFO(fd, msg_size));
	close(fd);
}

TEST(create_msg_size_too_big_emsgsize)
{
	unsigned long max = kc_param("max_msg_size", 65536);

	EXPECT_EQ(-EMSGSIZE, kc_create(1, max + 1));
	EXPECT_EQ(-EMSGSIZE, kc_create(0, max + 1));
	EXPECT_EQ(-EMSGSIZE, kc_create(0, 0xffffffffU));
}

TEST(create_capacity_at_limit)
{
	unsigned long max = kc_param("max_capacity", 65536);
	int fd = kc_create(max, 0);

	ASSERT_GE(fd, 0);
	EXPECT_EQ(max, KC_INFO(fd, capacity));
	close(fd);
}

TEST(create_capacity_too_big_einval)
{
	unsigned long max = kc_param("max_capacity", 65536);

	EXPECT_EQ(-EINVAL, kc_create(max + 1, 0));
	EXPECT_EQ(-EINVAL, kc_create(0xffffffffU, 1));
}

TEST(create_bytes_at_limit)
{
	unsigned long bytes = kc_param("max_chan_bytes", 16UL << 20);
	unsigned long msz = kc_param("max_msg_size", 65536);
	unsigned long cap = bytes / msz;
	int fd;

	if (cap > kc_param("max_capacity", 65536))
		SKIP(return, "limits do not allow the exact byte limit");
	fd = kc_create(cap, msz);
	ASSERT_GE(fd, 0);
	close(fd);
}

TEST(create_bytes_too_big_einval)
{
	unsigned long bytes = kc_param("max_chan_bytes", 16UL << 20);
	unsigned long msz = kc_param("max_msg_size", 65536);
	unsigned long cap = bytes / msz + 1;

	/* Each value alone is within its limit, the product is not. */
	ASSERT_LE(cap, kc_param("max_capacity", 65536));
	EXPECT_EQ(-EINVAL, kc_create(cap, msz));
}

TEST(create_bytes_overflow_einval)
{
	/* 65536 * 65536 wraps a 32-bit product to 0. */
	EXPECT_EQ(-EINVAL, kc_create(65536, 65536));
	/* Each within its default limit; the product is 4 GiB - 128 KiB. */
	EXPECT_EQ(-EINVAL, kc_create(65535, 65535));
}

TEST(info_counters)
{
	struct chan_info info;
	uint32_t v;
	int fd = kc_create(4, 4);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	ASSERT_EQ(0, kc_send_u32(fd, 2, 0));
	ASSERT_EQ(0, kc_send_u32(fd, 3, 0));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	ASSERT_EQ(0, kc_info(fd, &info));
	EXPECT_EQ(3, info.sent);
	EXPECT_EQ(2, info.received);
	EXPECT_EQ(1, info.len);
	close(fd);
}

/* ---- buffered: FIFO, full, empty ---------------------------------------- */

TEST(fifo_order)
{
	uint32_t i, v;
	int fd = kc_create(8, 4);

	ASSERT_GE(fd, 0);
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, kc_send_u32(fd, 100 + i, 0));
	EXPECT_EQ(8, KC_INFO(fd, len));
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
		EXPECT_EQ(100 + i, v);
	}
	EXPECT_EQ(0, KC_INFO(fd, len));
	close(fd);
}

TEST(fifo_order_wraparound_and_lengths)
{
	char out[32], in[32];
	uint32_t next_send = 0, next_recv = 0;
	size_t len;
	int fd = kc_create(3, 32), k;

	ASSERT_GE(fd, 0);
	/* Mixed lengths through a ring that wraps many times. */
	for (k = 0; k < 300; k++) {
		if (k % 3 != 2 && KC_INFO(fd, len) < 3) {
			memset(out, 'a' + next_send % 26, sizeof(out));
			ASSERT_EQ(0, kc_send(fd, out, next_send % 33, 0));
			next_send++;
		} else if (next_recv < next_send) {
			memset(in, 0, sizeof(in));
			ASSERT_EQ(1, kc_recv(fd, in, sizeof(in), &len, 0));
			ASSERT_EQ(next_recv % 33, len);
			if (len)
				ASSERT_EQ('a' + next_recv % 26, in[len - 1]);
			next_recv++;
		}
	}
	ASSERT_GT(next_recv, 100);
	close(fd);
}

TEST(buffered_full_send_eagain)
{
	uint32_t v;
	int fd = kc_create(2, 4);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	ASSERT_EQ(0, kc_send_u32(fd, 2, 0));
	EXPECT_EQ(-EAGAIN, kc_send_u32(fd, 3, 0));
	EXPECT_EQ(2, KC_INFO(fd, len));
	EXPECT_EQ(2, KC_INFO(fd, sent));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(1, v);
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(2, v);
	EXPECT_EQ(-EAGAIN, kc_recv_u32(fd, &v, 0));
	close(fd);
}

TEST(buffered_empty_recv_eagain)
{
	uint32_t v;
	int fd = kc_create(2, 4);

	ASSERT_GE(fd, 0);
	EXPECT_EQ(-EAGAIN, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(0, KC_INFO(fd, received));
	close(fd);
}

TEST(unbuffered_send_no_receiver_eagain)
{
	uint32_t v;
	int fd = kc_create(0, 4);

	ASSERT_GE(fd, 0);
	EXPECT_EQ(-EAGAIN, kc_send_u32(fd, 1, 0));
	/* Nothing was left behind for a later receiver. */
	EXPECT_EQ(-EAGAIN, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(0, KC_INFO(fd, sent));
	close(fd);
}

TEST(unbuffered_recv_no_sender_eagain)
{
	uint32_t v;
	int fd = kc_create(0, 4);

	ASSERT_GE(fd, 0);
	EXPECT_EQ(-EAGAIN, kc_recv_u32(fd, &v, 0));
	close(fd);
}

/*
 * Rendezvous: the child's send must not return before we receive. The
 * child writes a marker after its send returns; it must be absent while
 * INFO shows the child parked, and present after our recv.
 */
TEST(unbuffered_send_blocks_until_received)
{
	int p[2], fd = kc_create(0, 4);
	uint32_t v = 0;
	pid_t pid;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, pipe(p));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int r = kc_send_u32(fd, 42, -1);

		kc_pipe_put(p[1]);
		_exit(r == 0 ? KC_OK : KC_FAIL);
	}
	ASSERT_EQ(0, KC_WAIT(fd, send_waiters, 1));
	EXPECT_EQ(0, kc_readable(p[0]));
	EXPECT_EQ(0, KC_INFO(fd, len));
	EXPECT_EQ(0, KC_INFO(fd, sent));
	/* Still parked after a while: nothing completes it but a receiver. */
	kc_sleep_ms(50);
	EXPECT_EQ(0, kc_readable(p[0]));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, -1));
	EXPECT_EQ(42, v);
	EXPECT_EQ(1, kc_pipe_get(p[0]));
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(0, KC_INFO(fd, send_waiters));
	close(fd);
}

TEST(unbuffered_recv_blocks_until_sent)
{
	int p[2], fd = kc_create(0, 4);
	pid_t pid;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, pipe(p));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		uint32_t v = 0;
		int r = kc_recv_u32(fd, &v, -1);

		kc_pipe_put(p[1]);
		_exit(r == 1 && v == 7 ? KC_OK : KC_FAIL);
	}
	ASSERT_EQ(0, KC_WAIT(fd, recv_waiters, 1));
	kc_sleep_ms(50);
	EXPECT_EQ(0, kc_readable(p[0]));
	/* A parked receiver makes a send with timeout 0 succeed (handoff). */
	ASSERT_EQ(0, kc_send_u32(fd, 7, 0));
	EXPECT_EQ(1, kc_pipe_get(p[0]));
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(0, KC_INFO(fd, len));
	EXPECT_EQ(1, KC_INFO(fd, received));
	close(fd);
}

TEST(unbuffered_parked_sender_makes_recv_nonblocking_succeed)
{
	int fd = kc_create(0, 4);
	uint32_t v = 0;
	pid_t pid;

	ASSERT_GE(fd, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(kc_send_u32(fd, 9, -1) == 0 ? KC_OK : KC_FAIL);
	ASSERT_EQ(0, KC_WAIT(fd, send_waiters, 1));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(9, v);
	EXPECT_EQ(0, kc_reap(pid));
	close(fd);
}

TEST(buffered_full_send_blocks_until_room)
{
	int p[2], fd = kc_create(1, 4);
	uint32_t v = 0;
	pid_t pid;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int r = kc_send_u32(fd, 2, -1);

		kc_pipe_put(p[1]);
		_exit(r == 0 ? KC_OK : KC_FAIL);
	}
	ASSERT_EQ(0, KC_WAIT(fd, send_waiters, 1));
	EXPECT_EQ(0, kc_readable(p[0]));
	EXPECT_EQ(1, KC_INFO(fd, len));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(1, v);
	EXPECT_EQ(1, kc_pipe_get(p[0]));
	EXPECT_EQ(0, kc_reap(pid));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(2, v);
	close(fd);
}

TEST(buffered_empty_recv_blocks_until_sent)
{
	int fd = kc_create(2, 4);
	pid_t pid;

	ASSERT_GE(fd, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		uint32_t v = 0;
		int r = kc_recv_u32(fd, &v, -1);

		_exit(r == 1 && v == 5 ? KC_OK : KC_FAIL);
	}
	ASSERT_EQ(0, KC_WAIT(fd, recv_waiters, 1));
	ASSERT_EQ(0, kc_send_u32(fd, 5, 0));
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(0, KC_INFO(fd, len));
	EXPECT_EQ(0, KC_INFO(fd, recv_waiters));
	close(fd);
}

/* ---- close ---------------------------------------------------------------- */

TEST(closed_send_epipe)
{
	int fd = kc_create(2, 4);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_close(fd));
	EXPECT_EQ(-EPIPE, kc_send_u32(fd, 1, 0));
	EXPECT_EQ(-EPIPE, kc_send_u32(fd, 1, -1));
	EXPECT_EQ(0, KC_INFO(fd, sent));
	EXPECT_EQ(1, KC_INFO(fd, closed));
	close(fd);
}

TEST(closed_unbuffered_send_epipe)
{
	int fd = kc_create(0, 4);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_close(fd));
	EXPECT_EQ(-EPIPE, kc_send_u32(fd, 1, -1));
	close(fd);
}

TEST(closed_write_epipe_no_sigpipe)
{
	uint32_t v = 1;
	int fd = kc_create(2, 4);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_close(fd));
	/* SIGPIPE keeps its default action: raising it would kill us. */
	signal(SIGPIPE, SIG_DFL);
	EXPECT_EQ(-1, write(fd, &v, sizeof(v)));
	EXPECT_EQ(EPIPE, errno);
	close(fd);
}

TEST(closed_drains_then_reports_closed)
{
	uint32_t v = 0;
	size_t len = 99;
	int fd = kc_create(4, 4);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_send_u32(fd, 10, 0));
	ASSERT_EQ(0, kc_send_u32(fd, 11, 0));
	ASSERT_EQ(0, kc_close(fd));
	EXPECT_EQ(1, KC_INFO(fd, closed));
	EXPECT_EQ(2, KC_INFO(fd, len));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(10, v);
	ASSERT_EQ(1, kc_recv_u32(fd, &v, -1));
	EXPECT_EQ(11, v);
	/* Closed and drained: ok = 0 at once, blocking or not, every time. */
	EXPECT_EQ(0, kc_recv(fd, &v, sizeof(v), &len, -1));
	EXPECT_EQ(0, len);
	EXPECT_EQ(0, kc_recv(fd, &v, sizeof(v), &len, 0));
	EXPECT_EQ(0, kc_recv(fd, &v, sizeof(v), &len, 1000000));
	EXPECT_EQ(2, KC_INFO(fd, received));
	close(fd);
}

TEST(closed_read_returns_zero_after_drain)
{
	uint32_t v = 3, in = 0;
	int fd = kc_create(2, 4);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(sizeof(v), write(fd, &v, sizeof(v)));
	ASSERT_EQ(0, kc_close(fd));
	ASSERT_EQ(sizeof(in), read(fd, &in, sizeof(in)));
	EXPECT_EQ(3, in);
	EXPECT_EQ(0, read(fd, &in, sizeof(in)));
	EXPECT_EQ(0, read(fd, &in, sizeof(in)));
	close(fd);
}

TEST(close_twice_ealready)
{
	int fd = kc_create(0, 4);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_close(fd));
	EXPECT_EQ(-EALREADY, kc_close(fd));
	EXPECT_EQ(-EALREADY, kc_close(fd));
	close(fd);
}

TEST(close_recv_only_ebadf)
{
	int fd = kc_create(1, 4), r;

	ASSERT_GE(fd, 0);
	r = kc_dup(fd, CHAN_RIGHT_RECV);
	ASSERT_GE(r, 0);
	EXPECT_EQ(-EBADF, kc_close(r));
	EXPECT_EQ(0, KC_INFO(fd, closed));
	close(r);
	close(fd);
}

TEST(close_send_only_ok)
{
	int fd = kc_create(1, 4), s;

	ASSERT_GE(fd, 0);
	s = kc_dup(fd, CHAN_RIGHT_SEND);
	ASSERT_GE(s, 0);
	EXPECT_EQ(0, kc_close(s));
	EXPECT_EQ(1, KC_INFO(fd, closed));
	close(s);
	close(fd);
}

TEST(close_wakes_blocked_senders_epipe)
{
	int fd = kc_create(0, 4), i;
	uint32_t v;
	pid_t pid[3];

	ASSERT_GE(fd, 0);
	for (i = 0; i < 3; i++) {
		pid[i] = kc_fork();
		ASSERT_GE(pid[i], 0);
		if (pid[i] == 0)
			_exit(kc_send_u32(fd, i, -1) == -EPIPE ? KC_OK : KC_FAIL);
		ASSERT_EQ(0, KC_WAIT(fd, send_waiters, i + 1));
	}
	ASSERT_EQ(0, kc_close(fd));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, kc_reap(pid[i]));
	EXPECT_EQ(0, KC_INFO(fd, send_waiters));
	/* None of their messages was delivered. */
	EXPECT_EQ(0, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(0, KC_INFO(fd, received));
	close(fd);
}

TEST(close_wakes_blocked_buffered_sender_epipe)
{
	int fd = kc_create(1, 4);
	uint32_t v;
	pid_t pid;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(kc_send_u32(fd, 2, -1) == -EPIPE ? KC_OK : KC_FAIL);
	ASSERT_EQ(0, KC_WAIT(fd, send_waiters, 1));
	ASSERT_EQ(0, kc_close(fd));
	EXPECT_EQ(0, kc_reap(pid));
	/* The buffered message survives, the blocked one never entered. */
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(1, v);
	EXPECT_EQ(0, kc_recv_u32(fd, &v, 0));
	close(fd);
}

TEST(close_wakes_blocked_receivers_closed)
{
	int fd = kc_create(2, 4), i;
	pid_t pid[3];

	ASSERT_GE(fd, 0);
	for (i = 0; i < 3; i++) {
		pid[i] = kc_fork();
		ASSERT_GE(pid[i], 0);
		if (pid[i] == 0) {
			uint32_t v;

			_exit(kc_recv_u32(fd, &v, -1) == 0 ? KC_OK : KC_FAIL);
		}
		ASSERT_EQ(0, KC_WAIT(fd, recv_waiters, i + 1));
	}
	ASSERT_EQ(0, kc_close(fd));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, kc_reap(pid[i]));
	EXPECT_EQ(0, KC_INFO(fd, recv_waiters));
	close(fd);
}

/* ---- non-blocking --------------------------------------------------------- */

TEST(o_nonblock_ioctl_eagain)
{
	uint32_t v;
	int fd = kc_create(1, 4);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_set_nonblock(fd, 1));
	EXPECT_EQ(-EAGAIN, kc_recv_u32(fd, &v, -1));
	EXPECT_EQ(-EAGAIN, kc_recv_u32(fd, &v, 1000000000));
	ASSERT_EQ(0, kc_send_u32(fd, 1, -1));
	EXPECT_EQ(-EAGAIN, kc_send_u32(fd, 2, -1));
	EXPECT_EQ(-EAGAIN, kc_send_u32(fd, 2, 1000000000));
	ASSERT_EQ(0, kc_set_nonblock(fd, 0));
	EXPECT_EQ(-ETIMEDOUT, kc_send_u32(fd, 2, 1000000));
	close(fd);
}

TEST(o_nonblock_unbuffered_eagain)
{
	uint32_t v;
	int fd = kc_create_flags(0, 4, CHAN_NONBLOCK);

	ASSERT_GE(fd, 0);
	EXPECT_EQ(-EAGAIN, kc_send_u32(fd, 1, -1));
	EXPECT_EQ(-EAGAIN, kc_recv_u32(fd, &v, -1));
	close(fd);
}

TEST(o_nonblock_read_write_eagain)
{
	uint32_t v = 1;
	int fd = kc_create(1, 4);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_set_nonblock(fd, 1));
	EXPECT_EQ(-1, read(fd, &v, sizeof(v)));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(sizeof(v), write(fd, &v, sizeof(v)));
	EXPECT_EQ(-1, write(fd, &v, sizeof(v)));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(1, KC_INFO(fd, len));
	close(fd);
}

TEST(timeout_zero_is_try)
{
	uint32_t v = 0;
	int fd = kc_create(1, 4);

	ASSERT_GE(fd, 0);
	EXPECT_EQ(-EAGAIN, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(0, kc_send_u32(fd, 4, 0));
	EXPECT_EQ(-EAGAIN, kc_send_u32(fd, 5, 0));
	EXPECT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(4, v);
	close(fd);
}

/* ---- timeouts --------------------------------------------------------------- */

TEST(timeout_recv_etimedout)
{
	const int64_t t = 100000000;	/* 100 ms */
	int64_t t0, el;
	uint32_t v;
	int fd = kc_create(1, 4);

	ASSERT_GE(fd, 0);
	t0 = kc_now_ns();
	EXPECT_EQ(-ETIMEDOUT, kc_recv_u32(fd, &v, t));
	el = kc_now_ns() - t0;
	EXPECT_GE(el, t);
	EXPECT_EQ(0, KC_INFO(fd, recv_waiters));
	EXPECT_EQ(0, KC_INFO(fd, received));
	close(fd);
}

TEST(timeout_unbuffered_recv_etimedout)
{
	const int64_t t = 50000000;
	int64_t t0;
	uint32_t v;
	int fd = kc_create(0, 4);

	ASSERT_GE(fd, 0);
	t0 = kc_now_ns();
	EXPECT_EQ(-ETIMEDOUT, kc_recv_u32(fd, &v, t));
	EXPECT_GE(kc_now_ns() - t0, t);
	/* The timed-out receiver is gone: a send finds nobody. */
	EXPECT_EQ(-EAGAIN, kc_send_u32(fd, 1, 0));
	close(fd);
}

TEST(timeout_send_full_etimedout_nothing_sent)
{
	const int64_t t = 100000000;
	int64_t t0;
	uint32_t v;
	int fd = kc_create(1, 4);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	t0 = kc_now_ns();
	EXPECT_EQ(-ETIMEDOUT, kc_send_u32(fd, 2, t));
	EXPECT_GE(kc_now_ns() - t0, t);
	EXPECT_EQ(1, KC_INFO(fd, len));
	EXPECT_EQ(1, KC_INFO(fd, sent));
	EXPECT_EQ(0, KC_INFO(fd, send_waiters));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(1, v);
	EXPECT_EQ(-EAGAIN, kc_recv_u32(fd, &v, 0));
	close(fd);
}

TEST(timeout_unbuffered_send_etimedout_nothing_sent)
{
	const int64_t t = 50000000;
	int64_t t0;
	uint32_t v;
	int fd = kc_create(0, 4);

	ASSERT_GE(fd, 0);
	t0 = kc_now_ns();
	EXPECT_EQ(-ETIMEDOUT, kc_send_u32(fd, 1, t));
	EXPECT_GE(kc_now_ns() - t0, t);
	EXPECT_EQ(0, KC_INFO(fd, send_waiters));
	EXPECT_EQ(-EAGAIN, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(0, KC_INFO(fd, sent));
	close(fd);
}

TEST(timeout_recv_succeeds_before_deadline)
{
	int fd = kc_create(0, 4);
	uint32_t v = 0;
	pid_t pid;

	ASSERT_GE(fd, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (KC_WAIT(fd, recv_waiters, 1))
			_exit(KC_FAIL);
		_exit(kc_send_u32(fd, 77, 0) == 0 ? KC_OK : KC_FAIL);
	}
	/* 20 s: long enough never to expire here. */
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 20000000000LL));
	EXPECT_EQ(77, v);
	EXPECT_EQ(0, kc_reap(pid));
	close(fd);
}

/* ---- message sizes -------------------------------------------------------- */

TEST(send_too_long_emsgsize)
{
	char buf[17];
	int fd = kc_create(2, 16);

	ASSERT_GE(fd, 0);
	memset(buf, 'x', sizeof(buf));
	EXPECT_EQ(-EMSGSIZE, kc_send(fd, buf, 17, 0));
	EXPECT_EQ(-EMSGSIZE, kc_send(fd, buf, 1ULL << 40, 0));
	EXPECT_EQ(0, KC_INFO(fd, len));
	EXPECT_EQ(0, kc_send(fd, buf, 16, 0));
	EXPECT_EQ(1, KC_INFO(fd, len));
	close(fd);
}

TEST(unbuffered_send_too_long_emsgsize)
{
	char buf[9] = "12345678";
	int fd = kc_create(0, 8);

	ASSERT_GE(fd, 0);
	EXPECT_EQ(-EMSGSIZE, kc_send(fd, buf, 9, -1));
	close(fd);
}

TEST(recv_short_buffer_emsgsize_message_stays)
{
	char in[16];
	size_t len = 0;
	int fd = kc_create(2, 16);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_send(fd, "0123456789", 10, 0));
	EXPECT_EQ(-EMSGSIZE, kc_recv(fd, in, 9, &len, 0));
	EXPECT_EQ(-EMSGSIZE, kc_recv(fd, in, 0, &len, -1));
	EXPECT_EQ(1, KC_INFO(fd, len));
	EXPECT_EQ(0, KC_INFO(fd, received));
	memset(in, 0, sizeof(in));
	ASSERT_EQ(1, kc_recv(fd, in, 10, &len, 0));
	EXPECT_EQ(10, len);
	EXPECT_EQ(0, memcmp(in, "0123456789", 10));
	close(fd);
}

TEST(recv_short_buffer_unbuffered_sender_keeps_waiting)
{
	char in[16];
	size_t len = 0;
	int fd = kc_create(0, 16);
	pid_t pid;

	ASSERT_GE(fd, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(kc_send(fd, "abcdefgh", 8, -1) == 0 ? KC_OK : KC_FAIL);
	ASSERT_EQ(0, KC_WAIT(fd, send_waiters, 1));
	EXPECT_EQ(-EMSGSIZE, kc_recv(fd, in, 4, &len, 0));
	EXPECT_EQ(1, KC_INFO(fd, send_waiters));
	ASSERT_EQ(1, kc_recv(fd, in, sizeof(in), &len, 0));
	EXPECT_EQ(8, len);
	EXPECT_EQ(0, memcmp(in, "abcdefgh", 8));
	EXPECT_EQ(0, kc_reap(pid));
	close(fd);
}

TEST(blocked_receiver_short_buffer_woken_emsgsize)
{
	char in[16];
	size_t len;
	int fd = kc_create(2, 16);
	pid_t pid;

	ASSERT_GE(fd, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		char small[2];
		size_t l;

		_exit(kc_recv(fd, small, sizeof(small), &l, -1) == -EMSGSIZE ?
		      KC_OK : KC_FAIL);
	}
	ASSERT_EQ(0, KC_WAIT(fd, recv_waiters, 1));
	ASSERT_EQ(0, kc_send(fd, "long one", 8, 0));
	EXPECT_EQ(0, kc_reap(pid));
	/* The message went to the buffer, whole. */
	ASSERT_EQ(1, kc_recv(fd, in, sizeof(in), &len, 0));
	EXPECT_EQ(8, len);
	EXPECT_EQ(0, memcmp(in, "long one", 8));
	close(fd);
}

/* Two parked receivers, the first with a short buffer: it fails EMSGSIZE,
 * the message goes to the second, and a try-send succeeds.
 */
TEST(short_receiver_skipped_message_goes_to_next)
{
	int fd = kc_create(0, 16);
	pid_t a, b;

	ASSERT_GE(fd, 0);
	a = kc_fork();
	ASSERT_GE(a, 0);
	if (a == 0) {
		char small[2];

		_exit(kc_recv(fd, small, sizeof(small), NULL, -1) == -EMSGSIZE ?
		      KC_OK : KC_FAIL);
	}
	ASSERT_EQ(0, KC_WAIT(fd, recv_waiters, 1));
	b = kc_fork();
	ASSERT_GE(b, 0);
	if (b == 0) {
		char big[16];
		size_t len = 0;

		_exit(kc_recv(fd, big, sizeof(big), &len, -1) == 1 && len == 8 &&
		      !memcmp(big, "12345678", 8) ? KC_OK : KC_FAIL);
	}
	ASSERT_EQ(0, KC_WAIT(fd, recv_waiters, 2));
	ASSERT_EQ(0, kc_send(fd, "12345678", 8, 0));
	EXPECT_EQ(0, kc_reap(a));
	EXPECT_EQ(0, kc_reap(b));
	EXPECT_EQ(1, KC_INFO(fd, received));
	close(fd);
}

/* The only parked receiver is too short: it fails, the sender waits on. */
TEST(short_receiver_sender_keeps_waiting)
{
	char in[16];
	size_t len = 0;
	int fd = kc_create(0, 16);
	pid_t a, s;

	ASSERT_GE(fd, 0);
	a = kc_fork();
	ASSERT_GE(a, 0);
	if (a == 0) {
		char small[2];

		_exit(kc_recv(fd, small, sizeof(small), NULL, -1) == -EMSGSIZE ?
		      KC_OK : KC_FAIL);
	}
	ASSERT_EQ(0, KC_WAIT(fd, recv_waiters, 1));
	s = kc_fork();
	ASSERT_GE(s, 0);
	if (s == 0)
		_exit(kc_send(fd, "abcdefgh", 8, -1) ? KC_FAIL : KC_OK);
	EXPECT_EQ(0, kc_reap(a));
	ASSERT_EQ(0, KC_WAIT(fd, send_waiters, 1));
	EXPECT_EQ(0, KC_INFO(fd, recv_waiters));
	ASSERT_EQ(1, kc_recv(fd, in, sizeof(in), &len, 0));
	EXPECT_EQ(8, len);
	EXPECT_EQ(0, memcmp(in, "abcdefgh", 8));
	EXPECT_EQ(0, kc_reap(s));
	close(fd);
}

TEST(write_too_long_emsgsize)
{
	char buf[64];
	int fd = kc_create(2, 8);

	ASSERT_GE(fd, 0);
	memset(buf, 1, sizeof(buf));
	EXPECT_EQ(-1, write(fd, buf, 9));
	EXPECT_EQ(EMSGSIZE, errno);
	EXPECT_EQ(-1, write(fd, buf, 64));
	EXPECT_EQ(EMSGSIZE, errno);
	/* Never split into smaller messages. */
	EXPECT_EQ(0, KC_INFO(fd, len));
	close(fd);
}

TEST(read_short_buffer_emsgsize_message_stays)
{
	char in[8];
	int fd = kc_create(2, 8);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(6, write(fd, "hello!", 6));
	EXPECT_EQ(-1, read(fd, in, 5));
	EXPECT_EQ(EMSGSIZE, errno);
	EXPECT_EQ(1, KC_INFO(fd, len));
	ASSERT_EQ(6, read(fd, in, sizeof(in)));
	EXPECT_EQ(0, memcmp(in, "hello!", 6));
	close(fd);
}

TEST(write_read_one_message_per_call)
{
	char in[64];
	int fd = kc_create(4, 32);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(3, write(fd, "abc", 3));
	ASSERT_EQ(5, write(fd, "defgh", 5));
	ASSERT_EQ(1, write(fd, "i", 1));
	EXPECT_EQ(3, KC_INFO(fd, len));
	/* A large buffer still takes one message, never coalesces. */
	ASSERT_EQ(3, read(fd, in, sizeof(in)));
	EXPECT_EQ(0, memcmp(in, "abc", 3));
	ASSERT_EQ(5, read(fd, in, sizeof(in)));
	EXPECT_EQ(0, memcmp(in, "defgh", 5));
	ASSERT_EQ(1, read(fd, in, sizeof(in)));
	EXPECT_EQ('i', in[0]);
	close(fd);
}

TEST(write_ioctl_interoperate)
{
	char in[16];
	size_t len;
	int fd = kc_create(4, 16);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(4, write(fd, "wxyz", 4));
	ASSERT_EQ(0, kc_send(fd, "ioctl", 5, 0));
	ASSERT_EQ(1, kc_recv(fd, in, sizeof(in), &len, 0));
	EXPECT_EQ(4, len);
	EXPECT_EQ(0, memcmp(in, "wxyz", 4));
	ASSERT_EQ(5, read(fd, in, sizeof(in)));
	EXPECT_EQ(0, memcmp(in, "ioctl", 5));
	close(fd);
}

TEST(recv_reports_len_ok_and_fd)
{
	struct chan_msg m;
	char in[32];
	int fd = kc_create(1, 32);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_send(fd, "twelve bytes", 12, 0));
	kc_msg_init(&m, in, sizeof(in), 0);
	m.fd = 1234;
	m.ok = 55;
	ASSERT_EQ(0, ioctl(fd, CHAN_IOC_RECV, &m));
	EXPECT_EQ(12, m.len);
	EXPECT_EQ(1, m.ok);
	EXPECT_EQ(-1, m.fd);
	ASSERT_EQ(0, kc_close(fd));
	kc_msg_init(&m, in, sizeof(in), 0);
	m.ok = 55;
	ASSERT_EQ(0, ioctl(fd, CHAN_IOC_RECV, &m));
	EXPECT_EQ(0, m.ok);
	EXPECT_EQ(0, m.len);
	close(fd);
}

/* ---- msg_size 0: pure events ------------------------------------------- */

TEST(msg_size_zero_events)
{
	size_t len = 99;
	char c;
	int fd = kc_create(3, 0), i;

	ASSERT_GE(fd, 0);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, kc_send(fd, NULL, 0, 0));
	EXPECT_EQ(-EAGAIN, kc_send(fd, NULL, 0, 0));
	EXPECT_EQ(-EMSGSIZE, kc_send(fd, "x", 1, 0));
	EXPECT_EQ(3, KC_INFO(fd, len));
	ASSERT_EQ(1, kc_recv(fd, NULL, 0, &len, 0));
	EXPECT_EQ(0, len);
	ASSERT_EQ(1, kc_recv(fd, &c, 1, &len, 0));
	EXPECT_EQ(0, len);
	ASSERT_EQ(0, kc_close(fd));
	ASSERT_EQ(1, kc_recv(fd, NULL, 0, &len, 0));
	EXPECT_EQ(0, kc_recv(fd, NULL, 0, &len, 0));
	close(fd);
}

TEST(msg_size_zero_unbuffered_rendezvous)
{
	int fd = kc_create(0, 0), i;
	size_t len = 1;
	pid_t pid;

	ASSERT_GE(fd, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		for (i = 0; i < 5; i++)
			if (kc_send(fd, NULL, 0, -1))
				_exit(KC_FAIL);
		_exit(KC_OK);
	}
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(1, kc_recv(fd, NULL, 0, &len, -1));
		EXPECT_EQ(0, len);
	}
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(5, KC_INFO(fd, received));
	close(fd);
}

TEST(empty_message_read_returns_zero_but_recv_ok)
{
	char buf[4];
	size_t len = 9;
	int fd = kc_create(2, 4);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_send(fd, buf, 0, 0));
	ASSERT_EQ(0, kc_send(fd, buf, 0, 0));
	/* An empty message: ok = 1, len 0. */
	EXPECT_EQ(1, kc_recv(fd, buf, sizeof(buf), &len, 0));
	EXPECT_EQ(0, len);
	/* read() returns 0 for it and consumes it. */
	EXPECT_EQ(0, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(0, KC_INFO(fd, len));
	EXPECT_EQ(0, KC_INFO(fd, closed));
	close(fd);
}

/* ---- handoff and FIFO service of parked waiters --------------------------- */

/*
 * A send that finds a parked receiver hands the message straight to it: the
 * buffer stays empty, the message is not up for grabs by anyone else.
 */
TEST(buffered_send_hands_off_to_parked_receiver)
{
	int fd = kc_create(1, 4);
	uint32_t v;
	pid_t pid;

	ASSERT_GE(fd, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(kc_recv_u32(fd, &v, -1) == 1 && v == 1 ? KC_OK : KC_FAIL);
	ASSERT_EQ(0, KC_WAIT(fd, recv_waiters, 1));
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	/* Taken already, whether or not the receiver has run yet. */
	EXPECT_EQ(0, KC_INFO(fd, len));
	EXPECT_EQ(0, KC_INFO(fd, recv_waiters));
	EXPECT_EQ(-EAGAIN, kc_recv_u32(fd, &v, 0));
	/* So the single slot is still free. */
	EXPECT_EQ(0, kc_send_u32(fd, 2, 0));
	EXPECT_EQ(0, kc_reap(pid));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(2, v);
	close(fd);
}

/*
 * A recv from a full buffer with a sender parked moves that sender's message
 * in at once (Go's recv from a full channel): a later try-send cannot take
 * the freed slot ahead of the parked sender.
 */
TEST(parked_sender_not_overtaken_by_trysend)
{
	int fd = kc_create(1, 4);
	uint32_t v;
	pid_t pid;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(kc_send_u32(fd, 2, -1) ? KC_FAIL : KC_OK);
	ASSERT_EQ(0, KC_WAIT(fd, send_waiters, 1));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(1, v);
	EXPECT_EQ(-EAGAIN, kc_send_u32(fd, 3, 0));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, -1));
	EXPECT_EQ(2, v);
	EXPECT_EQ(0, kc_reap(pid));
	close(fd);
}

TEST(unbuffered_counters_count_each_transfer_once)
{
	int fd = kc_create(0, 4), i;
	uint32_t v;
	pid_t pid;

	ASSERT_GE(fd, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		for (i = 0; i < 10; i++)
			if (kc_send_u32(fd, i, -1))
				_exit(KC_FAIL);
		_exit(KC_OK);
	}
	for (i = 0; i < 10; i++) {
		ASSERT_EQ(1, kc_recv_u32(fd, &v, -1));
		EXPECT_EQ(i, v);
	}
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(10, KC_INFO(fd, sent));
	EXPECT_EQ(10, KC_INFO(fd, received));
	EXPECT_EQ(0, KC_INFO(fd, len));
	close(fd);
}

/* ---- large messages across processes ---------------------------------------- */

static void big_messages(struct __test_metadata *_metadata, unsigned int cap)
{
	const size_t sz = 65536;
	unsigned char *buf = malloc(sz);
	int fd = kc_create(cap, sz), i;
	size_t len, k;
	pid_t pid;

	ASSERT_NE(NULL, buf);
	ASSERT_GE(fd, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		for (i = 0; i < 16; i++) {
			len = sz - i * 1000;
			for (k = 0; k < len; k++)
				buf[k] = (unsigned char)(k * 7 + i);
			if (kc_send(fd, buf, len, -1))
				_exit(KC_FAIL);
		}
		_exit(KC_OK);
	}
	for (i = 0; i < 16; i++) {
		memset(buf, 0, sz);
		ASSERT_EQ(1, kc_recv(fd, buf, sz, &len, -1));
		ASSERT_EQ(sz - i * 1000, len);
		for (k = 0; k < len; k++)
			if (buf[k] != (unsigned char)(k * 7 + i))
				break;
		ASSERT_EQ(len, k);
	}
	EXPECT_EQ(0, kc_reap(pid));
	free(buf);
	close(fd);
}

TEST(large_messages_unbuffered)
{
	big_messages(_metadata, 0);
}

TEST(large_messages_buffered)
{
	big_messages(_metadata, 4);
}

TEST(many_channels)
{
	int fds[256], i;
	uint32_t v;

	for (i = 0; i < 256; i++) {
		fds[i] = kc_create(1, 4);
		ASSERT_GE(fds[i], 0);
		ASSERT_EQ(0, kc_send_u32(fds[i], i, 0));
	}
	for (i = 0; i < 256; i++) {
		ASSERT_EQ(1, kc_recv_u32(fds[i], &v, 0));
		EXPECT_EQ(i, v);
		close(fds[i]);
	}
}

TEST_HARNESS_MAIN
