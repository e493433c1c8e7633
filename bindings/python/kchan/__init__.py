# SPDX-License-Identifier: LGPL-2.1-or-later
"""kchan: Go channels as a Linux kernel object (/dev/chan), from Python.

A Channel is a file descriptor for a kchan channel: it survives fork(),
moves one message per call, and closes once the last process able to send
on it is gone::

    import kchan, os
    r, w = kchan.pipe(fmt="q")            # unbuffered channel of int64
    if os.fork() == 0:
        for v in (1, 2, 3):
            w.send(v)
        os._exit(0)                       # last sender gone: closed
    w.release()
    for v in r:                           # until closed
        print("got", v)

Messages are bytes, or Python values packed with a struct format (fmt=).
Errors are OSErrors: BrokenPipeError for a send on a closed channel,
TimeoutError when a timeout (seconds) expires, WouldBlock
(BlockingIOError) from the try_* calls and select(timeout=0).

close() is Go's close(): receivers drain what is buffered, then see
ok == False. release() (and leaving a with block) closes this process's
file descriptor, the handle, as os.close() would.

The binding speaks to the kernel directly (ioctl(2) through ctypes); its
constants and struct layouts are generated from uapi/linux/chan.h at build
time (kchan._uapi). Asyncio support is in kchan.aio.
"""

import ctypes
import errno
import os
import struct as _struct
import time

from . import _uapi as _u

# The header's constants, as kchan.CHAN_FDPASS, ...: generated, not copied.
globals().update({_n: getattr(_u, _n) for _n in _u.MACROS})

__all__ = ["Channel", "pipe", "unlink", "select", "Recv", "Send",
           "SelectSet", "WouldBlock", "Info"] + [
               n for n in _u.MACROS]

_libc = ctypes.CDLL(None, use_errno=True)
_ioctl = _libc.ioctl
_ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p]
_ioctl.restype = ctypes.c_int

FOREVER = None


class WouldBlock(BlockingIOError):
    """The operation would block: try_* and select(timeout=0)."""


def _raise(err, what):
    if err in (errno.EAGAIN, errno.EWOULDBLOCK):
        raise WouldBlock(err, "%s: %s" % (what, os.strerror(err)))
    raise OSError(err, "%s: %s" % (what, os.strerror(err)))


class _Deadline:
    """A timeout in seconds as the kernel's relative nanoseconds, kept
    across EINTR retries (PEP 475) so that the deadline does not move."""

    def __init__(self, timeout):
        if timeout is None:
            self.end = None
        else:
            if timeout < 0:
                raise ValueError("timeout must be None or >= 0")
            self.end = time.monotonic() + timeout
            self.zero = timeout == 0

    def ns(self):
        if self.end is None:
            return -1
        if self.zero:
            return 0
        return max(1, int((self.end - time.monotonic()) * 1e9))


def _call(fd, req, arg, what, deadline=None, field=None):
    """ioctl(fd, req, &arg), retried on EINTR with the time left."""
    addr = ctypes.addressof(arg) if arg is not None else None
    while True:
        if deadline is not None:
            setattr(arg, field, deadline.ns())
        ret = _ioctl(fd, req, addr)
        if ret >= 0:
            return ret
        err = ctypes.get_errno()
        if err != errno.EINTR:
            _raise(err, what)


def _new(cls, **fields):
    s = cls(**fields)
    if "size" in dict(cls._fields_):
        s.size = ctypes.sizeof(cls)
    return s


def _fileno(f):
    return f if isinstance(f, int) else f.fileno()


def _dev_ioctl(req, arg, what):
    fd = os.open(_u.CHAN_DEVICE, os.O_RDWR | os.O_CLOEXEC)
    try:
        return _call(fd, req, arg, what)
    finally:
        os.close(fd)


