// SPDX-License-Identifier: GPL-2.0
/*
 * Named channels (issue 5): CHAN_IOC_OPEN, CHAN_IOC_UNLINK, CHAN_IOC_CREATE
 * with a name; permissions, IPC namespaces, the /proc/kchan listing,
 * fdinfo and the chan:* tracepoints.
 *
 * Names are per test process (".<pid>" suffix) so runs never collide.
 */
#include <grp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "kchan_test.h"

/* ---- helpers ---------------------------------------------------------------- */

static int kn_dev(void)
{
	return open(CHAN_DEVICE, O_RDWR | O_CLOEXEC);
}

/* CHAN_IOC_OPEN / CHAN_IOC_UNLINK on a /dev/chan of their own. */
static int kn_open(const char *name, int oflag, unsigned int mode,
		   unsigned int flags, unsigned int cap, unsigned int msg_size)
{
	return kc_name_open(-1, name, oflag, mode, flags, cap, msg_size);
}

static int kn_unlink(const char *name)
{
	return kc_name_unlink(-1, name);
}

/* CHAN_IOC_CREATE with a name; fd or -errno. */
static int kn_create(const char *name, unsigned int mode, unsigned int flags,
		     unsigned int cap, unsigned int msg_size)
{
	struct chan_create c;
	int dev = kn_dev(), fd, err;

	if (dev < 0)
		return -errno;
	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.flags = flags;
	c.capacity = cap;
	c.msg_size = msg_size;
	c.name = (uintptr_t)name;
	c.mode = mode;
	fd = ioctl(dev, CHAN_IOC_CREATE, &c);
	err = errno;
	close(dev);
	return fd < 0 ? -err : fd;
}

/* A name unique to this process and tag; stale ones are removed. */
static const char *kn_name(const char *tag)
{
	static char bufs[8][64];
	static int next;
	char *b = bufs[next++ % 8];

	snprintf(b, sizeof(bufs[0]), "kn.%s.%d", tag, getpid());
	kn_unlink(b);
	return b;
}

static int kn_rights(int fd)
{
	struct chan_info info;

	return kc_info(fd, &info) ? -1 : (int)info.rights;
}

/*
 * The /proc/kchan line of channel @id, split into fields; number of
 * fields found, 0 when absent, -errno.
 */
#define KN_FIELDS 16
static int kn_listing(unsigned long long id, char f[KN_FIELDS][300])
{
	char line[1024], want[32];
	int n = 0, first = 1;
	FILE *fp;

	fp = fopen("/proc/kchan", "r");
	if (!fp)
		return -errno;
	snprintf(want, sizeof(want), "%llu ", id);
	while (fgets(line, sizeof(line), fp)) {
		char *save, *tok;

		if (first) {
			first = 0;
			if (strncmp(line, "id name ", 8)) {
				n = -EPROTO;
				break;
			}
			continue;
		}
		if (strncmp(line, want, strlen(want)))
			continue;
		line[strcspn(line, "\n")] = 0;
		for (tok = strtok_r(line, " ", &save); tok && n < KN_FIELDS;
		     tok = strtok_r(NULL, " ", &save))
			snprintf(f[n++], 300, "%s", tok);
		break;
	}
	fclose(fp);
	return n;
}

/* Field indexes of a /proc/kchan line. */
enum { L_ID, L_NAME, L_FLAGS, L_CAP, L_MSG, L_LEN, L_CLOSED, L_SW, L_RW,
       L_SH, L_RH, L_SENT, L_RECV, L_DROP, L_PID, L_UID };

static unsigned long long kn_id(int fd)
{
	return (unsigned long long)KC_INFO(fd, id);
}

/* Drop every privilege: become uid/gid 65534 (run as root only). */
static int kn_become_nobody(void)
{
	gid_t g = 65534;

	if (setgroups(1, &g) || setresgid(65534, 65534, 65534) ||
	    setresuid(65534, 65534, 65534))
		return -1;
	return 0;
}

/* ---- open, create, rights ------------------------------------------------------ */

