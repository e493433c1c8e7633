// SPDX-License-Identifier: GPL-2.0
/*
 * chanctl: named kchan channels from the shell.
 *
 *   chanctl create NAME [--cap N] [--msg-size B] [--mode M] [--fdpass]
 *                       [--autoclose]
 *   chanctl send NAME [MSG|-] [--timeout S]
 *   chanctl recv NAME [--count N] [--timeout S]
 *   chanctl close NAME
 *   chanctl unlink NAME
 *   chanctl stat NAME [--json]
 *   chanctl ls [--all] [--json | --quiet]
 *   chanctl top [--all] [--batch] [--iterations N] [--delay S] [--once]
 *   chanctl --version | --help
 *
 * Options may come before or after the other arguments; "--" ends them
 * (for a NAME or a message that starts with '-'). Built on libchan
 * (statically linked). Errors are one line on stderr that names the rule
 * broken and, for a module limit, the limit and where it is set. Exit
 * status: 0 success, 1 the operation failed, 2 bad usage (an unknown
 * command or option, a missing or extra argument, a value that is not a
 * number, a mode or a valid name). See chanctl(1) and docs/names.md.
 *
 * Where the data comes from: CHAN_IOC_INFO (stat), /proc/kchan (ls, top,
 * and a channel's mode and owner), /proc/PID/fd and fdinfo (which
 * processes hold a channel: top), /proc/PID/task/TID/stat and syscall
 * (which of them are blocked in a send or a receive, and on which fd).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <chan.h>

#ifndef KCHAN_VERSION
#define KCHAN_VERSION		"unknown"
#endif

#define DEFAULT_CAP		0
#define DEFAULT_MSG_SIZE	4096
#define DEFAULT_MODE		0600
#define RECEIVER_POLL_US	2000
#define PARAM_DIR		"/sys/module/chan/parameters"
#define PROC_KCHAN		"/proc/kchan"

static const char *prog = "chanctl";

/* ---- commands, usage ---- */

struct cmd {
	const char *name;
	const char *args;	/* synopsis after "chanctl NAME " */
	int (*run)(const struct cmd *c, int argc, char **argv);
};

static int cmd_create(const struct cmd *c, int argc, char **argv);
static int cmd_send(const struct cmd *c, int argc, char **argv);
static int cmd_recv(const struct cmd *c, int argc, char **argv);
static int cmd_close(const struct cmd *c, int argc, char **argv);
static int cmd_unlink(const struct cmd *c, int argc, char **argv);
static int cmd_stat(const struct cmd *c, int argc, char **argv);
static int cmd_ls(const struct cmd *c, int argc, char **argv);
static int cmd_top(const struct cmd *c, int argc, char **argv);

static const struct cmd cmds[] = {
	{ "create", "NAME [--cap N] [--msg-size B] [--mode M] [--fdpass] [--autoclose]", cmd_create },
	{ "send", "NAME [MSG|-] [--timeout S]", cmd_send },
	{ "recv", "NAME [--count N] [--timeout S]", cmd_recv },
	{ "close", "NAME", cmd_close },
	{ "unlink", "NAME", cmd_unlink },
	{ "stat", "NAME [--json]", cmd_stat },
	{ "ls", "[--all] [--json | --quiet]", cmd_ls },
	{ "top", "[--all] [--batch] [--iterations N] [--delay S] [--once]", cmd_top },
};

#define NCMDS	(sizeof(cmds) / sizeof(cmds[0]))

static void usage(FILE *f)
{
	size_t i;

	for (i = 0; i < NCMDS; i++)
		fprintf(f, "%s %s %s %s\n", i ? "      " : "usage:", prog,
			cmds[i].name, cmds[i].args);
	fprintf(f, "       %s --version | --help\n"
		"Options may come before or after NAME; -- ends them. Exit status: 0 success,\n"
		"1 failure, 2 bad usage. See chanctl(1).\n", prog);
}

/* A usage error: one line, exit status 2. */
static int __attribute__((format(printf, 2, 3)))
usage_err(const struct cmd *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s%s%s: ", prog, c ? " " : "", c ? c->name : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (c)
		fprintf(stderr, " (usage: %s %s %s)\n", prog, c->name, c->args);
	else
		fprintf(stderr, " (try %s --help)\n", prog);
	return 2;
}

