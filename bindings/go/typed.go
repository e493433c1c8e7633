// SPDX-License-Identifier: GPL-2.0

package kchan

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"unsafe"
)

// Codec turns values of T into messages and back.
type Codec[T any] interface {
	// MaxSize is the longest message Encode makes: the channel's
	// msg_size when Make creates one for T.
	MaxSize() int
	// Encode appends v's message to dst.
	Encode(dst []byte, v T) ([]byte, error)
	// Decode returns the value of a message.
	Decode(msg []byte) (T, error)
}

// Fixed returns the codec of a fixed-size type T: one whose values hold no
// pointers (booleans, numbers, arrays and structs of them). A message is
// T's memory image, as a C program on the same machine would send the
// equivalent struct.
func Fixed[T any]() (Codec[T], error) {
	t := reflect.TypeOf((*T)(nil)).Elem()
	if !pointerFree(t) {
		return nil, fmt.Errorf("kchan: %v is not a fixed-size type (it holds pointers); use a Codec such as JSON", t)
	}
	return fixed[T]{}, nil
}

func pointerFree(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	case reflect.Array:
		return pointerFree(t.Elem())
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if !pointerFree(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}

type fixed[T any] struct{}

func (fixed[T]) MaxSize() int {
	var v T
	return int(unsafe.Sizeof(v))
}

func (c fixed[T]) Encode(dst []byte, v T) ([]byte, error) {
	return append(dst, unsafe.Slice((*byte)(unsafe.Pointer(&v)), c.MaxSize())...), nil
}

func (c fixed[T]) Decode(msg []byte) (T, error) {
	var v T
	if len(msg) != c.MaxSize() {
		return v, fmt.Errorf("kchan: a %d-byte message for a %d-byte %T", len(msg), c.MaxSize(), v)
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&v)), len(msg)), msg)
	return v, nil
}

// JSON returns a codec that sends values of T as JSON (encoding/json), in
// messages of up to maxSize bytes.
func JSON[T any](maxSize int) Codec[T] { return jsonCodec[T](maxSize) }

type jsonCodec[T any] int

func (c jsonCodec[T]) MaxSize() int { return int(c) }

func (c jsonCodec[T]) Encode(dst []byte, v T) ([]byte, error) {
	b, err := json.Marshal(v)
	return append(dst, b...), err
}

func (c jsonCodec[T]) Decode(msg []byte) (T, error) {
	var v T
	err := json.Unmarshal(msg, &v)
	return v, err
}

// Chan is a typed handle on a kchan channel: the counterpart of Go's
// chan T. Its methods may be called from any number of goroutines.
type Chan[T any] struct {
	h     *Handle
	codec Codec[T]
}

// New makes a channel of the fixed-size type T (see Fixed) with capacity,
// as make(chan T, capacity).
func New[T any](capacity int) (*Chan[T], error) {
	codec, err := Fixed[T]()
	if err != nil {
		return nil, err
	}
	return NewCodec(codec, capacity)
}

// NewCodec makes a channel of T whose messages codec makes.
func NewCodec[T any](codec Codec[T], capacity int) (*Chan[T], error) {
	h, err := Make(codec.MaxSize(), capacity)
	if err != nil {
		return nil, err
	}
	return &Chan[T]{h: h, codec: codec}, nil
}

// OpenChan opens the named channel of the fixed-size type T (see Open
// and Fixed); a channel it creates gets T's size as its msg_size, whatever
// attr.MsgSize says.
func OpenChan[T any](name string, flag int, attr *Attr) (*Chan[T], error) {
	codec, err := Fixed[T]()
	if err != nil {
		return nil, err
	}
	if attr != nil {
		a := *attr
		a.MsgSize = codec.MaxSize()
		attr = &a
	}
	h, err := Open(name, flag, attr)
	if err != nil {
		return nil, err
	}
	c, err := Wrap(h, codec)
	if err != nil {
		h.Release()
	}
	return c, err
}

// Wrap types h with codec; a nil codec is Fixed[T]. The channel's
// msg_size must hold codec.MaxSize() bytes.
func Wrap[T any](h *Handle, codec Codec[T]) (*Chan[T], error) {
	if codec == nil {
		var err error
		if codec, err = Fixed[T](); err != nil {
			return nil, err
		}
	}
	if codec.MaxSize() > h.msgSize {
		return nil, fmt.Errorf("kchan: messages of %d bytes do not fit the channel's %d", codec.MaxSize(), h.msgSize)
	}
	return &Chan[T]{h: h, codec: codec}, nil
}

