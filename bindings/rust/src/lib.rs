// SPDX-License-Identifier: LGPL-2.1-or-later
//! kchan: Go channels as a Linux kernel object (`/dev/chan`), from Rust.
//!
//! A channel is a kernel object reached through file descriptors, so it
//! works across processes: it survives `fork` and `exec` (without
//! close-on-exec), travels over unix sockets, and closes itself when the
//! last handle able to send on it is gone. This crate gives it typed ends:
//! a [`Sender<T>`] and a [`Receiver<T>`] each own one descriptor (a kernel
//! handle with only that right), close it on drop, and move `T` values as
//! their bytes, one message per call. `T` must be [`Plain`].
//!
//! ```no_run
//! let (tx, rx) = kchan::channel::<u64>(0)?;      // unbuffered
//! std::thread::spawn(move || {
//!     for v in 1..=3 {
//!         tx.send(v).unwrap();
//!     }
//! });                                             // tx dropped: closed
//! for v in &rx {
//!     println!("got {}", v);
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Errors are `io::Error`s with the kernel's errno: `BrokenPipe` for a send
//! on a closed channel, `TimedOut` when a timeout expires, `WouldBlock`
//! from the `try_*` calls and from a handle made with
//! [`Receiver::try_clone_nonblocking`]. Timeouts are `Option<Duration>`:
//! `None` waits forever, `Some(Duration::ZERO)` never waits.
//!
//! Readiness loops (mio, tokio's `AsyncFd`, poll/epoll): both ends are
//! [`AsFd`]; the kernel reports `POLLIN` when a recv would not block and
//! `POLLOUT` when a send would not; register a non-blocking handle of your
//! own (`try_clone_nonblocking`) and use `try_send`/`try_recv`.
//!
//! The constants and `#[repr(C)]` structs of `<linux/chan.h>` are in
//! [`uapi`], generated at build time from the header (build.rs), never
//! copied by hand.

use std::cell::Cell;
use std::ffi::CString;
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::mem::{size_of, MaybeUninit};
use std::os::raw::{c_int, c_ulong, c_void};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

/// `<linux/chan.h>`: every `CHAN_*` constant and `struct chan_*`,
/// generated from the header by build.rs.
#[allow(missing_docs)]
pub mod uapi {
    include!(concat!(env!("OUT_DIR"), "/uapi.rs"));
}

use uapi::*;

extern "C" {
    fn ioctl(fd: c_int, request: c_ulong, ...) -> c_int;
}

/// Types that may travel as their bytes, to another thread or process.
///
/// # Safety
///
/// Implement it only for `Copy` types with a fixed layout (`#[repr(C)]`
/// or a primitive) that have no padding bytes, hold no pointers or
/// references (meaningless in another process) and are valid for every
/// bit pattern: a receiver turns whatever bytes arrive into a `T`.
pub unsafe trait Plain: Copy + Send + Sync + 'static {}

macro_rules! plain {
    ($($t:ty),*) => { $(unsafe impl Plain for $t {})* };
}
plain!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64, ());
unsafe impl<T: Plain, const N: usize> Plain for [T; N] {}

