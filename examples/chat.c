// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * chat: the chat server of The Go Programming Language 8.10, a real TCP
 * server on the loopback interface, with one process per connection and a
 * broadcaster process that owns the set of clients.
 *
 *	type client chan<- string	// an outgoing message channel
 *	var (
 *		entering = make(chan client)
 *		leaving  = make(chan client)
 *		messages = make(chan string)	// all incoming client messages
 *	)
 *	func broadcaster() {
 *		clients := make(map[client]bool)
 *		for {
 *			select {
 *			case msg := <-messages:
 *				for cli := range clients {
 *					select {
 *					case cli <- msg:
 *					default:	// not reading: drop it
 *						delete(clients, cli); close(cli)
 *					}
 *				}
 *			case cli := <-entering:
 *				clients[cli] = true
 *			case cli := <-leaving:
 *				delete(clients, cli); close(cli)
 *			}
 *		}
 *	}
 *
 * handleConn is a process per accepted connection: it makes its outgoing
 * channel (OUTCAP messages), passes the channel's send end to the
 * broadcaster over `entering` as a descriptor (a CHAN_FDPASS channel, so
 * the broadcaster holds the only sender and its close reaches us), then
 * relays lines from the socket to `messages` and from its channel to the
 * socket, waiting in poll(2) on both descriptors (a channel fd polls like
 * a pipe). The broadcaster's select is poll(2) too, over the three
 * channels followed by a receive that does not wait: chan_select() would
 * drop the descriptor an `entering` message carries. It never blocks on a
 * client: a try-send that finds a client's channel full drops that client
 * (gopl's exercise 8.15) instead of stalling everyone, and the dropped
 * client's handler, finding its channel closed, hangs up.
 *
 * Here, unlike gopl, a newcomer is entered before its arrival is
 * announced, so it sees its own "has arrived": the sign it is in.
 *
 * The test: TALKERS socket clients and one that stops reading connect;
 * once all are in, the talkers chat in rounds (a talker sends its line k+1
 * once it has seen line k of every talker). Invariant: every talker sees
 * every talker's lines, each sender's in order, all talkers the same
 * sequence (a hash in shared memory, for checking only); the client that
 * does not read is dropped, and only it, and disconnected (it reads what
 * was queued, then EOF); nobody waits on it; every process exits 0.
 * KCHAN_EXAMPLE_BREAK=1 makes the broadcaster send with a blocking send:
 * the reader that stalls stalls everyone.
 */
#include "common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

const char *prog = "chat";

#define TALKERS		4
#define LINES		40	/* rounds: each talker sends this many lines */
#define MSG_MAX		1024	/* a chat line, on every channel */
#define FILLER		900	/* bytes per line: the slow reader's queue fills */
#define OUTCAP		32	/* a client's outgoing channel */
#define SNDBUF		8192	/* server side: a stalled reader shows soon */
#define SLOW_RCVBUF	1024
#define RECV_TIMEOUT_S	8	/* a client waiting longer: the chat is stuck */
#define DROP_POLL_MS	100
#define STR_(x)		#x
#define STR(x)		STR_(x)

struct enter {			/* on entering, with the client's channel */
	int32_t id;
	char name[16];
};

struct check {			/* shared memory, for checking only */
	uint64_t hash[TALKERS];
	int lines[TALKERS];
	char slow_name[16];
	int slow_lines, slow_eof;
	int dropped;
	char dropped_name[16];
};

static struct check *chk;
static int entering[2], leaving[2], messages[2], quit[2];
static int ready[2], go[2], talkers_done[2];
static int lfd, conn, conn_id, me;
static struct sockaddr_in addr;
static bool blocking_broadcast;

/* ---- the server: acceptor, one handler per connection, broadcaster ---- */

static void send_text(int ch, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void send_text(int ch, const char *fmt, ...)
{
	char buf[MSG_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	CHECK(chan_send(ch, buf, n));	/* a message is never split */
}

static int handle_conn(void *arg)
{
	char name[16], in[2 * MSG_MAX], pend[MSG_MAX + 1];
	size_t inlen = 0, plen = 0, poff = 0;
	struct enter e = { .id = conn_id };
	int out[2];

	(void)arg;
	close(lfd);
	close(quit[0]);
	snprintf(name, sizeof(name), "client%d", conn_id);
	dprintf(conn, "You are %s\n", name);
	/* ch := make(chan string, OUTCAP); entering <- ch */
	CHECK(chan_pipe(out, MSG_MAX, OUTCAP, CHAN_CLOEXEC));
	snprintf(e.name, sizeof(e.name), "%s", name);
	CHECK(chan_send_fd(entering[1], &e, sizeof(e), out[1], -1));
	close(out[1]);	/* the broadcaster holds the only sender */
	send_text(messages[1], "%s has arrived", name);
	CHECK(fcntl(conn, F_SETFL, O_NONBLOCK));

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = conn, .events = POLLIN | (plen ? POLLOUT : 0) },
			{ .fd = plen ? -1 : out[0], .events = POLLIN },	/* one at a time */
		};
		int r = poll(p, 2, plen ? DROP_POLL_MS : -1);
		struct chan_info info;

		if (r < 0 && errno == EINTR)
			continue;
		CHECK(r);
		if (plen && !(p[0].revents & POLLOUT)) {
			/* The client is not reading: were we dropped? */
			CHECK(chan_info(out[0], &info));
			if (info.closed)
				break;	/* hang up on it */
		}
		if (r == 0)
			continue;
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(conn, in + inlen, sizeof(in) - inlen);
			char *nl;

			if (n <= 0 && !(n < 0 && errno == EAGAIN))
				break;	/* EOF or reset: the client left */
			inlen += n > 0 ? n : 0;
			while ((nl = memchr(in, '\n', inlen)) || inlen == sizeof(in)) {
				size_t len = nl ? (size_t)(nl - in) : inlen;

				if (len && in[len - 1] == '\r')
					len--;
				send_text(messages[1], "%s: %.*s", name, (int)len, in);
				len = nl ? (size_t)(nl - in) + 1 : inlen;
				memmove(in, in + len, inlen - len);
				inlen -= len;
			}
		}
		if (!plen && (p[1].revents & (POLLIN | POLLHUP))) {
			bool ok;
			ssize_t n = chan_tryrecv(out[0], pend, MSG_MAX, &ok);

			if (n < 0 && errno == EAGAIN)
				continue;
			CHECK(n);
			if (!ok)
				break;	/* closed: dropped, or the server is done */
			pend[n] = '\n';
			plen = n + 1;
			poff = 0;
		}
		if (plen) {
			ssize_t n = send(conn, pend + poff, plen - poff,
					 MSG_NOSIGNAL | MSG_DONTWAIT);

			if (n < 0 && errno != EAGAIN)
				break;
			poff += n > 0 ? n : 0;
			if (poff == plen)
				plen = 0;
		}
	}
	CHECK(chan_send(leaving[1], &e.id, sizeof(e.id)));	/* leaving <- ch */
	send_text(messages[1], "%s has left", name);
	close(conn);
	return 0;
}

