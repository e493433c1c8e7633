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
 * 0. Under set->lock, look at every case with chan_ready_hint() only and
 *    pick one of those that look ready uniformly at random (reservoir
 *    sampling), taking a reference on its file; then, without set->lock,
 *    check its buffer, stage it and try it under its channel's lock, as
 *    select's fast path does (select.c). A few loads per case.
 * 1. Nothing looks ready, the lock does not confirm the hint, or the
 *    picked case's buffer is bad: copy the cases, taking a reference on
 *    each file, drop set->lock and run select's passes 1 to 3 on the copy
 *    (select.c), which report errors in case order. A wait that sleeps
 *    holds no lock of the set: another thread may change the set (the
 *    change counts from its next wait) or wait on it meanwhile.
 *
 * Locking: set->lock, a mutex, protects the case array and its totals. It
 * is held across allocations (the case array, a wait's copy) but never
 * across a user access or a sleep for a partner, and no channel lock is
 * taken under it: so a reader of the set (fdinfo, a ctl, another wait)
 * never waits behind a page fault (userfaultfd, a stalled mapping) of a
 * waiting thread. Files are put only after set->lock is dropped.
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

struct chan_selset_case {
	struct file *file;	/* referenced; NULL: a nil case */
	struct chan *ch;	/* file's channel, for the readiness scan */
	u64 buf;		/* user pointer: message or buffer */
	u32 len;		/* send: message length; recv: room, <= msg_size */
	u8 op;			/* CHAN_OP_SEND or CHAN_OP_RECV */
};

struct chan_selset {
	struct mutex lock;		/* protects everything below */
	struct chan_selset_case *cases;	/* @alloc slots, nil from @ncases */
	struct chan_stage table;	/* @cases, charged to the user's staging */
	u32 alloc;
	u32 ncases;			/* highest non-nil index + 1 */
	size_t staged;			/* sum of the cases' len */
	struct chan_select_rng rng;	/* the scan's random choice */
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
	nc->file = file;
	nc->ch = ch;
	nc->buf = c->buf;
	nc->len = min_t(u64, c->len, ch->msg_size);
	nc->op = c->op;
	return 0;
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
	set->cases[c.index] = nc;
	set->staged = staged;
	if (nc.file)
		set->ncases = max(set->ncases, c.index + 1);
	while (set->ncases && !set->cases[set->ncases - 1].file)
		set->ncases--;
	mutex_unlock(&set->lock);
	if (old.file)
		fput(old.file);
	return 0;

err_unlock:
	mutex_unlock(&set->lock);
err_put:
	if (nc.file)
		fput(nc.file);
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
 * that look ready, uniformly at random, and copy it with a reference on its
 * file (*@pc), so that the rest runs without set->lock. False when nothing
 * looks ready.
 */
static bool chan_selset_pick(struct chan_selset *set,
			     struct chan_selset_case *pc, u32 *index)
{
	struct chan_selset_case *c, *pick = NULL;
	u32 i, nready = 0;

	lockdep_assert_held(&set->lock);
	for (i = 0; i < set->ncases; i++) {
		c = &set->cases[i];
		if (!c->ch || !chan_ready_hint(c->ch, c->op))
			continue;
		if (nready++ && chan_select_below(&set->rng, nready))
			continue;
		pick = c;
	}
	if (!pick)
		return false;
	*pc = *pick;
	get_file(pc->file);
	*index = pick - set->cases;
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

	for (i = 0; i < set->ncases; i++)
		if (set->cases[i].file)
			fput(set->cases[i].file);
	chan_stage_free(&set->table);
	mutex_destroy(&set->lock);
	kfree(set);
	return 0;
}

static void chan_selset_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct chan_selset *set = file->private_data;
	u32 i, nactive = 0, ncases;
	size_t staged;

	/* Never held across a user access: see Locking at the top. */
	mutex_lock(&set->lock);
	ncases = set->ncases;
	staged = set->staged;
	for (i = 0; i < ncases; i++)
		nactive += !!set->cases[i].file;
	mutex_unlock(&set->lock);
	seq_printf(m, "cases:\t%u\nactive:\t%u\nstaged:\t%zu\n",
		   ncases, nactive, staged);
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
	fd = anon_inode_getfd("[chan_selset]", &chan_selset_fops, set,
			      O_RDWR | (c.flags & CHAN_CLOEXEC ? O_CLOEXEC : 0));
	if (fd < 0) {
		mutex_destroy(&set->lock);
		kfree(set);
	}
	return fd;
}