// Handle returns the untyped handle.
func (c *Chan[T]) Handle() *Handle { return c.h }

// Send sends v, as ch <- v, waiting until it is taken or buffered or ctx
// is done. A send on a closed channel fails ErrClosed.
func (c *Chan[T]) Send(ctx context.Context, v T) error {
	msg, err := c.codec.Encode(nil, v)
	if err != nil {
		return err
	}
	return c.h.Send(ctx, msg)
}

// TrySend sends v if that needs no waiting: ErrWouldBlock otherwise.
func (c *Chan[T]) TrySend(v T) error {
	msg, err := c.codec.Encode(nil, v)
	if err != nil {
		return err
	}
	return c.h.TrySend(msg)
}

// Recv receives a value, as v, ok := <-ch: ok is false once the channel is
// closed and drained. It waits until a value comes or ctx is done.
func (c *Chan[T]) Recv(ctx context.Context) (v T, ok bool, err error) {
	msg, ok, err := c.h.Recv(ctx)
	return c.decode(msg, ok, err)
}

// TryRecv receives a value if one is ready: ErrWouldBlock otherwise.
func (c *Chan[T]) TryRecv() (v T, ok bool, err error) {
	msg, ok, err := c.h.TryRecv()
	return c.decode(msg, ok, err)
}

func (c *Chan[T]) decode(msg []byte, ok bool, err error) (v T, _ bool, _ error) {
	if err != nil || !ok {
		return v, ok, err
	}
	v, err = c.codec.Decode(msg)
	return v, err == nil, err
}

// Close closes the channel, as close(ch).
func (c *Chan[T]) Close() error { return c.h.Close() }

// Len returns the number of values buffered, as len(ch).
func (c *Chan[T]) Len() (int, error) { return c.h.Len() }

// Cap returns the channel's capacity, as cap(ch).
func (c *Chan[T]) Cap() int { return c.h.Cap() }

// Release gives the handle's descriptor back (the channel stays open).
func (c *Chan[T]) Release() error { return c.h.Release() }

// SendOnly returns c restricted to sending, as a chan T converts to
// chan<- T: the same handle, no new descriptor.
func (c *Chan[T]) SendOnly() SendOnly[T] { return SendOnly[T]{c} }

// RecvOnly returns c restricted to receiving, as a chan T converts to
// <-chan T.
func (c *Chan[T]) RecvOnly() RecvOnly[T] { return RecvOnly[T]{c} }

// DupSendOnly returns a new send-only handle on the channel: one that the
// kernel too lets only send, to hand to code or a process that must not
// receive.
func (c *Chan[T]) DupSendOnly() (SendOnly[T], error) {
	h, err := c.h.Dup(RightSend)
	if err != nil {
		return SendOnly[T]{}, err
	}
	return SendOnly[T]{&Chan[T]{h: h, codec: c.codec}}, nil
}

// DupRecvOnly returns a new receive-only handle on the channel.
func (c *Chan[T]) DupRecvOnly() (RecvOnly[T], error) {
	h, err := c.h.Dup(RightRecv)
	if err != nil {
		return RecvOnly[T]{}, err
	}
	return RecvOnly[T]{&Chan[T]{h: h, codec: c.codec}}, nil
}

// SendCase returns a select case sending v on c.
func (c *Chan[T]) SendCase(v T) (SelectCase, error) {
	msg, err := c.codec.Encode(nil, v)
	return SelectCase{Dir: SelectSend, Chan: c.h, Send: msg}, err
}

// RecvCase returns a select case receiving from c; Decode turns what
// Select received into a T.
func (c *Chan[T]) RecvCase() SelectCase { return SelectCase{Dir: SelectRecv, Chan: c.h} }

// Decode returns the value of a message received from c (by Select).
func (c *Chan[T]) Decode(msg []byte) (T, error) { return c.codec.Decode(msg) }

// PipeOf makes a channel of the fixed-size type T and returns a
// receive-only and a send-only handle on it (see Pipe).
func PipeOf[T any](capacity int) (RecvOnly[T], SendOnly[T], error) {
	c, err := New[T](capacity)
	if err != nil {
		return RecvOnly[T]{}, SendOnly[T]{}, err
	}
	defer c.Release()
	r, err := c.DupRecvOnly()
	if err != nil {
		return RecvOnly[T]{}, SendOnly[T]{}, err
	}
	w, err := c.DupSendOnly()
	if err != nil {
		r.Release()
		return RecvOnly[T]{}, SendOnly[T]{}, err
	}
	return r, w, nil
}

