package nn

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ErrCorrupt is wrapped by errors for files that are not valid safetensors
// (truncated, bad header, offsets outside the data).
var ErrCorrupt = errors.New("not a valid safetensors file")

// maxHeaderLen bounds the JSON header (the reference implementation uses
// 100 MB) so a corrupt length cannot trigger a huge allocation.
const maxHeaderLen = 100 << 20

// HostTensor is a tensor read from a safetensors file, converted to float32
// (floating dtypes) or int64 (integer and bool dtypes).
type HostTensor struct {
	// DType is the dtype as stored, e.g. "F32" or "I64".
	DType string
	// Shape is the stored shape ([] for a scalar).
	Shape []int
	// Floats holds the values of a floating tensor, row-major.
	Floats []float32
	// Ints holds the values of an integer or bool tensor, row-major.
	Ints []int64
}

// IsFloat reports whether the tensor was stored with a floating dtype.
func (h HostTensor) IsFloat() bool { return h.Floats != nil || isFloatDType(h.DType) }

var dtypeSize = map[string]int{
	"F64": 8, "F32": 4, "F16": 2, "BF16": 2,
	"I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
}

func isFloatDType(dt string) bool {
	return dt == "F64" || dt == "F32" || dt == "F16" || dt == "BF16"
}

// stEntry is one tensor to write.
type stEntry struct {
	name  string
	dtype string // "F32" or "I64"
	shape []int
	data  []byte
}

func f32Entry(name string, shape []int, v []float32) stEntry {
	data := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(x))
	}
	return stEntry{name: name, dtype: "F32", shape: shape, data: data}
}

func i64Entry(name string, v int64) stEntry {
	data := make([]byte, 8)
	binary.LittleEndian.PutUint64(data, uint64(v))
	return stEntry{name: name, dtype: "I64", shape: []int{}, data: data}
}

type stHeaderEntry struct {
	DType       string    `json:"dtype"`
	Shape       []int     `json:"shape"`
	DataOffsets [2]uint64 `json:"data_offsets"`
}

// writeSafetensors writes entries (in order) and metadata in the
// safetensors format: an 8-byte little-endian header length, the JSON
// header padded with spaces to a multiple of 8, then the raw data.
func writeSafetensors(w io.Writer, entries []stEntry, meta map[string]string) error {
	header := map[string]any{}
	if len(meta) > 0 {
		header["__metadata__"] = meta
	}
	var off uint64
	for _, e := range entries {
		if _, dup := header[e.name]; dup || e.name == "__metadata__" {
			return fmt.Errorf("nn: safetensors: duplicate or reserved tensor name %q", e.name)
		}
		shape := e.shape
		if shape == nil {
			shape = []int{}
		}
		n := uint64(len(e.data))
		header[e.name] = stHeaderEntry{DType: e.dtype, Shape: shape, DataOffsets: [2]uint64{off, off + n}}
		off += n
	}
	hj, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("nn: safetensors header: %w", err)
	}
	if pad := (8 - len(hj)%8) % 8; pad > 0 {
		hj = append(hj, strings.Repeat(" ", pad)...)
	}
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(hj)))
	if _, err := w.Write(lenBuf[:]); err != nil {
		return err
	}
	if _, err := w.Write(hj); err != nil {
		return err
	}
	for _, e := range entries {
		if _, err := w.Write(e.data); err != nil {
			return err
		}
	}
	return nil
}

// stFile is a parsed safetensors file.
type stFile struct {
	path    string
	meta    map[string]string
	names   []string // sorted
	headers map[string]stHeaderEntry
	data    []byte
}

// readSafetensors reads and validates a whole safetensors file.
func readSafetensors(path string) (*stFile, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("nn: read %s: %w", path, err)
	}
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("nn: %s: %w: %s", path, ErrCorrupt, fmt.Sprintf(format, args...))
	}
	if len(raw) < 8 {
		return nil, corrupt("file has %d bytes, shorter than the 8-byte header length (truncated?)", len(raw))
	}
	hlen := binary.LittleEndian.Uint64(raw[:8])
	if hlen > maxHeaderLen {
		return nil, corrupt("header length %d exceeds %d bytes", hlen, maxHeaderLen)
	}
	if hlen > uint64(len(raw)-8) {
		return nil, corrupt("header length %d but only %d bytes follow (truncated?)", hlen, len(raw)-8)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw[8:8+hlen], &fields); err != nil {
		return nil, corrupt("header is not a JSON object: %v", err)
	}
	f := &stFile{path: path, headers: map[string]stHeaderEntry{}, data: raw[8+hlen:]}
	for name, msg := range fields {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &f.meta); err != nil {
				return nil, corrupt("__metadata__ is not a string-to-string map: %v", err)
			}
			continue
		}
		var h stHeaderEntry
		dec := json.NewDecoder(strings.NewReader(string(msg)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&h); err != nil {
			return nil, corrupt("tensor %q: bad header entry: %v", name, err)
		}
		size, ok := dtypeSize[h.DType]
		if !ok {
			return nil, corrupt("tensor %q: unsupported dtype %q", name, h.DType)
		}
		n := uint64(1)
		for _, d := range h.Shape {
			if d < 0 {
				return nil, corrupt("tensor %q: negative dimension in shape %v", name, h.Shape)
			}
			n *= uint64(d)
		}
		b, e := h.DataOffsets[0], h.DataOffsets[1]
		if b > e || e > uint64(len(f.data)) {
			return nil, corrupt("tensor %q: data offsets [%d, %d) outside the %d data bytes (truncated?)", name, b, e, len(f.data))
		}
		if e-b != n*uint64(size) {
			return nil, corrupt("tensor %q: %s %v needs %d bytes, offsets give %d", name, h.DType, h.Shape, n*uint64(size), e-b)
		}
		if h.Shape == nil {
			h.Shape = []int{}
		}
		f.headers[name] = h
		f.names = append(f.names, name)
	}
	sort.Strings(f.names)
	return f, nil
}

