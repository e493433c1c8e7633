// SPDX-License-Identifier: GPL-2.0
/*
 * CHAN_IOC_CALL: a send then a receive in one system call. Round trips and
 * a server loop (call(reply, request)) across processes, one timeout for
 * both halves, a signal between the halves (sent reported, the request
 * never duplicated, restart), closed channels, rights, bad input; and the
 * copy path of messages above the on-stack size: large messages, put-back
 * on a bad buffer, order and integrity under concurrent senders and
 * receivers.
 *
 * Orderings use INFO's waiter counts, /proc state and shared counters,
 * never sleeps.
 */
#include "kchan_test.h"

#include <pthread.h>

/* What a server answers to request x. */
static uint64_t f(uint64_t x)
{
	return x * 3 + 1;
}

static int call(struct chan_call *c)
{
	return kc_call_on(c->send_fd, c);
}

/* Server: the first request by recv, then call(reply, request) until closed. */
static int serve(int req, int rep, long *served)
{
	struct chan_call c;
	uint64_t x, y;
	size_t len = 0;
	int r;

	r = kc_recv(req, &x, sizeof(x), &len, -1);
	while (r == 1) {
		if (len != sizeof(x))
			return 2;
		y = f(x);
		(*served)++;
		kc_call_init(&c, rep, &y, sizeof(y), req, &x, sizeof(x), -1);
		r = call(&c);
		if (r)
			return 3;
		if (!c.sent)
			return 4;
		len = c.recv_len;
		r = c.ok ? 1 : 0;
	}
	return r == 0 ? 0 : 5;
}

