#!/usr/bin/env bash
# Installs the Debian packages Hallmark needs on the host, only when something is missing.
set -euo pipefail

packages=(qemu-system-x86 qemu-utils mmdebstrap e2fsprogs libxml2-dev libxml2-utils pkg-config util-linux tar)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${db:Status-Abbrev}' "$package" 2>/dev/null | grep -q '^ii' || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing missing host packages: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
