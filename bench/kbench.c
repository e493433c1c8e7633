// SPDX-License-Identifier: GPL-2.0
/*
 * kbench: kchan against the kernel's other IPC mechanisms.
 *
 *   kbench pingpong MECH ROUNDS          8-byte ping-pong, two processes
 *   kbench callpp ROUNDS                 the same with chan_call(): on both
 *                                        sides, then on the client only
 *   kbench tput MECH MSGSIZE COUNT       1 producer -> 1 consumer, capacity
 *                                        1024 (at most 4 MiB: fewer above 4 KiB)
 *   kbench batch MSGSIZE COUNT BATCH     kchan chan_send_batch/chan_recv_batch
 *   kbench m2m MECH COUNT                4 producers x 4 consumers, one queue
 *   kbench select NCASES ITERS           trysend + select over NCASES channels,
 *                                        then the same with a select set
 *   kbench selset NCASES ITERS           trysend + chan_selset_wait, NCASES cases
 *   kbench selbase ITERS                 trysend + tryrecv (select's baseline)
 *   kbench epoll NCASES ITERS            write + epoll_wait + read, NCASES pipes
 *   kbench epollbase ITERS               write + read (epoll's baseline)
 *   kbench epollchan NCASES ITERS        trysend + epoll_wait + tryrecv, kchan fds
 *   kbench mem MECH COUNT                kernel memory per idle object
 *   kbench micro ITERS [ONLY]            syscall/ioctl floors, one message in+out
 *   kbench ctxsw ITERS                   two processes yielding to each other
 *
 * MECH: kchan kchan-rw pipe eventfd mq seqpacket futex (as applicable).
 *
 * Every figure is printed as one line
 *     RESULT <key> <value> <unit>
 * and timed with CLOCK_MONOTONIC, which under QEMU -icount shift=0 counts
 * guest instructions (1 ns each): the figures are CPU costs, user and
 * kernel together, scheduling included.
 */
#define _GNU_SOURCE
#include "chan.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <mqueue.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sched.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CAPACITY	1024
#define MAXMSG		65536
/* Bytes a throughput queue may buffer: capacity min(1024, this / size). */
#define QUEUE_BYTES	(4 << 20)
#define NPROD		4
#define NCONS		4

static const char *prog = "kbench";

static void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

static void dief(const char *what)
{
	fprintf(stderr, "%s: %s\n", prog, what);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void result(const char *key, double value, const char *unit)
{
	printf("RESULT %s %.6g %s\n", key, value, unit);
	fflush(stdout);
}

static void *shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	memset(p, 0, size);
	return p;
}

static void raise_nofile(rlim_t n)
{
	struct rlimit r = { n, n };

	if (setrlimit(RLIMIT_NOFILE, &r) < 0)
		die("setrlimit(RLIMIT_NOFILE) (run as root)");
}

/* ---- start barrier: children report ready, then wait for "go" ---- */

struct barrier {
	int ready[2];
	int go[2];
};

static void barrier_init(struct barrier *b)
{
	if (pipe(b->ready) < 0 || pipe(b->go) < 0)
		die("pipe");
}

/* In a child, right after fork. */
static void barrier_child(struct barrier *b)
{
	char c = 1;

	close(b->go[1]);
	close(b->ready[0]);
	if (write(b->ready[1], &c, 1) != 1)
		die("barrier write");
	if (read(b->go[0], &c, 1) != 0)
		dief("barrier: unexpected data");
	close(b->go[0]);
	close(b->ready[1]);
}

/* In the parent: wait for @n children, then release them; returns t0. */
static uint64_t barrier_go(struct barrier *b, int n)
{
	uint64_t t0;
	char c;

	close(b->ready[1]);
	close(b->go[0]);
	for (int i = 0; i < n; i++)
		if (read(b->ready[0], &c, 1) != 1)
			die("barrier read");
	close(b->ready[0]);
	t0 = now_ns();
	close(b->go[1]);
	return t0;
}

static long ctxsw_self(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_nvcsw + ru.ru_nivcsw;
}

static long ctxsw_children(void)
{
	struct rusage ru;

	getrusage(RUSAGE_CHILDREN, &ru);
	return ru.ru_nvcsw + ru.ru_nivcsw;
}

static void wait_children(void)
{
	int st;

	while (wait(&st) > 0) {
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			dief("a child failed");
	}
}

/* ---- mechanisms: a queue in each of two directions ---- */

struct futex_dir {
	_Atomic uint32_t seq;
	uint32_t len;
	char buf[MAXMSG];
} __attribute__((aligned(64)));

struct ep {
	const char *mech;
	size_t msg;
	int fd[2][2];		/* [dir][0] read end, [dir][1] write end */
	mqd_t mq[2];
	struct futex_dir *fx;	/* [2], shared */
	uint32_t fx_seen[2];
};