static void pingpong(struct __test_metadata *_metadata, unsigned int cap)
{
	int req = kc_create(cap, 8), rep = kc_create(cap, 8);
	long served = 0;
	struct chan_call c;
	uint64_t x, y;
	pid_t pid;
	int i;

	ASSERT_GE(req, 0);
	ASSERT_GE(rep, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(serve(req, rep, &served) || served != 1000 ? 1 : 0);
	for (i = 0; i < 1000; i++) {
		x = i;
		y = 0;
		kc_call_init(&c, req, &x, sizeof(x), rep, &y, sizeof(y), -1);
		ASSERT_EQ(0, call(&c));
		ASSERT_EQ(1, c.sent);
		ASSERT_EQ(1, c.ok);
		ASSERT_EQ(sizeof(y), c.recv_len);
		ASSERT_EQ(f(i), y);
	}
	ASSERT_EQ(0, ioctl(req, CHAN_IOC_CLOSE));
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(1000, KC_INFO(req, received));
	EXPECT_EQ(1000, KC_INFO(rep, received));
	close(req);
	close(rep);
}

TEST(pingpong_unbuffered_processes)
{
	pingpong(_metadata, 0);
}

TEST(pingpong_buffered_processes)
{
	pingpong(_metadata, 4);
}

/* Several client processes, one server looping on call(reply_i, request). */
#define NCLIENTS	3
#define NCALLS		200

TEST(server_loop_many_clients)
{
	int req = kc_create(0, 16), rep[NCLIENTS];
	pid_t srv, cl[NCLIENTS];
	int i, k;

	ASSERT_GE(req, 0);
	for (k = 0; k < NCLIENTS; k++)
		ASSERT_LE(0, rep[k] = kc_create(0, 8));
	srv = kc_fork();
	ASSERT_GE(srv, 0);
	if (srv == 0) {
		uint64_t in[2], y;
		struct chan_call c;
		long served = 0;
		size_t len = 0;
		int r = kc_recv(req, in, sizeof(in), &len, -1);

		while (r == 1) {
			if (len != sizeof(in) || in[0] >= NCLIENTS)
				_exit(2);
			y = f(in[1]);
			served++;
			kc_call_init(&c, rep[in[0]], &y, sizeof(y), req, in,
				     sizeof(in), -1);
			if (call(&c) || !c.sent)
				_exit(3);
			len = c.recv_len;
			r = c.ok;
		}
		_exit(r == 0 && served == NCLIENTS * NCALLS ? 0 : 4);
	}
	for (k = 0; k < NCLIENTS; k++) {
		cl[k] = kc_fork();
		ASSERT_GE(cl[k], 0);
		if (cl[k] == 0) {
			for (i = 0; i < NCALLS; i++) {
				uint64_t in[2] = { k, k * 1000 + i }, y = 0;
				struct chan_call c;

				kc_call_init(&c, req, in, sizeof(in), rep[k],
					     &y, sizeof(y), -1);
				if (call(&c) || !c.ok || y != f(in[1]))
					_exit(1);
			}
			_exit(0);
		}
	}
	for (k = 0; k < NCLIENTS; k++)
		EXPECT_EQ(0, kc_reap(cl[k]));
	ASSERT_EQ(0, ioctl(req, CHAN_IOC_CLOSE));
	EXPECT_EQ(0, kc_reap(srv));
}

/* Issued on /dev/chan, or on a channel fd that is neither of the two. */
TEST(issued_on_dev_or_other_channel)
{
	int dev = kc_devfd(), a = kc_create(1, 4), b = kc_create(1, 4);
	int other = kc_create(0, 0);
	uint32_t v = 7, w = 0;
	struct chan_call c;

	ASSERT_GE(dev, 0);
	ASSERT_GE(other, 0);
	ASSERT_EQ(0, kc_send_u32(b, 9, 0));
	kc_call_init(&c, a, &v, 4, b, &w, 4, 0);
	ASSERT_EQ(0, kc_call_on(dev, &c));
	EXPECT_EQ(9, w);
	ASSERT_EQ(0, kc_send_u32(b, 10, 0));
	ASSERT_EQ(1, kc_recv_u32(a, &w, 0));
	EXPECT_EQ(7, w);
	kc_call_init(&c, a, &v, 4, b, &w, 4, 0);
	ASSERT_EQ(0, kc_call_on(other, &c));
	EXPECT_EQ(10, w);
	EXPECT_EQ(1, KC_INFO(a, len));
	close(dev);
	close(a);
	close(b);
	close(other);
}

/* ---- one timeout for both halves ---- */

/* The send went in, nobody replies: ETIMEDOUT with sent 1, message kept. */
TEST(timeout_in_recv_half)
{
	int a = kc_create(1, 4), b = kc_create(1, 4);
	uint32_t v = 5, w;
	struct chan_call c;

	kc_call_init(&c, a, &v, 4, b, &w, 4, 20 * 1000 * 1000);
	EXPECT_EQ(-ETIMEDOUT, call(&c));
	EXPECT_EQ(1, c.sent);
	EXPECT_EQ(1, KC_INFO(a, len));
	EXPECT_EQ(0, KC_INFO(b, recv_waiters));
	/* timeout 0: neither half waits */
	ASSERT_EQ(1, kc_recv_u32(a, &w, 0));
	kc_call_init(&c, a, &v, 4, b, &w, 4, 0);
	EXPECT_EQ(-EAGAIN, call(&c));
	EXPECT_EQ(1, c.sent);
	EXPECT_EQ(1, KC_INFO(a, len));
	close(a);
	close(b);
}

/* The send never goes in: ETIMEDOUT (or EAGAIN) with sent 0, nothing moved. */
TEST(timeout_in_send_half)
{
	int a = kc_create(0, 4), b = kc_create(1, 4);
	uint32_t v = 5, w;
	struct chan_call c;

	ASSERT_EQ(0, kc_send_u32(b, 1, 0));
	kc_call_init(&c, a, &v, 4, b, &w, 4, 20 * 1000 * 1000);
	EXPECT_EQ(-ETIMEDOUT, call(&c));
	EXPECT_EQ(0, c.sent);
	EXPECT_EQ(0, KC_INFO(a, send_waiters));
	EXPECT_EQ(1, KC_INFO(b, len));	/* the receive never ran */
	kc_call_init(&c, a, &v, 4, b, &w, 4, 0);
	EXPECT_EQ(-EAGAIN, call(&c));
	EXPECT_EQ(0, c.sent);
	EXPECT_EQ(1, KC_INFO(b, len));
	close(a);
	close(b);
}

/*
 * One deadline: a send half that waits uses up part of the timeout. The
 * receiver takes the request only once the caller is parked, so when the
 * receive half starts some of the timeout is gone; a signal in the receive
 * half writes back the time left, which must be below the original.
 */
TEST(one_deadline_for_both_halves)
{
	int a = kc_create(0, 4), b = kc_create(1, 4);
	int64_t t = 20LL * 1000 * 1000 * 1000;
	pid_t parent = getpid(), pid;
	uint32_t v = 5, w;
	struct chan_call c;

	kc_hits = kc_shared(4096);
	ASSERT_NE(NULL, kc_hits);
	ASSERT_EQ(0, kc_sigaction(SIGUSR1, kc_on_usr1, 0));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (KC_WAIT(a, send_waiters, 1) || kc_recv_u32(a, &w, -1) != 1)
			_exit(1);
		if (KC_WAIT(b, recv_waiters, 1))
			_exit(2);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	kc_call_init(&c, a, &v, 4, b, &w, 4, t);
	EXPECT_EQ(-EINTR, call(&c));
	EXPECT_EQ(1, c.sent);
	EXPECT_GT(c.timeout_ns, 0);
	EXPECT_LT(c.timeout_ns, t);
	EXPECT_EQ(0, kc_reap(pid));
	close(a);
	close(b);
}

/* ---- a signal between the halves ---- */

/*
 * The request is in (a buffered channel), the caller waits for the reply;
 * a child takes the request, signals the caller and replies only once the
 * caller is parked again. Without SA_RESTART: EINTR with sent 1, and
 * issuing the same struct again only receives. With SA_RESTART the kernel
 * does that itself. Either way the request channel saw one message.
 */
static void signal_between(struct __test_metadata *_metadata, int restart)
{
	int req = kc_create(4, 4), rep = kc_create(4, 4);
	pid_t parent = getpid(), pid;
	uint32_t v = 77, w = 0;
	struct chan_call c;

	kc_hits = kc_shared(4096);
	ASSERT_NE(NULL, kc_hits);
	ASSERT_EQ(0, kc_sigaction(SIGUSR1, kc_on_usr1, restart));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		uint32_t x;

		if (kc_recv_u32(req, &x, -1) != 1 || x != 77)
			_exit(1);
		if (KC_WAIT(rep, recv_waiters, 1))
			_exit(2);
		kill(parent, SIGUSR1);
		if (kc_wait_hits(1) || KC_WAIT(rep, recv_waiters, 1))
			_exit(3);
		if (kc_send_u32(rep, x + 1, -1))
			_exit(4);
		_exit(0);
	}
	kc_call_init(&c, req, &v, 4, rep, &w, 4, -1);
	if (restart) {
		EXPECT_EQ(0, call(&c));
	} else {
		EXPECT_EQ(-EINTR, call(&c));
		EXPECT_EQ(1, c.sent);
		EXPECT_EQ(0, c.ok);
		EXPECT_EQ(0, w);
		/* the same struct again: the send is skipped */
		EXPECT_EQ(0, call(&c));
	}
	EXPECT_EQ(1, c.sent);
	EXPECT_EQ(1, c.ok);
	EXPECT_EQ(78, w);
	EXPECT_EQ(1, *kc_hits);
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(1, KC_INFO(req, sent));	/* not duplicated */
	EXPECT_EQ(0, KC_INFO(req, len));
	close(req);
	close(rep);
}

