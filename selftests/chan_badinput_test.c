// SPDX-License-Identifier: GPL-2.0
/*
 * kchan bad input: struct sizes (copy_struct_from_user rules), unknown
 * flags and reserved fields, bad user pointers (EFAULT with nothing moved),
 * odd timeouts, ioctls on the wrong kind of fd, the fd field of a message.
 */
#include <sys/eventfd.h>

#include "kchan_test.h"

#define PAGE kc_page()

static int dev_open(void)
{
	return open(CHAN_DEVICE, O_RDWR | O_CLOEXEC);
}

/* ---- struct sizes, for every struct that carries one ---------------------- */

enum kind {
	K_CREATE, K_SEND, K_RECV, K_INFO, K_DUP, K_SBATCH, K_RBATCH,
	K_SELECT, K_OPEN, K_UNLINK,
};

FIXTURE(sz) {
	int dev;
	int ch;
	int named;		/* K_UNLINK: the channel whose name goes */
	char name[64];		/* K_OPEN, K_UNLINK */
	unsigned char *buf;	/* 3 pages, zeroed, the struct at offset 0 */
};

FIXTURE_VARIANT(sz) {
	enum kind kind;
	size_t size;		/* the kernel's (first published) size */
};

FIXTURE_VARIANT_ADD(sz, create) { .kind = K_CREATE, .size = CHAN_CREATE_SIZE_VER0 };
FIXTURE_VARIANT_ADD(sz, send) { .kind = K_SEND, .size = CHAN_MSG_SIZE_VER0 };
FIXTURE_VARIANT_ADD(sz, recv) { .kind = K_RECV, .size = CHAN_MSG_SIZE_VER0 };
FIXTURE_VARIANT_ADD(sz, info) { .kind = K_INFO, .size = CHAN_INFO_SIZE_VER0 };
FIXTURE_VARIANT_ADD(sz, dup) { .kind = K_DUP, .size = CHAN_DUP_SIZE_VER0 };
FIXTURE_VARIANT_ADD(sz, send_batch) { .kind = K_SBATCH, .size = CHAN_BATCH_SIZE_VER0 };
FIXTURE_VARIANT_ADD(sz, recv_batch) { .kind = K_RBATCH, .size = CHAN_BATCH_SIZE_VER0 };
FIXTURE_VARIANT_ADD(sz, select) { .kind = K_SELECT, .size = CHAN_SELECT_SIZE_VER0 };
FIXTURE_VARIANT_ADD(sz, open) { .kind = K_OPEN, .size = CHAN_OPEN_SIZE_VER0 };
FIXTURE_VARIANT_ADD(sz, unlink) { .kind = K_UNLINK, .size = CHAN_UNLINK_SIZE_VER0 };

static uint32_t payload = 0x5a5a5a5a;
static uint32_t rbuf;
static struct chan_iovec sz_iov;
static struct chan_select_case sz_case;

/* Kinds that find one message buffered and take it when they succeed. */
static bool sz_takes_message(enum kind kind)
{
	return kind == K_RECV || kind == K_RBATCH || kind == K_SELECT;
}

/* 1 if a channel of that name exists, 0 if not, -errno on other errors. */
static int sz_name_exists(int dev, const char *name)
{
	struct chan_open o = {
		.size = sizeof(o), .oflag = O_RDWR | O_CLOEXEC,
		.name = (uintptr_t)name,
	};
	int fd = ioctl(dev, CHAN_IOC_OPEN, &o);

	if (fd >= 0) {
		close(fd);
		return 1;
	}
	return errno == ENOENT ? 0 : -errno;
}

static void sz_unlink(int dev, const char *name)
{
	struct chan_unlink u = { .size = sizeof(u), .name = (uintptr_t)name };

	ioctl(dev, CHAN_IOC_UNLINK, &u);
}

FIXTURE_SETUP(sz)
{
	self->dev = dev_open();
	ASSERT_GE(self->dev, 0);
	self->ch = kc_create(2, 4);
	ASSERT_GE(self->ch, 0);
	self->buf = calloc(1, 3 * PAGE);
	ASSERT_NE(NULL, self->buf);
	if (sz_takes_message(variant->kind))
		ASSERT_EQ(0, kc_send_u32(self->ch, 77, 0));
	snprintf(self->name, sizeof(self->name), "kc-badinput-sz-%d", getpid());
	self->named = -1;
	if (variant->kind == K_UNLINK) {
		struct chan_create c = {
			.size = sizeof(c), .capacity = 1, .msg_size = 4,
			.name = (uintptr_t)self->name, .mode = 0600,
		};

		self->named = ioctl(self->dev, CHAN_IOC_CREATE, &c);
		ASSERT_LE(0, self->named);
	}
}

FIXTURE_TEARDOWN(sz)
{
	sz_unlink(self->dev, self->name);
	if (self->named >= 0)
		close(self->named);
	free(self->buf);
	close(self->ch);
	close(self->dev);
}

/* Fill a valid struct of this kind at self->buf, size field = size. */
static void sz_fill(FIXTURE_DATA(sz) *self, enum kind kind, uint32_t size)
{
	switch (kind) {
	case K_CREATE: {
		struct chan_create c = { .size = size, .capacity = 1, .msg_size = 4 };

		memcpy(self->buf, &c, sizeof(c));
		break;
	}
	case K_SEND:
	case K_RECV: {
		struct chan_msg m;

		kc_msg_init(&m, kind == K_SEND ? (void *)&payload : (void *)&rbuf,
			    4, 0);
		m.size = size;
		memcpy(self->buf, &m, sizeof(m));
		break;
	}
	case K_INFO: {
		struct chan_info i = { .size = size };

		memcpy(self->buf, &i, sizeof(i));
		break;
	}
	case K_DUP: {
		struct chan_dup d = { .size = size, .rights = CHAN_RIGHT_SEND };

		memcpy(self->buf, &d, sizeof(d));
		break;
	}
	case K_SBATCH:
	case K_RBATCH: {
		struct chan_batch b = {
			.size = size, .msgs = (uintptr_t)&sz_iov, .n = 1,
		};

		sz_iov.buf = (uintptr_t)(kind == K_SBATCH ? &payload : &rbuf);
		sz_iov.len = 4;
		memcpy(self->buf, &b, sizeof(b));
		break;
	}
	case K_SELECT: {
		struct chan_select sel = {
			.size = size, .cases = (uintptr_t)&sz_case, .ncases = 1,
			.case_size = sizeof(struct chan_select_case),
		};

		sz_case = (struct chan_select_case){
			.fd = self->ch, .op = CHAN_OP_RECV,
			.buf = (uintptr_t)&rbuf, .len = 4,
		};
		memcpy(self->buf, &sel, sizeof(sel));
		break;
	}
	case K_OPEN: {
		struct chan_open o = {
			.size = size, .oflag = O_RDWR | O_CREAT | O_CLOEXEC,
			.name = (uintptr_t)self->name, .mode = 0600,
			.capacity = 1, .msg_size = 4,
		};

		memcpy(self->buf, &o, sizeof(o));
		break;
	}
	case K_UNLINK: {
		struct chan_unlink u = {
			.size = size, .name = (uintptr_t)self->name,
		};

		memcpy(self->buf, &u, sizeof(u));
		break;
	}
	}
}