static int acceptor(void *arg)
{
	int failed = 0, status;

	(void)arg;
	close(entering[0]);
	close(leaving[0]);
	close(messages[0]);
	close(quit[1]);
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = lfd, .events = POLLIN },
			{ .fd = quit[0], .events = POLLIN },	/* closed: stop */
		};
		int sndbuf = SNDBUF, one = 1;

		if (poll(p, 2, -1) < 0) {
			EXPECT(errno == EINTR, "poll: %s", strerror(errno));
			continue;
		}
		if (p[1].revents)
			break;
		conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		CHECK(conn);
		CHECK(setsockopt(conn, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)));
		CHECK(setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)));
		conn_id++;
		spawn(handle_conn, NULL);	/* go handleConn(conn) */
		close(conn);
	}
	close(lfd);
	close(entering[1]);	/* once the handlers are gone too, these close */
	close(leaving[1]);
	close(messages[1]);
	for (;;) {	/* the handlers end as their clients hang up */
		if (wait(&status) < 0) {
			if (errno == EINTR)
				continue;
			EXPECT(errno == ECHILD, "wait: %s", strerror(errno));
			break;
		}
		failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	printf("acceptor: stopped; %d connections handled, %d handlers failed\n",
	       conn_id, failed);
	return failed ? 1 : 0;
}

struct client {
	int32_t id;
	int fd;
	char name[16];
};

static void drop(struct client *cl, int *n, int i)
{
	chan_close(cl[i].fd);	/* close(cli); EALREADY is fine */
	close(cl[i].fd);
	cl[i] = cl[--*n];
}

