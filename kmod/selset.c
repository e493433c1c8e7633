// SPDX-License-Identifier: GPL-2.0
/*
 * kchan: select sets, a select whose cases are registered once.
 *
 * CHAN_IOC_SELECT reads, looks up and checks every one of its cases on
 * every call. A select set keeps them, as an epoll set keeps its fds:
 * CHAN_IOC_SELSET_CTL sets one case and holds a reference to the channel
 * file it names (as dup() would: the set's handle counts as open), and
 * CHAN_IOC_SELSET_WAIT is CHAN_IOC_SELECT over the set's cases:
 *
 * 0. Under set->lock, take the cases on the set's ready list (below) whose
 *    channel still looks ready with chan_ready_hint(), dropping the others
 *    from the list, and pick one of them uniformly at random (reservoir
 *    sampling), taking a reference on its file; then, without set->lock,
 *    check its buffer, stage it and try it under its channel's lock, as
 *    select's fast path does (select.c). The cost follows the number of
 *    ready cases, not the number registered.
 * 1. Nothing on the list looks ready, the lock does not confirm the hint,
 *    or the picked case's buffer is bad: copy the cases, taking a
 *    reference on each file, drop set->lock and run select's passes 1 to 3
 *    on the copy (select.c), which report errors in case order. A wait
 *    that sleeps holds no lock of the set: another thread may change the
 *    set (the change counts from its next wait) or wait on it meanwhile.
 *    This pass stays a scan of every case: a wait that sleeps must be a
 *    waiter on every channel, as a blocked select is, so that a partner
 *    (a non-blocking send to an unbuffered channel, another select) can
 *    hand it a message; readiness alone cannot serve two selects that
 *    meet on an unbuffered channel.
 *
 * The ready list, as epoll's rdllist: every registered case has an entry
 * (struct chan_selset_entry) on its channel's poll_wq from CTL to removal.
 * chan_poll_wake(), called under ch->lock in the same critical section as
 * every change that may make a case ready, runs chan_selset_wake(), which
 * puts the entry on set->rdlist if the case is ready then. CTL puts a case
 * that is ready when registered on the list itself, after queueing its
 * entry, looking under ch->lock as chan_poll() does. An entry leaves the
 * list only in a wait that finds its case not ready under set->rdlock: a
 * change that made it ready again since was made before its wake callback
 * took set->rdlock, so either the wait sees it or the callback puts the
 * entry back after the wait. So a case that is ready is on the list; the
 * list may hold cases that are no longer ready (the wait drops them).
 *
 * Locking: set->lock, a mutex, protects the case array and its totals. It
 * is held across allocations (the case array, a wait's copy) and CTL's
 * queueing of an entry (poll_wq's lock, then ch->lock, see chan.c's lock
 * order) but never across a user access or a sleep for a partner: so a
 * reader of the set (fdinfo, a ctl, another wait) never waits behind a
 * page fault (userfaultfd, a stalled mapping) of a waiting thread. Files
 * and entries are freed only after set->lock is dropped. set->rdlock, a
 * spinlock (a sleeping lock on PREEMPT_RT, as ch->lock and poll_wq's lock
 * it nests in), protects set->rdlist and the entries' rdlink; it is a
 * leaf, taken by the wake callback under ch->lock and poll_wq's lock, and
 * by CTL and waits (under set->lock).
 *
 * A set file may not travel in a message (names.c): it could hold the very
 * channel it travels in, a reference cycle nothing would break.
 */

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <linux/chan.h>

#include "kchan.h"
#include "trace.h"

struct chan_selset;

/*
 * What a registered case leaves on its channel: a wait queue entry on
 * ch->poll_wq (as epoll's eppoll_entry) that feeds the set's ready list.
 * Constant from CTL to removal but for @rdlink.
 */
struct chan_selset_entry {
	wait_queue_entry_t wait;	/* on ch->poll_wq while registered */
	struct list_head rdlink;	/* [set->rdlock] on set->rdlist, or empty */
	struct chan_selset *set;
	struct chan *ch;
	u32 index;			/* the case's index in the set */
	u8 op;
};

struct chan_selset_case {
	struct file *file;	/* referenced; NULL: a nil case */
	struct chan *ch;	/* file's channel */
	u64 buf;		/* user pointer: message or buffer */
	u32 len;		/* send: message length; recv: room, <= msg_size */
	u8 op;			/* CHAN_OP_SEND or CHAN_OP_RECV */
	struct chan_stage entry;/* struct chan_selset_entry, while @file */
};

