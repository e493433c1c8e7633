/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kchan tracepoints: chan:chan_send, chan:chan_recv, chan:chan_close,
 * chan:chan_select and chan:chan_selset_wait, for tracefs (events/chan/),
 * perf and bpftrace.
 *
 * CREATE_TRACE_POINTS is defined in exactly one file, proc.c. Each event
 * fires once per operation, when it returns (ret is its result): a
 * blocked operation is traced when it completes, not when it parks.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM chan

#if !defined(_KCHAN_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _KCHAN_TRACE_H

#include <linux/tracepoint.h>

/* One send (ioctl, write or one message of a batch). */
TRACE_EVENT(chan_send,
	    TP_PROTO(u64 id, u64 len, int fd, int ret),
	    TP_ARGS(id, len, fd, ret),
	    TP_STRUCT__entry(__field(u64, id)
			     __field(u64, len)
			     __field(int, fd)
			     __field(int, ret)),
	    TP_fast_assign(__entry->id = id;
			   __entry->len = len;
			   __entry->fd = fd;
			   __entry->ret = ret;),
	    TP_printk("chan=%llu len=%llu fd=%d ret=%d",
		      __entry->id, __entry->len, __entry->fd, __entry->ret)
);

/* One receive; ok=0 is "closed and drained", fd the installed one. */
TRACE_EVENT(chan_recv,
	    TP_PROTO(u64 id, u64 len, bool ok, int fd, int ret),
	    TP_ARGS(id, len, ok, fd, ret),
	    TP_STRUCT__entry(__field(u64, id)
			     __field(u64, len)
			     __field(bool, ok)
			     __field(int, fd)
			     __field(int, ret)),
	    TP_fast_assign(__entry->id = id;
			   __entry->len = len;
			   __entry->ok = ok;
			   __entry->fd = fd;
			   __entry->ret = ret;),
	    TP_printk("chan=%llu len=%llu ok=%d fd=%d ret=%d",
		      __entry->id, __entry->len, __entry->ok, __entry->fd,
		      __entry->ret)
);

/*
 * A channel closes: explicitly (CHAN_IOC_CLOSE) or because its last
 * send-capable handle went away (crash safety).
 */
TRACE_EVENT(chan_close,
	    TP_PROTO(u64 id, u32 len, bool last_sender),
	    TP_ARGS(id, len, last_sender),
	    TP_STRUCT__entry(__field(u64, id)
			     __field(u32, len)
			     __field(bool, last_sender)),
	    TP_fast_assign(__entry->id = id;
			   __entry->len = len;
			   __entry->last_sender = last_sender;),
	    TP_printk("chan=%llu len=%u by=%s", __entry->id, __entry->len,
		      __entry->last_sender ? "last-sender" : "close")
);

/* One select: the case that fired (-1 if none) and the result. */
TRACE_EVENT(chan_select,
	    TP_PROTO(u32 ncases, int index, long ret),
	    TP_ARGS(ncases, index, ret),
	    TP_STRUCT__entry(__field(u32, ncases)
			     __field(int, index)
			     __field(long, ret)),
	    TP_fast_assign(__entry->ncases = ncases;
			   __entry->index = index;
			   __entry->ret = ret;),
	    TP_printk("ncases=%u index=%d ret=%ld", __entry->ncases,
		      __entry->index, __entry->ret)
);

/*
 * One wait on a select set (CHAN_IOC_SELSET_WAIT): the set's cases, the
 * case that fired (-1 if none) and the result.
 */
TRACE_EVENT(chan_selset_wait,
	    TP_PROTO(u32 ncases, int index, long ret),
	    TP_ARGS(ncases, index, ret),
	    TP_STRUCT__entry(__field(u32, ncases)
			     __field(int, index)
			     __field(long, ret)),
	    TP_fast_assign(__entry->ncases = ncases;
			   __entry->index = index;
			   __entry->ret = ret;),
	    TP_printk("ncases=%u index=%d ret=%ld", __entry->ncases,
		      __entry->index, __entry->ret)
);

#endif /* _KCHAN_TRACE_H */

/* Out of tree: found through -I$(src)/kmod (see Kbuild). */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
