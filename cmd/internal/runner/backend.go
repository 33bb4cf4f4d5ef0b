package runner

import (
	"strings"

	"github.com/vkgrad/vkgrad/tensor"
)

// OpenBackend opens the backend spec ("cpu", "vulkan", "vulkan:N" or a
// device name); "" or "auto" picks the best one (tensor.Best: a Vulkan GPU,
// else lavapipe, else the CPU). notice is a one-line message when the
// automatic choice fell back to the CPU, empty otherwise.
func OpenBackend(spec string) (b tensor.Backend, notice string, err error) {
	if spec == "" || spec == "auto" {
		b, notices, err := tensor.Best()
		if err != nil {
			return nil, "", err
		}
		switch {
		case b.Name() == "cpu" && len(notices) > 0:
			emulated := ""
			for _, n := range notices {
				if strings.Contains(n, "runs on the host CPU") {
					emulated = n
				}
			}
			if emulated != "" {
				first, _, _ := strings.Cut(OneLine(errorString(emulated)), ";")
				notice = "note: " + first + "; using the CPU backend (-backend vulkan to use it)"
			} else {
				notice = "note: no Vulkan device usable (" + OneLine(errorString(notices[0])) + "); using the CPU backend"
			}
		case b.Caps().HostEmulated:
			notice = "note: the Vulkan device is " + b.Caps().Device + ", which runs on the CPU"
		}
		return b, notice, nil
	}
	b, err = tensor.Open(spec)
	if err != nil {
		return nil, "", Usagef("backend %q: %v (use -backend cpu, vulkan or vulkan:N; see go run ./cmd/vkinfo for devices)", spec, OneLine(err))
	}
	return b, "", nil
}

type errorString string

func (e errorString) Error() string { return strings.TrimPrefix(string(e), "backend ") }

// Describe names a backend and its device for the start line.
func Describe(b tensor.Backend) string {
	dev := b.Caps().Device
	if dev == "" || strings.EqualFold(dev, b.Name()) {
		return b.Name()
	}
	return b.Name() + " (" + dev + ")"
}
