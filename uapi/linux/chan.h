/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kchan: Go channels as a kernel object, reached through /dev/chan.
 *
 * This is the only header shared by the module and userspace. It depends
 * on nothing but <linux/types.h> and <linux/ioctl.h> and compiles as C and
 * C++. CHAN_CLOEXEC and CHAN_NONBLOCK are O_CLOEXEC and O_NONBLOCK, whose
 * values differ between architectures: using them needs <fcntl.h> (or the
 * kernel's <linux/fcntl.h>), as EFD_CLOEXEC and TFD_CLOEXEC do.
 *
 * A channel is a file descriptor with Go's semantics: capacity 0 is an
 * unbuffered (rendezvous) channel, a buffered one is a FIFO of up to
 * capacity messages of 0..msg_size bytes each. A message is never split or
 * merged. Waiters are served FIFO; a send hands its message straight to a
 * parked receiver. Closing (Go's close()) lets receivers drain what is
 * buffered and then report closed; senders then fail EPIPE.
 *
 * Handles. A channel fd has send and/or recv rights (CHAN_RIGHT_*), kept in
 * its open file description: fork(), dup() and SCM_RIGHTS share a handle,
 * CHAN_IOC_DUP and CHAN_IOC_OPEN make new ones. An operation the handle
 * has no right for fails EBADF. Crash safety: when the last send-capable
 * handle of an anonymous channel goes away the channel is closed, and when
 * the last recv-capable handle goes away senders fail EPIPE, so a process
 * that dies never leaves its peers blocked. A named channel is held open by
 * its name (see CHAN_IOC_OPEN) unless it was created with CHAN_AUTOCLOSE.
 *
 * read(2)/write(2) on a channel fd receive/send one message, and so do
 * readv/writev, preadv2/pwritev2 (offset -1; RWF_NOWAIT is honoured) and
 * io_uring's READ, WRITE, READV and WRITEV: one message per call,
 * scattered/gathered across the buffers. read() returns the message's
 * length, 0 once the channel is closed and drained (or for an empty
 * message), EMSGSIZE when the buffers are shorter than the message (which
 * stays); write() of more than msg_size bytes fails EMSGSIZE. A channel fd
 * has no file position: lseek, pread and pwrite fail ESPIPE. poll/epoll:
 * EPOLLIN when a recv would not block (a message buffered, a sender
 * parked, or closed), EPOLLHUP once closed and drained; EPOLLOUT when a
 * send would not block (a free slot or a parked receiver), with EPOLLERR
 * once a send would fail (closed, or no recv-capable handle left). Bits are
 * reported only for the handle's rights.
 *
 * Ioctls. The kernel matches a command's type (CHAN_IOC_MAGIC) and number
 * only: the size and direction encoded in the command are ignored, so a
 * program built with a newer, larger struct keeps working. Every struct
 * passed by pointer starts with its own size in bytes, as clone3() and
 * openat2() structs do, and is read with copy_struct_from_user() rules:
 *   size < the struct's _SIZE_VER0                        EINVAL
 *   size larger than the kernel's struct, extra bytes not zero (or size
 *   larger than a page)                                   E2BIG
 *   an unknown flag, a non-zero reserved field            EINVAL
 *   an unreadable (or, for results, unwritable) pointer   EFAULT, nothing moved
 *   an unknown command, or one for the other kind of fd   ENOTTY
 * A smaller struct from an older program is zero-extended. User pointers
 * travel as __u64.
 *
 * Timeouts are relative nanoseconds: < 0 waits forever, 0 never waits
 * (EAGAIN instead of blocking), > 0 waits at most that long (ETIMEDOUT,
 * nothing moved). An O_NONBLOCK channel handle never waits whatever the
 * timeout says. A wait interrupted by a signal fails EINTR with nothing
 * moved unless the handler has SA_RESTART: then the call restarts, and a
 * timed one finds the time left written back into its timeout_ns, so the
 * deadline does not move. A message moves exactly once or not at all.
 *
 * Errors common to the operations on a channel fd:
 *   EBADF      the handle lacks the right (send, recv, close)
 *   EPIPE      send: closed, or no recv-capable handle left
 *   EMSGSIZE   send: longer than msg_size; recv: the buffer is shorter
 *              than the next message (it stays; len says how long it is)
 *   EAGAIN     would block, and the timeout is 0 or the handle O_NONBLOCK
 *   ETIMEDOUT  the timeout expired
 *   EINTR      a signal whose handler has no SA_RESTART
 *   ENOMEM     a kernel staging buffer could not be allocated (memory
 *              cgroup limit)
 */
#ifndef _UAPI_LINUX_CHAN_H
#define _UAPI_LINUX_CHAN_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define CHAN_DEVICE		"/dev/chan"
#define CHAN_IOC_MAGIC		0xC7

/* Longest channel name, not counting the terminating NUL. */
#define CHAN_NAME_MAX		255

/*
 * Flags of a new descriptor: chan_create.flags, chan_dup.flags,
 * chan_selset_create.flags (CHAN_CLOEXEC only). Named opens take
 * O_CLOEXEC and O_NONBLOCK in chan_open.oflag instead.
 */
#define CHAN_CLOEXEC		O_CLOEXEC	/* the new fd gets FD_CLOEXEC */
#define CHAN_NONBLOCK		O_NONBLOCK	/* the new fd gets O_NONBLOCK */

/*
 * Creation attributes: chan_create.flags, chan_open.flags (when it
 * creates); reported in chan_info.flags. Their bits are free of O_CLOEXEC
 * and O_NONBLOCK on every architecture.
 */
#define CHAN_FDPASS		(1U << 0)	/* messages may carry an fd */
#define CHAN_AUTOCLOSE		(1U << 1)	/* named: closed when the last
						 * send-capable handle goes away
						 */

/* Rights of a handle (chan_dup.rights, chan_info.rights). */
#define CHAN_RIGHT_SEND		(1U << 0)
#define CHAN_RIGHT_RECV		(1U << 1)
#define CHAN_RIGHT_BOTH		(CHAN_RIGHT_SEND | CHAN_RIGHT_RECV)

/*
 * CHAN_IOC_CREATE on /dev/chan: returns a new bidirectional channel fd.
 * capacity 0 is an unbuffered (rendezvous) channel; msg_size 0 carries
 * empty messages (pure events). With name != 0 it is CHAN_IOC_OPEN with
 * O_CREAT | O_EXCL | O_RDWR: a named channel, mode its permission bits.
 *
 * Errors: EINVAL (flags other than CHAN_CLOEXEC, CHAN_NONBLOCK,
 * CHAN_FDPASS, CHAN_AUTOCLOSE; mode or CHAN_AUTOCLOSE without a name; mode
 * bits outside 0777; capacity over the max_capacity module parameter, or
 * capacity * msg_size over max_chan_bytes), EMSGSIZE (msg_size over
 * max_msg_size), EMFILE (the creator's user has max_user_channels
 * channels), ENOSPC (its channels' buffers would pass max_user_bytes),
 * ENOMEM; with a name as CHAN_IOC_OPEN.
 */
struct chan_create {
	__u32 size;		/* sizeof(struct chan_create) */
	__u32 flags;		/* CHAN_CLOEXEC, CHAN_NONBLOCK, CHAN_FDPASS,
				 * CHAN_AUTOCLOSE
				 */
	__u32 capacity;		/* buffered messages, 0 = unbuffered */
	__u32 msg_size;		/* largest message in bytes */
	__aligned_u64 name;	/* const char *, NUL-terminated, or 0 */
	__u32 mode;		/* permission bits of a named channel */
	__u32 reserved;		/* must be 0 */
};
#define CHAN_CREATE_SIZE_VER0	32

/*
 * CHAN_IOC_OPEN on /dev/chan: open, or with O_CREAT create, a named
 * channel, like mq_open(). Names live per IPC namespace; 1..CHAN_NAME_MAX
 * bytes, no '/'. oflag's access mode gives the handle's rights: O_RDONLY
 * recv-only, O_WRONLY send-only, O_RDWR both. A new channel gets capacity,
 * msg_size, the attributes in flags and the permission bits mode & ~umask,
 * owned by the caller's fsuid/fsgid; opening an existing one ignores them
 * and checks the permission bits as for a file (recv needs r, send w).
 *
 * The name holds the channel open: a named channel closes only by
 * CHAN_IOC_CLOSE, however many handles come and go, or once the name is
 * unlinked and its last send-capable handle goes away. With CHAN_AUTOCLOSE
 * at creation it closes like an anonymous channel when its last
 * send-capable handle goes away, name or not. Either way a closed channel
 * stays closed, as in Go: unlink and create again to start over.
 *
 * Errors: EINVAL (oflag bits other than the access mode, O_CREAT, O_EXCL,
 * O_CLOEXEC, O_NONBLOCK; access mode 3; flags other than CHAN_FDPASS and
 * CHAN_AUTOCLOSE; mode bits outside 0777; an empty name, one longer than
 * CHAN_NAME_MAX or with a '/'; with O_CREAT, limits as CHAN_IOC_CREATE),
 * EMSGSIZE (with O_CREAT, msg_size over max_msg_size), ENOENT (no such name
 * and no O_CREAT), EEXIST (O_CREAT | O_EXCL and the name exists), EACCES
 * (permission), EMFILE, ENOSPC, ENOMEM as for CHAN_IOC_CREATE.
 */
struct chan_open {
	__u32 size;		/* sizeof(struct chan_open) */
	__u32 oflag;		/* O_RDONLY/O_WRONLY/O_RDWR | O_CREAT, O_EXCL,
				 * O_CLOEXEC, O_NONBLOCK
				 */
	__aligned_u64 name;	/* const char *, NUL-terminated */
	__u32 mode;		/* permission bits when created */
	__u32 flags;		/* CHAN_FDPASS, CHAN_AUTOCLOSE when created */
	__u32 capacity;		/* when created */
	__u32 msg_size;		/* when created */
};
#define CHAN_OPEN_SIZE_VER0	32

/*
 * CHAN_IOC_UNLINK on /dev/chan: remove a name; open handles live on, and
 * the name is free for a new channel at once. A channel the name held
 * open with no send-capable handle left is closed. Errors: EINVAL (a bad
 * name, reserved != 0), ENOENT, EACCES (neither the owner nor CAP_FOWNER).
 */
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
 *       (channels created with CHAN_FDPASS only) or -1. The message holds
 *       its own reference to the file, as SCM_RIGHTS does.
 * recv: buf/len is the buffer; on return len is the message length (on
 *       EMSGSIZE the length the message needs), ok is 1 for a message and
 *       0 when the channel is closed and drained, fd is the descriptor
 *       that came with the message, installed in the caller, or -1.
 *
 * Errors, besides the common ones: send: EINVAL (fd != -1 without
 * CHAN_FDPASS; an fd that may not travel: a CHAN_FDPASS channel, an
 * AF_UNIX socket, an io_uring or a select set), EBADF (fd is not open),
 * ETOOMANYREFS (past RLIMIT_NOFILE descriptors in flight opened by that
 * file's user); recv: EMFILE (no free fd for the passed descriptor,
 * nothing taken).
 */
struct chan_msg {
	__u32 size;		/* sizeof(struct chan_msg) */
	__u32 flags;		/* CHAN_MSG_FD_CLOEXEC */
	__aligned_u64 buf;	/* void * */
	__u64 len;		/* in: message/buffer length; out (recv): length */
	__s64 timeout_ns;	/* < 0 forever, 0 never wait, > 0 relative */
	__s32 fd;		/* send: fd to pass or -1; out (recv): fd or -1 */
	__u32 ok;		/* out (recv): 1 message, 0 closed and drained */
};
#define CHAN_MSG_SIZE_VER0	40

/*
 * CHAN_IOC_CLOSE on a channel fd (no argument): Go's close(). Errors:
 * EBADF (a recv-only handle), EALREADY (closed already).
 */

/*
 * CHAN_IOC_INFO on a channel fd: a snapshot of the channel. In: size (the
 * usual size rules); out: size is the number of bytes filled, the smaller
 * of the caller's and the kernel's struct.
 */
struct chan_info {
	__u32 size;		/* in: sizeof(struct chan_info); out: bytes filled */
	__u32 flags;		/* creation attributes: CHAN_FDPASS, CHAN_AUTOCLOSE */
	__u32 capacity;
	__u32 msg_size;
	__u32 len;		/* messages buffered now */
	__u32 closed;		/* 1 once closed */
	__u32 send_waiters;	/* blocked senders (select send cases included) */
	__u32 recv_waiters;	/* blocked receivers (select recv cases included) */
	__u32 send_handles;	/* open send-capable handles (a name is none) */
	__u32 recv_handles;	/* open recv-capable handles */
	__u32 rights;		/* this handle's CHAN_RIGHT_* */
	__u32 reserved;		/* 0 */
	__u64 id;		/* unique for the life of the module */
	__u64 sent;		/* messages accepted from senders */
	__u64 received;		/* messages handed to receivers */
};
#define CHAN_INFO_SIZE_VER0	72

/*
 * CHAN_IOC_DUP on a channel fd: a new handle (and fd) with the same or
 * fewer rights. Errors: EINVAL (rights 0 or unknown bits, flags other than
 * CHAN_CLOEXEC and CHAN_NONBLOCK), EBADF (a right this handle lacks).
 */
struct chan_dup {
	__u32 size;		/* sizeof(struct chan_dup) */
	__u32 rights;		/* CHAN_RIGHT_SEND and/or CHAN_RIGHT_RECV */
	__u32 flags;		/* CHAN_CLOEXEC, CHAN_NONBLOCK */
	__u32 reserved;		/* must be 0 */
};
#define CHAN_DUP_SIZE_VER0	16

/* chan_select_case.op, chan_selset_ctl.op */
#define CHAN_OP_SEND		1
#define CHAN_OP_RECV		2

/*
 * One case of a select: an element of the array chan_select.cases points
 * to, chan_select.case_size bytes each (the struct can grow as the others
 * do; the extra bytes of a larger case must be zero). fd -1 is a nil
 * channel that never fires. For a recv case len is the buffer size in and
 * the message length out; ok is 1 when a message moved and 0 when the
 * case fired because the channel is closed (a send case then sent
 * nothing). Only the case that fired is written.
 */
struct chan_select_case {
	__s32 fd;		/* channel fd, or -1 for a nil case */
	__u32 op;		/* CHAN_OP_SEND or CHAN_OP_RECV */
	__aligned_u64 buf;	/* void * */
	__u64 len;		/* in: bytes to send / buffer size; out: length */
	__u32 ok;		/* out */
	__u32 reserved;		/* must be 0 */
};
#define CHAN_SELECT_CASE_SIZE_VER0	32

/*
 * CHAN_IOC_SELECT on /dev/chan or any channel fd: wait until exactly one
 * case completes; returns (and stores in index) the index of that case.
 * Ready cases are chosen uniformly at random; with none ready it blocks
 * until one completes. timeout 0 is Go's default: EAGAIN when no case is
 * ready (index -1). Every case is checked, and send data read, before
 * anything moves; a descriptor that comes with a received message is
 * dropped. The message of a send case is delivered only if that case is
 * the one reported.
 *
 * Errors, besides the common ones: EINVAL (flags or reserved != 0, ncases
 * over the max_select_cases module parameter, a case_size below
 * CHAN_SELECT_CASE_SIZE_VER0, an op other than CHAN_OP_SEND/RECV, a case's
 * reserved != 0), E2BIG (a case_size larger than a page, or a case's extra
 * bytes not zero), EBADF (a case's fd < -1, not open, not a channel, or
 * without the op's right), EMSGSIZE (a send case longer than its channel's
 * msg_size; the fired recv case's buffer is too short, with len set),
 * ENOBUFS (the bytes to stage, send data plus recv buffers capped at
 * msg_size each, pass the max_select_bytes module parameter). The
 * error of the first bad case in array order is reported.
 */
struct chan_select {
	__u32 size;		/* sizeof(struct chan_select) */
	__u32 flags;		/* must be 0 */
	__aligned_u64 cases;	/* struct chan_select_case[ncases] */
	__u32 ncases;
	__s32 index;		/* out: the case that fired, -1 if none */
	__s64 timeout_ns;	/* written back when a signal restarts the wait */
	__u32 case_size;	/* sizeof(struct chan_select_case) */
	__u32 reserved;		/* must be 0 */
};
#define CHAN_SELECT_SIZE_VER0	40

/*
 * Select sets: a select whose cases are registered once, as with an epoll
 * set, so that a wait with a case ready costs a short scan of the
 * registered channels instead of reading, looking up and checking every
 * case again. A wait has CHAN_IOC_SELECT's semantics over the set's cases.
 * A set's fd cannot be polled and cannot travel in a message.
 *
 * CHAN_IOC_SELSET_CREATE on /dev/chan: returns the new set's fd. The set
 * starts with no cases; closing the fd frees it. Errors: EINVAL (flags
 * other than CHAN_CLOEXEC), ENOMEM.
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
 * set lets it go. The buffers are used at wait time and must stay valid
 * while registered. A failed ctl changes nothing.
 *
 * Errors: EINVAL (flags or reserved != 0, op not CHAN_OP_SEND/RECV, also
 * for a nil case, index >= max_select_cases), EBADF (fd < -1, not open,
 * not a channel, or without the op's right), EMSGSIZE (a send longer than
 * the channel's msg_size), ENOBUFS (the set's staged bytes would pass
 * max_select_bytes), EINTR, ENOMEM.
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
 * message needs) in len. timeout_ns as for CHAN_IOC_SELECT; O_NONBLOCK on
 * the set's fd is ignored. A case's buffer is checked when that case is
 * tried: a case with a bad buffer never fires, and when it is the one
 * chosen, or nothing is ready, the wait fails EFAULT.
 *
 * Errors: EINVAL (flags != 0), and those of CHAN_IOC_SELECT's wait
 * (EAGAIN, ETIMEDOUT, EINTR, EFAULT, EMSGSIZE, ENOMEM).
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

/*
 * One message of a batch, like struct iovec. Its layout is fixed: a batch
 * that needs more per message would say so with a flag in chan_batch.
 */
struct chan_iovec {
	__aligned_u64 buf;	/* void * */
	__u64 len;		/* in: message/buffer length; out (recv): length */
};

/*
 * CHAN_IOC_SEND_BATCH / CHAN_IOC_RECV_BATCH on a channel fd: move up to n
 * messages in order; blocks (within timeout_ns) only until the first one
 * moves, then takes what moves without waiting. Returns the number moved;
 * a recv batch returns 0 when the channel is closed and drained. A batch
 * that fails part-way returns what moved; the error is reported when
 * nothing moved. Descriptors that come with received messages are dropped.
 *
 * Errors: EINVAL (flags or reserved != 0, n > INT_MAX), and the common
 * ones for the first message (EMSGSIZE, EPIPE, EFAULT, EAGAIN, ...).
 */
struct chan_batch {
	__u32 size;		/* sizeof(struct chan_batch) */
	__u32 flags;		/* must be 0 */
	__aligned_u64 msgs;	/* struct chan_iovec[n] */
	__u32 n;
	__u32 reserved;		/* must be 0 */
	__s64 timeout_ns;
};
#define CHAN_BATCH_SIZE_VER0	32

/*
 * Timer channels (time.After, time.Ticker): a recv-only channel whose
 * sender is the kernel clock, so that "the deadline passed" or "a tick
 * arrived" is one case of a select among others, and a ticker can be
 * shared by passing its fd.
 *
 * CHAN_IOC_TIMER on /dev/chan: returns a new recv-only channel fd of
 * capacity 1 carrying struct chan_tick messages. interval_ns 0 makes a
 * one-shot: one message at value_ns, then the channel is closed (read(2)
 * returns 0, a select case fires with ok 0, poll reports EPOLLHUP), unlike
 * Go's time.After, whose channel stays open: a one-shot has one message in
 * its life, and closing it tells every process sharing it, not only the
 * one that took the message, that nothing more will come. A select that
 * keeps looping sets the case's fd to -1 once it fired (Go's nil channel).
 * interval_ns > 0 makes a ticker: the first tick at value_ns, then one
 * every interval_ns. The slot holds one tick, as Go's ticker channel does:
 * while it is full, ticks are dropped (a slow receiver gets no backlog),
 * and the next tick received counts them in missed.
 *
 * value_ns is relative to now on @clockid (CLOCK_MONOTONIC or
 * CLOCK_BOOTTIME, which also counts suspend), or with CHAN_TIMER_ABSTIME a
 * time on that clock; 0, or a time passed already, fires at once. The
 * timer lives as long as a handle of it does: closing the last fd (every
 * process it was passed to included) stops it. Each tick is received
 * once, whoever receives it.
 *
 * Errors: EINVAL (flags other than CHAN_CLOEXEC, CHAN_NONBLOCK,
 * CHAN_TIMER_ABSTIME; reserved != 0; another clock; value_ns or
 * interval_ns < 0; a relative value_ns that passes the clock's range),
 * EMFILE, ENOSPC (counted as a channel of the caller's user, as
 * CHAN_IOC_CREATE), ENOMEM.
 */
#define CHAN_TIMER_ABSTIME	(1U << 4)	/* value_ns is absolute */
#define CHAN_TIMER_STOP		(1U << 5)	/* chan_timer_set: stop */

struct chan_timer {
	__u32 size;		/* sizeof(struct chan_timer) */
	__u32 flags;		/* CHAN_CLOEXEC, CHAN_NONBLOCK, CHAN_TIMER_ABSTIME */
	__s32 clockid;		/* CLOCK_MONOTONIC (1) or CLOCK_BOOTTIME (7) */
	__u32 reserved;		/* must be 0 */
	__s64 value_ns;		/* first expiry: relative, or absolute */
	__s64 interval_ns;	/* 0: one-shot; > 0: ticker period */
};
#define CHAN_TIMER_SIZE_VER0	32

/*
 * The message of a timer channel. expiry_ns is the time on the timer's
 * clock the tick was due (not when it was delivered); missed is how many
 * ticks were dropped since the last one received because the slot was
 * full or the delivery ran late (0 for a one-shot).
 */
struct chan_tick {
	__u64 expiry_ns;
	__u64 missed;
};

/*
 * CHAN_IOC_TIMER_SET on a timer fd: Reset or Stop (Go's Timer.Reset,
 * Ticker.Reset, Stop). With CHAN_TIMER_STOP (value_ns and interval_ns 0)
 * the timer stops; otherwise it is set again as CHAN_IOC_TIMER would set
 * it, on the same clock, a one-shot or a ticker by interval_ns. Either way
 * a tick not received yet is discarded, so that no stale tick is received
 * after the call returns (as in Go 1.23), and missed restarts at 0.
 * Returns 1 when the timer was running (a one-shot that had not fired, or
 * a ticker not stopped), 0 when it was not. A one-shot that fired is
 * closed, as every closed channel stays closed: Stop returns 0 and changes
 * nothing, a new setting fails EALREADY.
 *
 * Errors: EINVAL (flags other than CHAN_TIMER_ABSTIME, CHAN_TIMER_STOP;
 * CHAN_TIMER_STOP with a value; values as for CHAN_IOC_TIMER), EALREADY,
 * EBADF (a handle without recv right), ENOTTY (not a timer channel).
 */
struct chan_timer_set {
	__u32 size;		/* sizeof(struct chan_timer_set) */
	__u32 flags;		/* CHAN_TIMER_ABSTIME, CHAN_TIMER_STOP */
	__s64 value_ns;
	__s64 interval_ns;
};
#define CHAN_TIMER_SET_SIZE_VER0	24

/*
 * CHAN_IOC_CALL on /dev/chan or any channel fd (the fds it acts on are in
 * the struct, as for CHAN_IOC_SELECT): a send on send_fd followed by a
 * receive on recv_fd, in one system call, with one timeout_ns covering
 * both halves. Exactly CHAN_IOC_SEND then CHAN_IOC_RECV: each half blocks
 * (or not: O_NONBLOCK of its own fd, timeout_ns 0) as that call would, and
 * a server loop is call(reply, request): reply, then wait for the next
 * request.
 *
 * sent says which half completed. It is 1 on return once the send half
 * went in, whatever happened next: a signal (EINTR), the timeout
 * (ETIMEDOUT, EAGAIN) or an error of the receive half (EFAULT, EMSGSIZE,
 * ...) leave sent 1, and then only the receive is pending; nothing was
 * received. Errors with sent 0 come from the send half or the checks,
 * and nothing moved. With SA_RESTART the kernel restarts an interrupted
 * call itself; as input, sent 1 skips the send half (so the restart does
 * not send twice) and timeout_ns has been set to the time left. A caller
 * that sees EINTR with sent 1 may re-issue the same struct: it then only
 * receives. On success (0) ok and recv_len are the receive's, as for
 * CHAN_IOC_RECV: ok 0 means the receive channel is closed and drained.
 *
 * Channels created with CHAN_FDPASS are refused (EINVAL): a call carries
 * no descriptor; use CHAN_IOC_SEND and CHAN_IOC_RECV.
 *
 * Errors: EINVAL (flags or reserved != 0, sent other than 0 or 1,
 * send_fd == recv_fd or both on one channel, a CHAN_FDPASS channel),
 * EBADF (an fd not open, not a channel, or without the right for its
 * half), EMSGSIZE (a message longer than the send channel's msg_size; the
 * received message does not fit, recv_len set, it stays), EFAULT (the
 * struct, the message or the buffer; a bad buffer is found before the
 * send), and those of CHAN_IOC_SEND / CHAN_IOC_RECV (EPIPE: the send
 * channel is closed or has no receiver, sent 0).
 */
struct chan_call {
	__u32 size;		/* sizeof(struct chan_call) */
	__u32 flags;		/* must be 0 */
	__s32 send_fd;		/* channel to send on */
	__s32 recv_fd;		/* channel to receive from */
	__aligned_u64 send_buf;	/* const void *: the message */
	__u64 send_len;		/* its length */
	__aligned_u64 recv_buf;	/* void *: room for the reply */
	__u64 recv_len;		/* in: buffer size; out: message length */
	__s64 timeout_ns;	/* both halves; written back on a restart */
	__u32 sent;		/* in: 0 (1: skip the send); out: 1 once sent */
	__u32 ok;		/* out: 1 a message, 0 closed and drained */
	__u64 reserved;		/* must be 0 */
};
#define CHAN_CALL_SIZE_VER0	72

#define CHAN_IOC_CREATE		_IOW(CHAN_IOC_MAGIC, 0x01, struct chan_create)
#define CHAN_IOC_OPEN		_IOW(CHAN_IOC_MAGIC, 0x02, struct chan_open)
#define CHAN_IOC_UNLINK		_IOW(CHAN_IOC_MAGIC, 0x03, struct chan_unlink)
#define CHAN_IOC_TIMER		_IOW(CHAN_IOC_MAGIC, 0x04, struct chan_timer)
#define CHAN_IOC_SEND		_IOWR(CHAN_IOC_MAGIC, 0x10, struct chan_msg)
#define CHAN_IOC_RECV		_IOWR(CHAN_IOC_MAGIC, 0x11, struct chan_msg)
#define CHAN_IOC_CLOSE		_IO(CHAN_IOC_MAGIC, 0x12)
#define CHAN_IOC_INFO		_IOWR(CHAN_IOC_MAGIC, 0x13, struct chan_info)
#define CHAN_IOC_DUP		_IOW(CHAN_IOC_MAGIC, 0x14, struct chan_dup)
#define CHAN_IOC_CALL		_IOWR(CHAN_IOC_MAGIC, 0x15, struct chan_call)
#define CHAN_IOC_TIMER_SET	_IOW(CHAN_IOC_MAGIC, 0x16, struct chan_timer_set)
#define CHAN_IOC_SELECT		_IOWR(CHAN_IOC_MAGIC, 0x20, struct chan_select)
#define CHAN_IOC_SELSET_CREATE	_IOW(CHAN_IOC_MAGIC, 0x21, struct chan_selset_create)
#define CHAN_IOC_SELSET_CTL	_IOW(CHAN_IOC_MAGIC, 0x22, struct chan_selset_ctl)
#define CHAN_IOC_SELSET_WAIT	_IOWR(CHAN_IOC_MAGIC, 0x23, struct chan_selset_wait)
#define CHAN_IOC_SEND_BATCH	_IOWR(CHAN_IOC_MAGIC, 0x30, struct chan_batch)
#define CHAN_IOC_RECV_BATCH	_IOWR(CHAN_IOC_MAGIC, 0x31, struct chan_batch)

#endif /* _UAPI_LINUX_CHAN_H */
