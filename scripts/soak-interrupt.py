#!/usr/bin/env python3
"""Interrupts `hallmark test` with SIGINT at random moments and checks nothing is left behind.

Each run targets one phase in turn (the artifact's static facts, read on the host as the boot
starts; boot; reboot; checks; report): it waits for that phase's progress line, sleeps a random
part of the phase's usual length, and sends SIGINT. It then checks that hallmark exited 130, that
no QEMU of the image is running, that no new run directory is left under $HALLMARK_HOME/run, and
that no loop device still reads a file under $HALLMARK_HOME. A run where hallmark finished before
the signal landed is repeated.

usage: scripts/soak-interrupt.py [RECIPE] [--runs N] [--hallmark PATH] [--seed S]
"""
import argparse, os, random, signal, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Phase: (progress line that starts it, how long after it to interrupt at most, in seconds).
PHASES = {
    "image": ("boot ", 4.0),
    "boot": ("boot ", 30.0),
    "reboot": ("reboot and wait", 35.0),
    "checks": ("collect facts for", 2.0),
    "report": ("collect facts for", None),  # after the collection is done: digests and reports
}


def qemu_processes(name):
    out = subprocess.run(["pgrep", "-f", f"qemu-system-x86_64 -name hallmark-{name}"], capture_output=True, text=True)
    return [line for line in out.stdout.split() if line]


def loop_devices(home):
    """Loop devices whose backing file lies under `home` (the artifact or its raw copy)."""
    found = []
    for device in os.listdir("/sys/block"):
        try:
            with open(f"/sys/block/{device}/loop/backing_file") as handle:
                backing = handle.read().strip()
        except OSError:
            continue
        if backing.startswith(home):
            found.append(f"{device}: {backing}")
    return found


def one_run(hallmark, recipe, image, phase, rng, home, reports):
    marker, spread = PHASES[phase]
    before = set(os.listdir(os.path.join(home, "run"))) if os.path.isdir(os.path.join(home, "run")) else set()
    process = subprocess.Popen([hallmark, "test", recipe, "--reports", reports], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, bufsize=1)
    delay = None
    for line in process.stdout:
        if marker in line and (phase != "report" or ": done in" in line) and (phase == "report" or "…" in line):
            delay = rng.uniform(0, spread) if spread else rng.uniform(0, 1.5)
            break
    if delay is None:
        process.wait()
        return None, "phase never started"
    time.sleep(delay)
    if process.poll() is not None:
        return None, "finished before the signal"
    process.send_signal(signal.SIGINT)
    output = process.stdout.read()
    code = process.wait(timeout=120)
    time.sleep(0.5)
    left_qemu = qemu_processes(image)
    after = set(os.listdir(os.path.join(home, "run"))) if os.path.isdir(os.path.join(home, "run")) else set()
    left_dirs = sorted(after - before) + loop_devices(home)
    return (code, delay, left_qemu, left_dirs, output.strip().splitlines()[-1:] or [""]), None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe", nargs="?", default=os.path.join(ROOT, "Tests", "Fixtures", "minimal.yaml"))
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--hallmark", default=os.path.join(ROOT, ".build", "debug", "hallmark"))
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    home = os.environ.get("HALLMARK_HOME", os.path.expanduser("~/.hallmark"))
    with open(args.recipe) as handle:
        image = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("name:"))
    if subprocess.run([args.hallmark, "test", args.recipe, "--help"], capture_output=True).returncode != 0:
        sys.exit("hallmark not built: run make build")
    print(f"seed {args.seed}; recipe {args.recipe}; {args.runs} runs", flush=True)

    failures = 0
    phases = list(PHASES)
    with tempfile.TemporaryDirectory(prefix="hallmark-soak-") as reports:
        run = 0
        while run < args.runs:
            phase = phases[run % len(phases)]
            result, skipped = one_run(args.hallmark, args.recipe, image, phase, rng, home, reports)
            if skipped:
                print(f"  {phase:>7}: {skipped}; again", flush=True)
                continue
            run += 1
            code, delay, left_qemu, left_dirs, last = result
            ok = code == 130 and not left_qemu and not left_dirs
            failures += not ok
            print(f"  run {run:2}: SIGINT {delay:5.1f} s into {phase:<7} exit {code}, QEMU left {len(left_qemu)}, "
                  f"run directories and loop devices left {len(left_dirs)}{'' if ok else '  <-- ' + ' '.join(last + left_dirs)}", flush=True)
            for pid in left_qemu:
                os.kill(int(pid), signal.SIGKILL)
    print(f"{args.runs - failures}/{args.runs} runs exited 130 with no QEMU, run directory or loop device left")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
