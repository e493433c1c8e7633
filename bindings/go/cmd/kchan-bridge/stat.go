// SPDX-License-Identifier: GPL-2.0

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/nats-io/nats.go"

	"kchan.dev/kchan"
)

type consumerStat struct {
	Name        string `json:"name"`
	Lag         uint64 `json:"lag"`       // messages not yet delivered
	InFlight    int    `json:"in_flight"` // delivered, not yet acknowledged
	Redelivered int    `json:"redelivered"`
	Waiting     int    `json:"waiting_pulls"`
}

type streamStat struct {
	Name      string         `json:"name"`
	Subjects  []string       `json:"subjects"`
	Messages  uint64         `json:"messages"`
	Bytes     uint64         `json:"bytes"`
	LastSeq   uint64         `json:"last_seq"`
	Ended     bool           `json:"ended"`
	Consumers []consumerStat `json:"consumers"`
}

type localStat struct {
	Name     string `json:"name"`
	Len      int    `json:"len"`
	Cap      int    `json:"cap"`
	Sent     uint64 `json:"sent"`
	Received uint64 `json:"received"`
	Senders  int    `json:"blocked_senders"`
	Recvers  int    `json:"blocked_receivers"`
	Closed   bool   `json:"closed"`
}

// runStat shows the streams (or --stream), their consumers' lag and in-flight counts, and with --name a
// local channel.
func runStat(o *options) error {
	var out struct {
		Streams []streamStat `json:"streams"`
		Local   *localStat   `json:"local,omitempty"`
	}
	out.Streams = []streamStat{}
	var names []string
	var js nats.JetStreamContext
	if o.nats != "" { // without: the local channel only
		nc, err := nats.Connect(o.nats, nats.Name("kchan-bridge stat"))
		if err != nil {
			return err
		}
		defer nc.Close()
		if js, err = nc.JetStream(); err != nil {
			return err
		}
		if o.stream != "" {
			names = []string{o.stream}
		} else {
			for n := range js.StreamNames() {
				names = append(names, n)
			}
		}
	}
	for _, n := range names {
		si, err := js.StreamInfo(n)
		if err != nil {
			return fmt.Errorf("stream %s: %w", n, err)
		}
		s := streamStat{Name: n, Subjects: si.Config.Subjects, Messages: si.State.Msgs,
			Bytes: si.State.Bytes, LastSeq: si.State.LastSeq, Consumers: []consumerStat{}}
		for _, subj := range si.Config.Subjects {
			if strings.HasSuffix(subj, ".kchan-end") {
				if _, err := js.GetLastMsg(n, subj); err == nil {
					s.Ended = true
				}
			}
		}
		for ci := range js.ConsumersInfo(n) {
			s.Consumers = append(s.Consumers, consumerStat{Name: ci.Name, Lag: ci.NumPending,
				InFlight: ci.NumAckPending, Redelivered: ci.NumRedelivered, Waiting: ci.NumWaiting})
		}
		out.Streams = append(out.Streams, s)
	}
	if o.name != "" {
		h, err := kchan.Open(o.name, os.O_RDONLY, nil)
		if err != nil {
			return fmt.Errorf("channel %q: %w", o.name, err)
		}
		i, err := h.Info()
		h.Release()
		if err != nil {
			return err
		}
		out.Local = &localStat{Name: o.name, Len: i.Len, Cap: i.Capacity, Sent: i.Sent,
			Received: i.Received, Senders: i.SendWaiters, Recvers: i.RecvWaiters, Closed: i.Closed}
	}
	if o.json {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "STREAM\tSUBJECTS\tMSGS\tLAST\tENDED\tCONSUMER\tLAG\tIN-FLIGHT\tREDELIVERED")
	for _, s := range out.Streams {
		if len(s.Consumers) == 0 {
			s.Consumers = []consumerStat{{Name: "-"}}
		}
		for _, c := range s.Consumers {
			fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%v\t%s\t%d\t%d\t%d\n", s.Name, strings.Join(s.Subjects, ","),
				s.Messages, s.LastSeq, s.Ended, c.Name, c.Lag, c.InFlight, c.Redelivered)
		}
	}
	if out.Local != nil {
		l := out.Local
		fmt.Fprintf(w, "\nCHANNEL\tLEN/CAP\tSENT\tRECEIVED\tBLOCKED S/R\tCLOSED\n%s\t%d/%d\t%d\t%d\t%d/%d\t%v\n",
			l.Name, l.Len, l.Cap, l.Sent, l.Received, l.Senders, l.Recvers, l.Closed)
	}
	return w.Flush()
}