/* Issue the ioctl; returns its result or -errno; closes any new fd. */
static int sz_call(FIXTURE_DATA(sz) *self, enum kind kind)
{
	static const unsigned long cmd[] = {
		[K_CREATE] = CHAN_IOC_CREATE, [K_SEND] = CHAN_IOC_SEND,
		[K_RECV] = CHAN_IOC_RECV, [K_INFO] = CHAN_IOC_INFO,
		[K_DUP] = CHAN_IOC_DUP, [K_SBATCH] = CHAN_IOC_SEND_BATCH,
		[K_RBATCH] = CHAN_IOC_RECV_BATCH, [K_SELECT] = CHAN_IOC_SELECT,
		[K_OPEN] = CHAN_IOC_OPEN, [K_UNLINK] = CHAN_IOC_UNLINK,
	};
	bool on_dev = kind == K_CREATE || kind == K_OPEN || kind == K_UNLINK;
	int r = ioctl(on_dev ? self->dev : self->ch, cmd[kind], self->buf);

	if (r < 0)
		return -errno;
	if (kind == K_CREATE || kind == K_DUP || kind == K_OPEN)
		close(r);
	return r;
}

/* What moved on the channel: buffered count (send adds, recv takes). */
static long long sz_len(FIXTURE_DATA(sz) *self)
{
	return KC_INFO(self->ch, len);
}

static long long sz_len_before(const FIXTURE_VARIANT(sz) *variant)
{
	return sz_takes_message(variant->kind) ? 1 : 0;
}

/* A failed call left the name space as it was: only K_UNLINK made one. */
#define EXPECT_NAMES_UNCHANGED()					\
	EXPECT_EQ(variant->kind == K_UNLINK,				\
		  sz_name_exists(self->dev, self->name))

TEST_F(sz, size_zero_einval)
{
	sz_fill(self, variant->kind, 0);
	EXPECT_EQ(-EINVAL, sz_call(self, variant->kind));
	EXPECT_EQ(sz_len_before(variant), sz_len(self));
	EXPECT_NAMES_UNCHANGED();
}

TEST_F(sz, size_too_small_einval)
{
	sz_fill(self, variant->kind, variant->size - 4);
	EXPECT_EQ(-EINVAL, sz_call(self, variant->kind));
	sz_fill(self, variant->kind, 4);
	EXPECT_EQ(-EINVAL, sz_call(self, variant->kind));
	EXPECT_EQ(sz_len_before(variant), sz_len(self));
	EXPECT_NAMES_UNCHANGED();
}

TEST_F(sz, size_larger_nonzero_tail_e2big)
{
	sz_fill(self, variant->kind, variant->size + 16);
	self->buf[variant->size + 9] = 1;
	EXPECT_EQ(-E2BIG, sz_call(self, variant->kind));
	EXPECT_EQ(sz_len_before(variant), sz_len(self));
	EXPECT_NAMES_UNCHANGED();
}

TEST_F(sz, size_larger_zero_tail_ok)
{
	int r;

	sz_fill(self, variant->kind, variant->size + 16);
	r = sz_call(self, variant->kind);
	ASSERT_LE(0, r);
	switch (variant->kind) {
	case K_SEND:
		EXPECT_EQ(1, sz_len(self));
		break;
	case K_RECV:
		EXPECT_EQ(0, sz_len(self));
		EXPECT_EQ(77, rbuf);
		EXPECT_EQ(1, ((struct chan_msg *)self->buf)->ok);
		break;
	case K_SBATCH:
		EXPECT_EQ(1, r);
		EXPECT_EQ(1, sz_len(self));
		break;
	case K_RBATCH:
		EXPECT_EQ(1, r);
		EXPECT_EQ(0, sz_len(self));
		EXPECT_EQ(77, rbuf);
		EXPECT_EQ(4, sz_iov.len);
		break;
	case K_INFO:
		/* size out: the bytes the kernel filled. */
		EXPECT_EQ(CHAN_INFO_SIZE_VER0, ((struct chan_info *)self->buf)->size);
		EXPECT_EQ(2, ((struct chan_info *)self->buf)->capacity);
		break;
	case K_SELECT:
		EXPECT_EQ(0, r);
		EXPECT_EQ(0, sz_len(self));
		EXPECT_EQ(77, rbuf);
		EXPECT_EQ(1, sz_case.ok);
		break;
	case K_OPEN:
		EXPECT_EQ(1, sz_name_exists(self->dev, self->name));
		break;
	case K_UNLINK:
		EXPECT_EQ(0, sz_name_exists(self->dev, self->name));
		break;
	default:
		break;
	}
}

TEST_F(sz, size_over_page_e2big)
{
	sz_fill(self, variant->kind, PAGE + 8);
	EXPECT_EQ(-E2BIG, sz_call(self, variant->kind));
	EXPECT_EQ(sz_len_before(variant), sz_len(self));
	EXPECT_NAMES_UNCHANGED();
}

TEST_F(sz, size_exact_ok)
{
	sz_fill(self, variant->kind, variant->size);
	ASSERT_LE(0, sz_call(self, variant->kind));
}

/* ---- unknown flags and reserved fields ------------------------------------ */

TEST(create_unknown_flag_bits_einval)
{
	int dev = dev_open(), bit;

	ASSERT_GE(dev, 0);
	for (bit = 0; bit < 32; bit++) {
		struct chan_create c = {
			.size = sizeof(c), .flags = 1U << bit,
			.capacity = 1, .msg_size = 4,
		};

		/* the known ones (CHAN_AUTOCLOSE needs a name: EINVAL here) */
		if ((1U << bit) & (CHAN_CLOEXEC | CHAN_NONBLOCK | CHAN_FDPASS))
			continue;
		errno = 0;
		EXPECT_EQ(-1, ioctl(dev, CHAN_IOC_CREATE, &c))
			TH_LOG("flag bit %d accepted", bit);
		EXPECT_EQ(EINVAL, errno);
	}
	close(dev);
}

