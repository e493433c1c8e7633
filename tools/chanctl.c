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
 *   chanctl stat NAME
 *   chanctl ls [--all]
 *
 * Options may come before or after the other arguments; "--" ends them
 * (to send a message that starts with '-'). Built on libchan (statically
 * linked). Errors are one line on stderr; exit status 0 on success, 1 on
 * failure, 2 on bad usage.
 * See docs/names.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <chan.h>

#define DEFAULT_CAP		0
#define DEFAULT_MSG_SIZE	4096
#define DEFAULT_MODE		0600
#define RECEIVER_POLL_US	2000

static const char *prog = "chanctl";

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s create NAME [--cap N] [--msg-size B] [--mode M] [--fdpass] [--autoclose]\n"
		"       %s send NAME [MSG|-] [--timeout S]\n"
		"       %s recv NAME [--count N] [--timeout S]\n"
		"       %s close NAME\n"
		"       %s unlink NAME\n"
		"       %s stat NAME\n"
		"       %s ls [--all]\n",
		prog, prog, prog, prog, prog, prog, prog);
}

static int fail(const char *cmd, const char *name, const char *why)
{
	if (name)
		fprintf(stderr, "%s %s %s: %s\n", prog, cmd, name, why);
	else
		fprintf(stderr, "%s %s: %s\n", prog, cmd, why);
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
	case EMSGSIZE:
		return "message longer than the channel's msg_size";
	case EALREADY:
		return "channel already closed";
	default:
		return strerror(err);
	}
}

static int failerr(const char *cmd, const char *name, int err)
{
	if (err == ENOENT && access(CHAN_DEVICE, F_OK))
		return fail(cmd, name, CHAN_DEVICE " missing (is chan.ko loaded?)");
	return fail(cmd, name, why(err));
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
	if (!*s || *s == '-')
		return false;
	*out = strtoul(s, &end, 0);
	return !errno && !*end && *out <= max;
}

/* Seconds, fractional allowed, as nanoseconds; false when malformed. */
static bool parse_timeout(const char *s, int64_t *ns)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno || *end || end == s || d < 0 || d > 1e9)
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

/* ---- create ---- */

static int cmd_create(const char *name, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cap", required_argument, NULL, 'c' },
		{ "msg-size", required_argument, NULL, 's' },
		{ "mode", required_argument, NULL, 'm' },
		{ "fdpass", no_argument, NULL, 'f' },
		{ "autoclose", no_argument, NULL, 'a' },
		{}
	};
	unsigned long cap = DEFAULT_CAP, msg_size = DEFAULT_MSG_SIZE;
	unsigned long mode = DEFAULT_MODE;
	unsigned int flags = 0;
	int opt, fd;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			if (!parse_uint(optarg, UINT_MAX, &cap))
				return fail("create", name, "bad --cap");
			break;
		case 's':
			if (!parse_uint(optarg, UINT_MAX, &msg_size))
				return fail("create", name, "bad --msg-size");
			break;
		case 'm': {
			char *end;

			errno = 0;
			mode = strtoul(optarg, &end, 8);
			if (errno || *end || !*optarg || mode > 0777)
				return fail("create", name,
					    "bad --mode (octal, at most 0777)");
			break;
		}
		case 'f':
			flags |= CHAN_FDPASS;
			break;
		case 'a':
			flags |= CHAN_AUTOCLOSE;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	/*
	 * The name holds the channel open for whoever comes next (with
	 * --autoclose, until its last send-capable handle goes away). A
	 * recv-only handle of our own is all we need to create it.
	 */
	fd = chan_open_name(name, O_RDONLY | O_CREAT | O_EXCL, mode, flags,
			    cap, msg_size);
	if (fd < 0)
		return failerr("create", name, errno);
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
static int send_one(int fd, const char *buf, size_t len, size_t msg_size,
		    int64_t deadline)
{
	int64_t timeout;
	int err;

	if (len > msg_size)
		return EMSGSIZE;
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

static int cmd_send(const char *name, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{}
	};
	int64_t timeout = -1, deadline;
	const char *msg = NULL;
	struct chan_info ci;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int opt, fd, err = 0;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 't':
			if (!parse_timeout(optarg, &timeout))
				return fail("send", name, "bad --timeout");
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		msg = argv[optind++];
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	deadline = timeout < 0 ? -1 : now_ns() + timeout;

	fd = chan_open_name(name, O_WRONLY, 0, 0, 0, 0);
	if (fd < 0)
		return failerr("send", name, errno);
	if (chan_info(fd, &ci)) {
		err = errno;
		close(fd);
		return failerr("send", name, err);
	}
	if (msg && strcmp(msg, "-")) {
		err = send_one(fd, msg, strlen(msg), ci.msg_size, deadline);
	} else {
		while ((n = getline(&line, &cap, stdin)) > 0) {
			if (line[n - 1] == '\n')
				n--;
			err = send_one(fd, line, n, ci.msg_size, deadline);
			if (err)
				break;
		}
		free(line);
	}
	close(fd);
	return err ? failerr("send", name, err) : 0;
}

/* ---- recv ---- */

