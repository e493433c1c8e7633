// SPDX-License-Identifier: GPL-2.0
/*
 * kchan readiness: every poll state of docs/semantics.md for buffered and
 * unbuffered channels and per handle direction, blocking poll wakeups, and
 * epoll level- and edge-triggered.
 *
 *   recv right: IN|RDNORM when a message is buffered, a sender is parked
 *               or the channel is closed; HUP when closed and drained.
 *   send right: OUT|WRNORM when a slot is free or a receiver is parked;
 *               ERR when closed or no recv-capable handle is left.
 */
#include <sys/epoll.h>

#include "kchan_test.h"

#define RIN	(POLLIN | POLLRDNORM)
#define ROUT	(POLLOUT | POLLWRNORM)

/* All revents of a zero-timeout poll (unexpected extra bits fail tests). */
#define rev(fd)	kc_revents(fd)

/* ---- buffered, bidirectional handle ---------------------------------- */

TEST(poll_buffered_empty)
{
	int fd = kc_create(2, 4);

	ASSERT_GE(fd, 0);
	EXPECT_EQ(ROUT, rev(fd));
	close(fd);
}

TEST(poll_buffered_partly_full)
{
	int fd = kc_create(2, 4);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	EXPECT_EQ(RIN | ROUT, rev(fd));
	close(fd);
}

TEST(poll_buffered_full)
{
	int fd = kc_create(2, 4);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	ASSERT_EQ(0, kc_send_u32(fd, 2, 0));
	EXPECT_EQ(RIN, rev(fd));
	close(fd);
}

TEST(poll_buffered_drained_again)
{
	uint32_t v;
	int fd = kc_create(1, 4);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	EXPECT_EQ(RIN, rev(fd));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(ROUT, rev(fd));
	close(fd);
}

TEST(poll_buffered_closed_with_data)
{
	int fd = kc_create(2, 4), r;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	ASSERT_EQ(0, kc_close(fd));
	r = rev(fd);
	ASSERT_GE(r, 0);
	EXPECT_EQ(RIN, r & RIN);
	EXPECT_EQ(POLLERR, r & POLLERR);
	EXPECT_EQ(0, r & POLLHUP);	/* not drained yet */
	close(fd);
}

TEST(poll_buffered_closed_drained)
{
	uint32_t v;
	int fd = kc_create(2, 4), r;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	ASSERT_EQ(0, kc_close(fd));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	r = rev(fd);
	ASSERT_GE(r, 0);
	EXPECT_EQ(RIN | POLLHUP | POLLERR, r & (RIN | POLLHUP | POLLERR));
	close(fd);
}

/* ---- directional handles ----------------------------------------------- */

TEST(poll_recv_only_handle)
{
	int fd = kc_create(2, 4), r;

	ASSERT_GE(fd, 0);
	r = kc_dup(fd, CHAN_RIGHT_RECV);
	ASSERT_GE(r, 0);
	EXPECT_EQ(0, rev(r));		/* free slots are not its business */
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	EXPECT_EQ(RIN, rev(r));
	ASSERT_EQ(0, kc_send_u32(fd, 2, 0));
	EXPECT_EQ(RIN, rev(r));
	close(r);
	close(fd);
}

TEST(poll_send_only_handle)
{
	int fd = kc_create(2, 4), s;

	ASSERT_GE(fd, 0);
	s = kc_dup(fd, CHAN_RIGHT_SEND);
	ASSERT_GE(s, 0);
	EXPECT_EQ(ROUT, rev(s));
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	EXPECT_EQ(ROUT, rev(s));	/* buffered data is not its business */
	ASSERT_EQ(0, kc_send_u32(fd, 2, 0));
	EXPECT_EQ(0, rev(s));
	close(s);
	close(fd);
}