/* A failed operation: "chanctl CMD NAME: why", exit status 1. */
static int __attribute__((format(printf, 3, 4)))
fail(const struct cmd *c, const char *name, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s %s%s%s: ", prog, c->name, name ? " " : "",
		name ? name : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* One line per errno, in words that fit a channel. */
static const char *why(int err)
{
	switch (err) {
	case ENOENT:
		return "no such channel";
	case EEXIST:
		return "channel exists";
	case EACCES:
		return "permission denied";
	case EPIPE:
		return "channel closed";
	case ETIMEDOUT:
		return "timed out";
	case EALREADY:
		return "channel already closed";
	default:
		return strerror(err);
	}
}

static int failerr(const struct cmd *c, const char *name, int err)
{
	if (err == ENOENT && access(CHAN_DEVICE, F_OK))
		return fail(c, name, CHAN_DEVICE " missing (is chan.ko loaded?)");
	if (err == EACCES)
		return fail(c, name, "permission denied (%s)",
			    !strcmp(c->name, "recv") || !strcmp(c->name, "stat") ?
			    "receiving and stat need read permission on the channel" :
			    !strcmp(c->name, "unlink") ?
			    "only the channel's owner may unlink it" :
			    "sending and closing need write permission on the channel");
	return fail(c, name, "%s", why(err));
}

/*
 * getopt_long with our own messages (no "NAME: unrecognized option" from
 * getopt, whose argv[0] is not the program): -1 at the end of the
 * options, 0 after a usage error was printed (the command returns 2),
 * else the option. --help prints the command's usage and returns 'H'.
 */
static int next_opt(const struct cmd *c, int argc, char **argv,
		    const char *shortopts, const struct option *lo)
{
	int opt;

	opterr = 0;
	opt = getopt_long(argc, argv, shortopts, lo, NULL);
	if (opt == '?') {
		const char *tok = argv[optind - 1];

		if (optopt && !strncmp(tok, "--", 2))
			usage_err(c, "option '%s' takes no value", tok);
		else if (optopt)
			usage_err(c, "unknown option '-%c'", optopt);
		else
			usage_err(c, "unknown option '%s'", tok);
		return 0;
	}
	if (opt == ':') {
		usage_err(c, "option '%s' needs a value", argv[optind - 1]);
		return 0;
	}
	if (opt == 'H') {
		printf("usage: %s %s %s\n", prog, c->name, c->args);
		return 'H';
	}
	return opt;
}

#define HELP_OPTION	{ "help", no_argument, NULL, 'H' }

/*
 * A channel name: 1..CHAN_NAME_MAX bytes, no '/' (what the kernel
 * accepts). 0, or a usage error.
 */
static int check_name(const struct cmd *c, const char *name)
{
	size_t len = strlen(name);

	if (!len)
		return usage_err(c, "empty channel name: a name is 1 to %d bytes, without '/'",
				 CHAN_NAME_MAX);
	if (len > CHAN_NAME_MAX)
		return usage_err(c, "channel name of %zu bytes: a name is 1 to %d bytes, without '/'",
				 len, CHAN_NAME_MAX);
	if (strchr(name, '/'))
		return usage_err(c, "channel name '%s' has a '/': a name is 1 to %d bytes, without '/'",
				 name, CHAN_NAME_MAX);
	return 0;
}

/*
 * The operands after the options: exactly one NAME, then at most
 * @max_more others (*more). 0 or a usage error.
 */
static int take_name(const struct cmd *c, int argc, char **argv,
		     const char **name, int max_more, char ***more,
		     int *nmore)
{
	int n = argc - optind;

	if (n < 1)
		return usage_err(c, "missing channel NAME");
	if (n - 1 > max_more)
		return usage_err(c, "unexpected argument '%s'",
				 argv[optind + 1 + max_more]);
	*name = argv[optind];
	if (more) {
		*more = argv + optind + 1;
		*nmore = n - 1;
	}
	return check_name(c, *name);
}

/* A module parameter; false when it cannot be read (module not loaded). */
static bool param(const char *p, unsigned long long *v)
{
	char path[128];
	bool ok;
	FILE *f;

	snprintf(path, sizeof(path), PARAM_DIR "/%s", p);
	f = fopen(path, "re");
	if (!f)
		return false;
	ok = fscanf(f, "%llu", v) == 1;
	fclose(f);
	return ok;
}

/* Open a named channel (close-on-exec); fd or -1 with errno. */
static int chan_open_name(const char *name, int oflag, unsigned int mode,
			  unsigned int flags, unsigned int cap,
			  unsigned int msg_size)
{
	return chan_open_flags(name, oflag | O_CLOEXEC, mode, msg_size, cap,
			       (int)flags);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Parse an unsigned number (0x.., 0.. accepted); false when malformed. */
static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	if (!*s || *s == '-' || isspace((unsigned char)*s))
		return false;
	*out = strtoul(s, &end, 0);
	return !errno && !*end && *out <= max;
}

/* Seconds, fractional allowed, as nanoseconds; false when malformed. */
static bool parse_seconds(const char *s, int64_t *ns)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno || *end || end == s || !(d >= 0) || d > 1e9)
		return false;
	*ns = (int64_t)(d * 1e9);
	return true;
}

/* Time left of a deadline: -1 forever, 0 expired. */
static int64_t left(int64_t deadline)
{
	int64_t l;

	if (deadline < 0)
		return -1;
	l = deadline - now_ns();
	return l > 0 ? l : 0;
}

/* ---- JSON output ---- */

static void json_str(const char *s)
{
	const unsigned char *p;

	putchar('"');
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", stdout);
		else if (*p == '\t')
			fputs("\\t", stdout);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

/* ---- /proc/kchan ---- */

struct kline {
	unsigned long long id, sent, received, dropped;
	unsigned int cap, msg_size, len, closed, sw, rw, sh, rh, uid;
	int pid;
	bool fdpass;
	bool named;		/* has a name (shown or hidden) */
	bool hidden;		/* ...that we may not see ("?") */
	bool has_owner;		/* mode, owner, group known (named, new module) */
	unsigned int mode, owner, group;
	char name[CHAN_NAME_MAX + 1];
};

/* Undo the listing's \ooo escapes in place. */
static void unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
				      (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = 0;
}

/* One line of /proc/kchan; false when it does not parse. */
static bool parse_kline(const char *line, struct kline *k)
{
	char name[4 * CHAN_NAME_MAX + 8], flags[16];
	int n = 0;

	memset(k, 0, sizeof(*k));
	if (sscanf(line, "%llu %1027s %15s %u %u %u %u %u %u %u %u %llu %llu %llu %d %u%n",
		   &k->id, name, flags, &k->cap, &k->msg_size, &k->len,
		   &k->closed, &k->sw, &k->rw, &k->sh, &k->rh, &k->sent,
		   &k->received, &k->dropped, &k->pid, &k->uid, &n) != 16)
		return false;
	k->fdpass = !strcmp(flags, "fdpass");
	k->named = strcmp(name, "-");
	k->hidden = !strcmp(name, "?");
	unescape(name);
	if (strlen(name) > CHAN_NAME_MAX)
		return false;
	memcpy(k->name, name, strlen(name) + 1);
	/* mode owner group: since 1.4; "- - -" without a name */
	k->has_owner = sscanf(line + n, " %o %u %u", &k->mode, &k->owner,
			      &k->group) == 3;
	return true;
}

/*
 * Every channel /proc/kchan lists, in *out (malloc'ed); the count, or -1
 * with errno.
 */
static long read_kchan(struct kline **out)
{
	struct kline *v = NULL, *nv;
	size_t n = 0, cap = 0, lcap = 0;
	char *line = NULL;
	bool first = true;
	FILE *f;

	f = fopen(PROC_KCHAN, "re");
	if (!f)
		return -1;
	while (getline(&line, &lcap, f) > 0) {
		if (first) {
			first = false;
			continue;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				free(line);
				fclose(f);
				errno = ENOMEM;
				return -1;
			}
			v = nv;
		}
		if (parse_kline(line, &v[n]))
			n++;
	}
	free(line);
	fclose(f);
	*out = v;
	return (long)n;
}

