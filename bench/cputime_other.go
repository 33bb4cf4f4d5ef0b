//go:build !unix

package bench

import "time"

// processCPU is not measured on this OS (the cpu-util metric is omitted).
func processCPU() time.Duration { return 0 }