TEST(signal_between_halves_eintr)
{
	signal_between(_metadata, 0);
}

TEST(signal_between_halves_sa_restart)
{
	signal_between(_metadata, 1);
}

/* A signal while the send half waits: EINTR with sent 0, nothing sent. */
TEST(signal_in_send_half)
{
	int req = kc_create(0, 4), rep = kc_create(1, 4);
	pid_t parent = getpid(), pid;
	uint32_t v = 1, w;
	struct chan_call c;

	kc_hits = kc_shared(4096);
	ASSERT_NE(NULL, kc_hits);
	ASSERT_EQ(0, kc_sigaction(SIGUSR1, kc_on_usr1, 0));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (KC_WAIT(req, send_waiters, 1))
			_exit(1);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	kc_call_init(&c, req, &v, 4, rep, &w, 4, -1);
	EXPECT_EQ(-EINTR, call(&c));
	EXPECT_EQ(0, c.sent);
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(0, KC_INFO(req, sent));
	EXPECT_EQ(0, KC_INFO(req, send_waiters));
	close(req);
	close(rep);
}

/* ---- closed channels, rights ---- */

TEST(closed_send_channel_epipe)
{
	int a = kc_create(1, 4), b = kc_create(1, 4);
	uint32_t v = 1, w;
	struct chan_call c;

	ASSERT_EQ(0, kc_send_u32(b, 2, 0));
	ASSERT_EQ(0, ioctl(a, CHAN_IOC_CLOSE));
	kc_call_init(&c, a, &v, 4, b, &w, 4, -1);
	EXPECT_EQ(-EPIPE, call(&c));
	EXPECT_EQ(0, c.sent);
	EXPECT_EQ(1, KC_INFO(b, len));	/* the receive never ran */
	close(a);
	close(b);
}

