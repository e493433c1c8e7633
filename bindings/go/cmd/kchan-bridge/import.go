// SPDX-License-Identifier: GPL-2.0

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
	"unsafe"

	"github.com/nats-io/nats.go"

	"kchan.dev/kchan"
)

// The importer's state file. Before each local send the importer records
// the message's stream sequence, its acknowledgement subject and the
// channel's "sent" counter (CHAN_IOC_INFO), then sets Phase = phaseSending
// (one store: the record is complete once it says so); Phase = phaseSent
// after the send. After a crash in between, the counter tells whether the
// send happened: one more than recorded means it did (the importer being
// the channel's only sender), and the importer acknowledges the message
// through the recorded subject instead of sending it again; equal means
// it did not, and JetStream will deliver the message again. Anything else
// (another process sent into the channel meanwhile) cannot be told apart:
// the message is left to be delivered again (at least once).
type importState struct {
	Magic      uint64
	Phase      uint64
	StreamSeq  uint64
	ChanID     uint64
	SentBefore uint64
	ReplyLen   uint64
	Reply      [256]byte
}

const (
	phaseIdle = iota
	phaseSending
	phaseSent
)

func runImport(subj, name string, o *options) error {
	h, err := kchan.Open(name, os.O_WRONLY|os.O_CREATE, &kchan.Attr{
		MsgSize: o.msgSize, Capacity: o.capacity, Perm: 0666,
	})
	if err != nil {
		return fmt.Errorf("open channel %q: %w", name, err)
	}
	path, err := stateFile(o, "import", name, o.group)
	if err != nil {
		return err
	}
	m, fresh, err := mapState(path, int(unsafe.Sizeof(importState{})))
	if err != nil {
		return err
	}
	st := (*importState)(unsafe.Pointer(&m.mem[0]))
	if fresh {
		st.Magic = stateMagic
	}

	nc, js, err := connect(o, "import "+name)
	if err != nil {
		return err
	}
	defer nc.Close()
	stream := o.stream
	if stream == "" {
		stream = defaultStream(subj)
	}
	// The exporter may not have made the stream yet.
	if err := retry(o, "stream "+stream, func() error {
		_, err := js.StreamInfo(stream)
		return err
	}); err != nil {
		return err
	}
	var sub *nats.Subscription
	if err := retry(o, "consumer "+o.group, func() error {
		var err error
		sub, err = js.PullSubscribe(subj, o.group, nats.BindStream(stream),
			nats.AckExplicit(), nats.AckWait(o.ackWait), nats.MaxDeliver(-1))
		return err
	}); err != nil {
		return err
	}

	info, err := h.Info()
	if err != nil {
		return err
	}
	if st.Phase == phaseSending {
		switch {
		case st.ChanID == info.ID && info.Sent == st.SentBefore+1:
			st.Phase = phaseSent
		case st.ChanID == info.ID && info.Sent == st.SentBefore:
			st.Phase = phaseIdle // not sent: it comes again
		default:
			o.logf("import %s: cannot tell whether stream message %d was sent before the restart; it will be delivered again", name, st.StreamSeq)
			st.Phase = phaseIdle
		}
	}
	if st.Phase == phaseSent {
		reply := string(st.Reply[:st.ReplyLen])
		// Bounded: a message acknowledged or redelivered meanwhile gets
		// no answer (then the Phase/StreamSeq check in deliver catches
		// its redelivery to this importer).
		if err := retryFor(o, "ack after restart", 30*time.Second, func() error {
			_, err := nc.Request(reply, []byte("+ACK"), 2*time.Second)
			return err
		}); err != nil {
			o.logf("import %s: ack of stream message %d after the restart: %v", name, st.StreamSeq, err)
		}
	}
	// The end marker as it is published (a core subscription to its
	// subject), or already in the stream: a fetch waiting for messages
	// that will not come then ends at once instead of at its MaxWait, so
	// close reaches the local channel in a round trip, not a second.
	var endOnce sync.Once
	ended := make(chan struct{})
	endSub, err := nc.Subscribe(endSubject(subj), func(*nats.Msg) {
		endOnce.Do(func() { close(ended) })
	})
	if err != nil {
		return err
	}
	defer endSub.Unsubscribe()
	if _, err := js.GetLastMsg(stream, endSubject(subj)); err == nil {
		endOnce.Do(func() { close(ended) }) // published before we subscribed
	}
	o.logf("import %s <- stream %s subject %s, group %s", name, stream, subj, o.group)

	for {
		free := info.Capacity - info.Len
		if free < 1 {
			free = 1
		}
		if free > 64 {
			free = 64
		}
		msgs, err := fetch(sub, free, ended)
		if err != nil && !errors.Is(err, nats.ErrTimeout) &&
			!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			o.logf("fetch: %v", err)
			time.Sleep(200 * time.Millisecond)
		}
		if len(msgs) == 0 {
			done, err := drained(js, sub, stream, subj)
			if err == nil && done {
				if err := h.Close(); err != nil && !errors.Is(err, kchan.ErrClosed) {
					return err
				}
				o.logf("import %s: the exporter closed and every message is delivered: channel closed", name)
				return nil
			}
		}
		for _, msg := range msgs {
			if err := deliver(o, h, st, msg); err != nil {
				return err
			}
		}
		if info, err = h.Info(); err != nil {
			return err
		}
	}
}

