/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers shared by the examples: process plumbing only. Everything that
 * moves between processes goes through libchan.
 */
#ifndef KCHAN_EXAMPLES_COMMON_H
#define KCHAN_EXAMPLES_COMMON_H

#define _GNU_SOURCE
#include <chan.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The program's name, for messages; each example defines it. */
extern const char *prog;

__attribute__((noreturn, format(printf, 1, 2)))
static inline void die(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n;

	/* One write: a line is not cut by a process killed mid-message. */
	n = snprintf(msg, sizeof(msg), "%s[%d]: FAIL: ", prog, getpid());
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - n - 1, fmt, ap);
	va_end(ap);
	strcat(msg, "\n");
	fflush(stdout);
	ssize_t w = write(2, msg, strlen(msg));

	(void)w;
	exit(1);
}

/* A libchan (or libc) call that must succeed. */
#define CHECK(expr) do { \
	if ((expr) < 0) \
		die("%s:%d: %s: %s", __FILE__, __LINE__, #expr, strerror(errno)); \
} while (0)

/* An invariant. */
#define EXPECT(cond, ...) do { \
	if (!(cond)) \
		die(__VA_ARGS__); \
} while (0)

static inline int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

#define MS(x)	((int64_t)(x) * 1000000)

/*
 * fork() a child that runs fn(arg) and exits with its return value. The
 * child dies with its parent, so a failed example never leaves processes
 * behind; stdout is flushed first so nothing is printed twice.
 */
static inline pid_t spawn(int (*fn)(void *), void *arg)
{
	pid_t parent = getpid(), pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		exit(fn(arg));
	}
	return pid;
}

/* Wait for one child; returns its exit status, or 128+signal. */
static inline int reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/* Wait for n children, failing unless every one exited 0. */
static inline void reap_all(const pid_t *pids, int n, const char *what)
{
	for (int i = 0; i < n; i++) {
		int st = reap(pids[i]);

		EXPECT(st == 0, "%s %d (pid %d) exited with status %d", what, i,
		       (int)pids[i], st);
	}
}

/* Shared memory visible to every process forked after the call. */
static inline void *shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	return p;
}

/* Kill the whole example if it hangs: a hang is a failure, not a wait. */
static inline void watchdog(unsigned seconds)
{
	signal(SIGALRM, SIG_DFL);
	alarm(seconds);
}

/*
 * KCHAN_EXAMPLE_BREAK=N (N > 0) in the environment makes an example inject
 * the bug its invariant guards against (N picks one when it has several),
 * so that one can watch the check catch it: the example must then fail.
 * Returns 0 when unset, empty or "0".
 */
static inline int break_mode(void)
{
	const char *s = getenv("KCHAN_EXAMPLE_BREAK");
	int n;

	if (!s || !*s)
		return 0;
	n = atoi(s);
	return n > 0 ? n : (strcmp(s, "0") ? 1 : 0);
}

/*
 * break_mode(), checked against the example's bugs (what[0] is bug 1, ...)
 * and announced on stdout. Returns 0 for a normal run.
 */
static inline int break_choose(const char *const *what, int nwhat)
{
	int n = break_mode();

	if (!n)
		return 0;
	EXPECT(n <= nwhat, "KCHAN_EXAMPLE_BREAK=%d: only 1..%d", n, nwhat);
	printf("%s: KCHAN_EXAMPLE_BREAK=%d: %s; this run must fail\n", prog, n,
	       what[n - 1]);
	return n;
}

#endif