static int failproc(const struct cmd *c)
{
	if (errno == ENOENT)
		return fail(c, NULL, PROC_KCHAN " missing (is chan.ko loaded?)");
	return fail(c, NULL, PROC_KCHAN ": %s", strerror(errno));
}

static const char *user_name(unsigned int uid)
{
	struct passwd *pw = getpwuid(uid);

	return pw ? pw->pw_name : NULL;
}

static const char *group_name(unsigned int gid)
{
	struct group *gr = getgrgid(gid);

	return gr ? gr->gr_name : NULL;
}

/* ---- create ---- */

/* Why creating failed, with the module limit that applies. */
static int create_failed(const struct cmd *c, const char *name, int err,
			 unsigned long cap, unsigned long msg_size)
{
	unsigned long long lim, lim2;

	switch (err) {
	case EMSGSIZE:
		if (param("max_msg_size", &lim))
			return fail(c, name, "--msg-size %lu is over the module's limit max_msg_size=%llu (" PARAM_DIR "/max_msg_size)",
				    msg_size, lim);
		return fail(c, name, "--msg-size %lu is over the module's limit max_msg_size (" PARAM_DIR "/max_msg_size)",
			    msg_size);
	case EINVAL:
		if (param("max_capacity", &lim) && cap > lim)
			return fail(c, name, "--cap %lu is over the module's limit max_capacity=%llu (" PARAM_DIR "/max_capacity)",
				    cap, lim);
		if (param("max_chan_bytes", &lim2) &&
		    (unsigned long long)cap * msg_size > lim2)
			return fail(c, name, "--cap %lu x --msg-size %lu = %llu bytes is over the module's limit max_chan_bytes=%llu (" PARAM_DIR "/max_chan_bytes)",
				    cap, msg_size,
				    (unsigned long long)cap * msg_size, lim2);
		break;
	case EMFILE:
		if (param("max_user_channels", &lim))
			return fail(c, name, "your user has reached the module's limit max_user_channels=%llu channels (" PARAM_DIR "/max_user_channels)",
				    lim);
		break;
	case ENOSPC:
		if (param("max_user_bytes", &lim))
			return fail(c, name, "your user's channels would hold more than the module's limit max_user_bytes=%llu bytes (" PARAM_DIR "/max_user_bytes; a channel costs 1 KiB plus capacity x (msg_size + 4, + 16 with --fdpass))",
				    lim);
		break;
	}
	return failerr(c, name, err);
}

static int cmd_create(const struct cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cap", required_argument, NULL, 'c' },
		{ "msg-size", required_argument, NULL, 's' },
		{ "mode", required_argument, NULL, 'm' },
		{ "fdpass", no_argument, NULL, 'f' },
		{ "autoclose", no_argument, NULL, 'a' },
		HELP_OPTION,
		{}
	};
	unsigned long cap = DEFAULT_CAP, msg_size = DEFAULT_MSG_SIZE;
	unsigned long mode = DEFAULT_MODE;
	bool mode_given = false;
	unsigned int flags = 0;
	const char *name;
	mode_t old_umask;
	int opt, fd, err, ret;

	while ((opt = next_opt(c, argc, argv, ":c:s:m:", opts)) != -1) {
		switch (opt) {
		case 0:
			return 2;
		case 'H':
			return 0;
		case 'c':
			if (!parse_uint(optarg, UINT_MAX, &cap))
				return usage_err(c, "bad --cap '%s': a number of messages from 0 to %u",
						 optarg, UINT_MAX);
			break;
		case 's':
			if (!parse_uint(optarg, UINT_MAX, &msg_size))
				return usage_err(c, "bad --msg-size '%s': a number of bytes from 0 to %u",
						 optarg, UINT_MAX);
			break;
		case 'm': {
			char *end;

			errno = 0;
			mode = strtoul(optarg, &end, 8);
			if (errno || *end || !*optarg || *optarg == '-' ||
			    mode > 0777)
				return usage_err(c, "bad --mode '%s': octal permission bits, at most 0777",
						 optarg);
			mode_given = true;
			break;
		}
		case 'f':
			flags |= CHAN_FDPASS;
			break;
		case 'a':
			flags |= CHAN_AUTOCLOSE;
			break;
		}
	}
	ret = take_name(c, argc, argv, &name, 0, NULL, NULL);
	if (ret)
		return ret;
	/*
	 * An explicit --mode is the channel's mode, as mkfifo -m and mkdir -m
	 * do: the umask does not apply to it (it does to the default 0600).
	 */
	old_umask = mode_given ? umask(0) : 0;
	/*
	 * The name holds the channel open for whoever comes next (with
	 * --autoclose, until its last send-capable handle goes away). A
	 * recv-only handle of our own is all we need to create it.
	 */
	fd = chan_open_name(name, O_RDONLY | O_CREAT | O_EXCL, mode, flags,
			    cap, msg_size);
	err = errno;
	if (mode_given)
		umask(old_umask);
	if (fd < 0)
		return create_failed(c, name, err, cap, msg_size);
	close(fd);
	return 0;
}

