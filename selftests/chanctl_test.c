// SPDX-License-Identifier: GPL-2.0
/*
 * chanctl end to end (issue 5): create/send/recv/close/unlink/stat/ls as
 * real processes and shell pipelines. The tool is ../tools/chanctl
 * relative to this program, or $CHANCTL.
 */
#include <libgen.h>
#include <limits.h>

#include "kchan_test.h"

static char chanctl[PATH_MAX];

static int find_chanctl(void)
{
	char self[PATH_MAX];
	const char *env = getenv("CHANCTL");
	ssize_t n;

	if (env) {
		snprintf(chanctl, sizeof(chanctl), "%s", env);
		return access(chanctl, X_OK);
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return -1;
	self[n] = 0;
	if (strlen(dirname(self)) + 32 > sizeof(chanctl))
		return -1;
	strcpy(chanctl, self);
	strcat(chanctl, "/../tools/chanctl");
	return access(chanctl, X_OK);
}

#define NEED_CHANCTL() do { \
	if (find_chanctl()) \
		SKIP(return, "chanctl not built (make -C tools)"); \
} while (0)

struct run {
	pid_t pid;
	int out, err;	/* read ends */
};

/*
 * Start "sh -c CMD" where %C in CMD is the chanctl path; stdout and
 * stderr come back through pipes.
 */
