// SPDX-License-Identifier: GPL-2.0
/*
 * kchan demo: a multi-process producer/consumer over /dev/chan, written
 * against the raw ioctls of <linux/chan.h> (no library).
 *
 *   3 producers --send--> [ jobs: buffered channel ] --recv--> 2 consumers
 *                                                              |
 *   parent <------------- [ results: one summary per consumer ]+
 *
 * The parent creates both channels, hands each producer a send-only handle
 * and each consumer a recv-only one (CHAN_IOC_DUP), waits for the producers,
 * then closes the jobs channel (Go's close()). Consumers drain it, see it
 * closed, and send back a bitmap of what they got. The parent checks that
 * every message arrived exactly once and exits 0 only then.
 *
 * usage: demo [MESSAGES_PER_PRODUCER]   (default 1000)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/chan.h>

#define PRODUCERS	3
#define CONSUMERS	2
#define CAPACITY	16
#define MAX_PER_PROD	100000
#define TIMEOUT_NS	(60LL * 1000 * 1000 * 1000)	/* a hang is a bug */

struct job {
	uint32_t producer;
	uint32_t seq;
	uint64_t check;		/* derived from producer and seq */
};

struct summary {
	uint32_t consumer;
	uint32_t pid;
	uint32_t received;
	uint32_t per_producer[PRODUCERS];
	uint32_t duplicates;	/* same message seen twice by this consumer */
	uint32_t corrupt;	/* bad producer/seq/check */
	uint8_t seen[PRODUCERS][(MAX_PER_PROD + 7) / 8];
};

static unsigned int per_prod = 1000;