static int futex(_Atomic uint32_t *uaddr, int op, uint32_t val)
{
	return (int)syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

static void mq_sysctl_hint(void)
{
	fprintf(stderr, "%s: POSIX mq: raise /proc/sys/fs/mqueue/msg_max and "
		"RLIMIT_MSGQUEUE (bench/guest.sh does)\n", prog);
}

static void ep_open(struct ep *e, const char *mech, size_t msg, unsigned cap,
		    int ndirs)
{
	memset(e, 0, sizeof(*e));
	e->mech = mech;
	e->msg = msg;
	for (int d = 0; d < ndirs; d++) {
		if (!strcmp(mech, "kchan") || !strcmp(mech, "kchan-rw")) {
			int fd = chan_make(msg, cap, 0);

			if (fd < 0)
				die("chan_make");
			e->fd[d][0] = e->fd[d][1] = fd;
		} else if (!strcmp(mech, "pipe")) {
			if (pipe(e->fd[d]) < 0)
				die("pipe");
			if (cap) {
				long sz = (long)(cap * msg);

				if (sz < 4096)
					sz = 4096;
				if (fcntl(e->fd[d][1], F_SETPIPE_SZ, sz) < 0)
					die("F_SETPIPE_SZ");
			}
		} else if (!strcmp(mech, "eventfd")) {
			int fd = eventfd(0, 0);

			if (msg != 8)
				dief("eventfd carries 8-byte messages only");
			if (fd < 0)
				die("eventfd");
			e->fd[d][0] = e->fd[d][1] = fd;
		} else if (!strcmp(mech, "mq")) {
			struct mq_attr a = {
				.mq_maxmsg = cap ? cap : 1,
				.mq_msgsize = (long)msg,
			};
			struct rlimit r = { RLIM_INFINITY, RLIM_INFINITY };
			char name[64];

			setrlimit(RLIMIT_MSGQUEUE, &r);
			snprintf(name, sizeof(name), "/kbench-%d-%d",
				 (int)getpid(), d);
			e->mq[d] = mq_open(name, O_RDWR | O_CREAT | O_EXCL,
					   0600, &a);
			if (e->mq[d] == (mqd_t)-1) {
				mq_sysctl_hint();
				die("mq_open");
			}
			mq_unlink(name);
		} else if (!strcmp(mech, "seqpacket")) {
			int sv[2];

			if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
				die("socketpair");
			if (cap) {
				/* room for cap messages: payload + skb overhead */
				int sz = (int)(cap * (msg + 1024));

				if (setsockopt(sv[1], SOL_SOCKET, SO_SNDBUFFORCE,
					       &sz, sizeof(sz)) < 0 &&
				    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF,
					       &sz, sizeof(sz)) < 0)
					die("SO_SNDBUF");
				if (setsockopt(sv[0], SOL_SOCKET, SO_RCVBUFFORCE,
					       &sz, sizeof(sz)) < 0 &&
				    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF,
					       &sz, sizeof(sz)) < 0)
					die("SO_RCVBUF");
			}
			/* dir d: written at [d][1], read at [d][0] */
			if (d == 0) {
				e->fd[0][0] = sv[0];
				e->fd[0][1] = sv[1];
			} else {
				e->fd[1][0] = sv[1];
				e->fd[1][1] = sv[0];
			}
		} else if (!strcmp(mech, "futex")) {
			if (!e->fx)
				e->fx = shared_alloc(2 * sizeof(*e->fx));
		} else {
			fprintf(stderr, "%s: unknown mechanism '%s'\n", prog, mech);
			exit(2);
		}
	}
}

static void ep_send(struct ep *e, int d, const void *buf, size_t len)
{
	const char *m = e->mech;

	switch (m[0]) {
	case 'k':
		if (m[5] == 0) {
			if (chan_send(e->fd[d][1], buf, len) < 0)
				die("chan_send");
		} else if (write(e->fd[d][1], buf, len) != (ssize_t)len) {
			die("write(chan)");
		}
		return;
	case 'p':
	case 'e':
	case 's':
		if (write(e->fd[d][1], buf, len) != (ssize_t)len)
			die("write");
		return;
	case 'm':
		if (mq_send(e->mq[d], buf, len, 0) < 0)
			die("mq_send");
		return;
	case 'f': {
		struct futex_dir *f = &e->fx[d];

		memcpy(f->buf, buf, len);
		f->len = (uint32_t)len;
		atomic_fetch_add_explicit(&f->seq, 1, memory_order_release);
		futex(&f->seq, FUTEX_WAKE, 1);
		return;
	}
	}
}

