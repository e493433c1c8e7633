// SPDX-License-Identifier: GPL-2.0
/*
 * kchan across processes: /proc/PID/fdinfo, producer/consumer,
 * many-to-many with real fork(), and FIFO service of waiters.
 */
#include "kchan_test.h"

/* ---- fdinfo --------------------------------------------------------------- */

/* Value of "key:\t..." in /proc/PID/fdinfo/FD into out; 0 or -errno. */
static int fdinfo_str(pid_t pid, int fd, const char *key, char *out,
		      size_t outsz)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	FILE *f;
	int r = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *v;

		if (strncmp(line, key, klen) || line[klen] != ':')
			continue;
		v = line + klen + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		v[strcspn(v, "\n")] = 0;
		snprintf(out, outsz, "%s", v);
		r = 0;
		break;
	}
	fclose(f);
	return r;
}

/* Numeric fdinfo field of our own fd; -1 when absent. */
static long long fdinfo_num(int fd, const char *key)
{
	char v[128], *end;
	long long n;

	if (fdinfo_str(getpid(), fd, key, v, sizeof(v)))
		return -1;
	n = strtoll(v, &end, 0);
	return end == v ? -1 : n;
}

static int fdinfo_is(int fd, const char *key, const char *want)
{
	char v[128];

	if (fdinfo_str(getpid(), fd, key, v, sizeof(v)))
		return 0;
	return strcmp(v, want) == 0;
}

TEST(fdinfo_static_fields)
{
	int fd = kc_create(5, 24), fp = kc_create_flags(1, 8, CHAN_FDPASS);

	ASSERT_GE(fd, 0);
	ASSERT_GE(fp, 0);
	EXPECT_EQ(5, fdinfo_num(fd, "capacity"));
	EXPECT_EQ(24, fdinfo_num(fd, "msg_size"));
	EXPECT_EQ(KC_INFO(fd, id), fdinfo_num(fd, "chan_id"));
	EXPECT_TRUE(fdinfo_is(fd, "rights", "send,recv"));
	EXPECT_EQ(0, fdinfo_num(fd, "fdpass"));
	EXPECT_EQ(1, fdinfo_num(fp, "fdpass"));
	EXPECT_EQ(1, fdinfo_num(fd, "send_handles"));
	EXPECT_EQ(1, fdinfo_num(fd, "recv_handles"));
	/* The generic lines are there too. */
	EXPECT_LE(0, fdinfo_num(fd, "pos"));
	EXPECT_LE(0, fdinfo_num(fd, "flags"));
	close(fp);
	close(fd);
}

TEST(fdinfo_flags_show_nonblock_cloexec)
{
	int fd = kc_create_flags(1, 4, CHAN_NONBLOCK | CHAN_CLOEXEC);
	long long fl;

	ASSERT_GE(fd, 0);
	fl = fdinfo_num(fd, "flags");	/* octal, as the kernel prints it */
	ASSERT_GE(fl, 0);
	EXPECT_EQ(O_NONBLOCK, fl & O_NONBLOCK);
	EXPECT_EQ(O_CLOEXEC, fl & O_CLOEXEC);
	close(fd);
}

TEST(fdinfo_len_counters_closed)
{
	uint32_t v;
	int fd = kc_create(4, 4);

	ASSERT_GE(fd, 0);
	EXPECT_EQ(0, fdinfo_num(fd, "len"));
	EXPECT_EQ(0, fdinfo_num(fd, "closed"));
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	ASSERT_EQ(0, kc_send_u32(fd, 2, 0));
	ASSERT_EQ(0, kc_send_u32(fd, 3, 0));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(2, fdinfo_num(fd, "len"));
	EXPECT_EQ(3, fdinfo_num(fd, "sent"));
	EXPECT_EQ(1, fdinfo_num(fd, "received"));
	ASSERT_EQ(0, kc_close(fd));
	EXPECT_EQ(1, fdinfo_num(fd, "closed"));
	EXPECT_EQ(2, fdinfo_num(fd, "len"));
	close(fd);
}

