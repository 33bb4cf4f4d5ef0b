package nn

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/vkgrad/vkgrad/tensor"
)

// CheckpointFormat is the value of the "format" metadata key of checkpoints
// written by SaveCheckpoint.
const CheckpointFormat = "vkgrad-checkpoint/1"

// OptimizerPrefix prefixes optimizer state in checkpoints:
// "optimizer.state.<param>.exp_avg".
const OptimizerPrefix = "optimizer.state."

// Meta is the training position stored with a checkpoint.
type Meta struct {
	// Step is the number of optimizer steps taken.
	Step int64
	// Epoch is the number of completed epochs.
	Epoch int
	// RNG is the serialised random-number generator state, e.g. from
	// (*rand.PCG).MarshalBinary; restore it with UnmarshalBinary.
	RNG []byte
	// Extra holds free-form string metadata (stored as "extra.<key>").
	Extra map[string]string
	// Optimizer holds the optimizer's hyper-parameters as saved (read only;
	// filled by LoadCheckpoint).
	Optimizer map[string]string
}

// StateDictError lists what did not fit when loading a state dict. The
// lists are complete and sorted.
type StateDictError struct {
	// Path is the file.
	Path string
	// Missing names the model (or optimizer) entries absent from the file.
	Missing []string
	// Unexpected names the file's entries the model does not have.
	Unexpected []string
	// Mismatched describes entries present on both sides whose shape or
	// dtype differ ("name: file has F32 [64 3 7 7], model expects float32 [64 1 7 7]").
	Mismatched []string
}

func (e *StateDictError) any() bool {
	return len(e.Missing)+len(e.Unexpected)+len(e.Mismatched) > 0
}

// Error summarises the problems, listing at most 10 names per kind.
func (e *StateDictError) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "nn: state dict %s does not fit the model:", e.Path)
	list := func(kind string, xs []string) {
		if len(xs) == 0 {
			return
		}
		fmt.Fprintf(&sb, " %d %s (", len(xs), kind)
		for i, x := range xs {
			if i == 10 {
				fmt.Fprintf(&sb, ", ... %d more", len(xs)-10)
				break
			}
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(x)
		}
		sb.WriteString(")")
	}
	list("missing", e.Missing)
	list("unexpected", e.Unexpected)
	list("mismatched", e.Mismatched)
	return sb.String()
}

// StateDictReport says what a non-strict LoadStateDict skipped.
type StateDictReport struct {
	// Loaded is the number of entries copied into the model.
	Loaded int
	// Missing names model entries the file lacks (left unchanged).
	Missing []string
	// Unexpected names file entries the model lacks (ignored).
	Unexpected []string
}

// modelSlots lists a model's parameters and buffers as named state.
func modelSlots(m Module) []NamedBuffer {
	var out []NamedBuffer
	for _, p := range m.Params() {
		out = append(out, NamedBuffer{Name: p.Name, Tensor: p.Var.Value})
	}
	return append(out, m.Buffers()...)
}

// mismatch compares a file tensor with a slot, returning "" when it fits.
func mismatch(want NamedBuffer, h HostTensor) string {
	if want.Counter != nil {
		if len(h.Shape) != 0 {
			return fmt.Sprintf("file has %s %v, model expects an integer scalar []", h.DType, h.Shape)
		}
		if h.IsFloat() {
			v := h.Floats[0]
			if v != float32(int64(v)) {
				return fmt.Sprintf("file has %s %v, model expects an integer count", h.DType, v)
			}
		}
		return ""
	}
	if !h.IsFloat() {
		return fmt.Sprintf("file has %s %v, model expects float32 %v", h.DType, h.Shape, want.Tensor.Shape())
	}
	if !slices.Equal(h.Shape, want.Tensor.Shape()) {
		return fmt.Sprintf("file has %s %v, model expects float32 %v", h.DType, h.Shape, want.Tensor.Shape())
	}
	return ""
}

