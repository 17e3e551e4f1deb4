#!/bin/bash
# Installs what cnnc needs to build and test, from Debian 12 packages. Does nothing when
# everything is already there, so `make` targets can call it every time.
set -euo pipefail

packages=(
    build-essential cmake pkg-config          # the build
    libprotobuf-c-dev protobuf-c-compiler     # ONNX decoding; protoc-c generates it
    check                                     # unit tests
    llvm-16-dev clang-16 lld-16 libomp-16-dev # the LLVM backend; kernels to bitcode; OpenMP
    python3 python3-numpy python3-onnx        # onnx.proto, references
    python3-torch python3-torchvision         # model exports and PyTorch's outputs
    python3-sklearn                           # the digits dataset for LeNet-5
    valgrind                                  # generated programs checked for memory errors
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
