// Command shadergen compiles shaders/glsl/*.comp into shaders/spv/*.spv with
// glslc and spirv-val and writes shaders/manifest_gen.go. It is run by
// `go generate ./shaders`.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/vkgrad/vkgrad/shaders/shadergen"
)

func main() {
	glsl := flag.String("glsl", "glsl", "directory of .comp and .glsl sources")
	out := flag.String("out", ".", "directory that receives spv/ and manifest_gen.go")
	pkg := flag.String("pkg", "shaders", "package name of manifest_gen.go")
	flag.Parse()
	mods, err := shadergen.Generate(*glsl, *out, *pkg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "shadergen:", err)
		os.Exit(1)
	}
	fmt.Printf("shadergen: %d modules written to %s\n", len(mods), *out)
}
