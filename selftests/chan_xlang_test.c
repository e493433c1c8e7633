// SPDX-License-Identifier: GPL-2.0
/*
 * One named channel, three languages, in one run: a Go producer (the Go
 * binding's test binary, TestCrossLangProducer) sends 0..N-1 and closes
 * the channel; a Python consumer (the kchan package, iterating until
 * closed) and a C select loop in this process drain it side by side.
 * Every value must arrive exactly once across the two, both must take a
 * share, and both must see the close. Skips when the Go test binary or
 * the Python package is not there (make builds both).
 */
#include <libgen.h>
#include <limits.h>
#include <sys/wait.h>

#include "kchan_test.h"

#define XL_COUNT	3000

static void tree_dir(char *dir, size_t size)
{
	char exe[PATH_MAX - 8];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	exe[n > 0 ? n : 0] = '\0';
	snprintf(dir, size, "%s/..", dirname(exe));
}

TEST(go_producer_python_consumer_c_select)
{
	static const char *py =
		"import sys, kchan\n"
		"ch = kchan.Channel.open(sys.argv[1], 'r', fmt='<Q')\n"
		"with open(sys.argv[2], 'w') as f:\n"
		"    for v in ch:\n"
		"        f.write('%d\\n' % v)\n";
	char top[PATH_MAX], gobin[PATH_MAX + 64], pypath[PATH_MAX + 64];
	char name[64], out[128], count[16], uapi[PATH_MAX + 128];
	struct chan_select_case c[2];
	int dev = kc_devfd(), ch, idle, st, i, n_c = 0, n_py = 0, dup = 0;
	static unsigned char seen[XL_COUNT];
	pid_t go, pyp;
	uint64_t v;
	FILE *f;

	tree_dir(top, sizeof(top));
	snprintf(gobin, sizeof(gobin), "%s/bindings/go/kchan.test", top);
	snprintf(pypath, sizeof(pypath), "%s/bindings/python", top);
	if (access(gobin, X_OK))
		SKIP(return, "no bindings/go/kchan.test (make builds it when Go is installed)");
	snprintf(uapi, sizeof(uapi), "%s/kchan/_uapi.py", pypath);
	if (access(uapi, R_OK))
		SKIP(return, "no bindings/python/kchan/_uapi.py (make generates it)");

	snprintf(name, sizeof(name), "xlang-%d", getpid());
	snprintf(out, sizeof(out), "/tmp/xlang-%d.txt", getpid());
	snprintf(count, sizeof(count), "%d", XL_COUNT);
	ch = kc_name_open(dev, name, O_CREAT | O_EXCL | O_RDONLY, 0600, 0, 16, 8);
	ASSERT_LE(0, ch);
	idle = kc_create(0, 8);	/* a second case that never fires */
	ASSERT_LE(0, idle);

	pyp = kc_fork();
	ASSERT_LE(0, pyp);
	if (pyp == 0) {
		setenv("PYTHONPATH", pypath, 1);
		/* Debian's python3, whatever PATH says (as python_test.sh) */
		if (!access("/usr/bin/python3", X_OK))
			execl("/usr/bin/python3", "python3", "-c", py, name, out, (char *)NULL);
		execlp("python3", "python3", "-c", py, name, out, (char *)NULL);
		_exit(127);
	}
	/* the Python consumer is parked in its receive before Go starts */
	ASSERT_EQ(0, KC_WAIT(ch, recv_waiters, 1));
	go = kc_fork();
	ASSERT_LE(0, go);
	if (go == 0) {
		setenv("KCHAN_XLANG_NAME", name, 1);
		setenv("KCHAN_XLANG_COUNT", count, 1);
		execl(gobin, gobin, "-test.run", "^TestCrossLangProducer$", (char *)NULL);
		_exit(127);
	}

	for (;;) {
		int r;

		memset(c, 0, sizeof(c));
		c[0].fd = ch;
		c[0].op = CHAN_OP_RECV;
		c[0].buf = (uintptr_t)&v;
		c[0].len = sizeof(v);
		c[1].fd = idle;
		c[1].op = CHAN_OP_RECV;
		c[1].buf = (uintptr_t)&v;
		c[1].len = sizeof(v);
		r = kc_select_on(dev, c, 2, 60000000000LL);
		ASSERT_EQ(0, r) TH_LOG("select: %d after %d values", r, n_c);
		if (!c[0].ok)
			break;
		ASSERT_EQ(sizeof(v), c[0].len);
		ASSERT_GT(XL_COUNT, v);
		dup += seen[v]++;
		n_c++;
	}
	ASSERT_EQ(go, waitpid(go, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("the Go producer: status %#x", st);
	ASSERT_EQ(pyp, waitpid(pyp, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("the Python consumer: status %#x", st);
	f = fopen(out, "r");
	ASSERT_NE(NULL, f);
	while (fscanf(f, "%d", &i) == 1) {
		ASSERT_LE(0, i);
		ASSERT_GT(XL_COUNT, i);
		dup += seen[i]++;
		n_py++;
	}
	fclose(f);
	unlink(out);
	EXPECT_EQ(0, dup);
	for (i = 0; i < XL_COUNT; i++)
		EXPECT_EQ(1, seen[i]) TH_LOG("value %d arrived %d times", i, seen[i]);
	EXPECT_EQ(XL_COUNT, n_c + n_py);
	EXPECT_LT(0, n_c);
	EXPECT_LT(0, n_py);
	TH_LOG("%d values: the C select took %d, the Python consumer %d", XL_COUNT, n_c, n_py);
	EXPECT_EQ(0, kc_name_unlink(dev, name));
	close(idle);
	close(ch);
}

TEST_HARNESS_MAIN