TEST(open_creat_excl_and_rights)
{
	const char *name = kn_name("rights");
	int a, r, w, rw, fd;
	uint32_t v;

	a = kn_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, 0, 4, 4);
	ASSERT_GE(a, 0);
	EXPECT_EQ(CHAN_RIGHT_BOTH, kn_rights(a));
	EXPECT_NE(0, fcntl(a, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(4, KC_INFO(a, capacity));
	EXPECT_EQ(4, KC_INFO(a, msg_size));
	EXPECT_EQ(-EEXIST, kn_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, 0,
				   4, 4));
	EXPECT_EQ(-EEXIST, kn_create(name, 0600, 0, 4, 4));

	/* O_CREAT without O_EXCL opens the existing one, attrs ignored. */
	fd = kn_open(name, O_RDWR | O_CREAT, 0600, 0, 9, 9);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(KC_INFO(a, id), KC_INFO(fd, id));
	EXPECT_EQ(4, KC_INFO(fd, capacity));
	EXPECT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);

	r = kn_open(name, O_RDONLY, 0, 0, 0, 0);
	w = kn_open(name, O_WRONLY | O_NONBLOCK, 0, 0, 0, 0);
	rw = kn_open(name, O_RDWR | O_CLOEXEC, 0, 0, 0, 0);
	ASSERT_GE(r, 0);
	ASSERT_GE(w, 0);
	ASSERT_GE(rw, 0);
	EXPECT_EQ(CHAN_RIGHT_RECV, kn_rights(r));
	EXPECT_EQ(CHAN_RIGHT_SEND, kn_rights(w));
	EXPECT_EQ(CHAN_RIGHT_BOTH, kn_rights(rw));
	EXPECT_NE(0, fcntl(w, F_GETFL) & O_NONBLOCK);
	EXPECT_NE(0, fcntl(rw, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(3, KC_INFO(a, send_handles));
	EXPECT_EQ(3, KC_INFO(a, recv_handles));

	ASSERT_EQ(0, kc_send_u32(w, 7, 0));
	ASSERT_EQ(1, kc_recv_u32(r, &v, 0));
	EXPECT_EQ(7, v);
	EXPECT_EQ(-EBADF, kc_send_u32(r, 1, 0));
	EXPECT_EQ(-EBADF, kc_recv_u32(w, &v, 0));

	EXPECT_EQ(0, kn_unlink(name));
	close(a);
	close(r);
	close(w);
	close(rw);
}

TEST(create_ioctl_with_name)
{
	const char *name = kn_name("create");
	int a, b;
	uint32_t v;

	a = kn_create(name, 0600, CHAN_CLOEXEC, 2, 4);
	ASSERT_GE(a, 0);
	EXPECT_EQ(CHAN_RIGHT_BOTH, kn_rights(a));
	EXPECT_NE(0, fcntl(a, F_GETFD) & FD_CLOEXEC);
	b = kn_open(name, O_RDONLY, 0, 0, 0, 0);
	ASSERT_GE(b, 0);
	ASSERT_EQ(0, kc_send_u32(a, 5, 0));
	ASSERT_EQ(1, kc_recv_u32(b, &v, 0));
	EXPECT_EQ(5, v);
	EXPECT_EQ(0, kn_unlink(name));
	close(a);
	close(b);
}

TEST(bad_names_and_flags)
{
	char longname[CHAN_NAME_MAX + 2];
	const char *ok = kn_name("bad");
	int fd;

	EXPECT_EQ(-EINVAL, kn_open("", O_RDWR | O_CREAT, 0600, 0, 1, 4));
	EXPECT_EQ(-EINVAL, kn_open("a/b", O_RDWR | O_CREAT, 0600, 0, 1, 4));
	EXPECT_EQ(-EINVAL, kn_open("/lead", O_RDWR | O_CREAT, 0600, 0, 1, 4));
	EXPECT_EQ(-EINVAL, kn_create("", 0600, 0, 1, 4));
	EXPECT_EQ(-EINVAL, kn_create("x/y", 0600, 0, 1, 4));
	EXPECT_EQ(-EINVAL, kn_unlink(""));
	EXPECT_EQ(-EINVAL, kn_unlink("x/y"));
	memset(longname, 'n', sizeof(longname));
	longname[CHAN_NAME_MAX + 1] = 0;
	EXPECT_EQ(-EINVAL, kn_open(longname, O_RDWR | O_CREAT, 0600, 0, 1, 4));
	EXPECT_EQ(-EINVAL, kn_unlink(longname));
	/* Exactly CHAN_NAME_MAX is fine. */
	longname[CHAN_NAME_MAX] = 0;
	kn_unlink(longname);
	fd = kn_open(longname, O_RDWR | O_CREAT | O_EXCL, 0600, 0, 1, 4);
	EXPECT_GE(fd, 0);
	EXPECT_EQ(0, kn_unlink(longname));
	if (fd >= 0)
		close(fd);

	EXPECT_EQ(-EFAULT, kn_open(NULL, O_RDWR | O_CREAT, 0600, 0, 1, 4));
	EXPECT_EQ(-EFAULT, kn_unlink(NULL));
	/* Unknown oflag bits, access mode 3, mode bits, flags. */
	EXPECT_EQ(-EINVAL, kn_open(ok, O_RDWR | O_CREAT | O_TRUNC, 0600, 0,
				   1, 4));
	EXPECT_EQ(-EINVAL, kn_open(ok, O_ACCMODE | O_CREAT, 0600, 0, 1, 4));
	EXPECT_EQ(-EINVAL, kn_open(ok, O_RDWR | O_CREAT, 01600, 0, 1, 4));
	EXPECT_EQ(-EINVAL, kn_open(ok, O_RDWR | O_CREAT, 0600, 1U << 20, 1, 4));
	EXPECT_EQ(-EINVAL, kn_create(ok, 04600, 0, 1, 4));
	/* One spelling per option: O_CLOEXEC, O_NONBLOCK in oflag only. */
	EXPECT_EQ(-EINVAL, kn_open(ok, O_RDWR | O_CREAT, 0600, CHAN_CLOEXEC,
				   1, 4));
	EXPECT_EQ(-EINVAL, kn_open(ok, O_RDWR | O_CREAT, 0600, CHAN_NONBLOCK,
				   1, 4));
	/* CHAN_AUTOCLOSE (and mode) only with a name. */
	EXPECT_EQ(-EINVAL, kc_create_flags(1, 4, CHAN_AUTOCLOSE));
	/* Creation limits apply as for CHAN_IOC_CREATE. */
	EXPECT_EQ(-EMSGSIZE, kn_open(ok, O_RDWR | O_CREAT, 0600, 0, 1,
				     kc_param("max_msg_size", 65536) + 1));
	EXPECT_EQ(-EINVAL, kn_open(ok, O_RDWR | O_CREAT, 0600, 0,
				   kc_param("max_capacity", 65536) + 1, 0));
	/* Nothing was created by any of that. */
	EXPECT_EQ(-ENOENT, kn_open(ok, O_RDWR, 0, 0, 0, 0));
}

TEST(enoent)
{
	const char *name = kn_name("none");

	EXPECT_EQ(-ENOENT, kn_open(name, O_RDWR, 0, 0, 0, 0));
	EXPECT_EQ(-ENOENT, kn_open(name, O_RDONLY | O_EXCL, 0, 0, 0, 0));
	EXPECT_EQ(-ENOENT, kn_unlink(name));
}

TEST(unlinked_lives_on)
{
	const char *name = kn_name("unlinked");
	int a, b, c;
	uint32_t v;

	a = kn_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, 0, 2, 4);
	ASSERT_GE(a, 0);
	b = kn_open(name, O_RDONLY, 0, 0, 0, 0);
	ASSERT_GE(b, 0);
	ASSERT_EQ(0, kn_unlink(name));
	EXPECT_EQ(-ENOENT, kn_unlink(name));
	EXPECT_EQ(-ENOENT, kn_open(name, O_RDWR, 0, 0, 0, 0));
	ASSERT_EQ(0, kc_send_u32(a, 11, 0));
	ASSERT_EQ(1, kc_recv_u32(b, &v, 0));
	EXPECT_EQ(11, v);
	/* The name is free again: a new, different channel. */
	c = kn_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, 0, 2, 4);
	ASSERT_GE(c, 0);
	EXPECT_NE(KC_INFO(a, id), KC_INFO(c, id));
	EXPECT_EQ(0, kn_unlink(name));
	close(a);
	close(b);
	close(c);
}