/* Receive one message of exactly @len bytes (pipes: a stream). */
static void ep_recv(struct ep *e, int d, void *buf, size_t len)
{
	const char *m = e->mech;
	ssize_t n;
	bool ok;

	switch (m[0]) {
	case 'k':
		if (m[5] == 0)
			n = chan_recv(e->fd[d][0], buf, len, &ok);
		else
			n = read(e->fd[d][0], buf, len);
		if (n != (ssize_t)len)
			die("chan_recv");
		return;
	case 'p': {
		size_t got = 0;

		while (got < len) {
			n = read(e->fd[d][0], (char *)buf + got, len - got);
			if (n <= 0)
				die("read(pipe)");
			got += (size_t)n;
		}
		return;
	}
	case 'e':
	case 's':
		if (read(e->fd[d][0], buf, len) != (ssize_t)len)
			die("read");
		return;
	case 'm':
		if (mq_receive(e->mq[d], buf, MAXMSG, NULL) != (ssize_t)len)
			die("mq_receive");
		return;
	case 'f': {
		struct futex_dir *f = &e->fx[d];
		uint32_t seen = e->fx_seen[d];

		while (atomic_load_explicit(&f->seq, memory_order_acquire) == seen)
			futex(&f->seq, FUTEX_WAIT, seen);
		e->fx_seen[d] = seen + 1;
		memcpy(buf, f->buf, len);
		return;
	}
	}
}

/* ---- ping-pong ---- */

static void bench_pingpong(const char *mech, long rounds)
{
	long warm = rounds / 10 + 10;
	uint64_t msg = 0x0123456789abcdefull, in;
	struct barrier b;
	struct ep e;
	uint64_t t0, t1;
	pid_t pid;

	ep_open(&e, mech, 8, 0, 2);
	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		barrier_child(&b);
		for (long i = 0; i < warm + rounds; i++) {
			ep_recv(&e, 0, &in, 8);
			in++;
			ep_send(&e, 1, &in, 8);
		}
		_exit(0);
	}
	long sw0 = ctxsw_self();

	barrier_go(&b, 1);
	for (long i = 0; i < warm; i++) {
		ep_send(&e, 0, &msg, 8);
		ep_recv(&e, 1, &in, 8);
		if (in != msg + 1)
			dief("ping-pong: wrong message");
		msg = in;
	}
	t0 = now_ns();
	for (long i = 0; i < rounds; i++) {
		ep_send(&e, 0, &msg, 8);
		ep_recv(&e, 1, &in, 8);
		msg = in;
	}
	t1 = now_ns();
	long sw = ctxsw_self() - sw0;

	wait_children();
	sw += ctxsw_children();

	char key[64];

	snprintf(key, sizeof(key), "pingpong.%s", mech);
	result(key, (double)(t1 - t0) / (double)rounds / 1000.0, "us/roundtrip");
	snprintf(key, sizeof(key), "ctxsw.pingpong.%s", mech);
	result(key, (double)sw / (double)(warm + rounds), "switches/roundtrip");
}

/*
 * Ping-pong with chan_call(): the client sends and waits for the answer in
 * one call; the server answers and waits for the next request in one call
 * (@both), or with chan_recv() and chan_send() (client only).
 */
static void bench_callpp(long rounds, bool both)
{
	long warm = rounds / 10 + 10;
	uint64_t msg = 0x0123456789abcdefull, in;
	int req = chan_make(8, 0, 0), rep = chan_make(8, 0, 0);
	struct barrier b;
	uint64_t t0, t1;
	bool ok;
	pid_t pid;

	if (req < 0 || rep < 0)
		die("chan_make");
	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		barrier_child(&b);
		if (chan_recv(req, &in, 8, &ok) != 8)
			die("chan_recv");
		for (long i = 1; i < warm + rounds; i++) {
			in++;
			if (both) {
				if (chan_call(rep, &in, 8, req, &in, 8, &ok,
					      NULL, -1) != 8)
					die("chan_call");
				continue;
			}
			if (chan_send(rep, &in, 8) < 0 ||
			    chan_recv(req, &in, 8, &ok) != 8)
				die("chan_send/chan_recv");
		}
		in++;
		if (chan_send(rep, &in, 8) < 0)
			die("chan_send");
		_exit(0);
	}
	long sw0 = ctxsw_self();

	barrier_go(&b, 1);
	for (long i = 0; i < warm; i++) {
		if (chan_call(req, &msg, 8, rep, &in, 8, &ok, NULL, -1) != 8 ||
		    in != msg + 1)
			dief("call ping-pong: wrong message");
		msg = in;
	}
	t0 = now_ns();
	for (long i = 0; i < rounds; i++) {
		if (chan_call(req, &msg, 8, rep, &in, 8, &ok, NULL, -1) != 8)
			die("chan_call");
		msg = in;
	}
	t1 = now_ns();
	long sw = ctxsw_self() - sw0;

	wait_children();
	sw += ctxsw_children();

	const char *k = both ? "kchan-call" : "kchan-call-client";
	char key[64];

	snprintf(key, sizeof(key), "pingpong.%s", k);
	result(key, (double)(t1 - t0) / (double)rounds / 1000.0, "us/roundtrip");
	snprintf(key, sizeof(key), "ctxsw.pingpong.%s", k);
	result(key, (double)sw / (double)(warm + rounds), "switches/roundtrip");
}

/* ---- throughput: one producer, one consumer ---- */