TEST(poll_send_only_closed_err)
{
	int fd = kc_create(2, 4), s, r;

	ASSERT_GE(fd, 0);
	s = kc_dup(fd, CHAN_RIGHT_SEND);
	ASSERT_GE(s, 0);
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	ASSERT_EQ(0, kc_send_u32(fd, 2, 0));
	ASSERT_EQ(0, kc_close(fd));
	r = rev(s);
	ASSERT_GE(r, 0);
	EXPECT_EQ(POLLERR, r & POLLERR);
	EXPECT_EQ(0, r & (RIN | POLLHUP));
	close(s);
	close(fd);
}

TEST(poll_recv_only_closed_drained_hup)
{
	uint32_t v;
	int fd = kc_create(2, 4), r;

	ASSERT_GE(fd, 0);
	r = kc_dup(fd, CHAN_RIGHT_RECV);
	ASSERT_GE(r, 0);
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	ASSERT_EQ(0, kc_close(fd));
	EXPECT_EQ(RIN, rev(r));
	ASSERT_EQ(1, kc_recv_u32(r, &v, 0));
	EXPECT_EQ(RIN | POLLHUP, rev(r));
	close(r);
	close(fd);
}

TEST(poll_send_only_no_receivers_err)
{
	int fd = kc_create(2, 4), s, r;

	ASSERT_GE(fd, 0);
	s = kc_dup(fd, CHAN_RIGHT_SEND);
	ASSERT_GE(s, 0);
	EXPECT_EQ(ROUT, rev(s));
	close(fd);	/* the last recv-capable handle */
	r = rev(s);
	ASSERT_GE(r, 0);
	EXPECT_EQ(POLLERR, r & POLLERR);
	EXPECT_EQ(0, r & (RIN | POLLHUP));
	close(s);
}

/* ---- unbuffered ---------------------------------------------------------- */

TEST(poll_unbuffered_idle)
{
	int fd = kc_create(0, 4);

	ASSERT_GE(fd, 0);
	EXPECT_EQ(0, rev(fd));
	close(fd);
}

TEST(poll_unbuffered_sender_parked)
{
	int fd = kc_create(0, 4), r, s;
	uint32_t v;
	pid_t pid;

	ASSERT_GE(fd, 0);
	r = kc_dup(fd, CHAN_RIGHT_RECV);
	s = kc_dup(fd, CHAN_RIGHT_SEND);
	ASSERT_GE(r, 0);
	ASSERT_GE(s, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(kc_send_u32(fd, 3, -1) ? KC_FAIL : KC_OK);
	ASSERT_EQ(0, KC_WAIT(fd, send_waiters, 1));
	EXPECT_EQ(RIN, rev(fd));
	EXPECT_EQ(RIN, rev(r));
	EXPECT_EQ(0, rev(s));
	ASSERT_EQ(1, kc_recv_u32(r, &v, 0));
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(0, rev(fd));
	close(r);
	close(s);
	close(fd);
}

TEST(poll_unbuffered_receiver_parked)
{
	int fd = kc_create(0, 4), r, s;
	pid_t pid;

	ASSERT_GE(fd, 0);
	r = kc_dup(fd, CHAN_RIGHT_RECV);
	s = kc_dup(fd, CHAN_RIGHT_SEND);
	ASSERT_GE(r, 0);
	ASSERT_GE(s, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		uint32_t v;

		_exit(kc_recv_u32(fd, &v, -1) == 1 ? KC_OK : KC_FAIL);
	}
	ASSERT_EQ(0, KC_WAIT(fd, recv_waiters, 1));
	EXPECT_EQ(ROUT, rev(fd));
	EXPECT_EQ(ROUT, rev(s));
	EXPECT_EQ(0, rev(r));
	ASSERT_EQ(0, kc_send_u32(s, 1, 0));
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(0, rev(fd));
	close(r);
	close(s);
	close(fd);
}

TEST(poll_unbuffered_closed)
{
	int fd = kc_create(0, 4), r;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_close(fd));
	r = rev(fd);
	ASSERT_GE(r, 0);
	EXPECT_EQ(RIN | POLLHUP | POLLERR, r & (RIN | POLLHUP | POLLERR));
	close(fd);
}

