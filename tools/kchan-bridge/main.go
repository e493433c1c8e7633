// SPDX-License-Identifier: GPL-2.0

// Command kchan-bridge carries a named kchan channel over NATS JetStream,
// so that a channel's messages reach processes on other machines.
//
//	kchan-bridge export NAME --nats URL [--stream S] [--subject SUBJ]
//	kchan-bridge import SUBJ --nats URL NAME [--group G]
//
// export receives from the local named channel NAME and publishes each
// message to SUBJ (default: kchan.NAME) with a message id, waiting for
// JetStream's acknowledgement before it takes the next message; a failed
// publish is retried with the same id, so the stream's duplicate window
// keeps it once. With --stream it creates stream S on SUBJ if it is
// missing. When NAME is closed and drained it publishes an end marker (a
// message with the header Kchan-End) and exits.
//
// import consumes SUBJ through the durable pull consumer G (default:
// kchan-bridge-NAME) and sends each message on the local named channel
// NAME, acknowledging it only after the local send succeeded: a bridge
// that dies in between has the message redelivered (at least once). No
// more messages are in flight than NAME's capacity (at least one). The end
// marker closes NAME, and import exits.
//
// Both run until then, or until SIGINT or SIGTERM. Exit status: 0 done, 1
// failed, 2 bad usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"kchan.dev/kchan"
)

// endHeader marks the message that says the channel was closed.
const endHeader = "Kchan-End"

