#!/usr/bin/python3
"""Writes the fuzzer's seed corpus: small valid models that reach every stage (shape
chains to fold, BatchNorm to fold, residuals to fuse, concats, pads, every op family).
usage: make_corpus.py OUTDIR"""
import os, sys
import numpy as np
import onnx
from onnx import helper as h, TensorProto as T, numpy_helper as nh

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(0)


def w(name, *shape):
    return nh.from_array(rng.standard_normal(shape).astype(np.float32), name)


def save(name, nodes, inputs, outputs, inits, opset=13):
    g = h.make_graph(nodes, name, inputs, outputs, inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 7
    onnx.save(m, os.path.join(out, name + ".onnx"))


x = lambda name, *s: h.make_tensor_value_info(name, T.FLOAT, list(s))

save("conv_bn_relu_add", [
    h.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
    h.make_node("BatchNormalization", ["c1", "g", "be", "m", "v"], ["n1"]),
    h.make_node("Relu", ["n1"], ["r1"]),
    h.make_node("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1]),
    h.make_node("Add", ["c2", "x"], ["a"]),
    h.make_node("Relu", ["a"], ["y"]),
], [x("x", 1, 4, 6, 6)], [x("y", 1, 4, 6, 6)],
    [w("w1", 4, 4, 3, 3), w("b1", 4), w("g", 4), w("be", 4), w("m", 4),
     nh.from_array(np.abs(rng.standard_normal(4)).astype(np.float32) + 0.5, "v"),
     w("w2", 4, 4, 3, 3)])

save("shape_chain", [
    h.make_node("Shape", ["x"], ["s"]),
    h.make_node("Gather", ["s", "i0"], ["n"], axis=0),
    h.make_node("Unsqueeze", ["n", "ax"], ["nu"]),
    h.make_node("Concat", ["nu", "m1"], ["shape"], axis=0),
    h.make_node("Reshape", ["x", "shape"], ["f"]),
    h.make_node("Gemm", ["f", "wf", "bf"], ["y"], transB=1),
], [x("x", 2, 3, 4, 4)], [x("y", 2, 5)],
    [nh.from_array(np.array(0, np.int64), "i0"), nh.from_array(np.array([0], np.int64), "ax"),
     nh.from_array(np.array([-1], np.int64), "m1"), w("wf", 5, 48), w("bf", 5)])

save("concat_pool_pad", [
    h.make_node("Pad", ["x", "pads"], ["p"]),
    h.make_node("MaxPool", ["p"], ["mp"], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
    h.make_node("AveragePool", ["x"], ["ap"], kernel_shape=[3, 3], strides=[2, 2],
                pads=[1, 1, 1, 1], count_include_pad=0),
    h.make_node("Concat", ["mp", "ap"], ["c"], axis=1),
    h.make_node("GlobalAveragePool", ["c"], ["g"]),
    h.make_node("Flatten", ["g"], ["y"]),
], [x("x", 1, 3, 9, 9)], [x("y", 1, 6)],
    [nh.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "pads")])

save("eltwise_softmax", [
    h.make_node("Sigmoid", ["x"], ["s"]),
    h.make_node("Mul", ["x", "s"], ["silu"]),
    h.make_node("Clip", ["silu", "lo", "hi"], ["c"]),
    h.make_node("HardSwish", ["c"], ["hs"]),
    h.make_node("Transpose", ["hs"], ["t"], perm=[0, 2, 1]),
    h.make_node("Transpose", ["t"], ["t2"], perm=[0, 2, 1]),
    h.make_node("Split", ["t2"], ["a", "b"], axis=2),
    h.make_node("Sub", ["a", "b"], ["d"]),
    h.make_node("Softmax", ["d"], ["y"], axis=-1),
], [x("x", 1, 3, 8)], [x("y", 1, 3, 4)],
    [nh.from_array(np.array(-1, np.float32), "lo"), nh.from_array(np.array(6, np.float32), "hi")],
    opset=14)

save("matmul_lrn_slice", [
    h.make_node("LRN", ["x"], ["l"], size=3),
    h.make_node("Slice", ["l", "st", "en", "axs", "stp"], ["sl"]),
    h.make_node("Flatten", ["sl"], ["f"]),
    h.make_node("MatMul", ["f", "wm"], ["mm"]),
    h.make_node("Add", ["mm", "bm"], ["y"]),
], [x("x", 1, 4, 4, 4)], [x("y", 1, 3)],
    [nh.from_array(np.array([0, 3], np.int64), "st"), nh.from_array(np.array([4, -5], np.int64), "en"),
     nh.from_array(np.array([1, 2], np.int64), "axs"), nh.from_array(np.array([2, -1], np.int64), "stp"),
     w("wm", 2 * 4 * 4, 3), w("bm", 3)])
