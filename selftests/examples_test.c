// SPDX-License-Identifier: GPL-2.0
/*
 * Run every example program of ../examples and check that it exits 0
 * (each checks its own invariant) and prints the lines that show the
 * pattern did what it claims.
 *
 * The examples are found next to this binary (../examples from the
 * directory it lives in), or in $KCHAN_EXAMPLES_DIR. Build them first
 * (make -C examples); a missing one fails its test.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"

#define RUN_LIMIT_S	240	/* one example, wall clock, under emulation */
#define OUT_MAX		(256 * 1024)

static void examples_dir(char *dir, size_t size)
{
	const char *env = getenv("KCHAN_EXAMPLES_DIR");
	char self[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		snprintf(dir, size, "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0) {
		snprintf(dir, size, "../examples");
		return;
	}
	self[n] = 0;
	snprintf(dir, size, "%s/../examples", dirname(self));
}

/*
 * Run one example with stdout and stderr into a pipe. Returns its exit
 * status (128 + signal if killed, -1 if it could not run) and its output
 * in *out (malloc'ed, NUL-terminated).
 */
static int run_example(const char *name, char *const *args, char **out)
{
	char dir[PATH_MAX], path[PATH_MAX + 64];
	size_t len = 0, cap = OUT_MAX;
	int p[2], st;
	time_t end = time(NULL) + RUN_LIMIT_S;
	pid_t pid;
	char *buf;

	examples_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	buf = calloc(1, cap + 1);
	*out = buf;
	if (!buf)
		return -1;
	if (access(path, X_OK)) {
		snprintf(buf, cap, "%s: %s (build the examples: make -C examples)",
			 path, strerror(errno));
		return -1;
	}
	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(p[1], 1);
		dup2(p[1], 2);
		if (chdir(dir) == 0) {
			if (args)
				execv(path, args);
			else
				execl(path, name, (char *)NULL);
		}
		dprintf(2, "exec %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		int r = poll(&pfd, 1, 1000);
		ssize_t n;

		if (r < 0 && errno != EINTR)
			break;
		if (time(NULL) > end) {
			kill(pid, SIGKILL);
			snprintf(buf + len, cap - len, "\n[killed after %d s]\n",
				 RUN_LIMIT_S);
			len = strlen(buf);
			break;
		}
		if (r <= 0)
			continue;
		if (len == cap)	/* keep draining, drop the excess */
			n = read(p[0], (char[256]){ 0 }, 256);
		else
			n = read(p[0], buf + len, cap - len);
		if (n <= 0)
			break;
		if (len < cap)
			len += n;
	}
	buf[len] = 0;
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

/*
 * Run @name (with the argument vector @args, or none when NULL); fail
 * unless it exits 0 and prints every line of @want.
 */
#define CHECK_EXAMPLE_ARGS(name, args, ...) do { \
	const char *want[] = { __VA_ARGS__, NULL }; \
	char *out = NULL; \
	int st = run_example(name, args, &out); \
	ASSERT_NE(NULL, out); \
	EXPECT_EQ(0, st) TH_LOG("%s exited %d; output:\n%s", name, st, out); \
	for (int i = 0; want[i]; i++) { \
		EXPECT_NE(NULL, strstr(out, want[i])) \
			TH_LOG("%s: missing \"%s\"; output:\n%s", name, want[i], out); \
	} \
	free(out); \
} while (0)

#define CHECK_EXAMPLE(name, ...) CHECK_EXAMPLE_ARGS(name, NULL, __VA_ARGS__)

FIXTURE(examples) {};
FIXTURE_SETUP(examples) {}
FIXTURE_TEARDOWN(examples) {}

TEST_F_TIMEOUT(examples, pipeline, RUN_LIMIT_S + 30)
{
	CHECK_EXAMPLE("pipeline",
		      "counter: sent 0..99, closed naturals",
		      "squarer: squared 100 numbers, closed squares",
		      "printer: 9801",
		      "printer: 100 squares, sum 328350, then closed",
		      "pipeline: ok");
}

TEST_F_TIMEOUT(examples, workerpool, RUN_LIMIT_S + 30)
{
	CHECK_EXAMPLE("workerpool",
		      "dispatcher: sent 1000 jobs, closed jobs",
		      "closer: 4 workers done, closed results",
		      "gatherer: 1000 results, each job exactly once",
		      "mpmc: 4 producers x 4 consumers, 100000 items, each received exactly once",
		      "workerpool: ok");
}

TEST_F_TIMEOUT(examples, broadcast, RUN_LIMIT_S + 30)
{
	CHECK_EXAMPLE("broadcast",
		      "Ready? 8 runners waiting on one channel",
		      "Go! (one chan_close)",
		      "broadcast: ok (8 processes released by one close)");
}

TEST_F_TIMEOUT(examples, done, RUN_LIMIT_S + 30)
{
	CHECK_EXAMPLE("done",
		      "consumer: took 0..9, closing done",
		      "generator: done closed, stopping after",
		      "done: ok (generator cancelled, no process left blocked)");
}

TEST_F_TIMEOUT(examples, timeout, RUN_LIMIT_S + 30)
{
	CHECK_EXAMPLE("timeout",
		      "slow worker (1500 ms): timed out after",
		      "fast worker (20 ms): result 42 after",
		      "timeout: ok");
}

TEST_F_TIMEOUT(examples, firstwins, RUN_LIMIT_S + 30)
{
	CHECK_EXAMPLE("firstwins",
		      "client: first answer from replica 1 (50 ms); using it",
		      "all 3 replicas exited; 2 late answers left unread in the buffer",
		      "firstwins: ok");
}

TEST_F_TIMEOUT(examples, semaphore, RUN_LIMIT_S + 30)
{
	CHECK_EXAMPLE("semaphore",
		      "10 workers x 5 rounds with 3 tokens: at most 3 inside at once",
		      "semaphore: ok");
}

TEST_F_TIMEOUT(examples, fanin, RUN_LIMIT_S + 30)
{
	CHECK_EXAMPLE("fanin",
		      "input 0 closed after 50 values",
		      "input 1 closed after 200 values",
		      "input 2 closed after 7 values",
		      "merged 50 + 200 + 7 values",
		      "fanin: ok");
}

TEST_F_TIMEOUT(examples, reqreply, RUN_LIMIT_S + 30)
{
	CHECK_EXAMPLE("reqreply",
		      "client 0: 250 requests answered correctly",
		      "client 3: 250 requests answered correctly",
		      "server: served 1000 requests, request channel closed",
		      "round 1: 4 clients x 250 requests on reply channels made before fork",
		      "client 2: 250 requests answered on its own named reply channel; closed when the server left",
		      "server: served 1000 requests from 4 clients it met by name",
		      "round 2: 4 clients x 250 requests on reply channels passed by name",
		      "reqreply: ok (4 clients x 250 requests, twice)");
}

TEST_F_TIMEOUT(examples, crash, RUN_LIMIT_S + 30)
{
	CHECK_EXAMPLE("crash",
		      "consumer: read 1000, producer SIGKILLed mid-stream",
		      "then saw closed after",
		      "producer: blocked send failed EPIPE",
		      "crash: ok");
}

/* A 20 ms tick instead of a second: the same selects, faster. */
TEST_F_TIMEOUT(examples, countdown, RUN_LIMIT_S + 30)
{
	char *const args[] = { "countdown", "-p", "20", NULL };

	CHECK_EXAMPLE_ARGS("countdown", args,
			   "T-10 T-9 T-8 T-7 T-6 T-5 T-4 T-3 T-2 T-1",
			   "liftoff! (10 ticks,",
			   "round 2: the user presses Enter at T-7",
			   "launch aborted at T-",
			   "countdown: ok");
}

/* The module's own sources: a small tree nobody writes while tests run. */
TEST_F_TIMEOUT(examples, du, RUN_LIMIT_S + 30)
{
	char *const args[] = { "du", "-j", "2", "-p", "20", "../kmod",
			       "../uapi", "../userlib", "../docs", NULL };

	CHECK_EXAMPLE_ARGS("du", args,
			   "round 1: 4 walk(s), 2 at a time, progress every 20 ms",
			   "round 1: totals match a serial walk; semaphore held",
			   "cancel: 3 sizes taken,",
			   "round 2: one close stopped every walker; sizes closed empty",
			   "du: ok");
}

TEST_HARNESS_MAIN
