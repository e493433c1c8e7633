// SPDX-License-Identifier: GPL-2.0
/*
 * kchan: visibility. /proc/kchan lists every live channel, and the
 * tracepoints of trace.h are created here.
 *
 * /proc/kchan is readable by everyone. One line per channel after a
 * header line:
 *
 *   id name flags cap msg_size len closed send_waiters recv_waiters
 *   send_handles recv_handles sent received dropped pid uid mode owner
 *   group
 *
 * name is "-" for an anonymous (or unlinked) channel and "?" when the
 * reader may not see it: names are shown only in their own IPC namespace,
 * to their owner or to CAP_SYS_ADMIN there. Who the reader is (namespace,
 * fsuid, capability) is decided once, when the file is opened. Spaces,
 * tabs, newlines and backslashes in a name are escaped as \ooo. flags is
 * "fdpass" or "-". pid and uid are the creator's, in the reader's pid
 * namespace (0 when it is not visible there) and user namespace (the
 * overflow uid when unmapped). mode owner group are the name's permission
 * bits (octal) and owner, "-" for a channel without a name.
 *
 * Locking: chan_list_mutex protects chan_list and every ch->node (a mutex: a
 * listing holds it across its whole walk). A channel is on the list from the
 * end of chan_create() until chan_free() begins, so the listing may read a
 * channel whose last reference is being dropped, never a freed one. Order:
 * chan_names_mutex -> chan_list_mutex -> ch->lock.
 */

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/ipc_namespace.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/proc_fs.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/mutex.h>
#include <linux/user_namespace.h>

#include <linux/chan.h>

#include "kchan.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

static LIST_HEAD(chan_list);
static DEFINE_MUTEX(chan_list_mutex);
static struct proc_dir_entry *chan_proc_entry;
static struct proc_dir_entry *chan_users_proc_entry;

/* End of chan_create(): record the creator and make the channel visible. */
void chan_track(struct chan *ch)
{
	ch->creator = get_pid(task_tgid(current));
	ch->creator_uid = current_euid();
	mutex_lock(&chan_list_mutex);
	list_add_tail(&ch->node, &chan_list);
	mutex_unlock(&chan_list_mutex);
}

/* Start of chan_free(); a channel whose creation failed was never tracked. */
void chan_untrack(struct chan *ch)
{
	if (!ch->creator)
		return;
	mutex_lock(&chan_list_mutex);
	list_del(&ch->node);
	mutex_unlock(&chan_list_mutex);
	put_pid(ch->creator);
}

static void *chan_list_start(struct seq_file *m, loff_t *pos)
{
	mutex_lock(&chan_names_mutex);
	chan_names_sweep_locked();
	mutex_lock(&chan_list_mutex);
	return seq_list_start_head(&chan_list, *pos);
}

static void *chan_list_next(struct seq_file *m, void *v, loff_t *pos)
{
	return seq_list_next(v, &chan_list, pos);
}

static void chan_list_stop(struct seq_file *m, void *v)
{
	mutex_unlock(&chan_list_mutex);
	mutex_unlock(&chan_names_mutex);
}

static int chan_list_show(struct seq_file *m, void *v)
{
	struct pid_namespace *pid_ns = proc_pid_ns(file_inode(m->file)->i_sb);
	struct user_namespace *user_ns = m->file->f_cred->user_ns;
	struct chan_stats st;
	struct chan *ch;

	if (v == &chan_list) {
		seq_puts(m, "id name flags cap msg_size len closed send_waiters recv_waiters send_handles recv_handles sent received dropped pid uid mode owner group\n");
		return 0;
	}
	ch = list_entry(v, struct chan, node);
	chan_stats(ch, &st);

	seq_printf(m, "%llu ", ch->id);
	chan_name_seq_show(m, ch, m->private);
	seq_printf(m, " %s %u %u %u %u %u %u %u %u %llu %llu %llu %d %u",
		   ch->flags & CHAN_FDPASS ? "fdpass" : "-",
		   ch->capacity, ch->msg_size, st.len, st.closed,
		   st.send_waiters, st.recv_waiters, st.send_handles,
		   st.recv_handles, st.sent, st.received, st.dropped,
		   pid_nr_ns(ch->creator, pid_ns),
		   from_kuid_munged(user_ns, ch->creator_uid));
	chan_name_seq_show_owner(m, ch);
	seq_putc(m, '\n');
	return 0;
}

static const struct seq_operations chan_list_seq_ops = {
	.start	= chan_list_start,
	.next	= chan_list_next,
	.stop	= chan_list_stop,
	.show	= chan_list_show,
};

/* The opener decides which names the listing shows: see the top. */
static int chan_list_open(struct inode *inode, struct file *file)
{
	struct chan_viewer *viewer;

	viewer = __seq_open_private(file, &chan_list_seq_ops, sizeof(*viewer));
	if (!viewer)
		return -ENOMEM;
	viewer->ns = chan_ipc_ns_get();
	viewer->fsuid = current_fsuid();
	viewer->admin = ns_capable_noaudit(viewer->ns->user_ns, CAP_SYS_ADMIN);
	return 0;
}

static int chan_list_release(struct inode *inode, struct file *file)
{
	struct seq_file *m = file->private_data;
	struct chan_viewer *viewer = m->private;

	chan_ipc_ns_put(viewer->ns);
	return seq_release_private(inode, file);
}

static const struct proc_ops chan_list_proc_ops = {
	.proc_open	= chan_list_open,
	.proc_read	= seq_read,
	.proc_lseek	= seq_lseek,
	.proc_release	= chan_list_release,
};

/* /proc/kchan, and /proc/kchan_users (its show is in limits.c). */
int chan_proc_init(void)
{
	chan_proc_entry = proc_create("kchan", 0444, NULL,
				      &chan_list_proc_ops);
	if (!chan_proc_entry)
		return -ENOMEM;
	chan_users_proc_entry = proc_create("kchan_users", 0444, NULL,
					    &chan_users_proc_ops);
	if (!chan_users_proc_entry) {
		proc_remove(chan_proc_entry);
		return -ENOMEM;
	}
	return 0;
}

void chan_proc_exit(void)
{
	proc_remove(chan_users_proc_entry);
	proc_remove(chan_proc_entry);
}
