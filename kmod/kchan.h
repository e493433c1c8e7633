/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kchan internals shared by the files of the module.
 *
 * main.c     /dev/chan, module parameters, CHAN_IOC_CREATE
 * chan.c     the channel object: allocation, one send/recv by a handle,
 *            the channel fd's ioctls and file operations (poll, fdinfo)
 * state.c    the state protocol of blocked operations: the ring, claim,
 *            fire, try, park and sleep, put-back
 * batch.c    CHAN_IOC_SEND_BATCH, CHAN_IOC_RECV_BATCH
 * uaccess.c  user-access helpers: size-first structs, buffer probes,
 *            deadlines kept across a restart
 * select.c   CHAN_IOC_SELECT, and the check every select case passes
 * selset.c   select sets (CHAN_IOC_SELSET_*): registered select cases
 * names.c    named channels (CHAN_IOC_OPEN, CHAN_IOC_UNLINK), which files
 *            may travel in a message
 * limits.c   limits of a new channel, the per-user table (channels,
 *            their bytes, staging, descriptors in flight),
 *            /proc/kchan_users
 * proc.c     /proc/kchan, the tracepoints of trace.h
 *
 * The locking rules, and the lock order of every lock, are written at the
 * top of chan.c.
 */
#ifndef _KCHAN_H
#define _KCHAN_H

#include <linux/atomic.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/instrumented.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/refcount.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <linux/uidgid.h>
#include <linux/wait.h>

#include <linux/chan.h>

#include "compat.h"

/*
 * An ioctl command as kchan matches it: type and number only, as seccomp
 * matches its extensible ioctl (EA_IOCTL in kernel/seccomp.c). The size
 * encoded in the command is the caller's sizeof(struct), which a newer
 * program may have grown; the struct's own size field says how much to
 * read (chan_copy_struct()), and the direction bits add nothing.
 */
#define CHAN_IOC_MATCH(cmd)	((cmd) & ~(IOC_INOUT | IOCSIZE_MASK))

/* Limits an admin can change (module parameters, see main.c). */
extern unsigned int chan_max_msg_size;
extern unsigned int chan_max_capacity;
extern unsigned long chan_max_chan_bytes;
extern unsigned int chan_max_select_cases;
extern unsigned long chan_max_select_bytes;
extern unsigned int chan_max_user_channels;
extern unsigned long chan_max_user_bytes;
extern unsigned long chan_max_user_staging_bytes;

/*
 * struct chan_sel - one blocked operation: a plain send or recv, or a
 * whole select. Its waiters (one per case) sit on the channels' queues;
 * whoever holds @lock while the state is WAITING decides which single
 * case, if any, completes:
 *
 * WAITING    claimable by a partner (or by the owner).
 * DONE       final: @fired completed; whoever set DONE did the transfer
 *            under @lock.
 * CANCELLED  final: the owner gave up (signal, timeout).
 *
 * @lock is a raw spinlock so that its holder runs with preemption disabled,
 * on PREEMPT_RT too: a task that waits for it only ever waits for a task
 * that is running on another CPU, never for one that a higher-priority task
 * preempted (see "The commit protocol" at the top of chan.c).
 */
enum chan_sel_state {
	CHAN_SEL_WAITING,
	CHAN_SEL_DONE,
	CHAN_SEL_CANCELLED,
};

struct chan_waiter;
struct chan_name;
struct chan_create;
struct chan_open;
struct chan_unlink;
struct ipc_namespace;
struct seq_file;
struct chan_user;

struct chan_sel {
	raw_spinlock_t lock;		/* protects state and fired */
	int state;			/* enum chan_sel_state; see above */
	struct task_struct *task;	/* the owner, constant */
	struct chan_waiter *fired;	/* the case that completed */
	/* Set once a waiter is queued: from then on partners may claim it. */
	bool published;
};

/* What happened to a waiter's case. */
enum chan_outcome {
	CHAN_MOVED,	/* the message moved */
	CHAN_CLOSED,	/* recv: closed and drained; send: closed or no receivers */
	CHAN_TOOBIG,	/* recv: the message does not fit the buffer */
};

/*
 * struct chan_fd - a descriptor in flight (CHAN_FDPASS) and the user it is
 * charged to, its sender (limits.c). They travel together: from the
 * sender's waiter to a slot of the ring or a receiver's waiter, and back
 * to the user's count when the file is installed or put.
 */
struct chan_fd {
	struct file *file;	/* referenced, or NULL */
	struct chan_user *user;	/* charged, while @file is set */
};

