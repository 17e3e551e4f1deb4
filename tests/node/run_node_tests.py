#!/usr/bin/python3
"""ONNX backend node tests through cnnc's executable path.

usage: run_node_tests.py --cnnc CNNC --work DIR [--ops Conv,Relu] [--jobs 2] [--report FILE]

The test cases come from the generators python3-onnx ships (onnx/backend/test/case/node/*.py):
each module's export functions call expect(), which records a one-node model with its inputs
and expected outputs. For every case whose operators cnnc lists (`cnnc --list-ops`), this
script writes the model, compiles it with `cnnc -o x.c --main`, builds it with the system C
compiler, runs it on the inputs as .npy files and compares with the expected outputs with the
case's tolerances (rtol 1e-3, atol 1e-7 as in the ONNX backend runner).

cnnc computes float32 at run time and needs static shapes, so:
- a case with a non-float32 output, or an input that is neither float32 nor int64, is
  skipped (counted as "skipped");
- int64 inputs (shapes, axes, repeats, indices) and the float inputs that ONNX defines as
  parameters (Clip min/max, Pad's value, Resize/Upsample roi and scales, Range) are bound
  as initializers, i.e. known at compile time; every other input stays a run-time input.
A case cnnc refuses with an error message is "rejected" (what it does not support must never
be a wrong answer); a wrong answer, a crash or a refusal without a message is "failed".
Exit status: 1 if any case failed, else 0.
"""
import argparse
import concurrent.futures as cf
import importlib
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import time
import warnings

import numpy as np

# onnx 1.12's generators use aliases that NumPy 1.24 removed.
for _alias, _type in (("float", float), ("int", int), ("bool", bool), ("object", object)):
    if _alias not in np.__dict__:
        setattr(np, _alias, _type)

import onnx  # noqa: E402
from onnx import numpy_helper  # noqa: E402

# Inputs that are parameters, not data: bound at compile time when present (by position).
PARAM_INPUTS = {
    "Clip": {1, 2},
    "Pad": {1, 2, 3},
    "Resize": {1, 2, 3},
    "Upsample": {1},
    "Range": {0, 1, 2},
}


def collect_cases():
    """Every node test case, imported module by module so one broken generator does not
    hide the others."""
    warnings.filterwarnings("ignore")
    import onnx.backend.test.case.node as node_cases
    node_cases._TargetOpType = None
    broken = []
    for _, name, _ in pkgutil.iter_modules(node_cases.__path__):
        try:
            importlib.import_module(f"{node_cases.__name__}.{name}")
        except Exception as e:  # a generator that needs something this machine lacks
            broken.append(f"{name}: {type(e).__name__}: {e}")
    return node_cases._NodeTestCases, broken


def case_op(case):
    """The operator a case tests: its one node, or for an expanded function the op whose
    body it is (its internal values are named OP_CASE_expanded_function_...)."""
    nodes = case.model.graph.node
    if not case.name.endswith("_expanded"):
        return nodes[0].op_type
    tag = "_" + case.name[:-len("_expanded")] + "_expanded_function_"
    for n in nodes:
        for v in list(n.output) + list(n.input):
            if tag in v:
                return v.split(tag)[0] + " (expanded)"
    return nodes[0].op_type + " (expanded)"


def supported_ops(cnnc):
    out = subprocess.run([cnnc, "--list-ops"], capture_output=True, text=True, check=True)
    ops = set()
    for line in out.stdout.splitlines()[1:]:
        name = line.split()[0] if line.split() else ""
        if name and "." not in name:
            ops.add(name)
    return ops


def prepare(case, work):
    """Writes model.onnx and the run-time inputs; returns (input paths, expected outputs)
    or a reason to skip."""
    model = onnx.ModelProto()
    model.CopyFrom(case.model)
    g = model.graph
    inputs, outputs = case.data_sets[0]
    outputs = [np.asarray(a) if isinstance(a, np.generic) else a for a in outputs]
    for name, arr in zip([o.name for o in g.output], outputs):
        if not isinstance(arr, np.ndarray) or arr.dtype != np.float32:
            return None, f"output '{name}' is {getattr(arr, 'dtype', type(arr).__name__)}"
    params = set()
    if len(g.node) == 1:
        positions = PARAM_INPUTS.get(g.node[0].op_type, set())
        params = {x for i, x in enumerate(g.node[0].input) if i in positions and x}
    runtime, keep = [], []
    for vi, arr in zip(list(g.input), inputs):
        if isinstance(arr, np.generic):     # a NumPy scalar: a rank-0 tensor
            arr = np.asarray(arr)
        if not isinstance(arr, np.ndarray):
            return None, f"input '{vi.name}' is a {type(arr).__name__}"
        if arr.dtype == np.int64 or (arr.dtype == np.float32 and vi.name in params):
            g.initializer.append(numpy_helper.from_array(arr, vi.name))
        elif arr.dtype == np.float32:
            keep.append(vi)
            runtime.append(arr)
        else:
            return None, f"input '{vi.name}' is {arr.dtype}"
    del g.input[:]
    g.input.extend(keep)
    os.makedirs(work, exist_ok=True)
    onnx.save(model, os.path.join(work, "model.onnx"))
    paths = []
    for i, arr in enumerate(runtime):
        p = os.path.join(work, f"in{i}.npy")
        np.save(p, arr)
        paths.append(p)
    return (paths, outputs), None


