#!/usr/bin/python3
"""Export a torchvision classifier with seeded random weights (pretrained weights cannot be
downloaded here) to ONNX, with an input and PyTorch's output for it as the reference.

usage: export_torchvision.py NAME OUTDIR [--opset 13] [--batch 1] [--out-name NAME]
"""
import torch
import torchvision

import export_common as ec

# Models whose aux classifiers would make forward() return a tuple in train mode
# (needed for BN calibration) and whose default init is skipped with a warning otherwise.
EXTRA_ARGS = {
    "googlenet": dict(aux_logits=False, init_weights=True),
    "inception_v3": dict(aux_logits=False, init_weights=True),
}
IMAGE_SIZE = {"inception_v3": 299}


def build(name):
    known = torchvision.models.list_models(module=torchvision.models)
    if name not in known:
        ec.fail(f"unknown torchvision classifier '{name}' (known: {', '.join(known)})")
    torch.manual_seed(0)
    model = torchvision.models.get_model(name, weights=None, **EXTRA_ARGS.get(name, {}))
    # Some layers start at exactly zero (ViT's classification head), which would make every
    # logit 0 for any input; give those the small random init the rest of the model has.
    for m in model.modules():
        if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)) and not m.weight.any():
            torch.nn.init.normal_(m.weight, std=0.02)
    return model


def main():
    args = ec.parse_args(__doc__.splitlines()[0]).parse_args()
    size = IMAGE_SIZE.get(args.name, 224)
    ec.export_model(build(args.name), args.out_name or args.name, args.outdir,
                    (args.batch, 3, size, size), args.opset)


if __name__ == "__main__":
    main()