// toWanted converts a fitting file tensor to the slot's representation
// (counters as Ints).
func toWanted(want NamedBuffer, h HostTensor) HostTensor {
	if want.Counter != nil && h.IsFloat() {
		return HostTensor{DType: "I64", Shape: []int{}, Ints: []int64{int64(h.Floats[0])}}
	}
	return h
}

// assignSlot copies a validated file tensor into a slot.
func assignSlot(s NamedBuffer, h HostTensor) {
	if s.Counter != nil {
		*s.Counter = h.Ints[0]
		return
	}
	tensor.Write(s.Tensor, h.Floats)
}

// slotEntry reads a slot to the host as a safetensors entry.
func slotEntry(name string, s NamedBuffer) stEntry {
	if s.Counter != nil {
		return i64Entry(name, *s.Counter)
	}
	return f32Entry(name, s.Tensor.Shape(), s.Tensor.Float32s())
}

// matchModel validates the file against the model's slots, skipping file
// entries under the skip prefixes. It returns the pairs to assign.
func matchModel(f *stFile, slots []NamedBuffer, skip []string) (pairs map[string]HostTensor, e *StateDictError) {
	e = &StateDictError{Path: f.path}
	pairs = map[string]HostTensor{}
	have := map[string]bool{}
	for _, s := range slots {
		have[s.Name] = true
		if anyRawPrefix(s.Name, skip) {
			continue
		}
		if _, ok := f.headers[s.Name]; !ok {
			e.Missing = append(e.Missing, s.Name)
			continue
		}
		h := f.tensor(s.Name)
		if msg := mismatch(s, h); msg != "" {
			e.Mismatched = append(e.Mismatched, s.Name+": "+msg)
			continue
		}
		pairs[s.Name] = toWanted(s, h)
	}
	for _, n := range f.names {
		if !have[n] && !strings.HasPrefix(n, OptimizerPrefix) && !anyRawPrefix(n, skip) {
			e.Unexpected = append(e.Unexpected, n)
		}
	}
	sort.Strings(e.Missing)
	sort.Strings(e.Mismatched)
	return pairs, e
}

