package rlpxinterop

import (
	"syscall"
	"testing"
	"time"
)

// cpuMetric reports process CPU time (user + system, all threads) per
// operation next to the wall-clock ns/op. The machine these benchmarks run
// on is shared, and CPU time is much less disturbed by other load than wall
// time; both sides of a connection run in this process, so it is the total
// cost of an operation on both ends.
type cpuMetric struct{ start time.Duration }

func startCPU() cpuMetric { return cpuMetric{cpuTime()} }

func (c cpuMetric) report(b *testing.B) {
	b.ReportMetric(float64(cpuTime()-c.start)/float64(b.N), "cpu-ns/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// threadCPU is the CPU time of the calling OS thread (Linux RUSAGE_THREAD);
// the caller must be locked to its thread.
func threadCPU() time.Duration {
	const rusageThread = 1
	var ru syscall.Rusage
	syscall.Getrusage(rusageThread, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
