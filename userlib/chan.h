/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libchan: Go channels as kernel objects (/dev/chan), from C and C++.
 *
 * A channel is a file descriptor. It survives fork(), can be passed over
 * a unix socket, and closes itself when the last process able to send on
 * it goes away (a named channel: once its name is gone too, unless it was
 * created with CHAN_AUTOCLOSE). Every call returns -1 and sets errno on failure, like the
 * POSIX IPC calls; see chan(7) for the semantics and one man page per call.
 *
 * The library keeps no global state and is thread-safe: every call is one
 * or a few system calls on the descriptors it is given.
 */
#ifndef _LIBCHAN_CHAN_H
#define _LIBCHAN_CHAN_H

/*
 * The kernel's interface: struct chan_info, the CHAN_* flags (CHAN_CLOEXEC
 * and CHAN_NONBLOCK are O_CLOEXEC and O_NONBLOCK, hence <fcntl.h>). Its
 * select case is struct chan_select_case; libchan's is struct chan_case.
 */
#include <linux/chan.h>

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#ifndef __cplusplus
#include <stdbool.h>
#endif

/*
 * A strict ISO C build (-std=c11 without _POSIX_C_SOURCE >= 200809L) gets
 * no O_CLOEXEC from <fcntl.h>; glibc still knows it as __O_CLOEXEC.
 */
#if !defined(O_CLOEXEC) && defined(__O_CLOEXEC)
#define O_CLOEXEC __O_CLOEXEC
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define LIBCHAN_VERSION_MAJOR	1
#define LIBCHAN_VERSION_MINOR	4

/* flags for chan_make() and chan_pipe(): CHAN_CLOEXEC, CHAN_NONBLOCK (and
 * CHAN_FDPASS), from <linux/chan.h>. chan_open()'s oflag takes O_CLOEXEC
 * and O_NONBLOCK like mq_open(); chan_open_flags() adds the creation
 * attributes CHAN_FDPASS and CHAN_AUTOCLOSE. */

/* Channels */
int	chan_make(size_t msg_size, unsigned capacity, int flags);
int	chan_pipe(int fds[2], size_t msg_size, unsigned capacity, int flags);
int	chan_open(const char *name, int oflag, mode_t mode, size_t msg_size,
		  unsigned capacity);
int	chan_unlink(const char *name);
/* chan_open() with creation attributes (since 1.3): flags CHAN_FDPASS,
 * CHAN_AUTOCLOSE, used when O_CREAT creates the channel. */
int	chan_open_flags(const char *name, int oflag, mode_t mode,
			size_t msg_size, unsigned capacity, int flags);

/* One message */
int	chan_send(int ch, const void *msg, size_t len);
int	chan_trysend(int ch, const void *msg, size_t len);
int	chan_send_timeout(int ch, const void *msg, size_t len,
			  int64_t timeout_ns);
ssize_t	chan_recv(int ch, void *buf, size_t size, bool *ok);
ssize_t	chan_tryrecv(int ch, void *buf, size_t size, bool *ok);
ssize_t	chan_recv_timeout(int ch, void *buf, size_t size, bool *ok,
			  int64_t timeout_ns);

/* Go's close(), and a look inside */
int	chan_close(int ch);
int	chan_len(int ch);
int	chan_cap(int ch);
int	chan_info(int ch, struct chan_info *info);

/* Handles and descriptors (since 1.1) */

/* A new descriptor for the channel with the same or fewer rights
 * (CHAN_RIGHT_SEND, CHAN_RIGHT_RECV); flags: CHAN_CLOEXEC, CHAN_NONBLOCK. */
int	chan_dup(int ch, unsigned rights, int flags);
/* On a CHAN_FDPASS channel: send fd along with the message (-1: none). */
int	chan_send_fd(int ch, const void *msg, size_t len, int fd,
		     int64_t timeout_ns);
/* ... and receive it: *fd is the new descriptor or -1; flags: CHAN_CLOEXEC
 * sets FD_CLOEXEC on it. */
ssize_t	chan_recv_fd(int ch, void *buf, size_t size, bool *ok, int *fd,
		     int flags, int64_t timeout_ns);

/* select */
enum { CHAN_SEND = 1, CHAN_RECV = 2 };

struct chan_case {
	int	ch;	/* channel fd, or -1: a nil channel that never fires */
	int	op;	/* CHAN_SEND or CHAN_RECV */
	void	*buf;	/* message to send / buffer to receive into */
	size_t	len;	/* send: message length; recv: in buffer size, out message length */
	bool	ok;	/* out: true a message moved, false the channel is closed */
};

int	chan_select(struct chan_case *cases, size_t n, int64_t timeout_ns);

/* Select sets (since 1.2): cases registered once, then waited on many
 * times; a wait is chan_select() over the set's cases. */

/* A new, empty set; flags: CHAN_CLOEXEC. Returns its descriptor. */
int	chan_selset_make(int flags);
/* Make case index a send or recv (c->ch, c->op, c->buf, c->len; c->ok is
 * not used), or a nil case when c is NULL or c->ch is -1. The set holds
 * its own reference to the channel, as dup() would. */
int	chan_selset_set(int set, unsigned index, const struct chan_case *c);
/* Wait until one case fires; returns its index. *len: the length moved
 * (0 when *ok is false); *ok: false when the channel is closed. Either
 * may be NULL. */
int	chan_selset_wait(int set, int64_t timeout_ns, size_t *len, bool *ok);

/* Batches */
struct chan_buf {
	void	*buf;
	size_t	len;	/* send: message length; recv: in buffer size, out message length */
};

ssize_t	chan_send_batch(int ch, const struct chan_buf *msgs, size_t n,
			int64_t timeout_ns);
ssize_t	chan_recv_batch(int ch, struct chan_buf *msgs, size_t n,
			int64_t timeout_ns);

/* Timers (since 1.4): recv-only channels of struct chan_tick whose sender
 * is the clock; flags CHAN_CLOEXEC, CHAN_NONBLOCK. chan_after(): one tick
 * after ns (<= 0: at once), then closed. chan_ticker(): a tick every
 * period_ns (> 0); a slow receiver gets no backlog, the next tick counts
 * the dropped ones in missed. chan_timer(): clock CLOCK_MONOTONIC or
 * CLOCK_BOOTTIME, value_ns relative (or absolute with CHAN_TIMER_ABSTIME),
 * interval_ns 0 for a one-shot. Reset and stop discard an unread tick and
 * return 1 when the timer was running, else 0. */
int	chan_after(int64_t ns, int flags);
int	chan_ticker(int64_t period_ns, int flags);
int	chan_timer(clockid_t clock, int64_t value_ns, int64_t interval_ns,
		   int flags);
int	chan_timer_reset(int timer, int64_t value_ns, int64_t interval_ns,
			 int flags);
int	chan_timer_stop(int timer);

/* Send then receive in one system call (since 1.4): msg/len on send_ch,
 * then a message into buf/size from recv_ch, one timeout for both. Returns
 * the received length (0 with *ok false: recv_ch closed and drained), or
 * -1/errno. *sent (may be NULL) is true once the message went in, on
 * failure too: then only the receive is pending (EINTR, ETIMEDOUT, ...). */
ssize_t	chan_call(int send_ch, const void *msg, size_t len, int recv_ch,
		  void *buf, size_t size, bool *ok, bool *sent,
		  int64_t timeout_ns);

#ifdef __cplusplus
}
#endif

#endif /* _LIBCHAN_CHAN_H */
