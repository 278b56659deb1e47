#!/usr/bin/env bash
# Installs every build and test dependency from Debian 12's packages.
set -euo pipefail
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
pkgs=(build-essential cmake pkg-config
      libopenblas-dev liblapacke-dev
      libzstd-dev libsnappy-dev zlib1g-dev libbrotli-dev liblz4-dev
      libcurl4-openssl-dev libcjson-dev libxgboost-dev
      openmpi-bin libopenmpi-dev python3
      python3-numpy python3-pandas python3-pytest python3-setuptools python3-pip
      python3-sklearn)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
