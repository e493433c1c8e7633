/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the kchan selftests.
 *
 * Convention: the kc_* wrappers return a value >= 0 on success and -errno on
 * failure, so a test reads ASSERT_EQ(-EAGAIN, kc_send(...)).
 *
 * Children made with kc_fork() die with their parent (PDEATHSIG) and after
 * KC_CHILD_ALARM seconds at most, so a broken module can never hang the
 * suite; they report with their exit status (0 = fine) and never use the
 * harness's ASSERT_* (that is for the test process only).
 *
 * Synchronisation never relies on sleeps: a test that needs "the child is
 * blocked in send/recv now" waits until CHAN_IOC_INFO reports the waiter.
 */
#ifndef KCHAN_TEST_H
#define KCHAN_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/chan.h>

#include "kselftest_harness.h"

/*
 * Is the running test still passing? 6.12's harness (the one the suite is
 * built with) answers with __test_passed(); 6.1's kept a passed field.
 */
#ifdef FIXTURE_TEARDOWN_PARENT
#define kc_test_passed(m)	__test_passed(m)
#else
#define kc_test_passed(m)	((m)->passed)
#endif

#define KC_CHILD_ALARM	25		/* seconds a child may live */
#define KC_WAIT_MS	10000		/* longest wait for a state to appear */

/* Exit codes of children. */
#define KC_OK		0
#define KC_FAIL		1

