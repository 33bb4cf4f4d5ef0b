package icbpc

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/gif" // register the GIF decoder for image folders
	_ "image/jpeg"
	"image/png"
	"io"
	"math"
	"os"
)

// GridOptions lays out a contact sheet.
type GridOptions struct {
	Cols  int // images per row; 0 means ceil(sqrt(n))
	Pad   int // grey pixels between and around tiles
	Scale int // integer magnification of each image (nearest); 0 means 1
}

// GridImage tiles n images (float32 in [-1, 1], NCHW with shape s, n =
// len(images)/s.Len()) into one RGBA picture, row by row, with Pad grey
// pixels between tiles. Images with one channel are drawn grey, with three
// as RGB; other channel counts show channel 0. Values outside [-1, 1] are
// clamped.
func GridImage(images []float32, s Shape, opt GridOptions) (*image.RGBA, error) {
	if s.Len() <= 0 {
		return nil, fmt.Errorf("grid: bad image shape %v", s)
	}
	if len(images) == 0 || len(images)%s.Len() != 0 {
		return nil, fmt.Errorf("grid: %d values is not a whole number of %v images", len(images), s)
	}
	n := len(images) / s.Len()
	cols := opt.Cols
	if cols <= 0 {
		cols = int(math.Ceil(math.Sqrt(float64(n))))
	}
	cols = min(cols, n)
	rows := (n + cols - 1) / cols
	scale := max(opt.Scale, 1)
	pad := max(opt.Pad, 0)
	tw, th := s.W*scale, s.H*scale
	width, height := cols*tw+(cols+1)*pad, rows*th+(rows+1)*pad
	if int64(width)*int64(height) > 1<<28 {
		return nil, fmt.Errorf("grid: %dx%d pixels is too large", width, height)
	}
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	for i := range img.Pix {
		img.Pix[i] = 128
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	plane := s.H * s.W
	for k := 0; k < n; k++ {
		src := images[k*s.Len() : (k+1)*s.Len()]
		ox := pad + (k%cols)*(tw+pad)
		oy := pad + (k/cols)*(th+pad)
		for y := 0; y < th; y++ {
			for x := 0; x < tw; x++ {
				p := (y/scale)*s.W + x/scale
				r := toByte(src[p])
				g, b := r, r
				if s.C == 3 {
					g, b = toByte(src[plane+p]), toByte(src[2*plane+p])
				}
				o := img.PixOffset(ox+x, oy+y)
				img.Pix[o], img.Pix[o+1], img.Pix[o+2] = r, g, b
			}
		}
	}
	return img, nil
}

// toByte maps [-1, 1] to 0..255 with rounding and clamping.
func toByte(v float32) uint8 {
	f := (float64(v) + 1) * 127.5
	if !(f > 0) { // also NaN
		return 0
	}
	if f >= 255 {
		return 255
	}
	return uint8(f + 0.5)
}

// SaveGridPNG writes a contact sheet of images (float32 in [-1, 1], NCHW
// with shape s) to path as PNG; see GridImage for the layout.
func SaveGridPNG(path string, images []float32, s Shape, opt GridOptions) error {
	img, err := GridImage(images, s, opt)
	if err != nil {
		return err
	}
	return SavePNG(path, img)
}

// SavePNG encodes img as PNG into path atomically: it writes a temporary
// file in the same folder and renames it, so an interrupted write never
// leaves a truncated picture behind.
func SavePNG(path string, img image.Image) error {
	return WriteFileAtomic(path, func(w io.Writer) error { return png.Encode(w, img) })
}

// imageInfo is what the header pass learns about an image file.
type imageInfo struct {
	w, h int
	grey bool
}

// probeImage decodes only the header of an image file.
func probeImage(path string) (imageInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return imageInfo{}, err
	}
	defer f.Close()
	cfg, format, err := image.DecodeConfig(bufio.NewReader(f))
	if err != nil {
		return imageInfo{}, fmt.Errorf("%s: unreadable image: %w", path, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return imageInfo{}, fmt.Errorf("%s: %s image of %dx%d pixels", path, format, cfg.Width, cfg.Height)
	}
	return imageInfo{w: cfg.Width, h: cfg.Height, grey: isGreyModel(cfg.ColorModel)}, nil
}

func isGreyModel(m color.Model) bool {
	switch m {
	case color.GrayModel, color.Gray16Model:
		return true
	}
	if p, ok := m.(color.Palette); ok {
		for _, c := range p {
			r, g, b, _ := c.RGBA()
			if r != g || g != b {
				return false
			}
		}
		return true
	}
	return false
}

// decodeImage decodes an image file into uint8 planes (channels x h x w):
// 1 channel as PIL's "L" luma, 3 as RGB. Alpha is ignored.
func decodeImage(path string, channels int) (planes []uint8, w, h int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	img, _, err := image.Decode(bufio.NewReader(f))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s: unreadable image: %w", path, err)
	}
	b := img.Bounds()
	w, h = b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return nil, 0, 0, fmt.Errorf("%s: empty image", path)
	}
	planes = make([]uint8, channels*w*h)
	set := func(i int, r, g, bl uint8) {
		if channels == 1 {
			planes[i] = uint8((uint32(r)*19595 + uint32(g)*38470 + uint32(bl)*7471 + 0x8000) >> 16)
			return
		}
		planes[i], planes[w*h+i], planes[2*w*h+i] = r, g, bl
	}
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			for x, v := range row {
				set(y*w+x, v, v, v)
			}
		}
	case *image.RGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := 0; x < w; x++ {
				set(y*w+x, row[4*x], row[4*x+1], row[4*x+2])
			}
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := 0; x < w; x++ {
				set(y*w+x, row[4*x], row[4*x+1], row[4*x+2])
			}
		}
	case *image.YCbCr:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				yi := m.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := m.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bl := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				set(y*w+x, r, g, bl)
			}
		}
	default:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				set(y*w+x, c.R, c.G, c.B)
			}
		}
	}
	return planes, w, h, nil
}