/* The queue of a throughput run: 1,024 messages, at most QUEUE_BYTES. */
static unsigned tput_capacity(size_t msgsize)
{
	size_t cap = QUEUE_BYTES / (msgsize ? msgsize : 1);

	return cap < CAPACITY ? (unsigned)cap : CAPACITY;
}

static void bench_tput(const char *mech, size_t msgsize, long count)
{
	char *buf = calloc(1, MAXMSG);
	struct barrier b;
	struct ep e;
	uint64_t t0, t1;
	pid_t pid;

	if (!buf)
		die("calloc");
	ep_open(&e, mech, msgsize, tput_capacity(msgsize), 1);
	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		barrier_child(&b);
		for (long i = 0; i < count; i++) {
			memcpy(buf, &i, sizeof(i));
			ep_send(&e, 0, buf, msgsize);
		}
		_exit(0);
	}
	long sw = ctxsw_self();

	t0 = barrier_go(&b, 1);
	for (long i = 0; i < count; i++) {
		long v;

		ep_recv(&e, 0, buf, msgsize);
		memcpy(&v, buf, sizeof(v));
		if (v != i)
			dief("throughput: out of order");
	}
	t1 = now_ns();
	sw = ctxsw_self() - sw;
	wait_children();
	sw += ctxsw_children();

	char key[64];
	double secs = (double)(t1 - t0) / 1e9;

	snprintf(key, sizeof(key), "tput.%s.%zu", mech, msgsize);
	result(key, (double)count / secs, "msgs/s");
	snprintf(key, sizeof(key), "cap.tput.%s.%zu", mech, msgsize);
	result(key, tput_capacity(msgsize), "messages");
	snprintf(key, sizeof(key), "ctxsw.tput.%s.%zu", mech, msgsize);
	result(key, (double)sw / (double)count, "switches/msg");
	free(buf);
}

/* ---- batches (kchan only) ---- */

static void bench_batch(size_t msgsize, long count, size_t n)
{
	struct chan_buf *v = calloc(n, sizeof(*v));
	char *bufs = calloc(n, msgsize);
	struct barrier b;
	uint64_t t0, t1;
	long got = 0;
	pid_t pid;
	int ch;

	if (!v || !bufs)
		die("calloc");
	ch = chan_make(msgsize, CAPACITY, 0);
	if (ch < 0)
		die("chan_make");
	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		long sent = 0;

		barrier_child(&b);
		while (sent < count) {
			size_t k = (size_t)(count - sent) < n ? (size_t)(count - sent) : n;

			for (size_t i = 0; i < k; i++) {
				long s = sent + (long)i;

				v[i].buf = bufs + i * msgsize;
				v[i].len = msgsize;
				memcpy(v[i].buf, &s, sizeof(s));
			}
			ssize_t r = chan_send_batch(ch, v, k, -1);

			if (r <= 0)
				die("chan_send_batch");
			sent += r;
		}
		_exit(0);
	}
	t0 = barrier_go(&b, 1);
	while (got < count) {
		for (size_t i = 0; i < n; i++) {
			v[i].buf = bufs + i * msgsize;
			v[i].len = msgsize;
		}
		ssize_t r = chan_recv_batch(ch, v, n, -1);

		if (r <= 0)
			die("chan_recv_batch");
		for (ssize_t i = 0; i < r; i++) {
			long s;

			memcpy(&s, v[i].buf, sizeof(s));
			if (s != got + i || v[i].len != msgsize)
				dief("batch: out of order");
		}
		got += r;
	}
	t1 = now_ns();
	wait_children();

	char key[64];

	snprintf(key, sizeof(key), "batch.kchan.%zu.%zu", msgsize, n);
	result(key, (double)count / ((double)(t1 - t0) / 1e9), "msgs/s");
	free(v);
	free(bufs);
}

/* ---- many-to-many: NPROD producers, NCONS consumers, one queue ---- */

struct m2m_shared {
	_Atomic long received;
	_Atomic uint64_t t_end;
};