fn cvt(r: c_int) -> io::Result<c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// `ioctl(fd, req, arg)`, retried on EINTR with the time left, so that a
/// deadline does not move (`set` stores the timeout in the struct).
fn call<S>(
    fd: RawFd,
    req: c_ulong,
    arg: &mut S,
    timeout: Option<Duration>,
    set: impl Fn(&mut S, i64),
) -> io::Result<c_int> {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    loop {
        let ns = match (timeout, deadline) {
            (Some(t), _) if t == Duration::ZERO => 0,
            (Some(_), Some(d)) => {
                let left = d.saturating_duration_since(Instant::now()).as_nanos();
                left.clamp(1, i64::MAX as u128) as i64
            }
            _ => -1,
        };
        set(arg, ns);
        match cvt(unsafe { ioctl(fd, req, arg as *mut S as *mut c_void) }) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

fn simple<S>(fd: RawFd, req: c_ulong, arg: &mut S) -> io::Result<c_int> {
    call(fd, req, arg, None, |_, _| ())
}

fn dev_ioctl<S>(req: c_ulong, arg: &mut S) -> io::Result<OwnedFd> {
    let dev = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(CHAN_CLOEXEC as c_int)
        .open(CHAN_DEVICE)?;
    let fd = simple(dev.as_raw_fd(), req, arg)?;
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

macro_rules! sized {
    ($t:ident { $($f:ident: $v:expr),* $(,)? }) => {
        $t { size: size_of::<$t>() as u32, $($f: $v,)* ..Default::default() }
    };
}

fn info_of(fd: RawFd) -> io::Result<chan_info> {
    let mut i = sized!(chan_info {});
    simple(fd, CHAN_IOC_INFO, &mut i)?;
    Ok(i)
}

fn dup_of(fd: RawFd, rights: u32, flags: u32) -> io::Result<OwnedFd> {
    let mut d = sized!(chan_dup { rights: rights, flags: flags });
    let nfd = simple(fd, CHAN_IOC_DUP, &mut d)?;
    Ok(unsafe { OwnedFd::from_raw_fd(nfd) })
}

/// An fd checked to be a channel handle with `right` whose messages are
/// exactly a `T`.
fn checked<T>(fd: OwnedFd, right: u32) -> io::Result<OwnedFd> {
    let i = info_of(fd.as_raw_fd())?;
    if i.rights & right == 0 {
        return Err(io::Error::from_raw_os_error(9 /* EBADF */));
    }
    if i.msg_size as usize != size_of::<T>() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "kchan: channel's msg_size is {}, size_of::<{}>() is {}",
                i.msg_size,
                std::any::type_name::<T>(),
                size_of::<T>()
            ),
        ));
    }
    Ok(fd)
}

fn as_bytes<T: Plain>(v: &T) -> *const T {
    v as *const T
}

fn short_message<T>(len: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "kchan: a {} byte message for a {} of {} bytes",
            len,
            std::any::type_name::<T>(),
            size_of::<T>()
        ),
    )
}

/// The sending end of a channel of `T`: a handle with the send right only.
/// Dropping it closes its descriptor; when the last send-capable handle of
/// an anonymous channel goes, the channel is closed (Go's `close`).
pub struct Sender<T> {
    fd: OwnedFd,
    _t: PhantomData<fn(T)>,
}

/// The receiving end of a channel of `T`: a handle with the recv right only.
pub struct Receiver<T> {
    fd: OwnedFd,
    _t: PhantomData<fn() -> T>,
}

/// A new anonymous channel of `T` with room for `capacity` messages (0:
/// unbuffered, every send a rendezvous); close-on-exec. See [`Builder`].
pub fn channel<T: Plain>(capacity: u32) -> io::Result<(Sender<T>, Receiver<T>)> {
    Builder::new().capacity(capacity).build()
}

/// Options for a new anonymous channel.
#[derive(Clone, Debug)]
pub struct Builder {
    capacity: u32,
    fdpass: bool,
    cloexec: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Builder { capacity: 0, fdpass: false, cloexec: true }
    }
}

impl Builder {
    /// Unbuffered, no descriptor passing, close-on-exec.
    pub fn new() -> Self {
        Self::default()
    }

    /// Buffered messages (0: unbuffered).
    pub fn capacity(&mut self, capacity: u32) -> &mut Self {
        self.capacity = capacity;
        self
    }

    /// Let each message carry one file descriptor (`CHAN_FDPASS`).
    pub fn fdpass(&mut self, on: bool) -> &mut Self {
        self.fdpass = on;
        self
    }

    /// Close-on-exec descriptors (the default); false to hand them to an
    /// exec'd program.
    pub fn cloexec(&mut self, on: bool) -> &mut Self {
        self.cloexec = on;
        self
    }

