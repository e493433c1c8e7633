// SPDX-License-Identifier: GPL-2.0
/*
 * chanctl end to end (issue 5): create/send/recv/close/unlink/stat/ls as
 * real processes and shell pipelines. The tool is ../tools/chanctl
 * relative to this program, or $CHANCTL. Issue 17: options before NAME,
 * names after "--", exit status 2 for usage errors, messages that name
 * the rule and the module limit, --mode exact, mode and owner in ls and
 * stat, --json (checked by a small JSON reader below), top in batch mode,
 * --version, the bash completion (tools/chanctl.bash-completion).
 */
#include <ctype.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <sys/stat.h>

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

/* Run as nobody (util-linux's setpriv), in a run() command line. */
#define NOBODY "setpriv --reuid 65534 --regid 65534 --clear-groups "

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
	EXPECT_TRUE(one_line_with(err, "message of 14 bytes is longer than the channel's msg_size (8 bytes)"))
		TH_LOG("%s", err);
	EXPECT_EQ(1, run("echo toolongmessage | %C send %N -", name, out, OUT,
			 err, ERR));
	EXPECT_TRUE(one_line_with(err, "line 1: message of 14 bytes")) TH_LOG("%s", err);
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

/* Usage errors: one line saying what is wrong, exit status 2 (issue 17). */
TEST_F_TIMEOUT(cc, usage_errors, CC_TIMEOUT)
{
	char out[OUT], err[ERR], cmd[512];

	EXPECT_EQ(2, run("%C", "", out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "missing command")) TH_LOG("%s", err);
	EXPECT_EQ(2, run("%C frobnicate x", "", out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "unknown command 'frobnicate'")) TH_LOG("%s", err);
	EXPECT_EQ(2, run("%C send", "", out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "missing channel NAME")) TH_LOG("%s", err);
	EXPECT_EQ(2, run("%C create x --cap lots", "", out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "bad --cap 'lots'")) TH_LOG("%s", err);
	EXPECT_EQ(2, run("%C create x --cap 4294967296", "", out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "from 0 to 4294967295")) TH_LOG("%s", err);
	EXPECT_EQ(2, run("%C create x --mode 999", "", out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "bad --mode '999': octal")) TH_LOG("%s", err);
	EXPECT_EQ(2, run("%C recv x --count 0", "", out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "bad --count '0'")) TH_LOG("%s", err);
	EXPECT_EQ(2, run("%C send x --timeout soon", "", out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "bad --timeout 'soon'")) TH_LOG("%s", err);
	EXPECT_EQ(2, run("%C close x y", "", out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "unexpected argument 'y'")) TH_LOG("%s", err);
	EXPECT_EQ(2, run("%C create x --cap", "", out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "option '--cap' needs a value")) TH_LOG("%s", err);
	/* the rule a name breaks, before the kernel is asked */
	EXPECT_EQ(2, run("%C create a/b", "", out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "has a '/': a name is 1 to 255 bytes"))
		TH_LOG("%s", err);
	EXPECT_EQ(NULL, strstr(err, "Invalid argument"));
	snprintf(cmd, sizeof(cmd), "%%C stat %0256d", 0);
	EXPECT_EQ(2, run(cmd, "", out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "channel name of 256 bytes: a name is 1 to 255 bytes"))
		TH_LOG("%s", err);
	EXPECT_EQ(2, run("%C unlink ''", "", out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "empty channel name")) TH_LOG("%s", err);
	EXPECT_EQ(0, run("%C --help", "", out, OUT, err, ERR));
	EXPECT_NE(NULL, strstr(out, "usage:"));
	EXPECT_NE(NULL, strstr(out, " top "));
	EXPECT_EQ(0, run("%C create --help", "", out, OUT, err, ERR));
	EXPECT_NE(NULL, strstr(out, "usage: ")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "--msg-size")) TH_LOG("%s", out);
}

/*
 * getopt's own messages start with its argv[0], which was the channel
 * name ("jobs: unrecognized option '--bogus'", then the whole usage):
 * ours name the program and the command, on one line.
 */
TEST_F_TIMEOUT(cc, option_errors_name_the_command, CC_TIMEOUT)
{
	const char *name = tname("opt");
	char out[OUT], err[ERR];

	EXPECT_EQ(2, run("%C create %N --bogus", name, out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "unknown option '--bogus'")) TH_LOG("%s", err);
	EXPECT_EQ(0, strncmp(err, "chanctl create: ", 16)) TH_LOG("%s", err);
	EXPECT_EQ(NULL, strstr(err, name)) TH_LOG("%s", err);
	EXPECT_EQ(2, run("%C recv %N -z", name, out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "unknown option '-z'")) TH_LOG("%s", err);
	EXPECT_EQ(0, strncmp(err, "chanctl recv: ", 14)) TH_LOG("%s", err);
	EXPECT_EQ(2, run("%C create %N --fdpass=yes", name, out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "option '--fdpass=yes' takes no value"))
		TH_LOG("%s", err);
	/* nothing was created by any of them */
	EXPECT_EQ(1, run("%C stat %N", name, out, OUT, err, ERR));
}

/* "create --cap 4 jobs": options may come first, as the usage says. */
TEST_F_TIMEOUT(cc, options_before_name, CC_TIMEOUT)
{
	const char *name = tname("first");
	char out[OUT], err[ERR];

	run("%C unlink %N", name, out, OUT, err, ERR);
	ASSERT_EQ(0, run("%C create --cap 4 --msg-size 64 --mode 0640 %N", name,
			 out, OUT, err, ERR)) TH_LOG("%s", err);
	ASSERT_EQ(0, run("%C stat %N", name, out, OUT, err, ERR)) TH_LOG("%s", err);
	EXPECT_EQ(4, stat_field(out, "capacity"));
	EXPECT_EQ(64, stat_field(out, "msg_size"));
	EXPECT_EQ(1, run("%C recv --count 1 --timeout 0 %N", name, out, OUT, err,
			 ERR));
	EXPECT_TRUE(one_line_with(err, "timed out")) TH_LOG("%s", err);
	EXPECT_EQ(1, run("%C send --timeout 0 %N msg", name, out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "timed out")) TH_LOG("%s", err);
	ASSERT_EQ(0, run("%C stat --json %N", name, out, OUT, err, ERR)) TH_LOG("%s", err);
	EXPECT_EQ(0, run("%C unlink %N", name, out, OUT, err, ERR));
}