static void bench_m2m(const char *mech, long count)
{
	const size_t msgsize = 64;
	struct m2m_shared *sh = shared_alloc(sizeof(*sh));
	char buf[MAXMSG] = { 0 };
	struct barrier b;
	struct ep e;
	uint64_t t0;
	pid_t prod[NPROD];
	int kchan = !strcmp(mech, "kchan");

	if (!kchan && strcmp(mech, "mq"))
		dief("m2m: kchan or mq");
	ep_open(&e, mech, msgsize, CAPACITY, 1);
	barrier_init(&b);
	for (int p = 0; p < NPROD; p++) {
		prod[p] = fork();
		if (prod[p] < 0)
			die("fork");
		if (prod[p] == 0) {
			barrier_child(&b);
			for (long i = p; i < count; i += NPROD) {
				memcpy(buf, &i, sizeof(i));
				ep_send(&e, 0, buf, msgsize);
			}
			_exit(0);
		}
	}
	for (int c = 0; c < NCONS; c++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			long n = 0;

			barrier_child(&b);
			for (;;) {
				if (kchan) {
					bool ok;
					ssize_t r = chan_recv(e.fd[0][0], buf,
							      msgsize, &ok);

					if (r < 0)
						die("chan_recv");
					if (!ok)
						break;
				} else {
					ssize_t r = mq_receive(e.mq[0], buf,
							       MAXMSG, NULL);

					if (r < 0)
						die("mq_receive");
					if (r == 1)
						break;	/* sentinel */
				}
				n++;
			}
			atomic_fetch_add(&sh->received, n);
			uint64_t t = now_ns(), cur = atomic_load(&sh->t_end);

			while (cur < t &&
			       !atomic_compare_exchange_weak(&sh->t_end, &cur, t))
				;
			_exit(0);
		}
	}
	t0 = barrier_go(&b, NPROD + NCONS);
	for (int p = 0; p < NPROD; p++) {
		int st;

		if (waitpid(prod[p], &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st))
			dief("m2m: producer failed");
	}
	if (kchan) {
		if (chan_close(e.fd[0][1]) < 0)
			die("chan_close");
	} else {
		for (int c = 0; c < NCONS; c++)
			if (mq_send(e.mq[0], buf, 1, 0) < 0)
				die("mq_send(sentinel)");
	}
	wait_children();
	if (atomic_load(&sh->received) != count)
		dief("m2m: lost or duplicated messages");

	char key[64];

	snprintf(key, sizeof(key), "m2m.%s", mech);
	result(key, (double)count /
	       ((double)(atomic_load(&sh->t_end) - t0) / 1e9), "msgs/s");
}

/* ---- select vs epoll: one of N ready ---- */

static int *make_chans(int n, unsigned cap)
{
	int *fds = malloc((size_t)n * sizeof(int));

	if (!fds)
		die("malloc");
	for (int i = 0; i < n; i++) {
		fds[i] = chan_make(8, cap, 0);
		if (fds[i] < 0)
			die("chan_make");
	}
	return fds;
}

static void close_all(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
}

static void bench_select(int n, long iters)
{
	int *fds = make_chans(n, 1);
	struct chan_case *cs = calloc((size_t)n, sizeof(*cs));
	uint64_t bufs[n > 0 ? n : 1];
	uint64_t msg = 42, t0, t1;
	int ready = n / 2;

	if (!cs)
		die("calloc");
	for (int i = 0; i < n; i++) {
		cs[i].ch = fds[i];
		cs[i].op = CHAN_RECV;
		cs[i].buf = &bufs[i];
	}
	t0 = 0;
	for (long i = -iters / 10 - 1; i < iters; i++) {
		if (i == 0)
			t0 = now_ns();
		for (int k = 0; k < n; k++)
			cs[k].len = 8;
		if (chan_trysend(fds[ready], &msg, 8) < 0)
			die("chan_trysend");
		if (chan_select(cs, (size_t)n, -1) != ready)
			die("chan_select");
	}
	t1 = now_ns();

	char key[64];

	snprintf(key, sizeof(key), "select.kchan.%d", n);
	result(key, (double)(t1 - t0) / (double)iters / 1000.0, "us/op");
	free(cs);
	close_all(fds, n);
}

/*
 * The same with a select set: the N recv cases are registered once; an
 * iteration is the trysend and one chan_selset_wait(). Skipped (an INFO
 * line) when the module has no select sets.
 */
static void bench_selset(int n, long iters)
{
	int *fds = make_chans(n, 1);
	uint64_t bufs[n > 0 ? n : 1];
	uint64_t msg = 42, t0, t1;
	int ready = n / 2, set;
	size_t len;
	bool ok;

	set = chan_selset_make(CHAN_CLOEXEC);
	if (set < 0 && errno == ENOTTY) {
		printf("INFO selset unsupported by this module: %s\n", strerror(errno));
		close_all(fds, n);
		return;
	}
	if (set < 0)
		die("chan_selset_make");
	for (int i = 0; i < n; i++) {
		struct chan_case c = { .ch = fds[i], .op = CHAN_RECV,
				       .buf = &bufs[i], .len = 8 };

		if (chan_selset_set(set, (unsigned)i, &c) < 0)
			die("chan_selset_set");
	}
	t0 = 0;
	for (long i = -iters / 10 - 1; i < iters; i++) {
		if (i == 0)
			t0 = now_ns();
		if (chan_trysend(fds[ready], &msg, 8) < 0)
			die("chan_trysend");
		if (chan_selset_wait(set, -1, &len, &ok) != ready || !ok || len != 8)
			die("chan_selset_wait");
	}
	t1 = now_ns();

	char key[64];

	snprintf(key, sizeof(key), "selset.kchan.%d", n);
	result(key, (double)(t1 - t0) / (double)iters / 1000.0, "us/op");
	close(set);
	close_all(fds, n);
}

