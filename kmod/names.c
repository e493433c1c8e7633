// SPDX-License-Identifier: GPL-2.0
/*
 * kchan: named channels and what may travel in a message.
 *
 * CHAN_IOC_OPEN, CHAN_IOC_UNLINK and CHAN_IOC_CREATE with a name. Names
 * live per IPC namespace, as POSIX message queues do: a container does not
 * see the host's names. A module cannot add a field to struct
 * ipc_namespace, so the table is our own: a list of struct chan_ns, one
 * per namespace that has names, each with an rbtree of struct chan_name.
 *
 * Lifetime
 * --------
 * A name holds one reference to its channel (chan->ref) and holds it open
 * (ch->held_by_name, see chan_hold_by_name()): a named channel closes only
 * by CHAN_IOC_CLOSE while it has its name, whatever handles come and go,
 * like a POSIX mq or a FIFO's inode, so short-lived producers can feed a
 * named queue. Once the name goes (unlink, its namespace dies, module
 * unload) the crash-safety rule applies again: with no send-capable handle
 * left the channel closes then. A channel created with CHAN_AUTOCLOSE is
 * never held: it closes when its last send-capable handle goes away, name
 * or not. Unlinking drops the name's reference; open handles live on.
 *
 * A chan_ns holds one reference on its namespace (get_ipc_ns()), so the
 * namespace cannot be freed and its address reused while names point at
 * it. put_ipc_ns() is not exported to modules: the reference is dropped
 * through the namespace's own proc_ns_operations ->put(), as nsfs does.
 * Once that reference is the only one left the namespace is unreachable
 * (no task, nsfs file or bind mount holds it) and nobody can take a new
 * one, so its names are dropped: names die with their namespace, as
 * mqueue's queues do. That check (chan_names_sweep_locked()) runs on
 * every name operation, on every read of /proc/kchan, every
 * CHAN_NS_SWEEP_SECS seconds while a namespace other than the initial one
 * has names, and at module exit, which drops every name.
 *
 * Locking
 * -------
 * chan_names_mutex protects the table, every chan_name and ch->name. It
 * is held across allocations and file creation. It nests outside
 * chan_list_mutex (proc.c) and ch->lock; neither is held when it is taken.
 */

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/ipc_namespace.h>
#include <linux/magic.h>
#include <linux/mutex.h>
#include <linux/net.h>
#include <linux/nsproxy.h>
#include <linux/proc_ns.h>
#include <linux/rbtree.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include <linux/chan.h>

#include "kchan.h"

#define CHAN_NS_SWEEP_SECS	10

struct chan_ns {
	struct list_head node;		/* on chan_ns_list */
	struct ipc_namespace *ns;	/* referenced */
	struct rb_root names;		/* of struct chan_name, by name */
};

struct chan_name {
	struct rb_node node;		/* in cns->names */
	struct chan_ns *cns;
	struct chan *ch;		/* referenced */
	kuid_t uid;			/* owner: creator's fsuid */
	kgid_t gid;			/* creator's fsgid */
	umode_t mode;			/* 0777 bits, umask applied */
	char name[];
};

/* The name table, every chan_name, ch->name: see Locking above. */
DEFINE_MUTEX(chan_names_mutex);
static LIST_HEAD(chan_ns_list);

static void chan_ns_sweep_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(chan_ns_sweep_work, chan_ns_sweep_fn);

/* ---- namespaces ---- */

void chan_ipc_ns_put(struct ipc_namespace *ns)
{
	if (IS_ENABLED(CONFIG_IPC_NS))
		ns->ns.ops->put(&ns->ns);
}

struct ipc_namespace *chan_ipc_ns_get(void)
{
	return get_ipc_ns(current->nsproxy->ipc_ns);
}

static bool chan_ns_is_init(const struct chan_ns *cns)
{
	return cns->ns->ns.inum == PROC_IPC_INIT_INO;
}