// fetch asks for up to n messages, waiting up to a second for the first;
// the end marker's publication cuts the wait short. Once it is out, the
// waits are short: no more messages come, and the loop only waits for
// other importers to acknowledge theirs.
func fetch(sub *nats.Subscription, n int, ended <-chan struct{}) ([]*nats.Msg, error) {
	select {
	case <-ended:
		return sub.Fetch(n, nats.MaxWait(50*time.Millisecond))
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-ended:
			cancel()
		case <-stop:
		}
	}()
	return sub.Fetch(n, nats.Context(ctx))
}

// deliver sends one JetStream message into the local channel and then
// acknowledges it; while the send waits (a slow local consumer), it tells
// JetStream the message is in progress, so that it is not given to
// another importer.
func deliver(o *options, h *kchan.Handle, st *importState, msg *nats.Msg) error {
	meta, err := msg.Metadata()
	if err != nil {
		return err
	}
	seq := meta.Sequence.Stream
	if st.Phase == phaseSent && st.StreamSeq == seq {
		return ack(o, msg) // sent before a restart; the ack was lost
	}
	info, err := h.Info()
	if err != nil {
		return err
	}
	if len(msg.Reply) > len(st.Reply) {
		return fmt.Errorf("acknowledgement subject too long (%d bytes)", len(msg.Reply))
	}
	st.Phase = phaseIdle
	st.StreamSeq = seq
	st.ChanID = info.ID
	st.SentBefore = info.Sent
	st.ReplyLen = uint64(copy(st.Reply[:], msg.Reply))
	st.Phase = phaseSending

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(o.ackWait / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()
	for {
		err = h.Send(ctx, msg.Data)
		// EPIPE with the channel open: no receiving handle yet (a
		// consumer not started, or restarting). Wait for one.
		if !errors.Is(err, kchan.ErrClosed) {
			break
		}
		if i, ierr := h.Info(); ierr != nil || i.Closed || i.RecvHandles > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	<-done
	if err != nil {
		st.Phase = phaseIdle
		_ = msg.Nak()
		return fmt.Errorf("send into the local channel: %w", err)
	}
	st.Phase = phaseSent
	return ack(o, msg)
}

// ack acknowledges msg, retrying through a server restart. Past a minute
// it gives up: JetStream then delivers the message again, and deliver's
// Phase/StreamSeq check catches that redelivery if it comes here.
func ack(o *options, msg *nats.Msg) error {
	err := retryFor(o, "ack", time.Minute, func() error {
		err := msg.AckSync()
		if errors.Is(err, nats.ErrMsgAlreadyAckd) {
			return nil
		}
		return err
	})
	if err != nil {
		o.logf("ack: %v (the message will be delivered again)", err)
	}
	return nil
}

// drained: the exporter's end marker is in the stream and the group's
// consumer has nothing left to deliver or waiting for an acknowledgement.
func drained(js nats.JetStreamContext, sub *nats.Subscription, stream, subj string) (bool, error) {
	if _, err := js.GetLastMsg(stream, endSubject(subj)); err != nil {
		if errors.Is(err, nats.ErrMsgNotFound) {
			return false, nil
		}
		return false, err
	}
	ci, err := sub.ConsumerInfo()
	if err != nil {
		return false, err
	}
	return ci.NumPending == 0 && ci.NumAckPending == 0, nil
}
