// SPDX-License-Identifier: GPL-2.0

package kchan_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"kchan.dev/kchan"
)

// The helper processes of the multi-process tests are this test binary,
// started again with helperEnv naming their role (the os/exec way).
const helperEnv = "KCHAN_GO_TEST_HELPER"

func TestMain(m *testing.M) {
	if role := os.Getenv(helperEnv); role != "" {
		if err := runHelper(role); err != nil {
			fmt.Fprintf(os.Stderr, "helper %s: %v\n", role, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func needDevice(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(kchan.Device); err != nil {
		t.Skipf("%s: %v (load chan.ko; the selftests run this in a VM)", kchan.Device, err)
	}
}

// must returns v, panicking (which fails the test) on an error.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestSendRecvBuffered(t *testing.T) {
	needDevice(t)
	ctx := context.Background()
	h := must(kchan.Make(8, 3))
	defer h.Release()
	if h.Cap() != 3 || h.MsgSize() != 8 || h.Rights() != kchan.RightBoth {
		t.Fatalf("cap %d msg size %d rights %d", h.Cap(), h.MsgSize(), h.Rights())
	}
	for _, m := range []string{"a", "", "12345678"} {
		if err := h.Send(ctx, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	if n := must(h.Len()); n != 3 {
		t.Fatalf("len %d, want 3", n)
	}
	if err := h.TrySend([]byte("x")); !errors.Is(err, kchan.ErrWouldBlock) || !errors.Is(err, syscall.EAGAIN) {
		t.Fatalf("TrySend on a full channel: %v", err)
	}
	if err := h.Send(ctx, []byte("123456789")); !errors.Is(err, syscall.EMSGSIZE) {
		t.Fatalf("Send of 9 bytes: %v", err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); !errors.Is(err, kchan.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	if err := h.Send(ctx, nil); !errors.Is(err, kchan.ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	for _, want := range []string{"a", "", "12345678"} {
		m, ok, err := h.Recv(ctx)
		if err != nil || !ok || string(m) != want {
			t.Fatalf("Recv: %q %v %v, want %q", m, ok, err, want)
		}
	}
	if m, ok, err := h.Recv(ctx); err != nil || ok || m != nil {
		t.Fatalf("Recv on closed and drained: %q %v %v", m, ok, err)
	}
	if _, ok, err := h.TryRecv(); err != nil || ok {
		t.Fatalf("TryRecv on closed and drained: %v %v", ok, err)
	}
}

func TestTyped(t *testing.T) {
	needDevice(t)
	type point struct {
		X, Y int32
		Tag  [4]byte
	}
	ctx := context.Background()
	c := must(kchan.New[point](1))
	defer c.Release()
	if c.Handle().MsgSize() != 12 {
		t.Fatalf("msg size %d, want 12", c.Handle().MsgSize())
	}
	if _, ok, err := c.TryRecv(); !errors.Is(err, kchan.ErrWouldBlock) || ok {
		t.Fatalf("TryRecv on empty: %v %v", ok, err)
	}
	want := point{1, -2, [4]byte{'a', 'b'}}
	if err := c.TrySend(want); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := c.Recv(ctx); err != nil || !ok || v != want {
		t.Fatalf("Recv: %v %v %v", v, ok, err)
	}
	if _, err := kchan.New[string](1); err == nil {
		t.Fatal("New[string] is not fixed-size but made a channel")
	}

	type msg struct {
		Name string
		Vals []int
	}
	j := must(kchan.NewCodec(kchan.JSON[msg](256), 0))
	defer j.Release()
	go j.Send(ctx, msg{"x", []int{1, 2}})
	if v, ok, err := j.Recv(ctx); err != nil || !ok || v.Name != "x" || len(v.Vals) != 2 {
		t.Fatalf("JSON Recv: %v %v %v", v, ok, err)
	}
}

// Unbuffered: a rendezvous between goroutines of one process, each side
// waiting in the kernel in turn.
func TestUnbuffered(t *testing.T) {
	needDevice(t)
	ctx := context.Background()
	c := must(kchan.New[int64](0))
	defer c.Release()
	const n = 200
	go func() {
		for i := int64(0); i < n; i++ {
			if err := c.Send(ctx, i); err != nil {
				t.Error(err)
				return
			}
		}
		c.Close()
	}()
	var i int64
	for {
		v, ok, err := c.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if v != i {
			t.Fatalf("got %d, want %d", v, i)
		}
		i++
	}
	if i != n {
		t.Fatalf("received %d, want %d", i, n)
	}
	if err := c.TrySend(1); !errors.Is(err, kchan.ErrClosed) {
		t.Fatalf("TrySend after close: %v", err)
	}
}

// A cancelled or timed out operation moves nothing, on both kinds of
// channel and in both directions.
func TestContext(t *testing.T) {
	needDevice(t)
	for _, capacity := range []int{0, 1} {
		t.Run(fmt.Sprintf("cap%d", capacity), func(t *testing.T) {
			c := must(kchan.New[int32](capacity))
			defer c.Release()
			ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
			_, _, err := c.Recv(ctx)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Recv with a timeout: %v", err)
			}
			ctx, cancel = context.WithCancel(context.Background())
			errc := make(chan error)
			go func() { _, _, err := c.Recv(ctx); errc <- err }()
			cancel()
			if err := <-errc; !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled Recv: %v", err)
			}
			if capacity == 1 {
				if err := c.TrySend(7); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel = context.WithCancel(context.Background())
			go func() { errc <- c.Send(ctx, 8) }()
			cancel()
			if err := <-errc; !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled Send: %v", err)
			}
			want := 0
			if capacity == 1 {
				want = 1
			}
			if n := must(c.Len()); n != want {
				t.Fatalf("len %d after cancelled ops, want %d", n, want)
			}
			if capacity == 1 {
				if v, ok, err := c.TryRecv(); v != 7 || !ok || err != nil {
					t.Fatalf("TryRecv: %v %v %v", v, ok, err)
				}
			}
		})
	}
}

// Goroutines waiting behind the one that waits in the kernel (or the
// poller) can be cancelled too, and the others still get their values.
func TestCancelQueued(t *testing.T) {
	needDevice(t)
	for _, capacity := range []int{0, 1} {
		c := must(kchan.New[int32](capacity))
		bg := context.Background()
		ctx, cancel := context.WithCancel(bg)
		type res struct {
			v   int32
			err error
		}
		got := make(chan res, 3)
		recv := func(ctx context.Context) {
			v, _, err := c.Recv(ctx)
			got <- res{v, err}
		}
		go recv(bg)
		go recv(ctx)
		go recv(bg)
		cancel()
		for i := int32(1); i <= 2; i++ {
			if err := c.Send(bg, i); err != nil {
				t.Fatal(err)
			}
		}
		var sum int32
		var cancelled int
		for i := 0; i < 3; i++ {
			r := <-got
			if errors.Is(r.err, context.Canceled) {
				cancelled++
			} else if r.err != nil {
				t.Fatal(r.err)
			}
			sum += r.v
		}
		if cancelled != 1 || sum != 3 {
			t.Fatalf("cap %d: %d cancelled, sum %d; want 1 and 3", capacity, cancelled, sum)
		}
		c.Release()
	}
}

// Release wakes the operations waiting on the handle.
func TestRelease(t *testing.T) {
	needDevice(t)
	for _, capacity := range []int{0, 1} {
		h := must(kchan.Make(1, capacity))
		errc := make(chan error)
		go func() { _, _, err := h.Recv(context.Background()); errc <- err }()
		for {
			// The receiver is waiting once it holds the token:
			// then Release must wake it; before, it finds the
			// handle released.
			runtime.Gosched()
			if i, _ := h.Info(); capacity == 1 || i.RecvWaiters == 1 {
				break
			}
		}
		if err := h.Release(); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; !errors.Is(err, kchan.ErrReleased) {
			t.Fatalf("cap %d: Recv on a released handle: %v", capacity, err)
		}
	}
}

func TestDupDirections(t *testing.T) {
	needDevice(t)
	ctx := context.Background()
	c := must(kchan.New[uint16](2))
	defer c.Release()
	s := must(c.DupSendOnly())
	r := must(c.DupRecvOnly())
	defer s.Release()
	defer r.Release()
	if s.Handle().Rights() != kchan.RightSend || r.Handle().Rights() != kchan.RightRecv {
		t.Fatalf("rights %d %d", s.Handle().Rights(), r.Handle().Rights())
	}
	// The kernel enforces what the types say.
	if err := r.Handle().Send(ctx, []byte{1, 2}); !errors.Is(err, syscall.EBADF) {
		t.Fatalf("Send on a receive-only handle: %v", err)
	}
	if _, _, err := s.Handle().TryRecv(); !errors.Is(err, syscall.EBADF) {
		t.Fatalf("Recv on a send-only handle: %v", err)
	}
	if err := s.Send(ctx, 5); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := r.Recv(ctx); v != 5 || !ok || err != nil {
		t.Fatalf("Recv: %v %v %v", v, ok, err)
	}
	pr, pw, err := kchan.Pipe(4, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Release()
	defer pw.Release()
	if pr.Rights() != kchan.RightRecv || pw.Rights() != kchan.RightSend {
		t.Fatalf("Pipe rights %d %d", pr.Rights(), pw.Rights())
	}
}

func TestNamed(t *testing.T) {
	needDevice(t)
	ctx := context.Background()
	name := fmt.Sprintf("kchan-go-test-%d", os.Getpid())
	w, err := kchan.Open(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, &kchan.Attr{MsgSize: 16, Capacity: 4, Perm: 0600})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Release()
	defer kchan.Unlink(name)
	if _, err := kchan.Open(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, &kchan.Attr{MsgSize: 16}); !errors.Is(err, syscall.EEXIST) {
		t.Fatalf("O_EXCL on an existing name: %v", err)
	}
	r := must(kchan.Open(name, os.O_RDONLY, nil))
	defer r.Release()
	if r.Cap() != 4 || r.MsgSize() != 16 || r.Rights() != kchan.RightRecv {
		t.Fatalf("opened: cap %d msg size %d rights %d", r.Cap(), r.MsgSize(), r.Rights())
	}
	if err := w.Send(ctx, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if m, ok, err := r.Recv(ctx); string(m) != "hello" || !ok || err != nil {
		t.Fatalf("Recv: %q %v %v", m, ok, err)
	}
	if err := kchan.Unlink(name); err != nil {
		t.Fatal(err)
	}
	if _, err := kchan.Open(name, os.O_RDONLY, nil); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("Open after Unlink: %v", err)
	}
}

func TestSelect(t *testing.T) {
	needDevice(t)
	ctx := context.Background()
	a := must(kchan.New[int32](4))
	b := must(kchan.New[int32](4))
	full := must(kchan.New[int32](0))
	defer a.Release()
	defer b.Release()
	defer full.Release()

	// Nothing ready: the default case.
	cases := []kchan.SelectCase{a.RecvCase(), {Dir: kchan.SelectRecv}, {Dir: kchan.SelectDefault}}
	if i, _, _, err := kchan.Select(ctx, cases); i != 2 || err != nil {
		t.Fatalf("Select with nothing ready: %d %v", i, err)
	}
	// A nil channel never fires, also with no other case (until ctx).
	tctx, cancel := context.WithTimeout(ctx, time.Millisecond)
	if i, _, _, err := kchan.Select(tctx, cases[1:2]); i != -1 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Select on a nil channel: %d %v", i, err)
	}
	cancel()

	// Two ready cases: each is chosen, at random.
	var hits [2]int
	for k := 0; k < 200; k++ {
		a.TrySend(1)
		b.TrySend(2)
		i, msg, ok, err := kchan.Select(ctx, []kchan.SelectCase{a.RecvCase(), b.RecvCase()})
		if err != nil || !ok || i < 0 || i > 1 {
			t.Fatalf("Select: %d %v %v", i, ok, err)
		}
		v := must(a.Decode(msg))
		if v != int32(i+1) {
			t.Fatalf("case %d received %d", i, v)
		}
		hits[i]++
		// Drain the other one.
		if _, _, err := []*kchan.Chan[int32]{b, a}[i].TryRecv(); err != nil {
			t.Fatal(err)
		}
	}
	if hits[0] == 0 || hits[1] == 0 {
		t.Fatalf("Select is not random: %v", hits)
	}

	// A send case fires only when chosen; a blocking select wakes when
	// a peer comes.
	sc := must(full.SendCase(42))
	go func() {
		v, ok, err := full.Recv(ctx)
		if v != 42 || !ok || err != nil {
			t.Errorf("Recv: %v %v %v", v, ok, err)
		}
	}()
	if i, _, _, err := kchan.Select(ctx, []kchan.SelectCase{{Dir: kchan.SelectRecv}, sc}); i != 1 || err != nil {
		t.Fatalf("Select send: %d %v", i, err)
	}
	if i, _, _, err := kchan.Select(ctx, []kchan.SelectCase{{Dir: kchan.SelectDefault}, sc}); i != 0 || err != nil {
		t.Fatalf("Select send, no receiver: %d %v", i, err)
	}
	// Closed: a receive case fires with !ok, a send case with ErrClosed.
	a.Close()
	if i, msg, ok, err := kchan.Select(ctx, []kchan.SelectCase{a.RecvCase()}); i != 0 || ok || msg != nil || err != nil {
		t.Fatalf("Select on closed: %d %v %v", i, ok, err)
	}
	ac := must(a.SendCase(1))
	if i, _, _, err := kchan.Select(ctx, []kchan.SelectCase{ac}); i != 0 || !errors.Is(err, kchan.ErrClosed) {
		t.Fatalf("Select send on closed: %d %v", i, err)
	}
}

func TestBridge(t *testing.T) {
	needDevice(t)
	ctx := context.Background()
	r, s, err := kchan.PipeOf[int](2)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	defer s.Release()
	in, waitIn := s.Chan(ctx)
	out, waitOut := r.Chan(ctx)
	go func() {
		for i := 1; i <= 100; i++ {
			in <- i
		}
		close(in)
	}()
	sum := 0
	for v := range out {
		sum += v
	}
	if sum != 5050 {
		t.Fatalf("sum %d, want 5050", sum)
	}
	if err := waitIn(); err != nil {
		t.Fatal(err)
	}
	if err := waitOut(); err != nil {
		t.Fatal(err)
	}
}

func threads(t testing.TB) int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v := sc.Text(); strings.HasPrefix(v, "Threads:") {
			return must(strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(v, "Threads:"))))
		}
	}
	t.Fatal("no Threads: in /proc/self/status")
	return 0
}

// Ten thousand goroutines wait on buffered channels and ten thousand on
// one unbuffered channel without an OS thread each: the buffered ones park
// in the runtime poller, the unbuffered ones behind one goroutine that
// waits in the kernel. A blocking call per goroutine would need 20,000
// threads (past Go's default limit of 10,000, which would kill the test).
func TestTenThousandWaiters(t *testing.T) {
	needDevice(t)
	const n = 10000
	const nchan = 100
	ctx := context.Background()
	var chans []*kchan.Chan[int32]
	for i := 0; i < nchan; i++ {
		chans = append(chans, must(kchan.New[int32](1)))
	}
	unbuf := must(kchan.New[int32](0))
	defer func() {
		for _, c := range chans {
			c.Release()
		}
		unbuf.Release()
	}()

	var started, done sync.WaitGroup
	var mu sync.Mutex
	sum := 0
	recv := func(c *kchan.Chan[int32]) {
		defer done.Done()
		started.Done()
		v, ok, err := c.Recv(ctx)
		if err != nil || !ok {
			t.Errorf("Recv: %v %v", ok, err)
			return
		}
		mu.Lock()
		sum += int(v)
		mu.Unlock()
	}
	before := threads(t)
	started.Add(2 * n)
	done.Add(2 * n)
	for i := 0; i < n; i++ {
		go recv(chans[i%nchan])
		go recv(unbuf)
	}
	started.Wait()
	// Let them all reach their wait.
	for i := 0; i < 100; i++ {
		runtime.Gosched()
	}
	waiting := threads(t)
	t.Logf("%d goroutines waiting; threads: %d before, %d while waiting", 2*n, before, waiting)
	if waiting-before > 50 {
		t.Errorf("%d goroutines waiting took %d more threads", 2*n, waiting-before)
	}
	for i := 0; i < n; i++ {
		if err := chans[i%nchan].Send(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if err := unbuf.Send(ctx, 2); err != nil {
			t.Fatal(err)
		}
	}
	done.Wait()
	if sum != 3*n {
		t.Fatalf("sum %d, want %d", sum, 3*n)
	}
}

// The constants and layouts come from uapi/linux/chan.h: regenerate them
// and compare, so that a header change cannot drift silently.
func TestUAPIGenerated(t *testing.T) {
	hdr := filepath.Join("..", "..", "uapi", "linux", "chan.h")
	if _, err := os.Stat(hdr); err != nil {
		t.Skipf("%s: %v (not in the kchan source tree)", hdr, err)
	}
	for _, tool := range []string{"go", "cc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: cannot regenerate the UAPI constants", tool)
		}
	}
	gen := filepath.Join("internal", "uapi", fmt.Sprintf("zuapi_linux_%s.go", runtime.GOARCH))
	want, err := os.ReadFile(gen)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", filepath.Join("internal", "uapi", "mkuapi.sh"), hdr, runtime.GOARCH)
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("mkuapi.sh: %v\n%s", err, stderr.String())
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: uapi/linux/chan.h changed; run make -C bindings/go generate", gen)
	}
}

