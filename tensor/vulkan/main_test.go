//go:build cgo && linux && !android

package vulkan

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/vkgrad/vkgrad/tensor"
	_ "github.com/vkgrad/vkgrad/tensor/cpu"
)

// EnvRequire makes a missing Vulkan device a test failure instead of a skip.
const EnvRequire = "VKGRAD_REQUIRE_VULKAN"

var shared struct {
	once sync.Once
	b    *Backend
	err  error
}

// testBackend returns the backend shared by the tests (opened through the
// registry, as users do). Without a device the test skips with one line,
// or fails when VKGRAD_REQUIRE_VULKAN=1.
func testBackend(t testing.TB) *Backend {
	t.Helper()
	shared.once.Do(func() {
		var tb tensor.Backend
		tb, shared.err = tensor.Open("vulkan")
		if shared.err == nil {
			shared.b = tb.(*Backend)
		}
	})
	if shared.err != nil {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("%s=1 but no Vulkan device: %v", EnvRequire, shared.err)
		}
		t.SkipNow() // TestMain printed the reason once
	}
	if ValidationEnabled() {
		t.Cleanup(func() {
			for _, m := range ValidationMessages() {
				t.Errorf("validation layer: %s", m)
			}
		})
	}
	return shared.b
}

// freshBackend opens a private backend (closed at the end of the test).
func freshBackend(t *testing.T) *Backend {
	t.Helper()
	testBackend(t) // skip or fail uniformly
	b, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	})
	return b
}

func cpuBackend(t testing.TB) tensor.Backend {
	t.Helper()
	b, err := tensor.Open("cpu")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// settle collects garbage until the backend's live bytes reach want (the
// cleanups that release buffers run on their own goroutine).
func settle(b *Backend, want int64) int64 {
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		_ = b.Sync() // errors of earlier ops are not this function's concern
		got := b.LiveBytes()
		if got <= want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMain(m *testing.M) {
	if _, err := tensor.Open("vulkan"); err != nil && os.Getenv(EnvRequire) != "1" {
		os.Stderr.WriteString("vulkan tests skipped: no Vulkan device: " + err.Error() + "\n")
	}
	code := m.Run()
	// Every tensor the suite made on the shared backend is dropped by now:
	// its live device bytes must come back to zero (the baseline; the
	// backend's own buffers are not counted).
	if code == 0 && shared.b != nil {
		got := settle(shared.b, 0)
		fmt.Fprintf(os.Stderr, "vulkan: live device bytes after the suite: %d (baseline 0)\n", got)
		if got != 0 {
			os.Stderr.WriteString("FAIL: device memory still live after the suite\n")
			code = 1
		}
	}
	if code == 0 && ValidationEnabled() {
		if msgs := ValidationMessages(); len(msgs) > 0 {
			for _, s := range msgs {
				os.Stderr.WriteString("validation: " + s + "\n")
			}
			os.Stderr.WriteString("FAIL: Vulkan validation layer reported messages\n")
			code = 1
		}
	}
	os.Exit(code)
}