static int run_start(struct run *r, const char *fmt, const char *name)
{
	char cmd[3 * PATH_MAX], *d = cmd;
	const char *s;
	int o[2], e[2];

	for (s = fmt; *s && d < cmd + sizeof(cmd) - PATH_MAX - 64; s++) {
		if (s[0] == '%' && s[1] == 'C') {
			d += sprintf(d, "%s", chanctl);
			s++;
		} else if (s[0] == '%' && s[1] == 'N') {
			d += sprintf(d, "%s", name);
			s++;
		} else {
			*d++ = *s;
		}
	}
	*d = 0;
	if (pipe(o) || pipe(e))
		return -1;
	r->pid = fork();
	if (r->pid < 0)
		return -1;
	if (r->pid == 0) {
		/* dies with the test, but no alarm: it would survive exec */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(o[1], 1);
		dup2(e[1], 2);
		close(o[0]);
		close(e[0]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(o[1]);
	close(e[1]);
	r->out = o[0];
	r->err = e[0];
	return 0;
}

static void slurp(int fd, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;

	while (got < size - 1 && (n = read(fd, buf + got, size - 1 - got)) > 0)
		got += n;
	buf[got] = 0;
	close(fd);
}

/* Wait for it; exit status, output in out/err (NUL-terminated). */
static int run_wait(struct run *r, char *out, size_t outsz, char *err,
		    size_t errsz)
{
	slurp(r->out, out, outsz);
	slurp(r->err, err, errsz);
	return kc_reap(r->pid);
}

static int run(const char *fmt, const char *name, char *out, size_t outsz,
	       char *err, size_t errsz)
{
	struct run r;

	if (run_start(&r, fmt, name))
		return -1;
	return run_wait(&r, out, outsz, err, errsz);
}

static const char *tname(const char *tag)
{
	static char b[4][64];
	static int next;
	char *p = b[next++ % 4];

	snprintf(p, sizeof(b[0]), "cc.%s.%d", tag, getpid());
	return p;
}

/* Exactly one line on stderr, containing @want. */
static int one_line_with(const char *err, const char *want)
{
	const char *nl = strchr(err, '\n');

	return nl && !nl[1] && strstr(err, want) && !strncmp(err, "chanctl", 7);
}

/* The value of "key:\t..." in stat output, or -1. */
static long long stat_field(const char *out, const char *key)
{
	char want[64];
	const char *p;

	snprintf(want, sizeof(want), "\n%s:\t", key);
	p = strstr(out, want);
	if (!p)
		return -1;
	return strtoll(p + strlen(want), NULL, 0);
}

#define OUT 8192
#define ERR 1024

/*
 * Every case starts many processes (a shell, chanctl): slow under a debug
 * kernel in emulation, so each gets far more than the default 30 s.
 */
#define CC_TIMEOUT 300

FIXTURE(cc) {
	int unused;
};

FIXTURE_SETUP(cc)
{
	NEED_CHANCTL();
}

FIXTURE_TEARDOWN(cc)
{
}

TEST_F_TIMEOUT(cc, create_stat_unlink, CC_TIMEOUT)
{
	const char *name = tname("stat");
	char out[OUT], err[ERR];

	run("%C unlink %N", name, out, OUT, err, ERR);
	ASSERT_EQ(0, run("%C create %N --cap 4 --msg-size 64 --mode 0640",
			 name, out, OUT, err, ERR)) TH_LOG("%s", err);
	EXPECT_STREQ("", out);
	ASSERT_EQ(0, run("%C stat %N", name, out, OUT, err, ERR));
	EXPECT_EQ(4, stat_field(out, "capacity"));
	EXPECT_EQ(64, stat_field(out, "msg_size"));
	EXPECT_EQ(0, stat_field(out, "closed"));
	EXPECT_EQ(0, stat_field(out, "len"));
	EXPECT_EQ(0, stat_field(out, "send_handles"));
	EXPECT_EQ(0, stat_field(out, "recv_handles"));

	EXPECT_EQ(1, run("%C create %N", name, out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "channel exists")) TH_LOG("%s", err);
	ASSERT_EQ(0, run("%C unlink %N", name, out, OUT, err, ERR));
	EXPECT_EQ(1, run("%C unlink %N", name, out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "no such channel")) TH_LOG("%s", err);
	EXPECT_EQ(1, run("%C stat %N", name, out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "no such channel")) TH_LOG("%s", err);
}

/* The pipeline: seq 10 | chanctl send jobs - ; chanctl recv jobs --count 10 */
static void pipeline(struct __test_metadata *_metadata, const char *cap,
		     bool sender_first)
{
	const char *name = tname("jobs");
	char out[OUT], err[ERR], out2[OUT], err2[ERR], cmd[128];
	struct run snd, rcv;

	run("%C unlink %N", name, out, OUT, err, ERR);
	snprintf(cmd, sizeof(cmd), "%%C create %%N --cap %s --msg-size 32", cap);
	ASSERT_EQ(0, run(cmd, name, out, OUT, err, ERR)) TH_LOG("%s", err);
	if (sender_first) {
		ASSERT_EQ(0, run_start(&snd, "seq 10 | %C send %N -", name));
		ASSERT_EQ(0, run_start(&rcv, "%C recv %N --count 10", name));
	} else {
		ASSERT_EQ(0, run_start(&rcv, "%C recv %N --count 10", name));
		ASSERT_EQ(0, run_start(&snd, "seq 10 | %C send %N -", name));
	}
	EXPECT_EQ(0, run_wait(&rcv, out, OUT, err, ERR)) TH_LOG("%s", err);
	EXPECT_STREQ("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", out);
	EXPECT_EQ(0, run_wait(&snd, out2, OUT, err2, ERR)) TH_LOG("%s", err2);
	EXPECT_STREQ("", err);
	EXPECT_STREQ("", err2);
	EXPECT_EQ(0, run("%C unlink %N", name, out, OUT, err, ERR));
}

TEST_F_TIMEOUT(cc, pipeline_unbuffered_receiver_first, CC_TIMEOUT)
{
	pipeline(_metadata, "0", false);
}

TEST_F_TIMEOUT(cc, pipeline_unbuffered_sender_first, CC_TIMEOUT)
{
	pipeline(_metadata, "0", true);
}

TEST_F_TIMEOUT(cc, pipeline_buffered_sender_first, CC_TIMEOUT)
{
	pipeline(_metadata, "4", true);
}

/*
 * recv without --count runs until the channel is closed and drained. A
 * sender's exit closes nothing (the name holds the channel open): chanctl
 * close does.
 */
TEST_F_TIMEOUT(cc, recv_until_closed, CC_TIMEOUT)
{
	const char *name = tname("drain");
	char out[OUT], err[ERR], out2[OUT], err2[ERR];
	struct run rcv;

	run("%C unlink %N", name, out, OUT, err, ERR);
	ASSERT_EQ(0, run("%C create %N --cap 2", name, out, OUT, err, ERR));
	ASSERT_EQ(0, run_start(&rcv, "%C recv %N", name));
	ASSERT_EQ(0, run("printf 'a b\\n\\nc\\n' | %C send %N", name, out2, OUT,
			 err2, ERR)) TH_LOG("%s", err2);
	ASSERT_EQ(0, run("%C stat %N", name, out2, OUT, err2, ERR));
	EXPECT_EQ(0, stat_field(out2, "closed"));
	ASSERT_EQ(0, run("%C close %N", name, out2, OUT, err2, ERR))
		TH_LOG("%s", err2);
	EXPECT_EQ(0, run_wait(&rcv, out, OUT, err, ERR)) TH_LOG("%s", err);
	EXPECT_STREQ("a b\n\nc\n", out);
	/* Closed for good now: a later sender is told so. */
	ASSERT_EQ(0, run("%C stat %N", name, out, OUT, err, ERR));
	EXPECT_EQ(1, stat_field(out, "closed"));
	EXPECT_EQ(1, run("%C send %N more", name, out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "channel closed")) TH_LOG("%s", err);
	EXPECT_EQ(0, run("%C unlink %N", name, out, OUT, err, ERR));
}

TEST_F_TIMEOUT(cc, send_one_message, CC_TIMEOUT)
{
	const char *name = tname("one");
	char out[OUT], err[ERR], o2[OUT], e2[ERR];
	struct run hold, snd;

	run("%C unlink %N", name, out, OUT, err, ERR);
	ASSERT_EQ(0, run("%C create %N --cap 1 --msg-size 8", name, out, OUT,
			 err, ERR));
	ASSERT_EQ(0, run_start(&hold, "%C recv %N --count 1", name));
	ASSERT_EQ(0, run_start(&snd, "%C send %N hello", name));
	EXPECT_EQ(0, run_wait(&snd, o2, OUT, e2, ERR)) TH_LOG("%s", e2);
	EXPECT_EQ(0, run_wait(&hold, out, OUT, err, ERR)) TH_LOG("%s", err);
	EXPECT_STREQ("hello\n", out);
	EXPECT_EQ(0, run("%C unlink %N", name, out, OUT, err, ERR));
}

TEST_F_TIMEOUT(cc, too_long, CC_TIMEOUT)
{
	const char *name = tname("long");
	char out[OUT], err[ERR];

	run("%C unlink %N", name, out, OUT, err, ERR);
	ASSERT_EQ(0, run("%C create %N --msg-size 8", name, out, OUT, err,
			 ERR));
	EXPECT_EQ(1, run("%C send %N toolongmessage", name, out, OUT, err,
			 ERR));
	EXPECT_TRUE(one_line_with(err, "msg_size")) TH_LOG("%s", err);
	EXPECT_EQ(0, run("%C unlink %N", name, out, OUT, err, ERR));
}

TEST_F_TIMEOUT(cc, close_then_errors, CC_TIMEOUT)
{
	const char *name = tname("close");
	char out[OUT], err[ERR];

	run("%C unlink %N", name, out, OUT, err, ERR);
	ASSERT_EQ(0, run("%C create %N --cap 1", name, out, OUT, err, ERR));
	ASSERT_EQ(0, run("%C close %N", name, out, OUT, err, ERR))
		TH_LOG("%s", err);
	EXPECT_EQ(1, run("%C close %N", name, out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "already closed")) TH_LOG("%s", err);
	/* closed and drained: recv ends at once, empty */
	EXPECT_EQ(0, run("%C recv %N", name, out, OUT, err, ERR));
	EXPECT_STREQ("", out);
	EXPECT_EQ(1, run("%C recv %N --count 1", name, out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "closed after 0 of 1")) TH_LOG("%s", err);
	EXPECT_EQ(1, run("%C send %N x", name, out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "channel closed")) TH_LOG("%s", err);
	EXPECT_EQ(0, run("%C unlink %N", name, out, OUT, err, ERR));
}

TEST_F_TIMEOUT(cc, timeouts, CC_TIMEOUT)
{
	const char *name = tname("timeout");
	char out[OUT], err[ERR];
	int64_t t0;

	run("%C unlink %N", name, out, OUT, err, ERR);
	ASSERT_EQ(0, run("%C create %N", name, out, OUT, err, ERR));
	t0 = kc_now_ns();
	EXPECT_EQ(1, run("%C recv %N --timeout 0.3", name, out, OUT, err,
			 ERR));
	EXPECT_TRUE(one_line_with(err, "timed out")) TH_LOG("%s", err);
	EXPECT_GE(kc_now_ns() - t0, 300000000LL);
	/* no receiver ever comes */
	EXPECT_EQ(1, run("%C send %N x --timeout 0.2", name, out, OUT, err,
			 ERR));
	EXPECT_TRUE(one_line_with(err, "timed out")) TH_LOG("%s", err);
	EXPECT_EQ(0, run("%C unlink %N", name, out, OUT, err, ERR));
}

/*
 * Issue 14: a send that timed out (its process gone) leaves the named
 * channel open for the next producer; on a3445ea it closed it for good.
 * --autoclose restores that crash-close.
 */
TEST_F_TIMEOUT(cc, timed_out_send_keeps_channel_open, CC_TIMEOUT)
{
	const char *name = tname("keep");
	char out[OUT], err[ERR], out2[OUT], err2[ERR];
	struct run rcv;

	run("%C unlink %N", name, out, OUT, err, ERR);
	ASSERT_EQ(0, run("%C create %N --cap 2", name, out, OUT, err, ERR));
	EXPECT_EQ(1, run("%C send %N x --timeout 0.2", name, out, OUT, err,
			 ERR));
	EXPECT_TRUE(one_line_with(err, "timed out")) TH_LOG("%s", err);
	ASSERT_EQ(0, run("%C stat %N", name, out, OUT, err, ERR));
	EXPECT_EQ(0, stat_field(out, "closed"));
	EXPECT_EQ(0, stat_field(out, "autoclose"));
	ASSERT_EQ(0, run_start(&rcv, "%C recv %N --count 2", name));
	ASSERT_EQ(0, run("%C send %N one", name, out2, OUT, err2, ERR))
		TH_LOG("%s", err2);
	ASSERT_EQ(0, run("%C send %N two", name, out2, OUT, err2, ERR))
		TH_LOG("%s", err2);
	EXPECT_EQ(0, run_wait(&rcv, out, OUT, err, ERR)) TH_LOG("%s", err);
	EXPECT_STREQ("one\ntwo\n", out);
	EXPECT_EQ(0, run("%C unlink %N", name, out, OUT, err, ERR));

	ASSERT_EQ(0, run("%C create %N --cap 2 --autoclose", name, out, OUT,
			 err, ERR)) TH_LOG("%s", err);
	EXPECT_EQ(1, run("%C send %N x --timeout 0.2", name, out, OUT, err,
			 ERR));
	ASSERT_EQ(0, run("%C stat %N", name, out, OUT, err, ERR));
	EXPECT_EQ(1, stat_field(out, "closed"));
	EXPECT_EQ(1, stat_field(out, "autoclose"));
	EXPECT_EQ(0, run("%C unlink %N", name, out, OUT, err, ERR));
}

TEST_F_TIMEOUT(cc, ls_lists_names, CC_TIMEOUT)
{
	const char *name = tname("ls");
	char out[OUT], err[ERR];

	run("%C unlink %N", name, out, OUT, err, ERR);
	ASSERT_EQ(0, run("%C create %N --cap 3", name, out, OUT, err, ERR));
	ASSERT_EQ(0, run("%C ls", name, out, OUT, err, ERR)) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(out, "NAME")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, name)) TH_LOG("%s", out);
	ASSERT_EQ(0, run("%C unlink %N", name, out, OUT, err, ERR));
	ASSERT_EQ(0, run("%C ls", name, out, OUT, err, ERR));
	EXPECT_EQ(NULL, strstr(out, name));
}

TEST_F_TIMEOUT(cc, usage_errors, CC_TIMEOUT)
{
	char out[OUT], err[ERR];

	EXPECT_EQ(2, run("%C", "", out, OUT, err, ERR));
	EXPECT_EQ(1, run("%C frobnicate x", "", out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "unknown command")) TH_LOG("%s", err);
	EXPECT_EQ(1, run("%C send", "", out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "missing channel NAME")) TH_LOG("%s", err);
	EXPECT_EQ(1, run("%C create x --cap lots", "", out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "bad --cap")) TH_LOG("%s", err);
	EXPECT_EQ(1, run("%C create x --mode 999", "", out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "bad --mode")) TH_LOG("%s", err);
	EXPECT_EQ(1, run("%C create a/b", "", out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "Invalid argument")) TH_LOG("%s", err);
	EXPECT_EQ(0, run("%C --help", "", out, OUT, err, ERR));
	EXPECT_NE(NULL, strstr(out, "usage:"));
}

TEST_HARNESS_MAIN
