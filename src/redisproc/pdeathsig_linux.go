package redisproc

import "syscall"

// childAttr makes the kernel SIGKILL redis-server when the process that
// started it dies, even by SIGKILL, so that `bank dev` leaves no server
// behind holding its port and data. (Linux ties this to the starting
// thread; Go keeps its threads for the process's life unless a goroutine
// that locked one exits, which this package never does.)
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