    /// Make the channel: its two ends.
    pub fn build<T: Plain>(&self) -> io::Result<(Sender<T>, Receiver<T>)> {
        let fl = if self.cloexec { CHAN_CLOEXEC } else { 0 };
        let mut c = sized!(chan_create {
            flags: fl | if self.fdpass { CHAN_FDPASS } else { 0 },
            capacity: self.capacity,
            msg_size: size_of::<T>() as u32,
        });
        let both = dev_ioctl(CHAN_IOC_CREATE, &mut c)?;
        let tx = dup_of(both.as_raw_fd(), CHAN_RIGHT_SEND, fl)?;
        let rx = dup_of(both.as_raw_fd(), CHAN_RIGHT_RECV, fl)?;
        Ok((Sender { fd: tx, _t: PhantomData }, Receiver { fd: rx, _t: PhantomData }))
    }
}

/// Opening named channels (`CHAN_IOC_OPEN`, like `mq_open`).
#[derive(Clone, Debug)]
pub struct OpenOptions {
    create: bool,
    exclusive: bool,
    mode: u32,
    capacity: u32,
    fdpass: bool,
    autoclose: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions { create: false, exclusive: false, mode: 0o600, capacity: 0, fdpass: false, autoclose: false }
    }
}

impl OpenOptions {
    /// Open an existing name.
    pub fn new() -> Self {
        Self::default()
    }
    /// Create the channel if the name does not exist (`O_CREAT`).
    pub fn create(&mut self, on: bool) -> &mut Self {
        self.create = on;
        self
    }
    /// Fail with `AlreadyExists` if it does (`O_EXCL`).
    pub fn exclusive(&mut self, on: bool) -> &mut Self {
        self.exclusive = on;
        self
    }
    /// Permission bits of a new channel (before the umask).
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = mode;
        self
    }
    /// Capacity of a new channel.
    pub fn capacity(&mut self, capacity: u32) -> &mut Self {
        self.capacity = capacity;
        self
    }
    /// A new channel's messages may carry a descriptor.
    pub fn fdpass(&mut self, on: bool) -> &mut Self {
        self.fdpass = on;
        self
    }
    /// A new channel closes when its last send-capable handle goes away,
    /// name or not (`CHAN_AUTOCLOSE`).
    pub fn autoclose(&mut self, on: bool) -> &mut Self {
        self.autoclose = on;
        self
    }

    fn open<T>(&self, name: &str, access: c_int, right: u32) -> io::Result<OwnedFd> {
        const O_CREAT: u32 = 0o100;
        const O_EXCL: u32 = 0o200;
        let cname = CString::new(name).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let mut o = sized!(chan_open {
            oflag: access as u32
                | CHAN_CLOEXEC
                | if self.create { O_CREAT } else { 0 }
                | if self.exclusive { O_EXCL } else { 0 },
            name: cname.as_ptr() as u64,
            mode: self.mode,
            flags: if self.fdpass { CHAN_FDPASS } else { 0 }
                | if self.autoclose { CHAN_AUTOCLOSE } else { 0 },
            capacity: self.capacity,
            msg_size: size_of::<T>() as u32,
        });
        checked::<T>(dev_ioctl(CHAN_IOC_OPEN, &mut o)?, right)
    }

    /// A send-only handle on the named channel `name`.
    pub fn sender<T: Plain>(&self, name: &str) -> io::Result<Sender<T>> {
        Ok(Sender { fd: self.open::<T>(name, 1 /* O_WRONLY */, CHAN_RIGHT_SEND)?, _t: PhantomData })
    }

    /// A recv-only handle on the named channel `name`.
    pub fn receiver<T: Plain>(&self, name: &str) -> io::Result<Receiver<T>> {
        Ok(Receiver { fd: self.open::<T>(name, 0 /* O_RDONLY */, CHAN_RIGHT_RECV)?, _t: PhantomData })
    }
}

