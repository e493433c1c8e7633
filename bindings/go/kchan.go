// SPDX-License-Identifier: GPL-2.0

// Package kchan gives Go programs kchan channels: Go channels as a Linux
// kernel object behind /dev/chan, which work between processes.
//
// A channel carries messages of 0..MsgSize bytes, unbuffered (capacity 0,
// a rendezvous) or buffered, with Go's semantics: FIFO, close lets
// receivers drain and then report !ok, a send on a closed channel fails
// (with ErrClosed instead of a panic), Select picks uniformly at random
// among ready cases. A *Handle is one file descriptor on a channel with send
// and/or receive rights; Chan[T] types it, SendOnly[T] and RecvOnly[T] are
// its directional forms, and RecvOnly.Chan / SendOnly.Chan bridge it to a
// native Go channel so that code can range over a channel another process
// feeds.
//
// Close is Go's close(ch): it closes the channel for every process. A
// handle's descriptor is given back with Release (or by the garbage
// collector, as for an *os.File).
//
// Waiting. Blocking operations do not take an OS thread per waiting
// goroutine. The descriptors are non-blocking and registered with Go's
// runtime poller (through os.File and syscall.RawConn, as package net does):
// on a buffered channel a waiting Send or Recv parks its goroutine until the
// poller reports the descriptor ready. On an unbuffered channel readiness
// means a peer is parked in the kernel right now, so two peers that only
// waited for readiness would never meet: there one goroutine per handle and
// direction waits in the kernel (holding one OS thread) and the others wait
// behind it in the Go runtime. A blocking Select waits in the kernel (one
// thread while it waits). Contexts give timeouts and cancellation; a
// cancelled operation moved nothing.
package kchan

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"kchan.dev/kchan/internal/uapi"
)

// Device is the path of the kchan control device.
const Device = uapi.CHAN_DEVICE

// Errors of channel operations. An error from this package is an *OpError;
// errors.Is matches it against these and against its syscall.Errno.
var (
	// ErrClosed: a send on a closed channel (or one with no receiving
	// handle left: EPIPE), or a Close of a closed channel (EALREADY).
	ErrClosed = errors.New("kchan: channel closed")
	// ErrWouldBlock: TrySend or TryRecv found nothing ready (EAGAIN).
	ErrWouldBlock = errors.New("kchan: operation would block")
	// ErrReleased: the handle was released (Release) during or before
	// the operation.
	ErrReleased = errors.New("kchan: handle released")
)

// OpError is the error of a failed operation.
type OpError struct {
	Op  string // "send", "recv", "close", "make", "open", ...
	Err error  // a syscall.Errno, or ErrReleased
}

func (e *OpError) Error() string { return "kchan " + e.Op + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *OpError) Unwrap() error { return e.Err }

// Is reports whether the error means target: ErrClosed for EPIPE and
// EALREADY, ErrWouldBlock for EAGAIN.
func (e *OpError) Is(target error) bool {
	switch target {
	case ErrClosed:
		return e.Err == syscall.EPIPE || e.Err == syscall.EALREADY
	case ErrWouldBlock:
		return e.Err == syscall.EAGAIN
	}
	return false
}

func opErr(op string, err error) error {
	if err == nil {
		return nil
	}
	return &OpError{Op: op, Err: err}
}

// Rights of a handle.
type Rights uint32

// The rights a handle can have.
const (
	RightSend Rights = uapi.CHAN_RIGHT_SEND
	RightRecv Rights = uapi.CHAN_RIGHT_RECV
	RightBoth Rights = uapi.CHAN_RIGHT_BOTH
)

const (
	dirSend = 0
	dirRecv = 1
)

// Handle is one handle on a kchan channel: a descriptor with send and/or
// receive rights. Its methods may be called from any number of goroutines.
type Handle struct {
	f        *os.File
	rc       syscall.RawConn
	msgSize  int
	capacity int
	rights   Rights

	// tok[dir] is held by the one goroutine that waits (in the poller or
	// in the kernel) for that direction; the others wait to take it,
	// in Go's FIFO order, and can be cancelled while they do.
	tok [2]chan struct{}

	relOnce sync.Once
	closing chan struct{} // closed by Release: parked waits give up
}