class Info:
    """A snapshot of a channel (struct chan_info's fields as attributes)."""

    def __init__(self, s):
        for name, _ in s._fields_:
            if name not in ("size", "reserved"):
                setattr(self, name, getattr(s, name))

    def __repr__(self):
        return "Info(%s)" % ", ".join("%s=%r" % kv for kv in vars(self).items())


class Channel:
    """A handle on a kchan channel.

    Channel(msg_size, capacity=0) makes a new anonymous channel with both
    rights. fmt="q" (a struct format) sends and receives Python values of
    that format (a tuple for a format of several items), and sets msg_size;
    without fmt messages are bytes of up to msg_size. fdpass=True lets each
    message carry one file descriptor (send(..., fd=), recv_fd()).
    cloexec=False lets the descriptor survive exec.
    """

    def __init__(self, msg_size=None, capacity=0, *, fmt=None, fdpass=False,
                 cloexec=True, _fd=None):
        self._fmt = _struct.Struct(fmt) if fmt is not None else None
        self._nbfd = None
        self._fd = None
        if _fd is None:
            if msg_size is None:
                if self._fmt is None:
                    raise TypeError("Channel needs msg_size or fmt")
                msg_size = self._fmt.size
            flags = (_u.CHAN_CLOEXEC if cloexec else 0) | \
                (_u.CHAN_FDPASS if fdpass else 0)
            c = _new(_u.chan_create, flags=flags, capacity=capacity,
                     msg_size=msg_size)
            _fd = _dev_ioctl(_u.CHAN_IOC_CREATE, c, "CHAN_IOC_CREATE")
        self._fd = _fd
        try:
            info = self.info()
        except BaseException:
            os.close(_fd)
            self._fd = None
            raise
        self.msg_size = info.msg_size
        self.capacity = info.capacity
        self.rights = info.rights
        self.fdpass = bool(info.flags & _u.CHAN_FDPASS)
        if self._fmt is not None and self._fmt.size > self.msg_size:
            raise ValueError("fmt %r is longer than msg_size %d"
                             % (self._fmt.format, self.msg_size))

    # -- constructors ---------------------------------------------------

    @classmethod
    def fromfd(cls, fd, *, fmt=None):
        """Adopt a channel descriptor (one from fork, exec, SCM_RIGHTS or
        recv_fd()); the Channel owns it from now on."""
        return cls(fmt=fmt, _fd=_fileno(fd))

    @classmethod
    def open(cls, name, mode="rw", *, create=False, exclusive=False,
             perm=0o600, msg_size=None, capacity=0, fmt=None, fdpass=False,
             autoclose=False, cloexec=True):
        """Open, or with create=True create, the named channel name, like
        mq_open(): mode "r" gives a recv-only handle, "w" a send-only one,
        "rw" both. msg_size (or fmt), capacity, fdpass, autoclose and perm
        are used when it is created."""
        access = {"r": os.O_RDONLY, "w": os.O_WRONLY, "rw": os.O_RDWR}[mode]
        if create and msg_size is None:
            if fmt is None:
                raise TypeError("creating a named channel needs msg_size or fmt")
            msg_size = _struct.calcsize(fmt)
        oflag = access | (os.O_CREAT if create else 0) | \
            (os.O_EXCL if exclusive else 0) | (os.O_CLOEXEC if cloexec else 0)
        bname = os.fsencode(name)
        nbuf = ctypes.create_string_buffer(bname)
        o = _new(_u.chan_open, oflag=oflag, name=ctypes.addressof(nbuf),
                 mode=perm,
                 flags=(_u.CHAN_FDPASS if fdpass else 0) |
                 (_u.CHAN_AUTOCLOSE if autoclose else 0),
                 capacity=capacity, msg_size=msg_size or 0)
        fd = _dev_ioctl(_u.CHAN_IOC_OPEN, o, "CHAN_IOC_OPEN %r" % name)
        return cls(fmt=fmt, _fd=fd)

    def dup(self, rights=None, *, nonblock=False, cloexec=True):
        """A new handle with the same or fewer rights (CHAN_RIGHT_*)."""
        d = _new(_u.chan_dup, rights=self.rights if rights is None else rights,
                 flags=(_u.CHAN_NONBLOCK if nonblock else 0) |
                 (_u.CHAN_CLOEXEC if cloexec else 0))
        fd = _call(self.fileno(), _u.CHAN_IOC_DUP, d, "CHAN_IOC_DUP")
        ch = Channel(_fd=fd)
        ch._fmt = self._fmt
        return ch

    # -- descriptor -----------------------------------------------------

    def fileno(self):
        if self._fd is None:
            raise ValueError("released channel handle")
        return self._fd

    def detach(self):
        """Give up the descriptor without closing it; returns it."""
        fd = self.fileno()
        self._release_nb()
        self._fd = None
        return fd

    def release(self):
        """Close this handle's descriptor (not Go's close: see close())."""
        self._release_nb()
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def _release_nb(self):
        if self._nbfd is not None:
            fd, self._nbfd = self._nbfd, None
            os.close(fd)

    def _nonblocking_fd(self):
        """A handle of this channel's own with O_NONBLOCK, for kchan.aio:
        the descriptor that others hold stays blocking."""
        if self._nbfd is None:
            d = _new(_u.chan_dup, rights=self.rights,
                     flags=_u.CHAN_NONBLOCK | _u.CHAN_CLOEXEC)
            self._nbfd = _call(self.fileno(), _u.CHAN_IOC_DUP, d,
                               "CHAN_IOC_DUP")
        return self._nbfd

    @property
    def released(self):
        return self._fd is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()

    def __del__(self):
        try:
            self.release()
        except Exception:
            pass

    def __repr__(self):
        if self._fd is None:
            return "<kchan.Channel released>"
        return "<kchan.Channel fd=%d msg_size=%d capacity=%d rights=%d>" % (
            self._fd, self.msg_size, self.capacity, self.rights)

    # -- values ---------------------------------------------------------

    def _encode(self, value):
        if self._fmt is None:
            return bytes(value)
        if isinstance(value, tuple):
            return self._fmt.pack(*value)
        return self._fmt.pack(value)

    def _decode(self, data):
        if self._fmt is None:
            return data
        v = self._fmt.unpack_from(data.ljust(self._fmt.size, b"\0"))
        return v[0] if len(v) == 1 else v

    # -- operations -----------------------------------------------------

    def _send(self, fd, value, timeout, sendfd=None):
        data = self._encode(value)
        buf = ctypes.create_string_buffer(data, len(data) or 1)
        m = _new(_u.chan_msg, buf=ctypes.addressof(buf), len=len(data),
                 fd=-1 if sendfd is None else _fileno(sendfd))
        _call(fd, _u.CHAN_IOC_SEND, m, "send", _Deadline(timeout),
              "timeout_ns")

    def _recv(self, fd, timeout, want_fd=False):
        buf = ctypes.create_string_buffer(max(self.msg_size, 1))
        m = _new(_u.chan_msg, buf=ctypes.addressof(buf),
                 len=self.msg_size, fd=-1,
                 flags=_u.CHAN_MSG_FD_CLOEXEC if want_fd else 0)
        _call(fd, _u.CHAN_IOC_RECV, m, "recv", _Deadline(timeout),
              "timeout_ns")
        if not m.ok:
            return None, None, False
        value = self._decode(buf.raw[:m.len])
        got = m.fd if m.fd >= 0 else None
        if got is not None and not want_fd:
            os.close(got)
            got = None
        return value, got, True

    def send(self, value, timeout=None, *, fd=None):
        """Send one message; blocks until it is taken (unbuffered) or
        buffered, at most timeout seconds (TimeoutError). fd: a descriptor
        (int or object with fileno()) to pass along (fdpass channels).
        BrokenPipeError once the channel is closed."""
        self._send(self.fileno(), value, timeout, fd)

    def recv(self, timeout=None):
        """(value, True) for a message, (None, False) once the channel is
        closed and drained; TimeoutError after timeout seconds."""
        value, _, ok = self._recv(self.fileno(), timeout)
        return value, ok

    def recv_fd(self, timeout=None):
        """(value, fd, ok): recv() with the descriptor that came with the
        message (an int the caller owns, close-on-exec) or None."""
        return self._recv(self.fileno(), timeout, want_fd=True)

    def try_send(self, value, *, fd=None):
        """send() that never waits: WouldBlock when it would."""
        self._send(self.fileno(), value, 0, fd)

    def try_recv(self):
        """recv() that never waits: WouldBlock when it would."""
        return self.recv(0)

    def close(self):
        """Go's close(): no more sends; receivers drain, then get ok False."""
        _call(self.fileno(), _u.CHAN_IOC_CLOSE, None, "close")

    def info(self):
        i = _new(_u.chan_info)
        _call(self.fileno(), _u.CHAN_IOC_INFO, i, "CHAN_IOC_INFO")
        return Info(i)

    @property
    def closed(self):
        """True once the channel was closed (Go's close)."""
        return bool(self.info().closed)

    def __len__(self):
        return self.info().len

    def __iter__(self):
        """Receive until the channel is closed (Go's for v := range ch)."""
        while True:
            value, ok = self.recv()
            if not ok:
                return
            yield value

    def aio(self):
        """This channel in asyncio: a kchan.aio.AsyncChannel."""
        from .aio import AsyncChannel
        return AsyncChannel(self)

    def recv_case(self):
        return Recv(self)

    def send_case(self, value):
        return Send(self, value)