/*
 * A name holds the channel open without a handle: messages wait in it, and
 * the last send-capable handle going away does not close it. Unlinking
 * the name lets go: with no sender left the channel closes then.
 */
TEST(name_holds_channel)
{
	const char *name = kn_name("holds");
	int a, b;
	uint32_t v;

	a = kn_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, 0, 4, 4);
	ASSERT_GE(a, 0);
	EXPECT_EQ(0, KC_INFO(a, flags));
	close(a);	/* the creator's send handle goes: still open */
	b = kn_open(name, O_RDWR, 0, 0, 0, 0);
	ASSERT_GE(b, 0);
	EXPECT_EQ(0, KC_INFO(b, closed));
	EXPECT_EQ(1, KC_INFO(b, send_handles));	/* a name is no handle */
	ASSERT_EQ(0, kc_send_u32(b, 3, 0));
	close(b);	/* the last sender: still open, the message stays */
	a = kn_open(name, O_RDONLY, 0, 0, 0, 0);
	ASSERT_GE(a, 0);
	EXPECT_EQ(0, KC_INFO(a, closed));
	EXPECT_EQ(0, KC_INFO(a, send_handles));
	ASSERT_EQ(1, kc_recv_u32(a, &v, 0));
	EXPECT_EQ(3, v);
	EXPECT_EQ(-EAGAIN, kc_recv_u32(a, &v, 0));
	/* No name and no sender: closed now. */
	EXPECT_EQ(0, kn_unlink(name));
	EXPECT_EQ(1, KC_INFO(a, closed));
	EXPECT_EQ(0, kc_recv_u32(a, &v, 0));
	close(a);
}

/* Unlinking while a sender is open closes nothing: the sender does, later. */
TEST(unlink_then_last_sender_closes)
{
	const char *name = kn_name("unlinksend");
	int r, w;
	uint32_t v;

	r = kn_open(name, O_RDONLY | O_CREAT | O_EXCL, 0600, 0, 4, 4);
	ASSERT_GE(r, 0);
	w = kn_open(name, O_WRONLY, 0, 0, 0, 0);
	ASSERT_GE(w, 0);
	EXPECT_EQ(0, kn_unlink(name));
	EXPECT_EQ(0, KC_INFO(r, closed));
	ASSERT_EQ(0, kc_send_u32(w, 9, 0));
	close(w);	/* no name any more: crash safety again */
	EXPECT_EQ(1, KC_INFO(r, closed));
	ASSERT_EQ(1, kc_recv_u32(r, &v, 0));
	EXPECT_EQ(9, v);
	EXPECT_EQ(0, kc_recv_u32(r, &v, 0));
	close(r);
}

