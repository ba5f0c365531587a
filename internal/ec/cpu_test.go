package ec

import (
	"syscall"
	"testing"
	"time"
)

// cpuBench runs f b.N times and also reports process CPU time per call,
// which the machine's other load inflates much less than wall time.
func cpuBench(b *testing.B, f func()) {
	start := cpuTime()
	for b.Loop() {
		f()
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
