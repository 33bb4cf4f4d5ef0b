#!/usr/bin/python3
"""Times vkgrad's benchmark cases in PyTorch (CPU) for bench/cmd/compare.

Reads one JSON object on stdin:
  {"threads": 2, "seconds": 1.0, "cases": [{"id": 0, "kind": "matmul", ...}, ...]}
with the fields of bench.Spec (kind, batch, m, n, k, trans_a, trans_b, conv,
op, outer, len, inner, shape, bshape, bn, elems, encoder, images), and prints one JSON object on stdout:
  {"torch": "1.13.0", "threads": 2, "results": [{"id": 0, "seconds_per_op": ..., "iters": ...}, ...]}
A case PyTorch cannot run gets "error" instead of a time. Every case runs once
to warm up, then repeatedly until "seconds" have passed (at least once).
Debian's python3-torch is at /usr/bin/python3; this needs nothing else.
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

LATENT = 60


class Block(nn.Module):
    """nn.BasicBlock: conv3x3-bn-relu-conv3x3-bn, plus the shortcut, relu."""

    def __init__(self, cin, cout, stride, shortcut):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        if shortcut == "conv-bias":  # the released code: 1x1 conv with bias, no BN
            self.shortcut = nn.Conv2d(cin, cout, 1, stride, 0, bias=True)
        else:  # torchvision's downsample: 1x1 conv without bias, then BN
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class Encoder(nn.Module):
    """nn.NewReleasedEncoder / nn.NewTable3Encoder for 1x32x32 input."""

    def __init__(self, kind, d=LATENT):
        super().__init__()
        if kind == "released":
            layers = [nn.Conv2d(1, 32, 3, 1, 0, bias=True), nn.BatchNorm2d(32), nn.ReLU()]
            cin = 32
            for w in (32, 64, 128, 256, 512):
                layers.append(Block(cin, w, 2, "conv-bias"))
                cin = w
            layers.append(nn.Flatten())
            self.trunk = nn.Sequential(*layers)
            self.head = nn.Linear(512, d)
        elif kind == "table3":
            layers = [nn.Conv2d(1, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
            cin = 32
            for i, w in enumerate((64, 128, 256, 512)):
                layers.append(Block(cin, w, 1 if i == 0 else 2, "conv-bn"))
                cin = w
            layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
            self.trunk = nn.Sequential(*layers)
            self.head = nn.Linear(512, d)
        else:
            raise ValueError("unknown encoder %r" % kind)

    def forward(self, x):
        x = self.head(self.trunk(x))
        return x / torch.sqrt((x * x).sum(1, keepdim=True) + 1e-10)


def setup(c):
    """Returns a function that runs the case once."""
    k = c["kind"]
    if k == "matmul":
        b, m, n, kk = c["batch"], c["m"], c["n"], c["k"]
        a = torch.randn(b, kk, m).transpose(1, 2) if c.get("trans_a") else torch.randn(b, m, kk)
        bm = torch.randn(b, n, kk).transpose(1, 2) if c.get("trans_b") else torch.randn(b, kk, n)
        out = torch.empty(b, m, n)
        return lambda: torch.matmul(a, bm, out=out)
    if k.startswith("conv-"):
        p = c["conv"]
        x = torch.randn(p["N"], p["Cin"], p["H"], p["W"])
        w = torch.randn(p["Cout"], p["Cin"], p["KH"], p["KW"])
        dy = torch.randn(p["N"], p["Cout"], p["OH"], p["OW"])
        stride, pad = [p["StrideH"], p["StrideW"]], [p["PadH"], p["PadW"]]
        if k == "conv-fwd":
            return lambda: F.conv2d(x, w, None, stride, pad)
        mask = [True, False, False] if k == "conv-bwd-data" else [False, True, False]
        return lambda: torch.ops.aten.convolution_backward(dy, x, w, None, stride, pad, [1, 1], False, [0, 0], 1, mask)
    if k == "reduce":
        op = c["op"]
        x = torch.randn(c["outer"], c["len"], c["inner"])
        out = torch.empty(c["outer"], c["inner"])
        f = {"sum": torch.sum, "mean": torch.mean, "max": torch.amax}.get(op)
        if f is None:
            raise ValueError("no reduction %r" % op)
        return lambda: f(x, 1, out=out)
    if k == "unary":
        op = c["op"]
        x, out = torch.randn(*c["shape"]), torch.empty(*c["shape"])
        if op == "relu":
            return lambda: torch.clamp_min(x, 0, out=out)
        if op == "exp":
            return lambda: torch.exp(x, out=out)
        raise ValueError("no unary op %r" % op)
    if k == "binary":
        f = {"add": torch.add, "mul": torch.mul, "sub": torch.sub, "div": torch.div}.get(c["op"])
        if f is None:
            raise ValueError("no binary op %r" % c["op"])
        a, b, out = torch.randn(*c["shape"]), torch.randn(*c["bshape"]), torch.empty(*c["shape"])
        return lambda: f(a, b, out=out)
    if k == "copy":
        r, cols = c["shape"]
        src, out = torch.randn(cols, r).t(), torch.empty(r, cols)
        return lambda: out.copy_(src)
    if k == "batchnorm":
        p = c["bn"]
        x = torch.randn(p["N"], p["C"], p["HW"], requires_grad=True)
        dy = torch.randn(p["N"], p["C"], p["HW"])
        g = torch.randn(p["C"], requires_grad=True)
        bt = torch.randn(p["C"], requires_grad=True)
        rm, rv = torch.zeros(p["C"]), torch.ones(p["C"])

        def bn():
            y = F.batch_norm(x, rm, rv, g, bt, True, p["Momentum"], p["Eps"])
            return torch.autograd.grad(y, [x, g, bt], dy)

        return bn
    if k == "adam":
        prm = torch.randn(c["elems"], requires_grad=True)
        prm.grad = torch.randn(c["elems"])
        opt = torch.optim.Adam([prm], lr=1e-3)
        return opt.step
    if k == "encoderstep":
        enc = Encoder(c["encoder"])
        enc.train()
        x = torch.rand(c["images"], 1, 32, 32) * 2 - 1
        r = torch.rand(c["images"], LATENT) * 2 - 1
        opt = torch.optim.Adam(enc.parameters(), lr=1e-3)

        def step():
            opt.zero_grad()
            loss = (enc(x) * r).sum()
            loss.backward()
            opt.step()

        return step
    raise ValueError("PyTorch has no counterpart for kind %r" % k)


def measure(f, seconds):
    f()  # warm-up
    n, t0 = 0, time.perf_counter()
    while True:
        f()
        n += 1
        el = time.perf_counter() - t0
        if el >= seconds:
            return el / n, n


def main():
    req = json.load(sys.stdin)
    torch.set_num_threads(int(req.get("threads") or 1))
    torch.manual_seed(1)
    res = []
    for c in req["cases"]:
        r = {"id": c["id"]}
        try:
            with torch.no_grad() if c["kind"] not in ("batchnorm", "encoderstep") else torch.enable_grad():
                r["seconds_per_op"], r["iters"] = measure(setup(c), float(req.get("seconds", 1.0)))
        except Exception as e:  # reported per case, the others still run
            r["error"] = "%s: %s" % (type(e).__name__, e)
        res.append(r)
        print(json.dumps(r), file=sys.stderr, flush=True)
    json.dump({"torch": torch.__version__, "threads": torch.get_num_threads(), "results": res}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