/// Remove a channel's name; open handles live on.
pub fn unlink(name: &str) -> io::Result<()> {
    let cname = CString::new(name).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut u = sized!(chan_unlink { name: cname.as_ptr() as u64 });
    dev_ioctl(CHAN_IOC_UNLINK, &mut u).map(drop)
}

/// Go's `close()` through any handle with the send right.
fn close_fd(fd: RawFd) -> io::Result<()> {
    cvt(unsafe { ioctl(fd, CHAN_IOC_CLOSE, 0usize) }).map(drop)
}

impl<T: Plain> Sender<T> {
    /// Send `v`, waiting as long as it takes (unbuffered: until a receiver
    /// takes it; buffered: for a free slot). `BrokenPipe` once closed.
    pub fn send(&self, v: T) -> io::Result<()> {
        self.send_timeout(v, None)
    }

    /// Send `v` without waiting: `WouldBlock` when it would.
    pub fn try_send(&self, v: T) -> io::Result<()> {
        self.send_timeout(v, Some(Duration::ZERO))
    }

    /// Send `v`, waiting at most `timeout` (`TimedOut`; nothing sent).
    pub fn send_timeout(&self, v: T, timeout: Option<Duration>) -> io::Result<()> {
        self.send_raw(&v, -1, timeout)
    }

    /// Send `v` with a descriptor (channels built with `fdpass`); the
    /// message holds its own reference to the file.
    pub fn send_with_fd(&self, v: T, fd: BorrowedFd<'_>, timeout: Option<Duration>) -> io::Result<()> {
        self.send_raw(&v, fd.as_raw_fd(), timeout)
    }

    fn send_raw(&self, v: &T, fd: RawFd, timeout: Option<Duration>) -> io::Result<()> {
        let mut m = sized!(chan_msg { buf: as_bytes(v) as u64, len: size_of::<T>() as u64, fd: fd });
        call(self.fd.as_raw_fd(), CHAN_IOC_SEND, &mut m, timeout, |m, ns| m.timeout_ns = ns).map(drop)
    }

    /// Go's `close()`: receivers drain what is buffered, then see `None`;
    /// sends fail `BrokenPipe`. A second close fails (EALREADY).
    pub fn close(&self) -> io::Result<()> {
        close_fd(self.fd.as_raw_fd())
    }

    /// A new send handle of the same channel (`CHAN_IOC_DUP`).
    pub fn try_clone(&self) -> io::Result<Self> {
        Ok(Sender { fd: dup_of(self.fd.as_raw_fd(), CHAN_RIGHT_SEND, CHAN_CLOEXEC)?, _t: PhantomData })
    }

    /// A new send handle with `O_NONBLOCK`, for readiness loops: its sends
    /// never wait (`WouldBlock`); the other handles stay blocking.
    pub fn try_clone_nonblocking(&self) -> io::Result<Self> {
        Ok(Sender {
            fd: dup_of(self.fd.as_raw_fd(), CHAN_RIGHT_SEND, CHAN_CLOEXEC | CHAN_NONBLOCK)?,
            _t: PhantomData,
        })
    }

    /// Adopt a descriptor (from a parent, `SCM_RIGHTS`, a message): it
    /// must be a channel handle with the send right and messages of
    /// exactly `size_of::<T>()` bytes.
    pub fn from_fd(fd: OwnedFd) -> io::Result<Self> {
        Ok(Sender { fd: checked::<T>(fd, CHAN_RIGHT_SEND)?, _t: PhantomData })
    }

    /// A snapshot of the channel.
    pub fn info(&self) -> io::Result<chan_info> {
        info_of(self.fd.as_raw_fd())
    }
}

impl<T: Plain> Receiver<T> {
    /// The next message, waiting as long as it takes; `None` once the
    /// channel is closed and drained.
    pub fn recv(&self) -> io::Result<Option<T>> {
        self.recv_timeout(None)
    }