TEST(create_reserved_nonzero_einval)
{
	struct chan_create c = {
		.size = sizeof(c), .capacity = 1, .msg_size = 4, .reserved = 1,
	};
	int dev = dev_open();

	ASSERT_GE(dev, 0);
	EXPECT_EQ(-1, ioctl(dev, CHAN_IOC_CREATE, &c));
	EXPECT_EQ(EINVAL, errno);
	c.reserved = 0x80000000U;
	EXPECT_EQ(-1, ioctl(dev, CHAN_IOC_CREATE, &c));
	EXPECT_EQ(EINVAL, errno);
	close(dev);
}

TEST(create_mode_without_name_einval)
{
	struct chan_create c = {
		.size = sizeof(c), .capacity = 1, .msg_size = 4, .mode = 0600,
	};
	int dev = dev_open();

	ASSERT_GE(dev, 0);
	EXPECT_EQ(-1, ioctl(dev, CHAN_IOC_CREATE, &c));
	EXPECT_EQ(EINVAL, errno);
	close(dev);
}

static void msg_flag_bits(struct __test_metadata *_metadata, int recv)
{
	uint32_t v = 3;
	int fd = kc_create(2, 4), bit;
	struct chan_msg m;

	ASSERT_GE(fd, 0);
	if (recv)
		ASSERT_EQ(0, kc_send_u32(fd, 3, 0));
	for (bit = 1; bit < 32; bit++) {
		kc_msg_init(&m, &v, sizeof(v), 0);
		m.flags = 1U << bit;
		errno = 0;
		EXPECT_EQ(-1, ioctl(fd, recv ? CHAN_IOC_RECV : CHAN_IOC_SEND, &m))
			TH_LOG("flag bit %d accepted", bit);
		EXPECT_EQ(EINVAL, errno);
	}
	/* Nothing moved. */
	EXPECT_EQ(recv ? 1 : 0, KC_INFO(fd, len));
	close(fd);
}

TEST(send_unknown_flag_bits_einval)
{
	msg_flag_bits(_metadata, 0);
}

TEST(recv_unknown_flag_bits_einval)
{
	msg_flag_bits(_metadata, 1);
}

TEST(dup_unknown_flag_bits_einval)
{
	int fd = kc_create(1, 4), bit;

	ASSERT_GE(fd, 0);
	/* CHAN_FDPASS, CHAN_AUTOCLOSE are create flags, not dup flags. */
	for (bit = 0; bit < 32; bit++) {
		if ((1U << bit) & (CHAN_CLOEXEC | CHAN_NONBLOCK))
			continue;
		EXPECT_EQ(-EINVAL, kc_dup_flags(fd, CHAN_RIGHT_SEND, 1U << bit))
			TH_LOG("flag bit %d accepted", bit);
	}
	EXPECT_EQ(1, KC_INFO(fd, send_handles));
	close(fd);
}