TEST(fdinfo_waiters)
{
	int fd = kc_create(0, 4);
	uint32_t v;
	pid_t pid;

	ASSERT_GE(fd, 0);
	EXPECT_EQ(0, fdinfo_num(fd, "send_waiters"));
	EXPECT_EQ(0, fdinfo_num(fd, "recv_waiters"));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(kc_send_u32(fd, 1, -1) ? KC_FAIL : KC_OK);
	ASSERT_EQ(0, KC_WAIT(fd, send_waiters, 1));
	EXPECT_EQ(1, fdinfo_num(fd, "send_waiters"));
	EXPECT_EQ(0, fdinfo_num(fd, "recv_waiters"));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(0, kc_reap(pid));

	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(kc_recv_u32(fd, &v, -1) == 1 ? KC_OK : KC_FAIL);
	ASSERT_EQ(0, KC_WAIT(fd, recv_waiters, 1));
	EXPECT_EQ(1, fdinfo_num(fd, "recv_waiters"));
	ASSERT_EQ(0, kc_send_u32(fd, 2, 0));
	EXPECT_EQ(0, kc_reap(pid));
	EXPECT_EQ(0, fdinfo_num(fd, "recv_waiters"));
	close(fd);
}

TEST(fdinfo_rights_per_handle)
{
	int fd = kc_create(1, 4), s, r;

	ASSERT_GE(fd, 0);
	s = kc_dup(fd, CHAN_RIGHT_SEND);
	r = kc_dup(fd, CHAN_RIGHT_RECV);
	ASSERT_GE(s, 0);
	ASSERT_GE(r, 0);
	EXPECT_TRUE(fdinfo_is(s, "rights", "send"));
	EXPECT_TRUE(fdinfo_is(r, "rights", "recv"));
	EXPECT_TRUE(fdinfo_is(fd, "rights", "send,recv"));
	EXPECT_EQ(2, fdinfo_num(r, "send_handles"));
	EXPECT_EQ(2, fdinfo_num(s, "recv_handles"));
	close(s);
	close(r);
	close(fd);
}

TEST(fdinfo_of_another_process)
{
	int fd = kc_create(3, 4), p[2];
	char v[64];
	pid_t pid;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		kc_pipe_get(p[0]);	/* stay alive until told */
		_exit(KC_OK);
	}
	ASSERT_EQ(0, fdinfo_str(pid, fd, "len", v, sizeof(v)));
	EXPECT_STREQ("1", v);
	ASSERT_EQ(0, fdinfo_str(pid, fd, "capacity", v, sizeof(v)));
	EXPECT_STREQ("3", v);
	kc_pipe_put(p[1]);
	EXPECT_EQ(0, kc_reap(pid));
	close(fd);
}

TEST(fdinfo_matches_info)
{
	struct chan_info info;
	uint32_t v;
	int fd = kc_create(6, 12);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	ASSERT_EQ(0, kc_send_u32(fd, 2, 0));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	ASSERT_EQ(0, kc_info(fd, &info));
	EXPECT_EQ(info.id, fdinfo_num(fd, "chan_id"));
	EXPECT_EQ(info.capacity, fdinfo_num(fd, "capacity"));
	EXPECT_EQ(info.msg_size, fdinfo_num(fd, "msg_size"));
	EXPECT_EQ(info.len, fdinfo_num(fd, "len"));
	EXPECT_EQ(info.closed, fdinfo_num(fd, "closed"));
	EXPECT_EQ(info.send_waiters, fdinfo_num(fd, "send_waiters"));
	EXPECT_EQ(info.recv_waiters, fdinfo_num(fd, "recv_waiters"));
	EXPECT_EQ(info.send_handles, fdinfo_num(fd, "send_handles"));
	EXPECT_EQ(info.recv_handles, fdinfo_num(fd, "recv_handles"));
	EXPECT_EQ(info.sent, fdinfo_num(fd, "sent"));
	EXPECT_EQ(info.received, fdinfo_num(fd, "received"));
	EXPECT_EQ(0, fdinfo_num(fd, "dropped"));
	close(fd);
}

/* ---- producer / consumer ------------------------------------------------ */

FIXTURE(mp) {
	int unused;
};

FIXTURE_SETUP(mp)
{
	self->unused = 0;
}

FIXTURE_TEARDOWN(mp)
{
}

struct pmsg {
	uint32_t producer;
	uint32_t seq;
};