static int cmd_recv(const char *name, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{}
	};
	unsigned long count = 0, got = 0;
	int64_t timeout = -1, deadline;
	struct chan_info ci;
	ssize_t len;
	char *buf;
	bool ok;
	int opt, fd, err = 0;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			if (!parse_uint(optarg, ULONG_MAX, &count) || !count)
				return fail("recv", name, "bad --count");
			break;
		case 't':
			if (!parse_timeout(optarg, &timeout))
				return fail("recv", name, "bad --timeout");
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	deadline = timeout < 0 ? -1 : now_ns() + timeout;

	fd = chan_open_name(name, O_RDONLY, 0, 0, 0, 0);
	if (fd < 0)
		return failerr("recv", name, errno);
	if (chan_info(fd, &ci)) {
		err = errno;
		close(fd);
		return failerr("recv", name, err);
	}
	buf = malloc(ci.msg_size + 1);
	if (!buf) {
		close(fd);
		return failerr("recv", name, ENOMEM);
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
	if (err == EPIPE && count) {
		char why_[80];

		snprintf(why_, sizeof(why_),
			 "channel closed after %lu of %lu messages", got, count);
		return fail("recv", name, why_);
	}
	return err ? failerr("recv", name, err) : 0;
}

/* ---- close, unlink, stat ---- */

static int cmd_close(const char *name)
{
	int fd, err = 0;

	fd = chan_open_name(name, O_WRONLY, 0, 0, 0, 0);
	if (fd < 0)
		return failerr("close", name, errno);
	if (chan_close(fd))
		err = errno;
	close(fd);
	return err ? failerr("close", name, err) : 0;
}

static int cmd_unlink(const char *name)
{
	return chan_unlink(name) ? failerr("unlink", name, errno) : 0;
}

static int cmd_stat(const char *name)
{
	struct chan_info ci;
	int fd, err;

	/* recv-only: closing it can never close the channel */
	fd = chan_open_name(name, O_RDONLY | O_NONBLOCK, 0, 0, 0, 0);
	if (fd < 0)
		return failerr("stat", name, errno);
	if (chan_info(fd, &ci)) {
		err = errno;
		close(fd);
		return failerr("stat", name, err);
	}
	close(fd);
	/* handle counts leave out our own handle */
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
	return 0;
}

/* ---- ls ---- */

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

static int cmd_ls(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{}
	};
	char line[2048], name[1024], flags[16];
	unsigned long long id, sent, received, dropped;
	unsigned int cap, msg, len, closed, sw, rw, sh, rh, uid;
	bool all = false, header = true;
	FILE *f;
	int opt, pid;

	while ((opt = getopt_long(argc, argv, "a", opts, NULL)) != -1) {
		if (opt != 'a') {
			usage(stderr);
			return 2;
		}
		all = true;
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	f = fopen("/proc/kchan", "r");
	if (!f) {
		if (errno == ENOENT)
			return fail("ls", NULL,
				    "/proc/kchan missing (is chan.ko loaded?)");
		return fail("ls", "/proc/kchan", strerror(errno));
	}
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return fail("ls", "/proc/kchan", "empty");
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llu %1023s %15s %u %u %u %u %u %u %u %u %llu %llu %llu %d %u",
			   &id, name, flags, &cap, &msg, &len, &closed, &sw, &rw,
			   &sh, &rh, &sent, &received, &dropped, &pid, &uid) != 16)
			continue;
		if (!all && (!strcmp(name, "-") || !strcmp(name, "?")))
			continue;
		if (header) {
			printf("%-24s %8s %6s %8s %6s %6s %7s %7s %10s %10s %7s %6s\n",
			       "NAME", "ID", "CAP", "MSG_SIZE", "LEN", "CLOSED",
			       "SENDERS", "RECVERS", "SENT", "RECEIVED", "PID",
			       "UID");
			header = false;
		}
		unescape(name);
		printf("%-24s %8llu %6u %8u %6u %6s %7u %7u %10llu %10llu %7d %6u\n",
		       name, id, cap, msg, len, closed ? "yes" : "no", sh, rh,
		       sent, received, pid, uid);
	}
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd, *name;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") ||
	    !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "ls"))
		return cmd_ls(argc - 1, argv + 1);
	if (argc < 3 || argv[2][0] == '-') {
		if (strcmp(cmd, "create") && strcmp(cmd, "send") &&
		    strcmp(cmd, "recv") && strcmp(cmd, "close") &&
		    strcmp(cmd, "unlink") && strcmp(cmd, "stat"))
			return fail(cmd, NULL, "unknown command (try --help)");
		return fail(cmd, NULL, "missing channel NAME");
	}
	name = argv[2];
	/* getopt sees argv[2..]: the subcommand's own options */
	argc -= 2;
	argv += 2;
	if (!strcmp(cmd, "create"))
		return cmd_create(name, argc, argv);
	if (!strcmp(cmd, "send"))
		return cmd_send(name, argc, argv);
	if (!strcmp(cmd, "recv"))
		return cmd_recv(name, argc, argv);
	if (argc != 1) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(cmd, "close"))
		return cmd_close(name);
	if (!strcmp(cmd, "unlink"))
		return cmd_unlink(name);
	if (!strcmp(cmd, "stat"))
		return cmd_stat(name);
	return fail(cmd, NULL, "unknown command (try --help)");
}