struct chan_selset {
	struct mutex lock;		/* protects everything below but rd* */
	struct chan_selset_case *cases;	/* @alloc slots, nil from @ncases */
	struct chan_stage table;	/* @cases, charged to the user's staging */
	u32 alloc;
	u32 ncases;			/* highest non-nil index + 1 */
	size_t staged;			/* sum of the cases' len */
	struct chan_select_rng rng;	/* pass 0's random choice */
	spinlock_t rdlock;		/* protects @rdlist, entries' rdlink */
	struct list_head rdlist;	/* entries of cases that became ready */
};

static const struct file_operations chan_selset_fops;

bool chan_is_selset(const struct file *file)
{
	return file->f_op == &chan_selset_fops;
}

/* ---- CHAN_IOC_SELSET_CTL ---- */

/*
 * Make room for case @index; under set->lock. The table is kernel memory
 * the set keeps while it exists: charged to the caller's staging
 * (limits.c, ENOBUFS), like the buffers of a blocked operation.
 */
static int chan_selset_grow(struct chan_selset *set, u32 index)
{
	u32 alloc = max_t(u32, roundup_pow_of_two(index + 1), 4);
	struct chan_stage table;
	int ret;

	ret = chan_stage_alloc(&table, alloc * sizeof(*set->cases));
	if (ret)
		return ret;
	memset(table.buf, 0, table.size);
	if (set->alloc)
		memcpy(table.buf, set->cases, set->alloc * sizeof(*set->cases));
	chan_stage_free(&set->table);
	set->table = table;
	set->cases = table.buf;
	set->alloc = alloc;
	return 0;
}

/* Check a new case and take a reference to its file. */
static int chan_selset_case_get(struct chan_selset_case *nc,
				const struct chan_selset_ctl *c)
{
	struct file *file;
	struct chan *ch;
	int ret;

	if (c->fd == -1)
		return 0;
	if (c->fd < 0)
		return -EBADF;
	file = fget(c->fd);
	ch = chan_case_channel(file, c->op, c->len);
	if (IS_ERR(ch)) {
		if (file)
			fput(file);
		return PTR_ERR(ch);
	}
	/* Charged to the caller's staging (limits.c), as the table is. */
	ret = chan_stage_alloc(&nc->entry, sizeof(struct chan_selset_entry));
	if (ret) {
		fput(file);
		return ret;
	}
	nc->file = file;
	nc->ch = ch;
	nc->buf = c->buf;
	nc->len = min_t(u64, c->len, ch->msg_size);
	nc->op = c->op;
	return 0;
}

/* Drop what chan_selset_case_get() took; without set->lock. */
static void chan_selset_case_put(struct chan_selset_case *c)
{
	if (!c->file)
		return;
	chan_stage_free(&c->entry);
	fput(c->file);
}

/* The poll events that may make a case of @op ready (chan_poll_key()). */
static __poll_t chan_selset_events(u8 op)
{
	return op == CHAN_OP_RECV ? EPOLLIN : EPOLLOUT;
}

/*
 * The wake callback of an entry, called by chan_poll_wake() under ch->lock
 * (and poll_wq's lock) right after a change that may have made its case
 * ready: put the entry on the set's ready list if it is. Only spinlocks
 * here (PREEMPT_RT: sleeping ones, as the locks held around it).
 */
static int chan_selset_wake(wait_queue_entry_t *wait, unsigned int mode,
			    int sync, void *key)
{
	struct chan_selset_entry *e =
		container_of(wait, struct chan_selset_entry, wait);
	__poll_t events = key_to_poll(key);
	struct chan_selset *set = e->set;

	lockdep_assert_held(&e->ch->lock);
	if (events && !(events & chan_selset_events(e->op)))
		return 0;
	/* exact under ch->lock */
	if (!chan_ready_hint(e->ch, e->op))
		return 0;
	spin_lock(&set->rdlock);
	if (list_empty(&e->rdlink))
		list_add_tail(&e->rdlink, &set->rdlist);
	spin_unlock(&set->rdlock);
	return 0;
}

/*
 * Queue case @index's entry on its channel's poll_wq, and put it on the
 * ready list if it is ready already; under set->lock. The look under
 * ch->lock comes after the queueing, as in chan_poll(): a change made
 * before it is seen, one made after it runs chan_selset_wake().
 */