static inline int64_t kc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline void kc_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Create a channel; returns the fd or -errno. */
static inline int kc_create_flags(unsigned int cap, unsigned int msg_size,
				  unsigned int flags)
{
	struct chan_create c;
	int dev, fd, err;

	dev = open(CHAN_DEVICE, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return -errno;
	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.flags = flags;
	c.capacity = cap;
	c.msg_size = msg_size;
	fd = ioctl(dev, CHAN_IOC_CREATE, &c);
	err = errno;
	close(dev);
	return fd < 0 ? -err : fd;
}

static inline int kc_create(unsigned int cap, unsigned int msg_size)
{
	return kc_create_flags(cap, msg_size, 0);
}

/*
 * CHAN_IOC_OPEN and CHAN_IOC_UNLINK through @dev, a /dev/chan fd the caller
 * keeps (or -1: open /dev/chan for this call only, as a test that unloads
 * chan.ko needs); fd / 0, or -errno.
 */
static inline int kc_name_open(int dev, const char *name, int oflag,
			       unsigned int mode, unsigned int flags,
			       unsigned int cap, unsigned int msg_size)
{
	struct chan_open o;
	int own = dev < 0, fd, err;

	if (own && (dev = open(CHAN_DEVICE, O_RDWR | O_CLOEXEC)) < 0)
		return -errno;
	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.oflag = oflag;
	o.name = (uintptr_t)name;
	o.mode = mode;
	o.flags = flags;
	o.capacity = cap;
	o.msg_size = msg_size;
	fd = ioctl(dev, CHAN_IOC_OPEN, &o);
	err = errno;
	if (own)
		close(dev);
	return fd < 0 ? -err : fd;
}

static inline int kc_name_unlink(int dev, const char *name)
{
	struct chan_unlink u;
	int own = dev < 0, r, err;

	if (own && (dev = open(CHAN_DEVICE, O_RDWR | O_CLOEXEC)) < 0)
		return -errno;
	memset(&u, 0, sizeof(u));
	u.size = sizeof(u);
	u.name = (uintptr_t)name;
	r = ioctl(dev, CHAN_IOC_UNLINK, &u);
	err = errno;
	if (own)
		close(dev);
	return r < 0 ? -err : 0;
}

/*
 * CHAN_IOC_SELECT issued on fd @on (/dev/chan or a channel); the index or
 * -errno, -EPROTO when the returned index and the written one differ.
 */
static inline int kc_select_on(int on, struct chan_select_case *c,
			       unsigned int n, int64_t timeout_ns)
{
	struct chan_select s;
	int r;

	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.cases = (uintptr_t)c;
	s.ncases = n;
	s.case_size = sizeof(struct chan_select_case);
	s.timeout_ns = timeout_ns;
	s.index = 12345;
	r = ioctl(on, CHAN_IOC_SELECT, &s);
	if (r < 0)
		return -errno;
	return r == s.index ? r : -EPROTO;
}

/*
 * /dev/chan, opened once per process (children inherit it). Not for a
 * program that unloads chan.ko: the open file pins the module.
 */
static inline int kc_devfd(void)
{
	static int dev = -1;

	if (dev < 0)
		dev = open(CHAN_DEVICE, O_RDWR | O_CLOEXEC);
	return dev;
}

/* ---- select sets (CHAN_IOC_SELSET_*) ------------------------------------- */

/* CHAN_IOC_SELSET_CREATE issued on dev (a /dev/chan fd): the set or -errno. */
static inline int kc_selset_create_on(int dev, unsigned int flags)
{
	struct chan_selset_create c;
	int r;

	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.flags = flags;
	r = ioctl(dev, CHAN_IOC_SELSET_CREATE, &c);
	return r < 0 ? -errno : r;
}

/* A new select set on a /dev/chan opened for the call: its fd or -errno. */
static inline int kc_selset_create(unsigned int flags)
{
	int dev, fd;

	dev = open(CHAN_DEVICE, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return -errno;
	fd = kc_selset_create_on(dev, flags);
	close(dev);
	return fd;
}

static inline void kc_selset_ctl_init(struct chan_selset_ctl *c,
				      unsigned int index, int fd,
				      unsigned int op, const void *buf,
				      uint64_t len)
{
	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	c->index = index;
	c->fd = fd;
	c->op = op;
	c->buf = (uintptr_t)buf;
	c->len = len;
}

/* CHAN_IOC_SELSET_CTL with a prepared struct: 0 or -errno. */
static inline int kc_selset_ctl_raw(int set, const void *c)
{
	return ioctl(set, CHAN_IOC_SELSET_CTL, c) < 0 ? -errno : 0;
}

/* Make case index of set an op on channel fd (-1: nil). 0 or -errno. */
static inline int kc_selset_ctl(int set, unsigned int index, int fd,
				unsigned int op, const void *buf, uint64_t len)
{
	struct chan_selset_ctl c;

	kc_selset_ctl_init(&c, index, fd, op, buf, len);
	return kc_selset_ctl_raw(set, &c);
}

/* Make case index of set nil. 0 or -errno. */
static inline int kc_selset_nil(int set, unsigned int index)
{
	return kc_selset_ctl(set, index, -1, CHAN_OP_RECV, NULL, 0);
}

/*
 * A wait struct with index, ok and len preset to values the kernel never
 * reports (12345, 0x5e, 0x5e5e5e5e), so that a field it did not write shows.
 */
static inline void kc_selset_wait_init(struct chan_selset_wait *w,
				       int64_t timeout_ns)
{
	memset(w, 0, sizeof(*w));
	w->size = sizeof(*w);
	w->timeout_ns = timeout_ns;
	w->index = 12345;
	w->ok = 0x5e;
	w->len = 0x5e5e5e5eULL;
}

/*
 * CHAN_IOC_SELSET_WAIT: the index of the case that fired (its ok and len
 * in *w) or -errno; -EPROTO when the index stored in *w differs from the
 * one returned.
 */
static inline int kc_selset_wait(int set, struct chan_selset_wait *w,
				 int64_t timeout_ns)
{
	int r;

	kc_selset_wait_init(w, timeout_ns);
	r = ioctl(set, CHAN_IOC_SELSET_WAIT, w);
	if (r < 0)
		return -errno;
	return r == w->index ? r : -EPROTO;
}

static inline void kc_msg_init(struct chan_msg *m, const void *buf,
			       size_t len, int64_t timeout_ns)
{
	memset(m, 0, sizeof(*m));
	m->size = sizeof(*m);
	m->buf = (uintptr_t)buf;
	m->len = len;
	m->timeout_ns = timeout_ns;
	m->fd = -1;
}

/* Send one message; 0 or -errno. */
static inline int kc_send(int fd, const void *buf, size_t len,
			  int64_t timeout_ns)
{
	struct chan_msg m;

	kc_msg_init(&m, buf, len, timeout_ns);
	return ioctl(fd, CHAN_IOC_SEND, &m) < 0 ? -errno : 0;
}

/*
 * Receive one message into buf (size bytes). Returns 1 for a message
 * (length in *len), 0 for closed and drained, or -errno.
 */
static inline int kc_recv(int fd, void *buf, size_t size, size_t *len,
			  int64_t timeout_ns)
{
	struct chan_msg m;

	kc_msg_init(&m, buf, size, timeout_ns);
	if (ioctl(fd, CHAN_IOC_RECV, &m) < 0)
		return -errno;
	if (len)
		*len = m.len;
	return m.ok ? 1 : 0;
}

/* Send one message carrying descriptor pass (or -1); 0 or -errno. */
static inline int kc_send_fd(int fd, const void *buf, size_t len, int pass,
			     int64_t timeout_ns)
{
	struct chan_msg m;

	kc_msg_init(&m, buf, len, timeout_ns);
	m.fd = pass;
	return ioctl(fd, CHAN_IOC_SEND, &m) < 0 ? -errno : 0;
}

static inline int kc_send_u32(int fd, uint32_t v, int64_t timeout_ns)
{
	return kc_send(fd, &v, sizeof(v), timeout_ns);
}

/* 1 message (in *v, must be 4 bytes long), 0 closed, -errno; -EPROTO on a
 * message of another length.
 */
static inline int kc_recv_u32(int fd, uint32_t *v, int64_t timeout_ns)
{
	size_t len = 0;
	uint32_t tmp = 0;
	int r = kc_recv(fd, &tmp, sizeof(tmp), &len, timeout_ns);

	if (r == 1 && len != sizeof(tmp))
		return -EPROTO;
	if (r == 1 && v)
		*v = tmp;
	return r;
}

static inline int kc_info(int fd, struct chan_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return ioctl(fd, CHAN_IOC_INFO, info) < 0 ? -errno : 0;
}

/* One field of INFO (4 or 8 bytes wide); a negative errno when INFO fails. */
static inline long long kc_info_field(int fd, size_t off, size_t width)
{
	struct chan_info info;
	int r = kc_info(fd, &info);

	if (r)
		return r;
	if (width == 8)
		return (long long)*(const __u64 *)((const char *)&info + off);
	return *(const __u32 *)((const char *)&info + off);
}

#define KC_FIELD(field) \
	offsetof(struct chan_info, field), sizeof(((struct chan_info *)0)->field)
#define KC_INFO(fd, field) kc_info_field(fd, KC_FIELD(field))

/* Wait (without relying on timing) until INFO field == want. 0 or -ETIMEDOUT. */
static inline int kc_wait_field(int fd, size_t off, size_t width,
				unsigned int want)
{
	int64_t end = kc_now_ns() + (int64_t)KC_WAIT_MS * 1000000;
	long long v;

	for (;;) {
		v = kc_info_field(fd, off, width);
		if (v == want)
			return 0;
		if (kc_now_ns() > end)
			return -ETIMEDOUT;
		usleep(500);
	}
}

#define KC_WAIT(fd, field, want) kc_wait_field(fd, KC_FIELD(field), want)

static inline int kc_dup_flags(int fd, unsigned int rights, unsigned int flags)
{
	struct chan_dup d;
	int r;

	memset(&d, 0, sizeof(d));
	d.size = sizeof(d);
	d.rights = rights;
	d.flags = flags;
	r = ioctl(fd, CHAN_IOC_DUP, &d);
	return r < 0 ? -errno : r;
}

static inline int kc_dup(int fd, unsigned int rights)
{
	return kc_dup_flags(fd, rights, 0);
}

static inline int kc_close(int fd)
{
	return ioctl(fd, CHAN_IOC_CLOSE) < 0 ? -errno : 0;
}

/* Set or clear O_NONBLOCK; 0 or -errno. */
static inline int kc_set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	return fcntl(fd, F_SETFL, fl) < 0 ? -errno : 0;
}

/* revents of a zero-timeout poll for every event bit we care about. */
static inline int kc_revents(int fd)
{
	struct pollfd p = {
		.fd = fd,
		.events = POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM | POLLPRI,
	};
	int r = poll(&p, 1, 0);

	if (r < 0)
		return -errno;
	return p.revents;
}

/* fork() whose child cannot outlive the test. */
static inline pid_t kc_fork(void)
{
	pid_t ppid = getpid();
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != ppid)
			_exit(99);
		signal(SIGALRM, SIG_DFL);
		alarm(KC_CHILD_ALARM);
	}
	return pid;
}

