#!/usr/bin/env python3
"""Package.swift tells the truth: every module a target imports is declared as its dependency,
and every declared dependency is imported. Run by `make lint`."""
import glob
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
# The toolchain's own modules: never declared.
TOOLCHAIN = {"Foundation", "Glibc", "Musl", "Darwin", "Testing", "XCTest", "Synchronization", "Dispatch"}


def targets(manifest):
    found = {}
    for match in re.finditer(r'\.(?:target|testTarget|executableTarget)\(\s*name: "([^"]+)"(.*?)\)\s*,\s*\n', manifest, re.S):
        name, body = match.group(1), match.group(2).split("path:")[0]
        products = set(re.findall(r'\.product\(name: "([^"]+)"', body))
        without_products = re.sub(r'\.product\([^)]*\)?', "", body)
        found[name] = set(re.findall(r'"([A-Za-z0-9_-]+)"', without_products)) | products
    return found


def imports(directory):
    modules = set()
    for path in glob.glob(os.path.join(directory, "**", "*.swift"), recursive=True):
        depth = 0
        for line in open(path, encoding="utf-8"):
            if line.startswith("#if"):
                depth += 1
            elif line.startswith("#endif"):
                depth -= 1
            # Top-level imports only: conditional ones (#if canImport) and text inside string literals do not count.
            match = re.match(r"(?:@testable )?import (\w+)", line)
            if match and depth == 0:
                modules.add(match.group(1))
    return modules - TOOLCHAIN


def main():
    manifest = open(os.path.join(ROOT, "Package.swift"), encoding="utf-8").read()
    problems = []
    for name, declared in sorted(targets(manifest).items()):
        directory = next((d for d in (os.path.join(ROOT, "Sources", name), os.path.join(ROOT, "Tests", name)) if os.path.isdir(d)), None)
        if directory is None or not glob.glob(os.path.join(directory, "**", "*.swift"), recursive=True):
            continue  # C targets and system libraries
        used = imports(directory)
        for module in sorted(used - declared):
            problems.append(f"Package.swift: target {name} imports {module} but does not declare it")
        for module in sorted(declared - used):
            problems.append(f"Package.swift: target {name} declares {module} but imports it nowhere")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