static void chan_selset_arm(struct chan_selset *set, u32 index)
{
	struct chan_selset_case *c = &set->cases[index];
	struct chan_selset_entry *e = c->entry.buf;
	struct chan *ch = c->ch;

	lockdep_assert_held(&set->lock);
	e->set = set;
	e->ch = ch;
	e->op = c->op;
	e->index = index;
	INIT_LIST_HEAD(&e->rdlink);
	init_waitqueue_func_entry(&e->wait, chan_selset_wake);
	add_wait_queue(&ch->poll_wq, &e->wait);
	spin_lock(&ch->lock);
	if (chan_ready_hint(ch, e->op)) {
		spin_lock(&set->rdlock);
		/* a wakeup since add_wait_queue() may have listed it already */
		if (list_empty(&e->rdlink))
			list_add_tail(&e->rdlink, &set->rdlist);
		spin_unlock(&set->rdlock);
	}
	spin_unlock(&ch->lock);
}

/*
 * Take case @c's entry off its poll_wq (after which no wake callback runs
 * on it) and off the ready list; under set->lock (the set's release needs
 * none: nobody else holds the set).
 */
static void chan_selset_disarm(struct chan_selset *set,
			       struct chan_selset_case *c)
{
	struct chan_selset_entry *e = c->entry.buf;

	if (!c->file)
		return;
	remove_wait_queue(&c->ch->poll_wq, &e->wait);
	spin_lock(&set->rdlock);
	list_del_init(&e->rdlink);
	spin_unlock(&set->rdlock);
}

static long chan_selset_ctl(struct chan_selset *set,
			    struct chan_selset_ctl __user *uc)
{
	struct chan_selset_case nc = {}, old = {};
	struct chan_selset_ctl c;
	size_t staged;
	long ret;

	ret = chan_get_struct(&c, sizeof(c), uc, CHAN_SELSET_CTL_SIZE_VER0);
	if (ret)
		return ret;
	if (c.flags || c.reserved || !chan_op_valid(c.op) ||
	    c.index >= READ_ONCE(chan_max_select_cases))
		return -EINVAL;
	ret = chan_selset_case_get(&nc, &c);
	if (ret)
		return ret;

	ret = -ERESTARTSYS;
	if (mutex_lock_interruptible(&set->lock))
		goto err_put;
	if (c.index >= set->alloc) {
		ret = 0;
		if (!nc.file)
			goto err_unlock;	/* nil already */
		ret = chan_selset_grow(set, c.index);
		if (ret)
			goto err_unlock;
	}
	old = set->cases[c.index];
	staged = set->staged - old.len + nc.len;
	ret = -ENOBUFS;
	if (staged > READ_ONCE(chan_max_select_bytes))
		goto err_unlock;
	chan_selset_disarm(set, &old);
	set->cases[c.index] = nc;
	set->staged = staged;
	if (nc.file) {
		chan_selset_arm(set, c.index);
		set->ncases = max(set->ncases, c.index + 1);
	}
	while (set->ncases && !set->cases[set->ncases - 1].file)
		set->ncases--;
	mutex_unlock(&set->lock);
	chan_selset_case_put(&old);
	return 0;

err_unlock:
	mutex_unlock(&set->lock);
err_put:
	chan_selset_case_put(&nc);
	return ret;
}

/* ---- CHAN_IOC_SELSET_WAIT ---- */

/* Write the fired case's result; returns its index or an error. */
static long chan_selset_report(struct chan_selset_wait __user *uw,
			       struct chan_waiter *w, void __user *ubuf,
			       bool small)
{
	long ret;
	u64 len;
	u32 ok;

	ret = chan_select_finish(w, ubuf, small, &len, &ok);
	if (ret == -EFAULT)
		return ret;
	if (!user_access_begin(uw, sizeof(*uw)))
		return -EFAULT;
	unsafe_put_user((s32)w->index, &uw->index, efault);
	unsafe_put_user(ok, &uw->ok, efault);
	unsafe_put_user(len, &uw->len, efault);
	user_access_end();
	return ret;
efault:
	user_access_end();
	return -EFAULT;
}

/*
 * Pass 0 (see the top), first half, under set->lock: pick one of the cases
 * on the ready list that still look ready, uniformly at random, dropping
 * the others from the list, and copy it with a reference on its file
 * (*@pc), so that the rest runs without set->lock. False when nothing looks
 * ready.
 */
static bool chan_selset_pick(struct chan_selset *set,
			     struct chan_selset_case *pc, u32 *index)
{
	struct chan_selset_entry *e, *tmp, *pick = NULL;
	u32 nready = 0;

	lockdep_assert_held(&set->lock);
	spin_lock(&set->rdlock);
	list_for_each_entry_safe(e, tmp, &set->rdlist, rdlink) {
		/* see the top: a wake after this look puts it back */
		if (!chan_ready_hint(e->ch, e->op)) {
			list_del_init(&e->rdlink);
			continue;
		}
		if (nready++ && chan_select_below(&set->rng, nready))
			continue;
		pick = e;
	}
	spin_unlock(&set->rdlock);
	if (!pick)
		return false;
	*index = pick->index;
	*pc = set->cases[pick->index];
	get_file(pc->file);
	return true;
}