// tensor decodes one tensor of the file.
func (f *stFile) tensor(name string) HostTensor {
	h := f.headers[name]
	d := f.data[h.DataOffsets[0]:h.DataOffsets[1]]
	out := HostTensor{DType: h.DType, Shape: append([]int{}, h.Shape...)}
	n := len(d) / dtypeSize[h.DType]
	le := binary.LittleEndian
	switch h.DType {
	case "F32":
		out.Floats = make([]float32, n)
		for i := range out.Floats {
			out.Floats[i] = math.Float32frombits(le.Uint32(d[4*i:]))
		}
	case "F64":
		out.Floats = make([]float32, n)
		for i := range out.Floats {
			out.Floats[i] = float32(math.Float64frombits(le.Uint64(d[8*i:])))
		}
	case "F16":
		out.Floats = make([]float32, n)
		for i := range out.Floats {
			out.Floats[i] = halfToFloat(le.Uint16(d[2*i:]))
		}
	case "BF16":
		out.Floats = make([]float32, n)
		for i := range out.Floats {
			out.Floats[i] = math.Float32frombits(uint32(le.Uint16(d[2*i:])) << 16)
		}
	default:
		out.Ints = make([]int64, n)
		for i := range out.Ints {
			switch h.DType {
			case "I64":
				out.Ints[i] = int64(le.Uint64(d[8*i:]))
			case "I32":
				out.Ints[i] = int64(int32(le.Uint32(d[4*i:])))
			case "I16":
				out.Ints[i] = int64(int16(le.Uint16(d[2*i:])))
			case "I8":
				out.Ints[i] = int64(int8(d[i]))
			default: // U8, BOOL
				out.Ints[i] = int64(d[i])
			}
		}
	}
	return out
}

// halfToFloat converts an IEEE-754 binary16 value to float32.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		v := float32(mant) / (1 << 24)
		if sign != 0 {
			v = -v
		}
		return v
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

// ReadSafetensors reads every tensor of a safetensors file into host memory
// together with its metadata. Floating tensors are converted to float32,
// integer ones to int64. A truncated or corrupt file gives an error
// wrapping ErrCorrupt and naming the file.
func ReadSafetensors(path string) (map[string]HostTensor, map[string]string, error) {
	f, err := readSafetensors(path)
	if err != nil {
		return nil, nil, err
	}
	out := make(map[string]HostTensor, len(f.names))
	for _, n := range f.names {
		out[n] = f.tensor(n)
	}
	return out, f.meta, nil
}

// WriteSafetensors writes float32 host tensors (with shapes) and metadata
// to path atomically (see SaveCheckpoint).
func WriteSafetensors(path string, tensors map[string]HostTensor, meta map[string]string) error {
	names := make([]string, 0, len(tensors))
	for n := range tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	entries := make([]stEntry, 0, len(names))
	for _, n := range names {
		h := tensors[n]
		numel := 1
		for _, d := range h.Shape {
			numel *= d
		}
		switch {
		case h.Floats != nil && len(h.Floats) == numel:
			entries = append(entries, f32Entry(n, h.Shape, h.Floats))
		case h.Ints != nil && len(h.Ints) == 1 && numel == 1:
			entries = append(entries, i64Entry(n, h.Ints[0]))
		default:
			return fmt.Errorf("nn: write %s: tensor %q: shape %v does not match its %d float / %d int values (ints only as scalars)", path, n, h.Shape, len(h.Floats), len(h.Ints))
		}
	}
	return writeFileAtomic(path, func(w io.Writer) error { return writeSafetensors(w, entries, meta) })
}

// testHookWriter, when set by tests, wraps the writer of writeFileAtomic
// (to make a save fail part-way).
var testHookWriter func(io.Writer) io.Writer

// writeFileAtomic writes path through a temporary file in the same
// directory that is synced and then renamed over path, so readers see the
// old file or the complete new one; on any failure the temporary file is
// removed and path is untouched.
func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("nn: save %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	var w io.Writer = bw
	if testHookWriter != nil {
		w = testHookWriter(w)
	}
	if err = write(w); err != nil {
		return fmt.Errorf("nn: save %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("nn: save %s: %w", path, err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("nn: save %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("nn: save %s: sync: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("nn: save %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("nn: save %s: %w", path, err)
	}
	// Make the rename durable; a failure here does not undo the save.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