static int broadcaster(void *arg)
{
	struct client cl[64];
	int ncl = 0, next = 0;
	long broadcasts = 0;
	int ch[3] = { entering[0], leaving[0], messages[0] };

	(void)arg;
	close(entering[1]);
	close(leaving[1]);
	close(messages[1]);
	close(lfd);
	close(quit[0]);
	close(quit[1]);
	while (ch[0] >= 0 || ch[1] >= 0 || ch[2] >= 0) {
		struct pollfd p[3];
		char msg[MSG_MAX];
		bool ok;

		for (int i = 0; i < 3; i++)	/* -1: a nil channel */
			p[i] = (struct pollfd){ .fd = ch[i], .events = POLLIN };
		if (poll(p, 3, -1) < 0) {
			EXPECT(errno == EINTR, "poll: %s", strerror(errno));
			continue;
		}
		for (int k = 0; k < 3; k++) {
			int i = (next + k) % 3;	/* no case starves the others */
			struct enter e;
			int32_t id;
			ssize_t n;
			int fd;

			if (!p[i].revents)
				continue;
			if (i == 0)
				n = chan_recv_fd(ch[0], &e, sizeof(e), &ok, &fd,
						 CHAN_CLOEXEC, 0);
			else if (i == 1)
				n = chan_tryrecv(ch[1], &id, sizeof(id), &ok);
			else
				n = chan_tryrecv(ch[2], msg, sizeof(msg), &ok);
			if (n < 0 && errno == EAGAIN)
				continue;
			CHECK(n);
			if (!ok) {	/* closed: nil it */
				close(ch[i]);
				ch[i] = -1;
				continue;
			}
			if (i == 0) {	/* case cli := <-entering */
				EXPECT(fd >= 0 && ncl < 64, "bad entering");
				cl[ncl] = (struct client){ .id = e.id, .fd = fd };
				memcpy(cl[ncl].name, e.name, sizeof(e.name));
				cl[ncl].name[sizeof(cl[ncl].name) - 1] = 0;
				ncl++;
			} else if (i == 1) {	/* case cli := <-leaving */
				for (int c = 0; c < ncl; c++)
					if (cl[c].id == id) {
						drop(cl, &ncl, c);
						break;
					}
			} else {	/* case msg := <-messages */
				broadcasts++;
				for (int c = 0; c < ncl; c++) {
					int r = blocking_broadcast ?
						chan_send(cl[c].fd, msg, n) :
						chan_trysend(cl[c].fd, msg, n);

					if (r == 0)
						continue;
					EXPECT(errno == EAGAIN || errno == EPIPE,
					       "send to %s: %s", cl[c].name,
					       strerror(errno));
					if (errno == EAGAIN) {
						printf("broadcaster: %s is not reading (%d messages queued): dropped\n",
						       cl[c].name, chan_len(cl[c].fd));
						chk->dropped++;
						memcpy(chk->dropped_name, cl[c].name,
						       sizeof(cl[c].name));
					}
					drop(cl, &ncl, c--);	/* EPIPE: its handler is gone */
				}
			}
		}
		next = (next + 1) % 3;
	}
	while (ncl > 0)
		drop(cl, &ncl, 0);
	printf("broadcaster: entering, leaving and messages closed; %ld messages broadcast\n",
	       broadcasts);
	return 0;
}

/* ---- the test clients ---- */

struct rbuf {
	char buf[4 * MSG_MAX];
	size_t len;
};

/* One line (without its newline) into @line; 0 on EOF, -1 on error. */
static ssize_t read_line(int fd, struct rbuf *rb, char *line, size_t size)
{
	for (;;) {
		char *nl = memchr(rb->buf, '\n', rb->len);

		if (nl) {
			size_t len = nl - rb->buf, n = len < size - 1 ? len : size - 1;

			memcpy(line, rb->buf, n);
			line[n] = 0;
			memmove(rb->buf, nl + 1, rb->len - len - 1);
			rb->len -= len + 1;
			return (ssize_t)n + 1;
		}
		EXPECT(rb->len < sizeof(rb->buf), "line too long");
		ssize_t r = read(fd, rb->buf + rb->len, sizeof(rb->buf) - rb->len);

		if (r <= 0)
			return r;
		rb->len += r;
	}
}

static int dial(int rcvbuf)
{
	struct timeval tv = { RECV_TIMEOUT_S, 0 };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	CHECK(s);
	CHECK(setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)));
	if (rcvbuf)
		CHECK(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)));
	CHECK(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	CHECK(connect(s, (struct sockaddr *)&addr, sizeof(addr)));
	return s;
}

