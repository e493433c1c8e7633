# SPDX-License-Identifier: LGPL-2.1-or-later
"""kchan.Channel, pipe, select, SelectSet, named channels, fd passing; the
multi-process cases fork real processes."""

import errno
import os
import socket
import threading

import pytest

import kchan
from conftest import fork, needs_dev, wait_child

pytestmark = needs_dev


def test_buffered_bytes_fifo():
    with kchan.Channel(16, 4) as ch:
        for m in (b"a", b"bb", b""):
            ch.send(m)
        assert len(ch) == 3 and ch.capacity == 4 and ch.msg_size == 16
        assert [ch.recv() for _ in range(3)] == [(b"a", True), (b"bb", True),
                                                 (b"", True)]


def test_fmt_values_and_close():
    with kchan.Channel(fmt="qd", capacity=2) as ch:
        ch.send((7, 0.5))
        ch.close()
        assert ch.closed
        assert ch.recv() == ((7, 0.5), True)
        assert ch.recv() == (None, False)        # closed and drained
        with pytest.raises(BrokenPipeError):
            ch.send((1, 1.0))
        with pytest.raises(OSError) as e:
            ch.close()
        assert e.value.errno == errno.EALREADY


def test_try_ops_and_timeouts():
    with kchan.Channel(fmt="i") as ch:            # unbuffered
        with pytest.raises(kchan.WouldBlock):
            ch.try_recv()
        with pytest.raises(kchan.WouldBlock):
            ch.try_send(1)
        with pytest.raises(TimeoutError):
            ch.recv(timeout=0.01)
        with pytest.raises(TimeoutError):
            ch.send(1, timeout=0.01)
        with pytest.raises(ValueError):
            ch.recv(timeout=-1)


def test_message_too_long():
    with kchan.Channel(4, 1) as ch:
        with pytest.raises(OSError) as e:
            ch.send(b"12345")
        assert e.value.errno == errno.EMSGSIZE


def test_pipe_rights():
    r, w = kchan.pipe(fmt="i", capacity=1)
    with r, w:
        assert r.rights == kchan.CHAN_RIGHT_RECV
        assert w.rights == kchan.CHAN_RIGHT_SEND
        with pytest.raises(OSError) as e:
            r.send(1)
        assert e.value.errno == errno.EBADF
        w.send(5)
        assert r.recv() == (5, True)


def test_last_sender_gone_closes():
    r, w = kchan.pipe(fmt="i", capacity=1)
    w.send(1)
    w.release()
    assert list(r) == [1]
    r.release()
    with pytest.raises(ValueError):
        r.recv()


def test_iteration_across_fork():
    """The README's example: a child sends, the parent iterates to close."""
    r, w = kchan.pipe(fmt="q")                    # unbuffered

    def child():
        r.release()
        for v in range(1, 101):
            w.send(v)
    pid = fork(child)
    w.release()
    assert sum(r) == 5050
    assert wait_child(pid) == 0
    r.release()


def test_many_processes_each_message_once():
    ch = kchan.Channel(fmt="ii", capacity=8)
    out = kchan.Channel(fmt="ii", capacity=8)
    producers = [fork(lambda p=p: [ch.send((p, i)) for i in range(200)])
                 for p in range(3)]

    def consumer():
        for v in ch:
            out.send(v)
    consumers = [fork(consumer) for _ in range(2)]
    got = []
    collector = threading.Thread(target=lambda: got.extend(out))
    collector.start()
    for pid in producers:
        assert wait_child(pid) == 0
    ch.close()
    for pid in consumers:
        assert wait_child(pid) == 0
    out.close()
    collector.join()
    assert sorted(got) == [(p, i) for p in range(3) for i in range(200)]
    ch.release()
    out.release()


def test_select():
    a = kchan.Channel(fmt="i", capacity=1)
    b = kchan.Channel(fmt="i", capacity=1)
    with a, b:
        with pytest.raises(kchan.WouldBlock):
            kchan.select(kchan.Recv(a), kchan.Recv(b), timeout=0)
        with pytest.raises(TimeoutError):
            kchan.select(kchan.Recv(a), None, timeout=0.01)
        b.send(9)
        assert kchan.select(a.recv_case(), b.recv_case()) == (1, 9, True)
        assert kchan.select(None, kchan.Send(a, 3)) == (1, None, True)
        assert a.recv() == (3, True)
        a.close()
        assert kchan.select(kchan.Recv(a), timeout=0) == (0, None, False)