func anyRawPrefix(name string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// SaveStateDict writes m's parameters and buffers to a safetensors file
// under their PyTorch names (atomically, as SaveCheckpoint).
func SaveStateDict(path string, m Module) error {
	return SaveCheckpoint(path, m, nil, Meta{})
}

// LoadStateDict copies parameters and buffers from a safetensors state dict
// into m by name. Names starting with one of the skip prefixes (raw string
// prefixes, e.g. "fc.") are ignored on both sides: such model entries keep
// their values and such file entries are not loaded. Optimizer state in the
// file is ignored. With strict, any missing or unexpected name is an error; shape and
// dtype mismatches are always errors (*StateDictError). Nothing is changed
// unless the whole load validates.
func LoadStateDict(path string, m Module, strict bool, skip ...string) (StateDictReport, error) {
	f, err := readSafetensors(path)
	if err != nil {
		return StateDictReport{}, err
	}
	slots := modelSlots(m)
	pairs, e := matchModel(f, slots, skip)
	if len(e.Mismatched) > 0 || (strict && e.any()) {
		return StateDictReport{}, e
	}
	err = tensor.Try(func() {
		for _, s := range slots {
			if h, ok := pairs[s.Name]; ok {
				assignSlot(s, h)
			}
		}
	})
	if err != nil {
		return StateDictReport{}, fmt.Errorf("nn: load %s: %w", path, err)
	}
	return StateDictReport{Loaded: len(pairs), Missing: e.Missing, Unexpected: e.Unexpected}, nil
}

// SaveCheckpoint writes a safetensors checkpoint: m's parameters and
// buffers under their PyTorch state-dict names, the optimizer's state under
// OptimizerPrefix (opt may be nil), and meta in the header's __metadata__
// ("format", "step", "epoch", "rng" in base64, "optimizer.<hyper>",
// "extra.<key>"). The file is written to a temporary file in the same
// directory, synced and renamed over path, so a crash or a failed save
// leaves any previous checkpoint intact.
func SaveCheckpoint(path string, m Module, opt Optimizer, meta Meta) error {
	var entries []stEntry
	err := tensor.Try(func() {
		for _, s := range modelSlots(m) {
			entries = append(entries, slotEntry(s.Name, s))
		}
		if opt != nil {
			for _, s := range opt.State() {
				entries = append(entries, slotEntry(OptimizerPrefix+s.Name, s))
			}
		}
	})
	if err != nil {
		return fmt.Errorf("nn: save %s: %w", path, err)
	}
	md := map[string]string{
		"format": CheckpointFormat,
		"step":   strconv.FormatInt(meta.Step, 10),
		"epoch":  strconv.Itoa(meta.Epoch),
	}
	if meta.RNG != nil {
		md["rng"] = base64.StdEncoding.EncodeToString(meta.RNG)
	}
	for k, v := range meta.Extra {
		md["extra."+k] = v
	}
	if opt != nil {
		for k, v := range opt.Hyperparams() {
			md["optimizer."+k] = v
		}
	}
	return writeFileAtomic(path, func(w io.Writer) error { return writeSafetensors(w, entries, md) })
}

// LoadCheckpoint restores a checkpoint written by SaveCheckpoint (or a
// state dict converted from PyTorch, which then has no optimizer state or
// metadata) into m and opt (opt may be nil: optimizer state is then
// ignored). Every model parameter and buffer must be present with the same
// shape; unexpected entries are errors. Everything is validated before
// anything is changed. The returned Meta carries step, epoch, RNG state,
// extras and the saved optimizer hyper-parameters.
func LoadCheckpoint(path string, m Module, opt Optimizer) (Meta, error) {
	f, err := readSafetensors(path)
	if err != nil {
		return Meta{}, err
	}
	meta, err := parseMeta(path, f.meta)
	if err != nil {
		return Meta{}, err
	}
	slots := modelSlots(m)
	pairs, e := matchModel(f, slots, nil)
	if e.any() {
		return Meta{}, e
	}
	if opt != nil {
		entries := map[string]HostTensor{}
		for _, n := range f.names {
			if rest, ok := strings.CutPrefix(n, OptimizerPrefix); ok {
				entries[rest] = f.tensor(n)
			}
		}
		if err := opt.SetState(entries); err != nil {
			var se *StateDictError
			if errors.As(err, &se) {
				se.Path = path
				for _, l := range [][]string{se.Missing, se.Unexpected, se.Mismatched} {
					for i := range l {
						l[i] = OptimizerPrefix + l[i]
					}
				}
				return Meta{}, se
			}
			return Meta{}, fmt.Errorf("nn: load %s: %w", path, err)
		}
	}
	err = tensor.Try(func() {
		for _, s := range slots {
			assignSlot(s, pairs[s.Name])
		}
	})
	if err != nil {
		return Meta{}, fmt.Errorf("nn: load %s: %w", path, err)
	}
	return meta, nil
}

func parseMeta(path string, md map[string]string) (Meta, error) {
	var meta Meta
	bad := func(key string, err error) error {
		return fmt.Errorf("nn: %s: %w: metadata %q: %v", path, ErrCorrupt, key, err)
	}
	var err error
	if v, ok := md["step"]; ok {
		if meta.Step, err = strconv.ParseInt(v, 10, 64); err != nil {
			return meta, bad("step", err)
		}
	}
	if v, ok := md["epoch"]; ok {
		if meta.Epoch, err = strconv.Atoi(v); err != nil {
			return meta, bad("epoch", err)
		}
	}
	if v, ok := md["rng"]; ok {
		if meta.RNG, err = base64.StdEncoding.DecodeString(v); err != nil {
			return meta, bad("rng", err)
		}
	}
	for k, v := range md {
		if rest, ok := strings.CutPrefix(k, "extra."); ok {
			if meta.Extra == nil {
				meta.Extra = map[string]string{}
			}
			meta.Extra[rest] = v
		}
		if rest, ok := strings.CutPrefix(k, "optimizer."); ok {
			if meta.Optimizer == nil {
				meta.Optimizer = map[string]string{}
			}
			meta.Optimizer[rest] = v
		}
	}
	return meta, nil
}
