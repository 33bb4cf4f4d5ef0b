package cpu

import (
	"strings"
	"testing"
)

// TestKernelEnv checks that VKGRAD_CPU_KERNEL picks the matmul micro-kernel
// (named in Caps().Device) and that a name the CPU has no kernel for makes
// the registry's factory fail with a message naming the variable.
func TestKernelEnv(t *testing.T) {
	for _, k := range kernels() {
		t.Setenv(kernelEnv, k.name)
		b, err := open("")
		if err != nil {
			t.Fatal(err)
		}
		if b.(*Backend).kern != k {
			t.Errorf("%s=%s: backend uses the %s kernel", kernelEnv, k.name, b.(*Backend).kern.name)
		}
		if dev := b.Caps().Device; !strings.Contains(dev, k.name+" matmul kernel") {
			t.Errorf("Caps().Device = %q, want the %s kernel named", dev, k.name)
		}
	}
	t.Setenv(kernelEnv, "sse9")
	if _, err := open(""); err == nil || !strings.Contains(err.Error(), kernelEnv) {
		t.Errorf("open with %s=sse9: err = %v, want one naming the variable", kernelEnv, err)
	}
	if b := New(); b.kern != kernels()[0] {
		t.Errorf("New with %s=sse9 uses the %s kernel, want the fastest, %s", kernelEnv, b.kern.name, kernels()[0].name)
	}
	t.Setenv(kernelEnv, "")
	if b, err := open(""); err != nil || b.(*Backend).kern != kernels()[0] {
		t.Errorf("open without %s: %v, want the fastest kernel", kernelEnv, err)
	}
}