/*
 * struct chan_waiter - one case of a chan_sel (Go's sudog). The data
 * travels through @buf, a kernel buffer owned by the waiter's task, because
 * a partner cannot reach another process's user memory.
 */
struct chan_waiter {
	struct list_head node;	/* on ch->sendq or ch->recvq, under ch->lock */
	struct chan_sel *sel;
	struct chan *ch;
	void *buf;		/* send: the message; recv: room for it */
	u32 len;		/* send: message length; recv: room, then length */
	u32 index;		/* case index in the select */
	u8 op;			/* CHAN_OP_SEND or CHAN_OP_RECV */
	bool queued;		/* on a queue; under ch->lock */
	u8 outcome;		/* enum chan_outcome, valid once fired */
	struct chan_fd fd;	/* fd passed with the message, if any */
};

/*
 * struct chan - the channel object, shared by all of its handles.
 */
struct chan {
	spinlock_t lock;		/* protects everything marked [L] */
	u32 head;			/* [L] index of the oldest message */
	u32 count;			/* [L] messages buffered */
	u32 nr_send_waiters;		/* [L] waiters on sendq */
	u32 nr_recv_waiters;		/* [L] waiters on recvq */
	u32 send_handles;		/* [L] open send-capable files */
	u32 recv_handles;		/* [L] open recv-capable files */
	bool closed;			/* [L] Go's close() happened */
	bool held_by_name;		/* [L] a name holds it open */
	struct list_head sendq;		/* [L] blocked senders, FIFO */
	struct list_head recvq;		/* [L] blocked receivers, FIFO */
	u64 sent;			/* [L] messages accepted */
	u64 received;			/* [L] messages delivered */
	u64 dropped;			/* [L] messages lost (see chan_recv()) */

	/* Constant after creation. */
	u32 capacity;
	u32 msg_size;
	u32 flags;			/* CHAN_FDPASS, CHAN_AUTOCLOSE */
	u64 id;
	u8 *data;			/* capacity slots of msg_size bytes */
	u32 *lens;			/* length of each slot's message */
	struct chan_fd *files;		/* fd of each slot (CHAN_FDPASS) */
	struct chan_user *user;		/* charged to, see limits.c */
	unsigned long charged;		/* buffer bytes charged */

	wait_queue_head_t poll_wq;	/* poll/epoll; its own lock */
	refcount_t ref;			/* one per file, one per name */

	/* Visibility (proc.c) and names (names.c). */
	struct list_head node;		/* on chan_list, see proc.c */
	struct pid *creator;		/* constant: creating process */
	kuid_t creator_uid;		/* constant: its euid */
	struct chan_name *name;		/* [chan_names_mutex] or NULL */
};

extern const struct file_operations chan_fops;

/* The channel behind @file, or NULL when it is not a channel fd. */
static inline struct chan *chan_from_file(struct file *file)
{
	return file->f_op == &chan_fops ? file->private_data : NULL;
}

static inline bool chan_can_send(const struct file *file)
{
	return file->f_mode & FMODE_WRITE;
}

static inline bool chan_can_recv(const struct file *file)
{
	return file->f_mode & FMODE_READ;
}

/* A select case's op: CHAN_OP_SEND or CHAN_OP_RECV. */
static inline bool chan_op_valid(u32 op)
{
	return op == CHAN_OP_SEND || op == CHAN_OP_RECV;
}

/*
 * Could @op complete on @ch right now? A lockless hint from fields written
 * under ch->lock (aligned words, read once each); it may be stale or mix
 * two moments, so a "yes" must be confirmed under the lock and a "no" never
 * decides anything on its own.
 */
static inline bool chan_ready_hint(struct chan *ch, u8 op)
{
	if (op == CHAN_OP_RECV)
		return READ_ONCE(ch->count) || READ_ONCE(ch->nr_send_waiters) ||
		       READ_ONCE(ch->closed);
	return READ_ONCE(ch->nr_recv_waiters) ||
	       READ_ONCE(ch->count) < ch->capacity ||
	       READ_ONCE(ch->closed) || !READ_ONCE(ch->recv_handles);
}

/*
 * A snapshot of a channel's counters, taken under ch->lock: what INFO,
 * fdinfo and /proc/kchan report.
 */
struct chan_stats {
	u32 len;
	u32 closed;
	u32 send_waiters;
	u32 recv_waiters;
	u32 send_handles;
	u32 recv_handles;
	u64 sent;
	u64 received;
	u64 dropped;
};

/* chan.c */
struct file *chan_create(u32 capacity, u32 msg_size, u32 flags, u32 rights,
			 struct chan **chp);