TEST(closed_recv_channel_reports_closed)
{
	int a = kc_create(1, 4), b = kc_create(1, 4);
	uint32_t v = 1, w = 0;
	struct chan_call c;

	ASSERT_EQ(0, ioctl(b, CHAN_IOC_CLOSE));
	kc_call_init(&c, a, &v, 4, b, &w, 4, -1);
	EXPECT_EQ(0, call(&c));
	EXPECT_EQ(1, c.sent);
	EXPECT_EQ(0, c.ok);
	EXPECT_EQ(0, c.recv_len);
	EXPECT_EQ(1, KC_INFO(a, len));	/* the send did happen */
	close(a);
	close(b);
}

TEST(wrong_rights_ebadf)
{
	int a = kc_create(1, 4), b = kc_create(1, 4);
	int a_recv = kc_dup(a, CHAN_RIGHT_RECV);
	int b_send = kc_dup(b, CHAN_RIGHT_SEND);
	uint32_t v = 1, w;
	struct chan_call c;

	ASSERT_GE(a_recv, 0);
	ASSERT_GE(b_send, 0);
	ASSERT_EQ(0, kc_send_u32(b, 2, 0));
	kc_call_init(&c, a_recv, &v, 4, b, &w, 4, -1);
	EXPECT_EQ(-EBADF, call(&c));
	kc_call_init(&c, a, &v, 4, b_send, &w, 4, -1);
	EXPECT_EQ(-EBADF, call(&c));
	EXPECT_EQ(0, c.sent);
	EXPECT_EQ(0, KC_INFO(a, len));
	EXPECT_EQ(1, KC_INFO(b, len));
	close(a_recv);
	close(b_send);
	close(a);
	close(b);
}

/* ---- bad input ---- */

TEST(bad_struct)
{
	int a = kc_create(1, 4), b = kc_create(1, 4);
	char big[sizeof(struct chan_call) + 8];
	uint32_t v = 1, w;
	struct chan_call c, *cp;
	void *none = kc_page_none();

	ASSERT_NE(NULL, none);
	kc_call_init(&c, a, &v, 4, b, &w, 4, 0);
	c.size = CHAN_CALL_SIZE_VER0 - 8;
	EXPECT_EQ(-EINVAL, call(&c));
	c.size = kc_page() + 8;
	EXPECT_EQ(-E2BIG, call(&c));
	kc_call_init(&c, a, &v, 4, b, &w, 4, 0);
	c.flags = 1;
	EXPECT_EQ(-EINVAL, call(&c));
	kc_call_init(&c, a, &v, 4, b, &w, 4, 0);
	c.reserved = 1;
	EXPECT_EQ(-EINVAL, call(&c));
	kc_call_init(&c, a, &v, 4, b, &w, 4, 0);
	c.sent = 2;
	EXPECT_EQ(-EINVAL, call(&c));
	/* a longer struct: zero tail accepted, anything else E2BIG */
	memset(big, 0, sizeof(big));
	kc_call_init(&c, a, &v, 4, b, &w, 4, 0);
	c.size = sizeof(big);
	memcpy(big, &c, sizeof(c));
	EXPECT_EQ(-EAGAIN, kc_call_on(a, (struct chan_call *)big));
	EXPECT_EQ(1, KC_INFO(a, len));
	big[sizeof(big) - 1] = 1;
	EXPECT_EQ(-E2BIG, kc_call_on(a, (struct chan_call *)big));
	/* the struct unmapped, or read-only: nothing sent */
	EXPECT_EQ(-EFAULT, kc_call_on(a, none));
	cp = mmap(NULL, kc_page(), PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, cp);
	ASSERT_EQ(1, kc_recv_u32(a, &w, 0));
	kc_call_init(cp, a, &v, 4, b, &w, 4, 0);
	ASSERT_EQ(0, mprotect(cp, kc_page(), PROT_READ));
	EXPECT_EQ(-EFAULT, kc_call_on(a, cp));
	EXPECT_EQ(0, KC_INFO(a, len));
	munmap(cp, kc_page());
	munmap(none, kc_page());
	close(a);
	close(b);
}