/* Issue 14: a producer that opens, times out or sends, and exits, many
 * times over (cron jobs, chanctl send): the named queue stays usable. On
 * the old module the first producer's exit closed it for good.
 */
TEST(transient_producers_keep_name_open)
{
	const char *name = kn_name("transient");
	int r, i, k;
	uint32_t v;
	pid_t pid;

	r = kn_open(name, O_RDONLY | O_CREAT | O_EXCL, 0600, 0, 8, 4);
	ASSERT_GE(r, 0);
	for (i = 0; i < 4; i++) {
		pid = kc_fork();
		ASSERT_GE(pid, 0);
		if (pid == 0) {
			int fd = kn_open(name, O_WRONLY, 0, 0, 0, 0);

			if (fd < 0)
				_exit(KC_FAIL);
			/* every other producer gives up without sending */
			if (i % 2 == 0)
				_exit(KC_OK);
			_exit(kc_send_u32(fd, 100 + i, 1000000000LL) ?
			      KC_FAIL : KC_OK);
		}
		EXPECT_EQ(0, kc_reap(pid));
		EXPECT_EQ(0, KC_INFO(r, closed)) TH_LOG("after producer %d", i);
	}
	for (k = 1; k < 4; k += 2) {
		ASSERT_EQ(1, kc_recv_u32(r, &v, 0));
		EXPECT_EQ(100 + k, v);
	}
	EXPECT_EQ(-EAGAIN, kc_recv_u32(r, &v, 0));
	EXPECT_EQ(0, kn_unlink(name));
	EXPECT_EQ(0, kc_recv_u32(r, &v, 0));	/* closed and drained */
	close(r);
}

/* CHAN_IOC_CLOSE still closes a named channel for good. */
TEST(named_explicit_close)
{
	const char *name = kn_name("explicit");
	int r, w;
	uint32_t v;

	r = kn_open(name, O_RDONLY | O_CREAT | O_EXCL, 0600, 0, 4, 4);
	ASSERT_GE(r, 0);
	w = kn_open(name, O_WRONLY, 0, 0, 0, 0);
	ASSERT_GE(w, 0);
	ASSERT_EQ(0, kc_send_u32(w, 1, 0));
	ASSERT_EQ(0, kc_close(w));
	close(w);
	w = kn_open(name, O_WRONLY, 0, 0, 0, 0);
	ASSERT_GE(w, 0);
	EXPECT_EQ(-EPIPE, kc_send_u32(w, 2, 0));
	EXPECT_EQ(-EALREADY, kc_close(w));
	ASSERT_EQ(1, kc_recv_u32(r, &v, 0));
	EXPECT_EQ(0, kc_recv_u32(r, &v, 0));
	EXPECT_EQ(0, kn_unlink(name));
	close(w);
	close(r);
}

/*
 * CHAN_AUTOCLOSE at creation restores crash-close for a named channel:
 * open by name from an unrelated process (nothing inherited), it sends
 * and exits; its exit closes the channel (last sender), later senders
 * get EPIPE while receivers drain.
 */
TEST(autoclose_unrelated_process_and_last_sender)
{
	const char *name = kn_name("unrelated");
	int r, w, i;
	uint32_t v;
	pid_t pid;

	r = kn_open(name, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600,
		    CHAN_AUTOCLOSE, 0, 4);
	ASSERT_GE(r, 0);
	EXPECT_EQ(CHAN_AUTOCLOSE, KC_INFO(r, flags));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int fd, st = KC_OK;

		close(r);	/* share nothing with the parent */
		fd = kn_open(name, O_WRONLY, 0, 0, 0, 0);
		if (fd < 0)
			_exit(KC_FAIL);
		for (i = 0; i < 3; i++)
			if (kc_send_u32(fd, 100 + i, -1))
				st = KC_FAIL;
		_exit(st);
	}
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(1, kc_recv_u32(r, &v, 5000000000LL));
		EXPECT_EQ(100 + i, v);
	}
	EXPECT_EQ(0, kc_reap(pid));
	/* All senders gone: closed for good. */
	EXPECT_EQ(0, kc_recv_u32(r, &v, 5000000000LL));
	w = kn_open(name, O_WRONLY, 0, 0, 0, 0);
	ASSERT_GE(w, 0);
	EXPECT_EQ(1, KC_INFO(w, closed));
	EXPECT_EQ(-EPIPE, kc_send_u32(w, 1, 0));
	EXPECT_EQ(0, kn_unlink(name));
	close(w);
	close(r);
}

/* ---- permissions ----------------------------------------------------------------- */

/* In a child that becomes nobody: open with each access mode. */
static int perm_child(const char *name, int want_r, int want_w, int want_rw,
		      int want_unlink)
{
	int fd;

	if (kn_become_nobody())
		return 2;
	fd = kn_open(name, O_RDONLY, 0, 0, 0, 0);
	if (fd >= 0)
		close(fd);
	if ((fd >= 0 ? 0 : fd) != want_r)
		return 3;
	fd = kn_open(name, O_WRONLY, 0, 0, 0, 0);
	if (fd >= 0)
		close(fd);
	if ((fd >= 0 ? 0 : fd) != want_w)
		return 4;
	fd = kn_open(name, O_RDWR, 0, 0, 0, 0);
	if (fd >= 0)
		close(fd);
	if ((fd >= 0 ? 0 : fd) != want_rw)
		return 5;
	if (kn_unlink(name) != want_unlink)
		return 6;
	return 0;
}