/* A name that starts with '-' works after "--"; a message too. */
TEST_F_TIMEOUT(cc, dash_names_after_double_dash, CC_TIMEOUT)
{
	char name[64], name2[64], out[OUT], err[ERR], out2[OUT], err2[ERR];
	struct run rcv;

	snprintf(name, sizeof(name), "-%s", tname("dash"));
	snprintf(name2, sizeof(name2), "--%s", tname("dash2"));
	run("%C unlink -- %N", name, out, OUT, err, ERR);
	run("%C unlink -- %N", name2, out, OUT, err, ERR);
	/* without "--" they are options ("-cc.dash..." is -c c.dash...) */
	EXPECT_EQ(2, run("%C create %N", name, out, OUT, err, ERR));
	EXPECT_EQ(2, run("%C create %N", name2, out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "unknown option '--cc.dash2.")) TH_LOG("%s", err);
	EXPECT_EQ(1, run("%C stat -- %N", name, out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "no such channel")) TH_LOG("%s", err);
	ASSERT_EQ(0, run("%C create --cap 1 -- %N", name, out, OUT, err, ERR))
		TH_LOG("%s", err);
	ASSERT_EQ(0, run("%C create -- %N", name2, out, OUT, err, ERR))
		TH_LOG("%s", err);
	ASSERT_EQ(0, run("%C stat -- %N", name2, out, OUT, err, ERR)) TH_LOG("%s", err);
	EXPECT_EQ(0, run("%C unlink -- %N", name2, out, OUT, err, ERR)) TH_LOG("%s", err);
	ASSERT_EQ(0, run("%C stat -- %N", name, out, OUT, err, ERR)) TH_LOG("%s", err);
	EXPECT_EQ(1, stat_field(out, "capacity"));
	ASSERT_EQ(0, run_start(&rcv, "%C recv --count 1 -- %N", name));
	EXPECT_EQ(0, run("%C send -- %N -message", name, out2, OUT, err2, ERR))
		TH_LOG("%s", err2);
	EXPECT_EQ(0, run_wait(&rcv, out, OUT, err, ERR)) TH_LOG("%s", err);
	EXPECT_STREQ("-message\n", out);
	ASSERT_EQ(0, run("%C ls --quiet", name, out, OUT, err, ERR));
	EXPECT_NE(NULL, strstr(out, name)) TH_LOG("%s", out);
	EXPECT_EQ(0, run("%C close -- %N", name, out, OUT, err, ERR)) TH_LOG("%s", err);
	EXPECT_EQ(0, run("%C unlink -- %N", name, out, OUT, err, ERR)) TH_LOG("%s", err);
}

/*
 * Over a module limit: the message names the limit, its value and where
 * it is set, instead of "Invalid argument" or the channel's msg_size.
 */
TEST_F_TIMEOUT(cc, limits_named, CC_TIMEOUT)
{
	unsigned long max_cap = kc_param("max_capacity", 0);
	unsigned long max_msg = kc_param("max_msg_size", 0);
	unsigned long max_bytes = kc_param("max_chan_bytes", 0);
	const char *name = tname("limit");
	char out[OUT], err[ERR], cmd[256], want[256];

	ASSERT_NE(0, max_cap);
	ASSERT_NE(0, max_msg);
	ASSERT_NE(0, max_bytes);
	run("%C unlink %N", name, out, OUT, err, ERR);

	snprintf(cmd, sizeof(cmd), "%%C create %%N --cap %lu --msg-size 0",
		 max_cap + 1);
	EXPECT_EQ(1, run(cmd, name, out, OUT, err, ERR));
	snprintf(want, sizeof(want),
		 "--cap %lu is over the module's limit max_capacity=%lu (/sys/module/chan/parameters/max_capacity)",
		 max_cap + 1, max_cap);
	EXPECT_TRUE(one_line_with(err, want)) TH_LOG("%s", err);

	snprintf(cmd, sizeof(cmd), "%%C create %%N --msg-size %lu", max_msg + 1);
	EXPECT_EQ(1, run(cmd, name, out, OUT, err, ERR));
	snprintf(want, sizeof(want),
		 "--msg-size %lu is over the module's limit max_msg_size=%lu (/sys/module/chan/parameters/max_msg_size)",
		 max_msg + 1, max_msg);
	EXPECT_TRUE(one_line_with(err, want)) TH_LOG("%s", err);
	EXPECT_EQ(NULL, strstr(err, "channel's msg_size")) TH_LOG("%s", err);

	/* within max_capacity and max_msg_size, over max_chan_bytes */
	if (max_bytes / max_msg + 1 <= max_cap) {
		snprintf(cmd, sizeof(cmd), "%%C create %%N --cap %lu --msg-size %lu",
			 max_bytes / max_msg + 1, max_msg);
		EXPECT_EQ(1, run(cmd, name, out, OUT, err, ERR));
		snprintf(want, sizeof(want),
			 "is over the module's limit max_chan_bytes=%lu (/sys/module/chan/parameters/max_chan_bytes)",
			 max_bytes);
		EXPECT_TRUE(one_line_with(err, want)) TH_LOG("%s", err);
	}
	/* none was created */
	EXPECT_EQ(1, run("%C stat %N", name, out, OUT, err, ERR));
}

/*
 * A user's limits (root is exempt: CAP_SYS_RESOURCE): chanctl run as
 * nobody names max_user_channels and max_user_bytes and their values.
 */
TEST_F_TIMEOUT(cc, user_limits_named, CC_TIMEOUT)
{
	unsigned long saved_ch = kc_param("max_user_channels", 0);
	unsigned long saved_b = kc_param("max_user_bytes", 0);
	const char *name = tname("ulim");
	char out[OUT], err[ERR];
	int rc;

	if (getuid())
		SKIP(return, "needs root (module parameters, setpriv)");
	if (access("/usr/bin/setpriv", X_OK))
		SKIP(return, "no setpriv (util-linux)");
	ASSERT_NE(0, saved_ch);
	ASSERT_NE(0, saved_b);

	ASSERT_EQ(0, kc_param_set("max_user_channels", 0));
	rc = run(NOBODY "%C create %N",
		 name, out, OUT, err, ERR);
	EXPECT_EQ(0, kc_param_set("max_user_channels", saved_ch));
	EXPECT_EQ(1, rc) TH_LOG("%s", err);
	EXPECT_TRUE(one_line_with(err, "reached the module's limit max_user_channels=0 channels (/sys/module/chan/parameters/max_user_channels)"))
		TH_LOG("%s", err);

	ASSERT_EQ(0, kc_param_set("max_user_bytes", 2048));
	rc = run(NOBODY "%C create %N --cap 16 --msg-size 4096",
		 name, out, OUT, err, ERR);
	EXPECT_EQ(0, kc_param_set("max_user_bytes", saved_b));
	EXPECT_EQ(1, rc) TH_LOG("%s", err);
	EXPECT_TRUE(one_line_with(err, "more than the module's limit max_user_bytes=2048 bytes (/sys/module/chan/parameters/max_user_bytes"))
		TH_LOG("%s", err);
	EXPECT_EQ(1, run("%C stat %N", name, out, OUT, err, ERR));
}

