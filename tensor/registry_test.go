package tensor_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vkgrad/vkgrad/tensor"
)

func init() {
	// A backend that is registered with a high priority but cannot open, as
	// the Vulkan backend on a machine without a device.
	tensor.Register("zz-unavailable", 100, func(string) (tensor.Backend, error) {
		return nil, fmt.Errorf("%w: no device in this test", tensor.ErrUnavailable)
	})
	// A backend whose device is emulated on the host CPU (as Vulkan on
	// lavapipe): Best must prefer the native CPU backend over it.
	tensor.Register("zz-emulated", 50, func(string) (tensor.Backend, error) {
		cpu, err := tensor.Open("cpu")
		if err != nil {
			return nil, err
		}
		return hostEmulated{cpu}, nil
	})
}

type hostEmulated struct{ tensor.Backend }

func (h hostEmulated) Name() string { return "zz-emulated" }

func (h hostEmulated) Caps() tensor.Caps {
	c := h.Backend.Caps()
	c.HostEmulated = true
	c.Device = "software device"
	return c
}

func TestRegistry(t *testing.T) {
	names := tensor.Backends()
	if !slices.Contains(names, "cpu") || names[0] != "zz-unavailable" {
		t.Fatalf("Backends() = %v, want zz-unavailable (priority 100) first and cpu", names)
	}
	a, err := tensor.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := tensor.Open("cpu"); a != b {
		t.Error("Open twice returned different instances")
	}
	if a.Name() != "cpu" {
		t.Errorf("Name() = %q", a.Name())
	}
	if _, err := tensor.Open("nope"); err == nil || !strings.Contains(err.Error(), `unknown backend "nope"`) || !strings.Contains(err.Error(), "cpu") {
		t.Errorf("Open(nope) = %v", err)
	}
	if _, err := tensor.Open("cpu:3"); err == nil || !strings.Contains(err.Error(), `"cpu:3"`) {
		t.Errorf("Open(cpu:3) = %v", err)
	}
	_, err = tensor.Open("zz-unavailable")
	if !errors.Is(err, tensor.ErrUnavailable) {
		t.Errorf("Open(zz-unavailable) = %v, want ErrUnavailable", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("registering a name twice did not panic")
		}
	}()
	tensor.Register("cpu", 0, nil)
}

func TestBest(t *testing.T) {
	t.Setenv(tensor.EnvBackend, "")
	b, notices, err := tensor.Best()
	if err != nil || b.Name() != "cpu" {
		t.Fatalf("Best() = %v, %v", b, err)
	}
	if len(notices) != 2 || !strings.Contains(notices[0], "zz-unavailable") || !strings.Contains(notices[0], "no device") ||
		!strings.Contains(notices[1], "zz-emulated") || !strings.Contains(notices[1], "host CPU") {
		t.Errorf("notices %q", notices)
	}
	t.Setenv(tensor.EnvBackend, "cpu")
	if b, notices, err := tensor.Best(); err != nil || b.Name() != "cpu" || len(notices) != 0 {
		t.Errorf("Best() with %s=cpu: %v %q %v", tensor.EnvBackend, b, notices, err)
	}
	t.Setenv(tensor.EnvBackend, "bogus")
	if _, _, err := tensor.Best(); err == nil || !strings.Contains(err.Error(), tensor.EnvBackend+"=bogus") {
		t.Errorf("Best() with a bogus backend: %v", err)
	}
}

func TestStrings(t *testing.T) {
	b := backend(t)
	if s := tensor.FromSlice(b, []float32{1, 2}, 2, 1).String(); s != "Tensor[2 1] float32 [1 2]" {
		t.Errorf("String() = %q", s)
	}
	if s := tensor.OpExp.String() + tensor.OpGe.String() + tensor.ReduceArgmax.String() + tensor.Int32.String(); s != "expgeargmaxint32" {
		t.Errorf("op names %q", s)
	}
	if s := tensor.UnaryOp(200).String(); s != "UnaryOp(200)" {
		t.Errorf("unknown op name %q", s)
	}
}