func ioctl(fd uintptr, req uintptr, arg unsafe.Pointer) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(arg))
	if e != 0 {
		return int(r), e
	}
	return int(r), nil
}

// ctlIoctl issues a request on the /dev/chan device and returns the new fd.
func ctlIoctl(req uintptr, arg unsafe.Pointer) (int, error) {
	dev, err := syscall.Open(Device, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	defer syscall.Close(dev)
	for {
		fd, err := ioctl(uintptr(dev), req, arg)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}

func cstring(s string) (*byte, error) {
	return syscall.BytePtrFromString(s)
}

// Make creates an anonymous channel for messages of up to msgSize bytes,
// buffering capacity of them (0: unbuffered), and returns a handle with
// both rights, like Go's make(chan T, capacity).
func Make(msgSize, capacity int) (*Handle, error) {
	if msgSize < 0 || capacity < 0 || uint64(msgSize) > 1<<32-1 || uint64(capacity) > 1<<32-1 {
		return nil, opErr("make", syscall.EINVAL)
	}
	c := uapi.ChanCreate{
		Size:     uint32(unsafe.Sizeof(uapi.ChanCreate{})),
		Flags:    uapi.CHAN_CLOEXEC | uapi.CHAN_NONBLOCK,
		Capacity: uint32(capacity),
		MsgSize:  uint32(msgSize),
	}
	fd, err := ctlIoctl(uapi.CHAN_IOC_CREATE, unsafe.Pointer(&c))
	if err != nil {
		return nil, opErr("make", err)
	}
	return newHandle(fd, "kchan")
}

// Pipe creates an anonymous channel as Make does and returns a
// receive-only and a send-only handle on it, in the order of os.Pipe.
func Pipe(msgSize, capacity int) (r, w *Handle, err error) {
	h, err := Make(msgSize, capacity)
	if err != nil {
		return nil, nil, err
	}
	defer h.Release()
	if r, err = h.Dup(RightRecv); err != nil {
		return nil, nil, err
	}
	if w, err = h.Dup(RightSend); err != nil {
		r.Release()
		return nil, nil, err
	}
	return r, w, nil
}

// Attr gives the attributes of a named channel that Open creates.
type Attr struct {
	MsgSize   int
	Capacity  int
	Perm      os.FileMode // permission bits (before the umask)
	AutoClose bool        // closed when its last sending handle goes away
}

// Open opens the named channel name, as mq_open does. flag's access mode
// gives the handle's rights: os.O_RDONLY receive, os.O_WRONLY send,
// os.O_RDWR both. With os.O_CREATE (and os.O_EXCL) it creates the channel
// with attr (which may be nil only without os.O_CREATE). A name holds its
// channel open until it is closed or unlinked (see Unlink).
func Open(name string, flag int, attr *Attr) (*Handle, error) {
	p, err := cstring(name)
	if err != nil {
		return nil, opErr("open", err)
	}
	o := uapi.ChanOpen{
		Size:  uint32(unsafe.Sizeof(uapi.ChanOpen{})),
		Oflag: uint32(flag) | syscall.O_CLOEXEC | syscall.O_NONBLOCK,
		Name:  uint64(uintptr(unsafe.Pointer(p))),
	}
	if flag&os.O_CREATE != 0 {
		if attr == nil {
			return nil, opErr("open", syscall.EINVAL)
		}
		o.Mode = uint32(attr.Perm.Perm())
		o.Capacity = uint32(attr.Capacity)
		o.MsgSize = uint32(attr.MsgSize)
		if attr.AutoClose {
			o.Flags |= uapi.CHAN_AUTOCLOSE
		}
	}
	fd, err := ctlIoctl(uapi.CHAN_IOC_OPEN, unsafe.Pointer(&o))
	runtime.KeepAlive(p)
	if err != nil {
		return nil, opErr("open", err)
	}
	return newHandle(fd, "kchan:"+name)
}

// Unlink removes a channel's name; open handles keep working.
func Unlink(name string) error {
	p, err := cstring(name)
	if err != nil {
		return opErr("unlink", err)
	}
	u := uapi.ChanUnlink{
		Size: uint32(unsafe.Sizeof(uapi.ChanUnlink{})),
		Name: uint64(uintptr(unsafe.Pointer(p))),
	}
	_, err = ctlIoctl(uapi.CHAN_IOC_UNLINK, unsafe.Pointer(&u))
	runtime.KeepAlive(p)
	return opErr("unlink", err)
}

// NewHandle makes a Handle of fd, a kchan channel descriptor the process
// got from elsewhere (inherited from its parent, say as os/exec's
// ExtraFiles). The Handle owns fd from now on; it sets it non-blocking and
// close-on-exec.
func NewHandle(fd uintptr) (*Handle, error) {
	if err := syscall.SetNonblock(int(fd), true); err != nil {
		return nil, opErr("handle", err)
	}
	syscall.CloseOnExec(int(fd))
	return newHandle(int(fd), "kchan:"+strconv.Itoa(int(fd)))
}

func newHandle(fd int, name string) (*Handle, error) {
	f := os.NewFile(uintptr(fd), name)
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, opErr("handle", err)
	}
	h := &Handle{f: f, rc: rc, closing: make(chan struct{})}
	h.tok[dirSend] = make(chan struct{}, 1)
	h.tok[dirRecv] = make(chan struct{}, 1)
	info, err := h.Info()
	if err != nil {
		f.Close()
		return nil, err
	}
	h.msgSize = info.MsgSize
	h.capacity = info.Capacity
	h.rights = info.Rights
	return h, nil
}

// Release gives the handle's descriptor back. It does not close the
// channel (see Close). Operations still waiting on the handle fail with
// ErrReleased.
func (h *Handle) Release() error {
	var err error
	h.relOnce.Do(func() {
		close(h.closing)
		err = h.f.Close()
	})
	return err
}

// control runs fn with the descriptor, which stays open while fn runs.
func (h *Handle) control(op string, fn func(fd uintptr) error) error {
	var ferr error
	if err := h.rc.Control(func(fd uintptr) { ferr = fn(fd) }); err != nil {
		return opErr(op, h.released(err))
	}
	return ferr
}

// released turns the poller's error for a closed file into ErrReleased.
func (h *Handle) released(err error) error {
	select {
	case <-h.closing:
		return ErrReleased
	default:
		return err
	}
}

// MsgSize returns the largest message the channel carries, in bytes.
func (h *Handle) MsgSize() int { return h.msgSize }

// Cap returns the channel's capacity (0: unbuffered), like Go's cap(ch).
func (h *Handle) Cap() int { return h.capacity }

// Rights returns the handle's rights.
func (h *Handle) Rights() Rights { return h.rights }

// Len returns the number of messages buffered now, like Go's len(ch).
func (h *Handle) Len() (int, error) {
	i, err := h.Info()
	return i.Len, err
}

// Info is a snapshot of a channel's state (CHAN_IOC_INFO).
type Info struct {
	ID          uint64 // unique for the life of the module
	MsgSize     int    // largest message, bytes
	Capacity    int    // 0: unbuffered
	Len         int    // messages buffered now
	Closed      bool   // closed (Close)
	AutoClose   bool   // a named channel created with Attr.AutoClose
	SendWaiters int    // senders waiting in the kernel (select send cases too)
	RecvWaiters int    // receivers waiting in the kernel (select receive cases too)
	SendHandles int    // open handles with the send right (a name is none)
	RecvHandles int    // open handles with the receive right
	Rights      Rights // this handle's rights
	Sent        uint64 // messages accepted from senders
	Received    uint64 // messages handed to receivers
}

// Info returns a snapshot of the channel.
func (h *Handle) Info() (Info, error) {
	i := uapi.ChanInfo{Size: uint32(unsafe.Sizeof(uapi.ChanInfo{}))}
	err := h.control("info", func(fd uintptr) error {
		_, err := ioctl(fd, uapi.CHAN_IOC_INFO, unsafe.Pointer(&i))
		return opErr("info", err)
	})
	return Info{
		ID:          i.Id,
		MsgSize:     int(i.MsgSize),
		Capacity:    int(i.Capacity),
		Len:         int(i.Len),
		Closed:      i.Closed != 0,
		AutoClose:   i.Flags&uapi.CHAN_AUTOCLOSE != 0,
		SendWaiters: int(i.SendWaiters),
		RecvWaiters: int(i.RecvWaiters),
		SendHandles: int(i.SendHandles),
		RecvHandles: int(i.RecvHandles),
		Rights:      Rights(i.Rights),
		Sent:        i.Sent,
		Received:    i.Received,
	}, err
}

// Close closes the channel, as Go's close(ch): receivers drain what is
// buffered and then get ok == false, sends fail ErrClosed. It needs the
// send right. Closing a closed channel fails ErrClosed.
func (h *Handle) Close() error {
	return h.control("close", func(fd uintptr) error {
		_, err := ioctl(fd, uapi.CHAN_IOC_CLOSE, nil)
		return opErr("close", err)
	})
}

// Dup returns a new handle on the same channel with rights, which must be
// a subset of h's.
func (h *Handle) Dup(rights Rights) (*Handle, error) {
	fd, err := h.dup(rights, uapi.CHAN_CLOEXEC|uapi.CHAN_NONBLOCK)
	if err != nil {
		return nil, err
	}
	return newHandle(fd, h.f.Name())
}

func (h *Handle) dup(rights Rights, flags uint32) (int, error) {
	d := uapi.ChanDup{
		Size:   uint32(unsafe.Sizeof(uapi.ChanDup{})),
		Rights: uint32(rights),
		Flags:  flags,
	}
	var nfd int
	err := h.control("dup", func(fd uintptr) error {
		var err error
		nfd, err = ioctl(fd, uapi.CHAN_IOC_DUP, unsafe.Pointer(&d))
		return opErr("dup", err)
	})
	return nfd, err
}

// File returns a new handle on the channel with rights, as a blocking
// *os.File meant to be passed to another process (os/exec's ExtraFiles);
// the child makes it a Handle with NewHandle. The caller closes it once
// the child has started.
func (h *Handle) File(rights Rights) (*os.File, error) {
	fd, err := h.dup(rights, uapi.CHAN_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), h.f.Name()), nil
}