/* EACCES says which permission the command needs. */
TEST_F_TIMEOUT(cc, permission_named, CC_TIMEOUT)
{
	const char *name = tname("perm");
	char out[OUT], err[ERR];

	if (getuid())
		SKIP(return, "needs root (setpriv)");
	if (access("/usr/bin/setpriv", X_OK))
		SKIP(return, "no setpriv (util-linux)");
	run("%C unlink %N", name, out, OUT, err, ERR);
	ASSERT_EQ(0, run("%C create %N --mode 0600", name, out, OUT, err, ERR));
	EXPECT_EQ(1, run(NOBODY "%C recv %N --timeout 0", name, out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "permission denied (receiving and stat need read permission on the channel)"))
		TH_LOG("%s", err);
	EXPECT_EQ(1, run(NOBODY "%C send %N x", name, out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "permission denied (sending and closing need write permission on the channel)"))
		TH_LOG("%s", err);
	EXPECT_EQ(1, run(NOBODY "%C unlink %N", name, out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "permission denied (only the channel's owner may unlink it)"))
		TH_LOG("%s", err);
	EXPECT_EQ(0, run("%C unlink %N", name, out, OUT, err, ERR));
}

static int kchan_tail(unsigned long long id, char *tail, size_t size,
		      char *header, size_t hsize);

/* --mode is the mode, whatever the umask (mkfifo -m); ls and stat show it. */
TEST_F_TIMEOUT(cc, mode_and_owner, CC_TIMEOUT)
{
	char tail[128], header[512], want[128];
	const char *name = tname("mode"), *name2 = tname("mode2");
	char out[OUT], err[ERR], owner[64], *line;
	struct passwd *pw = getpwuid(getuid());

	run("%C unlink %N", name, out, OUT, err, ERR);
	run("%C unlink %N", name2, out, OUT, err, ERR);
	ASSERT_EQ(0, run("umask 022; %C create %N --mode 0666", name, out, OUT,
			 err, ERR)) TH_LOG("%s", err);
	ASSERT_EQ(0, run("%C stat %N", name, out, OUT, err, ERR)) TH_LOG("%s", err);
	/* what the kernel holds (chanctl 1.3 gave 0644 here) */
	ASSERT_EQ(1, kchan_tail(stat_field(out, "id"), tail, sizeof(tail),
				header, sizeof(header))) TH_LOG("%s", out);
	snprintf(want, sizeof(want), " 0666 %u %u\n", getuid(), getgid());
	EXPECT_STREQ(want, tail);
	EXPECT_EQ(0666, stat_field(out, "mode")) TH_LOG("%s", out);
	EXPECT_EQ(getuid(), stat_field(out, "owner")) TH_LOG("%s", out);
	EXPECT_EQ(getgid(), stat_field(out, "group")) TH_LOG("%s", out);
	if (pw) {
		snprintf(owner, sizeof(owner), "\nowner:\t%u (%s)\n", getuid(),
			 pw->pw_name);
		EXPECT_NE(NULL, strstr(out, owner)) TH_LOG("%s", out);
	}
	/* the default 0600 is still subject to the umask */
	ASSERT_EQ(0, run("umask 066; %C create %N", name2, out, OUT, err, ERR))
		TH_LOG("%s", err);
	ASSERT_EQ(0, run("%C stat %N", name2, out, OUT, err, ERR)) TH_LOG("%s", err);
	EXPECT_EQ(0600, stat_field(out, "mode")) TH_LOG("%s", out);

	ASSERT_EQ(0, run("%C ls", name, out, OUT, err, ERR)) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(out, " MODE ")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, " OWNER ")) TH_LOG("%s", out);
	line = strstr(out, name);
	ASSERT_NE(NULL, line) TH_LOG("%s", out);
	*strchrnul(line, '\n') = 0;
	EXPECT_NE(NULL, strstr(line, " 0666 ")) TH_LOG("%s", line);
	if (pw)
		EXPECT_NE(NULL, strstr(line, pw->pw_name)) TH_LOG("%s", line);
	EXPECT_EQ(0, run("%C unlink %N", name, out, OUT, err, ERR));
	EXPECT_EQ(0, run("%C unlink %N", name2, out, OUT, err, ERR));
}

/*
 * What ls and stat read: /proc/kchan's mode owner group columns (the
 * name's bits, umask applied by the kernel, and its owner), "- - -"
 * without a name.
 */
static int kchan_tail(unsigned long long id, char *tail, size_t size,
		      char *header, size_t hsize)
{
	char line[2048], want[32];
	int i, found = 0;
	const char *p;
	FILE *f;

	f = fopen("/proc/kchan", "r");
	if (!f)
		return -1;
	if (!fgets(header, hsize, f)) {
		fclose(f);
		return -1;
	}
	snprintf(want, sizeof(want), "%llu ", id);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, want, strlen(want)))
			continue;
		/* after the 16th space-separated field */
		for (p = line, i = 0; i < 16 && p; i++)
			p = strchr(p + 1, ' ');
		snprintf(tail, size, "%s", p ? p : "");
		found = 1;
	}
	fclose(f);
	return found;
}

