"""Shared steps for the model exporters: BatchNorm recalibration, reference checks and the
two ONNX exports (BN folded by torch, BN preserved) that the end-to-end tests compile.

Every model NAME yields NAME.onnx, NAME_bn.onnx, NAME.input.npy and NAME.ref.npy (PyTorch's
answer computed in float64), and NAME.torch32.npy (its float32 answer) in OUTDIR;
the two graphs compute the same function, so both are checked against the one reference.
For a model without BatchNorm, NAME_bn.onnx is a symlink to NAME.onnx.
"""
import argparse
import copy
import os
import sys
import time
import warnings

import numpy as np
import onnx
import torch


def parse_args(description, with_name=True):
    p = argparse.ArgumentParser(description=description)
    if with_name:
        p.add_argument("name", help="torchvision model name, e.g. resnet18")
    p.add_argument("outdir", help="directory for NAME.onnx, NAME_bn.onnx, NAME.{input,ref}.npy")
    p.add_argument("--opset", type=int, default=13)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--out-name", help="base name of the files (default: the model's name), "
                   "e.g. resnet18_opset11 for a variant")
    return p


def fail(msg):
    sys.exit(f"error: {msg}")


def random_input(shape, seed):
    # numpy, not torch: the input must not depend on how many torch draws came before it
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def recalibrate_batchnorm(model, chw, steps=4, batch=8):
    """Give every BatchNorm running statistics that match its actual inputs.

    Freshly initialised BN layers have mean 0 / var 1, which is wrong for random weights:
    activations then grow or vanish layer by layer and the logits end up constant or huge.
    momentum=None makes the running stats a plain average over the calibration batches.
    """
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.momentum = None
        bn.reset_running_stats()
    if bns:
        model.train()
        with torch.no_grad():
            for i in range(steps):
                model(torch.from_numpy(random_input((batch, *chw), 1000 + i)))
    # the exporter writes momentum into the graph: keep it as users' models have it
    for bn, momentum in zip(bns, momenta):
        bn.momentum = momentum
    model.eval()
    return len(bns)


def logits32(model, x):
    """PyTorch's own float32 answer, to tell how far float32 rounding alone takes it."""
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy().astype(np.float32)


def logits(model, x):
    """The model's output for x, computed in float64 and rounded to float32.

    The reference is the exact answer, not one float32 evaluation of it: in deep random-weight
    networks (ResNet-101/152) two float32 evaluations with different summation orders differ
    by more than 1e-4 of the largest logit although each is within 1e-4 of the exact one, so
    comparing float32 against float32 would fail correct code."""
    exact = copy.deepcopy(model).double()
    with torch.no_grad():
        y = exact(torch.from_numpy(x).double())
    if not isinstance(y, torch.Tensor):     # e.g. a namedtuple from a model with aux heads
        fail(f"model returned {type(y).__name__}, expected one tensor")
    return y.numpy().astype(np.float32)


def check_not_degenerate(ref, other):
    """Random weights can silently produce useless references (constant, zero, or
    input-independent logits); a test against such a reference proves nothing."""
    mean_abs = float(np.abs(ref).mean())
    max_abs = float(np.abs(ref).max())
    if max_abs < 1e-6:
        fail(f"degenerate reference: all |logits| < 1e-6 (max {max_abs:.3g})")
    if float(ref.std()) < 1e-3 * mean_abs:
        fail(f"degenerate reference: logits std {ref.std():.3g} < 1e-3 * mean|logits| "
             f"{mean_abs:.3g}")
    rel = float(np.abs(ref - other).max()) / max_abs
    if rel < 1e-3:
        fail(f"degenerate reference: a different input changes the logits by only "
             f"{rel:.3g} (relative)")
    return rel


def top_margin(ref):
    """Smallest gap between consecutive top-6 logits of any row, relative to max|ref|:
    if it is below the compare tolerance, the argmax/top-5 checks may flip legitimately."""
    rows = ref.reshape(ref.shape[0], -1) if ref.ndim >= 2 else ref.reshape(1, -1)
    top = -np.sort(-rows, axis=1)[:, :6]
    if top.shape[1] < 2:
        return float("inf")
    return float(np.diff(-top, axis=1).min()) / float(np.abs(ref).max())


def count_bn(path):
    return sum(n.op_type == "BatchNormalization" for n in onnx.load(path).graph.node)


def export_onnx(model, x, path, opset, training, dynamic_axes=None):
    # torch warns about constant folding with PRESERVE even for a model in eval mode,
    # where folding cannot touch trainable state
    warnings.filterwarnings("ignore", message="It is recommended that constant folding")
    # shape asserts (ViT) become constants in the trace: intended, shapes are static here
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    torch.onnx.export(model, torch.from_numpy(x), path, input_names=["input"],
                      output_names=["output"], opset_version=opset, training=training,
                      dynamic_axes=dynamic_axes)
    # the path form of the checker also handles files beyond protobuf's 2 GB limit
    onnx.checker.check_model(path)


def export_model(model, name, outdir, input_shape, opset):
    """Calibrate, check the reference, write the four files. The model must be built
    right after torch.manual_seed(0) so its weights are reproducible."""
    t0 = time.time()
    os.makedirs(outdir, exist_ok=True)
    nbn = recalibrate_batchnorm(model, input_shape[1:])
    x = random_input(input_shape, 0)
    ref = logits(model, x)
    rel = check_not_degenerate(ref, logits(model, random_input(input_shape, 1)))

    base = os.path.join(outdir, name)
    export_onnx(model, x, base + ".onnx", opset, torch.onnx.TrainingMode.EVAL)
    if os.path.lexists(base + "_bn.onnx"):
        os.remove(base + "_bn.onnx")
    if nbn:
        # PRESERVE keeps the (eval-mode) model's BatchNormalization nodes, which the default
        # export folds into the Conv before them: this graph exercises cnnc's own folding
        export_onnx(model, x, base + "_bn.onnx", opset, torch.onnx.TrainingMode.PRESERVE)
    else:
        # without BN layers the PRESERVE export is byte-identical: spare the disk (VGG-16
        # is 550 MB) but keep the name, so every model has the same four files
        os.symlink(name + ".onnx", base + "_bn.onnx")
    nbn_default, nbn_kept = count_bn(base + ".onnx"), count_bn(base + "_bn.onnx")
    if nbn_kept != nbn:
        fail(f"{name}_bn.onnx has {nbn_kept} BatchNormalization nodes, model has {nbn} BN layers")

    np.save(base + ".input.npy", x)
    torch32 = logits32(model, x)
    np.save(base + ".torch32.npy", torch32)
    np.save(base + ".ref.npy", ref)          # last: its presence marks a complete export
    print(f"{name}: input {list(x.shape)} output {list(ref.shape)}, BatchNormalization nodes: "
          f"{nbn_default} in {name}.onnx, {nbn_kept} in {name}_bn.onnx; logits std "
          f"{ref.std():.3g}, change for another input {rel:.3g}, top-6 margin "
          f"{top_margin(ref):.2g}; PyTorch float32 off by "
          f"{np.abs(torch32 - ref).max() / np.abs(ref).max():.2g} (relative); "
          f"{time.time() - t0:.1f} s")
