// SPDX-License-Identifier: GPL-2.0
/*
 * kchan: Go channels as a kernel object.
 *
 * This file registers the misc device /dev/chan, holds the limits an admin
 * can change and creates channels (CHAN_IOC_CREATE). The channel object is
 * in chan.c (locking rules at its top), select in select.c.
 */

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/uaccess.h>

#include <linux/chan.h>

#include "kchan.h"

unsigned int chan_max_msg_size = 65536;
module_param_named(max_msg_size, chan_max_msg_size, uint, 0644);
MODULE_PARM_DESC(max_msg_size, "Largest msg_size of a channel (bytes)");

unsigned int chan_max_capacity = 65536;
module_param_named(max_capacity, chan_max_capacity, uint, 0644);
MODULE_PARM_DESC(max_capacity, "Largest capacity of a channel (messages)");

unsigned long chan_max_chan_bytes = 16UL << 20;
module_param_named(max_chan_bytes, chan_max_chan_bytes, ulong, 0644);
MODULE_PARM_DESC(max_chan_bytes, "Largest capacity * msg_size of a channel");

unsigned int chan_max_select_cases = 4096;
module_param_named(max_select_cases, chan_max_select_cases, uint, 0644);
MODULE_PARM_DESC(max_select_cases, "Most cases in one select");

unsigned long chan_max_select_bytes = 16UL << 20;
module_param_named(max_select_bytes, chan_max_select_bytes, ulong, 0644);
MODULE_PARM_DESC(max_select_bytes, "Most message bytes one select may stage");

unsigned int chan_max_user_channels = 65536;
module_param_named(max_user_channels, chan_max_user_channels, uint, 0644);
MODULE_PARM_DESC(max_user_channels,
		 "Most channels one user may have (CAP_SYS_RESOURCE exempt)");

unsigned long chan_max_user_bytes = 256UL << 20;
module_param_named(max_user_bytes, chan_max_user_bytes, ulong, 0644);
MODULE_PARM_DESC(max_user_bytes,
		 "Most bytes one user's channels may hold: 1 KiB each plus capacity * (msg_size + 4, + 16 with CHAN_FDPASS) (CAP_SYS_RESOURCE exempt)");

unsigned long chan_max_user_staging_bytes = 64UL << 20;
module_param_named(max_user_staging_bytes, chan_max_user_staging_bytes,
		   ulong, 0644);
MODULE_PARM_DESC(max_user_staging_bytes,
		 "Most kernel buffer bytes one user's operations in progress (blocked sends, receives, selects, batches, set waits) and select set tables may hold (CAP_SYS_RESOURCE exempt)");

static long chan_ioctl_create(struct chan_create __user *uc)
{
	struct chan_create c;
	struct file *file;
	int ret, fd;

	ret = chan_copy_struct(&c, sizeof(c), uc, CHAN_CREATE_SIZE_VER0);
	if (ret)
		return ret;
	if (c.reserved || (c.flags & ~(CHAN_CLOEXEC | CHAN_NONBLOCK |
					CHAN_FDPASS | CHAN_AUTOCLOSE)))
		return -EINVAL;
	/* Only a name can hold a channel open or have permission bits. */
	if (!c.name && (c.mode || (c.flags & CHAN_AUTOCLOSE)))
		return -EINVAL;
	ret = chan_check_limits(c.capacity, c.msg_size);
	if (ret)
		return ret;
	if (c.name)
		return chan_name_create(&c);

	fd = get_unused_fd_flags(c.flags & CHAN_CLOEXEC ? O_CLOEXEC : 0);
	if (fd < 0)
		return fd;
	file = chan_create(c.capacity, c.msg_size, c.flags, CHAN_RIGHT_BOTH,
			   NULL);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		return PTR_ERR(file);
	}
	fd_install(fd, file);
	return fd;
}

static long chan_dev_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (CHAN_IOC_MATCH(cmd)) {
	case CHAN_IOC_MATCH(CHAN_IOC_CREATE):
		return chan_ioctl_create(uarg);
	case CHAN_IOC_MATCH(CHAN_IOC_SELECT):
		return chan_select_ioctl(uarg);
	case CHAN_IOC_MATCH(CHAN_IOC_CALL):
		return chan_call_ioctl(uarg);
	case CHAN_IOC_MATCH(CHAN_IOC_SELSET_CREATE):
		return chan_selset_create_ioctl(uarg);
	case CHAN_IOC_MATCH(CHAN_IOC_OPEN):
		return chan_open_ioctl(uarg);
	case CHAN_IOC_MATCH(CHAN_IOC_UNLINK):
		return chan_unlink_ioctl(uarg);
	case CHAN_IOC_MATCH(CHAN_IOC_TIMER):
		return chan_timer_create_ioctl(uarg);
	}
	return -ENOTTY;
}

static const struct file_operations chan_dev_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= chan_dev_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

/*
 * A fixed minor, so that /dev/chan can exist before the module is loaded
 * and opening it loads the module, as /dev/fuse and /dev/loop-control do:
 * depmod turns the devname alias below into modules.devname, from which
 * `kmod static-nodes` (systemd-tmpfiles-setup-dev at boot) creates the
 * node; misc_open() then asks for "char-major-10-CHAN_MINOR". 246 is in
 * the 243-254 range Documentation/admin-guide/devices.txt reserves for
 * local use: no in-tree driver takes it (include/linux/miscdevice.h), and
 * it is outside the ranges misc_register() hands out dynamically (0-127,
 * then above 255).
 */
#define CHAN_MINOR	246

static struct miscdevice chan_misc = {
	.minor	= CHAN_MINOR,
	.name	= "chan",
	.fops	= &chan_dev_fops,
	.mode	= 0666,
};

static int __init chan_init(void)
{
	int ret;

	/* The UAPI's flag words share their bits with O_CLOEXEC, O_NONBLOCK. */
	BUILD_BUG_ON(CHAN_CLOEXEC != O_CLOEXEC || CHAN_NONBLOCK != O_NONBLOCK);
	BUILD_BUG_ON((CHAN_FDPASS | CHAN_AUTOCLOSE) & (O_CLOEXEC | O_NONBLOCK));

	ret = chan_proc_init();
	if (ret)
		return ret;
	ret = misc_register(&chan_misc);
	if (ret)
		goto err_proc;
	return 0;

err_proc:
	chan_proc_exit();
	return ret;
}

/* No file of ours is open, so only names still hold channels. */
static void __exit chan_exit(void)
{
	misc_deregister(&chan_misc);
	chan_proc_exit();
	chan_names_exit();
}

module_init(chan_init);
module_exit(chan_exit);

MODULE_DESCRIPTION("kchan: Go channels as a kernel object (/dev/chan)");
MODULE_AUTHOR("kchan developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(KCHAN_VERSION);
MODULE_ALIAS_MISCDEV(CHAN_MINOR);
MODULE_ALIAS("devname:chan");
