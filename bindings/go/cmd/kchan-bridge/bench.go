// SPDX-License-Identifier: GPL-2.0

package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
)

// runBench publishes count messages of size bytes straight to JetStream,
// the way the exporter does (one at a time, each waiting for its
// acknowledgement, with a message id) and then with 256 in flight (the
// ceiling of a pipelined publisher), and prints messages/s for each: the
// peers bench/bridge.sh compares the bridge with.
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
	return nil
}
