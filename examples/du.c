// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * du: disk usage with progress, walkers cancelled by closing a channel
 * (du4 of "The Go Programming Language", 8.10).
 *
 *	func walkDir(dir string, fileSizes chan<- int64) {
 *		if cancelled() { return }
 *		select { case sema <- struct{}{}: case <-done: return }
 *		entries := readDir(dir); <-sema
 *		for _, e := range entries {
 *			if e.IsDir() { go walkDir(e.Name(), fileSizes); continue }
 *			select { case fileSizes <- e.Size(): case <-done: return }
 *		}
 *	}
 *	tick := time.Tick(500 * time.Millisecond)
 *	for { select {
 *		case size, ok := <-fileSizes: if !ok { break loop }; n++; total += size
 *		case <-tick: printDiskUsage(n, total)
 *	} }
 *
 * A walker is a process per directory; a semaphore channel of -j tokens
 * bounds how many read a directory at once. No WaitGroup: every walker
 * holds a send handle of the sizes channel, so it closes by itself when
 * the last walker exits. A ticker (chan_ticker) prints progress every -p
 * ms (default 500), one case of the main loop's select.
 *
 * Round 1 walks the directories given (default .) to the end and checks
 * the total against a serial walk (nftw): every regular file counted
 * once, the bytes exact, and never more than -j walkers reading a
 * directory at once. Round 2 walks them again, takes 3 sizes and closes
 * done: every walker, blocked in its select or about to be, stops at
 * once (one close is a broadcast): all exit 0 while main receives nothing
 * more, and the sizes channel closes empty.
 *
 * DU_FAULT=ignore-done makes walkers send without the done case (round 2
 * then finds walkers still blocked after the cancel); DU_FAULT=drop-file makes each
 * walker skip its first file (round 1's totals then differ).
 */
#include "common.h"

#include <dirent.h>
#include <ftw.h>
#include <stdbool.h>
#include <sys/stat.h>

const char *prog = "du";

#define MAX_KIDS	256

struct stats {
	int inside;		/* walkers reading a directory now */
	int max_inside;
	int walkers;		/* walker processes started */
};

static struct stats *st;
static int sizes[2];		/* [0] main receives, [1] walkers send */
static int done[2];		/* [0] walkers receive, [1] main closes */
static int sema;		/* -j tokens: send takes one, recv gives back */
static const char *fault;

static bool cancelled(void)
{
	bool ok = true;

	/* A closed done channel receives at once (ok false): Go's <-done. */
	return chan_tryrecv(done[0], NULL, 0, &ok) == 0 && !ok;
}

static int walk(void *arg);

/* Send one file's size unless cancelled; false once done is closed. */
static bool send_size(int64_t size)
{
	struct chan_case cases[] = {
		{ .ch = sizes[1], .op = CHAN_SEND, .buf = &size,
		  .len = sizeof(size) },
		{ .ch = done[0], .op = CHAN_RECV },
	};
	int idx;

	if (fault && !strcmp(fault, "ignore-done")) {
		CHECK(chan_send(sizes[1], &size, sizeof(size)));
		return true;
	}
	CHECK(idx = chan_select(cases, 2, -1));
	return idx == 0;
}

static int walk(void *arg)
{
	const char *dir = arg;
	struct chan_case acquire[] = {
		{ .ch = sema, .op = CHAN_SEND },
		{ .ch = done[0], .op = CHAN_RECV },
	};
	pid_t kids[MAX_KIDS];
	int nkids = 0, idx, status = 0, dfd, in;
	bool skip = fault && !strcmp(fault, "drop-file");
	struct dirent *e;
	struct stat sb;
	char path[4096];
	DIR *d;

	/* Main's ends stay with main: its close of done must be the last. */
	if (done[1] >= 0) {
		close(done[1]);
		close(sizes[0]);
		done[1] = sizes[0] = -1;
	}
	__atomic_add_fetch(&st->walkers, 1, __ATOMIC_RELAXED);
	if (cancelled())
		return 0;
	CHECK(idx = chan_select(acquire, 2, -1));
	if (idx == 1)
		return 0;
	in = __atomic_add_fetch(&st->inside, 1, __ATOMIC_SEQ_CST);
	for (int m = __atomic_load_n(&st->max_inside, __ATOMIC_RELAXED);
	     in > m && !__atomic_compare_exchange_n(&st->max_inside, &m, in,
						    false, __ATOMIC_SEQ_CST,
						    __ATOMIC_RELAXED);)
		;
	d = opendir(dir);
	if (!d)
		die("opendir %s: %s", dir, strerror(errno));
	dfd = dirfd(d);
	/* Read the whole directory while holding the token, as Go's dirents. */
	struct { char name[256]; bool isdir; int64_t size; } *ents = NULL;
	size_t n = 0, cap = 0;

	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (fstatat(dfd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			die("stat %s/%s: %s", dir, e->d_name, strerror(errno));
		if (!S_ISDIR(sb.st_mode) && !S_ISREG(sb.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 32;
			ents = realloc(ents, cap * sizeof(*ents));
			if (!ents)
				die("out of memory");
		}
		snprintf(ents[n].name, sizeof(ents[n].name), "%s", e->d_name);
		ents[n].isdir = S_ISDIR(sb.st_mode);
		ents[n].size = sb.st_size;
		n++;
	}
	closedir(d);
	__atomic_sub_fetch(&st->inside, 1, __ATOMIC_SEQ_CST);
	CHECK(chan_recv(sema, NULL, 0, NULL));

	for (size_t i = 0; i < n; i++) {
		if (ents[i].isdir) {
			if (cancelled())
				break;
			EXPECT(nkids < MAX_KIDS, "%s: too many subdirectories",
			       dir);
			snprintf(path, sizeof(path), "%s/%s", dir, ents[i].name);
			kids[nkids++] = spawn(walk, path);
			continue;
		}
		if (skip) {
			skip = false;
			continue;
		}
		if (!send_size(ents[i].size))
			break;	/* done closed: cancelled */
	}
	free(ents);
	/* spawn()'s children die with their parent: wait for the subtree. */
	for (int k = 0; k < nkids; k++)
		if (reap(kids[k]))
			status = 1;
	return status;
}

/* The serial answer: nftw, regular files only, symlinks not followed. */
static long ref_files;
static int64_t ref_bytes;

static int ref_one(const char *path, const struct stat *sb, int type,
		   struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (type == FTW_F && S_ISREG(sb->st_mode)) {
		ref_files++;
		ref_bytes += sb->st_size;
	}
	return 0;
}

/*
 * One walk of @dirs. @cancel_after > 0: close done after that many sizes.
 * Returns the files received, their bytes in *bytes.
 */
static long du(char **dirs, int ndirs, int jobs, int64_t period,
	       long cancel_after, int64_t *bytes, long *progress)
{
	struct chan_tick tick;
	pid_t roots[64];
	int64_t size, total = 0;
	long files = 0;
	int ticker, idx;

	memset(st, 0, sizeof(*st));
	CHECK(chan_pipe(sizes, sizeof(int64_t), 0, CHAN_CLOEXEC));
	CHECK(chan_pipe(done, 0, 0, CHAN_CLOEXEC));
	CHECK(sema = chan_make(0, (unsigned)jobs, CHAN_CLOEXEC));
	for (int i = 0; i < ndirs; i++)
		roots[i] = spawn(walk, dirs[i]);
	/* The walkers hold the only send handles of sizes now. */
	close(sizes[1]);
	close(done[0]);
	CHECK(ticker = chan_ticker(period, CHAN_CLOEXEC));
	*progress = 0;
	for (;;) {
		struct chan_case cases[] = {
			{ .ch = sizes[0], .op = CHAN_RECV, .buf = &size,
			  .len = sizeof(size) },
			{ .ch = ticker, .op = CHAN_RECV, .buf = &tick,
			  .len = sizeof(tick) },
		};

		if (cancel_after && files == cancel_after)
			break;
		CHECK(idx = chan_select(cases, 2, -1));
		if (idx == 1) {
			printf("  %ld files  %.1f kB%s\n", files, total / 1e3,
			       tick.missed ? " (progress ticks missed)" : "");
			(*progress)++;
			continue;
		}
		if (!cases[0].ok)
			break;	/* the last walker exited */
		files++;
		total += size;
	}
	close(ticker);
	if (cancel_after) {
		struct chan_info in;
		int64_t end = now_ns() + MS(20000);
		bool ok = true;

		/* Let walkers park in their selects, then one close. */
		do {
			CHECK(chan_info(sizes[0], &in));
		} while (!in.send_waiters && now_ns() < end &&
			 (sleep_ms(1), 1));
		printf("cancel: %ld sizes taken, %u walker(s) blocked sending; closing done\n",
		       files, in.send_waiters);
		close(done[1]);
		/*
		 * We receive nothing more, so a walker's select can only take
		 * done: every one must stop and exit (its send handle with it).
		 */
		end = now_ns() + MS(20000);
		do {
			CHECK(chan_info(sizes[0], &in));
		} while (in.send_handles && now_ns() < end && (sleep_ms(1), 1));
		EXPECT(!in.send_handles,
		       "%u walker(s) still running 20 s after the cancel, %u blocked sending",
		       in.send_handles, in.send_waiters);
		EXPECT(in.closed && chan_tryrecv(sizes[0], &size, sizeof(size),
						 &ok) == 0 && !ok,
		       "the sizes channel is not closed and empty");
	} else {
		close(done[1]);
	}
	for (int i = 0; i < ndirs; i++)
		EXPECT(reap(roots[i]) == 0, "walker of %s failed", dirs[i]);
	close(sizes[0]);
	close(sema);
	*bytes = total;
	return files;
}

int main(int argc, char **argv)
{
	char *dflt[] = { "." };
	int64_t period = MS(500), bytes;
	long files, progress;
	int jobs = 4, opt;
	char **dirs;
	int ndirs;

	while ((opt = getopt(argc, argv, "j:p:")) != -1) {
		switch (opt) {
		case 'j':
			jobs = atoi(optarg);
			break;
		case 'p':
			period = MS(atol(optarg));
			break;
		default:
			fprintf(stderr, "usage: %s [-j jobs] [-p progress_ms] [dir...]\n",
				prog);
			return 2;
		}
	}
	EXPECT(jobs > 0 && period > 0, "-j and -p must be > 0");
	dirs = optind < argc ? argv + optind : dflt;
	ndirs = optind < argc ? argc - optind : 1;
	EXPECT(ndirs <= 64, "at most 64 directories");
	fault = getenv("DU_FAULT");
	watchdog(200);
	setvbuf(stdout, NULL, _IOLBF, 0);
	st = shared_alloc(sizeof(*st));

	for (int i = 0; i < ndirs; i++)
		EXPECT(nftw(dirs[i], ref_one, 16, FTW_PHYS) == 0, "nftw %s: %s",
		       dirs[i], strerror(errno));

	printf("round 1: %d walk(s), %d at a time, progress every %lld ms\n",
	       ndirs, jobs, (long long)(period / MS(1)));
	files = du(dirs, ndirs, jobs, period, 0, &bytes, &progress);
	printf("%ld files  %.1f kB (%d walkers, at most %d reading at once, %ld progress lines)\n",
	       files, bytes / 1e3, st->walkers, st->max_inside, progress);
	EXPECT(files == ref_files && bytes == ref_bytes,
	       "walkers counted %ld files, %lld bytes; nftw %ld, %lld",
	       files, (long long)bytes, ref_files, (long long)ref_bytes);
	EXPECT(st->max_inside <= jobs, "%d walkers read at once, limit %d",
	       st->max_inside, jobs);
	printf("round 1: totals match a serial walk; semaphore held\n");

	if (ref_files > 3) {
		printf("round 2: cancel after 3 files\n");
		files = du(dirs, ndirs, jobs, period, 3, &bytes, &progress);
		EXPECT(files == 3, "took %ld sizes", files);
		printf("round 2: one close stopped every walker; sizes closed empty\n");
	}
	printf("du: ok\n");
	return 0;
}