def pipe(msg_size=None, capacity=0, *, fmt=None, fdpass=False, cloexec=True):
    """A new channel as two handles (r, w): r receive-only, w send-only,
    like os.pipe(). The channel closes when every w handle is gone."""
    both = Channel(msg_size, capacity, fmt=fmt, fdpass=fdpass,
                   cloexec=cloexec)
    try:
        r = both.dup(_u.CHAN_RIGHT_RECV, cloexec=cloexec)
        w = both.dup(_u.CHAN_RIGHT_SEND, cloexec=cloexec)
    finally:
        both.release()
    return r, w


def unlink(name):
    """Remove a channel's name; open handles live on."""
    nbuf = ctypes.create_string_buffer(os.fsencode(name))
    u = _new(_u.chan_unlink, name=ctypes.addressof(nbuf))
    _dev_ioctl(_u.CHAN_IOC_UNLINK, u, "CHAN_IOC_UNLINK %r" % name)


# -- select ---------------------------------------------------------------


class Recv:
    """A receive case of select(): fires with (value, ok)."""
    op = _u.CHAN_OP_RECV

    def __init__(self, ch):
        self.ch = ch


class Send:
    """A send case of select(): fires once value is sent (ok True), or
    when the channel is closed (ok False, nothing sent)."""
    op = _u.CHAN_OP_SEND

    def __init__(self, ch, value):
        self.ch = ch
        self.value = value