static struct chan_ns *chan_ns_find(struct ipc_namespace *ns)
{
	struct chan_ns *cns;

	list_for_each_entry(cns, &chan_ns_list, node) {
		if (cns->ns == ns)
			return cns;
	}
	return NULL;
}

/* Free an empty chan_ns. */
static void chan_ns_free_locked(struct chan_ns *cns)
{
	list_del(&cns->node);
	chan_ipc_ns_put(cns->ns);
	kfree(cns);
}

/* ---- names ---- */

static struct chan_name *chan_name_find(struct chan_ns *cns, const char *name)
{
	struct rb_node *node = cns->names.rb_node;
	struct chan_name *n;
	int cmp;

	while (node) {
		n = rb_entry(node, struct chan_name, node);
		cmp = strcmp(name, n->name);
		if (!cmp)
			return n;
		node = cmp < 0 ? node->rb_left : node->rb_right;
	}
	return NULL;
}

/* Link @n, whose name is known to be absent from @cns. */
static void chan_name_link(struct chan_ns *cns, struct chan_name *n)
{
	struct rb_node **link = &cns->names.rb_node, *parent = NULL;
	struct chan_name *other;

	while (*link) {
		parent = *link;
		other = rb_entry(parent, struct chan_name, node);
		if (strcmp(n->name, other->name) < 0)
			link = &parent->rb_left;
		else
			link = &parent->rb_right;
	}
	n->cns = cns;
	rb_link_node(&n->node, parent, link);
	rb_insert_color(&n->node, &cns->names);
	n->ch->name = n;
	if (!(n->ch->flags & CHAN_AUTOCLOSE))
		chan_hold_by_name(n->ch, true);
}

/* Unlink and free @n; its chan_ns too once empty. */
static void chan_name_drop_locked(struct chan_name *n)
{
	struct chan_ns *cns = n->cns;

	lockdep_assert_held(&chan_names_mutex);
	rb_erase(&n->node, &cns->names);
	n->ch->name = NULL;
	chan_hold_by_name(n->ch, false);
	chan_put(n->ch);
	kfree(n);
	if (RB_EMPTY_ROOT(&cns->names))
		chan_ns_free_locked(cns);
}

static void chan_ns_drop_all_locked(struct chan_ns *cns)
{
	struct chan_name *n, *tmp;

	/* The last drop frees @cns. */
	rbtree_postorder_for_each_entry_safe(n, tmp, &cns->names, node) {
		n->ch->name = NULL;
		chan_hold_by_name(n->ch, false);
		chan_put(n->ch);
		kfree(n);
	}
	cns->names = RB_ROOT;
	chan_ns_free_locked(cns);
}

/* Drop the names of namespaces nobody but us can reach any more. */
void chan_names_sweep_locked(void)
{
	struct chan_ns *cns, *tmp;

	lockdep_assert_held(&chan_names_mutex);
	list_for_each_entry_safe(cns, tmp, &chan_ns_list, node) {
		if (refcount_read(&cns->ns->ns.count) == 1)
			chan_ns_drop_all_locked(cns);
	}
}

static void chan_ns_sweep_arm_locked(void)
{
	struct chan_ns *cns;

	list_for_each_entry(cns, &chan_ns_list, node) {
		if (!chan_ns_is_init(cns)) {
			schedule_delayed_work(&chan_ns_sweep_work,
					      CHAN_NS_SWEEP_SECS * HZ);
			return;
		}
	}
}

static void chan_ns_sweep_fn(struct work_struct *work)
{
	mutex_lock(&chan_names_mutex);
	chan_names_sweep_locked();
	chan_ns_sweep_arm_locked();
	mutex_unlock(&chan_names_mutex);
}

/*
 * May the caller open @n with @mask (MAY_READ, MAY_WRITE)? The owner,
 * group and other bits decide as for a file; CAP_DAC_OVERRIDE in the
 * namespace's user namespace overrides, as in mq_open().
 */