/* ---- send ---- */

/*
 * Wait until the channel has a receiver (like opening a FIFO for
 * writing); 0, or an errno: EPIPE once closed, ETIMEDOUT.
 */
static int wait_receiver(int fd, int64_t deadline)
{
	struct chan_info ci;

	for (;;) {
		if (chan_info(fd, &ci))
			return errno;
		if (ci.closed)
			return EPIPE;
		if (ci.recv_handles)
			return 0;
		if (!left(deadline))
			return ETIMEDOUT;
		usleep(RECEIVER_POLL_US);
	}
}

/* Send one message, waiting for a receiver first if there is none. */
static int send_one(int fd, const char *buf, size_t len, int64_t deadline)
{
	int64_t timeout;
	int err;

	for (;;) {
		err = wait_receiver(fd, deadline);
		if (err)
			return err;
		timeout = left(deadline);
		if (deadline >= 0 && !timeout)
			return ETIMEDOUT;
		if (!chan_send_timeout(fd, buf, len, timeout))
			return 0;
		if (errno != EPIPE && errno != EINTR)
			return errno;
		/* EPIPE: closed (reported next round) or receivers left */
	}
}

static int cmd_send(const struct cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		HELP_OPTION,
		{}
	};
	int64_t timeout = -1, deadline;
	const char *msg = NULL, *name;
	struct chan_info ci;
	char *line = NULL, **more;
	size_t cap = 0, len = 0;
	unsigned long lineno = 0;
	int opt, fd, nmore, ret, err = 0;
	ssize_t n;

	while ((opt = next_opt(c, argc, argv, ":t:", opts)) != -1) {
		switch (opt) {
		case 0:
			return 2;
		case 'H':
			return 0;
		case 't':
			if (!parse_seconds(optarg, &timeout))
				return usage_err(c, "bad --timeout '%s': seconds, 0 or more (fractions allowed)",
						 optarg);
			break;
		}
	}
	ret = take_name(c, argc, argv, &name, 1, &more, &nmore);
	if (ret)
		return ret;
	if (nmore)
		msg = more[0];
	deadline = timeout < 0 ? -1 : now_ns() + timeout;

	fd = chan_open_name(name, O_WRONLY, 0, 0, 0, 0);
	if (fd < 0)
		return failerr(c, name, errno);
	if (chan_info(fd, &ci)) {
		err = errno;
		close(fd);
		return failerr(c, name, err);
	}
	if (msg && strcmp(msg, "-")) {
		len = strlen(msg);
		err = len > ci.msg_size ? EMSGSIZE :
		      send_one(fd, msg, len, deadline);
	} else {
		while ((n = getline(&line, &cap, stdin)) > 0) {
			lineno++;
			if (line[n - 1] == '\n')
				n--;
			len = n;
			err = len > ci.msg_size ? EMSGSIZE :
			      send_one(fd, line, len, deadline);
			if (err)
				break;
		}
		free(line);
	}
	close(fd);
	if (err == EMSGSIZE) {
		if (lineno)
			return fail(c, name, "line %lu: message of %zu bytes is longer than the channel's msg_size (%u bytes)",
				    lineno, len, ci.msg_size);
		return fail(c, name, "message of %zu bytes is longer than the channel's msg_size (%u bytes)",
			    len, ci.msg_size);
	}
	return err ? failerr(c, name, err) : 0;
}

/* ---- recv ---- */

static int cmd_recv(const struct cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		HELP_OPTION,
		{}
	};
	unsigned long count = 0, got = 0;
	int64_t timeout = -1, deadline;
	struct chan_info ci;
	const char *name;
	ssize_t len;
	char *buf;
	bool ok;
	int opt, fd, ret, err = 0;

	while ((opt = next_opt(c, argc, argv, ":n:t:", opts)) != -1) {
		switch (opt) {
		case 0:
			return 2;
		case 'H':
			return 0;
		case 'n':
			if (!parse_uint(optarg, ULONG_MAX, &count) || !count)
				return usage_err(c, "bad --count '%s': a number of messages, 1 or more",
						 optarg);
			break;
		case 't':
			if (!parse_seconds(optarg, &timeout))
				return usage_err(c, "bad --timeout '%s': seconds, 0 or more (fractions allowed)",
						 optarg);
			break;
		}
	}
	ret = take_name(c, argc, argv, &name, 0, NULL, NULL);
	if (ret)
		return ret;
	deadline = timeout < 0 ? -1 : now_ns() + timeout;

	fd = chan_open_name(name, O_RDONLY, 0, 0, 0, 0);
	if (fd < 0)
		return failerr(c, name, errno);
	if (chan_info(fd, &ci)) {
		err = errno;
		close(fd);
		return failerr(c, name, err);
	}
	buf = malloc((size_t)ci.msg_size + 1);
	if (!buf) {
		close(fd);
		return failerr(c, name, ENOMEM);
	}
	while (!count || got < count) {
		/* a descriptor that comes along is closed: no use in a shell */
		len = chan_recv_timeout(fd, buf, ci.msg_size, &ok,
					left(deadline));
		if (len < 0) {
			if (errno == EINTR)
				continue;
			err = errno == EAGAIN ? ETIMEDOUT : errno;
			break;
		}
		if (!ok) {
			/* closed and drained: done, unless more were wanted */
			if (count)
				err = EPIPE;
			break;
		}
		buf[len] = '\n';
		if (fwrite(buf, 1, len + 1, stdout) != (size_t)len + 1) {
			err = errno ? errno : EIO;
			break;
		}
		got++;
	}
	free(buf);
	close(fd);
	if (fflush(stdout) && !err)
		err = errno;
	if (err == EPIPE && count)
		return fail(c, name, "channel closed after %lu of %lu messages",
			    got, count);
	return err ? failerr(c, name, err) : 0;
}