TEST(proc_kchan_mode_owner)
{
	char name[64], tail[128], header[512], want[128];
	mode_t old = umask(022);
	int a, b, anon;

	snprintf(name, sizeof(name), "cc.proc.%d", getpid());
	kc_name_unlink(-1, name);
	a = kc_name_open(-1, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666,
			 0, 0, 1);
	umask(old);
	ASSERT_LE(0, a);
	anon = kc_create(0, 1);
	ASSERT_LE(0, anon);
	ASSERT_EQ(1, kchan_tail(KC_INFO(a, id), tail, sizeof(tail), header,
				sizeof(header)));
	EXPECT_NE(NULL, strstr(header, " pid uid mode owner group\n")) TH_LOG("%s", header);
	snprintf(want, sizeof(want), " 0644 %u %u\n", getuid(), getgid());
	EXPECT_STREQ(want, tail);
	ASSERT_EQ(1, kchan_tail(KC_INFO(anon, id), tail, sizeof(tail), header,
				sizeof(header)));
	EXPECT_STREQ(" - - -\n", tail);
	/* unlinked: no name, so no mode or owner */
	ASSERT_EQ(0, kc_name_unlink(-1, name));
	ASSERT_EQ(1, kchan_tail(KC_INFO(a, id), tail, sizeof(tail), header,
				sizeof(header)));
	EXPECT_STREQ(" - - -\n", tail);
	b = kc_name_open(-1, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600,
			 0, 0, 1);
	ASSERT_LE(0, b);
	ASSERT_EQ(1, kchan_tail(KC_INFO(b, id), tail, sizeof(tail), header,
				sizeof(header)));
	snprintf(want, sizeof(want), " 0600 %u %u\n", getuid(), getgid());
	EXPECT_STREQ(want, tail);
	EXPECT_EQ(0, kc_name_unlink(-1, name));
	close(a);
	close(b);
	close(anon);
}

/* chanctl --version prints the version of the top-level VERSION file. */
TEST_F_TIMEOUT(cc, version, CC_TIMEOUT)
{
	char out[OUT], err[ERR], path[PATH_MAX + 16], want[64] = "", *dir;
	FILE *f;

	snprintf(path, sizeof(path), "%s", chanctl);
	dir = dirname(path);
	memmove(path, dir, strlen(dir) + 1);
	strcat(path, "/../VERSION");
	f = fopen(path, "r");
	/* in the tree it must be there; an installed chanctl has none */
	if (!f && getenv("CHANCTL"))
		SKIP(return, "no VERSION file next to $CHANCTL's directory");
	ASSERT_NE(NULL, f) TH_LOG("no %s", path);
	ASSERT_NE(NULL, fgets(want, sizeof(want), f));
	fclose(f);
	EXPECT_EQ(0, run("%C --version", "", out, OUT, err, ERR)) TH_LOG("%s", err);
	EXPECT_EQ(0, strncmp(out, "chanctl (kchan) ", 16)) TH_LOG("%s", out);
	EXPECT_STREQ(want, out + (strlen(out) >= 16 ? 16 : 0));
}

/* ---- a small JSON reader: enough to check chanctl's --json ---- */

enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	int type;
	double num;		/* J_NUM; J_BOOL: 0 or 1 */
	char *str;		/* J_STR, decoded */
	int n;			/* J_ARR, J_OBJ: members */
	struct jv *kids;
	char **keys;		/* J_OBJ */
};

static void jws(const char **p)
{
	while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
		(*p)++;
}

/* A string at **p == '"'; 0 or -1 (not valid JSON). */
static int jstring(const char **p, char **out)
{
	char *d = malloc(strlen(*p) + 1), *o = d;
	unsigned int u;
	int i;

	for ((*p)++; **p != '"'; (*p)++) {
		if ((unsigned char)**p < 0x20)
			goto bad;	/* raw control character, or the end */
		if (**p != '\\') {
			*d++ = **p;
			continue;
		}
		(*p)++;
		switch (**p) {
		case '"': case '\\': case '/':
			*d++ = **p;
			break;
		case 'b': *d++ = '\b'; break;
		case 'f': *d++ = '\f'; break;
		case 'n': *d++ = '\n'; break;
		case 'r': *d++ = '\r'; break;
		case 't': *d++ = '\t'; break;
		case 'u':
			for (u = 0, i = 1; i <= 4; i++) {
				char c = (*p)[i];

				if (!isxdigit((unsigned char)c))
					goto bad;
				u = u * 16 + (isdigit((unsigned char)c) ? c - '0' :
					      (tolower((unsigned char)c) - 'a' + 10));
			}
			*p += 4;
			if (u < 0x80) {
				*d++ = (char)u;
			} else if (u < 0x800) {
				*d++ = (char)(0xc0 | u >> 6);
				*d++ = (char)(0x80 | (u & 0x3f));
			} else {
				*d++ = (char)(0xe0 | u >> 12);
				*d++ = (char)(0x80 | ((u >> 6) & 0x3f));
				*d++ = (char)(0x80 | (u & 0x3f));
			}
			break;
		default:
			goto bad;
		}
	}
	(*p)++;
	*d = 0;
	*out = o;
	return 0;
bad:
	free(o);
	return -1;
}

static int jvalue(const char **p, struct jv *v, int depth);

/* Members of an array or object, after its opening bracket. */
static int jmembers(const char **p, struct jv *v, int depth)
{
	char close = v->type == J_OBJ ? '}' : ']';

	jws(p);
	if (**p == close) {
		(*p)++;
		return 0;
	}
	for (;;) {
		v->kids = realloc(v->kids, (v->n + 1) * sizeof(*v->kids));
		v->keys = realloc(v->keys, (v->n + 1) * sizeof(*v->keys));
		v->keys[v->n] = NULL;
		memset(&v->kids[v->n], 0, sizeof(v->kids[0]));
		if (v->type == J_OBJ) {
			jws(p);
			if (**p != '"' || jstring(p, &v->keys[v->n]))
				return -1;
			jws(p);
			if (*(*p)++ != ':')
				return -1;
		}
		v->n++;
		if (jvalue(p, &v->kids[v->n - 1], depth + 1))
			return -1;
		jws(p);
		if (**p == close) {
			(*p)++;
			return 0;
		}
		if (*(*p)++ != ',')
			return -1;
	}
}

static int jvalue(const char **p, struct jv *v, int depth)
{
	const char *s;

	if (depth > 16)
		return -1;
	jws(p);
	s = *p;
	if (*s == '{' || *s == '[') {
		v->type = *s == '{' ? J_OBJ : J_ARR;
		(*p)++;
		return jmembers(p, v, depth);
	}
	if (*s == '"') {
		v->type = J_STR;
		return jstring(p, &v->str);
	}
	if (!strncmp(s, "true", 4) || !strncmp(s, "null", 4)) {
		v->type = *s == 't' ? J_BOOL : J_NULL;
		v->num = *s == 't';
		*p += 4;
		return 0;
	}
	if (!strncmp(s, "false", 5)) {
		v->type = J_BOOL;
		*p += 5;
		return 0;
	}
	/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (isdigit((unsigned char)*s))
			s++;
	else
		return -1;
	if (*s == '.') {
		if (!isdigit((unsigned char)*++s))
			return -1;
		while (isdigit((unsigned char)*s))
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!isdigit((unsigned char)*s))
			return -1;
		while (isdigit((unsigned char)*s))
			s++;
	}
	v->type = J_NUM;
	v->num = strtod(*p, NULL);
	*p = s;
	return 0;
}

