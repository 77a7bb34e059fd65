#!/usr/bin/env python3
"""Benchmarks Hallmark's image build against a bare mmdebstrap of the same parent, in one run:

1. bare: `mmdebstrap` of the recipe's parent (suite, variant, packages) to a tarball, as Hallmark
   runs it, with nothing else;
2. cold: `hallmark build` of the recipe in a fresh HALLMARK_HOME (no parent cache, no layer cache);
3. warm: `hallmark build` again after editing only the last component (a comment appended to a
   copy of its file), in the same home: the layer cache restores the tree before it.

It prints the three wall times and the two ratios the goals are stated in (cold <= 1.2 x bare,
warm <= 15 s). Needs root and the network, like a build.

usage: scripts/bench-build.py [RECIPE] [--hallmark PATH] [--keep]
"""
import argparse, os, re, shutil, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parent_of(recipe_text):
    """suite, variant and packages of the recipe's debian parent (the flow-style package list the shipped recipes use)."""
    suite = re.search(r"^\s+suite:\s*(\S+)", recipe_text, re.M).group(1)
    variant = re.search(r"^\s+variant:\s*(\S+)", recipe_text, re.M)
    packages = re.search(r"^\s+packages:\s*\[([^\]]*)\]", recipe_text, re.M)
    names = sorted({name.strip() for name in packages.group(1).split(",") if name.strip()}) if packages else []
    return suite, variant.group(1) if variant else "minbase", names


def timed(argv, **kwargs):
    started = time.monotonic()
    result = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    # Where a build's time went: its progress lines ("hallmark: <step>: done in 4.2s").
    for line in (result.stdout + result.stderr).splitlines():
        if ": done in " in line:
            print("    " + line.removeprefix("hallmark: "), flush=True)
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe", nargs="?", default=os.path.join(ROOT, "recipes/debian-12-minimal.yaml"))
    parser.add_argument("--hallmark", default=os.path.join(ROOT, ".build/debug/hallmark"))
    parser.add_argument("--keep", action="store_true", help="keep the scratch home")
    args = parser.parse_args()

    recipe_path = os.path.abspath(args.recipe)
    with open(recipe_path) as handle:
        text = handle.read()
    suite, variant, packages = parent_of(text)
    scratch = tempfile.mkdtemp(prefix="hallmark-bench-build-", dir=os.path.join(ROOT, ".build"))
    try:
        # The recipe, its components copied beside it (paths made absolute), so the last one can be edited.
        directory = os.path.dirname(recipe_path)
        components = re.findall(r"^\s+- path:\s*(\S+)", text, re.M)
        if not components:
            sys.exit("the recipe has no components: nothing to edit for the warm rebuild")
        last = os.path.normpath(os.path.join(directory, components[-1]))
        edited = os.path.join(scratch, os.path.basename(last))
        shutil.copyfile(last, edited)
        copy = text
        for component in components[:-1]:
            copy = copy.replace(component, os.path.normpath(os.path.join(directory, component)), 1)
        copy = copy.replace(components[-1], edited, 1)
        copy = re.sub(r"^(\s+policies:\s*)\[.*\]", r"\1[]", copy, flags=re.M)  # building only: no policy paths to resolve
        copy = re.sub(r"^(\s+waivers:).*$", "", copy, flags=re.M)
        recipe = os.path.join(scratch, "recipe.yaml")
        with open(recipe, "w") as handle:
            handle.write(copy)
        env = dict(os.environ, HALLMARK_HOME=os.path.join(scratch, "home"))
        reports = os.path.join(scratch, "reports")

        command = ["mmdebstrap", f"--variant={variant}", "--format=tar", "--architectures=amd64"]
        if packages:
            command.append("--include=" + ",".join(packages))
        print(f"bare: {' '.join(command)} {suite} …", flush=True)
        bare = timed(command + ["--", suite, os.path.join(scratch, "bare.tar")])
        os.remove(os.path.join(scratch, "bare.tar"))
        print(f"  {bare:.1f} s", flush=True)

        print("cold: hallmark build (fresh home)…", flush=True)
        cold = timed([args.hallmark, "build", recipe, "--reports", reports], env=env)
        print(f"  {cold:.1f} s", flush=True)

        with open(edited, "a") as handle:
            handle.write("# edited by bench-build\n")
        print("warm: hallmark build after editing only the last component…", flush=True)
        warm = timed([args.hallmark, "build", recipe, "--reports", reports], env=env)
        print(f"  {warm:.1f} s", flush=True)

        print(f"\nbare mmdebstrap {bare:.1f} s | cold build {cold:.1f} s ({cold / bare:.2f} x bare; goal <= 1.2) | "
              f"warm rebuild {warm:.1f} s (goal <= 15 s)")
        print(f"machine load average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