/*
 * Pass 0, second half, without set->lock (user memory may fault): check
 * the picked case's buffer, stage it and try it under its channel's lock,
 * as select's pass 0 does. True when it decided the wait, with its result
 * in *@result; false to take the full path.
 */
static bool chan_selset_fast(const struct chan_selset_case *pc, u32 index,
			     struct chan_selset_wait __user *uw, long *result)
{
	u8 stack_buf[CHAN_STACK_BYTES] __uninitialized;
	struct chan_sel sel;
	struct chan_waiter w = { .sel = &sel };
	void __user *ubuf = u64_to_user_ptr(pc->buf);
	struct chan_stage st;

	chan_sel_init(&sel);
	w.ch = pc->ch;
	w.op = pc->op;
	w.index = index;
	w.len = pc->len;
	/* select's pass 0 checked every recv buffer; here only the pick's */
	if (w.op == CHAN_OP_RECV && chan_probe_writable(ubuf, w.len))
		return false;
	if (!chan_select_try_picked(&w, ubuf, stack_buf, &st))
		return false;
	*result = chan_selset_report(uw, &w, ubuf, w.buf == stack_buf);
	if (w.fd.file)
		chan_inflight_fput(&w.fd);
	chan_stage_free(&st);
	return true;
}

/*
 * Copy the set's cases for select's passes 1 to 3, under set->lock: a
 * reference on each file (dropped by the caller's fdput()), the waiters
 * set up, the visiting order in case order. Returns the number of active
 * cases.
 */
static u32 chan_selset_copy(struct chan_selset *set,
			    struct chan_scase *cases, u32 *order,
			    struct chan_sel *sel)
{
	struct chan_selset_case *c;
	struct chan_scase *sc;
	u32 i, nactive = 0;

	for (i = 0; i < set->ncases; i++) {
		c = &set->cases[i];
		sc = &cases[i];
		sc->f = EMPTY_FD;
		sc->w = (struct chan_waiter){};
		if (!c->file)
			continue;
		sc->f = CLONED_FD(get_file(c->file));
		sc->ubuf = u64_to_user_ptr(c->buf);
		sc->w.sel = sel;
		sc->w.ch = c->ch;
		sc->w.op = c->op;
		sc->w.index = i;
		sc->w.len = c->len;
		order[nactive++] = i;
	}
	return nactive;
}

static long __chan_selset_wait(struct chan_selset *set,
			       struct chan_selset_wait __user *uw, u32 *nset)
{
	struct chan_sel sel;
	struct chan_select_rng rng = {};
	struct chan_scase *cases = NULL;
	struct chan_selset_wait wt;
	struct chan_selset_case pc;
	u32 i, ncases, nactive, *order, index;
	bool picked;
	struct chan_stage block = {}, big_stage = {};
	u8 *stage;
	bool small;
	long ret;

	ret = chan_get_struct(&wt, sizeof(wt), uw, CHAN_SELSET_WAIT_SIZE_VER0);
	if (ret)
		return ret;
	if (wt.flags)
		return -EINVAL;
	chan_sel_init(&sel);
	/* Proves the results can be written before anything moves. */
	if (!user_access_begin(uw, sizeof(*uw)))
		return -EFAULT;
	unsafe_put_user(-1, &uw->index, efault);
	unsafe_put_user(0, &uw->ok, efault);
	unsafe_put_user(0, &uw->len, efault);
	user_access_end();

	if (mutex_lock_interruptible(&set->lock))
		return -ERESTARTSYS;
	*nset = set->ncases;
	picked = chan_selset_pick(set, &pc, &index);
	mutex_unlock(&set->lock);
	if (picked) {
		picked = chan_selset_fast(&pc, index, uw, &ret);
		fput(pc.file);
		if (picked)
			return ret;
	}

	if (mutex_lock_interruptible(&set->lock))
		return -ERESTARTSYS;
	ncases = set->ncases;
	small = true;
	for (i = 0; i < ncases; i++)
		if (set->cases[i].len > CHAN_STACK_BYTES)
			small = false;
	/* Charged to the caller's staging (limits.c): the wait may sleep. */
	ret = chan_stage_alloc(&block, (size_t)ncases * CHAN_SELECT_CASE_BYTES);
	if (ret)
		goto err_unlock;
	if (!small) {
		ret = chan_stage_alloc(&big_stage, set->staged);
		if (ret)
			goto err_unlock;
	}
	cases = block.buf;
	order = (u32 *)(cases + ncases);
	stage = big_stage.buf ?: (u8 *)(order + ncases);
	nactive = chan_selset_copy(set, cases, order, &sel);
	mutex_unlock(&set->lock);

