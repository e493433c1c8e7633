// SPDX-License-Identifier: GPL-2.0
/*
 * Run every example program of ../examples and check that it exits 0
 * (each checks its own invariant) and prints the lines that show the
 * pattern did what it claims.
 *
 * The examples are found next to this binary (../examples from the
 * directory it lives in), or in $KCHAN_EXAMPLES_DIR. Build them first
 * (make -C examples); a missing one fails its test.
 *
 * The *_broken tests run an example with KCHAN_EXAMPLE_BREAK=N, which
 * injects the bug its invariant guards against, and check that the
 * example then fails (exit 1, from the check) and says why.
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
 * Run one example with stdout and stderr into a pipe, with
 * KCHAN_EXAMPLE_BREAK=@brk if @brk is not NULL. Returns its exit status
 * (128 + signal if killed, -1 if it could not run) and its output in *out
 * (malloc'ed, NUL-terminated).
 */
static int run_example(const char *name, const char *brk, char **out)
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
		if (brk)
			setenv("KCHAN_EXAMPLE_BREAK", brk, 1);
		else
			unsetenv("KCHAN_EXAMPLE_BREAK");
		if (chdir(dir) == 0)
			execl(path, name, (char *)NULL);
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

/* Run @name; fail unless it exits 0 and prints every line of @want. */
#define CHECK_EXAMPLE(name, ...) do { \
	const char *want[] = { __VA_ARGS__, NULL }; \
	char *out = NULL; \
	int st = run_example(name, NULL, &out); \
	ASSERT_NE(NULL, out); \
	EXPECT_EQ(0, st) TH_LOG("%s exited %d; output:\n%s", name, st, out); \
	for (int i = 0; want[i]; i++) { \
		EXPECT_NE(NULL, strstr(out, want[i])) \
			TH_LOG("%s: missing \"%s\"; output:\n%s", name, want[i], out); \
	} \
	free(out); \
} while (0)

/*
 * Run @name with KCHAN_EXAMPLE_BREAK=@brk; fail unless its check fails:
 * exit status 1 (die(), not a signal or the watchdog) and every line of
 * @want in its output.
 */
#define CHECK_BROKEN(name, brk, ...) do { \
	const char *want[] = { "this run must fail", __VA_ARGS__, NULL }; \
	char *out = NULL; \
	int st = run_example(name, brk, &out); \
	ASSERT_NE(NULL, out); \
	EXPECT_EQ(1, st) TH_LOG("%s with KCHAN_EXAMPLE_BREAK=%s exited %d; output:\n%s", \
				name, brk, st, out); \
	for (int i = 0; want[i]; i++) { \
		EXPECT_NE(NULL, strstr(out, want[i])) \
			TH_LOG("%s: missing \"%s\"; output:\n%s", name, want[i], out); \
	} \
	free(out); \
} while (0)

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

TEST_F_TIMEOUT(examples, crawler, RUN_LIMIT_S + 30)
{
	CHECK_EXAMPLE("crawler",
		      "crawled 200 pages in",
		      "unseenLinks closed: all 32 crawlers exited 0, the worklist closed behind the last, all 20 tokens back",
		      "each of the 200 pages reachable from page 0 fetched exactly once, the other 40 never",
		      "at most 20 fetches at once (20 tokens, 32 crawlers)",
		      "crawler: ok");
}

TEST_F_TIMEOUT(examples, crawler_broken, RUN_LIMIT_S + 30)
{
	CHECK_BROKEN("crawler", "1", "FAIL: ", "fetches at once, limit 20");
}

TEST_F_TIMEOUT(examples, crawler_broken2, RUN_LIMIT_S + 30)
{
	CHECK_BROKEN("crawler", "2",
		     "FAIL: all 32 crawlers blocked receiving on unseenLinks, and nobody will send");
}

TEST_F_TIMEOUT(examples, chat, RUN_LIMIT_S + 30)
{
	CHECK_EXAMPLE("chat",
		      "4 talkers and a client that stops reading are in; talking 40 rounds",
		      "is not reading (32 messages queued): dropped",
		      "sent 40 lines, saw all 160, each talker's in order",
		      "then EOF: the server hung up on it",
		      "acceptor: stopped; 5 connections handled, 0 handlers failed",
		      "broadcaster: entering, leaving and messages closed",
		      "every talker saw all 160 lines in the same order; the client that stopped reading was dropped, not waited for",
		      "chat: ok");
}

TEST_F_TIMEOUT(examples, chat_broken, RUN_LIMIT_S + 30)
{
	CHECK_BROKEN("chat", "1", "FAIL: ", "the chat is stuck");
}

TEST_F_TIMEOUT(examples, memo, RUN_LIMIT_S + 30)
{
	CHECK_EXAMPLE("memo",
		      "client 0: 16 answers, each f(key)",
		      "client 5: 16 answers, each f(key)",
		      "monitor: requests closed; 96 requests: 8 computations started",
		      "6 clients x 16 requests: each of the 8 keys computed once",
		      "memo: ok");
}

TEST_F_TIMEOUT(examples, memo_broken, RUN_LIMIT_S + 30)
{
	CHECK_BROKEN("memo", "1", "FAIL: key ", " computed ");
}

TEST_F_TIMEOUT(examples, supervisor, RUN_LIMIT_S + 30)
{
	CHECK_EXAMPLE("supervisor",
		      "crashed (",
		      "holding the lock: released",
		      "; restarted as incarnation 1",
		      "writer 1 finished its 8 cycles",
		      "reader 3 finished its 8 cycles",
		      "detected by crash-close",
		      "every worker finished",
		      "0 violations",
		      "supervisor: ok");
}

TEST_F_TIMEOUT(examples, supervisor_broken, RUN_LIMIT_S + 30)
{
	CHECK_BROKEN("supervisor", "1", "VIOLATION: ", "FAIL: ",
		     "times a writer was not alone");
}

TEST_F_TIMEOUT(examples, supervisor_broken2, RUN_LIMIT_S + 30)
{
	CHECK_BROKEN("supervisor", "2", "left its lock and request as they were",
		     "FAIL: deadlock: nobody can take the lock");
}

TEST_F_TIMEOUT(examples, leaks, RUN_LIMIT_S + 30)
{
	CHECK_EXAMPLE("leaks",
		      "leaked: /proc/kchan still lists channel",
		      "with 1 blocked sender, 1 handle that could receive",
		      "says send_waiters: 1",
		      "(killed the leaked handler",
		      "fix 1: a buffer of one",
		      "fix 2: select with done",
		      "handler: done is closed: the caller is gone, no reply",
		      "fix 3: a send-only handle for the handler",
		      "handler: send failed EPIPE",
		      "nothing blocked: the handler exited 0",
		      "leaks: ok");
}

TEST_F_TIMEOUT(examples, leaks_broken, RUN_LIMIT_S + 30)
{
	CHECK_BROKEN("leaks", "1", "FAIL: fix 1: a buffer of one: after 10000 ms channel",
		     "still has 1 blocked sender");
}

TEST_HARNESS_MAIN