def run_case(case, index, args):
    work = os.path.join(args.work, f"{index:03d}_{case.name}")  # names repeat across files
    shutil.rmtree(work, ignore_errors=True)
    prepared, why = prepare(case, work)
    if prepared is None:
        return "skipped", why
    paths, expected = prepared
    c_file, exe = os.path.join(work, "x.c"), os.path.join(work, "x")
    r = subprocess.run([args.cnnc, os.path.join(work, "model.onnx"), "-o", c_file, "--main",
                        "--quiet"], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        msg = (r.stderr.strip().splitlines() or [""])[-1]
        if r.returncode == 1 and "error:" in msg:
            return "rejected", re.sub(r"^.*?error: \S+: ", "", msg)
        return "failed", f"cnnc exit {r.returncode}: {msg}"
    r = subprocess.run([args.cc, "-O1", "-std=c99", c_file, "-o", exe, "-lm"],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        return "failed", "C compile failed: " + (r.stderr.strip().splitlines() or [""])[0]
    outs = [os.path.join(work, f"out{i}.npy") for i in range(len(expected))]
    cmd = [exe] + paths
    for o in outs:
        cmd += ["-o", o]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        return "failed", f"run exit {r.returncode}: {r.stderr.strip()[:200]}"
    for o, want in zip(outs, expected):
        got = np.load(o)
        if got.shape != want.shape:
            return "failed", f"shape {list(got.shape)}, expected {list(want.shape)}"
        try:
            np.testing.assert_allclose(got, want, rtol=case.rtol, atol=case.atol)
        except AssertionError:
            diff = float(np.nanmax(np.abs(got.astype(np.float64) - want))) if got.size else 0
            return "failed", f"max diff {diff:.3g} beyond rtol {case.rtol:g} atol {case.atol:g}"
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return "passed", ""


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cnnc", required=True)
    p.add_argument("--work", required=True, help="scratch directory, one folder per case")
    p.add_argument("--ops", help="comma-separated operators to run (default: all cnnc lists)")
    p.add_argument("--cc", default=os.environ.get("CC", "cc"))
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--report", help="also write the per-operator table (Markdown) here")
    p.add_argument("--keep", action="store_true", help="keep the folders of passing cases")
    p.add_argument("-v", "--verbose", action="store_true", help="print every case")
    args = p.parse_args()

    t0 = time.time()
    cases, broken = collect_cases()
    ops = supported_ops(args.cnnc)
    wanted = set(args.ops.split(",")) if args.ops else None
    todo = []
    for case in cases:
        op = case_op(case)
        base = op.replace(" (expanded)", "")
        if wanted is not None and base not in wanted:
            continue
        if base not in ops:
            continue
        if any(n.op_type not in ops for n in case.model.graph.node):
            continue            # an expanded body that uses ops cnnc does not have
        todo.append((op, case))

    stats, notes = {}, []
    with cf.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_case, case, i, args): (op, case)
                   for i, (op, case) in enumerate(todo)}
        for fut in cf.as_completed(futures):
            op, case = futures[fut]
            try:
                status, why = fut.result()
            except Exception as e:  # a timeout or our own bug: a failure, never silent
                status, why = "failed", f"{type(e).__name__}: {e}"
            s = stats.setdefault(op, {"passed": 0, "failed": 0, "rejected": 0, "skipped": 0})
            s[status] += 1
            if status != "passed":
                notes.append(f"{status:8} {case.name}: {why}")
            if args.verbose:
                print(f"{status:8} {case.name} {why}", flush=True)

    lines = ["| op | passed | total | rejected | failed | skipped (non-float) |",
             "| --- | --- | --- | --- | --- | --- |"]
    tot = {"passed": 0, "failed": 0, "rejected": 0, "skipped": 0}
    for op in sorted(stats):
        s = stats[op]
        run = s["passed"] + s["failed"] + s["rejected"]
        lines.append(f"| {op} | {s['passed']} | {run} | {s['rejected']} | {s['failed']} | "
                     f"{s['skipped']} |")
        for k in tot:
            tot[k] += s[k]
    run = tot["passed"] + tot["failed"] + tot["rejected"]
    lines.append(f"| **all** | {tot['passed']} | {run} | {tot['rejected']} | {tot['failed']} | "
                 f"{tot['skipped']} |")
    print("\n".join(sorted(notes)))
    print("\n".join(lines))
    print(f"{len(todo)} cases of {len(cases)} for the operators cnnc supports, "
          f"{time.time() - t0:.0f} s" + (f"; generators that failed: {broken}" if broken else ""))
    if args.report:
        with open(args.report, "w") as f:
            f.write("\n".join(lines) + "\n")
    return 1 if tot["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
