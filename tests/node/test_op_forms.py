#!/usr/bin/python3
"""The older forms of ops and the other ways ONNX files in the wild differ from torch 1.13's
exports, each as a small model written by hand with onnx.helper, compiled with cnnc, built,
run and compared with an independent oracle (NumPy or PyTorch).

usage: test_op_forms.py --cnnc CNNC --work DIR [-k NAME]

Covers: Clip-6, Slice-1, Pad-2 and Squeeze/Unsqueeze-11 attributes; ReduceMean with axes as an
attribute (13) and as an input (18); Upsample-7 (attribute) and -9 (input); Resize-10, -11
and -13 with their coordinate modes (nearest, linear, cubic); BatchNormalization-9; Softmax-11's
2-D coercion; weights from Constant nodes; a symbolic batch fixed by --input-shape; an NHWC
input followed by a Transpose; ConvTranspose and LayerNormalization against PyTorch.
"""
import argparse
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

RNG = np.random.default_rng(0)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def model(nodes, inputs, outputs, opset, inits=()):
    """inputs/outputs: (name, shape) with float32; inits: (name, array)."""
    g = helper.make_graph(
        nodes, "forms",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs],
        [numpy_helper.from_array(a, n) for n, a in inits])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 7 if opset <= 15 else 8
    return m


def unary(op, opset, x, y_shape, inits=(), extra_inputs=(), **attrs):
    node = helper.make_node(op, ["x", *extra_inputs], ["y"], **attrs)
    return model([node], [("x", list(x.shape))], [("y", list(y_shape))], opset, inits)


def tnp(t):
    return t.detach().numpy()