void chan_put(struct chan *ch);
void chan_stats(struct chan *ch, struct chan_stats *st);
void chan_hold_by_name(struct chan *ch, bool hold);
struct file *chan_new_file(struct chan *ch, u32 rights, u32 flags);
int chan_new_fd(struct chan *ch, u32 rights, u32 flags);

/* One send or receive by a handle (chan.c, batch.c). */
struct chan_xfer {
	struct iov_iter *iter;	/* the message / buffers, or NULL: ubuf */
	void __user *ubuf;
	size_t ulen;		/* in: message / buffer; out: length */
	ktime_t deadline;	/* absolute, when timed */
	bool timed;
	bool nonblock;
	bool ok;		/* out (recv) */
	bool cloexec;		/* recv: installed fd gets FD_CLOEXEC */
	bool want_fd;		/* recv: report a passed fd (else drop it) */
	int fd;			/* send: fd to pass; out (recv): fd or -1 */
};

/* batch.c */
long chan_ioctl_batch(struct file *file, struct chan_batch __user *ub,
		      bool send);

/* uaccess.c */
int chan_copy_struct(void *dst, size_t ksize, const void __user *src,
		     size_t ver0);
int chan_probe_writable(void __user *ubuf, size_t len);
int chan_probe_readable(const void __user *ubuf, size_t len);
void chan_set_deadline(struct chan_xfer *x, struct file *file,
		       s64 timeout_ns);
int chan_restart_timed(ktime_t deadline, s64 __user *utimeout);

/*
 * chan_copy_struct() with a fast path: a struct whose size field says
 * @ksize (the usual case) is read with one constant-size copy, which skips
 * hardened usercopy's checks. Anything else, a fault included, takes the
 * general way, which reads the size first (a short struct at the end of a
 * mapping fails EINVAL, not EFAULT).
 */
static __always_inline int chan_get_struct(void *dst, size_t ksize,
					   const void __user *src, size_t ver0)
{
	if (likely(!copy_from_user(dst, src, ksize) &&
		   *(u32 *)dst == ksize))
		return 0;
	return chan_copy_struct(dst, ksize, src, ver0);
}

/* Largest message staged on the kernel stack (and per select case inline). */
#define CHAN_STACK_BYTES	64

/*
 * Allocations whose size the caller chooses (rings, staging buffers, select
 * arrays): charged to the caller's memcg, and when that is at memory.max
 * they fail (ENOMEM) instead of waking the memcg OOM killer, which would
 * kill the caller for asking; no allocation-failure splat either.
 */
#define CHAN_GFP_USER_SIZED	(GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN)

/*
 * User copies to and from a bounded kernel buffer (a staging buffer of at
 * most CHAN_STACK_BYTES, @len checked against it by the caller): what
 * hardened usercopy's object walk would prove on every message is already
 * known, so copy with access_ok() + raw_copy_*_user(). 0 or -EFAULT.
 */
static __always_inline int chan_copy_in_small(void *dst,
					      const void __user *src,
					      size_t len)
{
	unsigned long left;

	might_fault();
	if (unlikely(!access_ok(src, len)))
		return -EFAULT;
	instrument_copy_from_user_before(dst, src, len);
	left = raw_copy_from_user(dst, src, len);
	instrument_copy_from_user_after(dst, src, len, left);
	return left ? -EFAULT : 0;
}

static __always_inline int chan_copy_out_small(void __user *dst,
					       const void *src, size_t len)
{
	might_fault();
	if (unlikely(!access_ok(dst, len)))
		return -EFAULT;
	instrument_copy_to_user(dst, src, len);
	return raw_copy_to_user(dst, src, len) ? -EFAULT : 0;
}

/*
 * Result of chan_try_locked(): the case completed (outcome in the waiter),
 * it would block, or (published selects only) a partner claimed the select
 * through another case first.
 */
enum chan_try {
	CHAN_TRY_DONE,
	CHAN_TRY_BLOCK,
	CHAN_TRY_LOST,
};

/* state.c */
void chan_sel_init(struct chan_sel *sel);
enum chan_try chan_try_locked(struct chan *ch, struct chan_waiter *w);
void chan_enqueue_locked(struct chan *ch, struct chan_waiter *w);
void chan_dequeue(struct chan_waiter *w);
int chan_sel_wait(struct chan_sel *sel, ktime_t deadline, bool timed);
int chan_do(struct chan *ch, struct chan_waiter *w, struct chan_xfer *x);
void chan_close_locked(struct chan *ch);
void chan_fail_senders_locked(struct chan *ch);
bool chan_putback_hand_locked(struct chan *ch, struct chan_waiter *w);
void chan_putback_ring_locked(struct chan *ch, struct chan_waiter *w);
void chan_putback(struct chan *ch, struct chan_waiter *w);