// ---- the patterns across processes ----------------------------------

// helper starts this test binary as role, with files as its fds 3, 4, ...
func helper(t *testing.T, role string, files ...*os.File) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+role)
	cmd.ExtraFiles = files
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		f.Close()
	}
	return cmd
}

func file(h *kchan.Handle, rights kchan.Rights) *os.File {
	return must(h.File(rights))
}

// fdChan is the typed channel of the helper's inherited fd (3 + i).
func fdChan[T any](i int) (*kchan.Chan[T], error) {
	h, err := kchan.NewHandle(uintptr(3 + i))
	if err != nil {
		return nil, err
	}
	return kchan.Wrap[T](h, nil)
}

func runHelper(role string) error {
	ctx := context.Background()
	switch role {
	case "gen": // fd 3: out. Sends 1..n, closes.
		out, err := fdChan[int64](0)
		if err != nil {
			return err
		}
		for i := int64(1); i <= pipelineN; i++ {
			if err := out.Send(ctx, i); err != nil {
				return err
			}
		}
		return out.Close()
	case "square": // fd 3: in, fd 4: out. Ranges over in, closes out.
		in, err := fdChan[int64](0)
		if err != nil {
			return err
		}
		out, err := fdChan[int64](1)
		if err != nil {
			return err
		}
		vals, wait := in.RecvOnly().Chan(ctx)
		for v := range vals {
			if err := out.Send(ctx, v*v); err != nil {
				return err
			}
		}
		if err := wait(); err != nil {
			return err
		}
		return out.Close()
	case "worker": // fd 3: jobs, fd 4: results. Goroutines and a WaitGroup.
		jobs, err := fdChan[int64](0)
		if err != nil {
			return err
		}
		results, err := fdChan[int64](1)
		if err != nil {
			return err
		}
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					j, ok, err := jobs.Recv(ctx)
					if err != nil {
						errs <- err
						return
					}
					if !ok {
						return
					}
					if err := results.Send(ctx, 2*j); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		return <-errs
	case "generator": // fd 3: out, fd 4: done. Sends 0, 1, ... until done closes.
		out, err := fdChan[int64](0)
		if err != nil {
			return err
		}
		done, err := kchan.NewHandle(4)
		if err != nil {
			return err
		}
		for i := int64(0); ; i++ {
			sc, err := out.SendCase(i)
			if err != nil {
				return err
			}
			k, _, _, err := kchan.Select(ctx, []kchan.SelectCase{sc, {Dir: kchan.SelectRecv, Chan: done}})
			if err != nil {
				return err
			}
			if k == 1 { // done: <-done fired, closed
				return nil
			}
		}
	}
	return fmt.Errorf("unknown role %q", role)
}