TEST_F_TIMEOUT(mp, producer_consumer, 120)
{
	const uint32_t n = 10000;
	int fd = kc_create(16, sizeof(struct pmsg)), rfd, res;
	struct pmsg m;
	uint32_t expect = 0;
	size_t len;
	pid_t pid;

	ASSERT_GE(fd, 0);
	rfd = kc_dup(fd, CHAN_RIGHT_RECV);
	ASSERT_GE(rfd, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct pmsg o = { 0, 0 };

		alarm(100);
		close(rfd);
		for (o.seq = 0; o.seq < n; o.seq++)
			if (kc_send(fd, &o, sizeof(o), -1))
				_exit(KC_FAIL);
		_exit(KC_OK);	/* exit releases the last send handle */
	}
	close(fd);
	while ((res = kc_recv(rfd, &m, sizeof(m), &len, -1)) == 1) {
		ASSERT_EQ(sizeof(m), len);
		ASSERT_EQ(expect, m.seq);
		expect++;
	}
	/* The producer's exit closed the channel: drained, then ok = 0. */
	EXPECT_EQ(0, res);
	EXPECT_EQ(n, expect);
	EXPECT_EQ(0, kc_reap(pid));
	close(rfd);
}

#define NPROD 4
#define NCONS 4

struct m2m {
	uint32_t count[NPROD][10000];	/* times each message was received */
	uint32_t per_consumer[NCONS];
	uint32_t order_bad;
	uint32_t bad_msg;
};

/*
 * NPROD producers and NCONS consumers on one channel: every message is
 * received exactly once, and each consumer sees each producer's messages
 * in the order they were sent.
 */
static void many_to_many(struct __test_metadata *_metadata, unsigned int cap,
			 uint32_t n, int use_rw)
{
	struct m2m *sh = kc_shared(sizeof(struct m2m));
	pid_t prod[NPROD], cons[NCONS];
	uint32_t total = 0, p, s;
	int fd = kc_create(cap, sizeof(struct pmsg)), i;

	ASSERT_NE(NULL, sh);
	ASSERT_GE(fd, 0);
	ASSERT_LE(n, 10000);
	for (i = 0; i < NCONS; i++) {
		cons[i] = kc_fork();
		ASSERT_GE(cons[i], 0);
		if (cons[i] == 0) {
			int64_t last[NPROD];
			struct pmsg m;
			size_t len = 0;
			ssize_t rd;
			int res;

			alarm(110);
			for (p = 0; p < NPROD; p++)
				last[p] = -1;
			for (;;) {
				if (use_rw) {
					rd = read(fd, &m, sizeof(m));
					res = rd > 0 ? 1 : (rd == 0 ? 0 : -errno);
					len = rd;
				} else {
					res = kc_recv(fd, &m, sizeof(m), &len, -1);
				}
				if (res == 0)
					_exit(KC_OK);
				if (res < 0)
					_exit(KC_FAIL);
				if (len != sizeof(m) || m.producer >= NPROD ||
				    m.seq >= n) {
					__atomic_fetch_add(&sh->bad_msg, 1,
							   __ATOMIC_SEQ_CST);
					continue;
				}
				if ((int64_t)m.seq <= last[m.producer])
					__atomic_fetch_add(&sh->order_bad, 1,
							   __ATOMIC_SEQ_CST);
				last[m.producer] = m.seq;
				__atomic_fetch_add(&sh->count[m.producer][m.seq],
						   1, __ATOMIC_SEQ_CST);
				__atomic_fetch_add(&sh->per_consumer[i], 1,
						   __ATOMIC_SEQ_CST);
			}
		}
	}
	for (i = 0; i < NPROD; i++) {
		prod[i] = kc_fork();
		ASSERT_GE(prod[i], 0);
		if (prod[i] == 0) {
			struct pmsg m = { (uint32_t)i, 0 };

			alarm(110);
			for (m.seq = 0; m.seq < n; m.seq++) {
				if (use_rw) {
					if (write(fd, &m, sizeof(m)) != sizeof(m))
						_exit(KC_FAIL);
				} else if (kc_send(fd, &m, sizeof(m), -1)) {
					_exit(KC_FAIL);
				}
			}
			_exit(KC_OK);
		}
	}
	for (i = 0; i < NPROD; i++)
		EXPECT_EQ(0, kc_reap(prod[i]));
	/* Everything is sent (or buffered): close, consumers drain and stop. */
	ASSERT_EQ(0, kc_close(fd));
	for (i = 0; i < NCONS; i++)
		EXPECT_EQ(0, kc_reap(cons[i]));
	EXPECT_EQ(0, sh->order_bad);
	EXPECT_EQ(0, sh->bad_msg);
	for (p = 0; p < NPROD; p++)
		for (s = 0; s < n; s++)
			if (sh->count[p][s] != 1) {
				TH_LOG("producer %u seq %u received %u times",
				       p, s, sh->count[p][s]);
				ASSERT_EQ(1, sh->count[p][s]);
			}
	for (i = 0; i < NCONS; i++) {
		TH_LOG("consumer %d received %u", i, sh->per_consumer[i]);
		total += sh->per_consumer[i];
	}
	EXPECT_EQ(NPROD * n, total);
	EXPECT_EQ(NPROD * n, KC_INFO(fd, sent));
	EXPECT_EQ(NPROD * n, KC_INFO(fd, received));
	EXPECT_EQ(0, KC_INFO(fd, len));
	munmap(sh, sizeof(*sh));
	close(fd);
}

