#!/usr/bin/python3
"""Generate the PyTorch golden data for vkgrad's nn tests.

Run from anywhere with Debian's python3-torch (1.13):  /usr/bin/python3 nn/testdata/gen_golden.py
It rewrites nn/testdata/golden_<case>_weights.safetensors (a state dict
under PyTorch names, float32, num_batches_tracked as int64 like PyTorch) and
golden_<case>_io.safetensors (input, upstream weights R, output, gradients of
loss = sum(out * R) w.r.t. the input and every parameter, and the batch-norm
buffers after the forward pass), all float32.

The models are built in float32 (so the stored weights are exactly what Go
loads), then converted to float64 for the reference computation, in training
mode (batch statistics). The encoders are the vkgrad layouts at width 1/8 so
the data stays small; the structure is the same at any width.
"""
import json
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


def conv_bias_shortcut(cin, cout, stride):
    return nn.Conv2d(cin, cout, 1, stride=stride, padding=0, bias=True)


class BasicBlock(nn.Module):
    """relu(bn2(conv2(relu(bn1(conv1 x)))) + shortcut(x)); the authors' blocks
    use a 1x1 conv with bias ("shortcut"), torchvision's conv+BN ("downsample")."""

    def __init__(self, cin, cout, stride, kind):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.kind = None
        if cin != cout or stride != 1:
            self.kind = kind
            if kind == "bias":
                self.shortcut = conv_bias_shortcut(cin, cout, stride)
            else:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.kind == "bias":
            x = self.shortcut(x)
        elif self.kind == "bn":
            x = self.downsample(x)
        return F.relu(out + x)


class Bottleneck(nn.Module):
    def __init__(self, cin, width, stride):
        super().__init__()
        out = width * 4
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.has_ds = cin != out or stride != 1
        if self.has_ds:
            self.downsample = nn.Sequential(nn.Conv2d(cin, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.has_ds:
            x = self.downsample(x)
        return F.relu(out + x)


def l2norm(x):
    return x / torch.sqrt(torch.sum(x * x, dim=1, keepdim=True) + 1e-10)


class Released(nn.Module):
    """The authors' encoder_plus_add layout (icbpc-reference.md 3.1) at width w."""

    def __init__(self, cin, d, w):
        super().__init__()
        ch = [max(1, round(c * w)) for c in (32, 32, 64, 128, 256, 512)]
        self.block1 = nn.Sequential(nn.Conv2d(cin, ch[0], 3, stride=1, padding=0, bias=True), nn.BatchNorm2d(ch[0]), nn.ReLU())
        for i in range(1, 6):
            setattr(self, "block%d" % (i + 1), BasicBlock(ch[i - 1], ch[i], 2, "bias"))
        self.Linear_down = nn.Linear(ch[5], d)

    def forward(self, x):
        x = self.block1(x)
        for i in range(2, 7):
            x = getattr(self, "block%d" % i)(x)
        return l2norm(self.Linear_down(torch.flatten(x, 1)))


class Table3(nn.Module):
    def __init__(self, cin, d, w):
        super().__init__()
        ch = [max(1, round(c * w)) for c in (32, 64, 128, 256, 512)]
        self.conv1 = nn.Conv2d(cin, ch[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(ch[0])
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        for i in range(4):
            setattr(self, "layer%d" % (i + 1), nn.Sequential(BasicBlock(ch[i], ch[i + 1], 1 if i == 0 else 2, "bn")))
        self.fc = nn.Linear(ch[4], d)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        for i in range(1, 5):
            x = getattr(self, "layer%d" % i)(x)
        return l2norm(self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)))


def randomise(model, g):
    """Non-trivial BN affine parameters and running statistics."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.uniform_(-0.5, 0.5, generator=g)
                m.running_mean.uniform_(-0.2, 0.2, generator=g)
                m.running_var.uniform_(0.5, 1.5, generator=g)
                m.num_batches_tracked.fill_(3)


DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def save_safetensors(path, tensors):
    """Minimal safetensors writer (python3-safetensors is not packaged)."""
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        data = t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    header["__metadata__"] = {"format": "pt", "generator": "nn/testdata/gen_golden.py", "torch": torch.__version__}
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * ((8 - len(hj) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)


def make_case(name, model, in_shape, seed):
    g = torch.Generator().manual_seed(seed)
    randomise(model, g)
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    x32 = torch.empty(in_shape).uniform_(-1, 1, generator=g)
    model = model.double().train()
    x = x32.double().requires_grad_(True)
    out = model(x)
    r = torch.empty(out.shape).uniform_(-1, 1, generator=g).double()
    (out * r).sum().backward()
    io = {"input": x32, "R": r.float(), "out": out.detach().float(), "grad.input": x.grad.float()}
    for pname, p in model.named_parameters():
        io["grad." + pname] = p.grad.float()
    for bname, buf in model.named_buffers():
        io["after." + bname] = buf.float() if buf.dtype.is_floating_point else buf.clone()
    save_safetensors(os.path.join(HERE, "golden_%s_weights.safetensors" % name), weights)
    save_safetensors(os.path.join(HERE, "golden_%s_io.safetensors" % name), io)
    print(name, "params", sum(p.numel() for p in model.parameters()), "out", list(out.shape))


def main():
    torch.manual_seed(20240601)
    make_case("released", Released(1, 8, 0.125), (2, 1, 32, 32), 1)
    make_case("table3", Table3(1, 8, 0.125), (2, 1, 32, 32), 2)
    torch.manual_seed(7)
    make_case("block", BasicBlock(4, 8, 2, "bias"), (2, 4, 9, 9), 3)
    make_case("block_identity", BasicBlock(6, 6, 1, "bn"), (2, 6, 5, 5), 4)
    make_case("bottleneck", Bottleneck(8, 4, 2), (2, 8, 7, 7), 5)


if __name__ == "__main__":
    main()