TEST(dup_reserved_nonzero_einval)
{
	struct chan_dup d = {
		.size = sizeof(d), .rights = CHAN_RIGHT_SEND, .reserved = 1,
	};
	int fd = kc_create(1, 4);

	ASSERT_GE(fd, 0);
	EXPECT_EQ(-1, ioctl(fd, CHAN_IOC_DUP, &d));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

/* ---- bad user pointers: EFAULT, and nothing moves ------------------------- */

static void *unmapped_page(void)
{
	void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	munmap(p, PAGE);
	return p;
}

static void *readonly_page(void)
{
	void *p = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

TEST(send_null_buffer_efault)
{
	int fd = kc_create(2, 16);

	ASSERT_GE(fd, 0);
	EXPECT_EQ(-EFAULT, kc_send(fd, NULL, 8, 0));
	EXPECT_EQ(-EFAULT, kc_send(fd, NULL, 8, -1));
	EXPECT_EQ(0, KC_INFO(fd, len));
	EXPECT_EQ(0, KC_INFO(fd, sent));
	close(fd);
}

TEST(send_unmapped_buffer_efault)
{
	void *bad = unmapped_page();
	int fd = kc_create(2, 16);

	ASSERT_GE(fd, 0);
	ASSERT_NE(NULL, bad);
	EXPECT_EQ(-EFAULT, kc_send(fd, bad, 16, 0));
	EXPECT_EQ(0, KC_INFO(fd, len));
	close(fd);
}

TEST(send_bad_buffer_to_parked_receiver_efault)
{
	int fd = kc_create(0, 16);
	uint32_t v;
	pid_t pid;

	ASSERT_GE(fd, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(kc_recv_u32(fd, &v, -1) == 1 && v == 6 ? KC_OK : KC_FAIL);
	ASSERT_EQ(0, KC_WAIT(fd, recv_waiters, 1));
	EXPECT_EQ(-EFAULT, kc_send(fd, NULL, 4, 0));
	/* The receiver got nothing and is still waiting. */
	EXPECT_EQ(1, KC_INFO(fd, recv_waiters));
	EXPECT_EQ(0, KC_INFO(fd, received));
	ASSERT_EQ(0, kc_send_u32(fd, 6, 0));
	EXPECT_EQ(0, kc_reap(pid));
	close(fd);
}

TEST(recv_null_buffer_efault_message_stays)
{
	uint32_t v;
	int fd = kc_create(2, 4);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	EXPECT_EQ(-EFAULT, kc_recv(fd, NULL, 4, NULL, 0));
	EXPECT_EQ(1, KC_INFO(fd, len));
	EXPECT_EQ(0, KC_INFO(fd, received));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(1, v);
	close(fd);
}

TEST(recv_readonly_buffer_efault_message_stays)
{
	void *ro = readonly_page();
	uint32_t v;
	int fd = kc_create(2, 4);

	ASSERT_GE(fd, 0);
	ASSERT_NE(NULL, ro);
	ASSERT_EQ(0, kc_send_u32(fd, 2, 0));
	EXPECT_EQ(-EFAULT, kc_recv(fd, ro, 4, NULL, 0));
	EXPECT_EQ(1, KC_INFO(fd, len));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(2, v);
	munmap(ro, PAGE);
	close(fd);
}

TEST(recv_buffer_straddling_unmapped_page_efault)
{
	char *two = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char msg[16] = "0123456789abcdef", in[16];
	int fd = kc_create(2, 16);
	size_t len = 0;

	ASSERT_NE(MAP_FAILED, two);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, munmap(two + PAGE, PAGE));
	ASSERT_EQ(0, kc_send(fd, msg, 16, 0));
	/* First 8 bytes writable, the rest not. */
	EXPECT_EQ(-EFAULT, kc_recv(fd, two + PAGE - 8, 16, &len, 0));
	EXPECT_EQ(1, KC_INFO(fd, len));
	ASSERT_EQ(1, kc_recv(fd, in, sizeof(in), &len, 0));
	EXPECT_EQ(16, len);
	EXPECT_EQ(0, memcmp(in, msg, 16));
	munmap(two, PAGE);
	close(fd);
}

TEST(recv_bad_buffer_parked_sender_keeps_waiting)
{
	int fd = kc_create(0, 4);
	uint32_t v;
	pid_t pid;

	ASSERT_GE(fd, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(kc_send_u32(fd, 4, -1) ? KC_FAIL : KC_OK);
	ASSERT_EQ(0, KC_WAIT(fd, send_waiters, 1));
	EXPECT_EQ(-EFAULT, kc_recv(fd, NULL, 4, NULL, 0));
	EXPECT_EQ(1, KC_INFO(fd, send_waiters));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(4, v);
	EXPECT_EQ(0, kc_reap(pid));
	close(fd);
}

TEST(recv_readonly_struct_efault_message_stays)
{
	struct chan_msg *ro;
	uint32_t v = 0, in;
	int fd = kc_create(2, 4);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_send_u32(fd, 9, 0));
	/* A readable struct the kernel cannot write len/ok back into. */
	ro = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	kc_msg_init(ro, &v, sizeof(v), 0);
	ASSERT_EQ(0, mprotect(ro, PAGE, PROT_READ));
	EXPECT_EQ(-1, ioctl(fd, CHAN_IOC_RECV, ro));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(1, KC_INFO(fd, len));
	EXPECT_EQ(0, KC_INFO(fd, received));
	ASSERT_EQ(1, kc_recv_u32(fd, &in, 0));
	EXPECT_EQ(9, in);
	munmap(ro, PAGE);
	close(fd);
}

TEST(read_readonly_buffer_efault_message_stays)
{
	void *ro = readonly_page();
	uint32_t v;
	int fd = kc_create(2, 4);

	ASSERT_GE(fd, 0);
	ASSERT_NE(NULL, ro);
	ASSERT_EQ(0, kc_send_u32(fd, 5, 0));
	EXPECT_EQ(-1, read(fd, ro, 4));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(1, KC_INFO(fd, len));
	ASSERT_EQ(sizeof(v), read(fd, &v, sizeof(v)));
	EXPECT_EQ(5, v);
	munmap(ro, PAGE);
	close(fd);
}

TEST(write_unmapped_buffer_efault)
{
	void *bad = unmapped_page();
	int fd = kc_create(2, 4);

	ASSERT_GE(fd, 0);
	ASSERT_NE(NULL, bad);
	EXPECT_EQ(-1, write(fd, bad, 4));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(0, KC_INFO(fd, len));
	EXPECT_EQ(0, KC_INFO(fd, sent));
	close(fd);
}

TEST(null_struct_pointers_efault)
{
	int dev = dev_open(), fd = kc_create(2, 4);

	ASSERT_GE(dev, 0);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	errno = 0;
	EXPECT_EQ(-1, ioctl(dev, CHAN_IOC_CREATE, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(fd, CHAN_IOC_SEND, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(fd, CHAN_IOC_RECV, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(fd, CHAN_IOC_INFO, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(fd, CHAN_IOC_DUP, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(1, KC_INFO(fd, len));
	close(fd);
	close(dev);
}

TEST(unmapped_struct_pointers_efault)
{
	void *bad = unmapped_page();
	int dev = dev_open(), fd = kc_create(2, 4);

	ASSERT_NE(NULL, bad);
	ASSERT_GE(dev, 0);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	EXPECT_EQ(-1, ioctl(dev, CHAN_IOC_CREATE, bad));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(fd, CHAN_IOC_SEND, bad));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(fd, CHAN_IOC_RECV, bad));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(fd, CHAN_IOC_INFO, bad));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(1, KC_INFO(fd, len));
	close(fd);
	close(dev);
}

TEST(info_readonly_struct_efault)
{
	struct chan_info *ro;
	int fd = kc_create(2, 4);

	ASSERT_GE(fd, 0);
	ro = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	ro->size = sizeof(*ro);
	ASSERT_EQ(0, mprotect(ro, PAGE, PROT_READ));
	EXPECT_EQ(-1, ioctl(fd, CHAN_IOC_INFO, ro));
	EXPECT_EQ(EFAULT, errno);
	munmap(ro, PAGE);
	close(fd);
}

TEST(create_bad_name_pointer_efault)
{
	struct chan_create c = {
		.size = sizeof(c), .capacity = 1, .msg_size = 4,
	};
	int dev = dev_open(), probe;

	ASSERT_GE(dev, 0);
	/* Named channels (issue 5) may not exist yet: then skip. */
	c.name = (uintptr_t)"kchan_selftest_name_probe";
	probe = ioctl(dev, CHAN_IOC_CREATE, &c);
	if (probe < 0 && errno == EOPNOTSUPP) {
		close(dev);
		SKIP(return, "named channels not supported");
	}
	if (probe >= 0) {
		struct chan_unlink u = { .size = sizeof(u), .name = c.name };

		close(probe);
		ioctl(dev, CHAN_IOC_UNLINK, &u);
	}
	c.name = (uintptr_t)unmapped_page();
	ASSERT_NE(0, c.name);
	EXPECT_EQ(-1, ioctl(dev, CHAN_IOC_CREATE, &c));
	EXPECT_EQ(EFAULT, errno);
	close(dev);
}

/*
 * ---- every user pointer of every ioctl, against every kind of bad address --
 *
 * Each call must fail EFAULT and leave the channel, the name space and the
 * fd table as they were: one message buffered, nothing sent or received
 * since, no new fd, no new name.
 */

FIXTURE(ptr) {
	int dev;
	int ch;		/* capacity 2, one message (value 5) buffered */
	int next_fd;	/* the fd number the next open() gets */
	char name[64];	/* a name that does not exist */
	void *bad;
};

FIXTURE_VARIANT(ptr) {
	uintptr_t addr;	/* 0: a page that was mapped and is no more */
	bool null;
};

FIXTURE_VARIANT_ADD(ptr, null) { .null = true };
FIXTURE_VARIANT_ADD(ptr, unmapped) { .addr = 0 };
/* x86-64: the direct map, kernel text, and the first non-canonical byte. */
FIXTURE_VARIANT_ADD(ptr, kernel_direct_map) { .addr = 0xffff888000000000UL };
FIXTURE_VARIANT_ADD(ptr, kernel_text) { .addr = 0xffffffff81000000UL };
FIXTURE_VARIANT_ADD(ptr, non_canonical) { .addr = 0x0000800000000000UL };

FIXTURE_SETUP(ptr)
{
	int probe;

	self->dev = dev_open();
	ASSERT_GE(self->dev, 0);
	self->ch = kc_create(2, 4);
	ASSERT_GE(self->ch, 0);
	ASSERT_EQ(0, kc_send_u32(self->ch, 5, 0));
	snprintf(self->name, sizeof(self->name), "kc-badinput-ptr-%d", getpid());
	if (variant->null)
		self->bad = NULL;
	else if (variant->addr)
		self->bad = (void *)variant->addr;
	else
		self->bad = unmapped_page();
	ASSERT_TRUE(variant->null || self->bad);
	probe = dup(self->dev);
	ASSERT_GE(probe, 0);
	self->next_fd = probe;
	close(probe);
}

FIXTURE_TEARDOWN(ptr)
{
	uint32_t v = 0;

	/* The buffered message is still the one sent, intact. */
	EXPECT_EQ(1, kc_recv_u32(self->ch, &v, 0));
	EXPECT_EQ(5, v);
	close(self->ch);
	close(self->dev);
}

static void ptr_expect_unchanged(struct __test_metadata *_metadata,
				 FIXTURE_DATA(ptr) *self, const char *what)
{
	int probe = dup(self->dev);

	EXPECT_EQ(self->next_fd, probe) TH_LOG("%s: an fd was installed", what);
	close(probe);
	EXPECT_EQ(1, KC_INFO(self->ch, len)) TH_LOG("%s", what);
	EXPECT_EQ(1, KC_INFO(self->ch, sent)) TH_LOG("%s", what);
	EXPECT_EQ(0, KC_INFO(self->ch, received)) TH_LOG("%s", what);
	EXPECT_EQ(0, sz_name_exists(self->dev, self->name)) TH_LOG("%s", what);
}

#define PTR_EFAULT(call, what)						\
	do {								\
		errno = 0;						\
		EXPECT_EQ(-1, (call)) TH_LOG("%s succeeded", what);	\
		EXPECT_EQ(EFAULT, errno) TH_LOG("%s", what);		\
		ptr_expect_unchanged(_metadata, self, what);		\
	} while (0)

TEST_F(ptr, struct_pointer_efault)
{
	static const struct { unsigned long cmd; bool on_dev; const char *what; } c[] = {
		{ CHAN_IOC_CREATE, true, "CREATE" },
		{ CHAN_IOC_OPEN, true, "OPEN" },
		{ CHAN_IOC_UNLINK, true, "UNLINK" },
		{ CHAN_IOC_SELECT, true, "SELECT on /dev/chan" },
		{ CHAN_IOC_SEND, false, "SEND" },
		{ CHAN_IOC_RECV, false, "RECV" },
		{ CHAN_IOC_INFO, false, "INFO" },
		{ CHAN_IOC_DUP, false, "DUP" },
		{ CHAN_IOC_SELECT, false, "SELECT" },
		{ CHAN_IOC_SEND_BATCH, false, "SEND_BATCH" },
		{ CHAN_IOC_RECV_BATCH, false, "RECV_BATCH" },
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		PTR_EFAULT(ioctl(c[i].on_dev ? self->dev : self->ch, c[i].cmd,
				 self->bad), c[i].what);
}

TEST_F(ptr, message_buffer_efault)
{
	struct chan_msg m;
	uint32_t buf[1];

	kc_msg_init(&m, self->bad, 4, 0);
	PTR_EFAULT(ioctl(self->ch, CHAN_IOC_SEND, &m), "SEND buf");
	kc_msg_init(&m, self->bad, 4, 0);
	PTR_EFAULT(ioctl(self->ch, CHAN_IOC_RECV, &m), "RECV buf");
	PTR_EFAULT(write(self->ch, self->bad, 4), "write()");
	PTR_EFAULT(read(self->ch, self->bad, sizeof(buf)), "read()");
}

TEST_F(ptr, select_pointers_efault)
{
	struct chan_select_case cs = { .fd = self->ch, .len = 4 };
	struct chan_select sel = {
		.size = sizeof(sel), .cases = (uintptr_t)self->bad, .ncases = 1,
		.case_size = sizeof(struct chan_select_case),
	};

	PTR_EFAULT(ioctl(self->ch, CHAN_IOC_SELECT, &sel), "SELECT cases");
	sel.cases = (uintptr_t)&cs;
	cs.op = CHAN_OP_SEND;
	cs.buf = (uintptr_t)self->bad;
	PTR_EFAULT(ioctl(self->ch, CHAN_IOC_SELECT, &sel), "SELECT send buf");
	cs.op = CHAN_OP_RECV;
	PTR_EFAULT(ioctl(self->ch, CHAN_IOC_SELECT, &sel), "SELECT recv buf");
}

/*
 * Select sets: a bad create/ctl/wait struct, and cases whose buffers are
 * bad, fail EFAULT at the call that reads them; the fixture's buffered
 * message stays and nothing is sent.
 */
TEST_F(ptr, selset_pointers_efault)
{
	struct chan_selset_create sc = { .size = sizeof(sc) };
	struct chan_selset_ctl ctl = {
		.size = sizeof(ctl), .fd = self->ch, .len = 4,
		.buf = (uintptr_t)self->bad,
	};
	struct chan_selset_wait w = { .size = sizeof(w) };
	int set, probe;

	PTR_EFAULT(ioctl(self->dev, CHAN_IOC_SELSET_CREATE, self->bad),
		   "SELSET_CREATE");
	set = ioctl(self->dev, CHAN_IOC_SELSET_CREATE, &sc);
	ASSERT_GE(set, 0);
	probe = dup(self->dev);	/* the set took the fd the fixture expected */
	ASSERT_GE(probe, 0);
	self->next_fd = probe;
	close(probe);

	PTR_EFAULT(ioctl(set, CHAN_IOC_SELSET_CTL, self->bad), "SELSET_CTL");
	PTR_EFAULT(ioctl(set, CHAN_IOC_SELSET_WAIT, self->bad), "SELSET_WAIT");
	/* The case's buffer is not read at ctl time, only when it fires. */
	ctl.op = CHAN_OP_SEND;
	ASSERT_EQ(0, ioctl(set, CHAN_IOC_SELSET_CTL, &ctl));
	PTR_EFAULT(ioctl(set, CHAN_IOC_SELSET_WAIT, &w), "SELSET send buf");
	EXPECT_EQ(-1, w.index);
	ctl.op = CHAN_OP_RECV;
	ASSERT_EQ(0, ioctl(set, CHAN_IOC_SELSET_CTL, &ctl));
	PTR_EFAULT(ioctl(set, CHAN_IOC_SELSET_WAIT, &w), "SELSET recv buf");
	EXPECT_EQ(-1, w.index);
	close(set);
}

/* A wait struct the kernel cannot write its result into moves nothing. */
TEST(selset_wait_readonly_struct_efault_message_stays)
{
	struct chan_selset_create sc = { .size = sizeof(sc) };
	struct chan_selset_wait *ro;
	uint32_t v = 0, in;
	struct chan_selset_ctl ctl = {
		.size = sizeof(ctl), .op = CHAN_OP_RECV,
		.buf = (uintptr_t)&v, .len = sizeof(v),
	};
	int dev = dev_open(), fd = kc_create(2, 4), set;

	ASSERT_GE(dev, 0);
	ASSERT_GE(fd, 0);
	set = ioctl(dev, CHAN_IOC_SELSET_CREATE, &sc);
	ASSERT_GE(set, 0);
	ctl.fd = fd;
	ASSERT_EQ(0, ioctl(set, CHAN_IOC_SELSET_CTL, &ctl));
	ASSERT_EQ(0, kc_send_u32(fd, 9, 0));
	ro = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	ro->size = sizeof(*ro);
	ASSERT_EQ(0, mprotect(ro, PAGE, PROT_READ));
	EXPECT_EQ(-1, ioctl(set, CHAN_IOC_SELSET_WAIT, ro));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(1, KC_INFO(fd, len));
	EXPECT_EQ(0, KC_INFO(fd, received));
	EXPECT_EQ(0, v);
	ASSERT_EQ(1, kc_recv_u32(fd, &in, 0));
	EXPECT_EQ(9, in);
	munmap(ro, PAGE);
	close(set);
	close(fd);
	close(dev);
}

TEST_F(ptr, batch_pointers_efault)
{
	struct chan_iovec iov = { .buf = (uintptr_t)self->bad, .len = 4 };
	struct chan_batch b = {
		.size = sizeof(b), .msgs = (uintptr_t)self->bad, .n = 1,
	};

	PTR_EFAULT(ioctl(self->ch, CHAN_IOC_SEND_BATCH, &b), "SEND_BATCH msgs");
	PTR_EFAULT(ioctl(self->ch, CHAN_IOC_RECV_BATCH, &b), "RECV_BATCH msgs");
	b.msgs = (uintptr_t)&iov;
	PTR_EFAULT(ioctl(self->ch, CHAN_IOC_SEND_BATCH, &b), "SEND_BATCH buf");
	PTR_EFAULT(ioctl(self->ch, CHAN_IOC_RECV_BATCH, &b), "RECV_BATCH buf");
}

TEST_F(ptr, name_pointer_efault)
{
	struct chan_create c = {
		.size = sizeof(c), .capacity = 1, .msg_size = 4,
		.name = (uintptr_t)self->bad, .mode = 0600,
	};
	struct chan_open o = {
		.size = sizeof(o), .oflag = O_RDWR | O_CREAT,
		.name = (uintptr_t)self->bad, .mode = 0600,
		.capacity = 1, .msg_size = 4,
	};
	struct chan_unlink u = { .size = sizeof(u), .name = (uintptr_t)self->bad };

	/* A NULL name asks for an anonymous channel: not a bad pointer. */
	if (!variant->null)
		PTR_EFAULT(ioctl(self->dev, CHAN_IOC_CREATE, &c), "CREATE name");
	PTR_EFAULT(ioctl(self->dev, CHAN_IOC_OPEN, &o), "OPEN name");
	PTR_EFAULT(ioctl(self->dev, CHAN_IOC_UNLINK, &u), "UNLINK name");
}

/* ---- timeouts ------------------------------------------------------------------ */

static void wait_forever(struct __test_metadata *_metadata, int64_t timeout)
{
	int fd = kc_create(0, 4);
	uint32_t v = 0;
	pid_t pid;

	ASSERT_GE(fd, 0);
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		/* Let the parent sit a while: a "forever" must not expire. */
		if (KC_WAIT(fd, recv_waiters, 1))
			_exit(KC_FAIL);
		kc_sleep_ms(300);
		if (KC_INFO(fd, recv_waiters) != 1)
			_exit(KC_FAIL);
		_exit(kc_send_u32(fd, 88, 0) ? KC_FAIL : KC_OK);
	}
	ASSERT_EQ(1, kc_recv_u32(fd, &v, timeout));
	EXPECT_EQ(88, v);
	EXPECT_EQ(0, kc_reap(pid));
	close(fd);
}

TEST(negative_timeout_waits_forever)
{
	wait_forever(_metadata, -1);
}

TEST(most_negative_timeout_waits_forever)
{
	wait_forever(_metadata, INT64_MIN);
}

TEST(huge_timeout_waits)
{
	wait_forever(_metadata, INT64_MAX);
}

TEST(huge_timeout_send_full)
{
	int fd = kc_create(1, 4);
	uint32_t v;
	pid_t pid;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_send_u32(fd, 1, 0));
	pid = kc_fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (KC_WAIT(fd, send_waiters, 1))
			_exit(KC_FAIL);
		_exit(kc_recv_u32(fd, &v, 0) == 1 && v == 1 ? KC_OK : KC_FAIL);
	}
	EXPECT_EQ(0, kc_send_u32(fd, 2, INT64_MAX - 1));
	EXPECT_EQ(0, kc_reap(pid));
	ASSERT_EQ(1, kc_recv_u32(fd, &v, 0));
	EXPECT_EQ(2, v);
	close(fd);
}

TEST(tiny_timeout_etimedout)
{
	uint32_t v;
	int fd = kc_create(0, 4);

	ASSERT_GE(fd, 0);
	EXPECT_EQ(-ETIMEDOUT, kc_recv_u32(fd, &v, 1));
	EXPECT_EQ(-ETIMEDOUT, kc_send_u32(fd, 1, 1));
	EXPECT_EQ(0, KC_INFO(fd, send_waiters));
	EXPECT_EQ(0, KC_INFO(fd, recv_waiters));
	close(fd);
}

/* ---- ioctls on the wrong fd, unknown ioctls ----------------------------------- */

TEST(unknown_ioctl_enotty)
{
	int dev = dev_open(), fd = kc_create(1, 4);
	char junk[64] = { 0 };

	ASSERT_GE(dev, 0);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(-1, ioctl(fd, _IO(CHAN_IOC_MAGIC, 0x7f)));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(dev, _IO(CHAN_IOC_MAGIC, 0x7f)));
	EXPECT_EQ(ENOTTY, errno);
	/*
	 * Right number, another encoded size or direction: the command
	 * (type and number) is ours, the struct's own size decides (size 0
	 * here: EINVAL).
	 */
	EXPECT_EQ(-1, ioctl(fd, _IOWR(CHAN_IOC_MAGIC, 0x10, struct chan_dup), junk));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(fd, _IO(CHAN_IOC_MAGIC, 0x11), junk));
	EXPECT_EQ(EINVAL, errno);
	/* Another type, same number. */
	EXPECT_EQ(-1, ioctl(fd, _IOWR(CHAN_IOC_MAGIC - 1, 0x10, struct chan_msg), junk));
	EXPECT_EQ(ENOTTY, errno);
	/* Another driver's ioctl. */
	EXPECT_EQ(-1, ioctl(fd, _IOR('T', 0x01, int), junk));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(0, KC_INFO(fd, len));
	close(fd);
	close(dev);
}

TEST(channel_ioctls_on_dev_chan_enotty)
{
	struct chan_msg m;
	struct chan_info info = { .size = sizeof(info) };
	struct chan_dup d = { .size = sizeof(d), .rights = CHAN_RIGHT_SEND };
	struct chan_batch b = { .size = sizeof(b) };
	uint32_t v = 1;
	int dev = dev_open();

	ASSERT_GE(dev, 0);
	kc_msg_init(&m, &v, sizeof(v), 0);
	EXPECT_EQ(-1, ioctl(dev, CHAN_IOC_SEND, &m));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(dev, CHAN_IOC_RECV, &m));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(dev, CHAN_IOC_CLOSE));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(dev, CHAN_IOC_INFO, &info));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(dev, CHAN_IOC_DUP, &d));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(dev, CHAN_IOC_SEND_BATCH, &b));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(dev, CHAN_IOC_RECV_BATCH, &b));
	EXPECT_EQ(ENOTTY, errno);
	close(dev);
}