static void bench_selbase(long iters)
{
	int *fds = make_chans(1, 1);
	uint64_t msg = 42, in, t0 = 0, t1;
	bool ok;

	for (long i = -iters / 10 - 1; i < iters; i++) {
		if (i == 0)
			t0 = now_ns();
		if (chan_trysend(fds[0], &msg, 8) < 0)
			die("chan_trysend");
		if (chan_tryrecv(fds[0], &in, 8, &ok) != 8)
			die("chan_tryrecv");
	}
	t1 = now_ns();
	result("select.kchan.base", (double)(t1 - t0) / (double)iters / 1000.0,
	       "us/op");
	close_all(fds, 1);
}

static void bench_epoll(int n, long iters, bool on_chans)
{
	struct epoll_event ev, out[4];
	int (*p)[2] = calloc((size_t)n, sizeof(*p));
	int *chs = NULL;
	int ep = epoll_create1(0);
	int ready = n / 2;
	uint64_t msg = 42, in, t0 = 0, t1;
	bool ok;

	if (!p)
		die("calloc");
	if (ep < 0)
		die("epoll_create1");
	if (on_chans) {
		chs = make_chans(n, 1);
		for (int i = 0; i < n; i++)
			p[i][0] = p[i][1] = chs[i];
	}
	for (int i = 0; i < n; i++) {
		if (!on_chans && pipe(p[i]) < 0)
			die("pipe");
		ev.events = EPOLLIN;
		ev.data.u32 = (uint32_t)i;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, p[i][0], &ev) < 0)
			die("epoll_ctl");
	}
	for (long i = -iters / 10 - 1; i < iters; i++) {
		if (i == 0)
			t0 = now_ns();
		if (on_chans) {
			if (chan_trysend(p[ready][1], &msg, 8) < 0)
				die("chan_trysend");
		} else if (write(p[ready][1], &msg, 8) != 8) {
			die("write");
		}
		if (epoll_wait(ep, out, 4, -1) != 1 ||
		    out[0].data.u32 != (uint32_t)ready)
			die("epoll_wait");
		if (on_chans) {
			if (chan_tryrecv(p[ready][0], &in, 8, &ok) != 8)
				die("chan_tryrecv");
		} else if (read(p[ready][0], &in, 8) != 8) {
			die("read");
		}
	}
	t1 = now_ns();

	char key[64];

	snprintf(key, sizeof(key), "%s.%d", on_chans ? "epoll.kchan" : "epoll.pipe", n);
	result(key, (double)(t1 - t0) / (double)iters / 1000.0, "us/op");
	close(ep);
	if (on_chans) {
		close_all(chs, n);
	} else {
		for (int i = 0; i < n; i++) {
			close(p[i][0]);
			close(p[i][1]);
		}
	}
	free(p);
}

static void bench_epollbase(long iters)
{
	uint64_t msg = 42, in, t0 = 0, t1;
	int p[2];

	if (pipe(p) < 0)
		die("pipe");
	for (long i = -iters / 10 - 1; i < iters; i++) {
		if (i == 0)
			t0 = now_ns();
		if (write(p[1], &msg, 8) != 8 || read(p[0], &in, 8) != 8)
			die("pipe");
	}
	t1 = now_ns();
	result("epoll.pipe.base", (double)(t1 - t0) / (double)iters / 1000.0,
	       "us/op");
	close(p[0]);
	close(p[1]);
}

/*
 * Single-process costs without scheduling: the syscall floor, the ioctl
 * floor (dispatch + LSM hook, an unknown command on a channel fd), and one
 * non-blocking message in and out of a capacity-1 queue per mechanism.
 */
static void bench_micro(long iters, const char *only)
{
	uint64_t msg = 42, in, t0, t1;
	int ch = chan_make(8, 1, CHAN_NONBLOCK);
	int efd = eventfd(0, EFD_NONBLOCK);
	bool ok;

	if (ch < 0 || efd < 0)
		die("micro setup");

#define WANT(x) (!only || !strcmp(only, x) ? iters : 0)
	/* decided before the timed loops: no strcmp() in them */
	const long n_getppid = WANT("getppid");
	const long n_ioctl_enotty = WANT("ioctl-enotty");
	const long n_kchan_ioctl_pair = WANT("kchan-ioctl-pair");
	const long n_kchan_rw_pair = WANT("kchan-rw-pair");
	const long n_eventfd_pair = WANT("eventfd-pair");

	t0 = now_ns();
	for (long i = 0; i < n_getppid; i++)
		syscall(SYS_getppid);
	t1 = now_ns();
	result("micro.getppid", (double)(t1 - t0) / (double)iters / 1000.0, "us/op");

	t0 = now_ns();
	for (long i = 0; i < n_ioctl_enotty; i++)
		if (ioctl(ch, _IO(CHAN_IOC_MAGIC, 0x7f)) != -1)
			dief("ioctl: unknown command accepted");
	t1 = now_ns();
	result("micro.ioctl-enotty", (double)(t1 - t0) / (double)iters / 1000.0, "us/op");

	t0 = now_ns();
	for (long i = 0; i < n_kchan_ioctl_pair; i++) {
		if (chan_send(ch, &msg, 8) < 0 || chan_recv(ch, &in, 8, &ok) != 8)
			die("chan_send/chan_recv");
	}
	t1 = now_ns();
	result("micro.kchan-ioctl-pair", (double)(t1 - t0) / (double)iters / 1000.0, "us/op");

	t0 = now_ns();
	for (long i = 0; i < n_kchan_rw_pair; i++) {
		if (write(ch, &msg, 8) != 8 || read(ch, &in, 8) != 8)
			die("write/read(chan)");
	}
	t1 = now_ns();
	result("micro.kchan-rw-pair", (double)(t1 - t0) / (double)iters / 1000.0, "us/op");

	t0 = now_ns();
	for (long i = 0; i < n_eventfd_pair; i++) {
		if (write(efd, &msg, 8) != 8 || read(efd, &in, 8) != 8)
			die("write/read(eventfd)");
	}
	t1 = now_ns();
	result("micro.eventfd-pair", (double)(t1 - t0) / (double)iters / 1000.0, "us/op");
#undef WANT
	close(ch);
	close(efd);
}

