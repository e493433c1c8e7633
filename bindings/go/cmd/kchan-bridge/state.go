// SPDX-License-Identifier: GPL-2.0

package main

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// A state file is a small file the bridge maps MAP_SHARED and writes with
// plain stores. A SIGKILL at any instruction leaves in the page cache
// exactly the stores made before it, and the kernel writes a receive's
// results (length, ok) into the mapped struct chan_msg within the ioctl
// that takes the message: so after a crash the bridge knows whether it
// holds a message, and which. (A machine crash loses the page cache, and
// with it the local channel's own contents: see the guarantees in
// README.md.)
type mapping struct {
	f   *os.File
	mem []byte
}

const stateMagic = 0x6b6368616e627231 // "kchanbr1"

// mapState maps path (created with size bytes of zeros when missing or of
// another size) and returns the mapping and whether it was fresh.
func mapState(path string, size int) (*mapping, bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0600)
	if err != nil {
		return nil, false, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, false, err
	}
	fresh := fi.Size() != int64(size)
	if fresh {
		if err := f.Truncate(0); err == nil {
			err = f.Truncate(int64(size))
		}
		if err != nil {
			f.Close()
			return nil, false, err
		}
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, false, fmt.Errorf("mmap %s: %w", path, err)
	}
	if *(*uint64)(unsafe.Pointer(&mem[0])) != stateMagic {
		fresh = true
		for i := range mem {
			mem[i] = 0
		}
	}
	return &mapping{f: f, mem: mem}, fresh, nil
}

func (m *mapping) sync() error {
	_, _, e := syscall.Syscall(syscall.SYS_MSYNC, uintptr(unsafe.Pointer(&m.mem[0])), uintptr(len(m.mem)), syscall.MS_SYNC)
	if e != 0 {
		return e
	}
	return nil
}
