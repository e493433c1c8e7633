/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kchan: Go channels as a kernel object, reached through /dev/chan.
 *
 * This is the only header shared by the module and userspace. It depends
 * on nothing but <linux/types.h> and <linux/ioctl.h> and compiles as C and
 * C++.
 *
 * Every struct passed by pointer starts with its own size (in bytes), the
 * way clone3() and openat2() do: a smaller size than the first published
 * version fails EINVAL, a larger one is accepted when the bytes the kernel
 * does not know are zero (E2BIG otherwise). Unknown flags and non-zero
 * reserved fields fail EINVAL. User pointers travel as __u64.
 *
 * Timeouts are relative nanoseconds: < 0 waits forever, 0 never waits,
 * > 0 waits at most that long (ETIMEDOUT). An O_NONBLOCK handle never
 * waits whatever the timeout says. When a timed wait is interrupted by a
 * signal whose handler has SA_RESTART, the kernel writes the time left back
 * into timeout_ns before restarting, so the deadline does not move.
 */
#ifndef _UAPI_LINUX_CHAN_H
#define _UAPI_LINUX_CHAN_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define CHAN_DEVICE		"/dev/chan"
#define CHAN_IOC_MAGIC		0xC7

/* Longest channel name, not counting the terminating NUL. */
#define CHAN_NAME_MAX		255

/* chan_create.flags, chan_open.flags, chan_dup.flags */
#define CHAN_CLOEXEC		(1U << 0)	/* new fd gets FD_CLOEXEC */
#define CHAN_NONBLOCK		(1U << 1)	/* new fd gets O_NONBLOCK */
#define CHAN_FDPASS		(1U << 2)	/* create: messages may carry an fd */

/* Rights of a handle (chan_dup.rights, chan_info.rights). */
#define CHAN_RIGHT_SEND		(1U << 0)
#define CHAN_RIGHT_RECV		(1U << 1)
#define CHAN_RIGHT_BOTH		(CHAN_RIGHT_SEND | CHAN_RIGHT_RECV)

/*
 * CHAN_IOC_CREATE on /dev/chan: returns a new bidirectional channel fd.
 * capacity 0 is an unbuffered (rendezvous) channel. msg_size 0 carries
 * empty messages (pure events). name 0 creates an anonymous channel.
 */
struct chan_create {
	__u32 size;		/* sizeof(struct chan_create) */
	__u32 flags;		/* CHAN_CLOEXEC | CHAN_NONBLOCK | CHAN_FDPASS */
	__u32 capacity;		/* buffered messages, 0 = unbuffered */
	__u32 msg_size;		/* largest message in bytes */
	__aligned_u64 name;	/* const char *, NUL-terminated, or 0 */
	__u32 mode;		/* permission bits of a named channel */
	__u32 reserved;		/* must be 0 */
};
#define CHAN_CREATE_SIZE_VER0	32

/*
 * CHAN_IOC_OPEN on /dev/chan: open (or with O_CREAT create) a named
 * channel. oflag is O_RDONLY (recv-only handle), O_WRONLY (send-only) or
 * O_RDWR, or'ed with O_CREAT, O_EXCL, O_CLOEXEC, O_NONBLOCK.
 */
struct chan_open {
	__u32 size;		/* sizeof(struct chan_open) */
	__u32 oflag;		/* O_* flags as for open(2) */
	__aligned_u64 name;	/* const char *, NUL-terminated */
	__u32 mode;		/* permission bits when created */
	__u32 flags;		/* CHAN_FDPASS when created */
	__u32 capacity;		/* when created */
	__u32 msg_size;		/* when created */
};
#define CHAN_OPEN_SIZE_VER0	32

/* CHAN_IOC_UNLINK on /dev/chan: remove a name; open handles live on. */
struct chan_unlink {
	__u32 size;		/* sizeof(struct chan_unlink) */
	__u32 reserved;		/* must be 0 */
	__aligned_u64 name;	/* const char *, NUL-terminated */
};
#define CHAN_UNLINK_SIZE_VER0	16

/* chan_msg.flags */
#define CHAN_MSG_FD_CLOEXEC	(1U << 0)	/* recv: installed fd gets FD_CLOEXEC */

/*
 * CHAN_IOC_SEND / CHAN_IOC_RECV on a channel fd: move one message.
 * send: buf/len is the message; fd is a descriptor to pass along with it
 *       (channels created with CHAN_FDPASS only) or -1.
 * recv: buf/len is the buffer; on return len is the message length, ok is
 *       1 for a message and 0 when the channel is closed and drained, fd is
 *       the installed descriptor that came with the message or -1.
 */
