#!/usr/bin/python3
"""The model zoo end to end: export every model, compile it with both backends, compare with
PyTorch, and print one table (model, params, FLOPs, compile time per backend, max diff, status).

usage: zoo.py --cnnc CNNC --dir DIR [--models a,b,...] [--report FILE] [--no-llvm] [--keep]

Each model goes through export_models.sh (skipped when its files exist in DIR/models),
run_model.sh (C backend: cnnc, then the system C compiler) and run_llvm.sh (LLVM backend, an
executable straight from cnnc, also compared with the C backend's output). A model passes when
both outputs are within 1e-4 of the largest reference logit and the top-5 order is PyTorch's
(compare.py --top5), where the reference is PyTorch's answer in float64; for the deep nets
whose random weights make PyTorch's own float32 answer further than that from the exact one
(ResNet-101/152), the bound is twice PyTorch's float32 error. Exit status 1 if any model
fails.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# The classic architectures, oldest first; then the export variants (opset, batch size).
ZOO = """lenet5 alexnet vgg16 vgg19_bn nin googlenet inception_v3 resnet18 resnet34 resnet50
resnet101 resnet152 resnext50_32x4d wide_resnet50_2 densenet121 densenet169 densenet201
squeezenet1_0 squeezenet1_1 mobilenet_v2 mobilenet_v3_small mobilenet_v3_large
shufflenet_v2_x0_5 shufflenet_v2_x1_0 mnasnet1_0 efficientnet_b0 regnet_x_400mf
regnet_y_400mf convnext_tiny vit_b_16 resnet18_opset11 resnet18_opset17 resnet18_batch4
mobilenet_v2_batch4 vit_b_16_opset17 convnext_tiny_opset17""".split()


def run(cmd, env=None):
    t = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    return r.returncode, r.stdout + r.stderr, time.time() - t


def summary(cnnc, onnx_path, work):
    code, out, _ = run([cnnc, onnx_path, "--summary", "-o", os.path.join(work, "summary.c")])
    params = re.search(r"^parameters\s+(\d+)", out, re.M)
    flops = re.search(r"^FLOPs\s+(\d+)", out, re.M)
    return (int(params.group(1)) if params else None, int(flops.group(1)) if flops else None)


def check(name, args):
    models = os.path.join(args.dir, "models")
    work = os.path.join(args.dir, "work", name)
    os.makedirs(work, exist_ok=True)
    row = {"model": name}
    code, out, secs = run([os.path.join(HERE, "export_models.sh"), models, name])
    if code != 0:
        row["status"] = "export failed: " + out.strip().splitlines()[-1]
        return row
    onnx_path = os.path.join(models, name + ".onnx")
    inp, ref = (os.path.join(models, name + s) for s in (".input.npy", ".ref.npy"))
    row["params"], row["flops"] = summary(args.cnnc, onnx_path, work)
    env = dict(os.environ, COMPARE_ARGS="--top5 --torch32 " +
               os.path.join(models, name + ".torch32.npy"))
    code, out, secs = run([os.path.join(HERE, "run_model.sh"), args.cnnc, onnx_path, inp, ref,
                           os.path.join(work, "c")], env)
    m = re.search(r"cnnc ([\d.]+) s, C compile ([\d.]+) s", out)
    row["c_time"] = f"{float(m.group(1)):.1f} + {float(m.group(2)):.1f} cc" if m else "-"
    d = re.search(r"max diff ([\d.e+-]+), bound ([\d.e+-]+)", out)
    row["diff"] = f"{float(d.group(1)):.2g} (bound {float(d.group(2)):.2g})" if d else "-"
    if code != 0:
        row["status"] = "C: " + (out.strip().splitlines() or ["failed"])[-1]
        return row
    if args.no_llvm:
        row["status"] = "ok (C)"
        return row
    code, out, secs = run([os.path.join(HERE, "run_llvm.sh"), args.cnnc, onnx_path, inp, ref,
                           os.path.join(work, "llvm"), "--against",
                           os.path.join(work, "c", "out.npy")], env)
    m = re.search(r"LLVM backend: cnnc ([\d.]+) s", out)
    row["llvm_time"] = f"{float(m.group(1)):.1f}" if m else "-"
    d = re.findall(r"max diff ([\d.e+-]+)", out)
    if d:
        row["diff"] += f"; LLVM {float(d[0]):.2g}"
    row["status"] = "ok" if code == 0 else "LLVM: " + (out.strip().splitlines() or ["failed"])[-1]
    return row


def fmt(n, unit):
    if n is None:
        return "-"
    return f"{n / 1e6:.1f} M" if unit == "M" else f"{n / 1e9:.2f} G"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cnnc", required=True)
    p.add_argument("--dir", required=True, help="models/ and work/ go here")
    p.add_argument("--models", help="comma-separated subset (default: the whole zoo)")
    p.add_argument("--report", help="also write the table (Markdown) here")
    p.add_argument("--no-llvm", action="store_true", help="C backend only")
    p.add_argument("--keep", action="store_true", help="keep the work files of passing models")
    args = p.parse_args()
    args.cnnc = os.path.abspath(args.cnnc)
    names = args.models.split(",") if args.models else ZOO
    lines = ["| model | params | FLOPs | C: cnnc + cc (s) | LLVM: cnnc (s) | max diff | status |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    failed = 0
    t0 = time.time()
    print(lines[0] + "\n" + lines[1], flush=True)
    for name in names:
        row = check(name, args)
        failed += not row["status"].startswith("ok")
        if row["status"].startswith("ok") and not args.keep:
            # generated C, weights and executables: about 1 GB for the big models
            shutil.rmtree(os.path.join(args.dir, "work", name), ignore_errors=True)
        line = (f"| {name} | {fmt(row.get('params'), 'M')} | {fmt(row.get('flops'), 'G')} | "
                f"{row.get('c_time', '-')} | {row.get('llvm_time', '-')} | "
                f"{row.get('diff', '-')} | {row['status']} |")
        lines.append(line)
        print(line, flush=True)
    print(f"{len(names) - failed}/{len(names)} models pass, {time.time() - t0:.0f} s")
    if args.report:
        with open(args.report, "w") as f:
            f.write("\n".join(lines) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