static bool chan_name_permitted(const struct chan_name *n, int mask)
{
	struct user_namespace *user_ns = n->cns->ns->user_ns;
	unsigned int mode = n->mode;

	if (uid_eq(current_fsuid(), n->uid))
		mode >>= 6;
	else if (in_group_p(n->gid))
		mode >>= 3;
	if (!(mask & ~mode & (MAY_READ | MAY_WRITE)))
		return true;
	return kuid_has_mapping(user_ns, n->uid) &&
	       kgid_has_mapping(user_ns, n->gid) &&
	       ns_capable(user_ns, CAP_DAC_OVERRIDE);
}

/* Unlink is for the owner (the mqueue root is sticky) or CAP_FOWNER. */
static bool chan_name_may_unlink(const struct chan_name *n)
{
	struct user_namespace *user_ns = n->cns->ns->user_ns;

	if (uid_eq(current_fsuid(), n->uid))
		return true;
	return kuid_has_mapping(user_ns, n->uid) &&
	       ns_capable(user_ns, CAP_FOWNER);
}

/*
 * Copy a name in. EFAULT for a bad pointer, EINVAL for an empty name, one
 * longer than CHAN_NAME_MAX or one with a '/'. Free with kfree().
 */
static char *chan_name_copy(u64 uname)
{
	char *name;
	long len;

	name = kmalloc(CHAN_NAME_MAX + 1, GFP_KERNEL);
	if (!name)
		return ERR_PTR(-ENOMEM);
	len = strncpy_from_user(name, u64_to_user_ptr(uname),
				CHAN_NAME_MAX + 1);
	if (len < 0) {
		kfree(name);
		return ERR_PTR(len);
	}
	if (!len || len > CHAN_NAME_MAX || strchr(name, '/')) {
		kfree(name);
		return ERR_PTR(-EINVAL);
	}
	return name;
}

struct chan_open_args {
	const char *name;
	u32 rights;		/* CHAN_RIGHT_* of the new handle */
	bool create;		/* O_CREAT */
	bool excl;		/* O_EXCL */
	umode_t mode;		/* when created */
	u32 flags;		/* CHAN_CLOEXEC, CHAN_NONBLOCK; when created
				 * CHAN_FDPASS, CHAN_AUTOCLOSE
				 */
	u32 capacity;		/* when created */
	u32 msg_size;		/* when created */
};

/* Create channel and name, and a handle to it: the name is linked last. */
static struct file *chan_name_create_locked(struct ipc_namespace *ns,
					    const struct chan_open_args *a)
{
	size_t len = strlen(a->name);
	struct chan_name *n;
	struct chan_ns *cns;
	struct file *file;
	struct chan *ch;
	bool new_cns;
	int ret;

	cns = chan_ns_find(ns);
	new_cns = !cns;
	if (new_cns) {
		cns = kzalloc(sizeof(*cns), GFP_KERNEL_ACCOUNT);
		if (!cns)
			return ERR_PTR(-ENOMEM);
		cns->ns = get_ipc_ns(ns);
		cns->names = RB_ROOT;
	}
	/* The channel's charge covers its name and the table (limits.c). */
	BUILD_BUG_ON(sizeof(struct chan) + sizeof(struct chan_ns) +
		     sizeof(*n) + CHAN_NAME_MAX + 1 > CHAN_CHAN_BYTES);
	ret = -ENOMEM;
	n = kmalloc(struct_size(n, name, len + 1), GFP_KERNEL_ACCOUNT);
	if (!n)
		goto err_cns;
	file = chan_create(a->capacity, a->msg_size, a->flags, a->rights, &ch);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto err_name;
	}

	memcpy(n->name, a->name, len + 1);
	n->ch = ch;	/* the name keeps chan_create()'s reference */
	n->uid = current_fsuid();
	n->gid = current_fsgid();
	n->mode = a->mode & ~current_umask() & 0777;
	if (new_cns) {
		list_add(&cns->node, &chan_ns_list);
		if (!chan_ns_is_init(cns))
			chan_ns_sweep_arm_locked();
	}
	chan_name_link(cns, n);
	return file;