// xfer moves one message without waiting: EAGAIN when it would block.
// For a receive it returns the length and ok.
func xfer(fd uintptr, dir int, buf []byte) (int, bool, error) {
	m := uapi.ChanMsg{
		Size: uint32(unsafe.Sizeof(uapi.ChanMsg{})),
		Len:  uint64(len(buf)),
		Fd:   -1,
	}
	if len(buf) > 0 {
		m.Buf = uint64(uintptr(unsafe.Pointer(&buf[0])))
	}
	req := uintptr(uapi.CHAN_IOC_SEND)
	if dir == dirRecv {
		req = uapi.CHAN_IOC_RECV
	}
	for {
		_, err := ioctl(fd, req, unsafe.Pointer(&m))
		if err == syscall.EINTR {
			continue
		}
		runtime.KeepAlive(buf)
		if err != nil {
			if err == syscall.EMSGSIZE && dir == dirRecv {
				return int(m.Len), false, err
			}
			return 0, false, err
		}
		if m.Fd >= 0 { // a descriptor this binding does not take
			syscall.Close(int(m.Fd))
		}
		return int(m.Len), m.Ok != 0, nil
	}
}

var opName = [2]string{"send", "recv"}

// Send sends msg, waiting while the channel is full (or, unbuffered,
// until a receiver takes it) or until ctx is done. It fails ErrClosed on
// a closed channel.
func (h *Handle) Send(ctx context.Context, msg []byte) error {
	_, _, err := h.op(ctx, dirSend, msg)
	return err
}