def cases():
    """(name, model, inputs, expected, extra cnnc args)"""
    out = []
    x = rand(2, 3, 4, 5)
    out.append(("clip6_attrs", unary("Clip", 6, x, x.shape, min=-0.5, max=0.25), [x],
                np.clip(x, -0.5, 0.25)))
    out.append(("slice1_attrs", unary("Slice", 1, x, [2, 2, 4, 3], starts=[1, 1], ends=[3, -1],
                                      axes=[1, 3]), [x], x[:, 1:3, :, 1:-1]))
    out.append(("pad2_attrs", unary("Pad", 2, x, [2, 3, 7, 6], pads=[0, 0, 1, 0, 0, 0, 2, 1],
                                    value=1.5),
                [x], np.pad(x, [(0, 0), (0, 0), (1, 2), (0, 1)], constant_values=1.5)))
    x1 = rand(2, 1, 4, 1)
    out.append(("squeeze11_attrs", unary("Squeeze", 11, x1, [2, 4], axes=[1, -1]), [x1],
                x1.reshape(2, 4)))
    x2 = rand(3, 4)
    out.append(("unsqueeze11_attrs", unary("Unsqueeze", 11, x2, [1, 3, 1, 4], axes=[0, 2]),
                [x2], x2.reshape(1, 3, 1, 4)))
    out.append(("reducemean13_attrs", unary("ReduceMean", 13, x, [2, 4], axes=[1, -1],
                                            keepdims=0), [x], x.mean(axis=(1, 3))))
    out.append(("reducemean18_input",
                unary("ReduceMean", 18, x, [2, 3, 1, 5], inits=[("axes", np.array([2]))],
                      extra_inputs=["axes"]), [x], x.mean(axis=2, keepdims=True)))
    xs = rand(1, 2, 3, 4)
    up = xs.repeat(2, axis=2).repeat(3, axis=3)
    out.append(("upsample7_attr", unary("Upsample", 7, xs, [1, 2, 6, 12], mode="nearest",
                                        scales=[1.0, 1.0, 2.0, 3.0]), [xs], up))
    sc = np.array([1, 1, 2, 3], np.float32)
    out.append(("upsample9_input", unary("Upsample", 9, xs, [1, 2, 6, 12], mode="nearest",
                                         inits=[("s", sc)], extra_inputs=["s"]), [xs], up))
    out.append(("resize10_nearest", unary("Resize", 10, xs, [1, 2, 6, 12], mode="nearest",
                                          inits=[("s", sc)], extra_inputs=["s"]), [xs], up))
    # Resize-10 linear is asymmetric: x_in = x_out / scale (no half-pixel shift)
    sc2 = np.array([1, 1, 2, 2], np.float32)
    lin = np.empty((1, 2, 6, 8), np.float32)
    for i in range(6):
        for j in range(8):
            fi, fj = i / 2, j / 2
            i0, j0 = int(fi), int(fj)
            i1, j1 = min(i0 + 1, 2), min(j0 + 1, 3)
            a, b = fi - i0, fj - j0
            lin[..., i, j] = ((1 - a) * (1 - b) * xs[..., i0, j0] + (1 - a) * b * xs[..., i0, j1]
                              + a * (1 - b) * xs[..., i1, j0] + a * b * xs[..., i1, j1])
    out.append(("resize10_linear_asymmetric",
                unary("Resize", 10, xs, [1, 2, 6, 8], mode="linear", inits=[("s", sc2)],
                      extra_inputs=["s"]), [xs], lin))
    tx = torch.from_numpy(xs)
    out.append(("resize11_linear_half_pixel",
                unary("Resize", 11, xs, [1, 2, 6, 8], mode="linear",
                      inits=[("roi", np.zeros(0, np.float32)), ("s", sc2)],
                      extra_inputs=["roi", "s"]),
                [xs], tnp(F.interpolate(tx, scale_factor=2, mode="bilinear",
                                        align_corners=False))))
    sizes = np.array([1, 2, 5, 7], np.int64)
    out.append(("resize13_sizes_linear_align_corners",
                unary("Resize", 13, xs, [1, 2, 5, 7], mode="linear",
                      coordinate_transformation_mode="align_corners",
                      inits=[("sz", sizes)], extra_inputs=["", "", "sz"]),
                [xs], tnp(F.interpolate(tx, size=(5, 7), mode="bilinear", align_corners=True))))
    out.append(("resize13_sizes_nearest_asymmetric_floor",
                unary("Resize", 13, xs, [1, 2, 7, 5], mode="nearest",
                      coordinate_transformation_mode="asymmetric", nearest_mode="floor",
                      inits=[("sz", np.array([1, 2, 7, 5], np.int64))],
                      extra_inputs=["", "", "sz"]),
                [xs], tnp(F.interpolate(tx, size=(7, 5), mode="nearest"))))
    out.append(("resize13_downsample_pytorch_half_pixel",
                unary("Resize", 13, x, [2, 3, 2, 3], mode="linear",
                      coordinate_transformation_mode="pytorch_half_pixel",
                      inits=[("sz", np.array([2, 3, 2, 3], np.int64))],
                      extra_inputs=["", "", "sz"]),
                [x], tnp(F.interpolate(torch.from_numpy(x), size=(2, 3), mode="bilinear",
                                       align_corners=False))))
    out.append(("resize13_cubic_half_pixel",
                unary("Resize", 13, xs, [1, 2, 6, 8], mode="cubic",
                      inits=[("roi", np.zeros(0, np.float32)), ("s", sc2)],
                      extra_inputs=["roi", "s"]),
                [xs], tnp(F.interpolate(tx, scale_factor=2, mode="bicubic",
                                        align_corners=False))))
    scale, bias, mean = rand(3), rand(3), rand(3)
    var = np.abs(rand(3)) + 0.5
    bn = helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], epsilon=1e-3)
    c = lambda a: a.reshape(1, 3, 1, 1)     # noqa: E731
    out.append(("batchnorm9", model([bn], [("x", [2, 3, 4, 5])], [("y", [2, 3, 4, 5])], 9,
                                    [("s", scale), ("b", bias), ("m", mean), ("v", var)]),
                [x], c(scale) * (x - c(mean)) / np.sqrt(c(var) + 1e-3) + c(bias)))
    x3 = rand(2, 3, 4)
    flat = x3.reshape(2, 12)
    e = np.exp(flat - flat.max(axis=1, keepdims=True))
    out.append(("softmax11_coerced_2d", unary("Softmax", 11, x3, x3.shape, axis=1), [x3],
                (e / e.sum(axis=1, keepdims=True)).reshape(2, 3, 4)))
    w = rand(4, 3, 3, 3)
    const = helper.make_node("Constant", [], ["w"], value=numpy_helper.from_array(w))
    conv = helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])
    out.append(("conv_weights_from_constant_node",
                model([const, conv], [("x", [2, 3, 4, 5])], [("y", [2, 4, 4, 5])], 13), [x],
                tnp(F.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding=1))))
    relu = helper.make_node("Relu", ["x"], ["y"])
    out.append(("symbolic_batch_input_shape",
                model([relu], [("x", ["N", 3, 4, 5])], [("y", ["N", 3, 4, 5])], 13), [x],
                np.maximum(x, 0), ["--input-shape", "x=2x3x4x5"]))
    nhwc = rand(2, 5, 6, 3)
    tr = helper.make_node("Transpose", ["x"], ["t"], perm=[0, 3, 1, 2])
    conv = helper.make_node("Conv", ["t", "w"], ["y"], pads=[1, 1, 1, 1])
    out.append(("nhwc_input_then_transpose",
                model([tr, conv], [("x", [2, 5, 6, 3])], [("y", [2, 4, 5, 6])], 13,
                      [("w", w)]), [nhwc],
                tnp(F.conv2d(torch.from_numpy(nhwc).permute(0, 3, 1, 2), torch.from_numpy(w),
                             padding=1))))
    wt, bt = rand(4, 3, 3, 3), rand(6)
    ct = helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], strides=[2, 2],
                          pads=[1, 1, 1, 1], output_padding=[1, 0], group=2,
                          dilations=[1, 2])
    x4 = rand(2, 4, 4, 5)
    ref = tnp(F.conv_transpose2d(torch.from_numpy(x4), torch.from_numpy(wt),
                                 torch.from_numpy(bt), stride=2, padding=1,
                                 output_padding=(1, 0), groups=2, dilation=(1, 2)))
    out.append(("convtranspose_groups_dilation",
                model([ct], [("x", [2, 4, 4, 5])], [("y", list(ref.shape))], 13,
                      [("w", wt), ("b", bt)]), [x4], ref))
    g, b = rand(4, 5), rand(4, 5)
    ln = helper.make_node("LayerNormalization", ["x", "g", "b"], ["y"], axis=-2, epsilon=1e-4)
    out.append(("layernorm17", model([ln], [("x", [2, 3, 4, 5])], [("y", [2, 3, 4, 5])], 17,
                                     [("g", g), ("b", b)]), [x],
                tnp(F.layer_norm(torch.from_numpy(x), (4, 5), torch.from_numpy(g),
                                 torch.from_numpy(b), eps=1e-4))))
    return out