/*
 * Reap a child: its exit status, 128 + signal if killed, -1 on a waitpid
 * error.
 */
static inline int kc_reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

/* Anonymous memory shared with children (zeroed). */
static inline void *kc_shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* 1 if fd has data to read right now, 0 if not, -errno. */
static inline int kc_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r = poll(&p, 1, 0);

	return r < 0 ? -errno : r;
}

/* Read one byte from a pipe, waiting at most KC_WAIT_MS. 1 on success. */
static inline int kc_pipe_get(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;
	int r;

	do {
		r = poll(&p, 1, KC_WAIT_MS);
	} while (r < 0 && errno == EINTR);
	if (r != 1)
		return r < 0 ? -errno : -ETIMEDOUT;
	return read(fd, &c, 1) == 1 ? 1 : -EIO;
}

static inline void kc_pipe_put(int fd)
{
	char c = 'x';

	if (write(fd, &c, 1) != 1)
		_exit(98);
}

/* Number of channels /proc/kchan lists (lines after the header), -errno. */
static inline int kc_kchan_count(void)
{
	char line[512];
	FILE *f = fopen("/proc/kchan", "r");
	int n = -1;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (strchr(line, '\n'))
			n++;
	fclose(f);
	return n;
}

/*
 * Wait (at most ms) until /proc/kchan lists want channels: a release may
 * be deferred (fput, a work item). Returns the last count seen.
 */