TEST(poll_unbuffered_closed_per_direction)
{
	int fd = kc_create(0, 4), s, r, ev;

	ASSERT_GE(fd, 0);
	s = kc_dup(fd, CHAN_RIGHT_SEND);
	r = kc_dup(fd, CHAN_RIGHT_RECV);
	ASSERT_GE(s, 0);
	ASSERT_GE(r, 0);
	EXPECT_EQ(0, rev(s));
	EXPECT_EQ(0, rev(r));
	ASSERT_EQ(0, kc_close(s));
	EXPECT_EQ(RIN | POLLHUP, rev(r));
	ev = rev(s);
	ASSERT_GE(ev, 0);
	EXPECT_EQ(POLLERR, ev & (POLLERR | RIN | POLLHUP));
	close(s);
	close(r);
	close(fd);
}

TEST(poll_unbuffered_no_receivers_err)
{
	int fd = kc_create(0, 4), s, ev;

	ASSERT_GE(fd, 0);
	s = kc_dup(fd, CHAN_RIGHT_SEND);
	ASSERT_GE(s, 0);
	EXPECT_EQ(0, rev(s));
	close(fd);
	ev = rev(s);
	ASSERT_GE(ev, 0);
	EXPECT_EQ(POLLERR, ev & (POLLERR | RIN | POLLHUP));
	close(s);
}

/* ---- blocking poll is woken by the other side ------------------------ */

static int poll_wait(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	do {
		r = poll(&p, 1, ms);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : (r == 0 ? 0 : p.revents);
}

TEST(poll_woken_by_send)
{
	int fd = kc_create(2, 4);
	pid_t parent = getpid(), pid;

	ASSERT_GE(fd, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (kc_wait_sleeping(parent))
			_exit(KC_FAIL);
		_exit(kc_send_u32(fd, 1, 0) ? KC_FAIL : KC_OK);
	}
	EXPECT_EQ(RIN, poll_wait(fd, POLLIN | POLLRDNORM, KC_WAIT_MS));
	EXPECT_EQ(0, kc_reap(pid));
	close(fd);
}

TEST(poll_woken_by_room)
{
	int fd = kc_create(1, 4);
	pid_t parent = getpid(), pid;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		uint32_t v;

		if (kc_wait_sleeping(parent))
			_exit(KC_FAIL);
		_exit(kc_recv_u32(fd, &v, 0) == 1 ? KC_OK : KC_FAIL);
	}
	EXPECT_EQ(ROUT, poll_wait(fd, POLLOUT | POLLWRNORM, KC_WAIT_MS));
	EXPECT_EQ(0, kc_reap(pid));
	close(fd);
}

TEST(poll_woken_by_close)
{
	int fd = kc_create(1, 4), r;
	pid_t parent = getpid(), pid;

	ASSERT_GE(fd, 0);
	r = kc_dup(fd, CHAN_RIGHT_RECV);
	ASSERT_GE(r, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (kc_wait_sleeping(parent))
			_exit(KC_FAIL);
		_exit(kc_close(fd) ? KC_FAIL : KC_OK);
	}
	EXPECT_EQ(RIN | POLLHUP, poll_wait(r, POLLIN | POLLRDNORM, KC_WAIT_MS));
	EXPECT_EQ(0, kc_reap(pid));
	close(r);
	close(fd);
}

TEST(poll_woken_by_parked_sender_unbuffered)
{
	int fd = kc_create(0, 4);
	pid_t parent = getpid(), pid;
	uint32_t v;

	ASSERT_GE(fd, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (kc_wait_sleeping(parent))
			_exit(KC_FAIL);
		_exit(kc_send_u32(fd, 8, -1) ? KC_FAIL : KC_OK);
	}
	EXPECT_EQ(RIN, poll_wait(fd, POLLIN | POLLRDNORM, KC_WAIT_MS));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(8, v);
	EXPECT_EQ(0, kc_reap(pid));
	close(fd);
}

