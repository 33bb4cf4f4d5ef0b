#!/usr/bin/python3
"""Writes the golden files of vkgrad's conformance suite (tensor/backendtest).

Every case draws float32 inputs from a seeded generator, computes the expected
outputs independently of vkgrad with NumPy (float64) or PyTorch (float64
tensors), rounds them to float32 and stores inputs and outputs as JSON:

    {"cases": [{"name": ..., "op": ..., "attrs": {...},
                "in":  {"x": {"shape": [...], "f": [...]}, ...},
                "out": {"out": {"shape": [...], "f": [...]}, "idx": {"shape": [...], "i": [...]}}}]}

"f" holds float32 values (shortest round-trip decimal), "i" int32 values.
Run from this directory with Debian's python3-numpy and python3-torch:

    /usr/bin/python3 gen_golden.py

The output is deterministic; commit the script together with the .json files.
"""
import json

import numpy as np
import torch
import torch.nn.functional as F

torch.set_grad_enabled(True)
rng = np.random.default_rng(20240611)


def f32(a):
    return np.asarray(a, dtype=np.float32)


def randn(*shape):
    return f32(rng.standard_normal(shape))


def uniform(lo, hi, *shape):
    return f32(rng.uniform(lo, hi, shape))


def steps(*shape):
    """Values in {-2, -1.5, ..., 2}: ties for comparisons and maxima."""
    return f32(rng.integers(0, 9, shape) / 2 - 2)


def enc(a):
    a = np.asarray(a)
    shape = list(a.shape)
    if a.dtype.kind in "iu":
        return {"shape": shape, "i": [int(v) for v in a.reshape(-1)]}
    vals = a.astype(np.float32).reshape(-1)
    assert np.all(np.isfinite(vals)), "golden values must be finite"
    return {"shape": shape, "f": [float(np.format_float_positional(v, unique=True, trim="-")) for v in vals]}


def case(cases, name, op, inputs, outputs, **attrs):
    cases.append({"name": name, "op": op, "attrs": attrs,
                  "in": {k: enc(v) for k, v in inputs.items()},
                  "out": {k: enc(v) for k, v in outputs.items()}})


def d(a):
    """float32 array -> float64 torch tensor."""
    return torch.tensor(np.asarray(a, dtype=np.float64))


def write(fname, cases):
    with open(fname, "w") as f:
        json.dump({"cases": cases}, f, separators=(",", ":"))
        f.write("\n")


def elementwise():
    cs = []
    unary = {
        "Neg": (lambda x: -x, randn),
        "Abs": (np.abs, randn),
        "Exp": (np.exp, lambda *s: uniform(-10, 10, *s)),
        "Log": (np.log, lambda *s: uniform(0.01, 100, *s)),
        "Sqrt": (np.sqrt, lambda *s: uniform(0, 100, *s)),
        "Rsqrt": (lambda x: 1 / np.sqrt(x), lambda *s: uniform(0.01, 100, *s)),
        "Square": (np.square, randn),
        "Relu": (lambda x: np.maximum(x, 0), steps),
        "Sign": (np.sign, steps),
        "ReluMask": (lambda x: (x > 0).astype(np.float64), steps),
        "Recip": (lambda x: 1 / x, lambda *s: uniform(0.2, 5, *s) * np.where(randn(*s) > 0, 1, -1).astype(np.float32)),
    }
    for name, (fn, gen) in unary.items():
        x = gen(3, 5)
        case(cs, name, "unary", {"x": x}, {"out": fn(x.astype(np.float64))}, fn=name)
    x = uniform(0.1, 3, 4, 3)
    case(cs, "PowScalar", "unary", {"x": x}, {"out": x.astype(np.float64) ** 2.5}, fn="PowScalar", alpha=2.5)
    x = randn(4, 3)
    case(cs, "PowScalarInt", "unary", {"x": x}, {"out": x.astype(np.float64) ** 3}, fn="PowScalar", alpha=3)
    x = randn(4, 3)
    case(cs, "Clamp", "unary", {"x": x}, {"out": np.clip(x, -0.5, 0.75)}, fn="Clamp", alpha=-0.5, beta=0.75)
    x = randn(4, 3)
    case(cs, "Affine", "unary", {"x": x}, {"out": 2.5 * x.astype(np.float64) - 1}, fn="Affine", alpha=2.5, beta=-1)

    binary = {
        "Add": (np.add, randn, randn),
        "Sub": (np.subtract, randn, randn),
        "Mul": (np.multiply, randn, randn),
        "Div": (np.divide, randn, lambda *s: uniform(0.2, 3, *s)),
        "Pow": (np.power, lambda *s: uniform(0.1, 3, *s), lambda *s: uniform(-2, 2, *s)),
        "Maximum": (np.maximum, steps, steps),
        "Minimum": (np.minimum, steps, steps),
        "Eq": (np.equal, steps, steps),
        "Ne": (np.not_equal, steps, steps),
        "Lt": (np.less, steps, steps),
        "Le": (np.less_equal, steps, steps),
        "Gt": (np.greater, steps, steps),
        "Ge": (np.greater_equal, steps, steps),
    }
    for name, (fn, ga, gb) in binary.items():
        a, b = ga(4, 1, 3), gb(5, 1)
        out = fn(a.astype(np.float64), b.astype(np.float64)).astype(np.float64)
        case(cs, name, "binary", {"a": a, "b": b}, {"out": out}, fn=name)
    c, a, b = steps(4, 1), randn(4, 3), randn(3)
    case(cs, "Where", "where", {"cond": c, "a": a, "b": b}, {"out": np.where(c != 0, a, b)})
    return cs


