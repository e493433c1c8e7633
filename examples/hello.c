// SPDX-License-Identifier: LGPL-2.1-or-later
/* The README's first program: cc hello.c $(pkg-config --cflags --libs libchan) */
#include <chan.h>
#include <errno.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	int fds[2];			/* [0] receive, [1] send */
	long v;
	bool ok;
	ssize_t n;

	/* Unbuffered: each send waits for its receive. */
	if (chan_pipe(fds, sizeof(long), 0, CHAN_CLOEXEC) < 0) {
		int err = errno;

		perror("chan_pipe");
		if (err == ENOENT)
			fprintf(stderr, "no /dev/chan: is the module loaded? modprobe chan\n");
		return 1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		close(fds[0]);
		for (v = 1; v <= 3; v++)
			if (chan_send(fds[1], &v, sizeof(v)) < 0) {
				perror("chan_send");
				_exit(1);
			}
		_exit(0);		/* last sender gone: the channel closes */
	}
	close(fds[1]);
	while ((n = chan_recv(fds[0], &v, sizeof(v), &ok)) >= 0 && ok)
		printf("got %ld\n", v);
	if (n < 0) {
		perror("chan_recv");
		return 1;
	}
	int st;
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return 1;
	return 0;
}
