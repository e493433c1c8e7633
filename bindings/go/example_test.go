// SPDX-License-Identifier: GPL-2.0

package kchan_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kchan.dev/kchan"
)

// readme is the Go example of the top-level README.md, between the
// markers; TestREADME checks that the two agree and runs it.
func readme() {
	// README begin
	ch, err := kchan.New[int](0) // make(chan int), but other processes can hold it
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	go func() {
		for i := 1; i <= 3; i++ {
			ch.Send(ctx, i)
		}
		ch.Close()
	}()
	vals, wait := ch.RecvOnly().Chan(ctx) // a native <-chan int
	for v := range vals {
		fmt.Println("got", v)
	}
	if err := wait(); err != nil {
		log.Fatal(err)
	}
	// README end
}

// codeBlock returns the lines of the first ```go block after the line
// heading, without their common indentation.
func codeBlock(t *testing.T, text, heading string) string {
	t.Helper()
	_, rest, ok := strings.Cut(text, "\n"+heading+"\n")
	if !ok {
		t.Fatalf("no %q", heading)
	}
	_, rest, ok = strings.Cut(rest, "```go\n")
	if !ok {
		t.Fatalf("no ```go block after %q", heading)
	}
	block, _, _ := strings.Cut(rest, "```\n")
	return block
}

func TestREADME(t *testing.T) {
	readmeMD := filepath.Join("..", "..", "README.md")
	md, err := os.ReadFile(readmeMD)
	if err != nil {
		t.Skipf("%s: %v (not in the kchan source tree)", readmeMD, err)
	}
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, body, _ := strings.Cut(string(src), "\t// README begin\n")
	body, _, _ = strings.Cut(body, "\t// README end\n")
	body = strings.ReplaceAll(body, "\n\t", "\n")
	body = strings.TrimPrefix(body, "\t")
	if got := codeBlock(t, string(md), "### Go"); got != body {
		t.Fatalf("README.md's Go example differs from readme() in example_test.go:\n%s\nwant:\n%s", got, body)
	}

	needDevice(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	readme()
	os.Stdout = stdout
	w.Close()
	var out bytes.Buffer
	io.Copy(&out, r)
	if want := "got 1\ngot 2\ngot 3\n"; out.String() != want {
		t.Fatalf("README example printed %q, want %q", out.String(), want)
	}
}

func ExampleSelect() {
	ctx := context.Background()
	a, _ := kchan.New[int32](1)
	b, _ := kchan.New[int32](1)
	defer a.Release()
	defer b.Release()
	b.TrySend(2)
	// select { case v := <-a: ...; case v := <-b: ...; default: ... }
	i, msg, ok, err := kchan.Select(ctx, []kchan.SelectCase{
		a.RecvCase(),
		b.RecvCase(),
		{Dir: kchan.SelectDefault},
	})
	if err == nil && i == 1 && ok {
		v, _ := b.Decode(msg)
		fmt.Println("b:", v)
	}
}
