"""Command-line and bad-input tests for cnnc and the programs it generates.

usage: test_cli.py CNNC SOURCE_DIR SCRATCH_DIR [unittest arguments, e.g. a class name]

Each test makes its ONNX files by hand with onnx.helper in its own folder under SCRATCH_DIR.
A failing compile must exit 1 with one line on stderr that names the model file (and the
node, its op and what is wrong), and must leave no output behind. CTest runs each class as
its own test; the Regression* classes reproduce bugs that were found and fixed.
"""
import glob
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CNNC = SOURCE_DIR = SCRATCH = None      # set from the command line in main()
CRASH_WORDS = ("Traceback", "Segmentation", "core dumped", "Aborted", "Assertion",
               "AddressSanitizer", "internal error")


# ---- building models -------------------------------------------------------------------

def f32(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def node(op, inputs, outputs, name, **attrs):
    return helper.make_node(op, inputs, outputs, name=name, **attrs)


def save_model(path, nodes, inputs, outputs, inits=(), opset=13):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="cnnc-tests")
    model.ir_version = 7        # what onnx 1.12 writes for these opsets
    onnx.save(model, path)
    return path


def relu_model(path):
    """y = Relu(x), x of shape [N, 4] with a symbolic batch."""
    return save_model(path, [node("Relu", ["x"], ["y"], "relu1")], [f32("x", ["N", 4])],
                      [f32("y", ["N", 4])])


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def lenet():
    return os.path.join(SOURCE_DIR, "models", "lenet5_digits.onnx")


# ---- running ---------------------------------------------------------------------------

def build_program(c_path):
    """Build a generated C file made with --main, the way users are told to."""
    exe = c_path[:-2]
    r = subprocess.run(["cc", "-O2", "-std=c99", "-fopenmp", c_path, "-o", exe, "-lm"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError("generated C does not build:\n" + r.stderr[-3000:])
    return exe


def run_program(exe, *args):
    env = dict(os.environ, OMP_NUM_THREADS="2")
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=30, env=env)


class CnncCase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(dir=SCRATCH, prefix=self.id().rsplit(".", 1)[-1] + "-")

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def model(self, name, *args, **kwargs):
        return save_model(self.path(name), *args, **kwargs)

    def cnnc(self, *args, **kwargs):
        return subprocess.run([CNNC, *args], capture_output=True, text=True, errors="replace",
                              timeout=30, **kwargs)

    def assert_clean_error(self, r, *needles):
        """Exit 1, not a signal; one line on stderr holding every needle; no dump."""
        self.assertGreaterEqual(r.returncode, 0, f"killed by signal {-r.returncode}: {r.stderr}")
        self.assertEqual(r.returncode, 1, r.stderr)
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 1, f"expected one line on stderr, got:\n{r.stderr}")
        self.assertTrue(lines[0].startswith("cnnc: "), lines[0])
        for needle in needles:
            self.assertIn(needle, lines[0])
        for word in CRASH_WORDS:
            self.assertNotIn(word, r.stderr)
        self.assertEqual(r.stdout, "")
        return lines[0]

    def assert_no_output(self, folder=None):
        folder = folder or self.dir
        left = [f for f in os.listdir(folder)
                if f.endswith((".c", ".h", ".weights")) or ".tmp." in f]
        self.assertEqual(left, [], f"partial output left in {folder}")

    def compile_error(self, model, *needles, args=()):
        """Compile a bad model to out.c in the test folder: a clean error, no output."""
        r = self.cnnc(model, "-o", self.path("out.c"), *args)
        msg = self.assert_clean_error(r, model, *needles)
        self.assert_no_output()
        return msg


# ---- the command itself ----------------------------------------------------------------