// TrySend sends msg if that needs no waiting, like a select with a
// default case: ErrWouldBlock otherwise.
func (h *Handle) TrySend(msg []byte) error {
	_, _, err := h.try(dirSend, msg)
	return err
}

// Recv receives a message into a new buffer of MsgSize bytes, waiting
// until there is one or until ctx is done. ok is false (and msg nil) once
// the channel is closed and drained, as for v, ok := <-ch.
func (h *Handle) Recv(ctx context.Context) (msg []byte, ok bool, err error) {
	buf := make([]byte, h.msgSize)
	n, ok, err := h.RecvBuf(ctx, buf)
	if err != nil || !ok {
		return nil, ok, err
	}
	return buf[:n], true, nil
}

// RecvBuf receives a message into buf and returns its length. A buf
// shorter than the message fails EMSGSIZE, and the message stays.
func (h *Handle) RecvBuf(ctx context.Context, buf []byte) (n int, ok bool, err error) {
	return h.op(ctx, dirRecv, buf)
}

// TryRecv receives a message if one is ready: ErrWouldBlock otherwise.
func (h *Handle) TryRecv() (msg []byte, ok bool, err error) {
	buf := make([]byte, h.msgSize)
	n, ok, err := h.try(dirRecv, buf)
	if err != nil || !ok {
		return nil, ok, err
	}
	return buf[:n], true, nil
}