/* Read "You are NAME", then up to "NAME has arrived": we are in. */
static void join(int s, struct rbuf *rb, char *name)
{
	char line[MSG_MAX], want[64];

	EXPECT(read_line(s, rb, line, sizeof(line)) > 0 &&
	       sscanf(line, "You are %15s", name) == 1, "no greeting");
	snprintf(want, sizeof(want), "%s has arrived", name);
	do
		EXPECT(read_line(s, rb, line, sizeof(line)) > 0,
		       "%s: never saw its own arrival", name);
	while (strcmp(line, want));
}

static void close_test_ends(void)	/* a client's are ready[1], go[0], talkers_done[0] */
{
	close(quit[1]);
	close(ready[0]);
	close(go[1]);
	close(talkers_done[1]);
}

static void wait_closed(int ch)
{
	bool ok;

	CHECK(chan_recv(ch, NULL, 0, &ok));
	EXPECT(!ok, "a message on a signal channel");
}

/* A talk line "NAME: line K ..." : its sender's index in @names (added
 * if new) and K; -1 for anything else. */
static int parse_talk(const char *line, char (*names)[16], int *nnames, int *k)
{
	char name[16];
	int t;

	if (sscanf(line, "%15[^:]: line %d ", name, k) != 2)
		return -1;
	for (t = 0; t < *nnames; t++)
		if (!strcmp(names[t], name))
			return t;
	EXPECT(*nnames < TALKERS, "more talkers than expected: %s", name);
	strcpy(names[*nnames], name);
	return (*nnames)++;
}

static int talker(void *arg)
{
	char names[TALKERS][16], line[MSG_MAX], name[16], filler[FILLER + 1];
	int nnames = 0, seen[TALKERS] = { 0 }, total = 0, sent = 0;
	uint64_t hash = 1469598103934665603ULL;
	struct rbuf rb = { .len = 0 };
	int s;

	(void)arg;
	memset(filler, 'x', FILLER);
	filler[FILLER] = 0;
	close_test_ends();
	s = dial(0);
	join(s, &rb, name);
	CHECK(chan_send(ready[1], NULL, 0));
	wait_closed(go[0]);

	while (total < TALKERS * LINES) {
		/* Send line k once line k-1 of every talker is in. */
		int round_done = sent == 0 || nnames == TALKERS;

		for (int t = 0; round_done && sent > 0 && t < TALKERS; t++)
			round_done = seen[t] >= sent;
		if (sent < LINES && round_done) {
			dprintf(s, "line %d %s\n", sent, filler);
			sent++;
		}
		ssize_t n = read_line(s, &rb, line, sizeof(line));
		int k, t;

		EXPECT(n > 0, "%s: %s after %d of %d lines: the chat is stuck", name,
		       n < 0 && errno == EAGAIN ? "no message for " STR(RECV_TIMEOUT_S) " s" :
		       n < 0 ? strerror(errno) : "disconnected", total,
		       TALKERS * LINES);
		t = parse_talk(line, names, &nnames, &k);
		if (t < 0)
			continue;	/* arrivals and departures */
		EXPECT(k == seen[t], "%s: from %s line %d after line %d", name,
		       names[t], k, seen[t] - 1);
		seen[t]++;
		total++;
		/* The sequence, by sender and number. */
		for (const char *c = names[t]; *c; c++)
			hash = (hash ^ (uint8_t)*c) * 1099511628211ULL;
		hash = (hash ^ (uint64_t)k) * 1099511628211ULL;
	}
	chk->hash[me] = hash;
	chk->lines[me] = total;
	printf("talker %d (%s): sent %d lines, saw all %d, each talker's in order\n",
	       me, name, sent, total);
	close(s);
	return 0;
}

static int slow_reader(void *arg)
{
	char names[TALKERS][16], line[MSG_MAX], name[16];
	int nnames = 0, seen[TALKERS] = { 0 }, total = 0;
	struct rbuf rb = { .len = 0 };
	ssize_t n;
	int s;

	(void)arg;
	close_test_ends();
	s = dial(SLOW_RCVBUF);
	join(s, &rb, name);
	memcpy(chk->slow_name, name, sizeof(name));
	CHECK(chan_send(ready[1], NULL, 0));
	wait_closed(go[0]);
	wait_closed(talkers_done[0]);	/* not reading meanwhile */

	while ((n = read_line(s, &rb, line, sizeof(line))) > 0) {
		int k, t = parse_talk(line, names, &nnames, &k);

		if (t < 0)
			continue;
		EXPECT(k == seen[t], "%s: from %s line %d after line %d", name,
		       names[t], k, seen[t] - 1);
		seen[t]++;
		total++;
	}
	EXPECT(n == 0, "%s: %s instead of being disconnected", name,
	       n < 0 && errno == EAGAIN ? "no EOF after " STR(RECV_TIMEOUT_S) " s" :
	       strerror(errno));
	chk->slow_lines = total;
	chk->slow_eof = 1;
	printf("slow reader (%s): read %d of %d lines, each talker's in order, then EOF: the server hung up on it\n",
	       name, total, TALKERS * LINES);
	close(s);
	return 0;
}