def test_select_across_fork():
    a = kchan.Channel(fmt="i")                    # unbuffered both
    b = kchan.Channel(fmt="i")
    pid = fork(lambda: (a.send(1), b.send(2)))
    seen = []
    for _ in range(2):
        i, v, ok = kchan.select(kchan.Recv(a), kchan.Recv(b))
        assert ok
        seen.append((i, v))
    assert seen == [(0, 1), (1, 2)]
    assert wait_child(pid) == 0


def test_selset():
    a = kchan.Channel(fmt="i", capacity=4)
    b = kchan.Channel(fmt="i", capacity=1)
    with kchan.SelectSet() as s, a, b:
        s[0] = kchan.Recv(a)
        s[3] = kchan.Send(b, 42)
        assert s.wait() == (3, None, True)
        assert b.recv() == (42, True)
        del s[3]
        a.send(5)
        a.send(6)
        assert s.wait() == (0, 5, True)
        assert s.wait() == (0, 6, True)
        with pytest.raises(kchan.WouldBlock):
            s.wait(timeout=0)


def test_dup_nonblocking_one_end_only():
    """A non-blocking handle of one's own leaves the other handles blocking
    (CHAN_NONBLOCK on chan_pipe would apply to both ends)."""
    with kchan.Channel(fmt="i") as ch, ch.dup(nonblock=True) as nb:
        assert os.get_blocking(nb.fileno()) is False
        assert os.get_blocking(ch.fileno()) is True
        with pytest.raises(kchan.WouldBlock):
            nb.recv()                             # no timeout: still EAGAIN
        with pytest.raises(TimeoutError):
            ch.recv(timeout=0.01)


def test_named_channel_across_fork():
    name = "pytest_named_%d" % os.getpid()
    # Both rights here: a send with no recv-capable handle fails EPIPE.
    w = kchan.Channel.open(name, "rw", create=True, exclusive=True, fmt="i",
                           capacity=2)
    try:
        with pytest.raises(FileExistsError):
            kchan.Channel.open(name, "w", create=True, exclusive=True, fmt="i")

        def child():
            with kchan.Channel.open(name, "r", fmt="i") as r:
                assert r.rights == kchan.CHAN_RIGHT_RECV
                assert r.recv() == (11, True)
        pid = fork(child)
        w.send(11)
        assert wait_child(pid) == 0
    finally:
        kchan.unlink(name)
        w.release()
    with pytest.raises(FileNotFoundError):
        kchan.Channel.open(name, "r")


def test_fd_passing_memfd_across_fork():
    ch = kchan.Channel(8, 1, fdpass=True)
    mfd = os.memfd_create("kchan-pytest")
    os.write(mfd, b"hello memfd")

    def child():
        data, fd, ok = ch.recv_fd()
        assert ok and data == b"memfd" and fd is not None
        assert os.pread(fd, 64, 0) == b"hello memfd"
        os.close(fd)
    pid = fork(child)
    ch.send(b"memfd", fd=mfd)
    os.close(mfd)
    assert wait_child(pid) == 0
    ch.release()


def test_fd_passing_socket():
    with kchan.Channel(0, 1, fdpass=True) as ch:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        ch.send(b"", fd=s)
        s.close()
        data, fd, ok = ch.recv_fd()
        got = socket.socket(fileno=fd)
        assert got.family == socket.AF_INET and got.type == socket.SOCK_DGRAM
        got.close()
        # AF_UNIX sockets could carry files themselves: refused.
        u1, u2 = socket.socketpair()
        with pytest.raises(OSError) as e:
            ch.send(b"", fd=u1)
        assert e.value.errno == errno.EINVAL
        u1.close()
        u2.close()


def test_fd_not_fdpass_channel():
    with kchan.Channel(1, 1) as ch:
        with pytest.raises(OSError) as e:
            ch.send(b"x", fd=0)
        assert e.value.errno == errno.EINVAL


def test_fromfd_detach():
    ch = kchan.Channel(fmt="i", capacity=1)
    fd = ch.detach()
    assert ch.released
    with kchan.Channel.fromfd(fd, fmt="i") as again:
        again.send(3)
        assert again.recv() == (3, True)
