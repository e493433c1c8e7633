// SPDX-License-Identifier: GPL-2.0
/*
 * kchan: limits.
 *
 * The limits of one channel (max_msg_size, max_capacity, max_chan_bytes),
 * checked in one place for CHAN_IOC_CREATE and CHAN_IOC_OPEN with O_CREAT.
 *
 * The per-user table: what each user (effective uid) makes the kernel hold
 * for them, counted and bounded here, so that /dev/chan (mode 0666) is safe
 * on a machine shared by users who do not trust each other. chan(7) has the
 * table an admin reads; /proc/kchan_users shows the counters.
 *
 *   channels   channels created (names keep them, so an fd limit does
 *              not bound them): max_user_channels, EMFILE.
 *   bytes      what those channels allocate: CHAN_CHAN_BYTES for the
 *              channel itself (struct chan, its name, its share of the
 *              name table: a minimum charge, so that count x minimum is
 *              bounded too) plus, per slot, the message (msg_size), its
 *              length (u32) and with CHAN_FDPASS its descriptor slot
 *              (struct chan_fd); and, once messages above
 *              CHAN_STACK_BYTES have moved, the stage cache (up to
 *              CHAN_STAGE_CACHE x msg_size, see chan_stage_get()):
 *              max_user_bytes, ENOSPC.
 *   staging    kernel buffers of operations in progress, which a blocked
 *              one holds while it sleeps: the message of a send, the room
 *              of a receive (both above CHAN_STACK_BYTES; a buffer of the
 *              channel's stage cache counts once the operation waits,
 *              see chan_stage_get()), a batch's
 *              staging, a select's or a set wait's case array and staging,
 *              and a select set's case table while the set exists:
 *              max_user_staging_bytes, ENOBUFS.
 *   inflight   descriptors the user sent that are in flight (in a
 *              channel's buffer or with a blocked sender): the sender's
 *              RLIMIT_NOFILE, ETOOMANYREFS. Charged to the sender, as unix
 *              sockets charge SCM_RIGHTS since 6.x (unix_inflight()):
 *              charging the file's opener let one user use up another's
 *              quota with the other's own file. Received or freed, the
 *              charge goes back to the sender recorded with it.
 *
 * CAP_SYS_RESOURCE lifts the per-user limits (CAP_SYS_ADMIN too for
 * descriptors in flight, as for unix sockets); what such a user holds is
 * still counted. The memory itself is also charged to the caller's memory
 * cgroup (GFP_KERNEL_ACCOUNT; CHAN_GFP_USER_SIZED for what the caller
 * sizes, so running out fails ENOMEM).
 *
 * Locking: chan_users_lock (a spinlock) protects the table and every
 * entry's counters. Nothing is allocated, copied or slept on under it; no
 * other lock is taken under it, and it is taken with no spinlock held (a
 * leaf, see the lock order at the top of chan.c). An entry lives while
 * any of its counters is not zero; whoever charged it keeps a pointer to
 * it (ch->user, a chan_fd's user, a chan_stage's user) for the uncharge.
 */

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/hashtable.h>
#include <linux/mm.h>
#include <linux/proc_fs.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/user_namespace.h>

#include "kchan.h"

/* Limits a new channel must respect: EMSGSIZE, EINVAL. */
int chan_check_limits(u32 capacity, u32 msg_size)
{
	if (msg_size > READ_ONCE(chan_max_msg_size))
		return -EMSGSIZE;
	if (capacity > READ_ONCE(chan_max_capacity) ||
	    (u64)capacity * msg_size > READ_ONCE(chan_max_chan_bytes))
		return -EINVAL;
	return 0;
}

struct chan_user {
	struct hlist_node node;		/* in chan_users */
	kuid_t uid;
	unsigned long channels;		/* channels created */
	unsigned long bytes;		/* what they allocate (see the top) */
	unsigned long staging;		/* buffers of operations in progress */
	unsigned long inflight;		/* descriptors sent, in flight */
};

static DEFINE_HASHTABLE(chan_users, 6);
/* The table and every entry's counters: see Locking above. */
static DEFINE_SPINLOCK(chan_users_lock);

static struct chan_user *chan_user_find(kuid_t uid)
{
	struct chan_user *u;

	hash_for_each_possible(chan_users, u, node, __kuid_val(uid))
		if (uid_eq(u->uid, uid))
			return u;
	return NULL;
}

/* Unhash @u once nothing is counted; returns it for kfree() after unlock. */
static struct chan_user *chan_user_unused_locked(struct chan_user *u)
{
	lockdep_assert_held(&chan_users_lock);
	if (u->channels || u->bytes || u->staging || u->inflight)
		return NULL;
	hash_del(&u->node);
	return u;
}