    /// `recv` without waiting: `WouldBlock` when nothing is there.
    pub fn try_recv(&self) -> io::Result<Option<T>> {
        self.recv_timeout(Some(Duration::ZERO))
    }

    /// `recv`, waiting at most `timeout` (`TimedOut`; nothing taken).
    pub fn recv_timeout(&self, timeout: Option<Duration>) -> io::Result<Option<T>> {
        Ok(self.recv_raw(timeout, false)?.map(|(v, _)| v))
    }

    /// `recv` with the descriptor that came with the message (installed
    /// close-on-exec), if any.
    pub fn recv_with_fd(&self, timeout: Option<Duration>) -> io::Result<Option<(T, Option<OwnedFd>)>> {
        self.recv_raw(timeout, true)
    }

    fn recv_raw(&self, timeout: Option<Duration>, want_fd: bool) -> io::Result<Option<(T, Option<OwnedFd>)>> {
        let mut v = MaybeUninit::<T>::zeroed();
        let mut m = sized!(chan_msg {
            buf: v.as_mut_ptr() as u64,
            len: size_of::<T>() as u64,
            fd: -1,
            flags: CHAN_MSG_FD_CLOEXEC,
        });
        call(self.fd.as_raw_fd(), CHAN_IOC_RECV, &mut m, timeout, |m, ns| m.timeout_ns = ns)?;
        let fd = if m.fd >= 0 { Some(unsafe { OwnedFd::from_raw_fd(m.fd) }) } else { None };
        if m.ok == 0 {
            return Ok(None);
        }
        if m.len != size_of::<T>() as u64 {
            return Err(short_message::<T>(m.len));
        }
        // Plain: every bit pattern is a valid T, and all of them arrived.
        let v = unsafe { v.assume_init() };
        Ok(Some((v, if want_fd { fd } else { None })))
    }

    /// Iterate until the channel is closed (Go's `for v := range ch`);
    /// an error also ends the iteration.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// Messages buffered now.
    pub fn len(&self) -> io::Result<usize> {
        Ok(self.info()?.len as usize)
    }

    /// True when no message is buffered now.
    pub fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }

    /// A new recv handle of the same channel (`CHAN_IOC_DUP`).
    pub fn try_clone(&self) -> io::Result<Self> {
        Ok(Receiver { fd: dup_of(self.fd.as_raw_fd(), CHAN_RIGHT_RECV, CHAN_CLOEXEC)?, _t: PhantomData })
    }

    /// A new recv handle with `O_NONBLOCK` for readiness loops (mio,
    /// epoll): its recvs never wait (`WouldBlock`); the other handles,
    /// this one included, stay blocking.
    pub fn try_clone_nonblocking(&self) -> io::Result<Self> {
        Ok(Receiver {
            fd: dup_of(self.fd.as_raw_fd(), CHAN_RIGHT_RECV, CHAN_CLOEXEC | CHAN_NONBLOCK)?,
            _t: PhantomData,
        })
    }

    /// Adopt a descriptor: a channel handle with the recv right and
    /// messages of exactly `size_of::<T>()` bytes.
    pub fn from_fd(fd: OwnedFd) -> io::Result<Self> {
        Ok(Receiver { fd: checked::<T>(fd, CHAN_RIGHT_RECV)?, _t: PhantomData })
    }

    /// A snapshot of the channel.
    pub fn info(&self) -> io::Result<chan_info> {
        info_of(self.fd.as_raw_fd())
    }
}

/// Receives until the channel is closed: [`Receiver::iter`].
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<'a, T: Plain> Iterator for Iter<'a, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok().flatten()
    }
}

impl<'a, T: Plain> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