def _case_buffers(cases):
    """struct chan_select_case[] and the buffers they point to."""
    arr = (_u.chan_select_case * max(len(cases), 1))()
    bufs = []
    for i, c in enumerate(cases):
        a = arr[i]
        if c is None:
            a.fd, a.op = -1, _u.CHAN_OP_RECV
            bufs.append(None)
            continue
        a.fd, a.op = c.ch.fileno(), c.op
        if c.op == _u.CHAN_OP_SEND:
            data = c.ch._encode(c.value)
            b = ctypes.create_string_buffer(data, len(data) or 1)
            a.len = len(data)
        else:
            b = ctypes.create_string_buffer(max(c.ch.msg_size, 1))
            a.len = c.ch.msg_size
        a.buf = ctypes.addressof(b)
        bufs.append(b)
    return arr, bufs


def _select_raw(cases, arr, bufs, timeout, fd=None):
    s = _new(_u.chan_select, cases=ctypes.addressof(arr), ncases=len(cases),
             case_size=ctypes.sizeof(_u.chan_select_case), index=-1)
    if fd is None:
        fd = next((c.ch.fileno() for c in cases if c is not None), None)
    if fd is None:
        raise ValueError("select() needs a non-nil case")
    i = _call(fd, _u.CHAN_IOC_SELECT, s, "select", _Deadline(timeout),
              "timeout_ns")
    return _fired(cases, arr, bufs, i)


