// SPDX-License-Identifier: LGPL-2.1-or-later
//! Tests of the kchan crate against /dev/chan (run them in the VM:
//! selftests/rust_test.sh). Multi-process tests re-exec this test binary:
//! the child runs one `child_*` test, selected by KCHAN_CHILD, on the
//! descriptor numbers in KCHAN_FDS.

use std::cell::Cell;
use std::io::{self, ErrorKind, Read, Seek, SeekFrom, Write};
use std::os::raw::c_int;
use std::os::unix::io::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::time::Duration;

use kchan::{channel, Builder, OpenOptions, Receiver, Select, SelectSet, Sender};

extern "C" {
    fn fcntl(fd: c_int, cmd: c_int, ...) -> c_int;
    fn poll(fds: *mut PollFd, n: u64, timeout: c_int) -> c_int;
}

#[repr(C)]
struct PollFd {
    fd: c_int,
    events: i16,
    revents: i16,
}

const POLLIN: i16 = 1;
const POLLOUT: i16 = 4;
const F_SETFD: c_int = 2;

fn have_dev() -> bool {
    if std::path::Path::new("/dev/chan").exists() {
        return true;
    }
    eprintln!("skipped: no /dev/chan (run in the VM)");
    false
}

/// Run the test `name` of this binary in a new process, with `fds`
/// inherited (their numbers in KCHAN_FDS).
fn spawn_child(name: &str, fds: &[RawFd]) -> Child {
    let list: Vec<String> = fds.iter().map(|f| f.to_string()).collect();
    let keep = fds.to_vec();
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env("KCHAN_CHILD", name)
        .env("KCHAN_FDS", list.join(","));
    // Only these descriptors lose close-on-exec, in the child alone.
    unsafe {
        cmd.pre_exec(move || {
            for &fd in &keep {
                if fcntl(fd, F_SETFD, 0) < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    cmd.spawn().expect("spawn child")
}

/// In a child started for `name`: its descriptors. None in a normal run.
fn child_fds(name: &str) -> Option<Vec<OwnedFd>> {
    if std::env::var("KCHAN_CHILD").ok()?.as_str() != name {
        return None;
    }
    let fds = std::env::var("KCHAN_FDS").unwrap();
    Some(fds.split(',').map(|f| unsafe { OwnedFd::from_raw_fd(f.parse().unwrap()) }).collect())
}

fn wait_ok(mut c: Child) {
    let st = c.wait().unwrap();
    assert!(st.success(), "child failed: {:?}", st);
}

#[test]
fn uapi_has_every_macro_of_the_header() {
    let text = std::fs::read_to_string(env!("KCHAN_UAPI_HEADER_PATH")).unwrap();
    let mut n = 0;
    for line in text.lines() {
        let mut it = line.split_whitespace();
        if it.next() == Some("#define") {
            if let (Some(name), Some(_)) = (it.next(), it.next()) {
                if name.starts_with("CHAN_") {
                    assert!(kchan::uapi::MACROS.contains(&name), "{} not generated", name);
                    n += 1;
                }
            }
        }
    }
    assert!(n > 20);
    // The size is encoded in the ioctl number: _IOWR(0xC7, 0x10, chan_msg).
    let size = std::mem::size_of::<kchan::uapi::chan_msg>() as u64;
    assert_eq!(kchan::uapi::CHAN_IOC_SEND as u64, (3 << 30) | (size << 16) | (0xC7 << 8) | 0x10);
    assert_eq!(kchan::uapi::CHAN_MSG_SIZE_VER0 as u64, size);
}

#[test]
fn ends_are_send_and_sync() {
    fn is<T: Send + Sync>() {}
    is::<Sender<u64>>();
    is::<Receiver<[u8; 16]>>();
}

#[test]
fn buffered_fifo_close_and_drain() {
    if !have_dev() {
        return;
    }
    let (tx, rx) = channel::<u32>(4).unwrap();
    for v in [1, 2, 3] {
        tx.send(v).unwrap();
    }
    assert_eq!(rx.len().unwrap(), 3);
    assert_eq!(rx.info().unwrap().capacity, 4);
    tx.close().unwrap();
    assert_eq!(tx.close().unwrap_err().raw_os_error(), Some(114)); // EALREADY
    assert_eq!(tx.send(9).unwrap_err().kind(), ErrorKind::BrokenPipe);
    assert_eq!(rx.iter().collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(rx.recv().unwrap(), None);
}

#[test]
fn last_sender_dropped_closes() {
    if !have_dev() {
        return;
    }
    let (tx, rx) = channel::<u64>(1).unwrap();
    let tx2 = tx.try_clone().unwrap();
    drop(tx);
    tx2.send(5).unwrap();
    drop(tx2);
    assert_eq!(rx.recv().unwrap(), Some(5));
    assert_eq!(rx.recv().unwrap(), None);
}

#[test]
fn try_and_timeouts() {
    if !have_dev() {
        return;
    }
    let (tx, rx) = channel::<u8>(0).unwrap();
    assert_eq!(rx.try_recv().unwrap_err().kind(), ErrorKind::WouldBlock);
    assert_eq!(tx.try_send(1).unwrap_err().kind(), ErrorKind::WouldBlock);
    let t = Some(Duration::from_millis(5));
    assert_eq!(rx.recv_timeout(t).unwrap_err().kind(), ErrorKind::TimedOut);
    assert_eq!(tx.send_timeout(1, t).unwrap_err().kind(), ErrorKind::TimedOut);
}

#[test]
fn unbuffered_between_threads() {
    if !have_dev() {
        return;
    }
    let (tx, rx) = channel::<[u64; 2]>(0).unwrap();
    let t = std::thread::spawn(move || {
        for i in 0..100u64 {
            tx.send([i, i * i]).unwrap();
        }
    });
    let got: Vec<[u64; 2]> = rx.iter().collect();
    t.join().unwrap();
    assert_eq!(got, (0..100u64).map(|i| [i, i * i]).collect::<Vec<_>>());
}

#[test]
fn zero_sized_events() {
    if !have_dev() {
        return;
    }
    let (tx, rx) = channel::<()>(2).unwrap();
    tx.send(()).unwrap();
    assert_eq!(rx.recv().unwrap(), Some(()));
}

#[test]
fn from_fd_checks_rights_and_size() {
    if !have_dev() {
        return;
    }
    let (tx, rx) = channel::<u32>(1).unwrap();
    let fd: OwnedFd = rx.into();
    assert!(Receiver::<u64>::from_fd(fd.try_clone().unwrap()).is_err());
    assert_eq!(Sender::<u32>::from_fd(fd.try_clone().unwrap()).unwrap_err().raw_os_error(), Some(9));
    let rx = Receiver::<u32>::from_fd(fd).unwrap();
    tx.send(7).unwrap();
    assert_eq!(rx.recv().unwrap(), Some(7));
}

/// A readiness loop over a non-blocking handle of one's own, as mio or
/// tokio's AsyncFd would run it; the original handle stays blocking.
#[test]
fn readiness_with_nonblocking_handle() {
    if !have_dev() {
        return;
    }
    let (tx, rx) = channel::<u32>(1).unwrap();
    let nb = rx.try_clone_nonblocking().unwrap();
    assert_eq!(nb.recv().unwrap_err().kind(), ErrorKind::WouldBlock);
    let mut p = PollFd { fd: nb.as_fd().as_raw_fd(), events: POLLIN, revents: 0 };
    assert_eq!(unsafe { poll(&mut p, 1, 0) }, 0);
    let mut q = PollFd { fd: tx.as_raw_fd(), events: POLLOUT, revents: 0 };
    assert_eq!(unsafe { poll(&mut q, 1, 0) }, 1);
    tx.send(3).unwrap();
    assert_eq!(unsafe { poll(&mut p, 1, -1) }, 1);
    assert_eq!(p.revents & POLLIN, POLLIN);
    assert_eq!(nb.try_recv().unwrap(), Some(3));
    assert_eq!(rx.recv_timeout(Some(Duration::from_millis(1))).unwrap_err().kind(), ErrorKind::TimedOut);
}

#[test]
fn select_builder() {
    if !have_dev() {
        return;
    }
    let (tx1, rx1) = channel::<u32>(1).unwrap();
    let (tx2, rx2) = channel::<u64>(1).unwrap();
    let mut log = Vec::new();
    let r = Select::new()
        .recv(&rx1, |v| ("rx1", v.map(u64::from)))
        .recv(&rx2, |v| ("rx2", v))
        .wait(Some(Duration::ZERO));
    assert_eq!(r.unwrap_err().kind(), ErrorKind::WouldBlock);
    tx2.send(1 << 40).unwrap();
    let r = Select::new()
        .recv(&rx1, |v| ("rx1", v.map(u64::from)))
        .recv(&rx2, |v| {
            log.push("handler ran");
            ("rx2", v)
        })
        .wait(None)
        .unwrap();
    assert_eq!(r, ("rx2", Some(1 << 40)));
    assert_eq!(log, ["handler ran"]);
    let sent = Select::new().send(&tx1, 9, |ok| ok).recv(&rx2, |_| false).wait(None).unwrap();
    assert!(sent);
    assert_eq!(rx1.recv().unwrap(), Some(9));
    tx1.close().unwrap();
    assert_eq!(Select::new().recv(&rx1, |v| v).wait(None).unwrap(), None);
}

#[test]
fn select_set_cells() {
    if !have_dev() {
        return;
    }
    let (tx, rx) = channel::<u64>(4).unwrap();
    let (otx, orx) = channel::<u32>(1).unwrap();
    let got = Cell::new(0u64);
    let out = Cell::new(77u32);
    let mut set = SelectSet::new().unwrap();
    set.set_recv(0, &rx, &got).unwrap();
    set.set_send(2, &otx, &out).unwrap();
    let f = set.wait(None).unwrap();
    assert_eq!((f.index, f.ok), (2, true));
    assert_eq!(orx.recv().unwrap(), Some(77));
    set.clear(2).unwrap();
    for v in [10, 11] {
        tx.send(v).unwrap();
    }
    for v in [10, 11] {
        let f = set.wait(None).unwrap();
        assert_eq!((f.index, f.ok, f.len), (0, true, 8));
        assert_eq!(got.get(), v); // readable between waits
    }
    assert_eq!(set.wait(Some(Duration::ZERO)).unwrap_err().kind(), ErrorKind::WouldBlock);
}

#[test]
fn named_channel() {
    if !have_dev() {
        return;
    }
    let name = format!("rust_test_{}", std::process::id());
    let tx = OpenOptions::new().create(true).exclusive(true).capacity(1).sender::<u32>(&name).unwrap();
    let err = OpenOptions::new().create(true).exclusive(true).sender::<u32>(&name).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert!(OpenOptions::new().receiver::<u64>(&name).is_err()); // wrong size
    let rx = OpenOptions::new().receiver::<u32>(&name).unwrap();
    tx.send(4).unwrap();
    assert_eq!(rx.recv().unwrap(), Some(4));
    kchan::unlink(&name).unwrap();
    assert_eq!(OpenOptions::new().receiver::<u32>(&name).unwrap_err().kind(), ErrorKind::NotFound);
}

#[test]
fn fd_passing_file() {
    if !have_dev() {
        return;
    }
    let (tx, rx) = Builder::new().capacity(1).fdpass(true).build::<u32>().unwrap();
    let path = std::env::temp_dir().join(format!("kchan-rust-{}", std::process::id()));
    let mut f = std::fs::File::options().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    f.write_all(b"passed along").unwrap();
    tx.send_with_fd(1, f.as_fd(), None).unwrap();
    drop(f);
    let (v, fd) = rx.recv_with_fd(None).unwrap().unwrap();
    assert_eq!(v, 1);
    let mut g = std::fs::File::from(fd.unwrap());
    let mut s = String::new();
    g.seek(SeekFrom::Start(0)).unwrap();
    g.read_to_string(&mut s).unwrap();
    assert_eq!(s, "passed along");
}

/// Three producer processes, one consumer (this one): every message once,
/// in order per producer; the channel closes when the last producer exits.
#[test]
fn processes_producers() {
    if !have_dev() {
        return;
    }
    let (tx, rx) = channel::<[u32; 2]>(4).unwrap();
    let kids: Vec<Child> = (0..3).map(|_| spawn_child("child_producer", &[tx.as_raw_fd()])).collect();
    drop(tx);
    let mut got: Vec<[u32; 2]> = rx.iter().collect();
    for k in kids {
        wait_ok(k);
    }
    assert_eq!(got.len(), 300);
    let mut per: std::collections::HashMap<u32, Vec<u32>> = Default::default();
    for [pid, i] in got.drain(..) {
        per.entry(pid).or_default().push(i);
    }
    assert_eq!(per.len(), 3);
    for v in per.values() {
        assert_eq!(*v, (0..100).collect::<Vec<u32>>());
    }
}

#[test]
fn child_producer() {
    let fds = match child_fds("child_producer") {
        Some(f) => f,
        None => return,
    };
    let tx = Sender::<[u32; 2]>::from_fd(fds.into_iter().next().unwrap()).unwrap();
    for i in 0..100 {
        tx.send([std::process::id(), i]).unwrap();
    }
}

/// A child selects over two unbuffered channels fed by the parent, and
/// reports back what it saw.
#[test]
fn processes_select() {
    if !have_dev() {
        return;
    }
    let (atx, arx) = channel::<u32>(0).unwrap();
    let (btx, brx) = channel::<u64>(0).unwrap();
    let (rtx, rrx) = channel::<u64>(1).unwrap();
    let kid = spawn_child("child_select", &[arx.as_raw_fd(), brx.as_raw_fd(), rtx.as_raw_fd()]);
    drop((arx, brx, rtx));
    for i in 0..50 {
        atx.send(i).unwrap();
        btx.send(1000 + u64::from(i)).unwrap();
    }
    drop((atx, btx));
    assert_eq!(rrx.recv().unwrap(), Some((0..50).map(|i| i + 1000 + i).sum()));
    wait_ok(kid);
}

#[test]
fn child_select() {
    let fds = match child_fds("child_select") {
        Some(f) => f,
        None => return,
    };
    let mut it = fds.into_iter();
    let a = Receiver::<u32>::from_fd(it.next().unwrap()).unwrap();
    let b = Receiver::<u64>::from_fd(it.next().unwrap()).unwrap();
    let r = Sender::<u64>::from_fd(it.next().unwrap()).unwrap();
    let (mut sum, mut open) = (0u64, 2);
    while open > 0 {
        let (v, closed) = Select::new()
            .recv(&a, |v| (v.map(u64::from).unwrap_or(0), v.is_none()))
            .recv(&b, |v| (v.unwrap_or(0), v.is_none()))
            .wait(None)
            .unwrap();
        sum += v;
        if closed {
            open -= 1;
            if open == 1 {
                // Drain the other one without selecting the closed again.
                let rest: u64 = if a.try_recv().map(|v| v.is_none()).unwrap_or(false) {
                    b.iter().sum()
                } else {
                    a.iter().map(u64::from).sum()
                };
                sum += rest;
                open = 0;
            }
        }
    }
    r.send(sum).unwrap();
}