def reductions():
    cs = []
    fns = {
        "Sum": lambda x, ax, kd: x.sum(axis=ax, keepdims=kd),
        "Mean": lambda x, ax, kd: x.mean(axis=ax, keepdims=kd),
        "Max": lambda x, ax, kd: x.max(axis=ax, keepdims=kd),
        "Variance": lambda x, ax, kd: x.var(axis=ax, keepdims=kd),
    }
    for name, fn in fns.items():
        for shape, axes, kd in [((7,), None, False), ((3, 5, 4), (1,), False), ((3, 5, 4), (0, 2), True),
                                ((2, 3, 4), (2,), True)]:
            x = randn(*shape)
            case(cs, f"{name}/{shape}/{axes}/{kd}", "reduce", {"x": x},
                 {"out": np.asarray(fn(x.astype(np.float64), axes, kd))},
                 fn=name, axes=list(axes or []), keepdim=kd)
    for shape, axis in [((5, 7), 1), ((5, 7), 0), ((3, 4, 6), 1)]:
        x = steps(*shape)  # ties: the first maximum wins
        case(cs, f"Argmax/{shape}/{axis}", "argmax", {"x": x}, {"out": np.argmax(x, axis=axis).astype(np.int32)}, axis=axis)
    return cs


def matmul():
    cs = []
    for m, k, n in [(1, 1, 1), (3, 7, 5), (6, 13, 1), (9, 33, 4)]:
        for ta in (False, True):
            for tb in (False, True):
                a = randn(k, m) if ta else randn(m, k)
                b = randn(n, k) if tb else randn(k, n)
                A = a.T if ta else a
                B = b.T if tb else b
                out = A.astype(np.float64) @ B.astype(np.float64)
                case(cs, f"{m}x{k}x{n}/{ta}/{tb}", "matmul", {"a": a, "b": b}, {"out": out}, transA=ta, transB=tb)
    a, b = randn(3, 4, 5), randn(5, 2)
    case(cs, "batched-broadcast", "matmul", {"a": a, "b": b}, {"out": a.astype(np.float64) @ b.astype(np.float64)})
    a, b = randn(1, 4, 5), randn(2, 6, 5)
    case(cs, "batched-transB", "matmul", {"a": a, "b": b},
         {"out": a.astype(np.float64) @ np.swapaxes(b, 1, 2).astype(np.float64)}, transB=True)
    return cs


def conv():
    cs = []
    for n, cin, h, w, cout, k, s, p, bias in [(1, 1, 3, 3, 1, 1, 1, 0, False), (2, 3, 7, 5, 4, 3, 1, 1, True),
                                              (2, 2, 8, 7, 3, 3, 2, 1, True), (1, 3, 9, 9, 2, 5, 2, 2, False)]:
        x, wt = randn(n, cin, h, w), randn(cout, cin, k, k)
        b = randn(cout)
        X = d(x).requires_grad_()
        W = d(wt).requires_grad_()
        y = F.conv2d(X, W, d(b) if bias else None, stride=s, padding=p)
        dy = randn(*y.shape)
        y.backward(d(dy))
        name = f"n{n}c{cin}{h}x{w}o{cout}k{k}s{s}p{p}"
        ins = {"x": x, "w": wt}
        if bias:
            ins["bias"] = b
        case(cs, name, "conv2d", ins, {"out": y.detach().numpy()}, stride=s, pad=p)
        case(cs, name, "conv2d_bwd_data", {"dy": dy, "w": wt}, {"dx": X.grad.numpy()}, stride=s, pad=p,
             shape=[n, cin, h, w])
        case(cs, name, "conv2d_bwd_weight", {"x": x, "dy": dy}, {"dw": W.grad.numpy()}, stride=s, pad=p,
             shape=[cout, cin, k, k])
    return cs