static inline int kc_kchan_wait_count(int want, int ms)
{
	int64_t end = kc_now_ns() + (int64_t)ms * 1000000;
	int n;

	for (;;) {
		n = kc_kchan_count();
		if (n == want || kc_now_ns() > end)
			return n;
		usleep(2000);
	}
}

/* Send fd over a unix socket (SCM_RIGHTS, one byte of data); 0 or -errno. */
static inline int kc_unix_send_fd(int sock, int fd)
{
	char c = 'f', cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &c, 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;

	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &mh, 0) == 1 ? 0 : -errno;
}

/*
 * Receive a descriptor sent by kc_unix_send_fd (installed close-on-exec):
 * the fd, -errno, or -EPROTO when the message carries none.
 */
static inline int kc_unix_recv_fd(int sock)
{
	char c, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &c, 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != 1)
		return -errno;
	cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -EPROTO;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* A module parameter from sysfs, or dflt when it cannot be read. */
static inline unsigned long kc_param(const char *name, unsigned long dflt)
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

/* A module parameter as a signed value, or -1 when it cannot be read. */
static inline long kc_param_get(const char *name)
{
	return (long)kc_param(name, -1UL);
}

/* Set a module parameter through sysfs (root); 0 or -errno. */
static inline int kc_param_set(const char *name, unsigned long v)
{
	char path[128], buf[32];
	int fd, len, r = 0;

	snprintf(path, sizeof(path), "/sys/module/chan/parameters/%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%lu", v);
	if (write(fd, buf, len) != len)
		r = -errno;
	close(fd);
	return r;
}

/* Install a handler for sig with or without SA_RESTART. */
static inline int kc_sigaction(int sig, void (*fn)(int), int restart)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}