TEST_F_TIMEOUT(mp, many_to_many_buffered_4x4x10000, 120)
{
	many_to_many(_metadata, 64, 10000, 0);
}

TEST_F_TIMEOUT(mp, many_to_many_buffered_small_ring, 120)
{
	many_to_many(_metadata, 1, 3000, 0);
}

TEST_F_TIMEOUT(mp, many_to_many_unbuffered, 120)
{
	many_to_many(_metadata, 0, 3000, 0);
}

TEST_F_TIMEOUT(mp, many_to_many_read_write, 120)
{
	many_to_many(_metadata, 8, 3000, 1);
}

TEST_F_TIMEOUT(mp, ping_pong_two_channels, 120)
{
	int a = kc_create(0, 4), b = kc_create(0, 4), i;
	uint32_t v;
	pid_t pid;

	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		for (;;) {
			int r = kc_recv_u32(a, &v, -1);

			if (r == 0)
				_exit(KC_OK);
			if (r != 1 || kc_send_u32(b, v + 1, -1))
				_exit(KC_FAIL);
		}
	}
	for (i = 0; i < 2000; i++) {
		ASSERT_EQ(0, kc_send_u32(a, i, -1));
		ASSERT_EQ(1, kc_recv_u32(b, &v, -1));
		ASSERT_EQ(i + 1, v);
	}
	ASSERT_EQ(0, kc_close(a));
	EXPECT_EQ(0, kc_reap(pid));
	close(a);
	close(b);
}

/* ---- FIFO service of waiters ------------------------------------------ */

/*
 * Receivers park one after another (INFO recv_waiters sequences them);
 * the first parked receiver must get the first message, and so on.
 */
static void fifo_receivers(struct __test_metadata *_metadata, unsigned int cap)
{
	uint32_t *got = kc_shared(4096);
	int fd = kc_create(cap, 4), i;
	pid_t pid[4];

	ASSERT_NE(NULL, got);
	ASSERT_GE(fd, 0);
	for (i = 0; i < 4; i++) {
		pid[i] = kc_fork();
		ASSERT_GE(pid[i], 0);
		if (pid[i] == 0) {
			uint32_t v = 0;

			if (kc_recv_u32(fd, &v, -1) != 1)
				_exit(KC_FAIL);
			got[i] = v;
			_exit(KC_OK);
		}
		ASSERT_EQ(0, KC_WAIT(fd, recv_waiters, i + 1));
	}
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, kc_send_u32(fd, 100 + i, -1));
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0, kc_reap(pid[i]));
	for (i = 0; i < 4; i++)
		EXPECT_EQ(100 + i, got[i]);
	close(fd);
}

TEST(fifo_receivers_unbuffered)
{
	fifo_receivers(_metadata, 0);
}

TEST(fifo_receivers_buffered)
{
	fifo_receivers(_metadata, 4);
}