TEST(create_on_channel_fd_enotty)
{
	struct chan_create c = { .size = sizeof(c), .capacity = 1, .msg_size = 4 };
	struct chan_open o = { .size = sizeof(o), .name = (uintptr_t)"x" };
	struct chan_unlink u = { .size = sizeof(u), .name = (uintptr_t)"x" };
	int fd = kc_create(1, 4);

	ASSERT_GE(fd, 0);
	EXPECT_EQ(-1, ioctl(fd, CHAN_IOC_CREATE, &c));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(fd, CHAN_IOC_OPEN, &o));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(fd, CHAN_IOC_UNLINK, &u));
	EXPECT_EQ(ENOTTY, errno);
	close(fd);
}

/* A channel ioctl on another kind of file fails as that file's ioctl does. */
static void not_a_channel(struct __test_metadata *_metadata, int fd)
{
	struct chan_msg m;
	struct chan_info info = { .size = sizeof(info) };
	uint32_t v = 1;

	ASSERT_GE(fd, 0);
	kc_msg_init(&m, &v, sizeof(v), 0);
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, CHAN_IOC_SEND, &m));
	EXPECT_TRUE(errno == ENOTTY || errno == EINVAL)
		TH_LOG("errno %d", errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, CHAN_IOC_RECV, &m));
	EXPECT_TRUE(errno == ENOTTY || errno == EINVAL);
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, CHAN_IOC_INFO, &info));
	EXPECT_TRUE(errno == ENOTTY || errno == EINVAL);
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, CHAN_IOC_CLOSE));
	EXPECT_TRUE(errno == ENOTTY || errno == EINVAL);
}

