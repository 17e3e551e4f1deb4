#!/usr/bin/python3
"""What the optimizer buys: each model compiled at -O0 (the unfused baseline) and -O2,
through the C backend (cc -O2 -fopenmp) and the LLVM backend, run side by side.

usage: bench/fused_vs_unfused.py [--cnnc build/cnnc] [--runs 20] [--rounds 3]
                                 [--threads 1] [--models DIR] MODEL...
MODEL is a name whose MODEL.onnx (or MODEL_bn.onnx, preferred: BatchNorm kept in the
graph) sits in --models (tests/e2e/export_models.sh writes them). Prints, per model and
level: kernel calls, arena bytes, weight bytes, and the median latency per backend (the
best median over --rounds interleaved rounds: the machines are shared and noisy), then the
-O2 speedup over -O0.
"""
import argparse, os, re, statistics, subprocess, sys, tempfile


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode:
        sys.exit("failed: %s\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    return r.stdout


def summary(cnnc, onnx, level):
    out = run([cnnc, "--summary", onnx, level])
    get = lambda key: int(re.search(r"^%s\s+(\d+)" % key, out, re.M).group(1))
    return {"calls": get("kernel calls"), "arena": get("arena bytes"),
            "weights": get("weight bytes")}


def build(cnnc, onnx, level, backend, work):
    stem = os.path.join(work, "%s_%s_%s" % (os.path.basename(onnx)[:-5], level[1:], backend))
    if backend == "c":
        run([cnnc, onnx, level, "--main", "--quiet", "-o", stem + ".c"])
        run([os.environ.get("CC", "cc"), "-O2", "-fopenmp", stem + ".c", "-o", stem, "-lm"])
    else:
        run([cnnc, onnx, level, "--quiet", "-o", stem])
    return stem


def median_ms(exe, runs, threads):
    out = run([exe, "--bench", str(runs), "--threads", str(threads)])
    return float(re.search(r"median ([0-9.]+) ms", out).group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cnnc", default="build/cnnc")
    ap.add_argument("--models", default="build/e2e/models")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--backends", default="c,llvm")
    ap.add_argument("names", nargs="+")
    a = ap.parse_args()
    backends = a.backends.split(",")
    work = tempfile.mkdtemp(prefix="cnnc-bench-")
    rows = []
    for name in a.names:
        onnx = os.path.join(a.models, name + "_bn.onnx")
        if not os.path.exists(onnx):
            onnx = os.path.join(a.models, name + ".onnx")
        exes, info = {}, {}
        for level in ("-O0", "-O2"):
            info[level] = summary(a.cnnc, onnx, level)
            for b in backends:
                exes[level, b] = build(a.cnnc, onnx, level, b, work)
        best = {}
        for _ in range(a.rounds):           # interleaved: drift hits every variant alike
            for key, exe in exes.items():
                ms = median_ms(exe, a.runs, a.threads)
                best[key] = min(best.get(key, ms), ms)
        rows.append((name, info, best))

    print("threads=%d, median of %d runs, best of %d interleaved rounds" %
          (a.threads, a.runs, a.rounds))
    head = "%-16s %-4s %6s %12s %12s" % ("model", "-O", "calls", "arena B", "weights B")
    head += "".join(" %10s" % (b + " ms") for b in backends)
    print(head)
    for name, info, best in rows:
        for level in ("-O0", "-O2"):
            i = info[level]
            line = "%-16s %-4s %6d %12d %12d" % (name, level[1:], i["calls"], i["arena"],
                                                 i["weights"])
            line += "".join(" %10.2f" % best[level, b] for b in backends)
            print(line)
        print("%-16s %-4s %6s %12s %12s" % ("", "gain", "", "", "") +
              "".join(" %9.2fx" % (best["-O0", b] / best["-O2", b]) for b in backends))
    geo = {b: statistics.geometric_mean([best["-O0", b] / best["-O2", b]
                                         for _, _, best in rows]) for b in backends}
    print("geometric mean speedup -O2 over -O0: " +
          ", ".join("%s %.2fx" % (b, g) for b, g in geo.items()))


if __name__ == "__main__":
    main()
