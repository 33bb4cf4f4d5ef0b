//go:build cgo && linux && !android

package vulkan

import (
	"fmt"

	"github.com/vkgrad/vkgrad/tensor"
)

// maxUpdateBytes is the largest vkCmdUpdateBuffer.
const maxUpdateBytes = 65536

// Write copies src into buf starting at element off.
func (b *Backend) Write(buf tensor.Buffer, off int, src []float32) error {
	return b.write("Write", buf, off, len(src), f32Bytes(src), tensor.Float32)
}

// WriteInt32 copies src into an int32 buffer starting at element off.
func (b *Backend) WriteInt32(buf tensor.Buffer, off int, src []int32) error {
	return b.write("WriteInt32", buf, off, len(src), i32Bytes(src), tensor.Int32)
}

// Read waits for recorded work (it implies Sync) and copies elements
// starting at off into dst.
func (b *Backend) Read(buf tensor.Buffer, off int, dst []float32) error {
	return b.read("Read", buf, off, len(dst), f32Bytes(dst), tensor.Float32)
}

// ReadInt32 is Read for an int32 buffer.
func (b *Backend) ReadInt32(buf tensor.Buffer, off int, dst []int32) error {
	return b.read("ReadInt32", buf, off, len(dst), i32Bytes(dst), tensor.Int32)
}

func (b *Backend) hostBuffer(op string, buf tensor.Buffer, off, n int, dt tensor.DType) (*vkBuffer, error) {
	v, _, _, err := b.view(op, "buffer", tensor.View{Buf: buf, Offset: off, Shape: []int{max(n, 1)}, Strides: []int{1}}, dt)
	if err != nil {
		return nil, err
	}
	return v, nil
}

func (b *Backend) write(op string, buf tensor.Buffer, off, n int, data []byte, dt tensor.DType) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.usable(); err != nil {
		return err
	}
	v, err := b.hostBuffer(op, buf, off, n, dt)
	if err != nil || n == 0 {
		return err
	}
	byteOff := uint64(off) * 4
	if b.mem.direct && !b.inUse(v) {
		copy(v.hostBytes()[byteOff:], data)
		return nil
	}
	// Recorded work still uses the buffer (or it is not host-visible):
	// record the write into the stream so it lands in order.
	if len(data) <= maxUpdateBytes {
		return b.update(v, byteOff, data)
	}
	st, err := b.allocInternal(uint64(len(data)), kindHost)
	if err != nil {
		return fmt.Errorf("vulkan: %s: staging: %w", op, err)
	}
	copy(st.hostBytes(), data)
	err = b.copyBuf(v, byteOff, st, 0, uint64(len(data)))
	st.Release()
	return err
}

func (b *Backend) read(op string, buf tensor.Buffer, off, n int, data []byte, dt tensor.DType) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.usable(); err != nil {
		return err
	}
	v, err := b.hostBuffer(op, buf, off, n, dt)
	if err != nil {
		return err
	}
	if n == 0 {
		return b.syncLocked()
	}
	byteOff := uint64(off) * 4
	if b.mem.direct {
		if err := b.syncLocked(); err != nil {
			return err
		}
		copy(data, v.hostBytes()[byteOff:])
		return nil
	}
	st, err := b.allocInternal(uint64(len(data)), kindHost)
	if err != nil {
		return fmt.Errorf("vulkan: %s: readback: %w", op, err)
	}
	defer st.Release()
	if err := b.copyBuf(st, 0, v, byteOff, uint64(len(data))); err != nil {
		return err
	}
	if err := b.syncLocked(); err != nil {
		return err
	}
	copy(data, st.hostBytes())
	return nil
}