TEST(poll_woken_by_parked_receiver_unbuffered)
{
	int fd = kc_create(0, 4);
	pid_t parent = getpid(), pid;

	ASSERT_GE(fd, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		uint32_t v;

		if (kc_wait_sleeping(parent))
			_exit(KC_FAIL);
		_exit(kc_recv_u32(fd, &v, -1) == 1 && v == 4 ? KC_OK : KC_FAIL);
	}
	EXPECT_EQ(ROUT, poll_wait(fd, POLLOUT | POLLWRNORM, KC_WAIT_MS));
	ASSERT_EQ(0, kc_send_u32(fd, 4, 0));
	EXPECT_EQ(0, kc_reap(pid));
	close(fd);
}

/* ---- epoll ------------------------------------------------------------------ */

static int ep_add(int ep, int fd, uint32_t events, uint32_t tag)
{
	struct epoll_event ev = { .events = events, .data.u32 = tag };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* Number of events ready now; the first one in *ev. */
static int ep_now(int ep, struct epoll_event *ev)
{
	struct epoll_event evs[8], dummy;

	int n = epoll_wait(ep, evs, 8, 0);

	if (n > 0)
		*(ev ? ev : &dummy) = evs[0];
	return n < 0 ? -errno : n;
}

TEST(epoll_level_triggered)
{
	struct epoll_event ev;
	uint32_t v;
	int fd = kc_create(4, 4), ep = epoll_create1(EPOLL_CLOEXEC);

	ASSERT_GE(fd, 0);
	ASSERT_GE(ep, 0);
	ASSERT_EQ(0, ep_add(ep, fd, EPOLLIN, 1));
	EXPECT_EQ(0, ep_now(ep, NULL));
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	ASSERT_EQ(0, kc_send_u32(fd, 2, 0));
	/* Level-triggered: reported again and again while data is there. */
	ASSERT_EQ(1, ep_now(ep, &ev));
	EXPECT_EQ(EPOLLIN, ev.events & (EPOLLIN | EPOLLHUP | EPOLLERR));
	EXPECT_EQ(1, ev.data.u32);
	EXPECT_EQ(1, ep_now(ep, NULL));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(1, ep_now(ep, NULL));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(0, ep_now(ep, NULL));
	close(ep);
	close(fd);
}

TEST(epoll_level_triggered_out)
{
	struct epoll_event ev;
	uint32_t v;
	int fd = kc_create(1, 4), ep = epoll_create1(EPOLL_CLOEXEC);

	ASSERT_GE(fd, 0);
	ASSERT_GE(ep, 0);
	ASSERT_EQ(0, ep_add(ep, fd, EPOLLOUT, 2));
	ASSERT_EQ(1, ep_now(ep, &ev));
	EXPECT_EQ(EPOLLOUT, ev.events);
	EXPECT_EQ(1, ep_now(ep, NULL));
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	EXPECT_EQ(0, ep_now(ep, NULL));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(1, ep_now(ep, NULL));
	close(ep);
	close(fd);
}

TEST(epoll_edge_triggered_one_event_per_message)
{
	struct epoll_event ev;
	uint32_t v;
	int fd = kc_create(8, 4), ep = epoll_create1(EPOLL_CLOEXEC), i;

	ASSERT_GE(fd, 0);
	ASSERT_GE(ep, 0);
	ASSERT_EQ(0, ep_add(ep, fd, EPOLLIN | EPOLLET, 3));
	EXPECT_EQ(0, ep_now(ep, NULL));
	for (i = 0; i < 3; i++) {
		/* Each new message is a new edge, drained or not. */
		ASSERT_EQ(0, kc_send_u32(fd, i, 0));
		ASSERT_EQ(1, ep_now(ep, &ev));
		EXPECT_EQ(EPOLLIN, ev.events & EPOLLIN);
		EXPECT_EQ(3, ev.data.u32);
		EXPECT_EQ(0, ep_now(ep, NULL));
	}
	/* Receiving is not a new message: no event for the recv side. */
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(0, ep_now(ep, NULL));
	close(ep);
	close(fd);
}

TEST(epoll_edge_triggered_rearm_after_drain)
{
	uint32_t v;
	int fd = kc_create(4, 4), ep = epoll_create1(EPOLL_CLOEXEC);

	ASSERT_GE(fd, 0);
	ASSERT_GE(ep, 0);
	ASSERT_EQ(0, ep_add(ep, fd, EPOLLIN | EPOLLET, 4));
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	ASSERT_EQ(0, kc_send_u32(fd, 2, 0));
	EXPECT_EQ(1, ep_now(ep, NULL));
	EXPECT_EQ(0, ep_now(ep, NULL));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(-EAGAIN, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(0, ep_now(ep, NULL));
	ASSERT_EQ(0, kc_send_u32(fd, 3, 0));
	EXPECT_EQ(1, ep_now(ep, NULL));
	EXPECT_EQ(0, ep_now(ep, NULL));
	close(ep);
	close(fd);
}

TEST(epoll_edge_triggered_out)
{
	uint32_t v;
	int fd = kc_create(2, 4), ep = epoll_create1(EPOLL_CLOEXEC);

	ASSERT_GE(fd, 0);
	ASSERT_GE(ep, 0);
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	ASSERT_EQ(0, kc_send_u32(fd, 2, 0));
	ASSERT_EQ(0, ep_add(ep, fd, EPOLLOUT | EPOLLET, 5));
	EXPECT_EQ(0, ep_now(ep, NULL));		/* full */
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(1, ep_now(ep, NULL));
	EXPECT_EQ(0, ep_now(ep, NULL));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(1, ep_now(ep, NULL));
	EXPECT_EQ(0, ep_now(ep, NULL));
	close(ep);
	close(fd);
}

TEST(epoll_edge_triggered_unbuffered_sender_parks)
{
	struct epoll_event ev;
	int fd = kc_create(0, 4), ep = epoll_create1(EPOLL_CLOEXEC);
	uint32_t v;
	pid_t pid;

	ASSERT_GE(fd, 0);
	ASSERT_GE(ep, 0);
	ASSERT_EQ(0, ep_add(ep, fd, EPOLLIN | EPOLLET, 6));
	EXPECT_EQ(0, ep_now(ep, NULL));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(kc_send_u32(fd, 5, -1) ? KC_FAIL : KC_OK);
	ASSERT_EQ(0, KC_WAIT(fd, send_waiters, 1));
	ASSERT_EQ(1, ep_now(ep, &ev));
	EXPECT_EQ(EPOLLIN, ev.events & EPOLLIN);
	EXPECT_EQ(0, ep_now(ep, NULL));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(0, kc_reap(pid));
	close(ep);
	close(fd);
}

TEST(epoll_hup_after_closed_and_drained)
{
	struct epoll_event ev;
	uint32_t v;
	int fd = kc_create(2, 4), r, ep = epoll_create1(EPOLL_CLOEXEC);

	ASSERT_GE(fd, 0);
	ASSERT_GE(ep, 0);
	r = kc_dup(fd, CHAN_RIGHT_RECV);
	ASSERT_GE(r, 0);
	ASSERT_EQ(0, ep_add(ep, r, EPOLLIN, 7));
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	ASSERT_EQ(0, kc_close(fd));
	ASSERT_EQ(1, ep_now(ep, &ev));
	EXPECT_EQ(EPOLLIN, ev.events & (EPOLLIN | EPOLLHUP));
	ASSERT_EQ(1, kc_recv_u32(r, &v, 0));
	ASSERT_EQ(1, ep_now(ep, &ev));
	EXPECT_EQ(EPOLLIN | EPOLLHUP, ev.events & (EPOLLIN | EPOLLHUP | EPOLLERR));
	close(r);
	close(ep);
	close(fd);
}

TEST(epoll_edge_triggered_hup_on_close)
{
	struct epoll_event ev;
	int fd = kc_create(2, 4), r, ep = epoll_create1(EPOLL_CLOEXEC);

	ASSERT_GE(fd, 0);
	ASSERT_GE(ep, 0);
	r = kc_dup(fd, CHAN_RIGHT_RECV);
	ASSERT_GE(r, 0);
	ASSERT_EQ(0, ep_add(ep, r, EPOLLIN | EPOLLET, 8));
	EXPECT_EQ(0, ep_now(ep, NULL));
	close(fd);	/* last sender gone: closed */
	ASSERT_EQ(1, ep_now(ep, &ev));
	EXPECT_EQ(EPOLLIN | EPOLLHUP, ev.events & (EPOLLIN | EPOLLHUP));
	EXPECT_EQ(0, ep_now(ep, NULL));
	close(r);
	close(ep);
}

TEST(epoll_err_send_side_after_close)
{
	struct epoll_event ev;
	int fd = kc_create(1, 4), s, ep = epoll_create1(EPOLL_CLOEXEC);

	ASSERT_GE(fd, 0);
	ASSERT_GE(ep, 0);
	s = kc_dup(fd, CHAN_RIGHT_SEND);
	ASSERT_GE(s, 0);
	ASSERT_EQ(0, kc_send_u32(s, 1, 0));
	ASSERT_EQ(0, ep_add(ep, s, EPOLLOUT, 9));
	EXPECT_EQ(0, ep_now(ep, NULL));
	ASSERT_EQ(0, kc_close(s));
	ASSERT_EQ(1, ep_now(ep, &ev));
	EXPECT_EQ(EPOLLERR, ev.events & (EPOLLERR | EPOLLHUP | EPOLLIN));
	close(s);
	close(ep);
	close(fd);
}

TEST(epoll_err_send_side_no_receivers)
{
	struct epoll_event ev;
	int fd = kc_create(1, 4), s, ep = epoll_create1(EPOLL_CLOEXEC);

	ASSERT_GE(fd, 0);
	ASSERT_GE(ep, 0);
	s = kc_dup(fd, CHAN_RIGHT_SEND);
	ASSERT_GE(s, 0);
	ASSERT_EQ(0, kc_send_u32(s, 1, 0));
	ASSERT_EQ(0, ep_add(ep, s, EPOLLOUT | EPOLLET, 10));
	EXPECT_EQ(0, ep_now(ep, NULL));
	close(fd);	/* the last recv-capable handle */
	ASSERT_EQ(1, ep_now(ep, &ev));
	EXPECT_EQ(EPOLLERR, ev.events & EPOLLERR);
	EXPECT_EQ(-EPIPE, kc_send_u32(s, 2, 0));
	close(s);
	close(ep);
}

TEST(epoll_many_channels_reports_the_ready_one)
{
	struct epoll_event ev;
	int fds[3], ep = epoll_create1(EPOLL_CLOEXEC), i;

	ASSERT_GE(ep, 0);
	for (i = 0; i < 3; i++) {
		fds[i] = kc_create(1, 4);
		ASSERT_GE(fds[i], 0);
		ASSERT_EQ(0, ep_add(ep, fds[i], EPOLLIN, 100 + i));
	}
	EXPECT_EQ(0, ep_now(ep, NULL));
	ASSERT_EQ(0, kc_send_u32(fds[1], 1, 0));
	ASSERT_EQ(1, ep_now(ep, &ev));
	EXPECT_EQ(101, ev.data.u32);
	for (i = 0; i < 3; i++)
		close(fds[i]);
	close(ep);
}

TEST(epoll_waiter_in_other_process_woken_by_send)
{
	int fd = kc_create(1, 4), p[2];
	pid_t pid;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, pipe(p));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct epoll_event ev = { .events = EPOLLIN };
		int ep = epoll_create1(0), n;
		uint32_t v;

		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
			_exit(KC_FAIL);
		kc_pipe_put(p[1]);
		do {
			n = epoll_wait(ep, &ev, 1, -1);
		} while (n < 0 && errno == EINTR);
		if (n != 1 || !(ev.events & EPOLLIN))
			_exit(KC_FAIL);
		_exit(kc_recv_u32(fd, &v, 0) == 1 && v == 21 ? KC_OK : KC_FAIL);
	}
	ASSERT_EQ(1, kc_pipe_get(p[0]));
	/* Its only blocking call left is epoll_wait. */
	ASSERT_EQ(0, kc_wait_sleeping(pid));
	ASSERT_EQ(0, kc_send_u32(fd, 21, 0));
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(0, KC_INFO(fd, len));
	close(fd);
}