err_name:
	kfree(n);
err_cns:
	if (new_cns) {
		chan_ipc_ns_put(cns->ns);
		kfree(cns);
	}
	return ERR_PTR(ret);
}

/* Open (or create) a named channel in the caller's IPC namespace. */
static int chan_name_open(const struct chan_open_args *a)
{
	struct ipc_namespace *ns = current->nsproxy->ipc_ns;
	struct chan_name *n = NULL;
	struct chan_ns *cns;
	struct file *file;
	int mask = 0;
	int fd;

	if (a->rights & CHAN_RIGHT_SEND)
		mask |= MAY_WRITE;
	if (a->rights & CHAN_RIGHT_RECV)
		mask |= MAY_READ;

	fd = get_unused_fd_flags(a->flags & CHAN_CLOEXEC ? O_CLOEXEC : 0);
	if (fd < 0)
		return fd;

	mutex_lock(&chan_names_mutex);
	chan_names_sweep_locked();
	cns = chan_ns_find(ns);
	if (cns)
		n = chan_name_find(cns, a->name);
	if (n) {
		if (a->create && a->excl)
			file = ERR_PTR(-EEXIST);
		else if (!chan_name_permitted(n, mask))
			file = ERR_PTR(-EACCES);
		else
			file = chan_new_file(n->ch, a->rights, a->flags);
	} else if (a->create) {
		file = chan_name_create_locked(ns, a);
	} else {
		file = ERR_PTR(-ENOENT);
	}
	mutex_unlock(&chan_names_mutex);

	if (IS_ERR(file)) {
		put_unused_fd(fd);
		return PTR_ERR(file);
	}
	fd_install(fd, file);
	return fd;
}

/* CHAN_IOC_CREATE with a name: O_CREAT | O_EXCL | O_RDWR. Checked already. */
long chan_name_create(const struct chan_create *c)
{
	struct chan_open_args a = {
		.rights = CHAN_RIGHT_BOTH,
		.create = true,
		.excl = true,
		.flags = c->flags,
		.capacity = c->capacity,
		.msg_size = c->msg_size,
	};
	char *name;
	long ret;

	if (c->mode & ~0777)
		return -EINVAL;
	a.mode = c->mode;
	name = chan_name_copy(c->name);
	if (IS_ERR(name))
		return PTR_ERR(name);
	a.name = name;
	ret = chan_name_open(&a);
	kfree(name);
	return ret;
}

#define CHAN_OPEN_OFLAGS	(O_ACCMODE | O_CREAT | O_EXCL | O_CLOEXEC | \
				 O_NONBLOCK)
/* One spelling per option: O_CLOEXEC, O_NONBLOCK go in oflag only. */
#define CHAN_OPEN_FLAGS		(CHAN_FDPASS | CHAN_AUTOCLOSE)