static void fifo_senders(struct __test_metadata *_metadata, unsigned int cap)
{
	int fd = kc_create(cap, 4), i;
	uint32_t v;
	pid_t pid[4];

	ASSERT_GE(fd, 0);
	for (i = 0; i < (int)cap; i++)
		ASSERT_EQ(0, kc_send_u32(fd, i, 0));
	for (i = 0; i < 4; i++) {
		pid[i] = kc_fork();
		ASSERT_GE(pid[i], 0);
		if (pid[i] == 0)
			_exit(kc_send_u32(fd, 100 + i, -1) ? KC_FAIL : KC_OK);
		ASSERT_EQ(0, KC_WAIT(fd, send_waiters, i + 1));
	}
	for (i = 0; i < (int)cap; i++) {
		ASSERT_EQ(1, kc_recv_u32(fd, &v, -1));
		EXPECT_EQ(i, v);
	}
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(1, kc_recv_u32(fd, &v, -1));
		EXPECT_EQ(100 + i, v);
	}
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0, kc_reap(pid[i]));
	close(fd);
}

TEST(fifo_senders_unbuffered)
{
	fifo_senders(_metadata, 0);
}

TEST(fifo_senders_buffered_full)
{
	fifo_senders(_metadata, 2);
}

/* One message wakes one waiter: the others stay parked, then see closed. */
TEST(one_message_one_receiver)
{
	uint32_t *got = kc_shared(4096);
	int fd = kc_create(4, 4), i, winners = 0, closed_seen = 0;
	pid_t pid[3];

	ASSERT_NE(NULL, got);
	ASSERT_GE(fd, 0);
	for (i = 0; i < 3; i++) {
		pid[i] = kc_fork();
		ASSERT_GE(pid[i], 0);
		if (pid[i] == 0) {
			uint32_t v = 0;
			int r = kc_recv_u32(fd, &v, -1);

			got[i] = r == 1 ? v : (r == 0 ? 2 : 3);
			_exit(KC_OK);
		}
		ASSERT_EQ(0, KC_WAIT(fd, recv_waiters, i + 1));
	}
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	ASSERT_EQ(0, KC_WAIT(fd, received, 1));
	ASSERT_EQ(0, KC_WAIT(fd, recv_waiters, 2));
	EXPECT_EQ(0, KC_INFO(fd, len));
	ASSERT_EQ(0, kc_close(fd));
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0, kc_reap(pid[i]));
		winners += got[i] == 1;
		closed_seen += got[i] == 2;
	}
	EXPECT_EQ(1, winners);
	EXPECT_EQ(2, closed_seen);
	EXPECT_EQ(1, got[0]);	/* and it is the first one parked */
	close(fd);
}

/* voluntary_ctxt_switches of a process, or -1. */
static long long nvcsw(pid_t pid)
{
	char path[64], line[128];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/*
 * No thundering herd: a message wakes only the receiver that gets it. The
 * other parked receivers must not even be woken (their voluntary context
 * switch count stays the same).
 */
TEST(no_thundering_herd)
{
	int fd = kc_create(4, 4), i;
	long long before[4], after;
	uint32_t v;
	pid_t pid[4];

	ASSERT_GE(fd, 0);
	for (i = 0; i < 4; i++) {
		pid[i] = kc_fork();
		ASSERT_GE(pid[i], 0);
		if (pid[i] == 0)
			_exit(kc_recv_u32(fd, &v, -1) == 1 ? KC_OK : KC_FAIL);
		ASSERT_EQ(0, KC_WAIT(fd, recv_waiters, i + 1));
	}
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, kc_wait_sleeping(pid[i]));
		before[i] = nvcsw(pid[i]);
		ASSERT_GE(before[i], 0);
	}
	/* Two messages: the first two parked receivers, nobody else. */
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	ASSERT_EQ(0, kc_send_u32(fd, 2, 0));
	EXPECT_EQ(0, kc_reap(pid[0]));
	EXPECT_EQ(0, kc_reap(pid[1]));
	kc_sleep_ms(100);
	EXPECT_EQ(2, KC_INFO(fd, recv_waiters));
	for (i = 2; i < 4; i++) {
		after = nvcsw(pid[i]);
		EXPECT_EQ(before[i], after)
			TH_LOG("receiver %d woke %lld times", i, after - before[i]);
	}
	ASSERT_EQ(0, kc_close(fd));
	EXPECT_EQ(KC_FAIL, kc_reap(pid[2]));	/* ok = 0: closed */
	EXPECT_EQ(KC_FAIL, kc_reap(pid[3]));
	close(fd);
}

TEST_HARNESS_MAIN
