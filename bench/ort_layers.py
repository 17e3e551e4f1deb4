#!/usr/bin/python3
"""Where ONNX Runtime's time goes, layer by layer: the counterpart of profile_layers.py.

Runs bench/ort_time.js with ORT's profiler on and prints its kernel time per op kind and
its slowest nodes (ORT's names, after its own fusions), averaged over the timed runs.
usage: bench/ort_layers.py MODEL.onnx INPUT.npy [--threads T] [--runs N] [--top K]
"""
import argparse, collections, glob, json, os, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

ap = argparse.ArgumentParser()
ap.add_argument("model")
ap.add_argument("input")
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--runs", type=int, default=20)
ap.add_argument("--top", type=int, default=25)
ap.add_argument("--ort-dir", default="/tmp/cnnc-ort",
                help="where bench_models.py installed onnxruntime-node")
a = ap.parse_args()

tmp = tempfile.mkdtemp(prefix="cnnc-ortprof-")
env = dict(os.environ, NODE_PATH=os.path.join(a.ort_dir, "node_modules"),
           ORT_PROFILE=os.path.join(tmp, "ort"))
r = subprocess.run(["node", os.path.join(HERE, "ort_time.js"), a.model, a.input,
                    str(a.threads), str(a.runs)], env=env, capture_output=True, text=True)
if r.returncode:
    sys.exit(r.stderr.strip() or "ort_time.js failed")
print("ORT:", r.stdout.strip())
events = json.load(open(glob.glob(os.path.join(tmp, "ort*.json"))[0]))
total, count, kind = collections.defaultdict(float), collections.Counter(), {}
for e in events:
    if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
        name = e["name"][: -len("_kernel_time")]
        total[name] += e["dur"] / 1000.0
        count[name] += 1
        kind[name] = e["args"].get("op_name", "?")
runs = max(count.values())          # warm-up runs are profiled too: count them all
per_run = {n: t / runs for n, t in total.items()}
print("total %.3f ms per run (kernels only, %d runs incl. warm-up)" % (sum(per_run.values()), runs))
by_op = collections.defaultdict(float)
for n, t in per_run.items():
    by_op[kind[n]] += t
for k, t in sorted(by_op.items(), key=lambda x: -x[1]):
    print("  %-24s %8.3f ms" % (k, t))
print("top nodes:")
for n, t in sorted(per_run.items(), key=lambda x: -x[1])[: a.top]:
    print("  %-60s %-14s %8.3f ms" % (n[-60:], kind[n], t))