func (h *Handle) try(dir int, buf []byte) (n int, ok bool, err error) {
	err = h.control(opName[dir], func(fd uintptr) error {
		var err error
		n, ok, err = xfer(fd, dir, buf)
		return opErr(opName[dir], err)
	})
	return n, ok, err
}

// op moves one message, waiting as the package comment says.
func (h *Handle) op(ctx context.Context, dir int, buf []byte) (int, bool, error) {
	n, ok, err := h.try(dir, buf)
	if !errors.Is(err, syscall.EAGAIN) {
		return n, ok, err
	}
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	select {
	case h.tok[dir] <- struct{}{}:
	case <-ctx.Done():
		return 0, false, ctx.Err()
	case <-h.closing:
		return 0, false, opErr(opName[dir], ErrReleased)
	}
	defer func() { <-h.tok[dir] }()
	if h.capacity == 0 {
		return h.park(ctx, dir, buf)
	}
	return h.poll(ctx, dir, buf)
}

// aLongTimeAgo is a deadline in the past: setting it wakes a poller wait.
var aLongTimeAgo = time.Unix(1, 0)

// poll waits with the runtime poller until the operation completes. The
// caller holds tok[dir], so it alone sets that direction's deadline.
func (h *Handle) poll(ctx context.Context, dir int, buf []byte) (n int, ok bool, err error) {
	setDeadline := h.f.SetWriteDeadline
	wait := h.rc.Write
	if dir == dirRecv {
		setDeadline = h.f.SetReadDeadline
		wait = h.rc.Read
	}
	if d, has := ctx.Deadline(); has {
		setDeadline(d)
	}
	if ctx.Done() != nil {
		stop, exited := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(exited)
			select {
			case <-ctx.Done():
				setDeadline(aLongTimeAgo)
			case <-stop:
			}
		}()
		defer func() {
			close(stop)
			<-exited
			setDeadline(time.Time{})
		}()
	}
	var xerr error
	werr := wait(func(fd uintptr) bool {
		n, ok, xerr = xfer(fd, dir, buf)
		return xerr != syscall.EAGAIN
	})
	if werr != nil {
		if errors.Is(werr, os.ErrDeadlineExceeded) {
			if err := ctx.Err(); err != nil {
				return 0, false, err
			}
			return 0, false, context.DeadlineExceeded
		}
		return 0, false, opErr(opName[dir], h.released(werr))
	}
	return n, ok, opErr(opName[dir], xerr)
}

// park waits in the kernel: a select on the operation and on a wake
// channel that a watcher goroutine signals when ctx is done or the handle
// is released.
func (h *Handle) park(ctx context.Context, dir int, buf []byte) (int, bool, error) {
	op := uint32(uapi.CHAN_OP_SEND)
	if dir == dirRecv {
		op = uapi.CHAN_OP_RECV
	}
	var n int
	var ok bool
	var idx int
	err := h.control(opName[dir], func(fd uintptr) error {
		c := []uapi.ChanSelectCase{{Fd: int32(fd), Op: op, Len: uint64(len(buf))}}
		if len(buf) > 0 {
			c[0].Buf = uint64(uintptr(unsafe.Pointer(&buf[0])))
		}
		var err error
		idx, err = kselect(ctx, fd, c, h.closing)
		runtime.KeepAlive(buf)
		if err == nil && idx == 0 {
			n, ok = int(c[0].Len), c[0].Ok != 0
		}
		if err == syscall.EMSGSIZE {
			n = int(c[0].Len)
		}
		return err
	})
	var oe *OpError
	if errors.As(err, &oe) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return n, ok, err
	}
	return n, ok, opErr(opName[dir], err)
}