static void perm_case(struct __test_metadata *_metadata, unsigned int mode,
		      int want_r, int want_w, int want_rw)
{
	const char *name = kn_name("perm");
	pid_t pid;
	int fd;

	fd = kn_open(name, O_RDWR | O_CREAT | O_EXCL, mode, 0, 1, 4);
	ASSERT_GE(fd, 0);
	/* umask applies on creation, like mq_open(). */
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(perm_child(name, want_r, want_w, want_rw, -EACCES));
	EXPECT_EQ(0, kc_reap(pid)) TH_LOG("mode %o", mode);
	EXPECT_EQ(0, kn_unlink(name));
	close(fd);
}

TEST(permissions_other_uid)
{
	mode_t old;

	if (geteuid() != 0)
		SKIP(return, "needs root to switch uid");
	old = umask(0);
	perm_case(_metadata, 0600, -EACCES, -EACCES, -EACCES);
	perm_case(_metadata, 0604, 0, -EACCES, -EACCES);
	perm_case(_metadata, 0602, -EACCES, 0, -EACCES);
	perm_case(_metadata, 0606, 0, 0, 0);
	umask(022);
	/* 0666 & ~022: others may only receive. */
	perm_case(_metadata, 0666, 0, -EACCES, -EACCES);
	umask(old);
}

TEST(permissions_owner_bits_and_unlink)
{
	const char *name = kn_name("owner");
	mode_t old;
	pid_t pid;
	int fd;

	if (geteuid() != 0)
		SKIP(return, "needs root to switch uid");
	old = umask(0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		/* nobody creates it with 0200: it may send, not receive */
		if (kn_become_nobody())
			_exit(2);
		fd = kn_open(name, O_RDWR | O_CREAT | O_EXCL, 0200, 0, 1, 4);
		if (fd < 0)
			_exit(3);
		close(fd);
		if (kn_open(name, O_RDONLY, 0, 0, 0, 0) != -EACCES)
			_exit(4);
		fd = kn_open(name, O_WRONLY, 0, 0, 0, 0);
		if (fd < 0)
			_exit(5);
		close(fd);
		_exit(0);
	}
	EXPECT_EQ(0, kc_reap(pid));
	umask(old);
	/* root (CAP_DAC_OVERRIDE) opens anything, CAP_FOWNER unlinks. */
	fd = kn_open(name, O_RDWR, 0, 0, 0, 0);
	EXPECT_GE(fd, 0);
	if (fd >= 0)
		close(fd);
	EXPECT_EQ(0, kn_unlink(name));
}

/* ---- IPC namespaces --------------------------------------------------------------- */

TEST(namespaces_isolate)
{
	const char *name = kn_name("ns");
	int *shared = kc_shared(sizeof(int) * 4);
	int fd, v;
	pid_t pid;

	ASSERT_NE(NULL, shared);
	fd = kn_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, 0, 2, 4);
	ASSERT_GE(fd, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int c;

		if (unshare(CLONE_NEWIPC))
			_exit(77);
		/* The host's name is not visible here... */
		if (kn_open(name, O_RDWR, 0, 0, 0, 0) != -ENOENT)
			_exit(2);
		if (kn_unlink(name) != -ENOENT)
			_exit(3);
		/* ...and the same name is free for our own channel. */
		c = kn_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, 0, 2, 4);
		if (c < 0)
			_exit(4);
		if (kc_send_u32(c, 9, 0))
			_exit(5);
		shared[0] = (int)KC_INFO(c, id);
		/* The listing shows our name, hides the host's. */
		_exit(0);
	}
	v = kc_reap(pid);
	if (v == 77)
		SKIP(goto out, "unshare(CLONE_NEWIPC) not permitted");
	EXPECT_EQ(0, v);
	/* The host's channel got nothing. */
	EXPECT_EQ(0, KC_INFO(fd, len));
	EXPECT_NE(shared[0], (int)KC_INFO(fd, id));
	{
		char f[KN_FIELDS][300];

		/*
		 * The namespace died with the child: its name (the only
		 * reference to its channel) went with it, so the channel is
		 * gone from the listing (a name operation sweeps first).
		 */
		kn_unlink(kn_name("sweep"));
		EXPECT_EQ(0, kn_listing(shared[0], f));
		/* Our own is listed with its name. */
		ASSERT_EQ(KN_FIELDS, kn_listing(KC_INFO(fd, id), f));
		EXPECT_STREQ(name, f[L_NAME]);
	}
out:
	EXPECT_EQ(0, kn_unlink(name));
	close(fd);
	munmap(shared, sizeof(int) * 4);
}

/*
 * Nobody touches names after the namespace dies: the periodic sweep (every
 * 10 s) still drops its names. Seen through a pipe write end buffered in
 * the dead namespace's channel: the reader gets EOF once it is freed.
 */
