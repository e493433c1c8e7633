// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * reqreply: a server process answering clients, each on its own reply
 * channel. Requests travel on one shared channel; each names the reply
 * channel its answer goes to (in Go the request would carry the reply
 * channel itself).
 *
 * Round 1, channels made before fork: the server holds the send end of
 * every client's reply channel, each client only the receive end of its
 * own; a request carries the client's number.
 *
 * Round 2, reply channels made on the fly: clients the server never met
 * create their own reply channel under a fresh name (chan_open with
 * O_CREAT | O_EXCL, receive-only), and each request carries that name; the
 * server opens it send-only the first time it sees it. Once the first
 * answer is in, the client unlinks the name: the channel lives on, known
 * only to the two of them. When the server closes its handle at the end,
 * the client's reply channel closes by itself (its last sender is gone).
 *
 * Each round trip is one system call per side: a client sends its request
 * and waits for the answer with chan_call(requests, reply); the round 1
 * server answers and waits for the next request with chan_call(reply,
 * requests).
 *
 * In both rounds, when the last client exits the request channel closes by
 * itself (no send handle left) and the server's range loop ends.
 * Invariant: every client gets exactly the answers to its own requests, in
 * order, and the server serves NC * NREQ requests per round.
 */
#include "common.h"

#include <fcntl.h>

const char *prog = "reqreply";

#define NC	4
#define NREQ	250
#define NAMELEN	48

struct request {
	int32_t client;
	int32_t seq;
	int64_t x;
	char reply_to[NAMELEN];	/* round 2: name of the reply channel */
};

struct reply {
	int32_t seq;
	int32_t pad;
	int64_t y;
};

static int requests[2], reply[NC][2];
static int me;

static int64_t f(int64_t x)
{
	return x * x + 1;
}

/* ---- round 1: reply channels made before fork ---- */

static int server1(void *arg)
{
	struct request rq;
	long served = 0;
	bool ok;

	(void)arg;
	close(requests[1]);
	for (int c = 0; c < NC; c++)
		close(reply[c][0]);
	/* for rq := range requests, each answer sent in the same call that
	 * waits for the next request */
	ssize_t len = chan_recv(requests[0], &rq, sizeof(rq), &ok);

	CHECK(len);
	while (ok) {
		EXPECT(len == sizeof(rq) && rq.client >= 0 && rq.client < NC,
		       "bad request");
		struct reply rp = { rq.seq, 0, f(rq.x) };

		served++;
		len = chan_call(reply[rq.client][1], &rp, sizeof(rp),
				requests[0], &rq, sizeof(rq), &ok, NULL, -1);
		CHECK(len);
	}
	printf("server: served %ld requests, request channel closed\n", served);
	EXPECT(served == NC * NREQ, "served %ld, expected %d", served, NC * NREQ);
	return 0;
}

static int client1(void *arg)
{
	(void)arg;
	close(requests[0]);
	for (int c = 0; c < NC; c++) {
		close(reply[c][1]);
		if (c != me)
			close(reply[c][0]);
	}
	for (int32_t s = 0; s < NREQ; s++) {
		struct request rq = { .client = me, .seq = s, .x = (int64_t)me * 1000 + s };
		struct reply rp;
		bool ok;

		CHECK(chan_call(requests[1], &rq, sizeof(rq), reply[me][0],
				&rp, sizeof(rp), &ok, NULL, -1));
		EXPECT(ok && rp.seq == s && rp.y == f(rq.x),
		       "client %d: wrong reply to request %d", me, s);
	}
	printf("client %d: %d requests answered correctly\n", me, NREQ);
	return 0;
}

static void round1(void)
{
	pid_t srv, cl[NC];

	CHECK(chan_pipe(requests, sizeof(struct request), 0, CHAN_CLOEXEC));
	for (int c = 0; c < NC; c++)
		CHECK(chan_pipe(reply[c], sizeof(struct reply), 0, CHAN_CLOEXEC));

	srv = spawn(server1, NULL);
	for (me = 0; me < NC; me++)
		cl[me] = spawn(client1, NULL);
	close(requests[0]);
	close(requests[1]);
	for (int c = 0; c < NC; c++) {
		close(reply[c][0]);
		close(reply[c][1]);
	}
	reap_all(cl, NC, "client");
	EXPECT(reap(srv) == 0, "server failed");
	printf("round 1: %d clients x %d requests on reply channels made before fork\n",
	       NC, NREQ);
}