static void jfree(struct jv *v)
{
	int i;

	for (i = 0; i < v->n; i++) {
		jfree(&v->kids[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->kids);
	free(v->keys);
	free(v->str);
	memset(v, 0, sizeof(*v));
}

/* A whole document: one value and nothing after it; 0 or -1. */
static int jparse(const char *text, struct jv *v)
{
	const char *p = text;

	memset(v, 0, sizeof(*v));
	if (jvalue(&p, v, 0))
		return -1;
	jws(&p);
	return *p ? -1 : 0;
}

static const struct jv *jget(const struct jv *o, const char *key)
{
	int i;

	if (!o || o->type != J_OBJ)
		return NULL;
	for (i = 0; i < o->n; i++)
		if (!strcmp(o->keys[i], key))
			return &o->kids[i];
	return NULL;
}

/* o[key] as a number, or -1 when absent or not a number. */
static double jnum(const struct jv *o, const char *key)
{
	const struct jv *v = jget(o, key);

	return v && (v->type == J_NUM || v->type == J_BOOL) ? v->num : -1;
}

static const char *jstr(const struct jv *o, const char *key)
{
	const struct jv *v = jget(o, key);

	return v && v->type == J_STR ? v->str : NULL;
}

/* The reader itself: what it must take and what it must refuse. */
TEST(json_reader)
{
	static const char *const bad[] = {
		"", "{", "[1,]", "{\"a\" 1}", "{\"a\":1,}", "01", "1.", "-",
		"\"a\nb\"", "\"\\x\"", "[1] 2", "tru", "{a:1}",
	};
	struct jv v;
	size_t i;

	ASSERT_EQ(0, jparse(" {\"a\": [1, -2.5e3, true, false, null], \"b\\\"\": \"x\\u0041\\n\"} ", &v));
	EXPECT_EQ(J_ARR, jget(&v, "a")->type);
	EXPECT_EQ(5, jget(&v, "a")->n);
	EXPECT_EQ(-2500, (int)jget(&v, "a")->kids[1].num);
	EXPECT_STREQ("xA\n", jstr(&v, "b\""));
	jfree(&v);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-1, jparse(bad[i], &v)) TH_LOG("took '%s'", bad[i]);
		jfree(&v);
	}
}

/* ls --json: valid JSON, one object per channel, odd names escaped. */
TEST_F_TIMEOUT(cc, ls_json, CC_TIMEOUT)
{
	char tmpl[96], name2[96], out[OUT], err[ERR];
	const char *name = tname("json");
	const struct jv *a = NULL, *b = NULL, *e;
	struct jv v;
	int i;

	/*
	 * A name with a space, quotes, a backslash and a tab: tmpl is what
	 * printf(1) turns into it.
	 */
	snprintf(tmpl, sizeof(tmpl), "%s \"q\"\\\\\\tend", tname("j"));
	snprintf(name2, sizeof(name2), "%s \"q\"\\\tend", tname("j"));
	run("%C unlink %N", name, out, OUT, err, ERR);
	run("%C unlink \"$(printf '%N')\"", tmpl, out, OUT, err, ERR);
	ASSERT_EQ(0, run("%C create %N --cap 3 --msg-size 16 --mode 0640", name,
			 out, OUT, err, ERR)) TH_LOG("%s", err);
	ASSERT_EQ(0, run("%C create \"$(printf '%N')\" --fdpass", tmpl, out, OUT,
			 err, ERR)) TH_LOG("%s", err);

	ASSERT_EQ(0, run("%C ls --json", name, out, OUT, err, ERR)) TH_LOG("%s", err);
	ASSERT_EQ(0, jparse(out, &v)) TH_LOG("not JSON: %s", out);
	ASSERT_EQ(J_ARR, v.type);
	for (i = 0; i < v.n; i++) {
		e = &v.kids[i];
		if (jstr(e, "name") && !strcmp(jstr(e, "name"), name))
			a = e;
		if (jstr(e, "name") && !strcmp(jstr(e, "name"), name2))
			b = e;
	}
	ASSERT_NE(NULL, a) TH_LOG("%s not in %s", name, out);
	ASSERT_NE(NULL, b) TH_LOG("'%s' not in %s", name2, out);
	EXPECT_EQ(3, jnum(a, "capacity"));
	EXPECT_EQ(16, jnum(a, "msg_size"));
	EXPECT_EQ(0, jnum(a, "len"));
	EXPECT_EQ(0, jnum(a, "closed"));
	EXPECT_EQ(J_BOOL, jget(a, "closed")->type);
	EXPECT_EQ(0, jnum(a, "fdpass"));
	EXPECT_EQ(1, jnum(b, "fdpass"));
	EXPECT_NE(NULL, jstr(a, "mode"));
	if (jstr(a, "mode"))
		EXPECT_STREQ("0640", jstr(a, "mode"));
	EXPECT_EQ(getuid(), jnum(a, "owner"));
	EXPECT_EQ(getgid(), jnum(a, "group"));
	EXPECT_LT(0, jnum(a, "id"));
	EXPECT_LT(jnum(a, "id"), jnum(b, "id"));
	jfree(&v);

	/* --all adds anonymous channels, with a null name */
	{
		int anon = kc_create(0, 1);

		ASSERT_LE(0, anon);
		ASSERT_EQ(0, run("%C ls --all --json", name, out, OUT, err, ERR));
		ASSERT_EQ(0, jparse(out, &v)) TH_LOG("not JSON: %s", out);
		for (a = NULL, i = 0; i < v.n; i++)
			if (jnum(&v.kids[i], "id") == KC_INFO(anon, id))
				a = &v.kids[i];
		ASSERT_NE(NULL, a) TH_LOG("%s", out);
		EXPECT_EQ(J_NULL, jget(a, "name")->type);
		EXPECT_EQ(J_NULL, jget(a, "mode")->type);
		jfree(&v);
		close(anon);
	}
	EXPECT_EQ(0, run("%C unlink %N", name, out, OUT, err, ERR));
	EXPECT_EQ(0, run("%C unlink \"$(printf '%N')\"", tmpl, out, OUT, err, ERR));
	/* no channel of ours: still valid JSON */
	ASSERT_EQ(0, run("%C ls --json", name, out, OUT, err, ERR));
	ASSERT_EQ(0, jparse(out, &v)) TH_LOG("not JSON: %s", out);
	jfree(&v);
}