struct chan_msg {
	__u32 size;		/* sizeof(struct chan_msg) */
	__u32 flags;		/* CHAN_MSG_* */
	__aligned_u64 buf;	/* void * */
	__u64 len;		/* in: message/buffer length; out (recv): message length */
	__s64 timeout_ns;	/* < 0 forever, 0 never wait, > 0 relative */
	__s32 fd;		/* send: fd to pass or -1; out (recv): fd or -1 */
	__u32 ok;		/* out (recv): 1 message, 0 closed and drained */
};
#define CHAN_MSG_SIZE_VER0	40

/* CHAN_IOC_INFO on a channel fd: a snapshot of the channel. */
struct chan_info {
	__u32 size;		/* in: sizeof(struct chan_info); out: bytes filled */
	__u32 flags;		/* creation flags: CHAN_FDPASS */
	__u32 capacity;
	__u32 msg_size;
	__u32 len;		/* messages buffered now */
	__u32 closed;		/* 1 once closed */
	__u32 send_waiters;	/* blocked senders (select send cases included) */
	__u32 recv_waiters;	/* blocked receivers (select recv cases included) */
	__u32 send_handles;	/* open send-capable handles */
	__u32 recv_handles;	/* open recv-capable handles */
	__u32 rights;		/* this handle's CHAN_RIGHT_* */
	__u32 reserved;		/* 0 */
	__u64 id;		/* unique for the life of the module */
	__u64 sent;		/* messages accepted from senders */
	__u64 received;		/* messages handed to receivers */
};
#define CHAN_INFO_SIZE_VER0	72

/* CHAN_IOC_DUP on a channel fd: a new fd with the same or fewer rights. */
struct chan_dup {
	__u32 size;		/* sizeof(struct chan_dup) */
	__u32 rights;		/* CHAN_RIGHT_SEND and/or CHAN_RIGHT_RECV */
	__u32 flags;		/* CHAN_CLOEXEC | CHAN_NONBLOCK */
	__u32 reserved;		/* must be 0 */
};
#define CHAN_DUP_SIZE_VER0	16

/* chan_case.op */
#define CHAN_OP_SEND		1
#define CHAN_OP_RECV		2

/*
 * One case of a select. fd -1 is a nil channel that never fires. For a
 * recv case len is the buffer size in and the message length out; ok is
 * 1 when a message moved and 0 when the case fired because the channel is
 * closed (a send case then sent nothing).
 *
 * libchan's <chan.h> defines its own C-typed struct chan_case (Go-like, see
 * DESIGN); it includes this header with CHAN_LIBCHAN_SOURCE defined, and
 * this one is then called struct chan_ioc_case.
 */
#ifndef CHAN_LIBCHAN_SOURCE
#define chan_ioc_case chan_case
#endif
struct chan_ioc_case {
	__s32 fd;		/* channel fd, or -1 for a nil case */
	__u32 op;		/* CHAN_OP_SEND or CHAN_OP_RECV */
	__aligned_u64 buf;	/* void * */
	__u64 len;		/* in: bytes to send / buffer size; out: length */
	__u32 ok;		/* out */
	__u32 reserved;		/* must be 0 */
};

/*
 * CHAN_IOC_SELECT on /dev/chan or any channel fd: wait until exactly one
 * case completes; returns (and stores in index) the index of that case.
 * timeout 0 is Go's default: EAGAIN when no case is ready.
 */
struct chan_select {
	__u32 size;		/* sizeof(struct chan_select) */
	__u32 flags;		/* must be 0 */
	__aligned_u64 cases;	/* struct chan_case * */
	__u32 ncases;
	__s32 index;		/* out: the case that fired */
	__s64 timeout_ns;
};
#define CHAN_SELECT_SIZE_VER0	32

/*
 * Select sets: a select whose cases are registered once, as with an epoll
 * set, so that a wait with a case ready costs a short scan of the
 * registered channels instead of reading, looking up and checking every
 * case again. A wait has CHAN_IOC_SELECT's semantics over the set's cases.
 *
 * CHAN_IOC_SELSET_CREATE on /dev/chan: returns the new set's fd. The set
 * starts with no cases; closing the fd frees it.
 */
struct chan_selset_create {
	__u32 size;		/* sizeof(struct chan_selset_create) */
	__u32 flags;		/* CHAN_CLOEXEC */
};
#define CHAN_SELSET_CREATE_SIZE_VER0	8