FIXTURE(slow) {
	int unused;
};

FIXTURE_SETUP(slow)
{
}

FIXTURE_TEARDOWN(slow)
{
}

/* Up to two sweep periods (20 s) plus emulation slack. */
TEST_F_TIMEOUT(slow, namespace_names_swept_periodically, 90)
{
	struct pollfd pfd;
	int p[2], v, r;
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(p));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct chan_msg m;
		int ch;

		close(p[0]);
		if (unshare(CLONE_NEWIPC))
			_exit(77);
		ch = kn_open("swept", O_RDWR | O_CREAT | O_EXCL, 0600,
			     CHAN_FDPASS, 1, 1);
		if (ch < 0)
			_exit(2);
		kc_msg_init(&m, "x", 1, 0);
		m.fd = p[1];
		if (ioctl(ch, CHAN_IOC_SEND, &m))
			_exit(3);
		_exit(0);	/* the namespace dies with us */
	}
	close(p[1]);
	v = kc_reap(pid);
	if (v == 77)
		SKIP(return, "unshare(CLONE_NEWIPC) not permitted");
	ASSERT_EQ(0, v);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	do {
		r = poll(&pfd, 1, 60000);
	} while (r < 0 && errno == EINTR);
	ASSERT_EQ(1, r);
	EXPECT_EQ(0, read(p[0], &c, 1));
	close(p[0]);
}

/* A namespace kept alive by a process shows its names only to itself. */
TEST(namespace_listing_hides_other_ns)
{
	int p2c[2], c2p[2];
	const char *name = kn_name("nslist");
	char f[KN_FIELDS][300];
	unsigned long long id = 0;
	pid_t pid;
	int v;

	ASSERT_EQ(0, pipe(p2c));
	ASSERT_EQ(0, pipe(c2p));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int c;

		if (unshare(CLONE_NEWIPC))
			_exit(77);
		c = kn_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, 0, 1, 4);
		if (c < 0)
			_exit(2);
		id = KC_INFO(c, id);
		if (kn_listing(id, f) != KN_FIELDS || strcmp(f[L_NAME], name))
			_exit(3);
		if (write(c2p[1], &id, sizeof(id)) != sizeof(id))
			_exit(4);
		kc_pipe_get(p2c[0]);	/* until the parent has looked */
		_exit(0);
	}
	close(c2p[1]);
	close(p2c[0]);
	if (read(c2p[0], &id, sizeof(id)) != sizeof(id)) {
		v = kc_reap(pid);
		if (v == 77)
			SKIP(return, "unshare(CLONE_NEWIPC) not permitted");
		ASSERT_EQ(0, v);
	}
	ASSERT_EQ(KN_FIELDS, kn_listing(id, f));
	EXPECT_STREQ("?", f[L_NAME]);
	kc_pipe_put(p2c[1]);
	EXPECT_EQ(0, kc_reap(pid));
	close(c2p[0]);
	close(p2c[1]);
}

/* ---- the listing and fdinfo ------------------------------------------------------- */

TEST(listing_fields)
{
	const char *name = kn_name("list");
	char f[KN_FIELDS][300], num[32];
	int fd, r, anon;

	fd = kn_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, CHAN_FDPASS, 3, 16);
	ASSERT_GE(fd, 0);
	r = kn_open(name, O_RDONLY, 0, 0, 0, 0);
	ASSERT_GE(r, 0);
	ASSERT_EQ(0, kc_send(fd, "ab", 2, 0));
	ASSERT_EQ(0, kc_send(fd, "cd", 2, 0));
	ASSERT_EQ(1, kc_recv(r, num, sizeof(num), NULL, 0));

	ASSERT_EQ(KN_FIELDS, kn_listing(kn_id(fd), f));
	EXPECT_STREQ(name, f[L_NAME]);
	EXPECT_STREQ("fdpass", f[L_FLAGS]);
	EXPECT_STREQ("3", f[L_CAP]);
	EXPECT_STREQ("16", f[L_MSG]);
	EXPECT_STREQ("1", f[L_LEN]);
	EXPECT_STREQ("0", f[L_CLOSED]);
	EXPECT_STREQ("2", f[L_RH]);
	EXPECT_STREQ("1", f[L_SH]);
	EXPECT_STREQ("2", f[L_SENT]);
	EXPECT_STREQ("1", f[L_RECV]);
	snprintf(num, sizeof(num), "%d", getpid());
	EXPECT_STREQ(num, f[L_PID]);
	snprintf(num, sizeof(num), "%u", geteuid());
	EXPECT_STREQ(num, f[L_UID]);

	/* fdinfo carries the name too. */
	{
		char path[64], line[512];
		int found = 0;
		FILE *fp;

		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", r);
		fp = fopen(path, "r");
		ASSERT_NE(NULL, fp);
		while (fgets(line, sizeof(line), fp)) {
			line[strcspn(line, "\n")] = 0;
			if (!strncmp(line, "name:\t", 6) &&
			    !strcmp(line + 6, name))
				found = 1;
		}
		fclose(fp);
		EXPECT_EQ(1, found);
	}

	/* Closed shows; an unlinked channel is anonymous. */
	ASSERT_EQ(0, kc_close(fd));
	ASSERT_EQ(0, kn_unlink(name));
	ASSERT_EQ(KN_FIELDS, kn_listing(kn_id(fd), f));
	EXPECT_STREQ("-", f[L_NAME]);
	EXPECT_STREQ("1", f[L_CLOSED]);

	anon = kc_create(0, 4);
	ASSERT_GE(anon, 0);
	ASSERT_EQ(KN_FIELDS, kn_listing(kn_id(anon), f));
	EXPECT_STREQ("-", f[L_NAME]);
	EXPECT_STREQ("-", f[L_FLAGS]);
	close(anon);
	/* A freed channel leaves the listing. */
	EXPECT_EQ(0, kn_listing(kn_id(fd) + 1000000, f));
	close(fd);
	close(r);
}

