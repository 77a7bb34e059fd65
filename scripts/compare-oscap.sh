#!/bin/bash
# make compare-oscap: evaluates the same root filesystems with Hallmark's CIS policy and with
# OpenSCAP's SSG cis_level1_server profile, and compares them through scripts/oscap/mapping.tsv,
# printing every disagreement with its explanation from scripts/oscap/explanations.tsv.
#
# Trees: every parent tarball in $HALLMARK_HOME/cache/parents, and the newest disk of each image
# named in $COMPARE_IMAGES found under $HALLMARK_IMAGES. Needs root (loop mounts in a private
# mount namespace, which ends with the command: nothing stays mounted).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
home=${HALLMARK_HOME:-$root/.build/hallmark-test-home}
images=${HALLMARK_IMAGES:-$home/images}
names=${COMPARE_IMAGES:-"e2e-minimal debian-12-cis"}
work=$root/.build/oscap
hallmark=$root/.build/debug/hallmark
profile=xccdf_org.ssgproject.content_profile_cis_level1_server
mkdir -p "$work/results" "$work/empty"

command -v oscap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y openscap-scanner >/dev/null
# Bookworm's and trixie's ssg-debian have no Debian 12 CIS profile: take sid's, unpacked, not installed.
ds=$work/ssg/usr/share/xml/scap/ssg/content/ssg-debian12-ds.xml
if [ ! -f "$ds" ]; then
    apt=$work/apt
    mkdir -p "$apt/lists/partial" "$apt/archives/partial"
    echo "deb http://deb.debian.org/debian sid main" >"$apt/sources.list"
    opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt")
    apt-get "${opts[@]}" update >/dev/null
    (cd "$work" && apt-get "${opts[@]}" download ssg-debian >/dev/null 2>&1)
    dpkg-deb -x "$(ls "$work"/ssg-debian_*_all.deb | tail -1)" "$work/ssg"
fi
[ -x "$hallmark" ] || (cd "$root" && swift build >/dev/null)

# OpenSCAP on a tree: host apt.conf.d files (docker-clean) make its dpkginfo probe fail silently,
# so an empty directory hides them, in a private mount namespace.
oscap_tree() { # tree-dir results.xml
    unshare -m --propagation private sh -c '
        mount --bind "$1" /etc/apt/apt.conf.d
        OSCAP_PROBE_ROOT="$2" oscap xccdf eval --profile "$3" --results "$4" "$5" >/dev/null 2>&1 || true' \
        sh "$work/empty" "$1" "$profile" "$2" "$ds"
}
# The same on a disk: converted to raw and mounted read-only (no journal replay) inside the namespace.
oscap_disk() { # disk.qcow2 results.xml
    raw=$work/disk.raw
    qemu-img convert -O raw "$1" "$raw"
    mkdir -p "$work/mnt"
    unshare -m --propagation private sh -c '
        mount -o ro,loop,noload "$1" "$2"
        mount --bind "$3" /etc/apt/apt.conf.d
        OSCAP_PROBE_ROOT="$2" oscap xccdf eval --profile "$4" --results "$5" "$6" >/dev/null 2>&1 || true' \
        sh "$raw" "$work/mnt" "$work/empty" "$profile" "$2" "$ds"
    rm -f "$raw"
}
seconds() { local start=$1; echo "$(($(date +%s%N) - start))" | awk '{ printf "%.2f", $1 / 1e9 }'; }

status=0
compare() { # name oscap-seconds hallmark-seconds
    echo "== $1 (OpenSCAP $2 s, Hallmark $3 s)"
    python3 "$root/scripts/oscap/compare.py" --tree "$1" --oscap "$work/results/$1.xml" --hallmark "$work/results/$1-hallmark.json" \
        --mapping "$root/scripts/oscap/mapping.tsv" --explanations "$root/scripts/oscap/explanations.tsv" || status=1
}
for tar in "$home"/cache/parents/*.tar; do
    [ -f "$tar" ] || continue
    name=parent-$(basename "$tar" .tar | cut -c1-8)
    tree=$work/trees/$name
    [ -d "$tree/etc" ] || { mkdir -p "$tree" && tar xf "$tar" -C "$tree"; }
    t=$(date +%s%N); oscap_tree "$tree" "$work/results/$name.xml"; o=$(seconds "$t")
    t=$(date +%s%N); "$hallmark" policy test "$root/policies/cis-debian12-level1.yaml" --rootfs "$tree" --json >"$work/results/$name-hallmark.json" || true; h=$(seconds "$t")
    compare "$name" "$o" "$h"
done
for image in $names; do
    disk=$(ls -d "$images/$image"/*/disk.qcow2 2>/dev/null | sort -V | tail -1) || true
    [ -n "$disk" ] || { echo "== $image: no built image under $images"; continue; }
    t=$(date +%s%N); oscap_disk "$disk" "$work/results/$image.xml"; o=$(seconds "$t")
    t=$(date +%s%N); "$hallmark" policy test "$root/policies/cis-debian12-level1.yaml" --rootfs "$disk" --json >"$work/results/$image-hallmark.json" || true; h=$(seconds "$t")
    compare "$image" "$o" "$h"
done
exit $status
