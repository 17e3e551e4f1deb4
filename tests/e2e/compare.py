#!/usr/bin/python3
"""Compare a compiled model's output with PyTorch's reference.

usage: compare.py REF.npy GOT.npy [--rtol 1e-4] [--top5] [--torch32 TORCH32.npy]

Passes when the shapes match, max|got - ref| <= rtol * max|ref| (relative to the largest
logit, since a per-element relative bound is meaningless for logits near zero), and the
argmax agrees per row (2-D logits) or over the whole tensor (any other shape).

REF is the exact answer (PyTorch in float64). --torch32 gives PyTorch's own float32 answer:
when that is itself further than rtol from REF (deep random-weight networks such as
ResNet-152 amplify rounding), the bound becomes twice PyTorch's own error, i.e. cnnc must be
about as accurate as PyTorch, and the line says so.
"""
import argparse
import os
import sys

import numpy as np


def rows(a):
    return a if a.ndim == 2 else a.reshape(1, -1)


def top5(a):
    # stable sort so that exactly equal logits rank the same way in both tensors
    return np.argsort(-rows(a), axis=1, kind="stable")[:, :5]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("ref")
    p.add_argument("got")
    p.add_argument("--rtol", type=float, default=1e-4)
    p.add_argument("--top5", action="store_true", help="also require the same top-5 order")
    p.add_argument("--torch32", help="PyTorch's float32 output, for its own rounding error")
    args = p.parse_args()

    ref = np.load(args.ref).astype(np.float64)
    got = np.load(args.got).astype(np.float64)
    if ref.shape != got.shape:
        print(f"FAIL: shape {list(got.shape)}, expected {list(ref.shape)}")
        return 1
    if not np.isfinite(got).all():
        print(f"FAIL: {int((~np.isfinite(got)).sum())} non-finite values in {args.got}")
        return 1

    diff = float(np.abs(got - ref).max()) if ref.size else 0.0
    bound = args.rtol * float(np.abs(ref).max()) if ref.size else 0.0
    torch_err = None
    if args.torch32 and os.path.exists(args.torch32):
        t32 = np.load(args.torch32).astype(np.float64)
        torch_err = float(np.abs(t32 - ref).max()) if t32.shape == ref.shape else None
        if torch_err is not None and 2 * torch_err > bound:
            bound = 2 * torch_err
    argmax_ok = bool((rows(ref).argmax(1) == rows(got).argmax(1)).all())
    top5_ok = bool((top5(ref) == top5(got)).all()) if args.top5 else True
    ok = diff <= bound and argmax_ok and top5_ok

    line = (f"{'ok' if ok else 'FAIL'}: max diff {diff:.3g}, bound {bound:.3g} "
            f"(rtol {args.rtol:g}), argmax {'match' if argmax_ok else 'MISMATCH'}")
    if args.top5:
        line += f", top-5 {'match' if top5_ok else 'MISMATCH'}"
    if torch_err is not None:
        line += (f", PyTorch float32 {torch_err:.3g} from exact" +
                 (" (bound: twice that)" if bound == 2 * torch_err else ""))
    print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
