// Package bench is vkgrad's benchmark suite: matmul, the convolutions of
// the ICBPC encoders in all three directions, reductions, elementwise ops,
// batch norm, the Adam update and the whole ICBPC training step, on every
// backend that opens (cpu, and vulkan when a device is present), each next
// to ceilings measured on the same device in the same process.
//
// Run it with
//
//	go test -run '^$' -bench . ./bench/                     # default sizes
//	go test -run '^$' -bench . -benchtime=1x ./bench/       # CI smoke mode
//	VKGRAD_BENCH_FULL=1 go test -run '^$' -bench . ./bench/ # adds the biggest shapes
//	go run ./bench/cmd/report -o report.json                # the suite as JSON
//	go run ./bench/cmd/compare                              # side by side with PyTorch
//
// Environment:
//
//	VKGRAD_BENCH_FULL=1        also run the biggest shapes: matmul 2048^3, the
//	                           encoder convolutions at batch 200 and the Table 3
//	                           training step (left out by default so that the
//	                           smoke mode stays within a few minutes on a 2-core
//	                           machine with lavapipe)
//	VKGRAD_BENCH_BACKENDS=a,b  only these backend specs (default: every
//	                           registered backend; one that fails to open is
//	                           skipped with a log line)
//
// Every figure is a b.ReportMetric: GFLOP/s, GB/s or images/s, and the
// share of the relevant ceiling of the same device: "%FMA" for
// compute-bound ops (of the FMA probe's GFLOP/s) and "%copy" for
// memory-bound ones (of the copy probe's GB/s). On devices that compute on
// this host's CPU (the cpu backend, lavapipe) the shares compare rates per
// CPU-second of the process, so that other load on the machine, which
// lowers the wall-clock rates, does not distort them. FLOPs and bytes of every op
// are declared in one table, Spec.Cost. Before timing, each op runs once
// on the backend under test and once on the CPU backend (the oracle) from
// the same inputs and the outputs must agree (normalised mean squared
// error under the op's tolerance); the CPU backend is not checked against
// itself.
//
// The ceilings (BenchmarkCeiling) are, on Vulkan, the probe kernels of
// tensor/vulkan (probe.go): an FMA-bound shader, a copy shader (scalar and
// vec4; the better one is the bandwidth ceiling), loads inside a loop
// (scalar and vec4: what bounds a GEMM's inner loop on llvmpipe), the cost
// of an empty dispatch inside a submit (independent, and chained by
// barriers), and one submit plus fence wait. On the CPU backend they are
// the host FMA loop on every core (AVX-512 or AVX2 assembly on amd64, a Go
// multiply-add tile elsewhere), a memmove-bound parallel copy, the cost of
// a one-element op call, and Sync. CPU-bound devices also report the host
// FMA peak, for reference.
//
// Vulkan ops are timed by wall clock, one op and one Sync per iteration, so
// small ops include the submit overhead that BenchmarkCeiling reports.
// "cpu-util" is the process's CPU time over that wall time: the cores the
// run actually got. On a CPU device (lavapipe) sharing a loaded machine it
// falls below the core count and every figure falls with it; read the
// figures of such runs as ranges.
package bench