class UsageTests(CnncCase):
    def test_help(self):
        r = self.cnnc("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage: cnnc", r.stdout)
        for opt in ("-o FILE", "--main", "--input-shape", "-O0", "--summary", "--dump-ir"):
            self.assertIn(opt, r.stdout)
        self.assertEqual(r.stderr, "")

    def test_version(self):
        r = self.cnnc("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^cnnc \d+\.\d+\.\d+\n$")

    def test_list_ops_has_opset_ranges(self):
        r = self.cnnc("--list-ops")
        self.assertEqual(r.returncode, 0, r.stderr)
        ranges = dict((m[0], (int(m[1]), int(m[2])))
                      for m in re.findall(r"^(\w+)\s+(\d+)-(\d+)$", r.stdout, re.M))
        for op in ("Conv", "Relu", "Gemm", "MaxPool", "Clip", "Reshape"):
            self.assertIn(op, ranges)
        for op, (lo, hi) in ranges.items():
            self.assertTrue(1 <= lo <= hi, f"{op}: {lo}-{hi}")
        self.assertEqual(ranges["Conv"][0], 1)

    def test_unknown_option(self):
        model = relu_model(self.path("m.onnx"))
        r = self.cnnc(model, "-o", self.path("out.c"), "--frobnicate")
        self.assert_clean_error(r, "unknown option", "--frobnicate")
        self.assert_no_output()

    def test_unknown_optimization_level(self):
        model = relu_model(self.path("m.onnx"))
        self.assert_clean_error(self.cnnc(model, "-o", self.path("out.c"), "-O7"), "-O7")
        self.assert_no_output()

    def test_no_model_prints_usage(self):
        r = self.cnnc("-o", self.path("out.c"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("usage: cnnc", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_no_output_given(self):
        self.assert_clean_error(self.cnnc(relu_model(self.path("m.onnx"))), "no output", "-o")

    def test_two_models(self):
        r = self.cnnc("a.onnx", "b.onnx", "-o", self.path("out.c"))
        self.assert_clean_error(r, "'a.onnx'", "'b.onnx'")

    def test_bad_prefix(self):
        model = relu_model(self.path("m.onnx"))
        self.compile_error(model, "9lives", "C identifier", args=("--name", "9lives"))


class InfoTests(CnncCase):
    def test_summary_names_the_pointwise_path(self):
        # a 1x1 convolution on a 7x7 plane with 128 input channels takes the direct kernel's
        # pointwise path where the CPU has AVX-512, the GEMM elsewhere; --summary says which
        w = np.random.RandomState(0).standard_normal((64, 128, 1, 1)).astype(np.float32)
        model = self.model("pw.onnx", [node("Conv", ["x", "w"], ["y"], "pw")],
                           [f32("x", [1, 128, 7, 7])], [f32("y", [1, 64, 7, 7])],
                           inits=[const("w", w)])
        r = self.cnnc("--summary", model)
        self.assertEqual(r.returncode, 0, r.stderr)
        row = next(line.split() for line in r.stdout.splitlines() if re.match(r"\d+\s", line))
        with open("/proc/cpuinfo") as f:
            avx512 = "avx512f" in f.read()
        self.assertEqual(row[3], "conv_pointwise" if avx512 else "conv_packed")

    def test_summary_names_the_small_winograd(self):
        # a 3x3 convolution on a 7x7 plane with 128 channels in and out: at -O3, Winograd
        # F(2x2,3x3) where the CPU has AVX-512; at -O2, and elsewhere, the direct kernel or
        # the GEMM
        w = np.random.RandomState(1).standard_normal((128, 128, 3, 3)).astype(np.float32)
        model = self.model("w2.onnx", [node("Conv", ["x", "w"], ["y"], "c3",
                                            pads=[1, 1, 1, 1])],
                           [f32("x", [1, 128, 7, 7])], [f32("y", [1, 128, 7, 7])],
                           inits=[const("w", w)])
        with open("/proc/cpuinfo") as f:
            avx512 = "avx512f" in f.read()
        for level, want in (("-O3", "conv_winograd2" if avx512 else "conv_packed"),
                            ("-O2", "conv_direct" if avx512 else "conv_packed")):
            r = self.cnnc("--summary", level, model)
            self.assertEqual(r.returncode, 0, r.stderr)
            row = next(line.split() for line in r.stdout.splitlines()
                       if re.match(r"\d+\s", line))
            self.assertEqual(row[3], want, level)

    def test_summary_table_and_totals(self):
        r = self.cnnc("--summary", lenet())
        self.assertEqual(r.returncode, 0, r.stderr)
        header = next(line for line in r.stdout.splitlines() if line.startswith("#"))
        for column in ("op", "output", "params", "FLOPs"):
            self.assertIn(column, header.split())
        rows = [line.split() for line in r.stdout.splitlines() if re.match(r"\d+\s", line)]
        self.assertEqual([int(row[0]) for row in rows], list(range(len(rows))))
        # the op column names what runs after fusion: "Conv+Tanh" is a Conv with its Tanh
        fused = [row[2] for row in rows]
        self.assertIn("Conv+Tanh", fused)
        ops = [op.split("+")[0] for op in fused]
        self.assertEqual(ops.count("Conv"), 2)
        self.assertEqual(ops.count("Gemm"), 3)
        self.assertNotIn("Tanh", ops)
        flops = int(re.search(r"^FLOPs\s+(\d+)", r.stdout, re.M).group(1))
        params = int(re.search(r"^parameters\s+(\d+)", r.stdout, re.M).group(1))
        self.assertEqual(flops, sum(int(row[-2]) for row in rows))
        self.assertEqual(params, sum(int(row[-3]) for row in rows))
        # conv1: 6 maps of 28x28, 5x5 window, one input channel: 2 FLOPs per MAC (+ bias)
        macs = 6 * 28 * 28 * 25
        self.assertTrue(2 * macs <= int(rows[ops.index("Conv")][-2]) <= 2 * macs + 6 * 28 * 28)
        m = onnx.load(lenet())
        n_weights = sum(int(np.prod(t.dims)) for t in m.graph.initializer)
        self.assertEqual(params, n_weights)

    def test_dump_ir_prints_the_graph(self):
        r = self.cnnc("--dump-ir", lenet())
        self.assertEqual(r.returncode, 0, r.stderr)
        m = onnx.load(lenet())
        nodes = [n for n in m.graph.node if n.op_type != "Constant"]
        self.assertIn(f"opset 13: {len(nodes)} nodes", r.stdout.splitlines()[0])
        self.assertIn("input %input:f32[1x1x32x32]", r.stdout)
        for n in nodes:
            self.assertRegex(r.stdout, rf"= {n.op_type}\(.*# {re.escape(n.name)}\n")

    def test_dump_ir_after_all_passes(self):
        r = self.cnnc("--dump-ir=after-all", lenet())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"# after \w+ \(round 1\)\ngraph ")
        self.assertNotIn("??", r.stdout)       # after folding, every shape is known


# ---- bad model files -------------------------------------------------------------------

class BadFileTests(CnncCase):
    def test_missing_file(self):
        self.compile_error(self.path("nope.onnx"), "cannot open", "No such file")

    def test_empty_file(self):
        open(self.path("empty.onnx"), "wb").close()
        self.compile_error(self.path("empty.onnx"), "empty")

    def test_truncated_model(self):
        data = read_bytes(lenet())
        n = len(data)
        for cut in (1, 2, 9, 40, 300, 4096, n // 3, n // 2, n - 1000, n - 30, n - 1):
            with self.subTest(cut=cut):
                bad = self.path(f"cut{cut}.onnx")
                with open(bad, "wb") as f:
                    f.write(data[:cut])
                self.compile_error(bad)

    def test_random_bytes(self):
        rng = random.Random(1234)
        for size in (1, 7, 64, 4096, 100000):
            with self.subTest(size=size):
                bad = self.path(f"garbage{size}.onnx")
                with open(bad, "wb") as f:
                    f.write(bytes(rng.randrange(256) for _ in range(size)))
                self.compile_error(bad)

    def test_text_file(self):
        bad = self.path("notes.onnx")
        with open(bad, "w") as f:
            f.write("this is not a model\n" * 20)
        self.compile_error(bad)


class BadGraphTests(CnncCase):
    def test_unknown_ops_all_listed(self):
        model = self.model("unk.onnx", [
            node("Relu", ["x"], ["a"], "relu1"),
            node("FancyNorm", ["a"], ["b"], "fancy1"),
            helper.make_node("Quux", ["b"], ["y"], name="quux1", domain="com.example")],
            [f32("x", [1, 4])], [f32("y", [1, 4])])
        msg = self.compile_error(model, "'fancy1' (FancyNorm)", "'quux1' (com.example.Quux)")
        self.assertIn("2 nodes", msg)
        self.assertNotIn("relu1", msg)

    def test_op_newer_than_the_model_opset(self):
        model = self.model("hs.onnx", [node("HardSwish", ["x"], ["y"], "hs1")],
                           [f32("x", [1, 4])], [f32("y", [1, 4])], opset=13)
        self.compile_error(model, "'hs1' (HardSwish)", "opset 13")

    def test_conv_group_does_not_divide_channels(self):
        model = self.model("g.onnx", [node("Conv", ["x", "w"], ["y"], "conv1", group=4)],
                           [f32("x", [1, 6, 8, 8])], [f32("y", None)],
                           [const("w", np.ones((6, 2, 3, 3), np.float32))])
        self.compile_error(model, "node 'conv1' (Conv", "group 4", "6 input channels")

    def test_conv_kernel_shape_with_three_entries(self):
        model = self.model("k.onnx",
                           [node("Conv", ["x", "w"], ["y"], "conv1", kernel_shape=[3, 3, 3])],
                           [f32("x", [1, 3, 8, 8])], [f32("y", None)],
                           [const("w", np.ones((4, 3, 3, 3), np.float32))])
        self.compile_error(model, "node 'conv1' (Conv", "kernel_shape", "3")

    def test_leaky_relu_alpha_is_a_string(self):
        model = self.model("lr.onnx", [node("LeakyRelu", ["x"], ["y"], "lrelu1", alpha="0.1")],
                           [f32("x", [1, 4])], [f32("y", [1, 4])])
        self.compile_error(model, "node 'lrelu1' (LeakyRelu", "alpha")

    def test_conv_stride_zero(self):
        model = self.model("s.onnx", [node("Conv", ["x", "w"], ["y"], "conv1", strides=[0, 1])],
                           [f32("x", [1, 3, 8, 8])], [f32("y", None)],
                           [const("w", np.ones((4, 3, 3, 3), np.float32))])
        self.compile_error(model, "node 'conv1' (Conv", "stride 0")

    def test_add_shapes_do_not_broadcast(self):
        model = self.model("add.onnx", [node("Add", ["a", "b"], ["y"], "add1")],
                           [f32("a", [1, 3]), f32("b", [1, 4])], [f32("y", None)])
        self.compile_error(model, "node 'add1' (Add", "[1x3]", "[1x4]")

    def test_conv_weight_channels_do_not_match_input(self):
        model = self.model("cw.onnx", [node("Conv", ["x", "w"], ["y"], "conv1")],
                           [f32("x", [1, 3, 8, 8])], [f32("y", None)],
                           [const("w", np.ones((4, 5, 3, 3), np.float32))])
        self.compile_error(model, "node 'conv1' (Conv", "5 input channels", "3 channels")

    def test_input_named_by_no_node(self):
        model = self.model("ghost.onnx", [node("Relu", ["x"], ["a"], "relu1"),
                                          node("Add", ["a", "ghost"], ["y"], "add1")],
                           [f32("x", [1, 4])], [f32("y", [1, 4])])
        self.compile_error(model, "node 'add1' (Add", "'ghost'", "not defined")

    def test_cycle(self):
        model = self.model("cyc.onnx", [node("Add", ["x", "c"], ["a"], "add1"),
                                        node("Relu", ["a"], ["b"], "relu1"),
                                        node("Relu", ["b"], ["c"], "relu2"),
                                        node("Relu", ["a"], ["y"], "relu3")],
                           [f32("x", [1, 4])], [f32("y", [1, 4])])
        msg = self.compile_error(model, "cycle")
        self.assertRegex(msg, r"node '(add1|relu1|relu2)'")

    def test_int64_graph_input(self):
        model = self.model("i64.onnx", [node("Cast", ["x"], ["y"], "cast1", to=1)],
                           [helper.make_tensor_value_info("x", TensorProto.INT64, [1, 4])],
                           [f32("y", [1, 4])])
        self.compile_error(model, "input 'x'", "float32")

    def test_name_defined_twice(self):
        model = self.model("dup.onnx", [node("Relu", ["x"], ["y"], "relu1"),
                                        node("Sigmoid", ["x"], ["y"], "sig1")],
                           [f32("x", [1, 4])], [f32("y", [1, 4])])
        self.compile_error(model, "'y'", "twice")

    def test_output_produced_by_nothing(self):
        model = self.model("out.onnx", [node("Relu", ["x"], ["a"], "relu1")],
                           [f32("x", [1, 4])], [f32("y", [1, 4])])
        self.compile_error(model, "output 'y'")


class BadOptionTests(CnncCase):
    def test_input_shape_wrong_rank(self):
        model = relu_model(self.path("m.onnx"))
        self.compile_error(model, "'x'", "rank 3", "rank 2", args=("--input-shape", "x=1x4x4"))

    def test_input_shape_names_a_non_input(self):
        model = relu_model(self.path("m.onnx"))
        self.compile_error(model, "'y'", "not a graph input", args=("--input-shape", "y=2x4"))

    def test_input_shape_malformed(self):
        model = relu_model(self.path("m.onnx"))
        for bad in ("x=0x4", "x=2xq", "x=", "x=-1x4"):
            with self.subTest(shape=bad):
                r = self.cnnc(model, "-o", self.path("out.c"), "--input-shape", bad)
                self.assert_clean_error(r, bad)
                self.assert_no_output()

    def test_input_shape_is_applied(self):
        model = relu_model(self.path("m.onnx"))
        r = self.cnnc(model, "-o", self.path("out.c"), "--input-shape", "x=3x4")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"input  0 'x' [3x4]", read_bytes(self.path("out.h")))

    def test_unknown_pass(self):
        model = relu_model(self.path("m.onnx"))
        self.compile_error(model, "no_such_pass", args=("--disable-pass=no_such_pass",))

    def test_native_output_without_llvm(self):
        """Until the LLVM backend exists, -o with no .c is a clear error, not a stray file."""
        model = relu_model(self.path("m.onnx"))
        r = self.cnnc(model, "-o", self.path("model"))
        if r.returncode == 0:
            self.assertTrue(os.access(self.path("model"), os.X_OK))
        else:
            self.assert_clean_error(r, "model", ".c")
            self.assertEqual(sorted(os.listdir(self.dir)), ["m.onnx"])


class UnwritableOutputTests(CnncCase):
    def test_missing_directory(self):
        model = relu_model(self.path("m.onnx"))
        out = self.path("no", "such", "dir", "out.c")
        self.assert_clean_error(self.cnnc(model, "-o", out), model, self.path("no", "such"))
        self.assertFalse(os.path.exists(self.path("no")))

    def test_parent_is_a_file(self):
        model = relu_model(self.path("m.onnx"))
        open(self.path("plain"), "w").close()
        r = self.cnnc(model, "-o", self.path("plain", "out.c"))
        self.assert_clean_error(r, self.path("plain"))
        self.assert_no_output()

    def test_weights_file_in_missing_directory(self):
        model = relu_model(self.path("m.onnx"))
        r = self.cnnc(model, "-o", self.path("out.c"), "--weights=" + self.path("no", "w.bin"))
        self.assert_clean_error(r, self.path("no", "w.bin"))
        self.assert_no_output()

    def test_read_only_directory(self):
        """As root, permissions do not stop writes: then cnnc runs as 'nobody'."""
        os.chmod(self.dir, 0o755)
        model = relu_model(self.path("m.onnx"))
        ro = self.path("ro")
        os.mkdir(ro)
        os.chmod(ro, 0o555)
        self.addCleanup(os.chmod, ro, 0o755)
        drop = None
        if os.geteuid() == 0:
            def drop():
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            probe = self.cnnc(model, "--summary", preexec_fn=drop)
            if probe.returncode != 0:
                self.skipTest("user nobody cannot run cnnc here: " + probe.stderr)
        r = self.cnnc(model, "-o", os.path.join(ro, "out.c"), preexec_fn=drop)
        self.assert_clean_error(r, model, ro, "Permission denied")
        self.assertEqual(os.listdir(ro), [])


class NoPartialOutputTests(CnncCase):
    """A failed compile to the path of an earlier good one leaves those files as they were."""

    def setUp(self):
        super().setUp()
        self.good = relu_model(self.path("good.onnx"))
        self.out = self.path("out", "model.c")
        os.mkdir(self.path("out"))
        r = self.cnnc(self.good, "-o", self.out, "--main")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.before = self.snapshot()

    def snapshot(self):
        folder = os.path.dirname(self.out)
        return {f: read_bytes(os.path.join(folder, f)) for f in os.listdir(folder)}

    def assert_unchanged(self, r):
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(self.snapshot(), self.before)

    def test_bad_model(self):
        bad = self.model("bad.onnx", [node("NoSuchOp", ["x"], ["y"], "n1")],
                         [f32("x", [1, 4])], [f32("y", [1, 4])])
        self.assert_unchanged(self.cnnc(bad, "-o", self.out, "--main"))

    def test_truncated_model(self):
        data = read_bytes(self.good)
        with open(self.path("cut.onnx"), "wb") as f:
            f.write(data[:len(data) // 2])
        self.assert_unchanged(self.cnnc(self.path("cut.onnx"), "-o", self.out))

    def test_bad_input_shape(self):
        self.assert_unchanged(self.cnnc(self.good, "-o", self.out, "--input-shape", "x=1x2x3"))

    def test_weights_path_unwritable(self):
        """The .c and .h are written before the weights file fails: none may land."""
        r = self.cnnc(self.good, "-o", self.out, "--weights=" + self.path("no", "w.bin"))
        self.assert_unchanged(r)

    def test_bad_prefix(self):
        self.assert_unchanged(self.cnnc(self.good, "-o", self.out, "--name", "a-b"))


class DeterminismTests(CnncCase):
    def compile_twice(self, *args):
        """The output path is written into the files, so both runs use the same one."""
        outs = []
        c = self.path("model.c")
        for _ in range(2):
            r = self.cnnc(lenet(), "-o", c, *args)
            self.assertEqual(r.returncode, 0, r.stderr)
            outs.append((read_bytes(c), read_bytes(self.path("model.h"))))
            os.remove(c)
        self.assertGreater(len(outs[0][0]), 100000)     # the weights are in there
        return outs

    def test_default_level(self):
        a, b = self.compile_twice()
        self.assertEqual(a, b)

    def test_O0(self):
        a, b = self.compile_twice("-O0")
        self.assertEqual(a, b)

    def test_with_main(self):
        a, b = self.compile_twice("--main", "-O0")
        self.assertEqual(a, b)


# ---- the generated program -------------------------------------------------------------

class GeneratedProgramTests(CnncCase):
    @classmethod
    def setUpClass(cls):
        cls.shared = tempfile.mkdtemp(dir=SCRATCH, prefix="lenet-")
        c = os.path.join(cls.shared, "lenet.c")
        r = subprocess.run([CNNC, lenet(), "-o", c, "--main"], capture_output=True, text=True)
        if r.returncode != 0:
            raise AssertionError(r.stderr)
        cls.exe = build_program(c)
        cls.samples = sorted(glob.glob(os.path.join(SOURCE_DIR, "models", "samples", "*.npy")))

    def run_exe(self, *args):
        return run_program(self.exe, *args)

    def assert_program_error(self, r, *needles):
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        first = r.stderr.splitlines()[0]
        self.assertTrue(first.startswith("error: "), first)
        for needle in needles:
            self.assertIn(needle, first)
        self.assertEqual(r.stdout, "")

    def test_classifies_samples(self):
        self.assertGreaterEqual(len(self.samples), 5)
        for sample in self.samples:
            label = int(re.search(r"label(\d+)\.npy$", sample).group(1))
            with self.subTest(sample=os.path.basename(sample)):
                r = self.run_exe(sample)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertRegex(r.stdout, rf"argmax {label}\b")

    def test_writes_npy_output(self):
        out = self.path("y.npy")
        r = self.run_exe(self.samples[0], "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        y = np.load(out)
        self.assertEqual((y.shape, y.dtype), ((1, 10), np.float32))
        label = int(re.search(r"label(\d+)", self.samples[0]).group(1))
        self.assertEqual(int(y.argmax()), label)

    def test_wrong_shape(self):
        np.save(self.path("small.npy"), np.zeros((1, 1, 28, 28), np.float32))
        r = self.run_exe(self.path("small.npy"))
        self.assert_program_error(r, "small.npy", "(1, 1, 28, 28)", "[1x1x32x32]")

    def test_float64(self):
        np.save(self.path("f64.npy"), np.zeros((1, 1, 32, 32), np.float64))
        self.assert_program_error(self.run_exe(self.path("f64.npy")), "f64.npy", "float32")

    def test_truncated_npy(self):
        data = read_bytes(self.samples[0])
        for cut, why in ((len(data) - 100, "fewer values"), (30, "header"), (4, "not a .npy")):
            with self.subTest(cut=cut):
                with open(self.path("cut.npy"), "wb") as f:
                    f.write(data[:cut])
                self.assert_program_error(self.run_exe(self.path("cut.npy")), "cut.npy", why)

    def test_missing_file(self):
        r = self.run_exe(self.path("absent.npy"))
        self.assert_program_error(r, "absent.npy", "cannot open")

    def test_wrong_number_of_inputs(self):
        self.assert_program_error(self.run_exe(), "1 input file", "0 given")
        s = self.samples[0]
        self.assert_program_error(self.run_exe(s, s), "1 input file", "2 given")

    def test_bench(self):
        r = self.run_exe(self.samples[0], "--bench", "3")
        self.assertEqual(r.returncode, 0, r.stderr)
        m = re.search(r"3 runs, min ([\d.]+) ms, median ([\d.]+) ms", r.stdout)
        self.assertTrue(m, r.stdout)
        self.assertLessEqual(float(m.group(1)), float(m.group(2)))


class NumericTests(CnncCase):
    """Small graphs with the ops torch exports around a CNN, built and run, vs numpy."""

    def check(self, model, inputs, expected):
        in_paths = []
        for i, x in enumerate(inputs):
            in_paths.append(self.path(f"in{i}.npy"))
            np.save(in_paths[-1], x)
        for level in ("-O0", "-O2"):
            with self.subTest(level=level):
                c = self.path(f"model{level}.c")
                r = self.cnnc(model, "-o", c, "--main", level)
                self.assertEqual(r.returncode, 0, r.stderr)
                outs = [self.path(f"out{level}_{k}.npy") for k in range(len(expected))]
                r = run_program(build_program(c), *in_paths,
                                *[a for o in outs for a in ("-o", o)])
                self.assertEqual(r.returncode, 0, r.stderr)
                for o, want in zip(outs, expected):
                    got = np.load(o)
                    self.assertEqual(got.shape, want.shape)
                    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)

    def test_dropout_and_identity(self):
        model = self.model("drop.onnx", [
            node("Dropout", ["x", "ratio", "training"], ["a"], "drop1"),
            node("Identity", ["a"], ["b"], "ident1"),
            node("Mul", ["b", "three"], ["c"], "mul1"),
            node("Dropout", ["c"], ["y", "mask"], "drop2"),
            ], [f32("x", [2, 3, 5])], [f32("y", [2, 3, 5])],
            [const("ratio", np.float32(0.5)), const("training", np.bool_(False)),
             const("three", np.float32(3.0))])
        x = np.random.default_rng(1).standard_normal((2, 3, 5)).astype(np.float32)
        self.check(model, [x], [3 * x])

    def test_reshape_from_shape_chain(self):
        """flatten as torch exports it: Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), -1))."""
        w = np.random.default_rng(2).standard_normal((5, 48)).astype(np.float32)
        b = np.arange(5, dtype=np.float32)
        model = self.model("flat.onnx", [
            node("Shape", ["x"], ["s"], "shape1"),
            node("Gather", ["s", "zero"], ["n"], "gather1", axis=0),
            node("Unsqueeze", ["n", "axes"], ["n1"], "unsq1"),
            node("Concat", ["n1", "minus1"], ["ns"], "concat1", axis=0),
            node("Reshape", ["x", "ns"], ["flat"], "reshape1"),
            node("Gemm", ["flat", "w", "b"], ["y"], "fc1", transB=1),
            ], [f32("x", [2, 3, 4, 4])], [f32("flat", None), f32("y", None)],
            [const("zero", np.int64(0)), const("axes", np.array([0], np.int64)),
             const("minus1", np.array([-1], np.int64)), const("w", w), const("b", b)])
        x = np.random.default_rng(3).standard_normal((2, 3, 4, 4)).astype(np.float32)
        flat = x.reshape(2, -1)
        self.check(model, [x], [flat, flat @ w.T + b])

    def test_clip_opset11_min_max_inputs(self):
        model = self.model("clip.onnx", [
            node("Clip", ["x", "lo", "hi"], ["a"], "clip1"),
            node("Clip", ["a", "", "hi2"], ["y"], "clip2"),       # min omitted
            ], [f32("x", [1, 3, 4, 4])], [f32("y", [1, 3, 4, 4])],
            [const("lo", np.float32(-0.25)), const("hi", np.float32(0.5)),
             const("hi2", np.float32(0.4))], opset=11)
        x = 2 * np.random.default_rng(4).standard_normal((1, 3, 4, 4)).astype(np.float32)
        self.check(model, [x], [np.clip(np.clip(x, -0.25, 0.5), None, 0.4)])


# ---- regressions: each class reproduces a bug that was found and fixed ---------------------

class RegressionOutputIsDirectoryTests(CnncCase):
    """-o d/out.c where d/out.c is a directory: the rename of out.c fails after out.h has
    already been renamed into place, so out.h is left behind (or an old one replaced)."""

    def test_no_header_left_behind(self):
        model = relu_model(self.path("m.onnx"))
        os.mkdir(self.path("d"))
        os.mkdir(self.path("d", "out.c"))
        r = self.cnnc(model, "-o", self.path("d", "out.c"))
        self.assert_clean_error(r, "out.c")
        self.assertEqual(os.listdir(self.path("d")), ["out.c"])


class RegressionNamesInGeneratedCodeTests(CnncCase):
    """Node and value names from the model are pasted unescaped into C comments of the
    generated files: a name holding '*/' ends the comment, and the rest becomes code.
    Refusing such names with a clean error would fix it too."""

    def compiles_or_refuses(self, model, c):
        r = self.cnnc(model, "-o", c, "--main")
        if r.returncode != 0:
            self.assert_clean_error(r, model)
        return r.returncode == 0

    def test_node_name_cannot_inject_code(self):
        model = self.model("inj.onnx",
                           [node("Relu", ["x"], ["y"], 'r */ puts("INJECTED"); /*')],
                           [f32("x", [1, 4])], [f32("y", [1, 4])])
        c = self.path("inj.c")
        if not self.compiles_or_refuses(model, c):
            return
        np.save(self.path("x.npy"), np.ones((1, 4), np.float32))
        r = run_program(build_program(c), self.path("x.npy"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("INJECTED", r.stdout)

    def test_value_names_with_comment_end(self):
        model = self.model("v.onnx", [node("Relu", ["x */ a"], ["y */ b"], "relu1")],
                           [f32("x */ a", [1, 4])], [f32("y */ b", [1, 4])])
        c = self.path("v.c")
        if self.compiles_or_refuses(model, c):
            build_program(c)


class RegressionPathsInGeneratedCodeTests(CnncCase):
    """The model path and the output name are pasted unescaped into the generated C: a
    folder named 'd*' closes a comment, an output name with '"' breaks the #include."""

    def test_model_path_with_comment_end(self):
        os.mkdir(self.path("d*"))
        model = relu_model(self.path("d*", "m.onnx"))
        c = self.path("m.c")
        self.assertEqual(self.cnnc(model, "-o", c, "--main").returncode, 0)
        build_program(c)

    def test_output_name_with_quote(self):
        model = relu_model(self.path("m.onnx"))
        c = self.path('q"m.c')
        r = self.cnnc(model, "-o", c, "--main")
        if r.returncode == 0:           # refusing such a name cleanly is fine too
            build_program(c)
        else:
            self.assert_clean_error(r)


class RegressionNewlineInNameTests(CnncCase):
    """A node name with a newline (names are user data) splits the one-line message."""

    def test_message_stays_on_one_line(self):
        model = self.model("nl.onnx", [node("Add", ["x", "ghost"], ["y"], "add\nline2")],
                           [f32("x", [1, 4])], [f32("y", [1, 4])])
        self.compile_error(model, "ghost")


class RegressionModelIsDirectoryTests(CnncCase):
    """A folder given as the model is reported as 'larger than 2 GiB'."""

    def test_directory_as_model(self):
        folder = self.path("folder.onnx")
        os.mkdir(folder)
        msg = self.compile_error(folder)
        self.assertRegex(msg.split(folder, 1)[1], "directory|not a regular file")


class RegressionOptionWithoutValueTests(CnncCase):
    """'-o' (or --name, --input-shape) as the last argument is called an unknown option."""

    def test_missing_value_is_not_unknown_option(self):
        model = relu_model(self.path("m.onnx"))
        for opt in ("-o", "--input-shape", "--name"):
            with self.subTest(opt=opt):
                r = self.cnnc(model, "-o", self.path("out.c"), opt)
                self.assertEqual(r.returncode, 1)
                self.assertIn(opt, r.stderr)
                self.assertNotIn("unknown option", r.stderr)


class RegressionDumpIrUnknownPassTests(CnncCase):
    """--dump-ir=after-NAME with no pass NAME prints nothing and exits 0, while
    --disable-pass=NAME rejects the same typo."""

    def test_unknown_pass_is_an_error(self):
        r = self.cnnc(lenet(), "--dump-ir=after-no_such_pass")
        self.assert_clean_error(r, "no_such_pass")


def main():
    global CNNC, SOURCE_DIR, SCRATCH
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    CNNC, SOURCE_DIR, SCRATCH = (os.path.abspath(a) for a in sys.argv[1:4])
    # One folder per selection, emptied first: the files of the last run stay to be read.
    SCRATCH = os.path.join(SCRATCH, "_".join(a for a in sys.argv[4:] if a[0] != "-") or "all")
    shutil.rmtree(SCRATCH, ignore_errors=True)
    os.makedirs(SCRATCH)
    unittest.main(argv=[sys.argv[0], *sys.argv[4:]], verbosity=2)


if __name__ == "__main__":
    main()
