// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * leaks: the "forgotten sender" of the Go concurrency guides, and its fixes.
 *
 *	func handle(req request) {		// one per request
 *		req.reply <- work(req)		// blocks until someone receives
 *	}
 *	func call(x int) (int, error) {
 *		reply := make(chan int)		// unbuffered
 *		requests <- request{x, reply}
 *		select {
 *		case y := <-reply:
 *			return y, nil
 *		case <-time.After(100 * time.Millisecond):
 *			return 0, errTimeout	// reply abandoned: handle never returns
 *		}
 *	}
 *
 * A server process receives each request, with the reply channel passed
 * as its descriptor (CHAN_FDPASS), and starts a handler process for it
 * (go handle(req)). The work takes WORK_MS, the caller waits PATIENCE_MS,
 * gives up and lets its reply channel go. The handler's send then waits
 * for a receiver that will never come: the request carries the channel
 * itself, as in Go, so the handler's own handle can receive, and kchan's
 * crash safety (EPIPE once no receiver is left) cannot save it. The leak
 * is visible from outside: /proc/kchan lists the channel with a waiting
 * sender, and the handler's /proc/PID/fdinfo/FD says send_waiters: 1.
 *
 * The fixes, each checked by watching the channel disappear from
 * /proc/kchan (freed once the handler has exited) with no channel of ours
 * left with a waiter:
 *   1. a buffer of one: make(chan int, 1); the late send lands in the
 *      buffer, the handler exits, the answer is garbage-collected with
 *      the channel.
 *   2. select with done: the caller cancels (closes done) when it gives
 *      up, and the handler sends with
 *	select { case req.reply <- y: case <-ctx.Done(): }
 *   3. (kchan's own) pass a send-only handle (chan_dup): once the caller
 *      lets its handle go, no receiver is left and the send fails EPIPE.
 *
 * KCHAN_EXAMPLE_BREAK=1 leaves the fixes out (an unbuffered channel, a
 * plain send, the channel itself passed): the check after each fix fails.
 */
#include "common.h"

#include <dirent.h>

const char *prog = "leaks";

#define WORK_MS		300
#define PATIENCE_MS	100
#define SETTLE_MS	10000	/* for a fixed handler to finish (it takes WORK_MS) */

enum { LEAK, FIX_BUFFER, FIX_DONE, FIX_SENDONLY, NROUNDS };

static const char *const round_name[NROUNDS] = {
	"leak: unbuffered reply channel, plain send",
	"fix 1: a buffer of one",
	"fix 2: select with done",
	"fix 3: a send-only handle for the handler",
};

struct request {
	int32_t round;
	int32_t x;
};

struct shm {			/* for checking only */
	pid_t handler_pid;
	int handler_status;
};

static struct shm *shm;
static int requests[2], done[2];
static int the_round, reply_fd;
static bool broken;

/* ---- /proc/kchan ---- */

static char kchan_header[256];	/* /proc/kchan's first line */

struct kchan_line {
	unsigned cap, len, send_waiters, recv_waiters, send_handles, recv_handles;
	int pid;
	char text[256];
};

/* Find channel @id in /proc/kchan (any channel created by @creator with a
 * waiter when @id is 0). Returns 1 and fills *out if found, else 0. */
static int kchan_find(uint64_t id, pid_t creator, struct kchan_line *out)
{
	FILE *f = fopen("/proc/kchan", "r");
	char line[256];
	int found = 0;

	EXPECT(f, "/proc/kchan: %s", strerror(errno));
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long long cid;
		struct kchan_line k;
		unsigned msg_size, closed;

		if (sscanf(line, "%llu %*s %*s %u %u %u %u %u %u %u %u %*u %*u %*u %d",
			   &cid, &k.cap, &msg_size, &k.len, &closed, &k.send_waiters,
			   &k.recv_waiters, &k.send_handles, &k.recv_handles,
			   &k.pid) != 10) {
			if (!strncmp(line, "id ", 3))	/* the header */
				snprintf(kchan_header, sizeof(kchan_header), "%.*s",
					 (int)strcspn(line, "\n"), line);
			continue;
		}
		if (id ? cid != id :
		    k.pid != creator || !(k.send_waiters || k.recv_waiters))
			continue;
		snprintf(k.text, sizeof(k.text), "%s", line);
		k.text[strcspn(k.text, "\n")] = 0;
		*out = k;
		found = 1;
	}
	fclose(f);
	return found;
}

