//go:build !purego

package cpu

import (
	"os"
	"strings"
)

// wantArchKernels returns the assembly kernels this CPU should get, read
// independently of golang.org/x/sys/cpu from the flags Linux reports in
// /proc/cpuinfo (Linux hides the AVX flags the OS does not enable). Off
// Linux it returns nil.
func wantArchKernels() []string {
	info, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return nil
	}
	flags := map[string]bool{}
	for line := range strings.Lines(string(info)) {
		if name, list, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "flags" {
			for _, f := range strings.Fields(list) {
				flags[f] = true
			}
			break
		}
	}
	var want []string
	if flags["avx512f"] {
		want = append(want, "avx512")
	}
	if flags["avx2"] && flags["fma"] {
		want = append(want, "avx2")
	}
	return want
}
