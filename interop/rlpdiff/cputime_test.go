package rlpdiff

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCPUTimeRLP runs the BenchmarkRLP cases measuring process CPU time (user
// plus system, all threads) per operation instead of wall time. On a machine
// shared with other jobs, wall-clock ns/op swings by multiples while CPU time
// stays within a few percent. Enable with RLPDIFF_CPUTIME=<substring of case
// names> (e.g. "/" for all).
func TestCPUTimeRLP(t *testing.T) {
	filter := os.Getenv("RLPDIFF_CPUTIME")
	if filter == "" {
		t.Skip("set RLPDIFF_CPUTIME to run")
	}
	const rounds = 7
	cases := rlpBenchCases(t)
	results := make(map[string][]float64)
	for range rounds {
		for _, c := range cases {
			if !strings.Contains(c.name, filter) {
				continue
			}
			var start time.Duration
			res := testing.Benchmark(func(b *testing.B) {
				start = cpuTime()
				c.run(b)
			})
			perOp := float64((cpuTime() - start).Nanoseconds()) / float64(res.N)
			results[c.name] = append(results[c.name], perOp)
		}
	}
	for _, c := range cases {
		r := results[c.name]
		if len(r) == 0 {
			continue
		}
		slices.Sort(r)
		fmt.Printf("%-34s CPU ns/op: min %9.0f  median %9.0f\n", c.name, r[0], r[len(r)/2])
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
