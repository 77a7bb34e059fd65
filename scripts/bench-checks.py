#!/usr/bin/env python3
"""Times the evaluation of every shipped control on a booted guest.

Builds recipes/debian-12-cis.yaml if no build exists in HALLMARK_HOME, then runs `hallmark test`
on it N times with every policy under policies/ selected, and prints for each run:
- checks: from the start of the fact collection until every fact is in (one guest-exec of the
  generated collector for the runtime probes, plus any wait for the artifact's static facts);
- imageFacts: reading the static probes from the disk artifact on the host, which runs while the
  guest boots (so it adds nothing after the boot unless it takes longer than the boot);
- the guest's boot time, and the numbers of controls and probes.
A second series sets `tests.static_facts: guest`, collecting every probe in the guest.

usage: scripts/bench-checks.py [--runs N] [--hallmark PATH]
"""
import argparse, glob, json, os, re, statistics, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = os.path.join(ROOT, "recipes", "debian-12-cis.yaml")


def bench_recipe(directory, static_facts):
    """The CIS recipe with absolute paths, every shipped policy, no reboot test, static facts from `static_facts`."""
    with open(RECIPE) as handle:
        text = handle.read().replace("../", ROOT + "/")
    policies = sorted(glob.glob(os.path.join(ROOT, "policies", "*.yaml")))
    text, count = re.subn(r"(?m)^  policies: \[.*\]$", "  policies: [" + ", ".join(policies) + "]\n  static_facts: " + static_facts, text)
    assert count == 1, "recipes/debian-12-cis.yaml: tests.policies is not one line"
    text = text.replace("  reboot: true", "  reboot: false")
    path = os.path.join(directory, f"recipe-{static_facts}.yaml")
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
            facts = json.load(handle)
        from_image = len(facts.get("probeSources") or {})
        timings = report["timings"]
        figures.append(timings["checks"])
        image = f", imageFacts {timings['imageFacts']:.2f} s during the boot" if "imageFacts" in timings else ""
        print(f"  {label} run {index + 1}: {len(report['controls'])} controls, {len(facts['probes'])} probes "
              f"({from_image} from the artifact), boot {timings['boot']:.1f} s, checks {timings['checks']:.2f} s{image}", flush=True)
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
        image = run_series(args.hallmark, bench_recipe(directory, "image"), args.runs, os.path.join(directory, "image"),
                           "static facts from the artifact")
        guest = run_series(args.hallmark, bench_recipe(directory, "guest"), args.runs, os.path.join(directory, "guest"),
                           "every fact in the guest")

    print(f"median over {args.runs} run(s), TCG guest, 2 vCPUs, every shipped control:")
    print(f"  static facts from the artifact (default): {statistics.median(image):.2f} s")
    print(f"  every fact in the guest (static_facts: guest): {statistics.median(guest):.2f} s")


if __name__ == "__main__":
    main()
