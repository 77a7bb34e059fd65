#!/usr/bin/env python3
"""Times the evaluation of every shipped control on a booted guest.

Builds recipes/debian-12-cis.yaml if no build exists in HALLMARK_HOME, then runs `hallmark test`
on it N times with every policy under policies/ selected, and prints for each run the time of the
fact collection (one guest-exec of the generated collector; the "checks" timing in report.json),
the number of controls and probes, and the medians. A second series skips dpkg-verify-clean with
a waiver of mode "skip", to show what reading and hashing every package file (about 640 MB in the
CIS image) costs on its own.

usage: scripts/bench-checks.py [--runs N] [--hallmark PATH]
"""
import argparse, glob, json, os, re, statistics, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = os.path.join(ROOT, "recipes", "debian-12-cis.yaml")


def bench_recipe(directory, waivers):
    """The CIS recipe with absolute paths, every shipped policy, no reboot test, and `waivers`."""
    with open(RECIPE) as handle:
        text = handle.read().replace("../", ROOT + "/")
    policies = sorted(glob.glob(os.path.join(ROOT, "policies", "*.yaml")))
    text, count = re.subn(r"(?m)^  policies: \[.*\]$", "  policies: [" + ", ".join(policies) + "]", text)
    assert count == 1, "recipes/debian-12-cis.yaml: tests.policies is not one line"
    text, count = re.subn(r"(?m)^  waivers: .*$", "  waivers: " + waivers, text)
    assert count == 1, "recipes/debian-12-cis.yaml: tests.waivers is not one line"
    text = text.replace("  reboot: true", "  reboot: false")
    path = os.path.join(directory, "recipe.yaml")
    with open(path, "w") as handle:
        handle.write(text)
    return path


def run_series(hallmark, recipe, runs, reports, label):
    figures = []
    for index in range(runs):
        out = subprocess.run([hallmark, "test", recipe, "--quiet", "--reports", reports], capture_output=True, text=True)
        if out.returncode not in (0, 1, 2):  # 2: the reboot control is not checked here
            sys.exit(f"hallmark test failed ({out.returncode}):\n{out.stdout}{out.stderr}")
        report_path = max(glob.glob(os.path.join(reports, "*", "*", "report.json")), key=os.path.getmtime)
        with open(report_path) as handle:
            report = json.load(handle)
        with open(os.path.join(os.path.dirname(report_path), "facts.json")) as handle:
            probes = len(json.load(handle)["probes"])
        checks = report["timings"]["checks"]
        figures.append(checks)
        print(f"  {label} run {index + 1}: {len(report['controls'])} controls, {probes} probes, "
              f"collected in one guest-exec: {checks:.2f} s", flush=True)
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--hallmark", default=os.path.join(ROOT, ".build", "debug", "hallmark"))
    args = parser.parse_args()

    home = os.environ.get("HALLMARK_HOME", os.path.expanduser("~/.hallmark"))
    if not glob.glob(os.path.join(home, "images", "debian-12-cis", "*", "image.json")):
        print("building recipes/debian-12-cis.yaml (once)…", flush=True)
        subprocess.run([args.hallmark, "build", RECIPE, "--quiet"], check=True)

    with tempfile.TemporaryDirectory(prefix="hallmark-bench-checks-") as directory:
        skip = os.path.join(directory, "skip-dpkg-verify.yaml")
        with open(skip, "w") as handle:
            handle.write("waivers:\n  - control: dpkg-verify-clean\n    justification: benchmark without the package-file hashing\n"
                         "    expires: 2099-12-31\n    mode: skip\n")
        empty = os.path.join(directory, "none.yaml")
        with open(empty, "w") as handle:
            handle.write("waivers: []\n")
        everything = run_series(args.hallmark, bench_recipe(directory, empty), args.runs, os.path.join(directory, "all"), "all controls")
        os.rename(os.path.join(directory, "recipe.yaml"), os.path.join(directory, "recipe-all.yaml"))
        without = run_series(args.hallmark, bench_recipe(directory, skip), args.runs, os.path.join(directory, "skip"),
                             "without dpkg-verify-clean")

    print(f"median over {args.runs} run(s), TCG guest, 2 vCPUs:")
    print(f"  every shipped control:               {statistics.median(everything):.2f} s")
    print(f"  every shipped control but dpkg-verify-clean: {statistics.median(without):.2f} s")


if __name__ == "__main__":
    main()