long chan_open_ioctl(struct chan_open __user *uo)
{
	struct chan_open_args a = {};
	struct chan_open o;
	char *name;
	long ret;

	ret = chan_copy_struct(&o, sizeof(o), uo, CHAN_OPEN_SIZE_VER0);
	if (ret)
		return ret;
	if ((o.oflag & ~CHAN_OPEN_OFLAGS) || (o.flags & ~CHAN_OPEN_FLAGS) ||
	    (o.mode & ~0777))
		return -EINVAL;
	switch (o.oflag & O_ACCMODE) {
	case O_RDONLY:
		a.rights = CHAN_RIGHT_RECV;
		break;
	case O_WRONLY:
		a.rights = CHAN_RIGHT_SEND;
		break;
	case O_RDWR:
		a.rights = CHAN_RIGHT_BOTH;
		break;
	default:
		return -EINVAL;
	}
	a.create = o.oflag & O_CREAT;
	a.excl = o.oflag & O_EXCL;
	a.mode = o.mode;
	/* CHAN_CLOEXEC == O_CLOEXEC, CHAN_NONBLOCK == O_NONBLOCK */
	a.flags = o.flags | (o.oflag & (O_CLOEXEC | O_NONBLOCK));
	a.capacity = o.capacity;
	a.msg_size = o.msg_size;
	if (a.create) {
		ret = chan_check_limits(o.capacity, o.msg_size);
		if (ret)
			return ret;
	}

	name = chan_name_copy(o.name);
	if (IS_ERR(name))
		return PTR_ERR(name);
	a.name = name;
	ret = chan_name_open(&a);
	kfree(name);
	return ret;
}

long chan_unlink_ioctl(struct chan_unlink __user *uu)
{
	struct chan_name *n = NULL;
	struct chan_unlink u;
	struct chan_ns *cns;
	char *name;
	long ret;

	ret = chan_copy_struct(&u, sizeof(u), uu, CHAN_UNLINK_SIZE_VER0);
	if (ret)
		return ret;
	if (u.reserved)
		return -EINVAL;
	name = chan_name_copy(u.name);
	if (IS_ERR(name))
		return PTR_ERR(name);

	mutex_lock(&chan_names_mutex);
	chan_names_sweep_locked();
	cns = chan_ns_find(current->nsproxy->ipc_ns);
	if (cns)
		n = chan_name_find(cns, name);
	if (!n) {
		ret = -ENOENT;
	} else if (!chan_name_may_unlink(n)) {
		ret = -EACCES;
	} else {
		chan_name_drop_locked(n);
		ret = 0;
	}
	mutex_unlock(&chan_names_mutex);
	kfree(name);
	return ret;
}

/* ---- showing names ---- */

/*
 * The name of @ch in a listing read by @viewer: "-" when it has none, "?"
 * when the reader may not see it (another namespace, or neither its owner
 * nor CAP_SYS_ADMIN there).
 */
void chan_name_seq_show(struct seq_file *m, struct chan *ch,
			const struct chan_viewer *viewer)
{
	const struct chan_name *n = ch->name;

	lockdep_assert_held(&chan_names_mutex);
	if (!n) {
		seq_puts(m, "-");
	} else if (n->cns->ns != viewer->ns ||
		   (!uid_eq(viewer->fsuid, n->uid) && !viewer->admin)) {
		seq_puts(m, "?");
	} else {
		seq_escape(m, n->name, " \t\n\\");
	}
}

/*
 * The permission bits and owner of @ch's name in a listing: " MODE UID GID"
 * (octal; the ids in the reader's user namespace, the overflow ids when
 * unmapped), or " - - -" when it has none. Shown even when the name itself
 * is hidden: the creator's uid is public too.
 */
void chan_name_seq_show_owner(struct seq_file *m, struct chan *ch)
{
	struct user_namespace *user_ns = m->file->f_cred->user_ns;
	const struct chan_name *n = ch->name;

	lockdep_assert_held(&chan_names_mutex);
	if (!n) {
		seq_puts(m, " - - -");
		return;
	}
	seq_printf(m, " %04o %u %u", n->mode, from_kuid_munged(user_ns, n->uid),
		   from_kgid_munged(user_ns, n->gid));
}

/* fdinfo: whoever may read it may see the name (ptrace access). */
void chan_name_show_fdinfo(struct seq_file *m, struct chan *ch)
{
	mutex_lock(&chan_names_mutex);
	if (ch->name) {
		seq_puts(m, "name:\t");
		seq_escape(m, ch->name->name, " \t\n\\");
		seq_putc(m, '\n');
	}
	mutex_unlock(&chan_names_mutex);
}