static void die(const char *what)
{
	fprintf(stderr, "demo: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t job_check(uint32_t producer, uint32_t seq)
{
	return (((uint64_t)producer << 32) | seq) * 0x9E3779B97F4A7C15ULL;
}

static int chan_create(unsigned int capacity, unsigned int msg_size)
{
	struct chan_create cc;
	int dev, fd;

	dev = open(CHAN_DEVICE, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		die("open " CHAN_DEVICE " (is chan.ko loaded?)");
	memset(&cc, 0, sizeof(cc));
	cc.size = sizeof(cc);
	cc.capacity = capacity;
	cc.msg_size = msg_size;
	fd = ioctl(dev, CHAN_IOC_CREATE, &cc);
	if (fd < 0)
		die("CHAN_IOC_CREATE");
	close(dev);
	return fd;
}

static int chan_dup(int fd, unsigned int rights)
{
	struct chan_dup d;
	int nfd;

	memset(&d, 0, sizeof(d));
	d.size = sizeof(d);
	d.rights = rights;
	nfd = ioctl(fd, CHAN_IOC_DUP, &d);
	if (nfd < 0)
		die("CHAN_IOC_DUP");
	return nfd;
}

static void chan_info(int fd, struct chan_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	if (ioctl(fd, CHAN_IOC_INFO, info) < 0)
		die("CHAN_IOC_INFO");
}

static void chan_send(int fd, const void *buf, size_t len)
{
	struct chan_msg m;

	memset(&m, 0, sizeof(m));
	m.size = sizeof(m);
	m.buf = (uintptr_t)buf;
	m.len = len;
	m.timeout_ns = TIMEOUT_NS;
	m.fd = -1;
	while (ioctl(fd, CHAN_IOC_SEND, &m) < 0)
		if (errno != EINTR)
			die("CHAN_IOC_SEND");
}

/* Returns the message length, or -1 when the channel is closed and drained. */
static long chan_recv(int fd, void *buf, size_t size)
{
	struct chan_msg m;

	memset(&m, 0, sizeof(m));
	m.size = sizeof(m);
	m.buf = (uintptr_t)buf;
	m.len = size;
	m.timeout_ns = TIMEOUT_NS;
	m.fd = -1;
	while (ioctl(fd, CHAN_IOC_RECV, &m) < 0)
		if (errno != EINTR)
			die("CHAN_IOC_RECV");
	return m.ok ? (long)m.len : -1;
}

static void producer(int id, int tx)
{
	struct job j;
	uint32_t seq;

	for (seq = 0; seq < per_prod; seq++) {
		j.producer = id;
		j.seq = seq;
		j.check = job_check(id, seq);
		chan_send(tx, &j, sizeof(j));
	}
	printf("producer %d (pid %d): sent %u messages\n", id, (int)getpid(), per_prod);
	fflush(stdout);
	_exit(0);
}

static void consumer(int id, int rx, int results)
{
	static struct summary s;
	struct job j;
	long n;

	memset(&s, 0, sizeof(s));
	s.consumer = id;
	s.pid = getpid();
	while ((n = chan_recv(rx, &j, sizeof(j))) >= 0) {
		if (n != sizeof(j) || j.producer >= PRODUCERS ||
		    j.seq >= per_prod || j.check != job_check(j.producer, j.seq)) {
			s.corrupt++;
			continue;
		}
		if (s.seen[j.producer][j.seq / 8] & (1u << (j.seq % 8)))
			s.duplicates++;
		s.seen[j.producer][j.seq / 8] |= 1u << (j.seq % 8);
		s.per_producer[j.producer]++;
		s.received++;
	}
	/* The jobs channel is closed and drained: report. */
	chan_send(results, &s, sizeof(s));
	_exit(0);
}

static pid_t spawn(void)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	return pid;
}

int main(int argc, char **argv)
{
	static struct summary got[CONSUMERS];
	pid_t prod_pid[PRODUCERS], cons_pid[CONSUMERS];
	unsigned int total = 0, dups = 0, corrupt = 0, missing = 0, twice = 0;
	struct chan_info ji, ri;
	int jobs, results, tx, rx, i, p, status, failed = 0;
	uint32_t seq;

	if (argc > 1) {
		per_prod = strtoul(argv[1], NULL, 0);
		if (per_prod == 0 || per_prod > MAX_PER_PROD) {
			fprintf(stderr, "usage: demo [MESSAGES_PER_PRODUCER (1..%d)]\n",
				MAX_PER_PROD);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	jobs = chan_create(CAPACITY, sizeof(struct job));
	results = chan_create(CONSUMERS, sizeof(struct summary));
	tx = chan_dup(jobs, CHAN_RIGHT_SEND);	/* for producers */
	rx = chan_dup(jobs, CHAN_RIGHT_RECV);	/* for consumers */
	chan_info(jobs, &ji);
	chan_info(results, &ri);
	printf("kchan demo: %d producers x %u messages -> buffered channel -> %d consumers\n",
	       PRODUCERS, per_prod, CONSUMERS);
	printf("jobs channel: id %llu, capacity %u, msg_size %u (producers get a send-only handle, consumers a recv-only one)\n",
	       (unsigned long long)ji.id, ji.capacity, ji.msg_size);
	printf("results channel: id %llu, capacity %u, msg_size %u\n",
	       (unsigned long long)ri.id, ri.capacity, ri.msg_size);

	for (i = 0; i < CONSUMERS; i++) {
		cons_pid[i] = spawn();
		if (cons_pid[i] == 0) {
			close(tx);
			close(jobs);
			consumer(i, rx, results);
		}
		printf("consumer %d: pid %d\n", i, (int)cons_pid[i]);
	}
	for (i = 0; i < PRODUCERS; i++) {
		prod_pid[i] = spawn();
		if (prod_pid[i] == 0) {
			close(rx);
			close(jobs);
			producer(i, tx);
		}
		printf("producer %d: pid %d\n", i, (int)prod_pid[i]);
	}
	close(tx);
	close(rx);

	for (i = 0; i < PRODUCERS; i++) {
		if (waitpid(prod_pid[i], &status, 0) < 0)
			die("waitpid");
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "demo: producer %d failed (status 0x%x)\n", i, status);
			failed = 1;
		}
	}
	chan_info(jobs, &ji);
	printf("all producers done (%llu sent, %u still buffered); closing the jobs channel\n",
	       (unsigned long long)ji.sent, ji.len);
	if (ioctl(jobs, CHAN_IOC_CLOSE) < 0)
		die("CHAN_IOC_CLOSE");

	for (i = 0; i < CONSUMERS; i++) {
		struct summary *s;
		long n = chan_recv(results, &got[i], sizeof(got[i]));

		if (n != (long)sizeof(got[i])) {
			fprintf(stderr, "demo: bad summary from a consumer (%ld bytes)\n", n);
			return 1;
		}
		s = &got[i];
		printf("consumer %u (pid %u): received %u messages (from producer 0: %u, 1: %u, 2: %u), then saw the channel closed\n",
		       s->consumer, s->pid, s->received, s->per_producer[0],
		       s->per_producer[1], s->per_producer[2]);
		total += s->received;
		dups += s->duplicates;
		corrupt += s->corrupt;
	}
	for (i = 0; i < CONSUMERS; i++) {
		if (waitpid(cons_pid[i], &status, 0) < 0)
			die("waitpid");
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "demo: consumer %d failed (status 0x%x)\n", i, status);
			failed = 1;
		}
	}

	/* Exactly once: in exactly one consumer's bitmap, and counts add up. */
	for (p = 0; p < PRODUCERS; p++) {
		for (seq = 0; seq < per_prod; seq++) {
			int holders = 0;

			for (i = 0; i < CONSUMERS; i++)
				holders += !!(got[i].seen[p][seq / 8] & (1u << (seq % 8)));
			if (holders == 0)
				missing++;
			else if (holders > 1)
				twice++;
		}
	}

	chan_info(jobs, &ji);
	printf("jobs channel %llu now: closed %u, buffered %u, sent %llu, received %llu\n",
	       (unsigned long long)ji.id, ji.closed, ji.len,
	       (unsigned long long)ji.sent, (unsigned long long)ji.received);
	close(jobs);
	close(results);

	if (failed || missing || twice || dups || corrupt ||
	    total != PRODUCERS * per_prod || !ji.closed ||
	    ji.sent != total || ji.received != total) {
		printf("FAILED: %u of %u messages received; missing %u, delivered twice %u, duplicates %u, corrupt %u\n",
		       total, PRODUCERS * per_prod, missing, twice + dups, dups, corrupt);
		return 1;
	}
	printf("OK: every one of the %u messages arrived exactly once\n", total);
	return 0;
}