enum chan_charge_kind {
	CHAN_CHARGE_CHANNEL,	/* one channel of @n bytes */
	CHAN_CHARGE_BYTES,	/* @n more bytes of a channel (its stage cache) */
	CHAN_CHARGE_STAGING,	/* @n bytes of staging */
	CHAN_CHARGE_INFLIGHT,	/* one descriptor, @n: the sender's limit */
};

/* Is @cur + @n past @max? (The limit may have been lowered meanwhile.) */
static bool chan_over(unsigned long cur, unsigned long n, unsigned long max)
{
	return cur > max || n > max - cur;
}

/* Check and count one charge, under chan_users_lock; 0 or -errno. */
static int chan_user_try_locked(struct chan_user *u,
				enum chan_charge_kind kind, unsigned long n)
{
	int ret = 0;

	lockdep_assert_held(&chan_users_lock);
	switch (kind) {
	case CHAN_CHARGE_CHANNEL:
		if (u->channels >= READ_ONCE(chan_max_user_channels))
			ret = -EMFILE;
		else if (chan_over(u->bytes, n, READ_ONCE(chan_max_user_bytes)))
			ret = -ENOSPC;
		break;
	case CHAN_CHARGE_BYTES:
		if (chan_over(u->bytes, n, READ_ONCE(chan_max_user_bytes)))
			return -ENOSPC;	/* no exemption: see chan_stage_cache_take() */
		break;
	case CHAN_CHARGE_STAGING:
		if (chan_over(u->staging, n,
			      READ_ONCE(chan_max_user_staging_bytes)))
			ret = -ENOBUFS;
		break;
	case CHAN_CHARGE_INFLIGHT:
		if (u->inflight >= n &&
		    !ns_capable_noaudit(&init_user_ns, CAP_SYS_ADMIN))
			ret = -ETOOMANYREFS;
		break;
	}
	/* Asked only past a limit: the LSM hook is not on the fast path. */
	if (ret && ns_capable_noaudit(&init_user_ns, CAP_SYS_RESOURCE))
		ret = 0;
	if (ret)
		return ret;
	switch (kind) {
	case CHAN_CHARGE_CHANNEL:
		u->channels++;
		u->bytes += n;
		break;
	case CHAN_CHARGE_BYTES:
		u->bytes += n;
		break;
	case CHAN_CHARGE_STAGING:
		u->staging += n;
		break;
	case CHAN_CHARGE_INFLIGHT:
		u->inflight++;
		break;
	}
	return 0;
}

/*
 * Charge the current user (its entry made if it has none); *@up gets the
 * entry to uncharge later. 0 or -errno, nothing charged on error.
 */
static int chan_user_charge(enum chan_charge_kind kind, unsigned long n,
			    struct chan_user **up)
{
	kuid_t uid = current_euid();
	struct chan_user *u, *fresh = NULL;
	int ret;

	spin_lock(&chan_users_lock);
	u = chan_user_find(uid);
	if (!u) {
		spin_unlock(&chan_users_lock);
		fresh = kzalloc(sizeof(*fresh), GFP_KERNEL_ACCOUNT);
		if (!fresh)
			return -ENOMEM;
		fresh->uid = uid;
		spin_lock(&chan_users_lock);
		u = chan_user_find(uid);	/* made meanwhile? */
		if (!u) {
			u = fresh;
			fresh = NULL;
			hash_add(chan_users, &u->node, __kuid_val(uid));
		}
	}
	ret = chan_user_try_locked(u, kind, n);
	if (!ret)
		*up = u;
	else if (!fresh)
		fresh = chan_user_unused_locked(u);
	spin_unlock(&chan_users_lock);
	kfree(fresh);
	return ret;
}

/* Charge the entry @u, which the caller holds a charge of already. */
static int chan_user_try(struct chan_user *u, enum chan_charge_kind kind,
			 unsigned long n)
{
	int ret;

	spin_lock(&chan_users_lock);
	ret = chan_user_try_locked(u, kind, n);
	spin_unlock(&chan_users_lock);
	return ret;
}

static void chan_user_uncharge(struct chan_user *u, enum chan_charge_kind kind,
			       unsigned long n)
{
	spin_lock(&chan_users_lock);
	switch (kind) {
	case CHAN_CHARGE_CHANNEL:
		WARN_ON_ONCE(!u->channels || u->bytes < n);
		u->channels--;
		u->bytes -= n;
		break;
	case CHAN_CHARGE_BYTES:
		WARN_ON_ONCE(u->bytes < n);
		u->bytes -= n;
		break;
	case CHAN_CHARGE_STAGING:
		WARN_ON_ONCE(u->staging < n);
		u->staging -= n;
		break;
	case CHAN_CHARGE_INFLIGHT:
		WARN_ON_ONCE(!u->inflight);
		u->inflight--;
		break;
	}
	u = chan_user_unused_locked(u);
	spin_unlock(&chan_users_lock);
	kfree(u);
}