// SendOnly is the sending side of a Chan[T], as chan<- T.
type SendOnly[T any] struct{ c *Chan[T] }

// Send sends v (see Chan.Send).
func (s SendOnly[T]) Send(ctx context.Context, v T) error { return s.c.Send(ctx, v) }

// TrySend sends v if that needs no waiting (see Chan.TrySend).
func (s SendOnly[T]) TrySend(v T) error { return s.c.TrySend(v) }

// Close closes the channel, as close(ch).
func (s SendOnly[T]) Close() error { return s.c.Close() }

// Len returns the number of values buffered.
func (s SendOnly[T]) Len() (int, error) { return s.c.Len() }

// Cap returns the channel's capacity.
func (s SendOnly[T]) Cap() int { return s.c.Cap() }

// Handle returns the untyped handle.
func (s SendOnly[T]) Handle() *Handle { return s.c.h }

// Release gives the handle's descriptor back.
func (s SendOnly[T]) Release() error { return s.c.Release() }

// SendCase returns a select case sending v.
func (s SendOnly[T]) SendCase(v T) (SelectCase, error) { return s.c.SendCase(v) }

// RecvOnly is the receiving side of a Chan[T], as <-chan T.
type RecvOnly[T any] struct{ c *Chan[T] }

// Recv receives a value (see Chan.Recv).
func (r RecvOnly[T]) Recv(ctx context.Context) (T, bool, error) { return r.c.Recv(ctx) }

// TryRecv receives a value if one is ready (see Chan.TryRecv).
func (r RecvOnly[T]) TryRecv() (T, bool, error) { return r.c.TryRecv() }

// Len returns the number of values buffered.
func (r RecvOnly[T]) Len() (int, error) { return r.c.Len() }

// Cap returns the channel's capacity.
func (r RecvOnly[T]) Cap() int { return r.c.Cap() }

// Handle returns the untyped handle.
func (r RecvOnly[T]) Handle() *Handle { return r.c.h }

// Release gives the handle's descriptor back.
func (r RecvOnly[T]) Release() error { return r.c.Release() }

// RecvCase returns a select case receiving a value; Decode turns the
// message into a T.
func (r RecvOnly[T]) RecvCase() SelectCase { return r.c.RecvCase() }

// Decode returns the value of a message received by Select.
func (r RecvOnly[T]) Decode(msg []byte) (T, error) { return r.c.Decode(msg) }

// Chan bridges r to a native Go channel: a goroutine receives values from
// r and sends them on the returned channel, which it closes when r's
// channel is closed and drained, when ctx is done or on an error, so
//
//	ch, wait := r.Chan(ctx)
//	for v := range ch { ... }
//	err := wait()
//
// ranges over a channel that other processes feed. wait returns once the
// goroutine has ended: nil after a close, else what stopped it. A value
// received when ctx is done before anyone took it from ch is lost.
func (r RecvOnly[T]) Chan(ctx context.Context) (ch <-chan T, wait func() error) {
	out := make(chan T)
	done := make(chan struct{})
	var err error
	go func() {
		defer close(done)
		defer close(out)
		for {
			var v T
			var ok bool
			v, ok, err = r.Recv(ctx)
			if err != nil || !ok {
				return
			}
			select {
			case out <- v:
			case <-ctx.Done():
				err = ctx.Err()
				return
			}
		}
	}()
	return out, func() error { <-done; return err }
}

// Chan bridges a native Go channel to s: a goroutine sends every value
// written to the returned channel on s, and when the native channel is
// closed it closes s's channel (close(ch) propagates). If a send fails
// (ErrClosed, ctx done) the goroutine keeps draining the native channel
// so that writers do not block, dropping the values, until it is closed.
// wait returns once the goroutine has ended: nil, or the first error.
func (s SendOnly[T]) Chan(ctx context.Context) (ch chan<- T, wait func() error) {
	in := make(chan T)
	done := make(chan struct{})
	var err error
	go func() {
		defer close(done)
		for v := range in {
			if err == nil {
				err = s.Send(ctx, v)
			}
		}
		if err == nil {
			err = s.Close()
		}
	}()
	return in, func() error { <-done; return err }
}
