// Command train trains ICBPC deep image clustering (Zhu, Hu and Wang,
// Entropy 2022) with vkgrad and reports ACC, NMI and ARI.
//
// With no flags it runs the "quick" preset: about 7-10 minutes on a 2-core
// CPU, on the MNIST digits embedded in the binary, on the best device
// (a Vulkan GPU, else the CPU backend; lavapipe, Mesa's CPU Vulkan driver,
// only when asked for with -backend vulkan, since the CPU backend is faster
// on the same cores). Run it with -h for
// the flags, the presets and the exit codes:
//
//	go run ./cmd/train
//	go run ./cmd/train -preset paper-mnist -out runs/mnist
//	go run ./cmd/train -resume -out runs/mnist
//	go run ./cmd/train -ablation -epochs 5
//
// Exit codes: 0 done, 1 failed while running (non-finite loss, write
// error), 2 usage or input error (nothing trained), 130 interrupted by
// SIGINT/SIGTERM after writing a checkpoint (continue with -resume).
package main

import (
	"os"

	"github.com/vkgrad/vkgrad/cmd/internal/runner"
	_ "github.com/vkgrad/vkgrad/tensor/cpu"    // register the CPU backend
	_ "github.com/vkgrad/vkgrad/tensor/vulkan" // register the Vulkan backend
)

func main() {
	ctx, stop := runner.SignalContext(os.Stderr)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