/* ---- channels ---- */

/*
 * What a channel costs its creator (see the top): the same formula chan(7)
 * documents. The limits of chan_check_limits() keep it far from overflow.
 */
unsigned long chan_charge_bytes(u32 capacity, u32 msg_size, u32 flags)
{
	unsigned long slot = (unsigned long)msg_size + sizeof(u32);

	if (flags & CHAN_FDPASS)
		slot += sizeof(struct chan_fd);
	return CHAN_CHAN_BYTES + capacity * slot;
}

/* Charge a new channel of @bytes to the current user. */
int chan_charge(struct chan *ch, unsigned long bytes)
{
	int ret;

	ret = chan_user_charge(CHAN_CHARGE_CHANNEL, bytes, &ch->user);
	if (!ret)
		ch->charged = bytes;
	return ret;
}

void chan_uncharge(struct chan *ch)
{
	if (ch->user)
		chan_user_uncharge(ch->user, CHAN_CHARGE_CHANNEL, ch->charged);
	ch->user = NULL;
}

/* ---- staging ---- */

/*
 * A kernel buffer of @size bytes for an operation of the current user,
 * charged to its staging: 0, -ENOBUFS past max_user_staging_bytes, or
 * -ENOMEM. @size 0 allocates nothing. Free with chan_stage_free().
 */
int chan_stage_alloc(struct chan_stage *st, size_t size)
{
	int ret;

	st->buf = NULL;
	st->size = 0;
	st->user = NULL;
	if (!size)
		return 0;
	ret = chan_user_charge(CHAN_CHARGE_STAGING, size, &st->user);
	if (ret)
		return ret;
	st->buf = kvmalloc(size, CHAN_GFP_USER_SIZED);
	if (!st->buf) {
		chan_user_uncharge(st->user, CHAN_CHARGE_STAGING, size);
		st->user = NULL;
		return -ENOMEM;
	}
	st->size = size;
	return 0;
}

void chan_stage_free(struct chan_stage *st)
{
	if (!st->user)
		return;
	kvfree(st->buf);
	chan_user_uncharge(st->user, CHAN_CHARGE_STAGING, st->size);
	st->buf = NULL;
	st->size = 0;
	st->user = NULL;
}

/*
 * The stage cache: up to CHAN_STAGE_CACHE buffers of msg_size bytes per
 * channel (msg_size above CHAN_STACK_BYTES), so that a send or receive of
 * a message too large for the stack stages it without a kvmalloc() and a
 * kvfree() each time. A buffer is made on first need and lives until the
 * channel is freed; while it is in ch->stage_cache it is free, and taking
 * it (xchg) or giving it back (cmpxchg into an empty slot) needs no lock.
 * At most CHAN_STAGE_CACHE buffers exist (ch->stage_made), so one that is
 * given back always finds an empty slot.
 *
 * Accounting: a cache buffer is memory of the channel, charged to the
 * channel's user (its bytes, max_user_bytes) when it is made; at the
 * limit none is made (no exemption: the charge is to the channel's user,
 * not the caller's) and the operation allocates its own buffer, as
 * before. An operation that uses a cache buffer and completes at once
 * holds it only for the call; one that waits is charged its staging
 * before it parks (chan_stage_charge(), from chan_do()), as an allocated
 * buffer is, so max_user_staging_bytes bounds what a user's waiting
 * operations hold either way.
 */
static void *chan_stage_cache_take(struct chan *ch)
{
	void *buf;
	int i;

	for (i = 0; i < CHAN_STAGE_CACHE; i++) {
		buf = xchg(&ch->stage_cache[i], NULL);
		if (buf)
			return buf;
	}
	if (atomic_inc_return(&ch->stage_made) > CHAN_STAGE_CACHE)
		goto none;
	if (chan_user_try(ch->user, CHAN_CHARGE_BYTES, ch->msg_size))
		goto none;
	buf = kvmalloc(ch->msg_size, CHAN_GFP_USER_SIZED);
	if (buf)
		return buf;
	chan_user_uncharge(ch->user, CHAN_CHARGE_BYTES, ch->msg_size);
none:
	atomic_dec(&ch->stage_made);
	return NULL;
}

static void chan_stage_cache_give(struct chan *ch, void *buf)
{
	int i;

	for (i = 0; i < CHAN_STAGE_CACHE; i++)
		if (!cmpxchg(&ch->stage_cache[i], NULL, buf))
			return;
	/* More buffers than slots: cannot happen (see above). */
	WARN_ON_ONCE(1);
	kvfree(buf);
	chan_user_uncharge(ch->user, CHAN_CHARGE_BYTES, ch->msg_size);
	atomic_dec(&ch->stage_made);
}