TEST(bad_fds)
{
	int a = kc_create(1, 4), b = kc_create(1, 4), p[2];
	int a2 = kc_dup(a, CHAN_RIGHT_BOTH);
	int fp = kc_create_flags(1, 4, CHAN_FDPASS);
	uint32_t v = 1, w;
	struct chan_call c;

	ASSERT_EQ(0, pipe(p));
	ASSERT_GE(a2, 0);
	ASSERT_GE(fp, 0);
	kc_call_init(&c, a, &v, 4, -1, &w, 4, 0);
	EXPECT_EQ(-EBADF, call(&c));
	kc_call_init(&c, a, &v, 4, p[0], &w, 4, 0);
	EXPECT_EQ(-EBADF, call(&c));
	kc_call_init(&c, p[1], &v, 4, b, &w, 4, 0);
	EXPECT_EQ(-EBADF, kc_call_on(a, &c));
	kc_call_init(&c, a, &v, 4, 1000, &w, 4, 0);
	EXPECT_EQ(-EBADF, call(&c));
	kc_call_init(&c, a, &v, 4, a, &w, 4, 0);
	EXPECT_EQ(-EINVAL, call(&c));	/* same fd */
	kc_call_init(&c, a, &v, 4, a2, &w, 4, 0);
	EXPECT_EQ(-EINVAL, call(&c));	/* same channel */
	kc_call_init(&c, fp, &v, 4, b, &w, 4, 0);
	EXPECT_EQ(-EINVAL, call(&c));	/* CHAN_FDPASS */
	kc_call_init(&c, a, &v, 4, fp, &w, 4, 0);
	EXPECT_EQ(-EINVAL, call(&c));
	kc_call_init(&c, a, &v, 5, b, &w, 4, 0);
	EXPECT_EQ(-EMSGSIZE, call(&c));
	EXPECT_EQ(0, KC_INFO(a, len));
	EXPECT_EQ(0, KC_INFO(fp, len));
	close(p[0]);
	close(p[1]);
	close(a2);
	close(fp);
	close(a);
	close(b);
}

/*
 * Bad buffers: a bad message fails before anything moves; a bad reply
 * buffer is found before the send, and the message waiting on the receive
 * channel stays; a reply buffer too short fails EMSGSIZE after the send,
 * with the length it needs and the reply kept.
 */
TEST(bad_buffers)
{
	int a = kc_create(1, 256), b = kc_create(1, 256);
	char *hole = kc_page_then_hole(), msg[256] = { 1 }, rbuf[256];
	struct chan_call c;

	ASSERT_NE(NULL, hole);
	ASSERT_EQ(0, kc_send(b, msg, 200, 0));
	kc_call_init(&c, a, hole + kc_page() - 8, 100, b, rbuf, 256, 0);
	EXPECT_EQ(-EFAULT, call(&c));
	EXPECT_EQ(0, c.sent);
	kc_call_init(&c, a, msg, 100, b, hole + kc_page() - 8, 256, 0);
	EXPECT_EQ(-EFAULT, call(&c));
	EXPECT_EQ(0, c.sent);
	EXPECT_EQ(0, KC_INFO(a, len));
	EXPECT_EQ(1, KC_INFO(b, len));
	kc_call_init(&c, a, msg, 100, b, rbuf, 199, 0);
	EXPECT_EQ(-EMSGSIZE, call(&c));
	EXPECT_EQ(1, c.sent);
	EXPECT_EQ(200, c.recv_len);
	EXPECT_EQ(1, KC_INFO(a, len));
	EXPECT_EQ(1, KC_INFO(b, len));
	munmap(hole, 2 * kc_page());
	close(a);
	close(b);
}

