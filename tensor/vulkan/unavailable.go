//go:build !(cgo && linux && !android)

package vulkan

import (
	"fmt"

	"github.com/vkgrad/vkgrad/tensor"
)

const unavailableReason = "built without cgo (CGO_ENABLED=0 or no C compiler) or on an unsupported OS; the Vulkan backend needs cgo on Linux"

// Devices lists the Vulkan devices; in this build there are none.
func Devices() ([]DeviceInfo, error) {
	return nil, fmt.Errorf("vulkan: %s: %w", unavailableReason, tensor.ErrUnavailable)
}

func init() {
	tensor.Register("vulkan", 10, func(string) (tensor.Backend, error) {
		return nil, fmt.Errorf("vulkan: %s: %w", unavailableReason, tensor.ErrUnavailable)
	})
}

// ValidationEnabled reports whether the validation layer is active; never
// in this build.
func ValidationEnabled() bool { return false }

// ValidationMessages returns the collected validation messages; none in
// this build.
func ValidationMessages() []string { return nil }