/* chan.c */
void chan_poll_wake(struct chan *ch, __poll_t key);
__poll_t chan_poll_key(u8 op);

/* limits.c */

/*
 * What every channel is charged besides its slots (limits.c): struct chan,
 * its name and its share of the name table, rounded up. A minimum charge,
 * so that max_user_bytes bounds the number of idle channels too.
 */
#define CHAN_CHAN_BYTES		1024

/* A kernel buffer charged to a user's staging (limits.c). */
struct chan_stage {
	void *buf;
	size_t size;
	struct chan_user *user;	/* charged, or NULL: nothing allocated */
};

int chan_check_limits(u32 capacity, u32 msg_size);
int chan_charge(struct chan *ch, unsigned long bytes);
void chan_uncharge(struct chan *ch);
unsigned long chan_charge_bytes(u32 capacity, u32 msg_size, u32 flags);
int chan_stage_alloc(struct chan_stage *st, size_t size);
void chan_stage_free(struct chan_stage *st);
int chan_inflight_charge(struct chan_fd *fd);
void chan_inflight_uncharge(struct chan_fd *fd);
void chan_inflight_fput(struct chan_fd *fd);
extern const struct proc_ops chan_users_proc_ops;

/* select.c, and what a select set (selset.c) shares of it */
struct chan_scase {
	struct chan_waiter w;
	struct fd f;		/* pinned for the call; NULL file: nil case */
	void __user *ubuf;
};

/*
 * Per case of a select that does not fit on the stack: the case, its place
 * in the visiting order and CHAN_STACK_BYTES of staging.
 */
#define CHAN_SELECT_CASE_BYTES \
	(sizeof(struct chan_scase) + sizeof(u32) + CHAN_STACK_BYTES)

/*
 * Randomness for a select: one get_random_u32() seeds a xorshift32, drawn
 * only when a choice has to be made (more than one ready case, or the
 * shuffle of pass 1).
 */
struct chan_select_rng {
	u32 x;
};

u32 chan_select_below(struct chan_select_rng *rng, u32 n);
struct chan *chan_case_channel(struct file *file, u32 op, u64 len);
int chan_select_stage(struct chan_scase *cases, const u32 *order,
		      u32 nactive, u8 *stage, bool small);
bool chan_select_try_picked(struct chan_waiter *w, const void __user *ubuf,
			    u8 *stack_buf, struct chan_stage *st);
long chan_select_run(struct chan_scase *cases, u32 *order, u32 nactive,
		     struct chan_sel *sel, struct chan_select_rng *rng,
		     s64 timeout_ns, s64 __user *utimeout);
long chan_select_finish(struct chan_waiter *w, void __user *ubuf, bool small,
			u64 *len, u32 *ok);
long chan_select_ioctl(void __user *uarg);

/* selset.c */
long chan_selset_create_ioctl(struct chan_selset_create __user *uc);
bool chan_is_selset(const struct file *file);

/* names.c */
extern struct mutex chan_names_mutex;
long chan_name_create(const struct chan_create *c);
long chan_open_ioctl(struct chan_open __user *uo);
long chan_unlink_ioctl(struct chan_unlink __user *uu);
void chan_names_sweep_locked(void);

/*
 * Who reads a listing, decided when it is opened: names are shown in
 * @ns only, to their owner (@fsuid) or, with @admin, to everyone there.
 */
struct chan_viewer {
	struct ipc_namespace *ns;	/* referenced */
	kuid_t fsuid;
	bool admin;			/* CAP_SYS_ADMIN in ns->user_ns */
};

void chan_name_seq_show(struct seq_file *m, struct chan *ch,
			const struct chan_viewer *viewer);
void chan_name_seq_show_owner(struct seq_file *m, struct chan *ch);
void chan_name_show_fdinfo(struct seq_file *m, struct chan *ch);
int chan_file_take(struct chan_fd *fd);
struct ipc_namespace *chan_ipc_ns_get(void);
void chan_ipc_ns_put(struct ipc_namespace *ns);
void chan_names_exit(void);

/* proc.c */
void chan_track(struct chan *ch);
void chan_untrack(struct chan *ch);
int chan_proc_init(void);
void chan_proc_exit(void);

#endif /* _KCHAN_H */
