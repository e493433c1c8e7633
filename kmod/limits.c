// SPDX-License-Identifier: GPL-2.0
/*
 * kchan: per-user limits.
 *
 * Every channel is charged to the user (effective uid) that created it:
 * one channel and its buffer, capacity * msg_size bytes. An admin bounds
 * both with the max_user_channels and max_user_bytes module parameters;
 * past them creation fails EMFILE and ENOSPC. CAP_SYS_RESOURCE lifts the
 * per-user limits, as it does for POSIX message queues. The memory itself
 * is charged to the creator's memory cgroup (GFP_KERNEL_ACCOUNT).
 *
 * Locking: chan_users_lock protects the table and every entry's counters.
 * An entry lives while a channel is charged to it.
 */

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/hashtable.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "kchan.h"

struct chan_user {
	struct hlist_node node;
	kuid_t uid;
	unsigned long channels;
	unsigned long bytes;
};

static DEFINE_HASHTABLE(chan_users, 6);
static DEFINE_SPINLOCK(chan_users_lock);

static struct chan_user *chan_user_find(kuid_t uid)
{
	struct chan_user *u;

	hash_for_each_possible(chan_users, u, node, __kuid_val(uid))
		if (uid_eq(u->uid, uid))
			return u;
	return NULL;
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
	u = chan_user_find(uid);
	if (!u) {
		u = fresh;
		fresh = NULL;
		u->uid = uid;
		hash_add(chan_users, &u->node, __kuid_val(uid));
	}
	ret = chan_user_check(u, bytes);
	if (ret && ns_capable_noaudit(&init_user_ns, CAP_SYS_RESOURCE))
		ret = 0;
	if (!ret) {
		u->channels++;
		u->bytes += bytes;
		ch->user = u;
		ch->charged = bytes;
	} else if (!u->channels) {
		hash_del(&u->node);
		fresh = u;
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
	if (u->channels)
		u = NULL;
	else
		hash_del(&u->node);
	spin_unlock(&chan_users_lock);
	kfree(u);
}