/* ---- the copy path above the on-stack size ---- */

/* Messages up to max_msg_size, through a buffered and an unbuffered channel. */
static void big_roundtrip(struct __test_metadata *_metadata, unsigned int cap)
{
	long max = kc_param_get("max_msg_size");
	size_t sizes[] = { 65, 100, 512, 4095, 4097, 65536, 0 };
	unsigned char *m, *r;
	int a, i, k;
	pid_t pid;

	ASSERT_GT(max, 0);
	sizes[6] = max;
	m = malloc(max);
	r = malloc(max);
	ASSERT_NE(NULL, m);
	ASSERT_NE(NULL, r);
	a = kc_create(cap, max);
	ASSERT_GE(a, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		for (i = 0; i < 7; i++) {
			for (k = 0; k < (int)sizes[i]; k++)
				m[k] = (unsigned char)(k * 7 + i);
			if (kc_send(a, m, sizes[i], -1))
				_exit(1);
		}
		_exit(0);
	}
	for (i = 0; i < 7; i++) {
		size_t len = 0;

		ASSERT_EQ(1, kc_recv(a, r, max, &len, -1));
		ASSERT_EQ(sizes[i], len);
		for (k = 0; k < (int)len; k++)
			if (r[k] != (unsigned char)(k * 7 + i))
				break;
		EXPECT_EQ((int)len, k);
	}
	EXPECT_EQ(0, kc_reap(pid));
	close(a);
	free(m);
	free(r);
}

TEST(large_messages_buffered)
{
	big_roundtrip(_metadata, 2);
}

TEST(large_messages_unbuffered)
{
	big_roundtrip(_metadata, 0);
}

/*
 * A parked receive whose buffer another thread makes read-only while it
 * waits: the message handed to it cannot be copied out, so it goes back,
 * whole, as the oldest, and the receive fails EFAULT. A plain receive and
 * the receive half of a call (sent 1), up to max_msg_size.
 */
struct spoiler {
	int ch;
	unsigned char *buf, *msg;
	size_t plen, len;
};

static void *spoil_then_send(void *arg)
{
	struct spoiler *sp = arg;

	if (KC_WAIT(sp->ch, recv_waiters, 1) ||
	    mprotect(sp->buf, sp->plen, PROT_READ) ||
	    kc_send(sp->ch, sp->msg, sp->len, -1))
		return (void *)1;
	return NULL;
}