// cropBox is a source rectangle in continuous pixel coordinates.
type cropBox struct{ x, y, w, h float64 }

// fitBox returns the source rectangle for resizing a sw x sh image to
// dw x dh: the whole image (stretch) or, with centerCrop, the centred
// rectangle of the target aspect ratio (resize the shorter side, crop the
// longer).
func fitBox(sw, sh, dw, dh int, centerCrop bool) cropBox {
	box := cropBox{0, 0, float64(sw), float64(sh)}
	if !centerCrop {
		return box
	}
	target := float64(dw) / float64(dh)
	if float64(sw)/float64(sh) > target {
		box.w = float64(sh) * target
		box.x = (float64(sw) - box.w) / 2
	} else {
		box.h = float64(sw) / target
		box.y = (float64(sh) - box.h) / 2
	}
	return box
}

// axisWeights computes the separable filter taps that resample the source
// interval [start, start+length) of an axis of srcLen pixels to dstLen
// pixels with a triangle (bilinear) filter widened by the scale factor when
// shrinking, so downscaling averages instead of aliasing (like PIL's
// antialiased bilinear resize).
func axisWeights(srcLen int, start, length float64, dstLen int) (taps [][]int, weights [][]float32) {
	scale := length / float64(dstLen)
	support := math.Max(scale, 1)
	taps = make([][]int, dstLen)
	weights = make([][]float32, dstLen)
	for i := 0; i < dstLen; i++ {
		centre := start + (float64(i)+0.5)*scale
		lo := int(math.Floor(centre - support))
		hi := int(math.Ceil(centre + support))
		var sum float64
		var ts []int
		var ws []float64
		for j := lo; j <= hi; j++ {
			x := math.Abs((float64(j) + 0.5 - centre) / support)
			if x >= 1 {
				continue
			}
			ts = append(ts, min(max(j, 0), srcLen-1))
			ws = append(ws, 1-x)
			sum += 1 - x
		}
		weights[i] = make([]float32, len(ws))
		for k := range ws {
			weights[i][k] = float32(ws[k] / sum)
		}
		taps[i] = ts
	}
	return taps, weights
}

// resizePlanes resamples channels planes of sw x sh pixels, from the source
// rectangle box, to dw x dh, writing into dst (channels*dw*dh).
func resizePlanes(src []uint8, channels, sw, sh int, box cropBox, dst []uint8, dw, dh int) {
	if sw == dw && sh == dh && box == (cropBox{0, 0, float64(sw), float64(sh)}) {
		copy(dst, src)
		return
	}
	xt, xw := axisWeights(sw, box.x, box.w, dw)
	yt, yw := axisWeights(sh, box.y, box.h, dh)
	tmp := make([]float32, sh*dw)
	for c := 0; c < channels; c++ {
		plane := src[c*sw*sh : (c+1)*sw*sh]
		for y := 0; y < sh; y++ {
			row := plane[y*sw : (y+1)*sw]
			for x := 0; x < dw; x++ {
				var s float32
				for k, t := range xt[x] {
					s += xw[x][k] * float32(row[t])
				}
				tmp[y*dw+x] = s
			}
		}
		out := dst[c*dw*dh : (c+1)*dw*dh]
		for y := 0; y < dh; y++ {
			for x := 0; x < dw; x++ {
				var s float32
				for k, t := range yt[y] {
					s += yw[y][k] * tmp[t*dw+x]
				}
				out[y*dw+x] = uint8(min(max(s+0.5, 0), 255))
			}
		}
	}
}

var errNoImages = errors.New("no PNG, JPEG or GIF images")