/*
 * A staging buffer of @size bytes (at most ch->msg_size) for one send or
 * receive on @ch: from the stage cache if it has one, else allocated as
 * chan_stage_alloc() does; charged to the caller's staging either way.
 * Give it back with chan_stage_put().
 */
int chan_stage_get(struct chan *ch, struct chan_stage *st, size_t size)
{
	int ret;

	st->buf = NULL;
	st->size = 0;
	st->user = NULL;
	st->cached = false;
	if (!ch->user || size > ch->msg_size)
		return chan_stage_alloc(st, size);
	st->buf = chan_stage_cache_take(ch);
	if (st->buf) {
		/* charged by chan_stage_charge() if the operation waits */
		st->cached = true;
		st->size = size;
		return 0;
	}
	ret = chan_user_charge(CHAN_CHARGE_STAGING, size, &st->user);
	if (ret)
		return ret;
	st->buf = kvmalloc(size, CHAN_GFP_USER_SIZED);
	if (st->buf) {
		st->size = size;
		return 0;
	}
	chan_user_uncharge(st->user, CHAN_CHARGE_STAGING, size);
	st->user = NULL;
	return -ENOMEM;
}

/*
 * An operation holding a cache buffer is about to wait: charge the
 * buffer to the caller's staging now, as an allocated one was when it was
 * made. 0, or -ENOBUFS / -ENOMEM with nothing charged.
 */
int chan_stage_charge(struct chan_stage *st)
{
	if (!st->cached || st->user)
		return 0;
	return chan_user_charge(CHAN_CHARGE_STAGING, st->size, &st->user);
}

void chan_stage_put(struct chan *ch, struct chan_stage *st)
{
	if (st->cached) {
		chan_stage_cache_give(ch, st->buf);
		st->buf = NULL;
		st->cached = false;
	}
	chan_stage_free(st);
}

/* The channel is being freed: its cache buffers with it. */
void chan_stage_cache_free(struct chan *ch)
{
	int i, made = atomic_read(&ch->stage_made);

	for (i = 0; i < CHAN_STAGE_CACHE; i++)
		kvfree(ch->stage_cache[i]);
	if (made)
		chan_user_uncharge(ch->user, CHAN_CHARGE_BYTES,
				   (unsigned long)made * ch->msg_size);
}

/* ---- descriptors in flight ---- */

/*
 * Count @fd->file in flight for the current user, the sender: ETOOMANYREFS
 * past its RLIMIT_NOFILE (see the top). The charge is recorded in @fd.
 */
int chan_inflight_charge(struct chan_fd *fd)
{
	return chan_user_charge(CHAN_CHARGE_INFLIGHT, rlimit(RLIMIT_NOFILE),
				&fd->user);
}

/* @fd->file leaves the channels: installed in a receiver, or to be put. */
void chan_inflight_uncharge(struct chan_fd *fd)
{
	if (!WARN_ON_ONCE(!fd->user))
		chan_user_uncharge(fd->user, CHAN_CHARGE_INFLIGHT, 1);
	fd->user = NULL;
}

/* Drop a file that was in flight. */
void chan_inflight_fput(struct chan_fd *fd)
{
	struct file *file = fd->file;

	chan_inflight_uncharge(fd);
	fd->file = NULL;
	fput(file);
}

/* ---- /proc/kchan_users ---- */

/*
 * One line per user with something counted: uid (in the reader's user
 * namespace) channels bytes staging inflight. CAP_SYS_ADMIN (when the file
 * was opened) sees every user, anyone else only their own euid.
 */
static int chan_users_show(struct seq_file *m, void *v)
{
	const struct cred *cred = m->file->f_cred;
	bool admin = (uintptr_t)m->private;
	struct chan_user *u;
	int bkt;

	seq_puts(m, "uid channels bytes staging inflight\n");
	/* seq_printf() only fills the seq buffer: no sleep under the lock */
	spin_lock(&chan_users_lock);
	hash_for_each(chan_users, bkt, u, node) {
		if (!admin && !uid_eq(u->uid, cred->euid))
			continue;
		seq_printf(m, "%u %lu %lu %lu %lu\n",
			   from_kuid_munged(cred->user_ns, u->uid), u->channels,
			   u->bytes, u->staging, u->inflight);
	}
	spin_unlock(&chan_users_lock);
	return 0;
}

static int chan_users_open(struct inode *inode, struct file *file)
{
	bool admin = file_ns_capable(file, &init_user_ns, CAP_SYS_ADMIN);

	return single_open(file, chan_users_show, (void *)(uintptr_t)admin);
}

const struct proc_ops chan_users_proc_ops = {
	.proc_open	= chan_users_open,
	.proc_read	= seq_read,
	.proc_lseek	= seq_lseek,
	.proc_release	= single_release,
};
