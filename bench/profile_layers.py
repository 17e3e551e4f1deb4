#!/usr/bin/env python3
"""Per-layer time of a model compiled to C by cnnc: wraps every kernel call of the
generated file in a timer, builds it, runs it and prints the layers by time.
usage: bench/profile_layers.py CNNC MODEL.onnx [--level -ON] [--threads T] [--runs N] [--top K]"""
import argparse, os, re, signal, subprocess, sys, tempfile

signal.signal(signal.SIGPIPE, signal.SIG_DFL)    # quietly, when piped into head

ap = argparse.ArgumentParser()
ap.add_argument("cnnc")
ap.add_argument("model")
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--runs", type=int, default=20)
ap.add_argument("--top", type=int, default=25)
ap.add_argument("--cc", default="cc")
ap.add_argument("--level", default="-O2", help="cnnc's -O level")
ap.add_argument("--dump", help="also write 'index kernel ms name' per layer to this file")
a = ap.parse_args()

tmp = tempfile.mkdtemp(prefix="cnnc-prof-")
src = os.path.join(tmp, "m.c")
subprocess.run([a.cnnc, a.model, a.level, "-o", src, "--main", "--name", "m"], check=True)
text = open(src).read()
labels = []

def wrap(mo):
    i = len(labels)
    labels.append((mo.group(1), mo.group(2)))
    return "%s{ double t0_ = prof_now(); %s(t, p, f); prof_t[%d] += prof_now() - t0_; }" % (
        mo.group(3), mo.group(4), i)

# the step comment ("{   /* name (Op) -> shape */") precedes each call
text = re.sub(r"/\* (.*?) \(([\w.]+)\) -> .*? \*/\n((?:.*\n)*?)(\s+)(rt_\w+)\(t, p, f\);",
              lambda m: "/* %s (%s) */\n%s%s{ %sdouble t0_ = prof_now(); %s(t, p, f); "
              "prof_t[%d] += prof_now() - t0_; prof_k[%d] = \"%s\"; }" % (
                  m.group(1), m.group(2), m.group(3), m.group(4),
                  "" if labels else "prof_skip_warmup(); ", m.group(5), len(labels),
                  len(labels), m.group(5)) + ("" if labels.append((m.group(1), m.group(2)))
                                              else ""), text)
n = len(labels)
pre = ("#include <time.h>\n#include <string.h>\nstatic double prof_t[%d]; static const char *prof_k[%d];\n"
       "static double prof_now(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts);"
       " return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6; }\n"
       # the warm-up run (page faults, first allocations) is left out of the figures
       "static int prof_runs; static void prof_skip_warmup(void) { "
       "if (prof_runs++ == 1) memset(prof_t, 0, sizeof prof_t); }\n" % (n, n))
dump = ("static void prof_dump(void) { FILE *f = fopen(\"%s/prof.txt\", \"w\"); int i; "
        "for (i = 0; i < %d; i++) fprintf(f, \"%%d %%s %%.6f\\n\", i, prof_k[i], prof_t[i]); "
        "fclose(f); }\n" % (tmp, n))
# register the dump before main runs
text = text.replace("#define CNNC_RT_EMBEDDED 1", "#define CNNC_RT_EMBEDDED 1\n" + pre, 1)
text += dump + "__attribute__((constructor)) static void prof_init(void) { atexit(prof_dump); }\n"
open(src, "w").write(text)
exe = os.path.join(tmp, "m")
subprocess.run([a.cc, "-O2", "-fopenmp", src, "-o", exe, "-lm"], check=True)
r = subprocess.run([exe, "--bench", str(a.runs), "--threads", str(a.threads)],
                   capture_output=True, text=True)
print(r.stdout.strip(), r.stderr.strip())
rows = []
for line in open(os.path.join(tmp, "prof.txt")):
    i, k, t = line.split()
    rows.append((float(t) / a.runs, int(i), k))
if a.dump:
    with open(a.dump, "w") as f:
        for t, i, k in rows:
            f.write("%d %s %.6f %s\n" % (i, k, t, labels[i][0]))
total = sum(r[0] for r in rows)
print("total %.3f ms per run (warm-up run left out)" % total)
by_op = {}
for t, i, k in rows:
    key = labels[i][1] + " " + k
    by_op[key] = by_op.get(key, 0) + t
for key, t in sorted(by_op.items(), key=lambda x: -x[1]):
    print("  %-40s %8.3f ms %5.1f%%" % (key, t, 100 * t / total))
print("top layers:")
for t, i, k in sorted(rows, reverse=True)[: a.top]:
    print("  %4d %-60s %-10s %-20s %8.3f ms" % (i, labels[i][0][-60:], labels[i][1], k, t))