/* ---- passing descriptors ---- */

/*
 * An anonymous-inode file of the name @name (io_uring, fscontext, ...)?
 * Their f_op is not exported, their name is fixed by the kernel.
 */
static bool chan_anon_file_is(struct file *file, const char *name)
{
	return file_inode(file)->i_sb->s_magic == ANON_INODE_FS_MAGIC &&
	       !strcmp(file->f_path.dentry->d_name.name, name);
}

/*
 * May @file travel in a message? Refused (EINVAL) are the files that can
 * themselves hold file references, or that hold an IPC namespace, because
 * a cycle through one of them would never be freed:
 *  - a channel created with CHAN_FDPASS (its buffer holds files);
 *  - an AF_UNIX socket: its queue may hold this channel's fd in an
 *    SCM_RIGHTS message, and the unix garbage collector cannot see the
 *    references our buffer holds;
 *  - an io_uring instance: its registered-file table may hold this
 *    channel's fd.
 *  - a select set (selset.c): its cases hold channel files.
 *  - a namespace file (nsfs: /proc/PID/ns/ipc and its siblings, or a bind mount): a
 *    named channel holding the nsfs file of its own IPC namespace keeps
 *    that namespace alive, and the names of a namespace are only dropped
 *    once nothing but them holds it (chan_names_sweep_locked()), so the
 *    name, its channel and whatever its buffer holds (a channel fd pins
 *    the module) would outlive every process, unreachable. All kinds are
 *    refused: any one of them may lead to an IPC namespace (a user
 *    namespace's nsfs file does not, but nothing needs to send one).
 *  - a filesystem context (fsopen()): one for mqueue holds the IPC
 *    namespace it was opened in; unprivileged in a user namespace.
 *  - a System V shared memory file (SYSV*, reachable through
 *    /proc/PID/map_files by CAP_CHECKPOINT_RESTORE): it holds its IPC
 *    namespace too.
 * A plain channel holds no files, so it may travel (a reply channel).
 */
static bool chan_file_passable(struct file *file)
{
	struct chan *ch = chan_from_file(file);
	struct socket *sock;
	struct inode *inode;

	if (ch)
		return !(ch->flags & CHAN_FDPASS);
	if (chan_is_selset(file))
		return false;
	sock = sock_from_file(file);
	if (sock)
		return sock->ops->family != PF_UNIX;
	if (chan_anon_file_is(file, "[io_uring]") ||
	    chan_anon_file_is(file, "[fscontext]"))
		return false;
	inode = file_inode(file);
	if (inode->i_sb->s_magic == NSFS_MAGIC)
		return false;
	/* do_shmat()'s file: on the kernel's internal shm mount, "SYSV..." */
	if ((inode->i_sb->s_magic == TMPFS_MAGIC ||
	     inode->i_sb->s_magic == HUGETLBFS_MAGIC) &&
	    (inode->i_sb->s_flags & SB_KERNMOUNT) &&
	    !strncmp(file->f_path.dentry->d_name.name, "SYSV", 4))
		return false;
	return true;
}

/*
 * A sender hands @fd->file to a channel: EINVAL if it may not travel,
 * ETOOMANYREFS past the in-flight limit. On success the file is charged
 * to the sender (recorded in @fd) until chan_inflight_uncharge() or
 * chan_inflight_fput().
 */
int chan_file_take(struct chan_fd *fd)
{
	if (!chan_file_passable(fd->file))
		return -EINVAL;
	return chan_inflight_charge(fd);
}

/* ---- module ---- */

void chan_names_exit(void)
{
	struct chan_ns *cns, *tmp;

	cancel_delayed_work_sync(&chan_ns_sweep_work);
	mutex_lock(&chan_names_mutex);
	list_for_each_entry_safe(cns, tmp, &chan_ns_list, node)
		chan_ns_drop_all_locked(cns);
	mutex_unlock(&chan_names_mutex);
}