TEST(channel_ioctl_on_pipe)
{
	int p[2];

	ASSERT_EQ(0, pipe(p));
	not_a_channel(_metadata, p[0]);
	not_a_channel(_metadata, p[1]);
	close(p[0]);
	close(p[1]);
}

TEST(channel_ioctl_on_eventfd)
{
	int fd = eventfd(0, EFD_CLOEXEC);

	not_a_channel(_metadata, fd);
	close(fd);
}

TEST(channel_ioctl_on_dev_null)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	not_a_channel(_metadata, fd);
	close(fd);
}

/* ---- the fd field of a message ------------------------------------------------- */

TEST(send_fd_minus_one_ok_without_fdpass)
{
	int fd = kc_create(2, 4);

	ASSERT_GE(fd, 0);
	EXPECT_EQ(0, kc_send_u32(fd, 1, 0));	/* kc_send sets fd = -1 */
	EXPECT_EQ(1, KC_INFO(fd, len));
	close(fd);
}

TEST(send_fd_without_fdpass_einval)
{
	struct chan_msg m;
	uint32_t v = 1;
	int fd = kc_create(2, 4), p[2];

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, pipe(p));
	kc_msg_init(&m, &v, sizeof(v), 0);
	m.fd = 0;
	EXPECT_EQ(-1, ioctl(fd, CHAN_IOC_SEND, &m));
	EXPECT_EQ(EINVAL, errno);
	m.fd = p[0];
	EXPECT_EQ(-1, ioctl(fd, CHAN_IOC_SEND, &m));
	EXPECT_EQ(EINVAL, errno);
	m.fd = -2;
	EXPECT_EQ(-1, ioctl(fd, CHAN_IOC_SEND, &m));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, KC_INFO(fd, len));
	EXPECT_EQ(0, KC_INFO(fd, sent));
	close(p[0]);
	close(p[1]);
	close(fd);
}