const pipelineN = 100

func waitAll(t *testing.T, cmds ...*exec.Cmd) {
	t.Helper()
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("helper %v: %v", c.Env[len(c.Env)-1], err)
		}
	}
}

// gen | square | this process: each stage a process, each link an
// unbuffered channel, close propagating down the pipeline.
func TestPipelineProcesses(t *testing.T) {
	needDevice(t)
	a := must(kchan.New[int64](0))
	b := must(kchan.New[int64](0))
	gen := helper(t, "gen", file(a.Handle(), kchan.RightSend))
	sq := helper(t, "square", file(a.Handle(), kchan.RightRecv), file(b.Handle(), kchan.RightSend))
	a.Release()
	results := must(b.DupRecvOnly())
	b.Release()
	defer results.Release()
	vals, wait := results.Chan(context.Background())
	sum, want := int64(0), int64(0)
	for v := range vals {
		sum += v
	}
	for i := int64(1); i <= pipelineN; i++ {
		want += i * i
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if sum != want {
		t.Fatalf("sum of squares %d, want %d", sum, want)
	}
	waitAll(t, gen, sq)
}

// Worker processes take jobs from one channel and send results on
// another; a closer goroutine waits for all of them (the WaitGroup) and
// then closes the results, ending the range over them.
func TestWorkerPoolProcesses(t *testing.T) {
	needDevice(t)
	ctx := context.Background()
	jobs := must(kchan.New[int64](8))
	results := must(kchan.New[int64](8))
	defer jobs.Release()
	defer results.Release()
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		cmd := helper(t, "worker", file(jobs.Handle(), kchan.RightRecv), file(results.Handle(), kchan.RightSend))
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := cmd.Wait(); err != nil {
				t.Errorf("worker: %v", err)
			}
		}()
	}
	go func() {
		wg.Wait()
		results.Close()
	}()
	const n = 300
	go func() {
		for i := int64(1); i <= n; i++ {
			if err := jobs.Send(ctx, i); err != nil {
				t.Error(err)
				break
			}
		}
		jobs.Close()
	}()
	vals, wait := results.RecvOnly().Chan(ctx)
	sum, count := int64(0), 0
	for v := range vals {
		sum += v
		count++
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if count != n || sum != n*(n+1) {
		t.Fatalf("%d results summing to %d, want %d and %d", count, sum, n, n*(n+1))
	}
}

// The done-channel generator: a process sends 0, 1, 2, ... until the
// consumer closes done; its select sees the close and it returns.
func TestDoneGeneratorProcess(t *testing.T) {
	needDevice(t)
	ctx := context.Background()
	out := must(kchan.New[int64](0))
	done := must(kchan.Make(0, 0))
	defer out.Release()
	defer done.Release()
	gen := helper(t, "generator", file(out.Handle(), kchan.RightSend), file(done, kchan.RightRecv))
	for want := int64(0); want < 50; want++ {
		v, ok, err := out.Recv(ctx)
		if err != nil || !ok || v != want {
			t.Fatalf("Recv: %v %v %v, want %d", v, ok, err, want)
		}
	}
	if err := done.Close(); err != nil {
		t.Fatal(err)
	}
	waitAll(t, gen)
}