def pools():
    cs = []
    for n, c, h, w, k, s, p in [(1, 1, 4, 4, 2, 2, 0), (2, 3, 7, 6, 3, 2, 1), (1, 2, 5, 5, 3, 1, 1), (1, 1, 6, 5, 4, 3, 2)]:
        name = f"n{n}c{c}{h}x{w}k{k}s{s}p{p}"
        x = steps(n, c, h, w)  # ties: the first maximum in row-major window order wins
        X = d(x).requires_grad_()
        y, idx = F.max_pool2d(X, k, s, p, return_indices=True)
        dy = randn(*y.shape)
        y.backward(d(dy))
        case(cs, name, "maxpool", {"x": x}, {"out": y.detach().numpy(), "idx": idx.numpy().astype(np.int32)},
             k=k, stride=s, pad=p)
        case(cs, name, "maxpool_bwd", {"x": x, "dy": dy}, {"dx": X.grad.numpy()}, k=k, stride=s, pad=p)
        x = randn(n, c, h, w)
        X = d(x).requires_grad_()
        y = F.avg_pool2d(X, k, s, p, count_include_pad=True)
        dy = randn(*y.shape)
        y.backward(d(dy))
        case(cs, name, "avgpool", {"x": x}, {"out": y.detach().numpy()}, k=k, stride=s, pad=p)
        case(cs, name, "avgpool_bwd", {"dy": dy}, {"dx": X.grad.numpy()}, k=k, stride=s, pad=p, shape=[n, c, h, w])
    return cs


def batchnorm():
    cs = []
    eps, mom = 1e-5, 0.1
    for shape in [(4, 3, 2, 5), (2, 2, 1, 1), (1, 4, 3, 3)]:
        c = shape[1]
        x = f32(randn(*shape) * 2 + 1)
        gamma, beta = uniform(0.5, 1.5, c), randn(c)
        rm, rv = randn(c), uniform(0.5, 2, c)
        name = "x".join(map(str, shape))
        # training
        X, G, B = d(x).requires_grad_(), d(gamma).requires_grad_(), d(beta).requires_grad_()
        RM, RV = d(rm), d(rv)
        y = F.batch_norm(X, RM, RV, G, B, training=True, momentum=mom, eps=eps)
        mean = X.detach().mean(dim=(0, 2, 3))
        var = X.detach().var(dim=(0, 2, 3), unbiased=False)
        dy = randn(*shape)
        y.backward(d(dy))
        ins = {"x": x, "gamma": gamma, "beta": beta, "run_mean": rm, "run_var": rv}
        case(cs, name + "/train", "batchnorm", ins,
             {"out": y.detach().numpy(), "mean": mean.numpy(), "invstd": (1 / torch.sqrt(var + eps)).numpy(),
              "run_mean": RM.numpy(), "run_var": RV.numpy()}, training=True, momentum=mom, eps=eps)
        if shape[0] * shape[2] * shape[3] > 2:
            # With two values per channel x̂ = ±1 and dx is pure cancellation
            # (~eps): ill-conditioned in float32, so only the forward is kept.
            case(cs, name, "batchnorm_bwd", {"x": x, "gamma": gamma, "beta": beta, "dy": dy},
                 {"dx": X.grad.numpy(), "dgamma": G.grad.numpy(), "dbeta": B.grad.numpy()}, momentum=mom, eps=eps)
        # eval
        y = F.batch_norm(d(x), d(rm), d(rv), d(gamma), d(beta), training=False, momentum=mom, eps=eps)
        case(cs, name + "/eval", "batchnorm", ins,
             {"out": y.numpy(), "mean": rm, "invstd": 1 / np.sqrt(rv.astype(np.float64) + eps),
              "run_mean": rm, "run_var": rv}, training=False, momentum=mom, eps=eps)
    return cs


