#!/usr/bin/python3
"""Network in Network (Lin, Chen and Yan, 2013) for 3x224x224 images, exported with random
weights.

usage: nin.py OUTDIR [--opset 13] [--batch 1] [--out-name nin]

Writes OUTDIR/nin.{onnx,input.npy,ref.npy} and nin_bn.onnx (a link: NiN has no BatchNorm)
like export_torchvision.py. The paper's two ideas are both here: every "mlpconv" block is a
spatial convolution followed by two 1x1 convolutions (a small MLP shared across positions),
and there is no fully connected classifier: the last block has one map per class and global
average pooling turns each map into a logit. The ImageNet configuration follows the paper's
4-block model (its Table 4 in the Caffe model zoo): 11x11/4, 5x5, 3x3, 3x3 with 96, 256,
384 and 1000 maps, 3x3/2 max pooling between blocks and dropout before the last block.
"""
import torch
from torch import nn

import export_common as ec


def mlpconv(cin, cout, kernel, stride, padding):
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, padding), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 1), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 1), nn.ReLU(inplace=True))


class NiN(nn.Module):
    def __init__(self, nclasses=1000):
        super().__init__()
        self.features = nn.Sequential(
            mlpconv(3, 96, 11, 4, 0), nn.MaxPool2d(3, 2),
            mlpconv(96, 256, 5, 1, 2), nn.MaxPool2d(3, 2),
            mlpconv(256, 384, 3, 1, 1), nn.MaxPool2d(3, 2),
            nn.Dropout(0.5),
            mlpconv(384, nclasses, 3, 1, 1))
        self.pool = nn.AdaptiveAvgPool2d(1)
        # He initialization keeps the activations of the ReLU stack at a steady scale, so
        # the random-weight logits are neither vanishing nor constant
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return torch.flatten(self.pool(self.features(x)), 1)


def main():
    p = ec.parse_args(__doc__.splitlines()[0], with_name=False)
    args = p.parse_args()
    torch.manual_seed(0)
    ec.export_model(NiN(), args.out_name or "nin", args.outdir, (args.batch, 3, 224, 224),
                    args.opset)


if __name__ == "__main__":
    main()
