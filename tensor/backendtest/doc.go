// Package backendtest is the conformance suite every vkgrad backend runs
// unchanged, from its own test file:
//
//	func TestConformance(t *testing.T) {
//		b := openMyBackend(t)
//		ref, _ := tensor.Open("cpu")
//		backendtest.RunAll(t, b, ref) // op cases vs the CPU oracle, plus guard regions
//		backendtest.RunGolden(t, b)   // values vs independent NumPy/PyTorch results
//	}
//
// What it checks:
//
//   - Cases returns the op table: every tensor.Backend op reached through the
//     tensor-level API (tensor.Add, tensor.MatMulT, tensor.Conv2D ...), over
//     shapes including 1, primes (7, 13, 33), sizes that are multiples of no
//     block, broadcasting and non-contiguous operands (transposed, sliced,
//     expanded views), and one elementwise and one reduction case of more
//     than 65,535·256 elements (grid splitting on GPUs). RunCases runs a list
//     of cases on a backend and on a reference backend and compares every
//     output: int32 outputs exactly, float32 outputs with Compare (NMSE below
//     the case's tolerance, no NaN, infinities equal). Some cases also compare
//     two ways of computing the same value on the backend itself (a strided
//     operand against its dense copy), which catches stride bugs even when the
//     reference is the backend itself.
//   - RunGuards calls the Backend methods directly with every output (and
//     input) placed at an offset inside a larger buffer whose other elements
//     hold a sentinel, and fails if any sentinel changes or the result
//     differs from the same op run through the tensor API.
//   - RunGolden replays the cases in testdata/*.json, produced offline by
//     testdata/gen_golden.py from NumPy and PyTorch (float64 computation of
//     float32 inputs, rounded to float32), so the oracle itself is checked
//     against an independent implementation.
//
// A backend under development can run a subset: filter Cases() by Case.Op
// (the Backend method a case exercises) and call RunCases.
package backendtest