macro_rules! fd_traits {
    ($($t:ident)*) => {$(
        impl<T> AsFd for $t<T> {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.fd.as_fd()
            }
        }
        impl<T> AsRawFd for $t<T> {
            fn as_raw_fd(&self) -> RawFd {
                self.fd.as_raw_fd()
            }
        }
        impl<T> From<$t<T>> for OwnedFd {
            fn from(x: $t<T>) -> OwnedFd {
                x.fd
            }
        }
        impl<T> fmt::Debug for $t<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($t))
                    .field("fd", &self.fd.as_raw_fd())
                    .field("type", &std::any::type_name::<T>())
                    .finish()
            }
        }
    )*};
}
fd_traits!(Sender Receiver);

/// Go's `select` as a builder: each case with what to do when it fires.
/// Exactly one case fires; ready cases are chosen at random.
///
/// ```no_run
/// # let (tx, rx) = kchan::channel::<u32>(1)?;
/// # let (tx2, rx2) = kchan::channel::<u64>(1)?;
/// let what = kchan::Select::new()
///     .recv(&rx, |v| format!("rx: {:?}", v))
///     .recv(&rx2, |v| format!("rx2: {:?}", v))
///     .send(&tx, 7, |sent| format!("sent: {}", sent))
///     .wait(None)?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// A recv case gets `Some(v)`, or `None` when its channel is closed; a
/// send case `true` once sent, `false` when its channel is closed (nothing
/// sent). `wait(Some(Duration::ZERO))` is Go's `default`: `WouldBlock`
/// when no case is ready.
pub struct Select<'a, R> {
    cases: Vec<chan_select_case>,
    bufs: Vec<Vec<u64>>,
    handlers: Vec<Box<dyn FnOnce(&[u64], u64, bool) -> io::Result<R> + 'a>>,
}

impl<'a, R> Default for Select<'a, R> {
    fn default() -> Self {
        Select { cases: Vec::new(), bufs: Vec::new(), handlers: Vec::new() }
    }
}

fn words_for<T>() -> Vec<u64> {
    vec![0u64; (size_of::<T>() + 7) / 8]
}

impl<'a, R> Select<'a, R> {
    /// No cases yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A recv case on `rx`.
    pub fn recv<T: Plain>(mut self, rx: &'a Receiver<T>, f: impl FnOnce(Option<T>) -> R + 'a) -> Self {
        let mut buf = words_for::<T>();
        self.cases.push(chan_select_case {
            fd: rx.as_raw_fd(),
            op: CHAN_OP_RECV,
            buf: buf.as_mut_ptr() as u64,
            len: size_of::<T>() as u64,
            ..Default::default()
        });
        self.bufs.push(buf);
        self.handlers.push(Box::new(move |buf: &[u64], len, ok| {
            if !ok {
                return Ok(f(None));
            }
            if len != size_of::<T>() as u64 {
                return Err(short_message::<T>(len));
            }
            // Plain, and the buffer is 8-aligned and long enough.
            Ok(f(Some(unsafe { (buf.as_ptr() as *const T).read_unaligned() })))
        }));
        self
    }

    /// A send case of `v` on `tx`.
    pub fn send<T: Plain>(mut self, tx: &'a Sender<T>, v: T, f: impl FnOnce(bool) -> R + 'a) -> Self {
        let mut buf = words_for::<T>();
        unsafe { (buf.as_mut_ptr() as *mut T).write_unaligned(v) };
        self.cases.push(chan_select_case {
            fd: tx.as_raw_fd(),
            op: CHAN_OP_SEND,
            buf: buf.as_mut_ptr() as u64,
            len: size_of::<T>() as u64,
            ..Default::default()
        });
        self.bufs.push(buf);
        self.handlers.push(Box::new(move |_: &[u64], _, ok| Ok(f(ok))));
        self
    }