int main(void)
{
	static const char *const bugs[] = {
		"the broadcaster sends with a blocking send, not a try-send",
	};
	socklen_t alen = sizeof(addr);
	pid_t bc, acc, tk[TALKERS], slow;
	int one = 1;

	watchdog(120);
	setvbuf(stdout, NULL, _IOLBF, 0);
	blocking_broadcast = break_choose(bugs, 1) == 1;
	chk = shared_alloc(sizeof(*chk));
	signal(SIGPIPE, SIG_IGN);	/* a peer gone: EPIPE, not death */

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(lfd);
	CHECK(setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = 0;	/* any free port */
	CHECK(bind(lfd, (struct sockaddr *)&addr, sizeof(addr)));
	CHECK(listen(lfd, 16));
	CHECK(getsockname(lfd, (struct sockaddr *)&addr, &alen));

	CHECK(chan_pipe(entering, sizeof(struct enter), 0, CHAN_FDPASS | CHAN_CLOEXEC));
	CHECK(chan_pipe(leaving, sizeof(int32_t), 0, CHAN_CLOEXEC));
	CHECK(chan_pipe(messages, MSG_MAX, 0, CHAN_CLOEXEC));
	CHECK(chan_pipe(quit, 0, 0, CHAN_CLOEXEC));
	bc = spawn(broadcaster, NULL);
	acc = spawn(acceptor, NULL);
	for (int i = 0; i < 2; i++) {	/* the server's alone with these now */
		close(entering[i]);
		close(leaving[i]);
		close(messages[i]);
	}
	close(lfd);
	close(quit[0]);
	printf("chat server on 127.0.0.1:%d: a broadcaster, an acceptor, a process per connection\n",
	       ntohs(addr.sin_port));

	CHECK(chan_pipe(ready, 0, TALKERS + 1, CHAN_CLOEXEC));
	CHECK(chan_pipe(go, 0, 0, CHAN_CLOEXEC));
	CHECK(chan_pipe(talkers_done, 0, 0, CHAN_CLOEXEC));
	for (me = 0; me < TALKERS; me++)
		tk[me] = spawn(talker, NULL);
	slow = spawn(slow_reader, NULL);
	for (int i = 0; i < TALKERS + 1; i++) {	/* everyone is in */
		bool ok;

		EXPECT(chan_recv_timeout(ready[0], NULL, 0, &ok, MS(RECV_TIMEOUT_S * 1000)) == 0 &&
		       ok, "only %d clients joined", i);
	}
	printf("%d talkers and a client that stops reading are in; talking %d rounds\n",
	       TALKERS, LINES);
	CHECK(chan_close(go[1]));
	reap_all(tk, TALKERS, "talker");
	CHECK(chan_close(talkers_done[1]));
	EXPECT(reap(slow) == 0, "the slow reader failed");
	CHECK(chan_close(quit[1]));	/* stop accepting; the rest winds down */
	EXPECT(reap(acc) == 0, "the acceptor or a handler failed");
	EXPECT(reap(bc) == 0, "the broadcaster failed");

	for (int t = 0; t < TALKERS; t++) {
		EXPECT(chk->lines[t] == TALKERS * LINES, "talker %d saw %d lines", t,
		       chk->lines[t]);
		EXPECT(chk->hash[t] == chk->hash[0],
		       "talkers 0 and %d saw the lines in different orders", t);
	}
	EXPECT(chk->dropped == 1 && !strcmp(chk->dropped_name, chk->slow_name),
	       "dropped %d clients (last %s), expected the slow one, %s",
	       chk->dropped, chk->dropped_name, chk->slow_name);
	EXPECT(chk->slow_eof && chk->slow_lines < TALKERS * LINES,
	       "the slow reader was not cut off");
	printf("every talker saw all %d lines in the same order; the client that stopped reading was dropped, not waited for\n",
	       TALKERS * LINES);
	printf("chat: ok\n");
	return 0;
}
