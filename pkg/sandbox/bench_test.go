package sandbox

import (
	"context"
	"testing"
	"time"
)

// BenchmarkRun measures one trivial program at a time: the fixed cost of a
// sandbox run (interpreter start-up, namespaces, mounts, clean-up).
func BenchmarkRun(b *testing.B) {
	benchmarkRun(b, benchSandbox(b, 1, false), 1)
}

// BenchmarkRunParallel measures trivial programs through two workers.
func BenchmarkRunParallel(b *testing.B) {
	benchmarkRun(b, benchSandbox(b, 2, false), 2)
}

// BenchmarkRunProcessGroupOnly is BenchmarkRunParallel without namespaces,
// to tell their cost from the interpreter's.
func BenchmarkRunProcessGroupOnly(b *testing.B) {
	benchmarkRun(b, benchSandbox(b, 2, true), 2)
}

// benchSandbox builds a sandbox for a benchmark, without namespaces when
// plain is set.
func benchSandbox(b *testing.B, workers int, plain bool) *Sandbox {
	s, err := New(b.Context(), Config{Timeout: 10 * time.Second, Workers: workers}, nil)
	if err != nil {
		b.Skip(err)
	}
	if plain {
		s.Close()
		return plainSandbox(b, 10*time.Second, DefaultMemoryMB, workers)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// benchmarkRun runs a trivial program b.N times from workers goroutines and
// reports runs per second.
func benchmarkRun(b *testing.B, s *Sandbox, workers int) {
	b.SetParallelism(workers)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := s.Run(context.Background(), Program{Solution: "assert sum(range(10)) == 45\n"})
			if err != nil || !res.Passed {
				b.Errorf("Run = %+v, %v", res, err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "runs/s")
}
