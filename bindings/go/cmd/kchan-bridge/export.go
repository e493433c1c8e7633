// SPDX-License-Identifier: GPL-2.0

package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"github.com/nats-io/nats.go"

	"kchan.dev/kchan"
	"kchan.dev/kchan/internal/uapi"
)

// The exporter's state file: this struct, then the message buffer.
//
// The receive's struct chan_msg lives in the mapping, so the kernel's
// write of Len and Ok is the record that a message was taken. Ok is set to
// okArmed before each receive; the kernel sets it to 1 (a message) or 0
// (closed and drained) only in the ioctl that takes the message. Seq is
// the message's number (its JetStream message id is ID-Seq); Acked the
// last number JetStream acknowledged. On a restart:
//
//	Ok == 1, Seq > Acked   message Seq is in the buffer: publish it again
//	                       with the same id (JetStream drops a duplicate)
//	Ok == 0, Seq > Acked   the channel had closed: publish the end marker
//	otherwise              nothing is held: receive the next
//
// The stores that move from one state to the next are ordered so that a
// crash between any two of them lands in one of these cases: arm (Ok =
// okArmed, then Seq = Acked+1), the kernel's receive, then Acked = Seq
// after the acknowledgement.
type exportState struct {
	Magic uint64
	Acked uint64
	Seq   uint64
	Ended uint64
	Msg   uapi.ChanMsg
}

const okArmed = 2

func runExport(name string, o *options) error {
	// Made if missing, so that the exporter can start first: a send into
	// a channel with no receiving handle fails EPIPE.
	h, err := kchan.Open(name, os.O_RDONLY|os.O_CREATE, &kchan.Attr{
		MsgSize: o.msgSize, Capacity: o.capacity, Perm: 0666,
	})
	if err != nil {
		return fmt.Errorf("open channel %q: %w", name, err)
	}
	// A blocking descriptor of our own for the receive: it waits in the
	// kernel (one thread; this process does nothing else meanwhile).
	f, err := h.File(kchan.RightRecv)
	if err != nil {
		return err
	}
	msgSize := h.MsgSize()
	subj := o.subject
	if subj == "" {
		subj = "kchan." + name
	}
	stream := o.stream
	if stream == "" {
		stream = defaultStream(subj)
	}
	id := o.id
	if id == "" {
		host, _ := os.Hostname()
		id = host + ":" + name
	}
	path, err := stateFile(o, "export", name)
	if err != nil {
		return err
	}
	hdr := int((unsafe.Sizeof(exportState{}) + 7) &^ 7)
	m, fresh, err := mapState(path, hdr+msgSize)
	if err != nil {
		return err
	}
	st := (*exportState)(unsafe.Pointer(&m.mem[0]))
	payload := m.mem[hdr:]
	if fresh {
		st.Msg.Ok = okArmed
		st.Magic = stateMagic
	}

	nc, js, err := connect(o, "export "+name)
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := ensureStream(o, js, stream, subj); err != nil {
		return err
	}
	o.logf("export %s -> stream %s subject %s as %s (%d acknowledged so far)", name, stream, subj, id, st.Acked)

	publish := func(seq uint64, data []byte) error {
		mid := id + "-" + strconv.FormatUint(seq, 10)
		return retry(o, "publish "+mid, func() error {
			msg := nats.NewMsg(subj)
			msg.Data = data
			_, err := js.PublishMsg(msg, nats.MsgId(mid), nats.AckWait(5*time.Second))
			return err
		})
	}
	end := func(count uint64) error {
		mid := id + "-end"
		err := retry(o, "publish "+mid, func() error {
			msg := nats.NewMsg(endSubject(subj))
			msg.Header.Set("Kchan-Exporter", id)
			msg.Data = []byte(strconv.FormatUint(count, 10))
			_, err := js.PublishMsg(msg, nats.MsgId(mid), nats.AckWait(5*time.Second))
			return err
		})
		if err == nil {
			st.Ended = 1
			o.logf("export %s: closed after %d messages; end marker published", name, count)
		}
		return err
	}

	// A message or a close taken before a crash.
	if st.Seq > st.Acked {
		switch st.Msg.Ok {
		case 1:
			if err := publish(st.Seq, payload[:st.Msg.Len]); err != nil {
				return err
			}
			st.Acked = st.Seq
		case 0:
			return end(st.Acked)
		}
	}
	if st.Ended == 1 {
		o.logf("export %s: already ended", name)
		return nil
	}
	for {
		st.Msg.Ok = okArmed
		st.Seq = st.Acked + 1
		st.Msg.Size = uint32(unsafe.Sizeof(uapi.ChanMsg{}))
		st.Msg.Flags = 0
		st.Msg.Fd = -1
		st.Msg.TimeoutNs = -1
		st.Msg.Len = uint64(msgSize)
		if msgSize > 0 {
			st.Msg.Buf = uint64(uintptr(unsafe.Pointer(&payload[0])))
		}
		err := recvInto(f, &st.Msg)
		if err != nil {
			return fmt.Errorf("receive from %q: %w", name, err)
		}
		if st.Msg.Ok == 0 {
			return end(st.Acked)
		}
		if err := publish(st.Seq, payload[:st.Msg.Len]); err != nil {
			return err
		}
		st.Acked = st.Seq
	}
}

// recvInto receives one message with the struct chan_msg at m (in the
// state mapping), waiting in the kernel; EINTR is retried.
func recvInto(f *os.File, m *uapi.ChanMsg) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var e syscall.Errno
	cerr := rc.Control(func(fd uintptr) {
		for {
			_, _, e = syscall.Syscall(syscall.SYS_IOCTL, fd, uintptr(uapi.CHAN_IOC_RECV), uintptr(unsafe.Pointer(m)))
			if e != syscall.EINTR {
				break
			}
		}
	})
	runtime.KeepAlive(f)
	if cerr != nil {
		return cerr
	}
	if e != 0 {
		return e
	}
	return nil
}

// ensureStream creates the stream (file storage, a duplicate window for
// the message ids, a bound) or adds the subjects to an existing one.
func ensureStream(o *options, js nats.JetStreamContext, stream, subj string) error {
	return retry(o, "stream "+stream, func() error {
		si, err := js.StreamInfo(stream)
		if errors.Is(err, nats.ErrStreamNotFound) {
			// A work queue (a message is gone once an importer
			// acknowledged it) of at most --max-stream messages that
			// refuses new ones when full: the exporter then waits, the
			// local channel fills and the producer blocks. That is
			// the backpressure from a slow importer to the producer.
			_, err = js.AddStream(&nats.StreamConfig{
				Name:       stream,
				Subjects:   []string{subj, endSubject(subj)},
				Storage:    nats.FileStorage,
				Duplicates: o.dedup,
				Retention:  nats.WorkQueuePolicy,
				MaxMsgs:    int64(o.maxStream),
				Discard:    nats.DiscardNew,
			})
			return err
		}
		if err != nil {
			return err
		}
		cfg := si.Config
		n := len(cfg.Subjects)
		for _, want := range []string{subj, endSubject(subj)} {
			if !contains(cfg.Subjects, want) {
				cfg.Subjects = append(cfg.Subjects, want)
			}
		}
		if len(cfg.Subjects) == n {
			return nil
		}
		_, err = js.UpdateStream(&cfg)
		return err
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
