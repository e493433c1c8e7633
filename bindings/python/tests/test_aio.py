# SPDX-License-Identifier: LGPL-2.1-or-later
"""kchan.aio: await send/recv, async for, async select, and cancellation
(asyncio.wait_for, Task.cancel) that neither loses nor duplicates a
message. The waits are real; the timeouts only decide how often an
operation is cancelled, never whether a test passes."""

import asyncio
import os
import random

import kchan
import kchan.aio
from conftest import fork, needs_dev, wait_child

pytestmark = needs_dev


def run(coro):
    return asyncio.run(coro)


def test_buffered_send_recv():
    async def main():
        with kchan.Channel(fmt="i", capacity=2) as ch:
            a = ch.aio()
            await a.send(1)
            await a.send(2)
            assert await a.recv() == (1, True)
            assert await a.recv() == (2, True)
            ch.close()
            assert await a.recv() == (None, False)
            # The loop's own handle is O_NONBLOCK; the Channel's is not.
            assert os.get_blocking(a.fileno()) is False
            assert os.get_blocking(ch.fileno()) is True
    run(main())


def test_unbuffered_between_tasks():
    """Both ends in one loop: the send parks, the recv waits for readiness."""
    async def main():
        with kchan.Channel(fmt="q") as ch:
            a = ch.aio()

            async def producer():
                for v in range(200):
                    await a.send(v)
                ch.close()
            task = asyncio.create_task(producer())
            got = [v async for v in a]
            await task
            assert got == list(range(200))
    run(main())


def test_full_buffer_waits_for_writer_callback():
    async def main():
        with kchan.Channel(fmt="i", capacity=1) as ch:
            a = ch.aio()
            await a.send(1)
            sending = asyncio.create_task(a.send(2))
            await asyncio.sleep(0)
            assert not sending.done()
            assert await a.recv() == (1, True)
            await sending
            assert await a.recv() == (2, True)
    run(main())


def test_two_receivers_one_descriptor():
    async def main():
        with kchan.Channel(fmt="i", capacity=2) as ch:
            a = ch.aio()
            r1 = asyncio.create_task(a.recv())
            r2 = asyncio.create_task(a.recv())
            await asyncio.sleep(0)
            ch.send(1)
            ch.send(2)
            assert sorted([await r1, await r2]) == [(1, True), (2, True)]
    run(main())


def test_async_select():
    async def main():
        a = kchan.Channel(fmt="i", capacity=1)
        b = kchan.Channel(fmt="i")                 # unbuffered
        out = kchan.Channel(fmt="i")               # unbuffered
        with a, b, out:
            async def feed():
                await b.aio().send(7)
                a.send(8)
            task = asyncio.create_task(feed())
            got = []
            for _ in range(2):
                i, v, ok = await kchan.aio.select(kchan.Recv(a.aio()),
                                                  kchan.Recv(b))
                got.append((i, v, ok))
            await task
            assert got == [(1, 7, True), (0, 8, True)]
            # A send case on an unbuffered channel, taken by another task.
            recv = asyncio.create_task(out.aio().recv())
            assert await kchan.aio.select(kchan.Recv(a),
                                          kchan.Send(out, 5)) == (1, None, True)
            assert await recv == (5, True)
    run(main())


def test_across_processes():
    """A child's event loop receives what the parent's loop sends."""
    r, w = kchan.pipe(fmt="q")
    res = kchan.Channel(fmt="q", capacity=1)

    def child():
        w.release()

        async def main():
            res.send(sum([v async for v in r.aio()]))
        asyncio.run(main())
    pid = fork(child)
    r.release()

    async def main():
        a = w.aio()
        for v in range(1, 101):
            await a.send(v)
    run(main())
    w.release()                                    # last sender: closed
    assert res.recv() == (5050, True)
    assert wait_child(pid) == 0
    res.release()


def test_cancelled_recv_loses_nothing():
    """A child sends 0..N-1 (blocking, unbuffered) and exits, which closes
    the channel; the parent receives with wait_for and tiny timeouts, so
    many recvs are cancelled: every value must arrive exactly once, in
    order, before the close."""
    n = 100
    r, w = kchan.pipe(fmt="q")
    rnd = random.Random(1)

    def child():
        r.release()
        for v in range(n):
            w.send(v)
            if v % 7 == 0:
                os.sched_yield()
    pid = fork(child)
    w.release()

    async def main():
        a = r.aio()
        got, cancelled = [], 0
        while True:
            try:
                v, ok = await asyncio.wait_for(a.recv(),
                                               rnd.choice([0, 1e-5, 1e-3]))
            except asyncio.TimeoutError:
                cancelled += 1
                continue
            if not ok:
                return got, cancelled
            got.append(v)
    got, cancelled = run(main())
    assert got == list(range(n))
    assert wait_child(pid) == 0
    r.release()
    print("cancelled recvs:", cancelled)


def test_cancelled_send_neither_lost_nor_duplicated():
    """The parent sends 0..N-1 on an unbuffered channel with wait_for and
    tiny timeouts, resending a value only when its send was cancelled; a
    child receives. The child must see each value exactly once: a send
    reported cancelled delivered nothing, one reported done delivered."""
    n = 100
    r, w = kchan.pipe(fmt="q")
    res = kchan.Channel(fmt="q", capacity=1)

    def child():
        w.release()
        got = []
        for v in r:
            got.append(v)
            if v % 5 == 0:
                os.sched_yield()
        res.send(1 if got == list(range(n)) else 0)
    pid = fork(child)
    r.release()
    rnd = random.Random(2)

    async def main():
        a = w.aio()
        v, cancelled = 0, 0
        while v < n:
            try:
                await asyncio.wait_for(a.send(v), rnd.choice([0, 1e-5, 1e-3]))
                v += 1
            except asyncio.TimeoutError:
                cancelled += 1
        return cancelled
    cancelled = run(main())
    w.release()                                    # last sender: closed
    assert res.recv() == (1, True)
    assert wait_child(pid) == 0
    res.release()
    print("cancelled sends:", cancelled)


def test_task_cancel_then_recv():
    async def main():
        with kchan.Channel(fmt="i", capacity=1) as ch:
            a = ch.aio()
            t = asyncio.create_task(a.recv())
            await asyncio.sleep(0)
            t.cancel()
            try:
                await t
            except asyncio.CancelledError:
                pass
            ch.send(4)
            assert await a.recv() == (4, True)
            # A parked send cancelled before any receiver came: nothing sent.
            with kchan.Channel(fmt="i") as u:
                s = asyncio.create_task(u.aio().send(9))
                await asyncio.sleep(0.01)
                s.cancel()
                try:
                    await s
                except asyncio.CancelledError:
                    pass
                assert s.cancelled()
                assert u.info().sent == 0
    run(main())
