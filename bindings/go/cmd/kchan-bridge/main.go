// SPDX-License-Identifier: GPL-2.0

// Command kchan-bridge carries a kchan named channel across machines
// through a NATS JetStream stream.
//
//	kchan-bridge export NAME --nats URL [--stream S] [--subject SUBJ] [--id ID]
//	kchan-bridge import SUBJ --nats URL NAME [--stream S] [--group G] [--cap N --msg-size N]
//	kchan-bridge stat --nats URL [--stream S] [--name NAME] [--json]
//
// export receives from the local named channel NAME and publishes each
// message to the stream, waiting for JetStream's acknowledgement before it
// takes the next; import is a durable pull consumer (group G: every
// message goes to one importer of the group, on whichever host) that sends
// into the local named channel NAME and acknowledges a message only once
// the local send succeeded. Closing the exported channel closes every
// importer's channel after the last message, as Go's close does.
//
// A bridge keeps a small state file (--state DIR, default
// $STATE_DIRECTORY or /var/lib/kchan-bridge) mapped in memory: it is what
// lets a bridge killed at any instruction come back without losing or
// duplicating a message. README.md ("Across machines") lists the
// guarantees.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Version is the kchan version this bridge was built with (-ldflags -X).
var Version = "unknown"

const usage = `usage:
  kchan-bridge export NAME --nats URL [--stream S] [--subject SUBJ] [--id ID] [--cap N] [--msg-size N]
  kchan-bridge import SUBJ --nats URL NAME [--stream S] [--group G] [--cap N] [--msg-size N]
  kchan-bridge stat [--nats URL] [--stream S] [--name NAME] [--json]
  kchan-bridge bench COUNT SIZE --nats URL [--latency N --interval D]
      (JetStream publish rates and latency, the bridge's peers)
  kchan-bridge --version
common options: --state DIR (crash-safe state files), --ack-wait D, --dedup-window D, --max-stream N
`

type options struct {
	nats      string
	stream    string
	subject   string
	id        string
	group     string
	stateDir  string
	capacity  int
	msgSize   int
	ackWait   time.Duration
	dedup     time.Duration
	maxStream int
	json      bool
	name      string
	quiet     bool
	latency   int
	interval  time.Duration
}

func usageErr(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "kchan-bridge: "+format+"\n", a...)
	fmt.Fprint(os.Stderr, usage)
	os.Exit(2)
}

// parse takes the options wherever they stand among the positional
// arguments (export NAME --nats URL and export --nats URL NAME alike);
// "--" ends the options.
func parse(fs *flag.FlagSet, args []string) []string {
	var pos []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			os.Exit(2)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	return pos
}