TEST_F_TIMEOUT(cc, stat_json, CC_TIMEOUT)
{
	const char *name = tname("sjson");
	char out[OUT], err[ERR], o2[OUT], e2[ERR];
	struct run rcv;
	struct jv v;

	run("%C unlink %N", name, out, OUT, err, ERR);
	ASSERT_EQ(0, run("%C create %N --cap 2 --msg-size 32 --autoclose --mode 0620",
			 name, out, OUT, err, ERR)) TH_LOG("%s", err);
	ASSERT_EQ(0, run("%C stat --json %N", name, out, OUT, err, ERR)) TH_LOG("%s", err);
	ASSERT_EQ(0, jparse(out, &v)) TH_LOG("not JSON: %s", out);
	ASSERT_EQ(J_OBJ, v.type);
	EXPECT_STREQ(name, jstr(&v, "name"));
	EXPECT_EQ(2, jnum(&v, "capacity"));
	EXPECT_EQ(32, jnum(&v, "msg_size"));
	EXPECT_EQ(1, jnum(&v, "autoclose"));
	EXPECT_EQ(0, jnum(&v, "fdpass"));
	EXPECT_EQ(0, jnum(&v, "recv_handles"));
	EXPECT_EQ(0, jnum(&v, "sent"));
	EXPECT_STREQ("0620", jstr(&v, "mode"));
	EXPECT_EQ(getuid(), jnum(&v, "owner"));
	EXPECT_LT(0, jnum(&v, "pid"));
	jfree(&v);

	/* counters move */
	ASSERT_EQ(0, run_start(&rcv, "%C recv %N --count 1", name));
	ASSERT_EQ(0, run("%C send %N hi", name, o2, OUT, e2, ERR)) TH_LOG("%s", e2);
	EXPECT_EQ(0, run_wait(&rcv, o2, OUT, e2, ERR)) TH_LOG("%s", e2);
	ASSERT_EQ(0, run("%C stat %N -j", name, out, OUT, err, ERR)) TH_LOG("%s", err);
	ASSERT_EQ(0, jparse(out, &v)) TH_LOG("not JSON: %s", out);
	EXPECT_EQ(1, jnum(&v, "sent"));
	EXPECT_EQ(1, jnum(&v, "received"));
	jfree(&v);
	EXPECT_EQ(0, run("%C unlink %N", name, out, OUT, err, ERR));
}

/* ---- top ---- */

/* Read until a blank line ends a frame (or EOF); NUL-terminated. */
static void read_frame(int fd, char *buf, size_t size)
{
	size_t got = 0;

	while (got < size - 1 && read(fd, buf + got, 1) == 1) {
		got++;
		if (got >= 2 && buf[got - 1] == '\n' && buf[got - 2] == '\n')
			break;
	}
	buf[got] = 0;
}

/*
 * The whitespace-separated fields of the line of @text whose second
 * field is @name (top's ID NAME LEN/CAP SENT/s RECV/s SEND_W RECV_W
 * BLOCKED...); count, 0 when there is no such line.
 */
static int top_line(const char *text, const char *name, char f[16][64])
{
	const char *l = text, *e;
	char line[1024], *save, *tok;
	int n;

	for (; *l; l = *e ? e + 1 : e) {
		e = strchrnul(l, '\n');
		snprintf(line, sizeof(line), "%.*s", (int)(e - l), l);
		n = 0;
		for (tok = strtok_r(line, " ", &save); tok && n < 16;
		     tok = strtok_r(NULL, " ", &save))
			snprintf(f[n++], 64, "%s", tok);
		if (n >= 7 && !strcmp(f[1], name))
			return n;
	}
	return 0;
}

static int count_str(const char *s, const char *sub)
{
	int n = 0;

	while ((s = strstr(s, sub))) {
		n++;
		s++;
	}
	return n;
}

/*
 * top --once (and -b -n 1): one frame; a process blocked receiving on one
 * channel and one blocked sending on another appear, with their pids.
 */
TEST_F_TIMEOUT(cc, top_shows_blocked, CC_TIMEOUT)
{
	const char *rn = tname("topr"), *sn = tname("tops");
	char out[OUT], err[ERR], o2[OUT], e2[ERR], f[16][64], want[64];
	struct run rcv, snd;
	int rfd, sfd, i;
	size_t len;
	char buf[16];

	run("%C unlink %N", rn, out, OUT, err, ERR);
	run("%C unlink %N", sn, out, OUT, err, ERR);
	ASSERT_EQ(0, run("%C create %N", rn, out, OUT, err, ERR)) TH_LOG("%s", err);
	ASSERT_EQ(0, run("%C create %N --msg-size 16", sn, out, OUT, err, ERR));
	rfd = kc_name_open(-1, rn, O_WRONLY | O_CLOEXEC, 0, 0, 0, 0);
	ASSERT_LE(0, rfd);
	/* the sender waits for a receiver: ours, which never receives */
	sfd = kc_name_open(-1, sn, O_RDONLY | O_CLOEXEC, 0, 0, 0, 0);
	ASSERT_LE(0, sfd);

	ASSERT_EQ(0, run_start(&rcv, "exec %C recv %N --count 1", rn));
	ASSERT_EQ(0, KC_WAIT(rfd, recv_waiters, 1));
	ASSERT_EQ(0, run_start(&snd, "exec %C send %N hello", sn));
	ASSERT_EQ(0, KC_WAIT(sfd, send_waiters, 1));

	for (i = 0; i < 2; i++) {
		EXPECT_EQ(0, run(i ? "%C top -b -n 1" : "%C top --once", rn, out,
				 OUT, err, ERR)) TH_LOG("%s", err);
		EXPECT_STREQ("", err);
		EXPECT_EQ(1, count_str(out, "chanctl top - ")) TH_LOG("%s", out);
		EXPECT_NE(NULL, strstr(out, "BLOCKED")) TH_LOG("%s", out);
		ASSERT_LE(8, top_line(out, rn, f)) TH_LOG("%s", out);
		EXPECT_STREQ("0/0", f[2]);
		EXPECT_STREQ("-", f[3]);	/* no rate in the first frame */
		EXPECT_STREQ("0", f[5]);
		EXPECT_STREQ("1", f[6]);
		snprintf(want, sizeof(want), "recv:%d(chanctl)", rcv.pid);
		EXPECT_STREQ(want, f[7]) TH_LOG("%s", out);
		ASSERT_LE(8, top_line(out, sn, f)) TH_LOG("%s", out);
		EXPECT_STREQ("1", f[5]);
		EXPECT_STREQ("0", f[6]);
		snprintf(want, sizeof(want), "send:%d(chanctl)", snd.pid);
		EXPECT_STREQ(want, f[7]) TH_LOG("%s", out);
	}
	/* two frames */
	EXPECT_EQ(0, run("%C top --batch --iterations 2 --delay 0.1", rn, out,
			 OUT, err, ERR)) TH_LOG("%s", err);
	EXPECT_EQ(2, count_str(out, "chanctl top - ")) TH_LOG("%s", out);
	EXPECT_EQ(2, run("%C top --iterations 0", rn, out, OUT, err, ERR));
	EXPECT_TRUE(one_line_with(err, "bad --iterations '0'")) TH_LOG("%s", err);

	/* let them go */
	ASSERT_EQ(0, kc_send(rfd, "x", 1, -1));
	ASSERT_EQ(1, kc_recv(sfd, buf, sizeof(buf), &len, -1));
	EXPECT_EQ(0, run_wait(&rcv, o2, OUT, e2, ERR)) TH_LOG("%s", e2);
	EXPECT_EQ(0, run_wait(&snd, o2, OUT, e2, ERR)) TH_LOG("%s", e2);
	close(rfd);
	close(sfd);
	EXPECT_EQ(0, run("%C unlink %N", rn, out, OUT, err, ERR));
	EXPECT_EQ(0, run("%C unlink %N", sn, out, OUT, err, ERR));
}