/*
 * The context-switch floor: two processes on the one CPU of the icount
 * guest call sched_yield() in turn; the figure is per switch, the yield's
 * syscall included (subtract micro.getppid for the switch alone).
 */
static void bench_ctxsw(long iters)
{
	struct barrier b;
	uint64_t t0, t1;
	long sw;
	pid_t pid;

	/*
	 * SCHED_FIFO, one priority: a yield always moves the caller behind
	 * the other (SCHED_OTHER's may not switch). Inherited by the child;
	 * back to SCHED_OTHER at the end.
	 */
	struct sched_param sp = { .sched_priority = 1 }, sp0 = { 0 };
	bool fifo = sched_setscheduler(0, SCHED_FIFO, &sp) == 0;

	barrier_init(&b);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		barrier_child(&b);
		for (long i = 0; i < iters; i++)
			sched_yield();
		_exit(0);
	}
	sw = ctxsw_self();
	t0 = barrier_go(&b, 1);
	for (long i = 0; i < iters; i++)
		sched_yield();
	t1 = now_ns();
	sw = ctxsw_self() - sw;
	wait_children();
	sw += ctxsw_children();
	if (fifo)
		sched_setscheduler(0, SCHED_OTHER, &sp0);
	else
		printf("INFO ctxsw SCHED_FIFO refused: %s\n", strerror(errno));
	result("micro.ctxsw", (double)(t1 - t0) / (double)sw / 1000.0, "us/switch");
	result("ctxsw.micro.ctxsw", (double)sw / (double)iters, "switches/round");
}

/* ---- memory per idle object ---- */

struct meminfo {
	long slab, memfree, percpu, kstack;
};

static void settle(void)
{
	int fd;

	/* Let RCU-deferred frees (files) finish, then fold per-cpu counters. */
	sleep(1);
	fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "1", 1) < 0)
			(void)0;
		close(fd);
	}
}

static struct meminfo read_meminfo(void)
{
	struct meminfo m = { 0 };
	char line[256];
	FILE *f;

	settle();
	f = fopen("/proc/meminfo", "r");
	if (!f)
		die("/proc/meminfo");
	while (fgets(line, sizeof(line), f)) {
		long v;

		if (sscanf(line, "Slab: %ld", &v) == 1)
			m.slab = v;
		else if (sscanf(line, "MemFree: %ld", &v) == 1)
			m.memfree = v;
		else if (sscanf(line, "Percpu: %ld", &v) == 1)
			m.percpu = v;
		else if (sscanf(line, "KernelStack: %ld", &v) == 1)
			m.kstack = v;
	}
	fclose(f);
	return m;
}

/* /proc/slabinfo: name -> active_objs * objsize, for the per-cache diff */
#define MAXCACHES 512
struct slabs {
	int n;
	char name[MAXCACHES][48];
	long bytes[MAXCACHES];
};

static void read_slabs(struct slabs *s)
{
	char line[512];
	FILE *f = fopen("/proc/slabinfo", "r");

	s->n = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && s->n < MAXCACHES) {
		long active, total, objsize;
		char name[48];

		if (sscanf(line, "%47s %ld %ld %ld", name, &active, &total,
			   &objsize) != 4)
			continue;
		snprintf(s->name[s->n], sizeof(s->name[0]), "%s", name);
		s->bytes[s->n] = active * objsize;
		s->n++;
	}
	fclose(f);
}