/*
 * Runs of kc_on_usr1 (or any handler that calls it), counted in memory
 * shared with children: point kc_hits at kc_shared() memory first.
 */
static volatile int *kc_hits __attribute__((unused));

static inline void kc_on_usr1(int sig)
{
	(void)sig;
	__atomic_fetch_add(kc_hits, 1, __ATOMIC_SEQ_CST);
}

/* Wait until *kc_hits >= n. 0 or -ETIMEDOUT. */
static inline int kc_wait_hits(int n)
{
	int64_t end = kc_now_ns() + (int64_t)KC_WAIT_MS * 1000000;

	while (__atomic_load_n(kc_hits, __ATOMIC_SEQ_CST) < n) {
		if (kc_now_ns() > end)
			return -ETIMEDOUT;
		usleep(200);
	}
	return 0;
}

/*
 * The SA_RESTART deadline tests' signaller, run in a child: up to @max
 * times, once @parent is parked (a recv waiter on @e and a send waiter on
 * @u), wait @gap_ms, note the time in @sh->sent_ns[] and send SIGUSR1.
 * It stops when the parent sets @sh->stop (its wait returned) and then
 * exits. The parent reads kc_hits and the times with kc_restart_check().
 */
struct kc_restart {
	int stop;
	int64_t sent_ns[8];
};

static inline void kc_restart_signaller(pid_t parent, int e, int u, int max,
					int gap_ms, struct kc_restart *sh)
{
	int i;

	for (i = 0; i < max && i < 8; i++) {
		while (KC_INFO(e, recv_waiters) != 1 ||
		       KC_INFO(u, send_waiters) != 1) {
			if (__atomic_load_n(&sh->stop, __ATOMIC_SEQ_CST))
				_exit(0);
			usleep(1000);
		}
		kc_sleep_ms(gap_ms);
		if (__atomic_load_n(&sh->stop, __ATOMIC_SEQ_CST))
			break;
		sh->sent_ns[i] = kc_now_ns();
		kill(parent, SIGUSR1);
		if (kc_wait_hits(i + 1))
			_exit(12);
	}
	_exit(0);
}

/*
 * After a timed wait of @timeout that began at @t0 and lasted @el and was
 * signalled as kc_restart_signaller() does: how far below the bound the
 * wait stayed, in ns. Restarting with the full timeout after the last
 * signal that hit the wait (sent at s) would take at least
 * (s - t0) + timeout; a wait that keeps its deadline returns about
 * timeout after t0. Returns (s - t0) + timeout - el (> 0: kept), or
 * INT64_MIN when fewer than @min_hits signals hit the wait.
 */
static inline int64_t kc_restart_margin(const struct kc_restart *sh,
					int64_t t0, int64_t el,
					int64_t timeout, int min_hits)
{
	int i, hits = 0;
	int64_t last = 0;

	for (i = 0; i < 8 && sh->sent_ns[i]; i++) {
		if (sh->sent_ns[i] < t0 + el) {
			hits++;
			last = sh->sent_ns[i];
		}
	}
	if (hits < min_hits)
		return INT64_MIN;
	return (last - t0) + timeout - el;
}

/* The number after "@key:" in /proc/self/fdinfo/@fd; -1 when absent. */
static inline long long kc_fdinfo_num(int fd, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = strtoll(line + klen + 1, NULL, 0);
			break;
		}
	}
	fclose(f);
	return v;
}

/* The page size (never assume 4096). */
static inline size_t kc_page(void)
{
	static size_t page;

	if (!page)
		page = (size_t)sysconf(_SC_PAGESIZE);
	return page;
}