TEST(epoll_oneshot_rearm)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT };
	int fd = kc_create(4, 4), ep = epoll_create1(EPOLL_CLOEXEC);

	ASSERT_GE(fd, 0);
	ASSERT_GE(ep, 0);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	EXPECT_EQ(1, ep_now(ep, NULL));
	ASSERT_EQ(0, kc_send_u32(fd, 2, 0));
	EXPECT_EQ(0, ep_now(ep, NULL));
	ev.events = EPOLLIN | EPOLLONESHOT;
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev));
	EXPECT_EQ(1, ep_now(ep, NULL));
	close(ep);
	close(fd);
}

TEST(epoll_edge_triggered_unbuffered_receiver_parks)
{
	struct epoll_event ev;
	int fd = kc_create(0, 4), s, ep = epoll_create1(EPOLL_CLOEXEC);
	pid_t pid;

	ASSERT_GE(fd, 0);
	ASSERT_GE(ep, 0);
	s = kc_dup(fd, CHAN_RIGHT_SEND);
	ASSERT_GE(s, 0);
	ASSERT_EQ(0, ep_add(ep, s, EPOLLIN | EPOLLOUT | EPOLLET, 11));
	EXPECT_EQ(0, ep_now(ep, NULL));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		uint32_t v;

		_exit(kc_recv_u32(fd, &v, -1) == 1 && v == 2 ? KC_OK : KC_FAIL);
	}
	ASSERT_EQ(0, KC_WAIT(fd, recv_waiters, 1));
	ASSERT_EQ(1, ep_now(ep, &ev));
	EXPECT_EQ(EPOLLOUT, ev.events);	/* send-only: never EPOLLIN */
	EXPECT_EQ(0, ep_now(ep, NULL));
	ASSERT_EQ(0, kc_send_u32(s, 2, 0));
	EXPECT_EQ(0, kc_reap(pid));
	close(s);
	close(ep);
	close(fd);
}

TEST(epoll_recv_only_handle_never_reports_out)
{
	struct epoll_event ev;
	int fd = kc_create(2, 4), r, ep = epoll_create1(EPOLL_CLOEXEC);

	ASSERT_GE(fd, 0);
	ASSERT_GE(ep, 0);
	r = kc_dup(fd, CHAN_RIGHT_RECV);
	ASSERT_GE(r, 0);
	ASSERT_EQ(0, ep_add(ep, r, EPOLLIN | EPOLLOUT, 12));
	EXPECT_EQ(0, ep_now(ep, NULL));		/* empty, slots free */
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	ASSERT_EQ(1, ep_now(ep, &ev));
	EXPECT_EQ(EPOLLIN, ev.events);	/* RDNORM not asked for */
	close(r);
	close(ep);
	close(fd);
}

TEST_HARNESS_MAIN