/*
 * A process blocked in a select is "wait:PID(comm)" on each channel it
 * holds (the select's cases are not visible from /proc).
 */
TEST_F_TIMEOUT(cc, top_shows_select, CC_TIMEOUT)
{
	const char *an = tname("sela"), *bn = tname("selb");
	char out[OUT], err[ERR], f[16][64], want[64];
	struct chan_select_case c[2];
	int a, b, ca, cb;
	char buf[4];
	pid_t pid;

	run("%C unlink %N", an, out, OUT, err, ERR);
	run("%C unlink %N", bn, out, OUT, err, ERR);
	ASSERT_EQ(0, run("%C create %N --msg-size 4", an, out, OUT, err, ERR));
	ASSERT_EQ(0, run("%C create %N --msg-size 4", bn, out, OUT, err, ERR));
	a = kc_name_open(-1, an, O_WRONLY | O_CLOEXEC, 0, 0, 0, 0);
	b = kc_name_open(-1, bn, O_WRONLY | O_CLOEXEC, 0, 0, 0, 0);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	pid = kc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		ca = kc_name_open(-1, an, O_RDONLY | O_CLOEXEC, 0, 0, 0, 0);
		cb = kc_name_open(-1, bn, O_RDONLY | O_CLOEXEC, 0, 0, 0, 0);
		if (ca < 0 || cb < 0)
			_exit(1);
		memset(c, 0, sizeof(c));
		c[0].fd = ca;
		c[0].op = CHAN_OP_RECV;
		c[0].buf = (uintptr_t)buf;
		c[0].len = sizeof(buf);
		c[1] = c[0];
		c[1].fd = cb;
		_exit(kc_select_on(ca, c, 2, -1) == 0 ? 0 : 1);
	}
	ASSERT_EQ(0, KC_WAIT(a, recv_waiters, 1));
	ASSERT_EQ(0, KC_WAIT(b, recv_waiters, 1));
	EXPECT_EQ(0, run("%C top --once", an, out, OUT, err, ERR)) TH_LOG("%s", err);
	snprintf(want, sizeof(want), "wait:%d(chanctl_test)", pid);
	ASSERT_LE(8, top_line(out, an, f)) TH_LOG("%s", out);
	EXPECT_STREQ(want, f[7]) TH_LOG("%s", out);
	ASSERT_LE(8, top_line(out, bn, f)) TH_LOG("%s", out);
	EXPECT_STREQ(want, f[7]) TH_LOG("%s", out);
	ASSERT_EQ(0, kc_send(a, "x", 1, -1));
	EXPECT_EQ(0, kc_reap(pid));
	close(a);
	close(b);
	EXPECT_EQ(0, run("%C unlink %N", an, out, OUT, err, ERR));
	EXPECT_EQ(0, run("%C unlink %N", bn, out, OUT, err, ERR));
}

/*
 * Who is blocked comes from /proc/PID/task/TID/syscall, which Yama's
 * ptrace_scope 1 keeps from other processes of the same user: top says
 * how many processes it could not inspect instead of showing nothing.
 */
TEST_F_TIMEOUT(cc, top_counts_uninspectable, CC_TIMEOUT)
{
	const char *scope = "/proc/sys/kernel/yama/ptrace_scope";
	char out[OUT], err[ERR], o2[OUT], e2[ERR], f[16][64], want[64];
	const char *name = tname("yama");
	char saved[16] = "";
	struct run rcv;
	int fd, wr;
	FILE *sf;

	if (getuid())
		SKIP(return, "needs root (setpriv, ptrace_scope)");
	if (access("/usr/bin/setpriv", X_OK))
		SKIP(return, "no setpriv (util-linux)");
	sf = fopen(scope, "r");
	if (!sf)
		SKIP(return, "no Yama in this kernel");
	ASSERT_NE(NULL, fgets(saved, sizeof(saved), sf));
	fclose(sf);

	run("%C unlink %N", name, out, OUT, err, ERR);
	ASSERT_EQ(0, run(NOBODY "%C create %N", name, out, OUT, err, ERR))
		TH_LOG("%s", err);
	fd = kc_name_open(-1, name, O_WRONLY | O_CLOEXEC, 0, 0, 0, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, run_start(&rcv, "exec " NOBODY "%C recv %N --count 1", name));
	ASSERT_EQ(0, KC_WAIT(fd, recv_waiters, 1));

	sf = fopen(scope, "w");
	ASSERT_NE(NULL, sf);
	wr = fputs("1\n", sf) >= 0;
	wr &= !fclose(sf);
	EXPECT_TRUE(wr);
	EXPECT_EQ(0, run(NOBODY "%C top --once", name, out, OUT, err, ERR))
		TH_LOG("%s", err);
	sf = fopen(scope, "w");
	if (sf) {
		fputs(saved, sf);
		fclose(sf);
	}
	EXPECT_NE(NULL, strstr(out, ", 1 process not inspectable (")) TH_LOG("%s", out);
	EXPECT_EQ(7, top_line(out, name, f)) TH_LOG("%s", out);
	EXPECT_STREQ("1", f[6]);	/* the module still counts it */

	/* root sees it */
	EXPECT_EQ(0, run("%C top --once", name, out, OUT, err, ERR)) TH_LOG("%s", err);
	EXPECT_EQ(NULL, strstr(out, "not inspectable")) TH_LOG("%s", out);
	ASSERT_LE(8, top_line(out, name, f)) TH_LOG("%s", out);
	snprintf(want, sizeof(want), "recv:%d(chanctl)", rcv.pid);
	EXPECT_STREQ(want, f[7]);

	ASSERT_EQ(0, kc_send(fd, "x", 1, -1));
	EXPECT_EQ(0, run_wait(&rcv, o2, OUT, e2, ERR)) TH_LOG("%s", e2);
	close(fd);
	EXPECT_EQ(0, run("%C unlink %N", name, out, OUT, err, ERR));
}