static void putback(struct __test_metadata *_metadata, size_t len, bool viacall)
{
	int a = kc_create(1, len), b = kc_create(1, 8);
	struct spoiler sp = { .ch = a, .len = len };
	struct chan_call c;
	size_t got = 0, k;
	uint64_t x = 1;
	void *tr;
	pthread_t t;
	int r;

	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	sp.plen = (len + kc_page() - 1) / kc_page() * kc_page();
	sp.buf = mmap(NULL, sp.plen, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	sp.msg = malloc(len);
	ASSERT_NE(MAP_FAILED, sp.buf);
	ASSERT_NE(NULL, sp.msg);
	for (k = 0; k < len; k++)
		sp.msg[k] = (unsigned char)(k * 13 + 5);
	ASSERT_EQ(0, pthread_create(&t, NULL, spoil_then_send, &sp));
	if (viacall) {
		kc_call_init(&c, b, &x, 8, a, sp.buf, len, -1);
		r = call(&c);
		EXPECT_EQ(1, c.sent);
		EXPECT_EQ(1, KC_INFO(b, len));
	} else {
		r = kc_recv(a, sp.buf, len, &got, -1);
	}
	EXPECT_EQ(-EFAULT, r);
	ASSERT_EQ(0, pthread_join(t, &tr));
	ASSERT_EQ(NULL, tr);
	EXPECT_EQ(1, KC_INFO(a, len));	/* put back */
	ASSERT_EQ(0, mprotect(sp.buf, sp.plen, PROT_READ | PROT_WRITE));
	ASSERT_EQ(1, kc_recv(a, sp.buf, len, &got, 0));
	EXPECT_EQ(len, got);
	EXPECT_EQ(0, memcmp(sp.buf, sp.msg, len));
	munmap(sp.buf, sp.plen);
	free(sp.msg);
	close(a);
	close(b);
}

TEST(putback_on_efault_large)
{
	putback(_metadata, 1000, false);
	putback(_metadata, kc_param_get("max_msg_size"), false);
}

TEST(putback_on_efault_call_recv_half)
{
	putback(_metadata, 8, true);
	putback(_metadata, kc_param_get("max_msg_size"), true);
}

/* Concurrent senders and receivers of >64 B messages: order per sender, no loss. */
#define NSEND	3
#define NRECV	3
#define PERS	300
#define BIGMSG	700

TEST(concurrent_large_messages)
{
	int a = kc_create(8, BIGMSG), out = kc_create(NSEND * PERS, 8);
	pid_t s[NSEND], r[NRECV];
	uint64_t v;
	int i, j;

	ASSERT_GE(a, 0);
	ASSERT_GE(out, 0);
	for (i = 0; i < NRECV; i++) {
		r[i] = kc_fork();
		ASSERT_GE(r[i], 0);
		if (r[i] == 0) {
			unsigned char b[BIGMSG];
			unsigned int prev[NSEND];
			size_t len;

			memset(prev, 0xff, sizeof(prev));
			while (kc_recv(a, b, sizeof(b), &len, -1) == 1) {
				unsigned int who = b[0], n;

				memcpy(&n, b + 4, 4);
				if (len != BIGMSG || who >= NSEND)
					_exit(1);
				for (j = 8; j < BIGMSG; j++)
					if (b[j] != (unsigned char)(n + j + who))
						_exit(2);
				/* per receiver, one sender's messages ascend */
				if (prev[who] != 0xffffffffU && n <= prev[who])
					_exit(3);
				prev[who] = n;
				v = (uint64_t)who << 32 | n;
				if (kc_send(out, &v, 8, -1))
					_exit(4);
			}
			_exit(0);
		}
	}
	for (i = 0; i < NSEND; i++) {
		s[i] = kc_fork();
		ASSERT_GE(s[i], 0);
		if (s[i] == 0) {
			unsigned char b[BIGMSG];
			unsigned int n;

			for (n = 0; n < PERS; n++) {
				b[0] = i;
				memcpy(b + 4, &n, 4);
				for (j = 8; j < BIGMSG; j++)
					b[j] = (unsigned char)(n + j + i);
				if (kc_send(a, b, BIGMSG, -1))
					_exit(1);
			}
			_exit(0);
		}
	}
	for (i = 0; i < NSEND; i++)
		EXPECT_EQ(0, kc_reap(s[i]));
	ASSERT_EQ(0, ioctl(a, CHAN_IOC_CLOSE));
	for (i = 0; i < NRECV; i++)
		EXPECT_EQ(0, kc_reap(r[i]));
	/* every message exactly once */
	{
		static unsigned char seen[NSEND][PERS];

		for (i = 0; i < NSEND * PERS; i++) {
			ASSERT_EQ(1, kc_recv(out, &v, 8, NULL, 0));
			ASSERT_LT(v >> 32, NSEND);
			ASSERT_LT((uint32_t)v, PERS);
			EXPECT_EQ(0, seen[v >> 32][(uint32_t)v]);
			seen[v >> 32][(uint32_t)v] = 1;
		}
		EXPECT_EQ(-EAGAIN, kc_recv(out, &v, 8, NULL, 0));
	}
	close(a);
	close(out);
}

TEST_HARNESS_MAIN
