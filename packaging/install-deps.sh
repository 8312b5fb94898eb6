#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Installs every Debian 12 package that ICMIL Studio's build, tests and demo need.
# A no-op (no apt-get call at all) when everything is already present.
# Used by README.md's quick-start commands and by .ci/run, so the list lives only here.
# The last line is for the .deb packages: dpkg-shlibdeps (dpkg-dev) and file for CPack's Depends,
# man-db for the man-page test, the two validators for packaging/check-package.sh. clang-format
# checks the house style (.ci/check-style); clang and its runtimes build the libFuzzer targets
# (.ci/run-sanitizers). libgloo-dev holds the Gloo headers that torch.distributed's
# ProcessGroupGloo includes (libtorch-dev ships c10d's headers, not Gloo's).
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  qt6-base-dev libqt6svg6 libgl-dev
  libqcustomplot-dev
  libtorch-dev libopenblas0-pthread libgloo-dev
  libopenslide-dev openslide-tools
  libopencv-dev libtiff-dev libjpeg-dev
  libhdf5-dev nlohmann-json3-dev libcli11-dev libxml2-dev
  xvfb xauth
  ccache clang-format clang libclang-rt-14-dev
  dpkg-dev file man-db desktop-file-utils appstream
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