func main() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	log.SetPrefix("kchan-bridge: ")
	if len(os.Args) < 2 {
		usageErr("a command is needed")
	}
	cmd := os.Args[1]
	switch cmd {
	case "--version", "version":
		fmt.Println("kchan-bridge", Version)
		return
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	case "export", "import", "stat", "bench":
	default:
		usageErr("unknown command %q", cmd)
	}
	o := options{}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(os.Stderr, usage) }
	fs.StringVar(&o.nats, "nats", os.Getenv("NATS_URL"), "NATS server URL(s), comma-separated")
	fs.StringVar(&o.stream, "stream", "", "JetStream stream (default KCHAN_<subject>)")
	fs.StringVar(&o.subject, "subject", "", "subject (export; default kchan.NAME)")
	fs.StringVar(&o.id, "id", "", "exporter id, the prefix of message ids (default HOST:NAME)")
	fs.StringVar(&o.group, "group", "kchan-import", "durable consumer: the importers of one group share the messages")
	def := os.Getenv("STATE_DIRECTORY")
	if def == "" {
		def = "/var/lib/kchan-bridge"
	}
	fs.StringVar(&o.stateDir, "state", def, "directory of the state files")
	fs.IntVar(&o.capacity, "cap", 64, "capacity of the local channel if the bridge creates it")
	fs.IntVar(&o.msgSize, "msg-size", 1024, "msg_size of the local channel if the bridge creates it")
	fs.DurationVar(&o.ackWait, "ack-wait", 10*time.Second, "import: JetStream redelivers a message not acknowledged in this time")
	fs.DurationVar(&o.dedup, "dedup-window", 10*time.Minute, "export: duplicate window of a stream it creates")
	fs.IntVar(&o.maxStream, "max-stream", 1024, "export: messages a stream it creates holds at most (then publishing waits)")
	fs.BoolVar(&o.json, "json", false, "stat: JSON output")
	fs.StringVar(&o.name, "name", "", "stat: also show this local channel")
	fs.BoolVar(&o.quiet, "quiet", false, "log only errors")
	fs.IntVar(&o.latency, "latency", 0, "bench: also time this many paced messages one way")
	fs.DurationVar(&o.interval, "interval", 10*time.Millisecond, "bench: the pace of --latency")
	pos := parse(fs, os.Args[2:])
	if o.nats == "" && !(cmd == "stat" && o.name != "") {
		usageErr("%s needs --nats URL (or NATS_URL)", cmd)
	}
	var err error
	switch cmd {
	case "export":
		if len(pos) != 1 {
			usageErr("export needs one channel NAME")
		}
		err = runExport(pos[0], &o)
	case "import":
		if len(pos) != 2 {
			usageErr("import needs SUBJ and a channel NAME")
		}
		err = runImport(pos[0], pos[1], &o)
	case "stat":
		if len(pos) != 0 {
			usageErr("stat takes no arguments")
		}
		err = runStat(&o)
	case "bench":
		if len(pos) != 2 {
			usageErr("bench needs COUNT and SIZE")
		}
		count, e1 := strconv.Atoi(pos[0])
		size, e2 := strconv.Atoi(pos[1])
		if e1 != nil || e2 != nil || count < 1 || size < 0 {
			usageErr("bench needs COUNT (> 0) and SIZE (>= 0)")
		}
		if o.latency < 0 || o.interval <= 0 {
			usageErr("bench needs --latency N >= 0 and --interval D > 0")
		}
		err = runBench(&o, count, size)
	}
	if err != nil {
		log.Printf("%s: %v", cmd, err)
		os.Exit(1)
	}
}

func (o *options) logf(format string, a ...interface{}) {
	if !o.quiet {
		log.Printf(format, a...)
	}
}

// connect to NATS, retrying for ever: a bridge outlives server restarts.
func connect(o *options, what string) (*nats.Conn, nats.JetStreamContext, error) {
	opts := []nats.Option{
		nats.Name("kchan-bridge " + what),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(true),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				o.logf("disconnected: %v", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { o.logf("reconnected to %s", c.ConnectedUrl()) }),
	}
	nc, err := nats.Connect(o.nats, opts...)
	if err != nil {
		return nil, nil, err
	}
	js, err := nc.JetStream()
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// endSubject is where an exporter publishes its end marker (Go's close):
// a subject of the same stream, outside the importers' filter, so that
// every importer sees it (the data subject is a work queue: each message
// reaches one importer only).
func endSubject(subj string) string { return subj + ".kchan-end" }

func defaultStream(subj string) string {
	r := strings.NewReplacer(".", "_", "*", "_", ">", "_", " ", "_")
	return "KCHAN_" + r.Replace(subj)
}

func stateFile(o *options, kind string, parts ...string) (string, error) {
	if err := os.MkdirAll(o.stateDir, 0700); err != nil {
		return "", fmt.Errorf("state directory: %w", err)
	}
	name := kind
	for _, p := range parts {
		name += "-" + strings.NewReplacer("/", "_", ".", "_").Replace(p)
	}
	return filepath.Join(o.stateDir, name+".state"), nil
}

// retry runs fn until it succeeds or fails with an error that retrying
// cannot cure, sleeping between attempts; transient NATS failures (server
// restarting, no responders, timeouts) are retried for ever.
func retry(o *options, what string, fn func() error) error {
	return retryFor(o, what, 0, fn)
}

// retryFor is retry with a limit (0: none): past it, the last error.
func retryFor(o *options, what string, limit time.Duration, fn func() error) error {
	wait := 50 * time.Millisecond
	start := time.Now()
	for n := 0; ; n++ {
		err := fn()
		if err == nil || errors.Is(err, errPermanent) ||
			(limit > 0 && time.Since(start) > limit) {
			return err
		}
		if n == 0 || n%20 == 0 {
			o.logf("%s: %v (retrying)", what, err)
		}
		time.Sleep(wait)
		if wait < 500*time.Millisecond {
			wait *= 2
		}
	}
}

var errPermanent = errors.New("permanent")
