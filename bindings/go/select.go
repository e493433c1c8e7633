// SPDX-License-Identifier: GPL-2.0

package kchan

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"kchan.dev/kchan/internal/uapi"
)

// A wake is a private buffered kchan channel (capacity 1, empty messages)
// added as a receive case to a select that waits in the kernel: sending on
// it is how a watcher goroutine cuts the wait short, the done-channel
// pattern in the kernel.
type wake struct{ fd int }

var wakes struct {
	sync.Mutex
	free []*wake
}

func getWake() (*wake, error) {
	wakes.Lock()
	if n := len(wakes.free); n > 0 {
		w := wakes.free[n-1]
		wakes.free = wakes.free[:n-1]
		wakes.Unlock()
		return w, nil
	}
	wakes.Unlock()
	c := uapi.ChanCreate{
		Size:     uint32(unsafe.Sizeof(uapi.ChanCreate{})),
		Flags:    uapi.CHAN_CLOEXEC,
		Capacity: 1,
	}
	fd, err := ctlIoctl(uapi.CHAN_IOC_CREATE, unsafe.Pointer(&c))
	if err != nil {
		return nil, err
	}
	return &wake{fd: fd}, nil
}

// putWake keeps w for the next wait, emptied.
func putWake(w *wake) {
	xfer(uintptr(w.fd), dirRecv, nil)
	wakes.Lock()
	if len(wakes.free) < 64 {
		wakes.free = append(wakes.free, w)
		w = nil
	}
	wakes.Unlock()
	if w != nil {
		syscall.Close(w.fd)
	}
}

func (w *wake) signal() { xfer(uintptr(w.fd), dirSend, nil) }

// kselect runs CHAN_IOC_SELECT (issued on fd, any channel descriptor)
// over cases, waiting until one fires, ctx is done or closing is closed.
// It returns the index of the case that fired, whose result fields are
// filled in cases.
func kselect(ctx context.Context, fd uintptr, cases []uapi.ChanSelectCase, closing <-chan struct{}) (int, error) {
	w, err := getWake()
	if err != nil {
		return -1, err
	}
	all := make([]uapi.ChanSelectCase, len(cases)+1)
	copy(all, cases)
	all[len(cases)] = uapi.ChanSelectCase{Fd: int32(w.fd), Op: uapi.CHAN_OP_RECV}

	stop, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		select {
		case <-ctx.Done():
			w.signal()
		case <-closing:
			w.signal()
		case <-stop:
		}
	}()

	s := uapi.ChanSelect{
		Size:     uint32(unsafe.Sizeof(uapi.ChanSelect{})),
		Cases:    uint64(uintptr(unsafe.Pointer(&all[0]))),
		Ncases:   uint32(len(all)),
		CaseSize: uint32(unsafe.Sizeof(uapi.ChanSelectCase{})),
	}
	deadline, timed := ctx.Deadline()
	for {
		s.TimeoutNs = -1
		if timed {
			if s.TimeoutNs = int64(time.Until(deadline)); s.TimeoutNs <= 0 {
				err = syscall.ETIMEDOUT
				break
			}
		}
		s.Index = -1
		_, err = ioctl(fd, uapi.CHAN_IOC_SELECT, unsafe.Pointer(&s))
		if err != syscall.EINTR {
			break
		}
	}
	close(stop)
	<-exited
	putWake(w)

	idx := int(s.Index)
	if idx >= 0 && idx < len(cases) {
		cases[idx] = all[idx]
	}
	switch {
	case err == syscall.ETIMEDOUT:
		return -1, context.DeadlineExceeded
	case err != nil:
		return idx, err
	case idx == len(cases):
		select {
		case <-closing:
			return -1, ErrReleased
		default:
		}
		if err := ctx.Err(); err != nil {
			return -1, err
		}
		return -1, context.Canceled
	}
	return idx, nil
}

// SelectDir is the direction of a select case.
type SelectDir int

// The kinds of select case, as in reflect.Select.
const (
	_             SelectDir = iota
	SelectSend              // case Chan <- Send
	SelectRecv              // case v, ok := <-Chan
	SelectDefault           // default
)

// SelectCase is one case of Select. A nil Chan is Go's nil channel: its
// case never fires.
type SelectCase struct {
	Dir  SelectDir
	Chan *Handle // SelectSend, SelectRecv
	Send []byte  // SelectSend: the message
}