const usage = `usage: kchan-bridge export NAME --nats URL [--stream S] [--subject SUBJ]
       kchan-bridge import SUBJ --nats URL NAME [--group G]
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch cmd := os.Args[1]; cmd {
	case "export":
		var url, stream, subject string
		args := parse(cmd, os.Args[2:], 1, func(fs *flag.FlagSet) {
			fs.StringVar(&url, "nats", nats.DefaultURL, "NATS server URL")
			fs.StringVar(&stream, "stream", "", "JetStream stream to create on SUBJ if missing")
			fs.StringVar(&subject, "subject", "", "subject to publish to (default kchan.NAME)")
		})
		if subject == "" {
			subject = "kchan." + args[0]
		}
		err = export(ctx, args[0], url, stream, subject)
	case "import":
		var url, group string
		args := parse(cmd, os.Args[2:], 2, func(fs *flag.FlagSet) {
			fs.StringVar(&url, "nats", nats.DefaultURL, "NATS server URL")
			fs.StringVar(&group, "group", "", "durable consumer name (default kchan-bridge-NAME)")
		})
		if group == "" {
			group = "kchan-bridge-" + args[1]
		}
		err = importCmd(ctx, args[0], url, args[1], group)
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "kchan-bridge %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// parse parses flags that may come before, between or after npos
// positional arguments, and returns the positional ones.
func parse(cmd string, args []string, npos int, define func(*flag.FlagSet)) []string {
	fs := flag.NewFlagSet("kchan-bridge "+cmd, flag.ExitOnError)
	fs.Usage = func() { fmt.Fprint(os.Stderr, usage); fs.PrintDefaults() }
	define(fs)
	var pos []string
	for {
		fs.Parse(args)
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) != npos {
		fs.Usage()
		os.Exit(2)
	}
	return pos
}

func connect(url, what string) (nats.JetStreamContext, *nats.Conn, error) {
	nc, err := nats.Connect(url, nats.Name("kchan-bridge "+what),
		nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true))
	if err != nil {
		return nil, nil, err
	}
	js, err := nc.JetStream()
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return js, nc, nil
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func export(ctx context.Context, name, url, stream, subject string) error {
	h, err := kchan.Open(name, os.O_RDONLY, nil)
	if err != nil {
		return err
	}
	defer h.Release()
	info, err := h.Info()
	if err != nil {
		return err
	}
	js, nc, err := connect(url, "export "+name)
	if err != nil {
		return err
	}
	defer nc.Close()
	var opts []nats.PubOpt
	if stream != "" {
		if err := ensureStream(ctx, js, stream, subject); err != nil {
			return err
		}
		opts = append(opts, nats.ExpectStream(stream))
	}
	// Ids unique to this run: the channel's id and the start time.
	prefix := fmt.Sprintf("kchan-%s-%d-%d-", name, info.ID, time.Now().UnixNano())
	for seq := uint64(1); ; seq++ {
		data, ok, err := h.Recv(ctx)
		if err != nil {
			return err
		}
		m := nats.NewMsg(subject)
		id := prefix + strconv.FormatUint(seq, 10)
		if ok {
			m.Data = data
		} else {
			m.Header.Set(endHeader, "1")
			id = prefix + "end"
		}
		if err := publish(ctx, js, m, id, opts); err != nil {
			return err
		}
		if !ok {
			return nil
		}
	}
}

// publish publishes m until JetStream acknowledges it, with the same id
// every time.
func publish(ctx context.Context, js nats.JetStreamContext, m *nats.Msg, id string, opts []nats.PubOpt) error {
	backoff := 50 * time.Millisecond
	for {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := js.PublishMsg(m, append(opts, nats.MsgId(id), nats.Context(pctx))...)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fmt.Fprintf(os.Stderr, "kchan-bridge export: publish %s: %v (retrying)\n", id, err)
		if err := sleep(ctx, backoff); err != nil {
			return err
		}
		if backoff < 2*time.Second {
			backoff *= 2
		}
	}
}

func ensureStream(ctx context.Context, js nats.JetStreamContext, stream, subject string) error {
	for {
		_, err := js.StreamInfo(stream, nats.Context(ctx))
		if err == nil {
			return nil
		}
		if errors.Is(err, nats.ErrStreamNotFound) {
			_, err = js.AddStream(&nats.StreamConfig{Name: stream, Subjects: []string{subject}}, nats.Context(ctx))
			if err == nil || errors.Is(err, nats.ErrStreamNameAlreadyInUse) {
				return nil
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fmt.Fprintf(os.Stderr, "kchan-bridge export: stream %s: %v (retrying)\n", stream, err)
		if err := sleep(ctx, time.Second); err != nil {
			return err
		}
	}
}

// durableName makes a consumer name of s: no '.', '*', '>' or spaces.
func durableName(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', '*', '>', ' ', '\t':
			return '_'
		}
		return r
	}, s)
}

func importCmd(ctx context.Context, subject, url, name, group string) error {
	h, err := kchan.Open(name, os.O_WRONLY, nil)
	if err != nil {
		return err
	}
	defer h.Release()
	inflight := h.Cap()
	if inflight < 1 {
		inflight = 1
	}
	js, nc, err := connect(url, "import "+name)
	if err != nil {
		return err
	}
	defer nc.Close()
	var sub *nats.Subscription
	for {
		sub, err = js.PullSubscribe(subject, durableName(group),
			nats.MaxAckPending(inflight), nats.AckExplicit(), nats.DeliverAll())
		if err == nil {
			break
		}
		fmt.Fprintf(os.Stderr, "kchan-bridge import: subscribe %s: %v (retrying)\n", subject, err)
		if err := sleep(ctx, time.Second); err != nil {
			return err
		}
	}
	for {
		fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		msgs, err := sub.Fetch(inflight, nats.Context(fctx))
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) {
				continue
			}
			fmt.Fprintf(os.Stderr, "kchan-bridge import: fetch: %v (retrying)\n", err)
			if err := sleep(ctx, time.Second); err != nil {
				return err
			}
			continue
		}
		for _, m := range msgs {
			if m.Header.Get(endHeader) != "" {
				if err := h.Close(); err != nil && !errors.Is(err, kchan.ErrClosed) {
					return err
				}
				return m.AckSync()
			}
			if err := h.Send(ctx, m.Data); err != nil {
				m.Nak()
				return err
			}
			if err := m.AckSync(); err != nil {
				// Redelivered later: a duplicate, not a loss.
				fmt.Fprintf(os.Stderr, "kchan-bridge import: ack: %v\n", err)
			}
		}
	}
}