	ret = chan_select_stage(cases, order, nactive, stage, small);
	if (!ret)
		ret = chan_select_run(cases, order, nactive, &sel, &rng,
				      wt.timeout_ns, &uw->timeout_ns);
	if (!ret) {
		ret = chan_selset_report(uw, sel.fired,
					 cases[sel.fired->index].ubuf, small);
		if (sel.fired->fd.file)
			chan_inflight_fput(&sel.fired->fd);
	}
	for (i = 0; i < ncases; i++)
		fdput(cases[i].f);
	chan_stage_free(&big_stage);
	chan_stage_free(&block);
	return ret;

err_unlock:
	mutex_unlock(&set->lock);
	chan_stage_free(&big_stage);
	chan_stage_free(&block);
	return ret;
efault:
	user_access_end();
	return -EFAULT;
}

/* CHAN_IOC_SELSET_WAIT, traced as it returns (chan:chan_selset_wait). */
static long chan_selset_wait(struct chan_selset *set,
			     struct chan_selset_wait __user *uw)
{
	u32 ncases = 0;
	long ret;

	ret = __chan_selset_wait(set, uw, &ncases);
	trace_chan_selset_wait(ncases, ret >= 0 ? (int)ret : -1, ret);
	return ret;
}

/* ---- the set's file ---- */

static long chan_selset_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	struct chan_selset *set = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (CHAN_IOC_MATCH(cmd)) {
	case CHAN_IOC_MATCH(CHAN_IOC_SELSET_CTL):
		return chan_selset_ctl(set, uarg);
	case CHAN_IOC_MATCH(CHAN_IOC_SELSET_WAIT):
		return chan_selset_wait(set, uarg);
	}
	return -ENOTTY;
}

static int chan_selset_release(struct inode *inode, struct file *file)
{
	struct chan_selset *set = file->private_data;
	u32 i;

	for (i = 0; i < set->ncases; i++) {
		chan_selset_disarm(set, &set->cases[i]);
		chan_selset_case_put(&set->cases[i]);
	}
	chan_stage_free(&set->table);
	mutex_destroy(&set->lock);
	kfree(set);
	return 0;
}

static void chan_selset_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct chan_selset *set = file->private_data;
	u32 i, nactive = 0, nready = 0, ncases;
	struct chan_selset_entry *e;
	size_t staged;

	/* Never held across a user access: see Locking at the top. */
	mutex_lock(&set->lock);
	ncases = set->ncases;
	staged = set->staged;
	for (i = 0; i < ncases; i++)
		nactive += !!set->cases[i].file;
	/* the cases on the ready list that look ready: what a wait picks from */
	spin_lock(&set->rdlock);
	list_for_each_entry(e, &set->rdlist, rdlink)
		nready += chan_ready_hint(e->ch, e->op);
	spin_unlock(&set->rdlock);
	mutex_unlock(&set->lock);
	seq_printf(m, "cases:\t%u\nactive:\t%u\nstaged:\t%zu\nready:\t%u\n",
		   ncases, nactive, staged, nready);
}

static const struct file_operations chan_selset_fops = {
	.owner		= THIS_MODULE,
	.release	= chan_selset_release,
	.unlocked_ioctl	= chan_selset_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
	.show_fdinfo	= chan_selset_show_fdinfo,
};

/* CHAN_IOC_SELSET_CREATE on /dev/chan: a new, empty set. */
long chan_selset_create_ioctl(struct chan_selset_create __user *uc)
{
	struct chan_selset_create c;
	struct chan_selset *set;
	int fd;

	fd = chan_get_struct(&c, sizeof(c), uc, CHAN_SELSET_CREATE_SIZE_VER0);
	if (fd)
		return fd;
	if (c.flags & ~CHAN_CLOEXEC)
		return -EINVAL;
	set = kzalloc(sizeof(*set), GFP_KERNEL_ACCOUNT);
	if (!set)
		return -ENOMEM;
	mutex_init(&set->lock);
	spin_lock_init(&set->rdlock);
	INIT_LIST_HEAD(&set->rdlist);
	fd = anon_inode_getfd("[chan_selset]", &chan_selset_fops, set,
			      O_RDWR | (c.flags & CHAN_CLOEXEC ? O_CLOEXEC : 0));
	if (fd < 0) {
		mutex_destroy(&set->lock);
		kfree(set);
	}
	return fd;
}
