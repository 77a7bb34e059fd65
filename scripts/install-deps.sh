#!/usr/bin/env bash
# Installs the Debian packages Hallmark needs on the host, only when something is missing.
set -euo pipefail

packages=(qemu-system-x86 qemu-utils mmdebstrap e2fsprogs mount coreutils curl libxml2-dev libsqlite3-dev libxml2-utils pkg-config util-linux tar rsync openssl jq python3-pip gcc libc6-dev gzip openscap-scanner skopeo umoci docker-registry apache2-utils)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${db:Status-Abbrev}' "$package" 2>/dev/null | grep -q '^ii' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing missing host packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python packages the tests use to check Hallmark's output with independent implementations:
# securesystemslib verifies the DSSE envelopes, junitparser reads the JUnit XML, jsonschema
# checks report.json against schemas/report.schema.json; the cryptography it brings signs the
# tokens of the registry token service the Bearer login test starts.
if ! python3 -c 'import securesystemslib, junitparser, jsonschema, cryptography' 2>/dev/null; then
  echo "installing missing Python packages: securesystemslib[crypto] junitparser jsonschema"
  # Debian's own python3 refuses system-wide installs (PEP 668) unless told otherwise.
  python3 -m pip install -q "securesystemslib[crypto]" junitparser jsonschema 2>/dev/null ||
    python3 -m pip install -q --break-system-packages "securesystemslib[crypto]" junitparser jsonschema
fi

# S3Download runs the aws CLI on the host (PyPI's: Debian 12's awscli predates AWS_ENDPOINT_URL);
# its tests serve S3 with moto on 127.0.0.1.
if ! command -v aws >/dev/null || ! command -v moto_server >/dev/null; then
  echo "installing missing Python packages: awscli moto[server]"
  python3 -m pip install -q awscli "moto[server]" 2>/dev/null ||
    python3 -m pip install -q --break-system-packages awscli "moto[server]"
fi
