//go:build cgo && linux && !android

package vulkan

import (
	"testing"

	"github.com/vkgrad/vkgrad/tensor/backendtest"
)

// TestConformance runs the shared op suite against the CPU oracle (with
// guard regions), then the golden NumPy/PyTorch cases, and checks that every
// buffer the suite allocated has been released.
func TestConformance(t *testing.T) {
	b := testBackend(t)
	base := settle(b, 0)
	backendtest.RunAll(t, b, cpuBackend(t))
	backendtest.RunGolden(t, b)
	if got := settle(b, base); got != base {
		t.Errorf("live bytes %d after the suite, %d before", got, base)
	}
	t.Logf("%s: %+v", b.Caps().Device, b.Stats())
}