// Select runs a select statement over cases with Go's rules: when several
// cases are ready one of them is chosen uniformly at random; with none
// ready, the default case if there is one; otherwise it waits until one
// case completes or ctx is done. Exactly one case takes effect; a send
// case's message is sent only if that case is the chosen one. For a
// receive case recv is the message and recvOK false when the channel is
// closed and drained; a send case that fires on a closed channel returns
// its index and ErrClosed. The cases may be on different channels, of
// any direction. While it waits, Select holds an OS thread.
func Select(ctx context.Context, cases []SelectCase) (chosen int, recv []byte, recvOK bool, err error) {
	dflt := -1
	var kc []uapi.ChanSelectCase
	var idx []int
	var bufs [][]byte
	var hs []*Handle
	for i, c := range cases {
		var kcase uapi.ChanSelectCase
		var buf []byte
		switch c.Dir {
		case SelectDefault:
			if dflt >= 0 {
				panic("kchan.Select: multiple default cases")
			}
			dflt = i
			continue
		case SelectSend:
			kcase.Op = uapi.CHAN_OP_SEND
			buf = c.Send
		case SelectRecv:
			kcase.Op = uapi.CHAN_OP_RECV
			if c.Chan != nil {
				buf = make([]byte, c.Chan.msgSize)
			}
		default:
			panic("kchan.Select: invalid case direction")
		}
		kcase.Fd = -1
		kcase.Len = uint64(len(buf))
		if len(buf) > 0 {
			kcase.Buf = uint64(uintptr(unsafe.Pointer(&buf[0])))
		}
		kc = append(kc, kcase)
		idx = append(idx, i)
		bufs = append(bufs, buf)
		hs = append(hs, c.Chan)
	}
	// Every descriptor stays open while the select runs.
	var run func(k int) error
	run = func(k int) error {
		for k < len(hs) && hs[k] == nil {
			k++
		}
		if k < len(hs) {
			return hs[k].control("select", func(fd uintptr) error {
				kc[k].Fd = int32(fd)
				return run(k + 1)
			})
		}
		return selectFDs(ctx, kc, dflt >= 0, &chosen)
	}
	err = run(0)
	runtime.KeepAlive(bufs)
	runtime.KeepAlive(cases)
	if chosen == -2 {
		return dflt, nil, false, nil
	}
	if chosen < 0 {
		return -1, nil, false, err
	}
	c := kc[chosen]
	k := chosen
	chosen = idx[k]
	if err != nil {
		if errors.Is(err, syscall.EMSGSIZE) {
			return chosen, nil, false, opErr("select", err)
		}
		return -1, nil, false, err
	}
	if cases[chosen].Dir == SelectSend {
		if c.Ok == 0 {
			return chosen, nil, false, opErr("select", syscall.EPIPE)
		}
		return chosen, nil, false, nil
	}
	if c.Ok == 0 {
		return chosen, nil, false, nil
	}
	return chosen, bufs[k][:c.Len], true, nil
}

// selectFDs runs the select: first without waiting, then (unless there is
// a default case, chosen -2) in the kernel. chosen is the index into kc,
// or -1.
func selectFDs(ctx context.Context, kc []uapi.ChanSelectCase, hasDefault bool, chosen *int) error {
	*chosen = -1
	w, err := getWake()
	if err != nil {
		return opErr("select", err)
	}
	defer putWake(w)
	if len(kc) > 0 {
		s := uapi.ChanSelect{
			Size:     uint32(unsafe.Sizeof(uapi.ChanSelect{})),
			Cases:    uint64(uintptr(unsafe.Pointer(&kc[0]))),
			Ncases:   uint32(len(kc)),
			CaseSize: uint32(unsafe.Sizeof(uapi.ChanSelectCase{})),
			Index:    -1,
		}
		_, err = ioctl(uintptr(w.fd), uapi.CHAN_IOC_SELECT, unsafe.Pointer(&s))
		for err == syscall.EINTR {
			_, err = ioctl(uintptr(w.fd), uapi.CHAN_IOC_SELECT, unsafe.Pointer(&s))
		}
		if err != syscall.EAGAIN {
			*chosen = int(s.Index)
			return opErr("select", err)
		}
	}
	if hasDefault {
		*chosen = -2
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	idx, err := kselect(ctx, uintptr(w.fd), kc, nil)
	*chosen = idx
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return opErr("select", err)
}