/* Who holds channel @id: scan every process's fdinfo, as lsof would. */
static void show_holders(uint64_t id)
{
	DIR *proc = opendir("/proc");
	struct dirent *p;

	EXPECT(proc, "/proc: %s", strerror(errno));
	while ((p = readdir(proc))) {
		char path[600], buf[1024];
		struct dirent *d;
		DIR *fds;

		if (p->d_name[0] < '1' || p->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fdinfo", p->d_name);
		fds = opendir(path);
		if (!fds)
			continue;	/* gone, or not ours to see */
		while ((d = readdir(fds))) {
			unsigned long long cid;
			char *s;
			FILE *f;
			size_t n;

			if (d->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/fdinfo/%s", p->d_name,
				 d->d_name);
			f = fopen(path, "r");
			if (!f)
				continue;
			n = fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
			buf[n] = 0;
			s = strstr(buf, "chan_id:\t");
			if (!s || sscanf(s, "chan_id:\t%llu", &cid) != 1 || cid != id)
				continue;
			s = strstr(buf, "send_waiters:");
			printf("  held by pid %s as fd %s: /proc/%s/fdinfo/%s says send_waiters: %d\n",
			       p->d_name, d->d_name, p->d_name, d->d_name,
			       s ? atoi(s + strlen("send_waiters:")) : -1);
		}
		closedir(fds);
	}
	closedir(proc);
}

/* ---- the server and its handlers ---- */

static int handler(void *arg)
{
	int64_t y = 2 * (int64_t)(intptr_t)arg;

	close(requests[0]);
	sleep_ms(WORK_MS);	/* the work */
	if (the_round == FIX_DONE && !broken) {
		struct chan_case cases[2] = {
			{ .ch = reply_fd, .op = CHAN_SEND, .buf = &y, .len = sizeof(y) },
			{ .ch = done[0], .op = CHAN_RECV },
		};
		int i = chan_select(cases, 2, -1);

		CHECK(i);
		printf("  handler: %s\n", i == 1 ? "done is closed: the caller is gone, no reply" :
		       "reply sent");
		return 0;
	}
	if (chan_send(reply_fd, &y, sizeof(y)) < 0) {
		EXPECT(errno == EPIPE, "reply: %s", strerror(errno));
		printf("  handler: send failed EPIPE: nobody can receive the reply any more\n");
		return 0;
	}
	printf("  handler: reply sent\n");
	return 0;
}

static int server(void *arg)
{
	struct request rq;
	int status;
	bool ok;

	(void)arg;
	close(requests[1]);
	close(done[1]);
	for (;;) {	/* for req := range requests */
		ssize_t len = chan_recv_fd(requests[0], &rq, sizeof(rq), &ok,
					   &reply_fd, CHAN_CLOEXEC, -1);

		CHECK(len);
		if (!ok)
			break;
		EXPECT(len == sizeof(rq) && reply_fd >= 0, "bad request");
		shm->handler_pid = spawn(handler, (void *)(intptr_t)rq.x);	/* go handle(req) */
		close(reply_fd);
	}
	while (wait(&status) < 0)
		EXPECT(errno == EINTR, "wait: %s", strerror(errno));
	shm->handler_status = WIFEXITED(status) ? WEXITSTATUS(status) :
			      128 + WTERMSIG(status);
	return 0;
}

/* ---- the caller ---- */

static void one_round(int round)
{
	struct request rq = { .round = round, .x = 21 };
	struct chan_info info;
	struct kchan_line k;
	int reply, pass;
	int64_t y, t0;
	pid_t srv;
	bool ok;

	printf("%s\n", round_name[round]);
	the_round = round;
	CHECK(chan_pipe(requests, sizeof(struct request), 0, CHAN_FDPASS | CHAN_CLOEXEC));
	CHECK(chan_pipe(done, 0, 0, CHAN_CLOEXEC));
	srv = spawn(server, NULL);
	close(requests[0]);
	close(done[0]);

	/* reply := make(chan int[, 1]) */
	reply = chan_make(sizeof(int64_t), round == FIX_BUFFER && !broken ? 1 : 0,
			  CHAN_CLOEXEC);
	CHECK(reply);
	pass = reply;
	if (round == FIX_SENDONLY && !broken)
		CHECK(pass = chan_dup(reply, CHAN_RIGHT_SEND, CHAN_CLOEXEC));
	CHECK(chan_info(reply, &info));
	CHECK(chan_send_fd(requests[1], &rq, sizeof(rq), pass, -1));
	if (pass != reply)
		close(pass);
	t0 = now_ns();
	EXPECT(chan_recv_timeout(reply, &y, sizeof(y), &ok, MS(PATIENCE_MS)) < 0 &&
	       errno == ETIMEDOUT, "the answer came before the timeout");
	printf("  caller: no answer after %.0f ms: gives up, lets channel %llu go\n",
	       (double)(now_ns() - t0) / 1e6, (unsigned long long)info.id);
	close(reply);			/* return 0, errTimeout */
	CHECK(chan_close(done[1]));	/* cancel(): only the fix 2 handler looks */
	CHECK(chan_close(requests[1]));	/* no more requests: the server ends */
	close(requests[1]);

	t0 = now_ns();
	if (round == LEAK) {
		/* The handler wakes up after WORK_MS and blocks for good. */
		for (;;) {
			EXPECT(kchan_find(info.id, 0, &k), "channel %llu vanished: no leak?",
			       (unsigned long long)info.id);
			if (k.send_waiters)
				break;
			EXPECT(now_ns() - t0 < MS(SETTLE_MS), "the handler never sent");
			sleep_ms(10);
		}
		printf("  leaked: /proc/kchan still lists channel %llu with %u blocked sender, %u handle that could receive:\n",
		       (unsigned long long)info.id, k.send_waiters, k.recv_handles);
		printf("  %s\n  %s\n", kchan_header, k.text);
		show_holders(info.id);
		EXPECT(k.recv_handles == 1 && k.send_handles == 1,
		       "the leak: expected one handle, the handler's");
		/* Nothing will ever unblock it: this is the leak. Clean up. */
		kill(shm->handler_pid, SIGKILL);
		EXPECT(reap(srv) == 0, "server failed");
		EXPECT(shm->handler_status == 128 + SIGKILL, "leaked handler: status %d",
		       shm->handler_status);
		EXPECT(!kchan_find(info.id, 0, &k), "channel %llu outlived its handler",
		       (unsigned long long)info.id);
		printf("  (killed the leaked handler, pid %d: only then was the channel freed)\n",
		       (int)shm->handler_pid);
		return;
	}
	while (kchan_find(info.id, 0, &k)) {
		if (now_ns() - t0 >= MS(SETTLE_MS)) {
			printf("  %s\n  %s\n", kchan_header, k.text);
			show_holders(info.id);
			die("%s: after %d ms channel %llu still has %u blocked sender%s",
			    round_name[round], SETTLE_MS, (unsigned long long)info.id,
			    k.send_waiters, k.send_waiters == 1 ? "" : "s");
		}
		sleep_ms(10);
	}
	EXPECT(reap(srv) == 0, "server failed");
	EXPECT(shm->handler_status == 0, "handler: status %d", shm->handler_status);
	EXPECT(!kchan_find(0, getpid(), &k), "a channel of ours still has a waiter: %s",
	       k.text);
	printf("  nothing blocked: the handler exited 0, channel %llu is gone from /proc/kchan, no channel of ours has a waiter\n",
	       (unsigned long long)info.id);
}

int main(void)
{
	static const char *const bugs[] = {
		"the fixes left out: unbuffered reply, plain send, the channel itself passed",
	};

	watchdog(120);
	setvbuf(stdout, NULL, _IOLBF, 0);
	broken = break_choose(bugs, 1) == 1;
	shm = shared_alloc(sizeof(*shm));
	for (int r = 0; r < NROUNDS; r++)
		one_round(r);
	printf("leaks: ok (the forgotten sender shown, and gone with each fix)\n");
	return 0;
}
