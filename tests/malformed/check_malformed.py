#!/usr/bin/python3
"""Hand-made malformed models, each with the message cnnc must give for it (exit 1, one line
on stderr naming the file, no output left behind). The table below is the corpus; the
models are written at test time so that each stays readable next to its expectation.
usage: check_malformed.py CNNC WORKDIR [--table]   (--table prints the markdown table)"""
import os, subprocess, sys
import numpy as np
import onnx
from onnx import helper as h, TensorProto as T, numpy_helper as nh


def vi(name, shape, t=T.FLOAT):
    return h.make_tensor_value_info(name, t, shape)


def model(nodes, inputs, outputs, inits=(), opset=13, check=False):
    m = h.make_model(h.make_graph(nodes, "g", inputs, outputs, list(inits)),
                     opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 7
    if check:
        onnx.checker.check_model(m)
    return m.SerializeToString()


def relu(shape=(1, 4)):
    return model([h.make_node("Relu", ["x"], ["y"], name="r")], [vi("x", list(shape))],
                 [vi("y", list(shape))])


def conv(w_shape, x_shape, **attrs):
    w = nh.from_array(np.ones(w_shape, np.float32), "w")
    return model([h.make_node("Conv", ["x", "w"], ["y"], name="c", **attrs)],
                 [vi("x", x_shape)], [vi("y", None)], [w])


def raw_initializer(dims, nbytes):
    t = onnx.TensorProto(name="b", data_type=T.FLOAT, dims=dims, raw_data=b"\0" * nbytes)
    return model([h.make_node("Add", ["x", "b"], ["y"], name="add")], [vi("x", [1, 4])],
                 [vi("y", [1, 4])], [t])


def cycle():
    return model([h.make_node("Relu", ["b"], ["a"], name="n1"),
                  h.make_node("Relu", ["a"], ["b"], name="n2")],
                 [vi("x", [1, 4])], [vi("b", [1, 4])])


def duplicate():
    return model([h.make_node("Relu", ["x"], ["y"], name="n1"),
                  h.make_node("Sigmoid", ["x"], ["y"], name="n2")],
                 [vi("x", [1, 4])], [vi("y", [1, 4])])


def wrong_attr_type():
    return model([h.make_node("MaxPool", ["x"], ["y"], name="pool", kernel_shape=[2.0, 2.0])],
                 [vi("x", [1, 1, 4, 4])], [vi("y", None)])


def huge_reshape():
    s = nh.from_array(np.array([1 << 30, 1 << 30], np.int64), "s")
    return model([h.make_node("Expand", ["x", "s"], ["y"], name="grow")],
                 [vi("x", [1, 1])], [vi("y", None)], [s])


def huge_constant():
    s = nh.from_array(np.array([1 << 20, 1 << 20, 1 << 10], np.int64), "s")
    return model([h.make_node("ConstantOfShape", ["s"], ["c"], name="fill"),
                  h.make_node("Add", ["x", "c"], ["y"], name="add")],
                 [vi("x", [1])], [vi("y", None)], [s])


def zero_size_input():
    return relu(shape=(0, 4))


def missing_input():
    return model([h.make_node("Add", ["x", "nowhere"], ["y"], name="add")],
                 [vi("x", [1, 4])], [vi("y", [1, 4])])


def missing_required():
    return model([h.make_node("Conv", ["x", ""], ["y"], name="c")],
                 [vi("x", [1, 1, 4, 4])], [vi("y", None)])


CASES = [
    # name, bytes, expected substrings of the message
    ("truncated protobuf", lambda: relu()[:-7], ["malformed or truncated"]),
    ("garbage bytes", lambda: bytes(range(256)) * 4, ["malformed or truncated"]),
    ("empty file", lambda: b"", ["empty"]),
    ("wrong attribute type", wrong_attr_type, ["'pool'", "MaxPool", "kernel_shape",
                                               "list of integers"]),
    ("negative dimension", lambda: raw_initializer([-4], 16), ["'b'", "dimension -4"]),
    ("initializer size mismatch", lambda: raw_initializer([4], 12), ["'b'", "12 bytes",
                                                                      "needs 16"]),
    ("node input defined nowhere", missing_input, ["'add'", "'nowhere'", "not defined"]),
    ("required input left empty", missing_required, ["'c'", "Conv", "input 1 is required"]),
    ("cycle", cycle, ["cycle"]),
    ("duplicate names", duplicate, ["'y'", "defined twice"]),
    ("unknown opset", lambda: model([h.make_node("Relu", ["x"], ["y"])], [vi("x", [1])],
                                    [vi("y", [1])], opset=99), ["opset 99"]),
    ("unknown operator", lambda: model([h.make_node("Frobnicate", ["x"], ["y"], name="f")],
                                       [vi("x", [1])], [vi("y", [1])]),
     ["'f'", "Frobnicate", "unsupported"]),
    ("group not dividing channels", lambda: conv([4, 1, 3, 3], [1, 3, 8, 8], group=2),
     ["'c'", "Conv", "group 2 does not divide"]),
    ("zero-size input", zero_size_input, ["'x'", "dimension 0"]),
    ("huge input dimension", lambda: relu(shape=(1 << 50, 4)), ["'x'", "out of range"]),
    ("huge broadcast", huge_reshape, ["'grow'", "Expand"]),
    ("huge constant", huge_constant, ["'fill'", "elements"]),
]


def main():
    cnnc, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    failures = 0
    rows = []
    for name, make, expect in CASES:
        path = os.path.join(work, name.replace(" ", "_") + ".onnx")
        with open(path, "wb") as f:
            f.write(make())
        out = os.path.join(work, "out.c")
        for stale in (out, out[:-2] + ".h"):
            if os.path.exists(stale):
                os.remove(stale)
        r = subprocess.run([cnnc, path, "-o", out], capture_output=True, text=True)
        lines = r.stderr.strip().splitlines()
        problems = []
        if r.returncode != 1:
            problems.append("exit %d" % r.returncode)
        if len(lines) != 1:
            problems.append("%d lines on stderr" % len(lines))
        if path not in r.stderr:
            problems.append("file not named")
        problems += ["no '%s'" % e for e in expect if e not in r.stderr]
        if os.path.exists(out) or any(".tmp." in f for f in os.listdir(work)):
            problems.append("output left behind")
        status = "ok" if not problems else "FAIL: " + "; ".join(problems)
        failures += bool(problems)
        msg = lines[0] if lines else ""
        rows.append((name, msg[msg.find(": ", len("cnnc: error: ")) + 2:] if msg else "", status))
        print("%-28s %s\n    %s" % (name, status, msg))
    if "--table" in sys.argv:
        print("\n| malformed input | cnnc says | |\n| --- | --- | --- |")
        for name, msg, status in rows:
            print("| %s | %s | %s |" % (name, msg.replace("|", "\\|"), status))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
