// SPDX-License-Identifier: GPL-2.0
/*
 * kchan: limits.
 *
 * The limits of one channel (max_msg_size, max_capacity, max_chan_bytes),
 * checked in one place for CHAN_IOC_CREATE and CHAN_IOC_OPEN with O_CREAT.
 *
 * The per-user table. Every channel is charged to the user (effective uid)
 * that created it: one channel and its buffer, capacity * msg_size bytes.
 * An admin bounds both with the max_user_channels and max_user_bytes
 * module parameters; past them creation fails EMFILE and ENOSPC.
 * CAP_SYS_RESOURCE lifts the per-user limits, as it does for POSIX message
 * queues. The memory itself is charged to the creator's memory cgroup
 * (GFP_KERNEL_ACCOUNT).
 *
 * The same table counts the descriptors in flight (in a channel's buffer or
 * with a blocked sender) per user who opened them (file->f_cred->uid). A
 * sender may not take one user's count past its own RLIMIT_NOFILE
 * (ETOOMANYREFS) unless it has CAP_SYS_RESOURCE or CAP_SYS_ADMIN, as unix
 * sockets bound SCM_RIGHTS: without it a process could pin any number of
 * open files by sending them and closing its own descriptors.
 *
 * Locking: chan_users_lock (a spinlock) protects the table and every
 * entry's counters. Nothing is allocated, copied or slept on under it; no
 * other lock is taken under it, and it is taken with no spinlock held (a
 * leaf, see the lock order at the top of chan.c). An entry lives while a
 * channel is charged to it or a descriptor is in flight for it.
 */

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/hashtable.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

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
	unsigned long bytes;		/* their buffer bytes */
	unsigned long inflight;		/* descriptors opened by uid in flight */
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

/*
 * The entry of @uid, under chan_users_lock; when it has none, *@fresh
 * (allocated by the caller, unlocked) becomes it and *@fresh is cleared.
 * NULL when there is none and no @fresh.
 */
static struct chan_user *chan_user_get_locked(kuid_t uid,
					      struct chan_user **fresh)
{
	struct chan_user *u;

	lockdep_assert_held(&chan_users_lock);
	u = chan_user_find(uid);
	if (!u && *fresh) {
		u = *fresh;
		*fresh = NULL;
		u->uid = uid;
		hash_add(chan_users, &u->node, __kuid_val(uid));
	}
	return u;
}

/* Unhash @u once nothing is counted; returns it for kfree() after unlock. */
static struct chan_user *chan_user_unused_locked(struct chan_user *u)
{
	lockdep_assert_held(&chan_users_lock);
	if (u->channels || u->inflight)
		return NULL;
	hash_del(&u->node);
	return u;
}

static int chan_user_check(struct chan_user *u, unsigned long bytes)
{
	unsigned long max_bytes = READ_ONCE(chan_max_user_bytes);

	if (u->channels >= READ_ONCE(chan_max_user_channels))
		return -EMFILE;
	/* The limit may have been lowered below what is charged already. */
	if (u->bytes > max_bytes || bytes > max_bytes - u->bytes)
		return -ENOSPC;
	return 0;
}

/* Charge a new channel of @bytes buffer to the current user. */
int chan_charge(struct chan *ch, unsigned long bytes)
{
	kuid_t uid = current_euid();
	struct chan_user *u, *fresh;
	int ret;

	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL_ACCOUNT);
	if (!fresh)
		return -ENOMEM;

	spin_lock(&chan_users_lock);
	u = chan_user_get_locked(uid, &fresh);
	ret = chan_user_check(u, bytes);
	if (ret && ns_capable_noaudit(&init_user_ns, CAP_SYS_RESOURCE))
		ret = 0;
	if (!ret) {
		u->channels++;
		u->bytes += bytes;
		ch->user = u;
		ch->charged = bytes;
	} else if (!fresh) {
		fresh = chan_user_unused_locked(u);
	}
	spin_unlock(&chan_users_lock);
	kfree(fresh);
	return ret;
}

void chan_uncharge(struct chan *ch)
{
	struct chan_user *u = ch->user;

	if (!u)
		return;
	spin_lock(&chan_users_lock);
	u->channels--;
	u->bytes -= ch->charged;
	u = chan_user_unused_locked(u);
	spin_unlock(&chan_users_lock);
	kfree(u);
}

/* ---- descriptors in flight ---- */

/* Count @file in flight: ETOOMANYREFS past the limit (see the top). */
int chan_inflight_charge(struct file *file)
{
	bool exempt = ns_capable_noaudit(&init_user_ns, CAP_SYS_RESOURCE) ||
		      ns_capable_noaudit(&init_user_ns, CAP_SYS_ADMIN);
	unsigned long limit = rlimit(RLIMIT_NOFILE);
	kuid_t uid = file->f_cred->uid;
	struct chan_user *u, *fresh = NULL;
	int ret = 0;

	spin_lock(&chan_users_lock);
	u = chan_user_get_locked(uid, &fresh);
	if (!u) {
		spin_unlock(&chan_users_lock);
		fresh = kzalloc(sizeof(*fresh), GFP_KERNEL_ACCOUNT);
		if (!fresh)
			return -ENOMEM;
		spin_lock(&chan_users_lock);
		u = chan_user_get_locked(uid, &fresh);
	}
	if (u->inflight >= limit && !exempt) {
		ret = -ETOOMANYREFS;
		if (!fresh)
			fresh = chan_user_unused_locked(u);
	} else {
		u->inflight++;
	}
	spin_unlock(&chan_users_lock);
	kfree(fresh);
	return ret;
}

/* @file leaves the channels: installed in a receiver, or about to be put. */
void chan_inflight_uncharge(struct file *file)
{
	struct chan_user *u;

	spin_lock(&chan_users_lock);
	u = chan_user_find(file->f_cred->uid);
	if (!WARN_ON_ONCE(!u || !u->inflight)) {
		u->inflight--;
		u = chan_user_unused_locked(u);
	} else {
		u = NULL;
	}
	spin_unlock(&chan_users_lock);
	kfree(u);
}

/* Drop a file that was in flight. */
void chan_inflight_fput(struct file *file)
{
	chan_inflight_uncharge(file);
	fput(file);
}
