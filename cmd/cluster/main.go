// Command cluster sorts a folder of your own images (PNG, JPEG or GIF, any
// size) into k groups with ICBPC, either with an encoder trained by
// cmd/train (-checkpoint) or by training one from scratch on the folder.
// It writes assignments.csv (path, cluster) and one contact sheet per
// cluster (cluster-NN.png) so that you can see what each group holds:
//
//	go run ./cmd/cluster -images ~/photos -k 5
//	go run ./cmd/cluster -images ~/digits -checkpoint runs/mnist
//
// Images in class subfolders (folder/<class>/<image>) are scored against
// their folders (ACC, NMI, ARI); a flat folder, or -flat, has no labels.
// Exit codes as cmd/train: 0 done, 1 failed, 2 usage or input error, 130
// interrupted (training from scratch writes a checkpoint; -resume
// continues).
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