    /// Wait until one case fires (at most `timeout`), run its handler and
    /// return what it returns.
    pub fn wait(mut self, timeout: Option<Duration>) -> io::Result<R> {
        let first = self
            .cases
            .first()
            .map(|c| c.fd)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "kchan: select without cases"))?;
        let mut s = sized!(chan_select {
            cases: self.cases.as_mut_ptr() as u64,
            ncases: self.cases.len() as u32,
            index: -1,
            case_size: size_of::<chan_select_case>() as u32,
        });
        let i = call(first, CHAN_IOC_SELECT, &mut s, timeout, |s, ns| s.timeout_ns = ns)? as usize;
        let c = self.cases[i];
        let f = self.handlers.swap_remove(i);
        f(&self.bufs[i], c.len, c.ok != 0)
    }
}

/// What fired in a [`SelectSet::wait`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fired {
    /// The case's index.
    pub index: u32,
    /// True when a message moved, false when the case's channel is closed.
    pub ok: bool,
    /// A recv case: the message's length (`size_of::<T>()` for a whole T).
    pub len: u64,
}

/// A select set: cases registered once and waited on many times, like an
/// epoll set. The kernel reads a send case's message and writes a recv
/// case's message at wait time, so each case names a `Cell` that the set
/// borrows for `'a`: it stays valid (and readable by you, between waits)
/// as long as it is registered.
///
/// ```no_run
/// # use std::cell::Cell;
/// let (tx, rx) = kchan::channel::<u64>(4)?;
/// let got = Cell::new(0u64);
/// let mut set = kchan::SelectSet::new()?;
/// set.set_recv(0, &rx, &got)?;
/// tx.send(5)?;
/// let fired = set.wait(None)?;
/// assert_eq!((fired.index, fired.ok, got.get()), (0, true, 5));
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct SelectSet<'a> {
    fd: OwnedFd,
    _bufs: PhantomData<&'a Cell<u8>>,
}

impl<'a> SelectSet<'a> {
    /// A new, empty set.
    pub fn new() -> io::Result<Self> {
        let mut c = sized!(chan_selset_create { flags: CHAN_CLOEXEC });
        Ok(SelectSet { fd: dev_ioctl(CHAN_IOC_SELSET_CREATE, &mut c)?, _bufs: PhantomData })
    }

    fn ctl(&mut self, index: u32, fd: RawFd, op: u32, buf: u64, len: u64) -> io::Result<()> {
        let mut c = sized!(chan_selset_ctl { index: index, fd: fd, op: op, buf: buf, len: len });
        simple(self.fd.as_raw_fd(), CHAN_IOC_SELSET_CTL, &mut c).map(drop)
    }

    /// Make case `index` a recv on `rx` into `slot`.
    pub fn set_recv<T: Plain>(&mut self, index: u32, rx: &Receiver<T>, slot: &'a Cell<T>) -> io::Result<()> {
        self.ctl(index, rx.as_raw_fd(), CHAN_OP_RECV, slot.as_ptr() as u64, size_of::<T>() as u64)
    }

    /// Make case `index` a send on `tx` of what `msg` holds at wait time.
    pub fn set_send<T: Plain>(&mut self, index: u32, tx: &Sender<T>, msg: &'a Cell<T>) -> io::Result<()> {
        self.ctl(index, tx.as_raw_fd(), CHAN_OP_SEND, msg.as_ptr() as u64, size_of::<T>() as u64)
    }

    /// Make case `index` a nil case, one that never fires.
    pub fn clear(&mut self, index: u32) -> io::Result<()> {
        self.ctl(index, -1, CHAN_OP_RECV, 0, 0)
    }

    /// Wait until one case fires, at most `timeout`.
    pub fn wait(&mut self, timeout: Option<Duration>) -> io::Result<Fired> {
        let mut w = sized!(chan_selset_wait { index: -1 });
        let i = call(self.fd.as_raw_fd(), CHAN_IOC_SELSET_WAIT, &mut w, timeout, |w, ns| w.timeout_ns = ns)?;
        Ok(Fired { index: i as u32, ok: w.ok != 0, len: w.len })
    }
}

impl<'a> AsFd for SelectSet<'a> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
