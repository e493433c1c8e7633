// SPDX-License-Identifier: GPL-2.0
/*
 * libchan_prog.c: the program install_test.sh and deb_test.sh build with
 * `cc libchan_prog.c $(pkg-config --cflags --libs libchan)` against an
 * installed libchan. It prints "received 100 values, sum 5050".
 *
 * Unbuffered: every value is a rendezvous between the two processes. The
 * child's exit closes the channel (last sender gone), which ends the loop.
 */
#define _POSIX_C_SOURCE 200809L
#include <chan.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	int fds[2], st;
	long v, sum = 0, n = 0;
	bool ok;
	pid_t pid;

	if (chan_pipe(fds, sizeof(long), 0, CHAN_CLOEXEC) < 0) {
		perror("chan_pipe");
		return 1;
	}
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		close(fds[0]);
		for (v = 1; v <= 100; v++)
			if (chan_send(fds[1], &v, sizeof(v)) < 0)
				_exit(1);
		_exit(0);
	}
	close(fds[1]);
	while (chan_recv(fds[0], &v, sizeof(v), &ok) == sizeof(v) && ok) {
		sum += v;
		n++;
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		return 1;
	printf("received %ld values, sum %ld\n", n, sum);
	return !(n == 100 && sum == 5050);
}
