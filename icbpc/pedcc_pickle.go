package icbpc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
)

// LoadPEDCCPickle reads the authors' centroid file ({C}_{d}.pkl, e.g. the
// shipped 10_60.pkl) without Python or torch. See ReadPEDCCPickle.
func LoadPEDCCPickle(path string) (*Centroids, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pedcc: %w", err)
	}
	defer f.Close()
	c, err := ReadPEDCCPickle(f)
	if err != nil {
		return nil, fmt.Errorf("pedcc: %s: %w", path, err)
	}
	return c, nil
}

// ReadPEDCCPickle decodes the authors' PEDCC pickle: a dict mapping the
// class index 0..C-1 to a torch tensor of shape (1, d), pickled (protocol 2
// to 4) with each tensor's storage as a legacy torch.save blob
// (torch.storage._load_from_bytes). It runs a small pickle machine over the
// opcodes that such a file uses, and takes each tensor's values from the
// end of its blob: an int64 element count followed by the little-endian
// float64 (DoubleStorage) or float32 (FloatStorage) values
// (icbpc-reference.md §2.3). Rows are returned in key order and are not
// renormalised.
func ReadPEDCCPickle(r io.Reader) (*Centroids, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	root, err := unpickle(data)
	if err != nil {
		return nil, err
	}
	if root.kind != pyDict {
		return nil, fmt.Errorf("pickle holds a %s, want a dict of tensors", root.kind)
	}
	type entry struct {
		key  int64
		vals []float64
	}
	var rows []entry
	for i, k := range root.keys {
		if k.kind != pyInt {
			return nil, fmt.Errorf("dict key %d is a %s, want an int", i, k.kind)
		}
		vals, err := tensorValues(root.items[i])
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", k.i, err)
		}
		rows = append(rows, entry{k.i, vals})
	}
	if len(rows) == 0 {
		return nil, errors.New("pickle holds an empty dict")
	}
	sort.Slice(rows, func(a, b int) bool { return rows[a].key < rows[b].key })
	d := len(rows[0].vals)
	out := &Centroids{Classes: len(rows), Dim: d}
	for i, e := range rows {
		if e.key != int64(i) {
			return nil, fmt.Errorf("dict keys are not 0..%d (found %d at position %d)", len(rows)-1, e.key, i)
		}
		if len(e.vals) != d {
			return nil, fmt.Errorf("entry %d has %d values, entry 0 has %d", i, len(e.vals), d)
		}
		out.Data = append(out.Data, e.vals...)
	}
	if err := out.Validate(); err != nil {
		return nil, err
	}
	return out, nil
}

// tensorValues extracts the values of a pickled tensor: a REDUCE of
// _rebuild_tensor_v2 (or any callable) whose first argument is a REDUCE of
// _load_from_bytes over the legacy storage blob.
func tensorValues(v *pyValue) ([]float64, error) {
	blob := findBlob(v, 0)
	if blob == nil {
		return nil, errors.New("no tensor storage blob found")
	}
	elem := 8
	if bytes.Contains(blob, []byte("FloatStorage")) {
		elem = 4
	}
	// Find n with blob[len-8-elem*n : len-elem*n] == int64(n).
	for n := 1; 8+elem*n <= len(blob); n++ {
		off := len(blob) - 8 - elem*n
		if binary.LittleEndian.Uint64(blob[off:]) != uint64(n) {
			continue
		}
		vals := make([]float64, n)
		for i := range vals {
			p := blob[off+8+elem*i:]
			if elem == 8 {
				vals[i] = math.Float64frombits(binary.LittleEndian.Uint64(p))
			} else {
				vals[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(p)))
			}
		}
		return vals, nil
	}
	return nil, fmt.Errorf("storage blob of %d bytes does not end in an element count and values", len(blob))
}

func findBlob(v *pyValue, depth int) []byte {
	if v == nil || depth > 8 {
		return nil
	}
	switch v.kind {
	case pyBytes:
		return v.b
	case pyCall, pyTuple, pyList:
		for _, it := range v.items {
			if b := findBlob(it, depth+1); b != nil {
				return b
			}
		}
	}
	return nil
}

type pyKind int

const (
	pyNone pyKind = iota
	pyBool
	pyInt
	pyFloat
	pyStr
	pyBytes
	pyTuple
	pyList
	pyDict
	pyGlobal
	pyCall
	pyMark
)

// String names the Python type, for error messages.
func (k pyKind) String() string {
	return [...]string{"None", "bool", "int", "float", "str", "bytes", "tuple", "list", "dict", "global", "object", "mark"}[k]
}

