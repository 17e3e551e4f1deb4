#!/usr/bin/python3
"""LeNet-5 (LeCun et al. 1998) for 1x32x32 images, and its export with random weights.

usage: lenet5.py OUTDIR [--bn] [--opset 13] [--batch 1]

Writes OUTDIR/lenet5.{onnx,input.npy,ref.npy} and lenet5_bn.onnx like export_torchvision.py.
The paper's network has no BatchNorm, so lenet5_bn.onnx is a link to lenet5.onnx; --bn
exports the variant "lenet5bn" (BN after every conv and hidden fc) instead, a sub-second
model whose lenet5bn_bn.onnx has BatchNormalization after both Conv and Gemm to fold.
With static shapes torch folds the flatten's shape chain itself; it survives only in the
dynamic-batch export (train_lenet_digits.py).
"""
import torch
from torch import nn

import export_common as ec


class LeNet5(nn.Module):
    """Departures from the paper, as in most modern renderings: C3 connects to all six S2
    maps (the paper's sparse table was a 1998 compute saving), the subsampling layers are
    plain 2x2 averages, tanh is unscaled, and the RBF output is a linear layer (logits).
    C5 is a 5x5 conv on a 5x5 map, i.e. a fully connected layer, so it is written as one."""

    def __init__(self, batchnorm=False, nclasses=10):
        super().__init__()

        def norm(n, dim):
            if not batchnorm:
                return nn.Identity()
            return nn.BatchNorm2d(n) if dim == 2 else nn.BatchNorm1d(n)

        self.c1 = nn.Conv2d(1, 6, 5)            # 32x32 -> 6@28x28
        self.n1 = norm(6, 2)
        self.s2 = nn.AvgPool2d(2)               # -> 6@14x14
        self.c3 = nn.Conv2d(6, 16, 5)           # -> 16@10x10
        self.n3 = norm(16, 2)
        self.s4 = nn.AvgPool2d(2)               # -> 16@5x5
        self.c5 = nn.Linear(16 * 5 * 5, 120)
        self.n5 = norm(120, 1)
        self.f6 = nn.Linear(120, 84)
        self.n6 = norm(84, 1)
        self.out = nn.Linear(84, nclasses)

    def forward(self, x):
        x = self.s2(torch.tanh(self.n1(self.c1(x))))
        x = self.s4(torch.tanh(self.n3(self.c3(x))))
        # view(size(0), -1) rather than flatten(): exported with a dynamic batch, this is the
        # Shape->Gather->Unsqueeze->Concat->Reshape chain that cnnc must fold
        x = x.view(x.size(0), -1)
        x = torch.tanh(self.n5(self.c5(x)))
        x = torch.tanh(self.n6(self.f6(x)))
        return self.out(x)


def main():
    p = ec.parse_args(__doc__.splitlines()[0], with_name=False)
    p.add_argument("--bn", action="store_true", help="export the BatchNorm variant lenet5bn")
    args = p.parse_args()
    torch.manual_seed(0)
    model = LeNet5(batchnorm=args.bn)
    ec.export_model(model, args.out_name or ("lenet5bn" if args.bn else "lenet5"), args.outdir,
                    (args.batch, 1, 32, 32), args.opset)


if __name__ == "__main__":
    main()