TEST(listing_gone_when_freed)
{
	char f[KN_FIELDS][300];
	unsigned long long id;
	int fd = kc_create(1, 4);

	ASSERT_GE(fd, 0);
	id = kn_id(fd);
	ASSERT_EQ(KN_FIELDS, kn_listing(id, f));
	close(fd);
	EXPECT_EQ(0, kn_listing(id, f));
}

TEST(listing_hides_names_from_others)
{
	const char *name = kn_name("hidden");
	char f[KN_FIELDS][300];
	unsigned long long id;
	pid_t pid;
	int fd;

	if (geteuid() != 0)
		SKIP(return, "needs root to switch uid");
	fd = kn_open(name, O_RDWR | O_CREAT | O_EXCL, 0666, 0, 1, 4);
	ASSERT_GE(fd, 0);
	id = kn_id(fd);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (kn_become_nobody())
			_exit(2);
		if (kn_listing(id, f) != KN_FIELDS)
			_exit(3);
		_exit(strcmp(f[L_NAME], "?") ? 4 : 0);
	}
	EXPECT_EQ(0, kc_reap(pid));
	ASSERT_EQ(KN_FIELDS, kn_listing(id, f));
	EXPECT_STREQ(name, f[L_NAME]);
	EXPECT_EQ(0, kn_unlink(name));
	close(fd);
}

/* Whitespace in a name is escaped, so the listing stays one line each. */
TEST(listing_escapes_names)
{
	char name[64], f[KN_FIELDS][300], want[80];
	int fd;

	snprintf(name, sizeof(name), "kn sp\tc.%d", getpid());
	kn_unlink(name);
	fd = kn_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, 0, 1, 4);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(KN_FIELDS, kn_listing(kn_id(fd), f));
	snprintf(want, sizeof(want), "kn\\040sp\\011c.%d", getpid());
	EXPECT_STREQ(want, f[L_NAME]);
	EXPECT_EQ(0, kn_unlink(name));
	close(fd);
}

/* ---- tracepoints ------------------------------------------------------------------- */

static const char *tracefs(void)
{
	static const char *const dirs[] = {
		"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
	};
	char path[128];
	unsigned int i;

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/events/chan/enable", dirs[i]);
		if (!access(path, W_OK))
			return dirs[i];
	}
	mount("tracefs", dirs[0], "tracefs", 0, NULL);
	snprintf(path, sizeof(path), "%s/events/chan/enable", dirs[0]);
	return access(path, W_OK) ? NULL : dirs[0];
}

static int write_file(const char *dir, const char *file, const char *s)
{
	char path[160];
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -errno;
	r = write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -errno;
	close(fd);
	return r;
}

TEST(tracepoints_fire)
{
	const char *dir = tracefs();
	char path[160], line[512], want[4][64];
	int found[4] = { 0 };
	struct chan_select s;
	struct chan_select_case c;
	unsigned long long id;
	uint32_t v = 0;
	FILE *fp;
	int fd, i;

	if (!dir)
		SKIP(return, "tracefs with events/chan not available");
	fd = kc_create(1, 4);
	ASSERT_GE(fd, 0);
	id = kn_id(fd);
	ASSERT_EQ(0, write_file(dir, "trace", ""));
	ASSERT_EQ(0, write_file(dir, "events/chan/enable", "1"));
	ASSERT_EQ(0, write_file(dir, "tracing_on", "1"));

	ASSERT_EQ(0, kc_send_u32(fd, 42, 0));
	memset(&c, 0, sizeof(c));
	c.fd = fd;
	c.op = CHAN_OP_RECV;
	c.buf = (uintptr_t)&v;
	c.len = sizeof(v);
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.cases = (uintptr_t)&c;
	s.ncases = 1;
	s.case_size = sizeof(struct chan_select_case);
	EXPECT_EQ(0, ioctl(fd, CHAN_IOC_SELECT, &s));
	ASSERT_EQ(0, kc_send_u32(fd, 43, 0));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	ASSERT_EQ(0, kc_close(fd));
	close(fd);

	ASSERT_EQ(0, write_file(dir, "events/chan/enable", "0"));
	snprintf(want[0], 64, "chan_send: chan=%llu len=4", id);
	snprintf(want[1], 64, "chan_recv: chan=%llu len=4 ok=1", id);
	snprintf(want[2], 64, "chan_close: chan=%llu len=0 by=close", id);
	snprintf(want[3], 64, "chan_select: ncases=1 index=0 ret=0");
	/* (chan_selset_wait: see tracepoint_selset_wait) */
	snprintf(path, sizeof(path), "%s/trace", dir);
	fp = fopen(path, "r");
	ASSERT_NE(NULL, fp);
	while (fgets(line, sizeof(line), fp))
		for (i = 0; i < 4; i++)
			if (strstr(line, want[i]))
				found[i] = 1;
	fclose(fp);
	for (i = 0; i < 4; i++)
		EXPECT_EQ(1, found[i]) TH_LOG("missing: %s", want[i]);
}