TEST(dev_chan_read_write_rejected)
{
	int dev = dev_open();
	char b[4] = { 0 };

	ASSERT_GE(dev, 0);
	/* /dev/chan itself is not a channel: no data moves through it. */
	EXPECT_EQ(-1, write(dev, b, sizeof(b)));
	EXPECT_EQ(-1, read(dev, b, sizeof(b)));
	close(dev);
}

/* ---- batches: flags, reserved, rights, bad iovecs -------------------------- */

static int kc_batch(int fd, int send, struct chan_iovec *iov, uint32_t n,
		    uint32_t flags, uint32_t reserved)
{
	struct chan_batch b = {
		.size = sizeof(b), .flags = flags, .msgs = (uintptr_t)iov,
		.n = n, .reserved = reserved, .timeout_ns = 0,
	};
	int r = ioctl(fd, send ? CHAN_IOC_SEND_BATCH : CHAN_IOC_RECV_BATCH, &b);

	return r < 0 ? -errno : r;
}

TEST(batch_flags_and_reserved_einval)
{
	uint32_t v = 1;
	struct chan_iovec iov = { (uintptr_t)&v, 4 };
	int fd = kc_create(2, 4), bit;

	ASSERT_GE(fd, 0);
	for (bit = 0; bit < 32; bit++) {
		EXPECT_EQ(-EINVAL, kc_batch(fd, 1, &iov, 1, 1U << bit, 0))
			TH_LOG("send batch flag bit %d accepted", bit);
		EXPECT_EQ(-EINVAL, kc_batch(fd, 0, &iov, 1, 1U << bit, 0))
			TH_LOG("recv batch flag bit %d accepted", bit);
	}
	EXPECT_EQ(-EINVAL, kc_batch(fd, 1, &iov, 1, 0, 1));
	EXPECT_EQ(-EINVAL, kc_batch(fd, 0, &iov, 1, 0, 1));
	EXPECT_EQ(0, KC_INFO(fd, len));
	close(fd);
}

