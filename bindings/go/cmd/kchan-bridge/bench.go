// SPDX-License-Identifier: GPL-2.0

package main

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
)

// runBench publishes count messages of size bytes straight to JetStream,
// the way the exporter does (one at a time, each waiting for its
// acknowledgement, with a message id) and then with 256 in flight (the
// ceiling of a pipelined publisher), and prints messages/s for each: the
// peers bench/bridge.sh compares the bridge with. Then, with --latency N,
// the one-way latency of N paced messages from a publish to a durable pull
// consumer's fetch (the path the bridge's two halves take).
func runBench(o *options, count, size int) error {
	nc, js, err := connect(o, "bench")
	if err != nil {
		return err
	}
	defer nc.Close()
	stream := "KCHAN_BENCH"
	_ = js.DeleteStream(stream)
	if _, err := js.AddStream(&nats.StreamConfig{Name: stream, Subjects: []string{"kchan.bench"},
		Storage: nats.FileStorage, Duplicates: time.Minute}); err != nil {
		return err
	}
	defer js.DeleteStream(stream)
	data := make([]byte, size)
	t0 := time.Now()
	for i := 0; i < count; i++ {
		if _, err := js.Publish("kchan.bench", data, nats.MsgId("s"+strconv.Itoa(i))); err != nil {
			return err
		}
	}
	sync := float64(count) / time.Since(t0).Seconds()
	t0 = time.Now()
	var futs []nats.PubAckFuture
	for i := 0; i < count; i++ {
		f, err := js.PublishAsync("kchan.bench", data, nats.MsgId("a"+strconv.Itoa(i)))
		if err != nil {
			return err
		}
		futs = append(futs, f)
		if len(futs) == 256 || i == count-1 {
			for _, f := range futs {
				select {
				case <-f.Ok():
				case err := <-f.Err():
					return err
				}
			}
			futs = futs[:0]
		}
	}
	async := float64(count) / time.Since(t0).Seconds()
	fmt.Printf("jetstream-publish-sync %d %.0f\njetstream-publish-async256 %d %.0f\n", size, sync, size, async)
	// The 2*count messages published above, consumed the importer's way
	// (a durable pull consumer, batches of 64) with a synchronous ack
	// each, as the importer does, and then with a fire-and-forget ack.
	for _, mode := range []string{"acksync", "ack"} {
		rate, err := benchPull(js, stream, mode, count)
		if err != nil {
			return err
		}
		fmt.Printf("jetstream-pull-%s %d %.0f\n", mode, size, rate)
	}
	if o.latency > 0 {
		return benchLatency(o, js, stream, size)
	}
	return nil
}

// benchPull fetches count messages of the stream through a new durable
// pull consumer named after mode, acknowledging each the mode's way;
// returns messages/s.
func benchPull(js nats.JetStreamContext, stream, mode string, count int) (float64, error) {
	sub, err := js.PullSubscribe("kchan.bench", "bench-"+mode, nats.BindStream(stream), nats.AckExplicit())
	if err != nil {
		return 0, err
	}
	defer sub.Unsubscribe()
	t0 := time.Now()
	for n := 0; n < count; {
		msgs, err := sub.Fetch(64, nats.MaxWait(5*time.Second))
		if err != nil {
			return 0, err
		}
		for _, m := range msgs {
			if mode == "acksync" {
				err = m.AckSync()
			} else {
				err = m.Ack()
			}
			if err != nil {
				return 0, err
			}
		}
		n += len(msgs)
	}
	return float64(count) / time.Since(t0).Seconds(), nil
}

// benchLatency publishes o.latency messages, one every o.interval, each
// carrying its send time, and fetches them one at a time from a durable
// pull consumer in the same process (one clock); prints
// "jetstream-latency-us SIZE N p50 p90 p99 max".
func benchLatency(o *options, js nats.JetStreamContext, stream string, size int) error {
	const subj = "kchan.bench.lat"
	if _, err := js.UpdateStream(&nats.StreamConfig{Name: stream, Storage: nats.FileStorage,
		Subjects: []string{"kchan.bench", subj}, Duplicates: time.Minute}); err != nil {
		return err
	}
	sub, err := js.PullSubscribe(subj, "bench-latency", nats.BindStream(stream), nats.AckExplicit())
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	if size < 8 {
		size = 8
	}
	base := time.Now()
	lat := make([]time.Duration, 0, o.latency)
	done := make(chan error, 1)
	go func() {
		for len(lat) < o.latency {
			msgs, err := sub.Fetch(1, nats.MaxWait(5*time.Second))
			if err != nil {
				done <- err
				return
			}
			for _, m := range msgs {
				sent := time.Duration(binary.LittleEndian.Uint64(m.Data))
				lat = append(lat, time.Since(base)-sent)
				if err := m.Ack(); err != nil {
					done <- err
					return
				}
			}
		}
		done <- nil
	}()
	data := make([]byte, size)
	for i := 0; i < o.latency; i++ {
		time.Sleep(o.interval)
		binary.LittleEndian.PutUint64(data, uint64(time.Since(base)))
		if _, err := js.Publish(subj, data, nats.MsgId("l"+strconv.Itoa(i))); err != nil {
			return err
		}
	}
	if err := <-done; err != nil {
		return err
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	n := len(lat)
	fmt.Printf("jetstream-latency-us %d %d %.0f %.0f %.0f %.0f\n", size, n,
		us(lat[n/2]), us(lat[n*9/10]), us(lat[n*99/100]), us(lat[n-1]))
	return nil
}