/* ---- close, unlink ---- */

/* Commands that take a NAME and no option. */
static int name_only(const struct cmd *c, int argc, char **argv,
		     const char **name)
{
	static const struct option opts[] = { HELP_OPTION, {} };
	int opt;

	while ((opt = next_opt(c, argc, argv, ":", opts)) != -1) {
		if (opt == 0)
			return 2;
		if (opt == 'H')
			return -1;
	}
	return take_name(c, argc, argv, name, 0, NULL, NULL);
}

static int cmd_close(const struct cmd *c, int argc, char **argv)
{
	const char *name;
	int fd, ret, err = 0;

	ret = name_only(c, argc, argv, &name);
	if (ret)
		return ret < 0 ? 0 : ret;
	fd = chan_open_name(name, O_WRONLY, 0, 0, 0, 0);
	if (fd < 0)
		return failerr(c, name, errno);
	if (chan_close(fd))
		err = errno;
	close(fd);
	return err ? failerr(c, name, err) : 0;
}

static int cmd_unlink(const struct cmd *c, int argc, char **argv)
{
	const char *name;
	int ret;

	ret = name_only(c, argc, argv, &name);
	if (ret)
		return ret < 0 ? 0 : ret;
	return chan_unlink(name) ? failerr(c, name, errno) : 0;
}

/* ---- stat ---- */

static void print_owner_json(const struct kline *k)
{
	const char *u, *g;

	if (!k->has_owner) {
		printf("\"mode\": null, \"owner\": null, \"owner_name\": null, \"group\": null, \"group_name\": null");
		return;
	}
	u = user_name(k->owner);
	g = group_name(k->group);
	printf("\"mode\": \"%04o\", \"owner\": %u, \"owner_name\": ", k->mode,
	       k->owner);
	if (u)
		json_str(u);
	else
		fputs("null", stdout);
	printf(", \"group\": %u, \"group_name\": ", k->group);
	if (g)
		json_str(g);
	else
		fputs("null", stdout);
}

static int cmd_stat(const struct cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		HELP_OPTION,
		{}
	};
	struct kline k = { 0 }, *kl = NULL;
	bool json = false, found = false;
	struct chan_info ci;
	const char *name, *u, *g;
	int opt, fd, err, ret;
	long n, i;

	while ((opt = next_opt(c, argc, argv, ":j", opts)) != -1) {
		if (opt == 0)
			return 2;
		if (opt == 'H')
			return 0;
		json = true;
	}
	ret = take_name(c, argc, argv, &name, 0, NULL, NULL);
	if (ret)
		return ret;
	/* recv-only: closing it can never close the channel */
	fd = chan_open_name(name, O_RDONLY | O_NONBLOCK, 0, 0, 0, 0);
	if (fd < 0)
		return failerr(c, name, errno);
	if (chan_info(fd, &ci)) {
		err = errno;
		close(fd);
		return failerr(c, name, err);
	}
	close(fd);
	/* mode, owner and creator: from the listing, by id */
	n = read_kchan(&kl);
	for (i = 0; i < n; i++) {
		if (kl[i].id == ci.id) {
			k = kl[i];
			found = true;
			break;
		}
	}
	free(kl);
	/* handle counts leave out our own handle */
	if (json) {
		printf("{\"name\": ");
		json_str(name);
		printf(", \"id\": %llu, \"capacity\": %u, \"msg_size\": %u, \"fdpass\": %s, \"autoclose\": %s, \"len\": %u, \"closed\": %s, \"send_waiters\": %u, \"recv_waiters\": %u, \"send_handles\": %u, \"recv_handles\": %u, \"sent\": %llu, \"received\": %llu, ",
		       (unsigned long long)ci.id, ci.capacity, ci.msg_size,
		       ci.flags & CHAN_FDPASS ? "true" : "false",
		       ci.flags & CHAN_AUTOCLOSE ? "true" : "false",
		       ci.len, ci.closed ? "true" : "false", ci.send_waiters,
		       ci.recv_waiters, ci.send_handles, ci.recv_handles - 1,
		       (unsigned long long)ci.sent,
		       (unsigned long long)ci.received);
		print_owner_json(&k);
		if (found)
			printf(", \"pid\": %d, \"uid\": %u}\n", k.pid, k.uid);
		else
			printf(", \"pid\": null, \"uid\": null}\n");
		return 0;
	}
	printf("name:\t%s\n"
	       "id:\t%llu\n"
	       "capacity:\t%u\n"
	       "msg_size:\t%u\n"
	       "fdpass:\t%u\n"
	       "autoclose:\t%u\n"
	       "len:\t%u\n"
	       "closed:\t%u\n"
	       "send_waiters:\t%u\n"
	       "recv_waiters:\t%u\n"
	       "send_handles:\t%u\n"
	       "recv_handles:\t%u\n"
	       "sent:\t%llu\n"
	       "received:\t%llu\n",
	       name, (unsigned long long)ci.id, ci.capacity, ci.msg_size,
	       !!(ci.flags & CHAN_FDPASS), !!(ci.flags & CHAN_AUTOCLOSE),
	       ci.len, ci.closed, ci.send_waiters,
	       ci.recv_waiters, ci.send_handles, ci.recv_handles - 1,
	       (unsigned long long)ci.sent, (unsigned long long)ci.received);
	if (k.has_owner) {
		u = user_name(k.owner);
		g = group_name(k.group);
		printf("mode:\t%04o\n", k.mode);
		printf(u ? "owner:\t%u (%s)\n" : "owner:\t%u\n", k.owner, u);
		printf(g ? "group:\t%u (%s)\n" : "group:\t%u\n", k.group, g);
	}
	if (found)
		printf("pid:\t%d\nuid:\t%u\n", k.pid, k.uid);
	return 0;
}