def run(name, m, inputs, want, extra, args):
    work = os.path.join(args.work, name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    path = os.path.join(work, "model.onnx")
    onnx.save(m, path)
    paths = []
    for i, a in enumerate(inputs):
        paths.append(os.path.join(work, f"in{i}.npy"))
        np.save(paths[-1], a)
    c_file, exe, out = (os.path.join(work, f) for f in ("x.c", "x", "out.npy"))
    r = subprocess.run([args.cnnc, path, "-o", c_file, "--main", *extra], capture_output=True,
                       text=True)
    if r.returncode != 0:
        return f"cnnc: {r.stderr.strip()}"
    r = subprocess.run([args.cc, "-O1", "-std=c99", c_file, "-o", exe, "-lm"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return f"cc: {r.stderr.strip()[:300]}"
    r = subprocess.run([exe, *paths, "-o", out], capture_output=True, text=True)
    if r.returncode != 0:
        return f"run: {r.stderr.strip()}"
    got = np.load(out)
    if got.shape != want.shape:
        return f"shape {list(got.shape)}, expected {list(want.shape)}"
    diff = float(np.abs(got - want).max())
    if not np.allclose(got, want, rtol=1e-4, atol=1e-5):
        return f"max diff {diff:.3g}"
    return None


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cnnc", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--cc", default=os.environ.get("CC", "cc"))
    p.add_argument("-k", help="run only the cases whose name contains this")
    args = p.parse_args()
    failed = 0
    for case in cases():
        name, m, inputs, want = case[:4]
        extra = case[4] if len(case) > 4 else []
        if args.k and args.k not in name:
            continue
        err = run(name, m, inputs, want, extra, args)
        print(f"{'ok  ' if err is None else 'FAIL'} {name}" + (f": {err}" if err else ""))
        failed += err is not None
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