// pyValue is a decoded pickle value. A pyCall holds the callable's name in
// s and its arguments in items (the REDUCE/NEWOBJ result is kept symbolic).
type pyValue struct {
	kind  pyKind
	i     int64
	f     float64
	s     string
	b     []byte
	items []*pyValue
	keys  []*pyValue // pyDict keys, parallel to items
}

// unpickle runs the subset of the pickle machine (protocols 2 to 4) that
// torch tensor dicts use.
func unpickle(data []byte) (*pyValue, error) {
	var stack []*pyValue
	memo := map[int64]*pyValue{}
	pos := 0
	need := func(n int) ([]byte, error) {
		if n < 0 || pos+n > len(data) {
			return nil, fmt.Errorf("pickle truncated at byte %d", pos)
		}
		b := data[pos : pos+n]
		pos += n
		return b, nil
	}
	pop := func() (*pyValue, error) {
		if len(stack) == 0 {
			return nil, fmt.Errorf("pickle stack underflow at byte %d", pos)
		}
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		return v, nil
	}
	popMark := func() ([]*pyValue, error) {
		for i := len(stack) - 1; i >= 0; i-- {
			if stack[i].kind == pyMark {
				items := append([]*pyValue(nil), stack[i+1:]...)
				stack = stack[:i]
				return items, nil
			}
		}
		return nil, fmt.Errorf("pickle: no MARK before byte %d", pos)
	}
	top := func() (*pyValue, error) {
		if len(stack) == 0 {
			return nil, fmt.Errorf("pickle stack empty at byte %d", pos)
		}
		return stack[len(stack)-1], nil
	}
	readLine := func() (string, error) {
		i := bytes.IndexByte(data[pos:], '\n')
		if i < 0 {
			return "", fmt.Errorf("pickle truncated at byte %d", pos)
		}
		s := string(data[pos : pos+i])
		pos += i + 1
		return s, nil
	}
	lenPrefixed := func(size int) ([]byte, error) {
		b, err := need(size)
		if err != nil {
			return nil, err
		}
		var n uint64
		switch size {
		case 1:
			n = uint64(b[0])
		case 4:
			n = uint64(binary.LittleEndian.Uint32(b))
		case 8:
			n = binary.LittleEndian.Uint64(b)
		}
		if n > uint64(len(data)) {
			return nil, fmt.Errorf("pickle truncated at byte %d", pos)
		}
		return need(int(n))
	}
	for {
		if pos >= len(data) {
			return nil, errors.New("pickle ends without STOP")
		}
		op := data[pos]
		pos++
		switch op {
		case 0x80: // PROTO
			if _, err := need(1); err != nil {
				return nil, err
			}
		case 0x95: // FRAME
			if _, err := need(8); err != nil {
				return nil, err
			}
		case '.': // STOP
			return pop()
		case '(': // MARK
			stack = append(stack, &pyValue{kind: pyMark})
		case '}':
			stack = append(stack, &pyValue{kind: pyDict})
		case ']':
			stack = append(stack, &pyValue{kind: pyList})
		case ')':
			stack = append(stack, &pyValue{kind: pyTuple})
		case 'N':
			stack = append(stack, &pyValue{kind: pyNone})
		case 0x88, 0x89: // NEWTRUE, NEWFALSE
			v := int64(0)
			if op == 0x88 {
				v = 1
			}
			stack = append(stack, &pyValue{kind: pyBool, i: v})
		case 'K', 'M', 'J': // BININT1, BININT2, BININT
			size := map[byte]int{'K': 1, 'M': 2, 'J': 4}[op]
			b, err := need(size)
			if err != nil {
				return nil, err
			}
			var v int64
			switch size {
			case 1:
				v = int64(b[0])
			case 2:
				v = int64(binary.LittleEndian.Uint16(b))
			case 4:
				v = int64(int32(binary.LittleEndian.Uint32(b)))
			}
			stack = append(stack, &pyValue{kind: pyInt, i: v})
		case 0x8a: // LONG1
			b, err := lenPrefixed(1)
			if err != nil {
				return nil, err
			}
			if len(b) > 8 {
				return nil, fmt.Errorf("pickle: integer of %d bytes too large", len(b))
			}
			var v int64
			for i := len(b) - 1; i >= 0; i-- {
				v = v<<8 | int64(b[i])
			}
			if len(b) > 0 && len(b) < 8 && b[len(b)-1]&0x80 != 0 {
				v -= 1 << (8 * uint(len(b)))
			}
			stack = append(stack, &pyValue{kind: pyInt, i: v})
		case 'G': // BINFLOAT
			b, err := need(8)
			if err != nil {
				return nil, err
			}
			stack = append(stack, &pyValue{kind: pyFloat, f: math.Float64frombits(binary.BigEndian.Uint64(b))})
		case 'X', 0x8c, 0x8d: // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
			size := map[byte]int{'X': 4, 0x8c: 1, 0x8d: 8}[op]
			b, err := lenPrefixed(size)
			if err != nil {
				return nil, err
			}
			stack = append(stack, &pyValue{kind: pyStr, s: string(b)})
		case 'B', 'C', 0x8e: // BINBYTES, SHORT_BINBYTES, BINBYTES8
			size := map[byte]int{'B': 4, 'C': 1, 0x8e: 8}[op]
			b, err := lenPrefixed(size)
			if err != nil {
				return nil, err
			}
			stack = append(stack, &pyValue{kind: pyBytes, b: b})
		case 'c': // GLOBAL
			mod, err := readLine()
			if err != nil {
				return nil, err
			}
			name, err := readLine()
			if err != nil {
				return nil, err
			}
			stack = append(stack, &pyValue{kind: pyGlobal, s: mod + "." + name})
		case 0x93: // STACK_GLOBAL
			name, err := pop()
			if err != nil {
				return nil, err
			}
			mod, err := pop()
			if err != nil {
				return nil, err
			}
			stack = append(stack, &pyValue{kind: pyGlobal, s: mod.s + "." + name.s})
		case 'q', 'r': // BINPUT, LONG_BINPUT
			size := 1
			if op == 'r' {
				size = 4
			}
			b, err := need(size)
			if err != nil {
				return nil, err
			}
			t, err := top()
			if err != nil {
				return nil, err
			}
			memo[memoIndex(b)] = t
		case 0x94: // MEMOIZE
			t, err := top()
			if err != nil {
				return nil, err
			}
			memo[int64(len(memo))] = t
		case 'h', 'j': // BINGET, LONG_BINGET
			size := 1
			if op == 'j' {
				size = 4
			}
			b, err := need(size)
			if err != nil {
				return nil, err
			}
			v, ok := memo[memoIndex(b)]
			if !ok {
				return nil, fmt.Errorf("pickle: memo %d not set (byte %d)", memoIndex(b), pos)
			}
			stack = append(stack, v)
		case 't': // TUPLE
			items, err := popMark()
			if err != nil {
				return nil, err
			}
			stack = append(stack, &pyValue{kind: pyTuple, items: items})
		case 0x85, 0x86, 0x87: // TUPLE1..3
			n := int(op - 0x84)
			if len(stack) < n {
				return nil, fmt.Errorf("pickle stack underflow at byte %d", pos)
			}
			items := append([]*pyValue(nil), stack[len(stack)-n:]...)
			stack = stack[:len(stack)-n]
			stack = append(stack, &pyValue{kind: pyTuple, items: items})
		case 'R', 0x81: // REDUCE, NEWOBJ
			args, err := pop()
			if err != nil {
				return nil, err
			}
			fn, err := pop()
			if err != nil {
				return nil, err
			}
			stack = append(stack, &pyValue{kind: pyCall, s: fn.s, items: args.items})
		case 'b': // BUILD: keep the object, drop its state
			if _, err := pop(); err != nil {
				return nil, err
			}
		case 'a', 'e': // APPEND, APPENDS
			var items []*pyValue
			if op == 'a' {
				v, err := pop()
				if err != nil {
					return nil, err
				}
				items = []*pyValue{v}
			} else {
				var err error
				if items, err = popMark(); err != nil {
					return nil, err
				}
			}
			l, err := top()
			if err != nil {
				return nil, err
			}
			l.items = append(l.items, items...)
		case 's', 'u': // SETITEM, SETITEMS
			var kv []*pyValue
			if op == 's' {
				v, err := pop()
				if err != nil {
					return nil, err
				}
				k, err := pop()
				if err != nil {
					return nil, err
				}
				kv = []*pyValue{k, v}
			} else {
				var err error
				if kv, err = popMark(); err != nil {
					return nil, err
				}
				if len(kv)%2 != 0 {
					return nil, fmt.Errorf("pickle: odd SETITEMS at byte %d", pos)
				}
			}
			d, err := top()
			if err != nil {
				return nil, err
			}
			if d.kind != pyDict {
				return nil, fmt.Errorf("pickle: SETITEM on a %s at byte %d", d.kind, pos)
			}
			for i := 0; i < len(kv); i += 2 {
				d.keys = append(d.keys, kv[i])
				d.items = append(d.items, kv[i+1])
			}
		default:
			return nil, fmt.Errorf("pickle: unsupported opcode 0x%02x at byte %d", op, pos-1)
		}
	}
}

func memoIndex(b []byte) int64 {
	if len(b) == 1 {
		return int64(b[0])
	}
	return int64(binary.LittleEndian.Uint32(b))
}