/* ---- ls ---- */

/* Shown by ls and top: named ones we may see, or all with --all. */
static bool listed(const struct kline *k, bool all)
{
	return all || (k->named && !k->hidden);
}

static const char *shown_name(const struct kline *k)
{
	return !k->named ? "-" : k->hidden ? "?" : k->name;
}

static int cmd_ls(const struct cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		HELP_OPTION,
		{}
	};
	bool all = false, json = false, quiet = false, first = true;
	struct kline *kl = NULL;
	char mode[8], owner[33];
	unsigned int uid;
	const char *u;
	long n, i;
	int opt;

	while ((opt = next_opt(c, argc, argv, ":ajq", opts)) != -1) {
		switch (opt) {
		case 0:
			return 2;
		case 'H':
			return 0;
		case 'a':
			all = true;
			break;
		case 'j':
			json = true;
			break;
		case 'q':
			quiet = true;
			break;
		}
	}
	if (optind != argc)
		return usage_err(c, "unexpected argument '%s'", argv[optind]);
	if (json && quiet)
		return usage_err(c, "--json and --quiet do not go together");
	n = read_kchan(&kl);
	if (n < 0)
		return failproc(c);
	if (json)
		putchar('[');
	for (i = 0; i < n; i++) {
		const struct kline *k = &kl[i];

		if (!listed(k, all))
			continue;
		if (quiet) {
			if (k->named && !k->hidden)
				printf("%s\n", k->name);
			continue;
		}
		if (json) {
			printf("%s\n {\"name\": ", first ? "" : ",");
			if (k->named && !k->hidden)
				json_str(k->name);
			else
				fputs("null", stdout);
			printf(", \"hidden\": %s, \"id\": %llu, \"capacity\": %u, \"msg_size\": %u, \"fdpass\": %s, \"len\": %u, \"closed\": %s, \"send_waiters\": %u, \"recv_waiters\": %u, \"send_handles\": %u, \"recv_handles\": %u, \"sent\": %llu, \"received\": %llu, \"dropped\": %llu, ",
			       k->hidden ? "true" : "false", k->id, k->cap,
			       k->msg_size, k->fdpass ? "true" : "false",
			       k->len, k->closed ? "true" : "false", k->sw,
			       k->rw, k->sh, k->rh, k->sent, k->received,
			       k->dropped);
			print_owner_json(k);
			printf(", \"pid\": %d, \"uid\": %u}", k->pid, k->uid);
			first = false;
			continue;
		}
		if (first) {
			printf("%-24s %8s %6s %8s %6s %6s %7s %7s %10s %10s %5s %-10s %7s\n",
			       "NAME", "ID", "CAP", "MSG_SIZE", "LEN", "CLOSED",
			       "SENDERS", "RECVERS", "SENT", "RECEIVED", "MODE",
			       "OWNER", "PID");
			first = false;
		}
		/* an anonymous channel's owner is its creator */
		if (k->has_owner) {
			snprintf(mode, sizeof(mode), "%04o", k->mode);
			uid = k->owner;
		} else {
			snprintf(mode, sizeof(mode), "-");
			uid = k->uid;
		}
		u = user_name(uid);
		if (u)
			snprintf(owner, sizeof(owner), "%s", u);
		else
			snprintf(owner, sizeof(owner), "%u", uid);
		printf("%-24s %8llu %6u %8u %6u %6s %7u %7u %10llu %10llu %5s %-10s %7d\n",
		       shown_name(k), k->id, k->cap, k->msg_size, k->len,
		       k->closed ? "yes" : "no", k->sh, k->rh, k->sent,
		       k->received, mode, owner, k->pid);
	}
	if (json)
		printf("%s]\n", first ? "" : "\n");
	free(kl);
	return 0;
}

/* ---- top ---- */

/* A process blocked on a channel: the channel, the operation, who. */
struct waiter {
	unsigned long long id;
	const char *op;		/* "send", "recv", "wait" */
	int pid;
	char comm[17];
};

struct waiters {
	struct waiter *v;
	size_t n, cap;
	long unseen;	/* processes asleep with a channel, syscall unreadable */
};

/* A channel fd of a process: /proc/PID/fd/FD -> chan_id. */
struct chanfd {
	int fd;
	unsigned long long id;
};

static void add_waiter(struct waiters *w, unsigned long long id,
		       const char *op, int pid, const char *comm)
{
	struct waiter *nv;
	size_t i;

	for (i = 0; i < w->n; i++)
		if (w->v[i].id == id && w->v[i].pid == pid &&
		    !strcmp(w->v[i].op, op))
			return;	/* one entry per process and operation */
	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 16;
		nv = realloc(w->v, w->cap * sizeof(*nv));
		if (!nv) {
			w->cap = w->n;
			return;
		}
		w->v = nv;
	}
	w->v[w->n].id = id;
	w->v[w->n].op = op;
	w->v[w->n].pid = pid;
	snprintf(w->v[w->n].comm, sizeof(w->v[w->n].comm), "%s", comm);
	w->n++;
}