def _fired(cases, arr, bufs, i):
    c, a = cases[i], arr[i]
    if c.op == _u.CHAN_OP_SEND or not a.ok:
        return i, None, bool(a.ok)
    return i, c.ch._decode(bufs[i].raw[:a.len]), True


def select(*cases, timeout=None):
    """Wait until exactly one case fires, like Go's select; returns
    (index, value, ok): value is the received value (None for a send
    case), ok False when the case fired because its channel is closed.
    Cases are Recv(ch), Send(ch, value) (or ch.recv_case(),
    ch.send_case(v)) and None for a nil case. timeout=0 is Go's default:
    WouldBlock when no case is ready; TimeoutError after timeout seconds."""
    arr, bufs = _case_buffers(cases)
    return _select_raw(cases, arr, bufs, timeout)


class SelectSet:
    """Select cases registered once and waited on many times (an epoll
    set's analogue): s[i] = Recv(ch) or Send(ch, value) or None; s.wait()
    returns (index, value, ok) like select(). A send case sends the value
    it was registered with; the set keeps its buffers alive while they
    are registered."""

    def __init__(self, cloexec=True):
        c = _new(_u.chan_selset_create,
                 flags=_u.CHAN_CLOEXEC if cloexec else 0)
        self._fd = _dev_ioctl(_u.CHAN_IOC_SELSET_CREATE, c,
                              "CHAN_IOC_SELSET_CREATE")
        self._cases = {}

    def fileno(self):
        if self._fd is None:
            raise ValueError("released select set")
        return self._fd

    def __setitem__(self, index, case):
        ctl = _new(_u.chan_selset_ctl, index=index, fd=-1,
                   op=_u.CHAN_OP_RECV)
        buf = None
        if case is not None:
            ctl.fd, ctl.op = case.ch.fileno(), case.op
            if case.op == _u.CHAN_OP_SEND:
                data = case.ch._encode(case.value)
                buf = ctypes.create_string_buffer(data, len(data) or 1)
                ctl.len = len(data)
            else:
                buf = ctypes.create_string_buffer(max(case.ch.msg_size, 1))
                ctl.len = case.ch.msg_size
            ctl.buf = ctypes.addressof(buf)
        _call(self.fileno(), _u.CHAN_IOC_SELSET_CTL, ctl,
              "CHAN_IOC_SELSET_CTL")
        # Only now may the old buffer go: the kernel no longer points at it.
        if case is None:
            self._cases.pop(index, None)
        else:
            self._cases[index] = (case, buf)

    def __delitem__(self, index):
        self[index] = None

    def wait(self, timeout=None):
        w = _new(_u.chan_selset_wait, index=-1)
        i = _call(self.fileno(), _u.CHAN_IOC_SELSET_WAIT, w, "selset wait",
                  _Deadline(timeout), "timeout_ns")
        case, buf = self._cases[i]
        if case.op == _u.CHAN_OP_SEND or not w.ok:
            return i, None, bool(w.ok)
        return i, case.ch._decode(buf.raw[:w.len]), True

    def release(self):
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
            self._cases.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()

    def __del__(self):
        try:
            self.release()
        except Exception:
            pass