TEST(batch_rights_ebadf)
{
	uint32_t v = 1;
	struct chan_iovec iov = { (uintptr_t)&v, 4 };
	int fd = kc_create(2, 4), s, r;

	ASSERT_GE(fd, 0);
	s = kc_dup(fd, CHAN_RIGHT_SEND);
	r = kc_dup(fd, CHAN_RIGHT_RECV);
	ASSERT_GE(s, 0);
	ASSERT_GE(r, 0);
	EXPECT_EQ(-EBADF, kc_batch(r, 1, &iov, 1, 0, 0));
	EXPECT_EQ(0, KC_INFO(fd, len));
	ASSERT_EQ(1, kc_batch(s, 1, &iov, 1, 0, 0));
	EXPECT_EQ(-EBADF, kc_batch(s, 0, &iov, 1, 0, 0));
	EXPECT_EQ(1, KC_INFO(fd, len));
	close(s);
	close(r);
	close(fd);
}

TEST(batch_bad_iovec_pointer_efault)
{
	void *bad = unmapped_page();
	int fd = kc_create(2, 4);

	ASSERT_GE(fd, 0);
	ASSERT_NE(NULL, bad);
	EXPECT_EQ(-EFAULT, kc_batch(fd, 1, NULL, 1, 0, 0));
	EXPECT_EQ(-EFAULT, kc_batch(fd, 1, bad, 1, 0, 0));
	EXPECT_EQ(0, KC_INFO(fd, len));
	ASSERT_EQ(0, kc_send_u32(fd, 3, 0));
	EXPECT_EQ(-EFAULT, kc_batch(fd, 0, NULL, 1, 0, 0));
	EXPECT_EQ(-EFAULT, kc_batch(fd, 0, bad, 1, 0, 0));
	EXPECT_EQ(1, KC_INFO(fd, len));
	close(fd);
}

TEST(batch_bad_message_buffers_efault)
{
	void *ro = readonly_page();
	struct chan_iovec iov = { 0, 4 };
	int fd = kc_create(2, 4);

	ASSERT_GE(fd, 0);
	ASSERT_NE(NULL, ro);
	EXPECT_EQ(-EFAULT, kc_batch(fd, 1, &iov, 1, 0, 0));	/* NULL data */
	EXPECT_EQ(0, KC_INFO(fd, len));
	ASSERT_EQ(0, kc_send_u32(fd, 3, 0));
	iov.buf = (uintptr_t)ro;				/* read-only */
	EXPECT_EQ(-EFAULT, kc_batch(fd, 0, &iov, 1, 0, 0));
	EXPECT_EQ(1, KC_INFO(fd, len));
	munmap(ro, PAGE);
	close(fd);
}

/*
 * The kernel writes len (and ok) back into a select case and a receive
 * batch's iovec: arrays it cannot write fail EFAULT with nothing moved,
 * like a read-only struct chan_msg (found by chan_fuzz_test).
 */
static void *readonly_copy(const void *src, size_t len)
{
	void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memcpy(p, src, len);
	if (mprotect(p, PAGE, PROT_READ)) {
		munmap(p, PAGE);
		return NULL;
	}
	return p;
}

TEST(select_readonly_recv_case_efault_message_stays)
{
	struct chan_select s = {
		.size = sizeof(s), .ncases = 1, .case_size = sizeof(struct chan_select_case),
	};
	struct chan_select_case c = { .op = CHAN_OP_RECV, .len = 4 };
	uint32_t v = 0, in = 0;
	int fd = kc_create(2, 4);
	void *ro;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_send_u32(fd, 7, 0));
	c.fd = fd;
	c.buf = (uintptr_t)&v;
	ro = readonly_copy(&c, sizeof(c));
	ASSERT_NE(NULL, ro);
	s.cases = (uintptr_t)ro;
	EXPECT_EQ(-1, ioctl(fd, CHAN_IOC_SELECT, &s));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(1, KC_INFO(fd, len));
	EXPECT_EQ(0, KC_INFO(fd, received));
	EXPECT_EQ(1, kc_recv_u32(fd, &in, 0));
	EXPECT_EQ(7, in);
	munmap(ro, PAGE);
	close(fd);
}

TEST(select_readonly_send_case_efault_nothing_sent)
{
	struct chan_select s = {
		.size = sizeof(s), .ncases = 1, .case_size = sizeof(struct chan_select_case),
	};
	struct chan_select_case c = { .op = CHAN_OP_SEND, .len = 4 };
	uint32_t v = 9;
	int fd = kc_create(2, 4);
	void *ro;

	ASSERT_GE(fd, 0);
	c.fd = fd;
	c.buf = (uintptr_t)&v;
	ro = readonly_copy(&c, sizeof(c));
	ASSERT_NE(NULL, ro);
	s.cases = (uintptr_t)ro;
	EXPECT_EQ(-1, ioctl(fd, CHAN_IOC_SELECT, &s));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(0, KC_INFO(fd, len));
	EXPECT_EQ(0, KC_INFO(fd, sent));
	munmap(ro, PAGE);
	close(fd);
}

TEST(recv_batch_readonly_iovecs_efault_message_stays)
{
	struct chan_iovec iov = { 0, 4 };
	uint32_t v = 0, in = 0;
	int fd = kc_create(2, 4);
	void *ro;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kc_send_u32(fd, 5, 0));
	iov.buf = (uintptr_t)&v;
	ro = readonly_copy(&iov, sizeof(iov));
	ASSERT_NE(NULL, ro);
	EXPECT_EQ(-EFAULT, kc_batch(fd, 0, ro, 1, 0, 0));
	EXPECT_EQ(1, KC_INFO(fd, len));
	EXPECT_EQ(0, KC_INFO(fd, received));
	EXPECT_EQ(1, kc_recv_u32(fd, &in, 0));
	EXPECT_EQ(5, in);
	/* a send batch writes nothing back: read-only iovecs are fine */
	EXPECT_EQ(1, kc_batch(fd, 1, ro, 1, 0, 0));
	munmap(ro, PAGE);
	close(fd);
}

TEST_HARNESS_MAIN