/* Read a small file into buf (NUL-terminated); length or -1. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return n;
}

/* The channel fds of process @pid (malloc'ed in *out); count. */
static size_t proc_chan_fds(int pid, struct chanfd **out)
{
	char path[64], link[64], buf[1024], *p;
	struct chanfd *v = NULL, *nv;
	size_t n = 0, cap = 0;
	struct dirent *de;
	ssize_t len;
	DIR *d;
	int fd;

	*out = NULL;
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		fd = atoi(de->d_name);
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
		len = readlink(path, link, sizeof(link) - 1);
		if (len < 0)
			continue;
		link[len] = 0;
		if (strcmp(link, "anon_inode:[chan]"))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
		if (read_small(path, buf, sizeof(buf)) < 0)
			continue;
		p = strstr(buf, "chan_id:");
		if (!p)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 8;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		v[n].fd = fd;
		v[n].id = strtoull(p + 8, NULL, 10);
		n++;
	}
	closedir(d);
	*out = v;
	return n;
}

/*
 * What a sleeping thread waits for on a channel, from the system call it
 * sleeps in (/proc/PID/task/TID/syscall: number, then the arguments):
 * CHAN_IOC_SEND/RECV (and their batches), read/write and their vector
 * forms on a channel fd. A select waits on several: "wait" on each
 * channel the process holds. NULL when it is not blocked on a channel.
 */
static const char *blocked_op(const char *sc, const struct chanfd *fds,
			      size_t nfds, unsigned long long *id, bool *all)
{
	unsigned long long nr, a0, a1;
	size_t i;

	*all = false;
	if (sscanf(sc, "%llu %llx %llx", &nr, &a0, &a1) != 3)
		return NULL;
	for (i = 0; i < nfds; i++)
		if ((unsigned long long)fds[i].fd == a0)
			break;
	if (nr == SYS_ioctl && _IOC_TYPE(a1) == CHAN_IOC_MAGIC) {
		switch (_IOC_NR(a1)) {
		case _IOC_NR(CHAN_IOC_SELECT):
		case _IOC_NR(CHAN_IOC_SELSET_WAIT):
			*all = true;
			return "wait";
		case _IOC_NR(CHAN_IOC_SEND):
		case _IOC_NR(CHAN_IOC_SEND_BATCH):
			if (i == nfds)
				return NULL;
			*id = fds[i].id;
			return "send";
		case _IOC_NR(CHAN_IOC_RECV):
		case _IOC_NR(CHAN_IOC_RECV_BATCH):
			if (i == nfds)
				return NULL;
			*id = fds[i].id;
			return "recv";
		}
		return NULL;
	}
	if (i == nfds)
		return NULL;
	*id = fds[i].id;
	if (nr == SYS_read || nr == SYS_readv || nr == SYS_preadv2)
		return "recv";
	if (nr == SYS_write || nr == SYS_writev || nr == SYS_pwritev2)
		return "send";
	return NULL;
}

/*
 * Every process's threads asleep on a channel operation. A process whose
 * syscall file we may not read (another user's, or any but our children
 * under kernel.yama.ptrace_scope >= 1) is counted in w->unseen.
 */
static void scan_waiters(struct waiters *w)
{
	char path[96], buf[512], comm[64], *p;
	struct dirent *de, *te;
	struct chanfd *fds;
	unsigned long long id;
	const char *op;
	size_t nfds, i;
	DIR *d, *td;
	bool all, unseen;
	int pid, tid;

	d = opendir("/proc");
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = atoi(de->d_name);
		nfds = proc_chan_fds(pid, &fds);
		if (!nfds)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		if (read_small(path, comm, sizeof(comm)) <= 0)
			snprintf(comm, sizeof(comm), "?");
		comm[strcspn(comm, "\n")] = 0;
		snprintf(path, sizeof(path), "/proc/%d/task", pid);
		td = opendir(path);
		unseen = false;
		while (td && (te = readdir(td))) {
			if (!isdigit((unsigned char)te->d_name[0]))
				continue;
			/* asleep: S (interruptible) or D */
			tid = atoi(te->d_name);
			snprintf(path, sizeof(path), "/proc/%d/task/%d/stat",
				 pid, tid);
			if (read_small(path, buf, sizeof(buf)) < 0)
				continue;
			p = strrchr(buf, ')');
			if (!p || (p[2] != 'S' && p[2] != 'D'))
				continue;
			snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall",
				 pid, tid);
			if (read_small(path, buf, sizeof(buf)) < 0) {
				unseen = true;
				continue;
			}
			op = blocked_op(buf, fds, nfds, &id, &all);
			if (!op)
				continue;
			if (!all) {
				add_waiter(w, id, op, pid, comm);
				continue;
			}
			for (i = 0; i < nfds; i++)
				add_waiter(w, fds[i].id, op, pid, comm);
		}
		if (td)
			closedir(td);
		w->unseen += unseen;
		free(fds);
	}
	closedir(d);
}