def index_misc():
    cs = []
    x = randn(5, 4)
    idx = np.array([4, 0, 4, 2], dtype=np.int32)
    case(cs, "select/axis0", "index_select", {"x": x, "idx": idx}, {"out": x[idx]}, axis=0)
    x = randn(2, 6, 3)
    idx = np.array([5, 1, 1, 0, 3, 2, 5], dtype=np.int32)
    case(cs, "select/axis1", "index_select", {"x": x, "idx": idx}, {"out": x[:, idx, :]}, axis=1)
    src = randn(4, 3)
    idx = np.array([2, 0, 2, 2], dtype=np.int32)
    out = np.zeros((5, 3))
    np.add.at(out, idx, src.astype(np.float64))
    case(cs, "add/axis0", "index_add", {"src": src, "idx": idx}, {"out": out}, axis=0, shape=[5, 3])
    src = randn(2, 3, 5)
    idx = np.array([1, 1, 3, 0, 1], dtype=np.int32)
    out = np.zeros((2, 3, 4))
    np.add.at(out, (slice(None), slice(None), idx), src.astype(np.float64))
    case(cs, "add/axis2", "index_add", {"src": src, "idx": idx}, {"out": out}, axis=2, shape=[2, 3, 4])
    for shape, eps in [((3, 7), 1e-10), ((2, 2, 5), 1e-3), ((1, 1), 1e-10)]:
        x = randn(*shape)
        x64 = x.astype(np.float64)
        out = x64 / np.sqrt((x64 ** 2).sum(axis=-1, keepdims=True) + eps)
        case(cs, f"l2norm/{shape}", "l2norm", {"x": x}, {"out": out}, eps=eps)
    x = randn(2, 3)
    case(cs, "pad", "pad", {"x": x}, {"out": np.pad(x, ((1, 0), (2, 1)), constant_values=-1.5)},
         pads=[[1, 0], [2, 1]], value=-1.5)
    a, b = randn(2, 3), randn(2, 1)
    case(cs, "concat", "concat", {"a": a, "b": b}, {"out": np.concatenate([a, b], axis=1)}, axis=1)
    return cs


def optim():
    cs = []
    for n, lr, b1, b2, eps, wd, step in [(7, 1e-3, 0.9, 0.999, 1e-8, 0.0, 1), (9, 3e-2, 0.8, 0.99, 1e-6, 5e-4, 5)]:
        p, g = randn(n), randn(n)
        m = np.zeros(n, np.float32) if step == 1 else f32(randn(n) * 0.1)
        v = np.zeros(n, np.float32) if step == 1 else uniform(0, 0.5, n)
        P = d(p).requires_grad_()
        opt = torch.optim.Adam([P], lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd, foreach=False)
        if step > 1:
            opt.state[P] = {"step": torch.tensor(float(step - 1)), "exp_avg": d(m), "exp_avg_sq": d(v)}
        P.grad = d(g)
        opt.step()
        st = opt.state[P]
        case(cs, f"adam/step{step}", "adam", {"param": p, "grad": g, "m": m, "v": v},
             {"param": P.detach().numpy(), "m": st["exp_avg"].numpy(), "v": st["exp_avg_sq"].numpy()},
             lr=lr, beta1=b1, beta2=b2, eps=eps, weight_decay=wd, step=step)
    for n, lr, mom, wd, nest, first in [(7, 0.1, 0.9, 0.0, False, True), (8, 0.1, 0.9, 0.0, False, False),
                                        (5, 0.05, 0.8, 1e-2, True, False), (6, 0.5, 0.0, 0.0, False, False)]:
        p, g = randn(n), randn(n)
        buf = np.zeros(n, np.float32) if first or mom == 0 else randn(n)
        P = d(p).requires_grad_()
        opt = torch.optim.SGD([P], lr=lr, momentum=mom, weight_decay=wd, nesterov=nest, foreach=False)
        if not first and mom != 0:
            opt.state[P] = {"momentum_buffer": d(buf)}
        P.grad = d(g)
        opt.step()
        newbuf = opt.state[P].get("momentum_buffer")
        out_buf = buf if newbuf is None else newbuf.numpy()
        case(cs, f"sgd/m{mom}/wd{wd}/nesterov{nest}/first{first}", "sgd", {"param": p, "grad": g, "mom": buf},
             {"param": P.detach().numpy(), "mom": out_buf}, lr=lr, momentum=mom, weight_decay=wd, nesterov=nest)
    return cs


if __name__ == "__main__":
    write("elementwise.json", elementwise())
    write("reduce.json", reductions())
    write("matmul.json", matmul())
    write("conv.json", conv())
    write("pool.json", pools())
    write("batchnorm.json", batchnorm())
    write("index.json", index_misc())
    write("optim.json", optim())
