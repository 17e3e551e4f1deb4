#!/usr/bin/python3
"""cnnc against ONNX Runtime, side by side, on the classic CNNs.

For each model: compile with cnnc (C backend: `cnnc m.onnx -o m.c --main`, built with
`cc -O2 -fopenmp`; LLVM backend: `cnnc m.onnx -o m` when --llvm), time it with the generated
executable's `--bench N --threads T`, time ONNX Runtime (onnxruntime-node, graph optimizations
on) with bench/ort_time.js on the same input, interleaving the tools over several rounds, and
check that both agree with each other and with PyTorch's reference output. Reports the best
median (and min) per tool and thread count, GFLOP/s (direct-convolution FLOPs of the model
as written, `cnnc --summary -O1`, over the time) and the ratio cnnc/ORT with its geometric
mean; writes a Markdown table and a PNG chart of the ratios. See bench/README.md.
"""
import argparse, json, math, os, re, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_MODELS = ["resnet18", "resnet50", "mobilenet_v2", "squeezenet1_1", "googlenet",
                  "densenet121", "efficientnet_b0", "vgg16"]


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def ensure_ort(ort_dir):
    """onnxruntime-node into ort_dir (outside the repository). Its install step would fetch
    GPU libraries that cannot be reached; the CPU library ships inside the package."""
    mod = os.path.join(ort_dir, "node_modules", "onnxruntime-node")
    if not os.path.isdir(mod):
        os.makedirs(ort_dir, exist_ok=True)
        print("installing onnxruntime-node into", ort_dir, file=sys.stderr)
        env = dict(os.environ, ONNXRUNTIME_NODE_INSTALL="skip")
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "onnxruntime-node"],
                       cwd=ort_dir, env=env, check=True, stdout=sys.stderr)
    return os.path.join(ort_dir, "node_modules")


def ensure_model(model_dir, name):
    files = [os.path.join(model_dir, name + ext) for ext in (".onnx", ".input.npy", ".ref.npy")]
    if not all(os.path.exists(f) for f in files):
        print("exporting", name, "into", model_dir, file=sys.stderr)
        subprocess.run([os.path.join(ROOT, "tests", "e2e", "export_models.sh"), model_dir, name],
                       check=True, stdout=sys.stderr)
    return files


def flops_of(cnnc, onnx):
    # -O1: the model's own work, before -O2's rewrites take some of it away (an average
    # pool moved before a 1x1 conv), so that GFLOP/s compare with ORT's on equal terms
    out = run([cnnc, "--summary", "-O1", onnx]).stdout
    return int(re.search(r"^FLOPs\s+(\d+)", out, re.M).group(1))


def build_cnnc(cnnc, onnx, work, name, backend, cc, level):
    exe = os.path.join(work, name + "_" + backend)
    if backend == "c":
        src = exe + ".c"
        run([cnnc, onnx, level, "-o", src, "--main"])
        run([cc, "-O2", "-fopenmp", src, "-o", exe, "-lm"])
    else:
        run([cnnc, onnx, level, "-o", exe])
    return exe


def time_cnnc(exe, threads, runs, extra_env=()):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    env.update(kv.split("=", 1) for kv in extra_env)
    out = run([exe, "--bench", str(runs), "--threads", str(threads)], env=env).stdout
    m = re.search(r"min ([\d.]+) ms, median ([\d.]+) ms", out)
    return float(m.group(2)), float(m.group(1))


def time_ort(node_path, onnx, inp, threads, runs, out=None):
    env = dict(os.environ, NODE_PATH=node_path, OMP_NUM_THREADS=str(threads))
    cmd = ["node", os.path.join(HERE, "ort_time.js"), onnx, inp, str(threads), str(runs)]
    if out:
        cmd.append(out)
    r = json.loads(run(cmd, env=env).stdout.strip().splitlines()[-1])
    return r["median"], r["min"]


