// SPDX-License-Identifier: GPL-2.0

package kchan_test

import (
	"context"
	"encoding/binary"
	"os"
	"strconv"
	"testing"

	"kchan.dev/kchan"
)

// TestCrossLangProducer is the Go side of selftests/chan_xlang_test: it
// sends KCHAN_XLANG_COUNT little-endian uint64s 0, 1, ... into the named
// channel KCHAN_XLANG_NAME, which a Python consumer and a C select drain,
// and then closes it. Without those variables it skips.
func TestCrossLangProducer(t *testing.T) {
	name := os.Getenv("KCHAN_XLANG_NAME")
	if name == "" {
		t.Skip("the Go producer of selftests/chan_xlang_test (KCHAN_XLANG_NAME not set)")
	}
	n, err := strconv.Atoi(os.Getenv("KCHAN_XLANG_COUNT"))
	if err != nil || n < 1 {
		t.Fatalf("KCHAN_XLANG_COUNT: %q", os.Getenv("KCHAN_XLANG_COUNT"))
	}
	h, err := kchan.Open(name, os.O_WRONLY, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release()
	msg := make([]byte, 8)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint64(msg, uint64(i))
		if err := h.Send(context.Background(), msg); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
}