/* ---- round 2: reply channels created by the clients, passed by name ---- */

static int server2(void *arg)
{
	char names[NC][NAMELEN];
	int fds[NC], known = 0;
	struct request rq;
	long served = 0;
	bool ok;

	(void)arg;
	close(requests[1]);
	for (;;) {
		ssize_t len = chan_recv(requests[0], &rq, sizeof(rq), &ok);
		int k;

		CHECK(len);
		if (!ok)
			break;
		EXPECT(len == sizeof(rq), "bad request");
		rq.reply_to[NAMELEN - 1] = 0;
		for (k = 0; k < known; k++)
			if (!strcmp(names[k], rq.reply_to))
				break;
		if (k == known) {	/* a new client: open its reply channel */
			EXPECT(known < NC, "more clients than expected");
			fds[k] = chan_open(rq.reply_to, O_WRONLY | O_CLOEXEC, 0, 0, 0);
			CHECK(fds[k]);
			strcpy(names[k], rq.reply_to);
			known++;
		}
		struct reply rp = { rq.seq, 0, f(rq.x) };

		CHECK(chan_send(fds[k], &rp, sizeof(rp)));
		served++;
	}
	for (int k = 0; k < known; k++)
		close(fds[k]);	/* each reply channel closes: its only sender is gone */
	printf("server: served %ld requests from %d clients it met by name\n",
	       served, known);
	EXPECT(served == NC * NREQ, "served %ld, expected %d", served, NC * NREQ);
	return 0;
}

static int client2(void *arg)
{
	struct request rq = { .client = me };
	struct reply rp;
	int rfd;
	bool ok;

	(void)arg;
	close(requests[0]);
	snprintf(rq.reply_to, sizeof(rq.reply_to), "kchan-example-reqreply.%d.%d",
		 (int)getppid(), (int)getpid());
	/* make(chan reply): receive-only for us; the server will open the
	 * sending side by name. */
	rfd = chan_open(rq.reply_to, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600,
			sizeof(struct reply), 0);
	CHECK(rfd);
	for (int32_t s = 0; s < NREQ; s++) {
		rq.seq = s;
		rq.x = (int64_t)me * 1000 + s;
		CHECK(chan_call(requests[1], &rq, sizeof(rq), rfd, &rp,
				sizeof(rp), &ok, NULL, -1));
		EXPECT(ok && rp.seq == s && rp.y == f(rq.x),
		       "client %d: wrong reply to request %d", me, s);
		if (s == 0)	/* the server holds it now: drop the name */
			CHECK(chan_unlink(rq.reply_to));
	}
	close(requests[1]);
	/* The server closes its handle once every client is done: then our
	 * reply channel is closed, not left hanging. */
	CHECK(chan_recv_timeout(rfd, &rp, sizeof(rp), &ok, MS(30000)));
	EXPECT(!ok, "client %d: a reply nobody asked for", me);
	printf("client %d: %d requests answered on its own named reply channel; closed when the server left\n",
	       me, NREQ);
	return 0;
}

static void round2(void)
{
	pid_t srv, cl[NC];

	CHECK(chan_pipe(requests, sizeof(struct request), 0, CHAN_CLOEXEC));
	srv = spawn(server2, NULL);
	for (me = 0; me < NC; me++)
		cl[me] = spawn(client2, NULL);
	close(requests[0]);
	close(requests[1]);
	reap_all(cl, NC, "client");
	EXPECT(reap(srv) == 0, "server failed");
	printf("round 2: %d clients x %d requests on reply channels passed by name\n",
	       NC, NREQ);
}

int main(void)
{
	watchdog(120);
	setvbuf(stdout, NULL, _IOLBF, 0);
	round1();
	round2();
	printf("reqreply: ok (%d clients x %d requests, twice)\n", NC, NREQ);
	return 0;
}
