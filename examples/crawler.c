// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * crawler: the concurrent web crawler of The Go Programming Language 8.6,
 * over a local "web": crawl3's long-lived crawlers fed by one channel, with
 * crawl2's token channel bounding the fetches, and the termination that
 * crawl3 leaves out: count the work outstanding, then close the crawlers'
 * channel so that none is left blocked.
 *
 *	tokens := make(chan struct{}, 20)	// at most 20 fetches at once
 *	worklist := make(chan []string)		// lists of links
 *	unseenLinks := make(chan string)	// de-duplicated links
 *	for i := 0; i < 32; i++ {		// the crawlers
 *		go func() {
 *			for link := range unseenLinks {
 *				tokens <- struct{}{}	// acquire a token
 *				body := fetch(link)
 *				<-tokens		// release it
 *				worklist <- parse(body)
 *			}
 *		}()
 *	}
 *	queue, n := seeds, len(seeds)	// n: pages seen whose links are not back
 *	for n > 0 {			// main, the only owner of seen
 *		var out chan string	// nil: nothing to hand out
 *		if len(queue) > 0 { out = unseenLinks }
 *		select {
 *		case out <- queue[0]:
 *			queue = queue[1:]
 *		case list := <-worklist:
 *			n--
 *			for _, link := range list {
 *				if !seen[link] { seen[link] = true; n++; queue = append(queue, link) }
 *			}
 *		}
 *	}
 *	close(unseenLinks)		// every crawler's range loop ends
 *
 * Main never blocks on a send alone (crawl3 sends the found links from yet
 * another goroutine for that reason): it selects between handing out the
 * next link and taking a list back. The web is a graph generated at
 * start-up (the same every run) and written to a temporary file, unlinked
 * at once (the crawlers share its descriptor), one page per line ("17: 3
 * 99 120": page 17 links to 3, 99 and 120); fetch(page) takes FETCH_MS,
 * the network, and parse reads the page's line from the file. Each
 * crawler is a process; a list is a message of variable length.
 *
 * Invariant (shared-memory counters, for checking only): never more than
 * TOKENS fetches at once, and TOKENS reached (the tokens, not the number
 * of crawlers, held them back); every page reachable from page 0 fetched
 * exactly once, the unreachable ones never; once n is 0 and unseenLinks
 * closed every crawler exits (the worklist then closes: its last sender
 * is gone), no token is left taken, every process exits 0.
 * KCHAN_EXAMPLE_BREAK=1 drops the tokens (crawl1's unbounded parallelism);
 * =2 never closes unseenLinks (crawl3 as the book prints it: the crawlers
 * wait forever).
 */
#include "common.h"

#include <fcntl.h>
#include <stddef.h>
#include <sys/stat.h>

const char *prog = "crawler";

#define TOKENS		20
#define REACH		200	/* pages reachable from page 0 */
#define NPAGES		240	/* the last 40 link in, nothing links to them */
#define HOME_LINKS	30	/* page 0 links to pages 1..30 */
#define MAXDEG		32
#define FETCH_MS	50
#define CRAWLERS	32	/* more than TOKENS */

struct list {			/* one worklist message: a page's links */
	int32_t from;		/* the page, -1 for the seeds */
	int32_t n;
	int32_t links[MAXDEG];
};
#define LIST_LEN(n)	(offsetof(struct list, links) + (size_t)(n) * sizeof(int32_t))

static int worklist[2], unseen[2], tokens, graph_fd;
static bool no_tokens;

struct stats {			/* shared memory, for checking only */
	int inside, max_inside, waited;
	int fetched[NPAGES];
};
static struct stats *st;

/* ---- the web: a generated graph in a file ---- */

static uint32_t rnd(uint32_t *s)
{
	*s = *s * 1103515245 + 12345;
	return *s >> 8;
}

static void add_link(int32_t (*adj)[MAXDEG], int *deg, int from, int to)
{
	for (int i = 0; i < deg[from]; i++)
		if (adj[from][i] == to)
			return;
	if (deg[from] < MAXDEG)
		adj[from][deg[from]++] = to;
}

/* Write the graph to a temporary file (unlinked at once: the descriptor is
 * the file) and return the descriptor. */
static int make_web(void)
{
	static int32_t adj[NPAGES][MAXDEG];
	static int deg[NPAGES];
	char path[] = "/tmp/kchan-crawler.XXXXXX";
	uint32_t seed = 42;
	FILE *f;
	int fd;

	for (int p = 1; p <= HOME_LINKS; p++)
		add_link(adj, deg, 0, p);
	for (int p = HOME_LINKS + 1; p < REACH; p++) {	/* a parent: reachable */
		int parent;

		do
			parent = 1 + rnd(&seed) % (p - 1);
		while (deg[parent] >= MAXDEG - 4);
		add_link(adj, deg, parent, p);
	}
	for (int p = 1; p < NPAGES; p++)	/* cross links within the reachable part */
		for (int k = rnd(&seed) % 3; k > 0; k--)
			add_link(adj, deg, p, rnd(&seed) % REACH);

	fd = mkstemp(path);
	CHECK(fd);
	CHECK(unlink(path));
	f = fdopen(dup(fd), "w");
	EXPECT(f, "fdopen: %s", strerror(errno));
	for (int p = 0; p < NPAGES; p++) {
		fprintf(f, "%d:", p);
		for (int i = 0; i < deg[p]; i++)
			fprintf(f, " %d", adj[p][i]);
		fputc('\n', f);
	}
	EXPECT(fclose(f) == 0, "writing the graph: %s", strerror(errno));
	return fd;
}

/* Read page @page's links from the file: pread, so that the processes
 * sharing the descriptor do not share a file offset. */
static void read_page(int page, struct list *l)
{
	static char buf[16384];
	struct stat sb;
	char *line, *end;
	ssize_t n;

	CHECK(fstat(graph_fd, &sb));
	EXPECT(sb.st_size < (off_t)sizeof(buf), "graph file too big");
	n = pread(graph_fd, buf, sb.st_size, 0);
	EXPECT(n == sb.st_size, "short read of the graph file");
	buf[n] = 0;
	l->from = page;
	l->n = 0;
	for (line = buf; *line; line = end + 1) {
		end = strchr(line, '\n');
		EXPECT(end, "graph file: unterminated line");
		if (atoi(line) != page)
			continue;
		for (char *s = strchr(line, ':') + 1; s < end; ) {
			char *next;
			long v = strtol(s, &next, 10);

			if (next == s)
				break;
			EXPECT(l->n < MAXDEG && v >= 0 && v < NPAGES, "graph file: bad link");
			l->links[l->n++] = v;
			s = next;
		}
		return;
	}
	die("page %d not in the graph file", page);
}

/* ---- the crawl ---- */

static void fetch(int page)
{
	int now = __atomic_add_fetch(&st->inside, 1, __ATOMIC_SEQ_CST);
	int m = __atomic_load_n(&st->max_inside, __ATOMIC_SEQ_CST);

	while (now > m &&
	       !__atomic_compare_exchange_n(&st->max_inside, &m, now, false,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		;
	__atomic_add_fetch(&st->fetched[page], 1, __ATOMIC_SEQ_CST);
	sleep_ms(FETCH_MS);	/* the network */
	__atomic_sub_fetch(&st->inside, 1, __ATOMIC_SEQ_CST);
}

static int crawler(void *arg)
{
	int32_t page;
	struct list l;
	bool ok;

	(void)arg;
	close(worklist[0]);
	close(unseen[1]);
	for (;;) {	/* for link := range unseenLinks */
		CHECK(chan_recv(unseen[0], &page, sizeof(page), &ok));
		if (!ok)
			return 0;
		if (!no_tokens) {	/* tokens <- struct{}{} */
			if (chan_trysend(tokens, NULL, 0) < 0) {
				EXPECT(errno == EAGAIN, "token: %s", strerror(errno));
				__atomic_add_fetch(&st->waited, 1, __ATOMIC_SEQ_CST);
				CHECK(chan_send(tokens, NULL, 0));
			}
		}
		fetch(page);
		if (!no_tokens) {	/* <-tokens */
			CHECK(chan_recv(tokens, NULL, 0, &ok));
			EXPECT(ok, "tokens closed");
		}
		read_page(page, &l);	/* parse */
		CHECK(chan_send(worklist[1], &l, LIST_LEN(l.n)));	/* worklist <- list */
	}
}

/* The pages reachable from page 0, from the file (for checking). */
static void reachable(bool *reach)
{
	int queue[NPAGES], head = 0, tail = 0;
	struct list l;

	memset(reach, 0, NPAGES * sizeof(*reach));
	reach[0] = true;
	queue[tail++] = 0;
	while (head < tail) {
		read_page(queue[head++], &l);
		for (int i = 0; i < l.n; i++)
			if (!reach[l.links[i]]) {
				reach[l.links[i]] = true;
				queue[tail++] = l.links[i];
			}
	}
}

int main(void)
{
	static const char *const bugs[] = {
		"no tokens: every crawler fetches at once (gopl's crawl1)",
		"unseenLinks never closed (crawl3 as printed): the crawlers wait forever",
	};
	static bool seen[NPAGES], reach[NPAGES];
	static int32_t queue[NPAGES];
	pid_t pids[CRAWLERS];
	struct chan_info info;
	int head = 0, tail = 0, n, lists = 0, nreach = 0, nseen = 0, brk;
	int64_t t0 = now_ns();
	struct list l;
	bool ok;

	watchdog(120);
	setvbuf(stdout, NULL, _IOLBF, 0);
	brk = break_choose(bugs, 2);
	no_tokens = brk == 1;
	st = shared_alloc(sizeof(*st));
	graph_fd = make_web();
	CHECK(chan_pipe(worklist, sizeof(struct list), 0, CHAN_CLOEXEC));
	CHECK(chan_pipe(unseen, sizeof(int32_t), 0, CHAN_CLOEXEC));
	tokens = chan_make(0, TOKENS, CHAN_CLOEXEC);	/* chan struct{}, 20 slots */
	CHECK(tokens);
	for (int i = 0; i < CRAWLERS; i++)
		pids[i] = spawn(crawler, NULL);
	close(worklist[1]);	/* the crawlers are its only senders */
	close(unseen[0]);

	seen[0] = true;		/* the seed */
	queue[tail++] = 0;
	nseen = n = 1;
	while (n > 0) {
		struct chan_case cases[2] = {
			{ .ch = worklist[0], .op = CHAN_RECV, .buf = &l, .len = sizeof(l) },
			{ .ch = head < tail ? unseen[1] : -1,	/* nil when nothing to hand out */
			  .op = CHAN_SEND, .buf = &queue[head], .len = sizeof(queue[0]) },
		};
		int i = chan_select(cases, 2, -1);

		CHECK(i);
		if (i == 1) {		/* unseenLinks <- queue[0] */
			EXPECT(cases[1].ok, "unseenLinks closed");
			head++;
			continue;
		}
		EXPECT(cases[0].ok && cases[0].len == LIST_LEN(l.n), "bad list");
		n--;
		lists++;
		for (int k = 0; k < l.n; k++) {
			int link = l.links[k];

			if (seen[link])
				continue;
			seen[link] = true;
			nseen++;
			n++;
			queue[tail++] = link;
		}
	}
	double ms = (double)(now_ns() - t0) / 1e6;

	printf("crawled %d pages in %.0f ms with %d crawler processes: %d lists back, n = 0\n",
	       nseen, ms, CRAWLERS, lists);
	if (brk != 2)
		CHECK(chan_close(unseen[1]));	/* close(unseenLinks) */
	/* Every crawler leaves its range loop and exits; the last one gone
	 * closes the worklist. A crawler still blocked keeps it open: once
	 * all of them wait on unseenLinks, which nobody will ever send on
	 * again, they wait forever. */
	ssize_t r;

	while ((r = chan_recv_timeout(worklist[0], &l, sizeof(l), &ok, MS(100))) < 0 &&
	       errno == ETIMEDOUT) {
		CHECK(chan_info(unseen[1], &info));
		if (info.recv_waiters == CRAWLERS)
			die("all %d crawlers blocked receiving on unseenLinks, and nobody will send",
			    CRAWLERS);
	}
	CHECK(r);
	EXPECT(!ok, "a list nobody asked for");
	CHECK(chan_info(unseen[1], &info));
	EXPECT(info.recv_waiters == 0 && info.send_waiters == 0,
	       "unseenLinks: %u receivers, %u senders waiting", info.recv_waiters,
	       info.send_waiters);
	EXPECT(chan_len(tokens) == 0, "%d tokens never given back", chan_len(tokens));
	reap_all(pids, CRAWLERS, "crawler");
	printf("unseenLinks closed: all %d crawlers exited 0, the worklist closed behind the last, all %d tokens back\n",
	       CRAWLERS, TOKENS);

	reachable(reach);
	for (int p = 0; p < NPAGES; p++) {
		nreach += reach[p];
		EXPECT(st->fetched[p] == (reach[p] ? 1 : 0),
		       "page %d fetched %d times (%s)", p, st->fetched[p],
		       reach[p] ? "reachable" : "unreachable");
		EXPECT(seen[p] == reach[p], "page %d: seen %d, reachable %d", p,
		       seen[p], reach[p]);
	}
	printf("each of the %d pages reachable from page 0 fetched exactly once, the other %d never\n",
	       nreach, NPAGES - nreach);
	printf("at most %d fetches at once (%d tokens, %d crawlers); a token was not free %d times\n",
	       st->max_inside, TOKENS, CRAWLERS, st->waited);
	EXPECT(st->max_inside <= TOKENS, "%d fetches at once, limit %d",
	       st->max_inside, TOKENS);
	EXPECT(st->max_inside == TOKENS, "never %d fetches at once (max %d)", TOKENS,
	       st->max_inside);
	printf("crawler: ok\n");
	return 0;
}