TEST(tracepoint_close_by_last_sender)
{
	const char *dir = tracefs();
	char path[160], line[512], want[80];
	unsigned long long id;
	int fd, r, found = 0;
	FILE *fp;

	if (!dir)
		SKIP(return, "tracefs with events/chan not available");
	fd = kc_create(1, 4);
	ASSERT_GE(fd, 0);
	r = kc_dup(fd, CHAN_RIGHT_RECV);
	ASSERT_GE(r, 0);
	id = kn_id(fd);
	ASSERT_EQ(0, write_file(dir, "trace", ""));
	ASSERT_EQ(0, write_file(dir, "events/chan/chan_close/enable", "1"));
	close(fd);
	ASSERT_EQ(0, write_file(dir, "events/chan/chan_close/enable", "0"));
	snprintf(want, sizeof(want), "chan_close: chan=%llu len=0 by=last-sender",
		 id);
	snprintf(path, sizeof(path), "%s/trace", dir);
	fp = fopen(path, "r");
	ASSERT_NE(NULL, fp);
	while (fgets(line, sizeof(line), fp))
		if (strstr(line, want))
			found = 1;
	fclose(fp);
	EXPECT_EQ(1, found);
	close(r);
}

/* Issue 14: CHAN_IOC_SELSET_WAIT has its tracepoint, as select has. */
TEST(tracepoint_selset_wait)
{
	const char *dir = tracefs();
	char path[160], line[512], want[2][64];
	struct chan_selset_wait w;
	int found[2] = { 0 };
	uint32_t v = 0;
	int fd, set, i;
	FILE *fp;

	if (!dir)
		SKIP(return, "tracefs with events/chan not available");
	fd = kc_create(1, 4);
	set = kc_selset_create(0);
	ASSERT_GE(fd, 0);
	ASSERT_GE(set, 0);
	ASSERT_EQ(0, kc_selset_ctl(set, 1, fd, CHAN_OP_RECV, &v, sizeof(v)));
	ASSERT_EQ(0, write_file(dir, "trace", ""));
	/* On a3445ea's module the event does not exist: this fails. */
	ASSERT_EQ(0, write_file(dir, "events/chan/chan_selset_wait/enable",
				"1"));
	ASSERT_EQ(0, write_file(dir, "tracing_on", "1"));
	EXPECT_EQ(-EAGAIN, kc_selset_wait(set, &w, 0));
	ASSERT_EQ(0, kc_send_u32(fd, 42, 0));
	EXPECT_EQ(1, kc_selset_wait(set, &w, 0));
	ASSERT_EQ(0, write_file(dir, "events/chan/chan_selset_wait/enable",
				"0"));
	snprintf(want[0], 64, "chan_selset_wait: ncases=2 index=-1 ret=%d",
		 -EAGAIN);
	snprintf(want[1], 64, "chan_selset_wait: ncases=2 index=1 ret=1");
	snprintf(path, sizeof(path), "%s/trace", dir);
	fp = fopen(path, "r");
	ASSERT_NE(NULL, fp);
	while (fgets(line, sizeof(line), fp))
		for (i = 0; i < 2; i++)
			if (strstr(line, want[i]))
				found[i] = 1;
	fclose(fp);
	for (i = 0; i < 2; i++)
		EXPECT_EQ(1, found[i]) TH_LOG("missing: %s", want[i]);
	close(set);
	close(fd);
}

/*
 * Left behind on purpose: a named fd-carrying channel holding a memfd and
 * no handle. Module unload (scripts/vm-run unloads chan.ko after every
 * run and fails if it cannot, or if kmemleak/KASAN complain) must drop the
 * name, free the channel and release the memfd.
 */
TEST(left_for_module_exit)
{
	const char *name = kn_name("leftover");
	int fd, m;

	fd = kn_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, CHAN_FDPASS, 2, 4);
	ASSERT_GE(fd, 0);
	m = memfd_create("leftover", MFD_CLOEXEC);
	ASSERT_GE(m, 0);
	{
		struct chan_msg msg;

		kc_msg_init(&msg, "left", 4, 0);
		msg.fd = m;
		EXPECT_EQ(0, ioctl(fd, CHAN_IOC_SEND, &msg));
	}
	close(m);
	close(fd);
}

TEST_HARNESS_MAIN