/*
 * Rates: the first frame has none ("-"); 4 messages sent between two
 * frames give a send rate above 0 and a receive rate of 0. The 5 s delay
 * leaves the test far more time than it needs to send them after it has
 * read the first frame.
 */
TEST_F_TIMEOUT(cc, top_rates, CC_TIMEOUT)
{
	const char *name = tname("rate");
	char out[OUT], err[ERR], f[16][64];
	struct run top;
	int w, r, i;

	run("%C unlink %N", name, out, OUT, err, ERR);
	ASSERT_EQ(0, run("%C create %N --cap 8 --msg-size 8", name, out, OUT, err,
			 ERR)) TH_LOG("%s", err);
	w = kc_name_open(-1, name, O_WRONLY | O_CLOEXEC, 0, 0, 0, 0);
	r = kc_name_open(-1, name, O_RDONLY | O_CLOEXEC, 0, 0, 0, 0);
	ASSERT_LE(0, w);
	ASSERT_LE(0, r);
	ASSERT_EQ(0, run_start(&top, "%C top -b -n 2 -d 5", name));
	read_frame(top.out, out, OUT);
	ASSERT_LE(7, top_line(out, name, f)) TH_LOG("%s", out);
	EXPECT_STREQ("-", f[3]);
	EXPECT_STREQ("-", f[4]);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, kc_send(w, "m", 1, 0));
	EXPECT_EQ(0, run_wait(&top, out, OUT, err, ERR)) TH_LOG("%s", err);
	ASSERT_LE(7, top_line(out, name, f)) TH_LOG("%s", out);
	EXPECT_STREQ("4/8", f[2]);
	EXPECT_LT(0.0, strtod(f[3], NULL)) TH_LOG("%s", out);
	EXPECT_STREQ("0.0", f[4]) TH_LOG("%s", out);
	close(w);
	close(r);
	EXPECT_EQ(0, run("%C unlink %N", name, out, OUT, err, ERR));
}

/*
 * tools/chanctl.bash-completion: completes commands, options and channel
 * names (from chanctl ls --quiet), with bash's own COMP_WORDS protocol.
 */
TEST_F_TIMEOUT(cc, bash_completion, CC_TIMEOUT)
{
	const char *name = tname("comp");
	char comp[PATH_MAX + 32], script[64], out[OUT], err[ERR], want[128];
	FILE *f;

	snprintf(comp, sizeof(comp), "%s.bash-completion", chanctl);
	if (access(comp, R_OK) && getenv("CHANCTL"))
		SKIP(return, "no chanctl.bash-completion next to $CHANCTL");
	ASSERT_EQ(0, access(comp, R_OK)) TH_LOG("no %s", comp);
	if (access("/bin/bash", X_OK))
		SKIP(return, "no bash");
	run("%C unlink %N", name, out, OUT, err, ERR);
	ASSERT_EQ(0, run("%C create %N", name, out, OUT, err, ERR)) TH_LOG("%s", err);
	snprintf(script, sizeof(script), "/tmp/cc.comp.%d.sh", getpid());
	f = fopen(script, "w");
	ASSERT_NE(NULL, f);
	fprintf(f,
		"source '%s' || exit 1\n"
		"complete -p chanctl || exit 1\n"
		"fn=$(complete -p chanctl | sed -n 's/.*-F \\([^ ]*\\) .*/\\1/p')\n"
		"c() {\n"
		"	COMP_WORDS=('%s' \"$@\"); COMP_CWORD=$#\n"
		"	COMP_LINE=\"${COMP_WORDS[*]}\"; COMP_POINT=${#COMP_LINE}\n"
		"	COMPREPLY=()\n"
		"	\"$fn\" chanctl \"${COMP_WORDS[COMP_CWORD]}\" \"${COMP_WORDS[COMP_CWORD-1]}\"\n"
		"	echo \"[$*] ${COMPREPLY[*]}\"\n"
		"}\n"
		"c ''\nc cr\nc create --c\nc stat -\nc ls --\nc top --\nc send cc.comp.\n"
		"c create --cap ''\nc recv --count 3 cc.comp.\nc unlink -- cc.comp.\n",
		comp, chanctl);
	fclose(f);
	EXPECT_EQ(0, run("bash %N", script, out, OUT, err, ERR)) TH_LOG("%s", err);
	unlink(script);
	EXPECT_NE(NULL, strstr(out, "[] create send recv close unlink stat ls top"))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "[cr] create\n")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "[create --c] --cap\n")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "[stat -] --json --help\n")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "[ls --] --all --json --quiet --help\n")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "[top --] --all --batch --iterations --delay --once --help\n"))
		TH_LOG("%s", out);
	snprintf(want, sizeof(want), "[send cc.comp.] %s\n", name);
	EXPECT_NE(NULL, strstr(out, want)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "[create --cap ] \n")) TH_LOG("%s", out);
	snprintf(want, sizeof(want), "[recv --count 3 cc.comp.] %s\n", name);
	EXPECT_NE(NULL, strstr(out, want)) TH_LOG("%s", out);
	snprintf(want, sizeof(want), "[unlink -- cc.comp.] %s\n", name);
	EXPECT_NE(NULL, strstr(out, want)) TH_LOG("%s", out);
	EXPECT_EQ(0, run("%C unlink %N", name, out, OUT, err, ERR));
}

TEST_HARNESS_MAIN