static int cmp_id(const void *a, const void *b)
{
	const struct kline *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static volatile sig_atomic_t top_stop;

static void on_stop(int sig)
{
	(void)sig;
	top_stop = 1;
}

static void print_rate(bool have, double v)
{
	if (have)
		printf(" %9.1f", v);
	else
		printf(" %9s", "-");
}

/*
 * One frame: a header line, a column line, a line per channel, a blank
 * line. prev (sorted by id) holds the last frame's counters.
 */
static void top_frame(struct kline *kl, long n, const struct kline *prev,
		      long nprev, double secs, bool all,
		      const struct waiters *w)
{
	char lenbuf[32], when[32];
	const struct kline *p;
	time_t t = time(NULL);
	long shown = 0, blocked = 0, i;
	size_t j;

	for (i = 0; i < n; i++) {
		if (!listed(&kl[i], all))
			continue;
		shown++;
		blocked += kl[i].sw + kl[i].rw;
	}
	strftime(when, sizeof(when), "%H:%M:%S", localtime(&t));
	printf("%s top - %s, %ld channel%s, %ld blocked operation%s", prog,
	       when, shown, shown == 1 ? "" : "s", blocked,
	       blocked == 1 ? "" : "s");
	if (w->unseen)
		printf(", %ld process%s not inspectable (/proc/PID/syscall: root, or kernel.yama.ptrace_scope=0)",
		       w->unseen, w->unseen == 1 ? "" : "es");
	putchar('\n');
	printf("%8s %-20s %13s %9s %9s %6s %6s  %s\n", "ID", "NAME", "LEN/CAP",
	       "SENT/s", "RECV/s", "SEND_W", "RECV_W", "BLOCKED");
	for (i = 0; i < n; i++) {
		const struct kline *k = &kl[i];

		if (!listed(k, all))
			continue;
		p = prev ? bsearch(k, prev, nprev, sizeof(*prev), cmp_id) : NULL;
		snprintf(lenbuf, sizeof(lenbuf), "%u/%u", k->len, k->cap);
		printf("%8llu %-20s %13s", k->id, shown_name(k), lenbuf);
		print_rate(p && secs > 0, p ? (k->sent - p->sent) / secs : 0);
		print_rate(p && secs > 0,
			   p ? (k->received - p->received) / secs : 0);
		printf(" %6u %6u ", k->sw, k->rw);
		for (j = 0; j < w->n; j++)
			if (w->v[j].id == k->id)
				printf(" %s:%d(%s)", w->v[j].op, w->v[j].pid,
				       w->v[j].comm);
		putchar('\n');
	}
	putchar('\n');
	fflush(stdout);
}

static int cmd_top(const struct cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "batch", no_argument, NULL, 'b' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "delay", required_argument, NULL, 'd' },
		{ "once", no_argument, NULL, '1' },
		HELP_OPTION,
		{}
	};
	bool all = false, batch = false, raw = false;
	unsigned long iterations = 0, frame;
	struct kline *kl = NULL, *prev = NULL;
	int64_t delay = 1000000000LL, t, tprev = 0;
	struct termios saved, tio;
	struct sigaction sa;
	long n, nprev = 0;
	int opt, ret = 0;

	while ((opt = next_opt(c, argc, argv, ":abn:d:", opts)) != -1) {
		switch (opt) {
		case 0:
			return 2;
		case 'H':
			return 0;
		case 'a':
			all = true;
			break;
		case 'b':
			batch = true;
			break;
		case '1':
			batch = true;
			iterations = 1;
			break;
		case 'n':
			if (!parse_uint(optarg, ULONG_MAX, &iterations) ||
			    !iterations)
				return usage_err(c, "bad --iterations '%s': a number of frames, 1 or more",
						 optarg);
			break;
		case 'd':
			if (!parse_seconds(optarg, &delay) || !delay)
				return usage_err(c, "bad --delay '%s': seconds, more than 0 (fractions allowed)",
						 optarg);
			break;
		}
	}
	if (optind != argc)
		return usage_err(c, "unexpected argument '%s'", argv[optind]);
	/* not a terminal: a log, as with top -b */
	if (!isatty(STDOUT_FILENO))
		batch = true;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!batch && isatty(STDIN_FILENO) && !tcgetattr(STDIN_FILENO, &saved)) {
		/* 'q' quits without Enter */
		tio = saved;
		tio.c_lflag &= ~(ICANON | ECHO);
		tio.c_cc[VMIN] = 1;
		tio.c_cc[VTIME] = 0;
		raw = !tcsetattr(STDIN_FILENO, TCSANOW, &tio);
	}
	for (frame = 0; !top_stop && (!iterations || frame < iterations);
	     frame++) {
		struct waiters w = { 0 };

		n = read_kchan(&kl);
		t = now_ns();
		if (n < 0) {
			ret = failproc(c);
			break;
		}
		qsort(kl, n, sizeof(*kl), cmp_id);
		scan_waiters(&w);
		if (!batch)
			fputs("\033[H\033[2J", stdout);
		top_frame(kl, n, prev, nprev, (t - tprev) / 1e9, all, &w);
		free(w.v);
		free(prev);
		prev = kl;
		nprev = n;
		tprev = t;
		kl = NULL;
		if (iterations && frame + 1 == iterations)
			break;
		/* sleep until the next frame, or 'q' */
		for (;;) {
			struct pollfd pfd = { .fd = STDIN_FILENO,
					      .events = POLLIN };
			int64_t l = tprev + delay - now_ns();
			char ch;

			if (l <= 0 || top_stop)
				break;
			if (!raw) {
				struct timespec ts = { l / 1000000000LL,
						       l % 1000000000LL };

				nanosleep(&ts, NULL);
				continue;
			}
			if (poll(&pfd, 1, (int)((l + 999999) / 1000000)) > 0 &&
			    read(STDIN_FILENO, &ch, 1) == 1 &&
			    (ch == 'q' || ch == 'Q'))
				top_stop = 1;
		}
	}
	free(prev);
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	return ret;
}

/* ---- main ---- */

int main(int argc, char **argv)
{
	const char *cmd;
	size_t i;

	if (argc < 2)
		return usage_err(NULL, "missing command");
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") ||
	    !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version") ||
	    !strcmp(cmd, "version")) {
		printf("%s (kchan) %s\n", prog, KCHAN_VERSION);
		return 0;
	}
	for (i = 0; i < NCMDS; i++) {
		if (!strcmp(cmd, cmds[i].name)) {
			/* getopt sees argv[1..]: the command, then its arguments */
			optind = 1;
			return cmds[i].run(&cmds[i], argc - 1, argv + 1);
		}
	}
	if (cmd[0] == '-')
		return usage_err(NULL, "unknown option '%s' (a command comes first)",
				 cmd);
	return usage_err(NULL, "unknown command '%s': the commands are create, send, recv, close, unlink, stat, ls and top",
			 cmd);
}