/* A page that faults on any access, or NULL. */
static inline void *kc_page_none(void)
{
	void *p = mmap(NULL, kc_page(), PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Two pages: the first read-write, the second PROT_NONE; or NULL. */
static inline char *kc_page_then_hole(void)
{
	char *p = mmap(NULL, 2 * kc_page(), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (mprotect(p + kc_page(), kc_page(), PROT_NONE))
		return NULL;
	return p;
}

/* Sum of send_waiters + recv_waiters over fds (negative on INFO error). */
static inline long long kc_waiters_sum(const int *fds, int n)
{
	long long s = 0, v;
	int i;

	for (i = 0; i < n; i++) {
		v = KC_INFO(fds[i], send_waiters);
		if (v < 0)
			return v;
		s += v;
		v = KC_INFO(fds[i], recv_waiters);
		if (v < 0)
			return v;
		s += v;
	}
	return s;
}

/*
 * Wait until a process is in the given /proc/PID/stat state ('S' asleep in
 * the kernel, 'T' stopped). 0 or -ETIMEDOUT (-errno if it is gone).
 */
static inline int kc_wait_state(pid_t pid, char state)
{
	int64_t end = kc_now_ns() + (int64_t)KC_WAIT_MS * 1000000;
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	for (;;) {
		fd = open(path, O_RDONLY);
		if (fd < 0)
			return -errno;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = 0;
			p = strrchr(buf, ')');
			if (p && p[1] == ' ' && p[2] == state)
				return 0;
		}
		if (kc_now_ns() > end)
			return -ETIMEDOUT;
		usleep(500);
	}
}

static inline int kc_wait_sleeping(pid_t pid)
{
	return kc_wait_state(pid, 'S');
}

/* CHAN_IOC_TIMER issued on fd @dev; the timer's fd or -errno. */
static inline int kc_timer_on(int dev, int clockid, int64_t value_ns,
			      int64_t interval_ns, unsigned int flags)
{
	struct chan_timer t;
	int r;

	memset(&t, 0, sizeof(t));
	t.size = sizeof(t);
	t.flags = flags;
	t.clockid = clockid;
	t.value_ns = value_ns;
	t.interval_ns = interval_ns;
	r = ioctl(dev, CHAN_IOC_TIMER, &t);
	return r < 0 ? -errno : r;
}

/* A CLOCK_MONOTONIC timer: one-shot (interval 0) or ticker; fd or -errno. */
static inline int kc_timer(int64_t value_ns, int64_t interval_ns)
{
	return kc_timer_on(kc_devfd(), CLOCK_MONOTONIC, value_ns, interval_ns,
			   CHAN_CLOEXEC);
}

/* CHAN_IOC_TIMER_SET: 1 (was running), 0 (was not) or -errno. */
static inline int kc_timer_set(int fd, int64_t value_ns, int64_t interval_ns,
			       unsigned int flags)
{
	struct chan_timer_set s;
	int r;

	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.flags = flags;
	s.value_ns = value_ns;
	s.interval_ns = interval_ns;
	r = ioctl(fd, CHAN_IOC_TIMER_SET, &s);
	return r < 0 ? -errno : r;
}

/* Receive one tick: 1 (in *t), 0 closed, -errno; -EPROTO on a bad length. */
static inline int kc_recv_tick(int fd, struct chan_tick *t, int64_t timeout_ns)
{
	size_t len = 0;
	int r = kc_recv(fd, t, sizeof(*t), &len, timeout_ns);

	if (r == 1 && len != sizeof(*t))
		return -EPROTO;
	return r;
}

/* A CHAN_IOC_CALL struct: send buf/len on s, then receive into rbuf/rsize from r. */
static inline void kc_call_init(struct chan_call *c, int s, const void *buf,
				size_t len, int r, void *rbuf, size_t rsize,
				int64_t timeout_ns)
{
	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	c->send_fd = s;
	c->recv_fd = r;
	c->send_buf = (uintptr_t)buf;
	c->send_len = len;
	c->recv_buf = (uintptr_t)rbuf;
	c->recv_len = rsize;
	c->timeout_ns = timeout_ns;
}

/* CHAN_IOC_CALL issued on fd on: 0 or -errno. */
static inline int kc_call_on(int on, struct chan_call *c)
{
	return ioctl(on, CHAN_IOC_CALL, c) < 0 ? -errno : 0;
}

#endif /* KCHAN_TEST_H */
