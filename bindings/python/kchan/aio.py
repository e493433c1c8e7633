# SPDX-License-Identifier: LGPL-2.1-or-later
"""kchan.aio: channels in an asyncio event loop.

    ach = ch.aio()                  # or kchan.aio.AsyncChannel(ch)
    await ach.send(x)
    value, ok = await ach.recv()
    async for value in ach: ...     # until closed
    index, value, ok = await kchan.aio.select(Recv(a), Send(b, x))
    await asyncio.wait_for(ach.recv(), 5)

How it waits. Each Channel gets a handle of its own for this, a
CHAN_IOC_DUP of its descriptor with CHAN_NONBLOCK: the descriptor the
Channel (and any other process) holds stays blocking. An operation first
tries to move its message without waiting; when it cannot, it waits for
the loop's reader (recv) or writer (send) callback on that handle, which
the kernel signals when the operation would not block, and tries again.
The message moves only in that try, after the last await: so a recv or
select cancelled while it waits (asyncio.wait_for, Task.cancel) has taken
nothing, and nothing is lost.

Unbuffered channels are rendezvous: a send would not block only while a
receiver is parked in the kernel, and an asyncio receiver never parks, it
only waits for readiness. So a send (or a select with a send case) on an
unbuffered channel that cannot complete at once parks in the kernel, in a
thread of its own, as a CHAN_IOC_SELECT over its cases plus one receive
on a private channel that cancellation closes. The kernel fires exactly
one case: either the message moved, and the await returns normally even
if a cancellation arrived meanwhile (its message was delivered, so the
caller must not send it again), or the cancellation case fired and
nothing moved.
"""

import asyncio
import threading
import weakref

from . import Channel, Recv, Send, WouldBlock, _case_buffers, _select_raw
from . import _uapi as _u

__all__ = ["AsyncChannel", "select"]

# Per event loop: (fd, writable) -> futures waiting for that readiness. One
# loop callback per descriptor and direction (asyncio allows just one),
# shared by every operation waiting on it.
_watchers = weakref.WeakKeyDictionary()


def _fire(loop, key):
    waiters = _watchers.get(loop, {}).pop(key, ())
    (loop.remove_writer if key[1] else loop.remove_reader)(key[0])
    for fut in waiters:
        if not fut.done():
            fut.set_result(None)


async def _wait(keys):
    """Until one of keys, (fd, writable) pairs, is ready."""
    loop = asyncio.get_running_loop()
    table = _watchers.setdefault(loop, {})
    fut = loop.create_future()
    for key in keys:
        waiters = table.get(key)
        if waiters is None:
            waiters = table[key] = set()
            add = loop.add_writer if key[1] else loop.add_reader
            add(key[0], _fire, loop, key)
        waiters.add(fut)
    try:
        await fut
    finally:
        for key in keys:
            waiters = table.get(key)
            if waiters is not None:
                waiters.discard(fut)
                if not waiters:
                    del table[key]
                    remove = loop.remove_writer if key[1] else loop.remove_reader
                    remove(key[0])


def _settle(fut, result):
    if fut.done():
        return
    if isinstance(result, BaseException):
        fut.set_exception(result)
    else:
        fut.set_result(result)


async def _park(cases):
    """select() over cases, blocking in the kernel in a thread of its own,
    cancellable without losing or duplicating a message (see above)."""
    loop = asyncio.get_running_loop()
    stop = Channel(0, 0)
    allcases = list(cases) + [Recv(stop)]
    arr, bufs = _case_buffers(allcases)
    fut = loop.create_future()

    def run():
        try:
            result = _select_raw(allcases, arr, bufs, None)
        except BaseException as e:  # delivered to the awaiting task
            result = e
        try:
            loop.call_soon_threadsafe(_settle, fut, result)
        except RuntimeError:  # the loop is closed: nobody is waiting
            pass

    cancelled = None
    try:
        threading.Thread(target=run, name="kchan.aio park",
                         daemon=True).start()
        while True:
            try:
                result = await asyncio.shield(fut)
                break
            except asyncio.CancelledError as e:
                if fut.done() and not fut.cancelled():
                    result = fut.result()
                    cancelled = cancelled or e
                    break
                if cancelled is None:
                    cancelled = e
                    stop.close()  # fires the stop case unless one fired
    finally:
        if fut.done():
            stop.release()
        else:  # only when the thread could not even start
            stop.close()
    if result[0] == len(cases):
        raise cancelled or asyncio.CancelledError()
    if cancelled is not None:
        # A case fired first: its message moved. Report it (the caller
        # must not send it again, nor lose what was received) and let the
        # cancellation go, as asyncio.wait_for does with a result.
        task = asyncio.current_task()
        if task is not None and hasattr(task, "uncancel"):
            task.uncancel()
    return result


class AsyncChannel:
    """A Channel's asyncio face: awaitable send/recv, async iteration.
    Releasing the Channel releases the non-blocking handle too."""

    def __init__(self, ch):
        self.ch = ch

    def fileno(self):
        """The non-blocking handle the loop watches."""
        return self.ch._nonblocking_fd()

    async def recv(self):
        """(value, True), or (None, False) once closed and drained."""
        value, _, ok = await self._recv(False)
        return value, ok

    async def recv_fd(self):
        """(value, fd, ok), like Channel.recv_fd()."""
        return await self._recv(True)

    async def _recv(self, want_fd):
        fd = self.fileno()
        while True:
            try:
                return self.ch._recv(fd, 0, want_fd)
            except WouldBlock:
                pass
            await _wait([(fd, False)])

    async def send(self, value, *, fd=None):
        """Send one message; BrokenPipeError once the channel is closed.
        On an unbuffered channel a send with fd= waits for a receiver
        parked in the kernel (a blocking recv), since a parked select
        cannot carry a descriptor."""
        nb = self.fileno()
        while True:
            try:
                return self.ch._send(nb, value, 0, fd)
            except WouldBlock:
                pass
            if self.ch.capacity == 0 and fd is None:
                _, _, ok = await _park([Send(self.ch, value)])
                if not ok:
                    raise BrokenPipeError("send: channel closed")
                return None
            await _wait([(nb, True)])

    async def __aiter__(self):
        while True:
            value, ok = await self.recv()
            if not ok:
                return
            yield value

    def __repr__(self):
        return "<kchan.aio.AsyncChannel %r>" % (self.ch,)


def _channel(x):
    return x.ch if isinstance(x, AsyncChannel) else x


async def select(*cases):
    """Go's select in a coroutine: (index, value, ok) as kchan.select().
    Cases are kchan.Recv(ch), kchan.Send(ch, value) (ch a Channel or
    AsyncChannel) or None. Time limits: asyncio.wait_for, asyncio.timeout."""
    cases = [None if c is None else
             Recv(_channel(c.ch)) if c.op == _u.CHAN_OP_RECV else
             Send(_channel(c.ch), c.value) for c in cases]
    live = [c for c in cases if c is not None]
    if not live:
        raise ValueError("select() needs a non-nil case")
    while True:
        arr, bufs = _case_buffers(cases)
        try:
            return _select_raw(cases, arr, bufs, 0)
        except WouldBlock:
            pass
        if any(c.op == _u.CHAN_OP_SEND and c.ch.capacity == 0 for c in live):
            return await _park(cases)
        await _wait([(c.ch._nonblocking_fd(), c.op == _u.CHAN_OP_SEND)
                     for c in live])