static void bench_mem(const char *mech, long count)
{
	static struct slabs before, after;
	struct meminfo m0, m1;
	int *fds = malloc((size_t)count * 2 * sizeof(int));
	int dev = -1;
	char key[96];

	if (!fds)
		die("malloc");
	raise_nofile((rlim_t)count * 2 + 64);
	if (!strncmp(mech, "kchan", 5)) {
		dev = open(CHAN_DEVICE, O_RDWR);
		if (dev < 0)
			die(CHAN_DEVICE);
	}
	read_slabs(&before);
	m0 = read_meminfo();
	for (long i = 0; i < count; i++) {
		if (!strcmp(mech, "kchan") || !strcmp(mech, "kchan-buf")) {
			struct chan_create c = {
				.size = sizeof(c),
				.capacity = mech[5] ? CAPACITY : 0,
				.msg_size = mech[5] ? 64 : 8,
			};

			fds[i] = ioctl(dev, CHAN_IOC_CREATE, &c);
			if (fds[i] < 0)
				die("CHAN_IOC_CREATE");
		} else if (!strcmp(mech, "pipe")) {
			if (pipe(&fds[2 * i]) < 0)
				die("pipe");
		} else if (!strcmp(mech, "eventfd")) {
			fds[i] = eventfd(0, 0);
			if (fds[i] < 0)
				die("eventfd");
		} else {
			dief("mem: kchan, kchan-buf, pipe or eventfd");
		}
	}
	m1 = read_meminfo();
	read_slabs(&after);

	snprintf(key, sizeof(key), "mem.%s.slab", mech);
	result(key, (double)(m1.slab - m0.slab) * 1024.0 / (double)count,
	       "bytes/object");
	snprintf(key, sizeof(key), "mem.%s.total", mech);
	result(key, (double)(m0.memfree - m1.memfree) * 1024.0 / (double)count,
	       "bytes/object");
	for (int i = 0; i < after.n; i++) {
		long b0 = 0;

		for (int j = 0; j < before.n; j++)
			if (!strcmp(before.name[j], after.name[i])) {
				b0 = before.bytes[j];
				break;
			}
		double per = (double)(after.bytes[i] - b0) / (double)count;

		if (per >= 8.0)
			printf("SLAB mem.%s %s %.0f\n", mech, after.name[i], per);
	}
	fflush(stdout);
	for (long i = 0; i < count * (strcmp(mech, "pipe") ? 1 : 2); i++)
		close(fds[i]);
	if (dev >= 0)
		close(dev);
	free(fds);
}

static long arg_long(const char *s)
{
	char *end;
	long v = strtol(s, &end, 0);

	if (*s == 0 || *end != 0 || v < 0)
		dief("bad number");
	return v;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 4 && !strcmp(argv[1], "pingpong"))
		bench_pingpong(argv[2], arg_long(argv[3]));
	else if (argc >= 3 && !strcmp(argv[1], "callpp")) {
		bench_callpp(arg_long(argv[2]), true);
		bench_callpp(arg_long(argv[2]), false);
	}
	else if (argc >= 5 && !strcmp(argv[1], "tput"))
		bench_tput(argv[2], (size_t)arg_long(argv[3]), arg_long(argv[4]));
	else if (argc >= 5 && !strcmp(argv[1], "batch"))
		bench_batch((size_t)arg_long(argv[2]), arg_long(argv[3]),
			    (size_t)arg_long(argv[4]));
	else if (argc >= 4 && !strcmp(argv[1], "m2m"))
		bench_m2m(argv[2], arg_long(argv[3]));
	else if (argc >= 4 && !strcmp(argv[1], "select")) {
		raise_nofile(16384);
		bench_select((int)arg_long(argv[2]), arg_long(argv[3]));
		bench_selset((int)arg_long(argv[2]), arg_long(argv[3]));
	} else if (argc >= 4 && !strcmp(argv[1], "selset")) {
		raise_nofile(16384);
		bench_selset((int)arg_long(argv[2]), arg_long(argv[3]));
	} else if (argc >= 3 && !strcmp(argv[1], "selbase"))
		bench_selbase(arg_long(argv[2]));
	else if (argc >= 4 && !strcmp(argv[1], "epoll")) {
		raise_nofile(16384);
		bench_epoll((int)arg_long(argv[2]), arg_long(argv[3]), false);
	} else if (argc >= 4 && !strcmp(argv[1], "epollchan")) {
		raise_nofile(16384);
		bench_epoll((int)arg_long(argv[2]), arg_long(argv[3]), true);
	} else if (argc >= 3 && !strcmp(argv[1], "epollbase"))
		bench_epollbase(arg_long(argv[2]));
	else if (argc >= 4 && !strcmp(argv[1], "mem"))
		bench_mem(argv[2], arg_long(argv[3]));
	else if (argc >= 3 && !strcmp(argv[1], "ctxsw"))
		bench_ctxsw(arg_long(argv[2]));
	else if (argc >= 3 && !strcmp(argv[1], "micro"))
		bench_micro(arg_long(argv[2]), argc >= 4 ? argv[3] : NULL);
	else {
		fprintf(stderr, "usage: see the comment at the top of bench/kbench.c\n");
		return 2;
	}
	return 0;
}
