#!/usr/bin/python3
"""Train LeNet-5 on scikit-learn's bundled 8x8 digits (no download) and export it: the one
model in models/ with real weights, so cnnc's output can be judged by accuracy, not only by
agreement with PyTorch.

usage: train_lenet_digits.py        (writes next to this script; about 10 s on 2 cores)

Outputs: lenet5_digits.onnx (dynamic batch N), samples/sample_II_labelL.npy (single test
images), digits_test/{inputs.npy, labels.npy, torch_accuracy.txt} (the whole held-out set).
"""
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import export_common as ec
from lenet5 import LeNet5

HERE = os.path.dirname(os.path.abspath(__file__))
EPOCHS, BATCH, LR = 15, 32, 2e-3
NSAMPLES = 6


def load_images():
    """8x8 digits with values 0..16 -> [N,1,32,32] in [0,1], framed like MNIST for LeNet-5:
    the digit fills the central 28x28 and a 2-pixel zero border keeps it off the edges."""
    digits = load_digits()
    x = torch.from_numpy(digits.images.astype(np.float32) / 16.0).unsqueeze(1)
    x = F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False).clamp(0, 1)
    return F.pad(x, (2, 2, 2, 2)).numpy(), digits.target.astype(np.int64)


def train(model, x, y):
    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    model.train()
    for epoch in range(EPOCHS):
        total = 0.0
        for idx in torch.randperm(len(x), generator=gen).split(BATCH):
            opt.zero_grad()
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        print(f"epoch {epoch + 1:2d}: train loss {total / len(x):.4f}")
    model.eval()


def save_test_set(x, y, logits):
    pred = logits.argmax(1)
    correct = int((pred == y).sum())
    # cnnc must reproduce this count exactly: a near tie between the two best classes
    # could flip under a different summation order, so report how far we are from one
    top2 = -np.sort(-logits, axis=1)[:, :2]
    margin = float((top2[:, 0] - top2[:, 1]).min())
    print(f"test accuracy {correct}/{len(y)} = {correct / len(y):.6f}, smallest top-2 margin "
          f"{margin:.3g}")

    out = os.path.join(HERE, "digits_test")
    os.makedirs(out, exist_ok=True)
    np.save(os.path.join(out, "inputs.npy"), x)
    np.save(os.path.join(out, "labels.npy"), y)
    with open(os.path.join(out, "torch_accuracy.txt"), "w") as f:
        f.write(f"{correct / len(y):.6f}\n")    # 6 digits: exact for up to 10^6 samples
    return correct / len(y)


def save_samples(x, y):
    """The first test image of each of NSAMPLES different labels, for the README demo."""
    out = os.path.join(HERE, "samples")
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        if f.startswith("sample_") and f.endswith(".npy"):
            os.remove(os.path.join(out, f))     # a retrain may pick other indices
    seen = set()
    for i, label in enumerate(y):
        if label not in seen and len(seen) < NSAMPLES:
            seen.add(label)
            np.save(os.path.join(out, f"sample_{i:02d}_label{label}.npy"), x[i:i + 1])


def main():
    t0 = time.time()
    torch.manual_seed(0)
    x, y = load_images()
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    model = LeNet5()
    train(model, xtr, ytr)
    with torch.no_grad():
        logits = model(torch.from_numpy(xte)).numpy()
    acc = save_test_set(xte, yte, logits)
    if acc < 0.95:
        raise SystemExit(f"error: test accuracy {acc:.4f} is below 0.95")
    save_samples(xte, yte)

    path = os.path.join(HERE, "lenet5_digits.onnx")
    ec.export_onnx(model, xte[:1], path, 13, torch.onnx.TrainingMode.EVAL,
                   dynamic_axes={"input": {0: "N"}, "output": {0: "N"}})
    print(f"wrote {path} in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
