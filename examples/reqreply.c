// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * reqreply: a server process answering clients, each on its own reply
 * channel.
 *
 * Requests travel on one shared channel; each carries the client's number,
 * which names the reply channel the server answers on (in Go the request
 * would carry the reply channel itself; passing a channel fd inside a
 * message needs a CHAN_FDPASS channel, so here the reply channels are made
 * before fork and the server holds the send end of each, the client only
 * the receive end of its own). When the last client exits, the request
 * channel closes by itself (no send handle left) and the server's range
 * loop ends.
 *
 * Invariant: every client gets exactly the answers to its own requests, in
 * order, and the server exits after serving NC * NREQ requests.
 */
#include "common.h"

const char *prog = "reqreply";

#define NC	4
#define NREQ	250

struct request {
	int32_t client;
	int32_t seq;
	int64_t x;
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

static int server(void *arg)
{
	struct request rq;
	long served = 0;
	bool ok;

	(void)arg;
	close(requests[1]);
	for (int c = 0; c < NC; c++)
		close(reply[c][0]);
	for (;;) {
		ssize_t len = chan_recv(requests[0], &rq, sizeof(rq), &ok);

		CHECK(len);
		if (!ok)
			break;
		EXPECT(len == sizeof(rq) && rq.client >= 0 && rq.client < NC,
		       "bad request");
		struct reply rp = { rq.seq, 0, f(rq.x) };

		CHECK(chan_send(reply[rq.client][1], &rp, sizeof(rp)));
		served++;
	}
	printf("server: served %ld requests, request channel closed\n", served);
	EXPECT(served == NC * NREQ, "served %ld, expected %d", served, NC * NREQ);
	return 0;
}

static int client(void *arg)
{
	(void)arg;
	close(requests[0]);
	for (int c = 0; c < NC; c++) {
		close(reply[c][1]);
		if (c != me)
			close(reply[c][0]);
	}
	for (int32_t s = 0; s < NREQ; s++) {
		struct request rq = { me, s, (int64_t)me * 1000 + s };
		struct reply rp;
		bool ok;

		CHECK(chan_send(requests[1], &rq, sizeof(rq)));
		CHECK(chan_recv(reply[me][0], &rp, sizeof(rp), &ok));
		EXPECT(ok && rp.seq == s && rp.y == f(rq.x),
		       "client %d: wrong reply to request %d", me, s);
	}
	printf("client %d: %d requests answered correctly\n", me, NREQ);
	return 0;
}

int main(void)
{
	pid_t srv, cl[NC];

	watchdog(120);
	setvbuf(stdout, NULL, _IOLBF, 0);
	CHECK(chan_pipe(requests, sizeof(struct request), 0, CHAN_CLOEXEC));
	for (int c = 0; c < NC; c++)
		CHECK(chan_pipe(reply[c], sizeof(struct reply), 0, CHAN_CLOEXEC));

	srv = spawn(server, NULL);
	for (me = 0; me < NC; me++)
		cl[me] = spawn(client, NULL);
	close(requests[0]);
	close(requests[1]);
	for (int c = 0; c < NC; c++) {
		close(reply[c][0]);
		close(reply[c][1]);
	}

	reap_all(cl, NC, "client");
	EXPECT(reap(srv) == 0, "server failed");
	printf("reqreply: ok (%d clients x %d requests)\n", NC, NREQ);
	return 0;
}