def agree(a, b):
    import numpy as np
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    diff = float(np.abs(a - b).max())
    tol = 1e-4 * float(np.abs(b).max())
    return diff <= tol and int(a.argmax()) == int(b.argmax()), diff, tol


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def chart(rows, threads, backends, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no chart", file=sys.stderr)
        return
    names = [r["model"] for r in rows]
    series = [(b, t) for b in backends for t in threads]
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(1.2 * len(names) + 3, 4.5))
    for i, (b, t) in enumerate(series):
        vals = [r["ratio"].get((b, t), float("nan")) for r in rows]
        xs = [k + (i - (len(series) - 1) / 2) * width for k in range(len(names))]
        ax.bar(xs, vals, width, label="%s backend, %d thread%s" % (b, t, "s" if t > 1 else ""))
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.axhline(0.8, color="green", linewidth=0.8, linestyle="--", label="goal 0.8")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=20)
    ax.set_ylabel("cnnc latency / ONNX Runtime latency (lower is better)")
    ax.set_title("cnnc vs ONNX Runtime, best median latency")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print("chart:", path, file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="*", default=DEFAULT_MODELS)
    ap.add_argument("--cnnc", default=os.path.join(ROOT, "build", "cnnc"))
    ap.add_argument("--model-dir", default=os.path.join(ROOT, "build", "bench", "models"),
                    help="NAME.onnx, NAME.input.npy, NAME.ref.npy; missing ones are exported")
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "bench", "work"))
    ap.add_argument("--ort-dir", default="/tmp/cnnc-ort",
                    help="where onnxruntime-node is installed (outside the repository)")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=20, help="timed runs per measurement")
    ap.add_argument("--rounds", type=int, default=3,
                    help="interleaved passes over (cnnc, ORT); the best median counts")
    ap.add_argument("--llvm", action="store_true", help="also time the LLVM backend")
    ap.add_argument("--cc", default="cc")
    ap.add_argument("--level", default="-O3",
                    help="cnnc's -O level (-O3, the default here, adds Winograd convolutions)")
    ap.add_argument("--cnnc-env", action="append", default=[], metavar="VAR=VALUE",
                    help="environment for the cnnc runs, e.g. OMP_WAIT_POLICY=passive: "
                         "libgomp's spinning threads starve each other when the cores are "
                         "shared with other work")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "bench", "results"),
                    help="prefix of the .md table, .json data and .png chart")
    a = ap.parse_args()
    threads = [int(t) for t in a.threads.split(",")]
    backends = ["c"] + (["llvm"] if a.llvm else [])
    os.makedirs(a.work, exist_ok=True)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    node_path = ensure_ort(a.ort_dir)
    import numpy as np

    rows = []
    for name in a.models:
        onnx, inp, ref = ensure_model(a.model_dir, name)
        row = {"model": name, "flops": flops_of(a.cnnc, onnx), "t": {}, "ratio": {}, "ok": True,
               "notes": []}
        exes = {b: build_cnnc(a.cnnc, onnx, a.work, name, b, a.cc, a.level) for b in backends}
        # outputs: cnnc (each backend) and ORT against PyTorch's reference and each other
        refv = np.load(ref)
        ort_out = os.path.join(a.work, name + ".ort.npy")
        time_ort(node_path, onnx, inp, 1, 1, ort_out)
        ortv = np.load(ort_out)
        for b, exe in exes.items():
            out = os.path.join(a.work, name + "." + b + ".npy")
            run([exe, inp, "-o", out])
            y = np.load(out)
            for what, other in (("PyTorch", refv), ("ORT", ortv)):
                ok, diff, tol = agree(y, other)
                if not ok:
                    row["ok"] = False
                    row["notes"].append("%s vs %s: max diff %.3g > %.3g or argmax differs"
                                        % (b, what, diff, tol))
        for rnd in range(a.rounds):
            for t in threads:
                for tool in backends + ["ort"]:
                    if tool == "ort":
                        med, mn = time_ort(node_path, onnx, inp, t, a.runs)
                    else:
                        med, mn = time_cnnc(exes[tool], t, a.runs, a.cnnc_env)
                    best = row["t"].get((tool, t))
                    if best is None or med < best[0]:
                        best = (med, mn if best is None else min(mn, best[1]))
                    else:
                        best = (best[0], min(mn, best[1]))
                    row["t"][(tool, t)] = best
                    print("  %-16s round %d  %-4s %dT  median %8.2f  min %8.2f ms"
                          % (name, rnd, tool, t, med, mn), file=sys.stderr)
        for b in backends:
            for t in threads:
                row["ratio"][(b, t)] = row["t"][(b, t)][0] / row["t"][("ort", t)][0]
        rows.append(row)

    lines = []
    head = "| model | GFLOP |"
    rule = "| --- | ---: |"
    for t in threads:
        for b in backends:
            head += " cnnc-%s %dT ms (GFLOP/s) |" % (b, t)
            rule += " ---: |"
        head += " ORT %dT ms |" % t
        rule += " ---: |"
        for b in backends:
            head += " ratio %s %dT |" % (b, t)
            rule += " ---: |"
    head += " outputs |"
    rule += " --- |"
    lines += [head, rule]
    for r in rows:
        line = "| %s | %.2f |" % (r["model"], r["flops"] / 1e9)
        for t in threads:
            for b in backends:
                med, mn = r["t"][(b, t)]
                line += " %.2f / %.2f (%.0f) |" % (med, mn, r["flops"] / med / 1e6)
            med, mn = r["t"][("ort", t)]
            line += " %.2f / %.2f |" % (med, mn)
            for b in backends:
                line += " %.2f |" % r["ratio"][(b, t)]
        line += " %s |" % ("agree" if r["ok"] else "DIFFER: " + "; ".join(r["notes"]))
        lines.append(line)
    gm = "| geometric mean | |"
    for t in threads:
        gm += " |" * len(backends) + " |"
        for b in backends:
            gm += " **%.2f** |" % geomean([r["ratio"][(b, t)] for r in rows])
    gm += " |"
    lines.append(gm)
    table = "\n".join(lines)
    print("times: median / min ms over %d runs, best of %d interleaved rounds; "
          "ratio = cnnc median / ORT median%s" % (a.runs, a.rounds,
                                                 "; cnnc with " + " ".join(a.cnnc_env)
                                                 if a.cnnc_env else ""))
    print(table)
    with open(a.out + ".md", "w") as f:
        f.write("%s\n\n%s\n" % (time.strftime("%Y-%m-%d %H:%M"), table))
    with open(a.out + ".json", "w") as f:
        json.dump([{"model": r["model"], "flops": r["flops"], "ok": r["ok"],
                    "times": {"%s_%dT" % k: v for k, v in r["t"].items()},
                    "ratio": {"%s_%dT" % k: v for k, v in r["ratio"].items()}} for r in rows],
                  f, indent=1)
    chart(rows, threads, backends, a.out + ".png")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