/*
 * CHAN_IOC_SELSET_CTL on a select set fd: make case @index a send or recv
 * on channel fd @fd with the message at / the buffer at @buf, or with fd
 * -1 a nil case (one that never fires). The set's cases are 0 up to its
 * highest non-nil index. A case holds its own reference to the channel
 * handle @fd names, as dup() would: closing @fd does not close the
 * channel while the case holds a send handle; a nil case or closing the
 * set lets it go. The buffers are used at wait time.
 */
struct chan_selset_ctl {
	__u32 size;		/* sizeof(struct chan_selset_ctl) */
	__u32 index;		/* case number, below max_select_cases */
	__s32 fd;		/* channel fd, or -1: a nil case */
	__u32 op;		/* CHAN_OP_SEND or CHAN_OP_RECV */
	__aligned_u64 buf;	/* void *: message to send / buffer to fill */
	__u64 len;		/* send: message length; recv: buffer size */
	__u32 flags;		/* must be 0 */
	__u32 reserved;		/* must be 0 */
};
#define CHAN_SELSET_CTL_SIZE_VER0	40

/*
 * CHAN_IOC_SELSET_WAIT on a select set fd: wait until exactly one of the
 * set's cases completes; returns (and stores in index) its index, with ok
 * and, for a recv case, the message length (on EMSGSIZE the size the
 * message needs) in len. timeout_ns as for CHAN_IOC_SELECT.
 */
struct chan_selset_wait {
	__u32 size;		/* sizeof(struct chan_selset_wait) */
	__u32 flags;		/* must be 0 */
	__s64 timeout_ns;	/* written back when a signal restarts the wait */
	__s32 index;		/* out: the case that fired, -1 if none */
	__u32 ok;		/* out: 1 a message moved, 0 the channel is closed */
	__u64 len;		/* out: recv: the message length */
};
#define CHAN_SELSET_WAIT_SIZE_VER0	32

/* One message of a batch. */
struct chan_iovec {
	__aligned_u64 buf;	/* void * */
	__u64 len;		/* in: message/buffer length; out (recv): length */
};

/*
 * CHAN_IOC_SEND_BATCH / CHAN_IOC_RECV_BATCH on a channel fd: move up to n
 * messages in order; blocks (within timeout_ns) only until the first one
 * moves, then takes what moves without waiting. Returns the number moved;
 * a recv batch returns 0 when the channel is closed and drained.
 */
struct chan_batch {
	__u32 size;		/* sizeof(struct chan_batch) */
	__u32 flags;		/* must be 0 */
	__aligned_u64 msgs;	/* struct chan_iovec * */
	__u32 n;
	__u32 reserved;		/* must be 0 */
	__s64 timeout_ns;
};
#define CHAN_BATCH_SIZE_VER0	32

#define CHAN_IOC_CREATE		_IOW(CHAN_IOC_MAGIC, 0x01, struct chan_create)
#define CHAN_IOC_OPEN		_IOW(CHAN_IOC_MAGIC, 0x02, struct chan_open)
#define CHAN_IOC_UNLINK		_IOW(CHAN_IOC_MAGIC, 0x03, struct chan_unlink)
#define CHAN_IOC_SEND		_IOWR(CHAN_IOC_MAGIC, 0x10, struct chan_msg)
#define CHAN_IOC_RECV		_IOWR(CHAN_IOC_MAGIC, 0x11, struct chan_msg)
#define CHAN_IOC_CLOSE		_IO(CHAN_IOC_MAGIC, 0x12)
#define CHAN_IOC_INFO		_IOWR(CHAN_IOC_MAGIC, 0x13, struct chan_info)
#define CHAN_IOC_DUP		_IOW(CHAN_IOC_MAGIC, 0x14, struct chan_dup)
#define CHAN_IOC_SELECT		_IOWR(CHAN_IOC_MAGIC, 0x20, struct chan_select)
#define CHAN_IOC_SELSET_CREATE	_IOW(CHAN_IOC_MAGIC, 0x21, struct chan_selset_create)
#define CHAN_IOC_SELSET_CTL	_IOW(CHAN_IOC_MAGIC, 0x22, struct chan_selset_ctl)
#define CHAN_IOC_SELSET_WAIT	_IOWR(CHAN_IOC_MAGIC, 0x23, struct chan_selset_wait)
#define CHAN_IOC_SEND_BATCH	_IOWR(CHAN_IOC_MAGIC, 0x30, struct chan_batch)
#define CHAN_IOC_RECV_BATCH	_IOWR(CHAN_IOC_MAGIC, 0x31, struct chan_batch)

#endif /* _UAPI_LINUX_CHAN_H */
