#!/usr/bin/env python3
"""Benchmarks `hallmark test` against a bare QEMU launch of the same image, then a warm `hallmark run`.

The bare harness shares nothing with Hallmark's command line: plain QEMU defaults (q35, 2 vCPUs,
1 GiB, the default CPU model, direct kernel boot of the image's kernel, initrd and kernel command
line, a virtio disk on a throw-away overlay, the serial console to a file) plus the guest agent's
socket and -no-reboot (a reboot is timed as Hallmark does it: QEMU exits, a fresh one starts). Runs alternate, Hallmark then bare, so both see the same machine load. Over N runs each it
prints the medians per phase (QEMU start to agent ready, reboot cycle) with Hallmark/bare ratios,
one guest-exec round trip, fact collection, the load average, and the wall time of one warm
`hallmark run RECIPE` (parent cached, Hallmark built).

usage: scripts/bench-vm.py RECIPE [--runs N] [--hallmark PATH] [--no-run-total]
"""
import argparse, base64, json, os, shlex, shutil, socket, statistics, subprocess, sys, tempfile, time


def hallmark_test(hallmark, recipe, reports):
    out = subprocess.run([hallmark, "test", recipe, "--quiet", "--reports", reports], capture_output=True, text=True)
    if out.returncode == 64:  # nothing built yet
        subprocess.run([hallmark, "build", recipe, "--quiet", "--reports", reports], check=True)
        out = subprocess.run([hallmark, "test", recipe, "--quiet", "--reports", reports], capture_output=True, text=True)
    if out.returncode not in (0, 1):
        sys.exit(f"hallmark test failed ({out.returncode}):\n{out.stdout}{out.stderr}")
    report_path = max(
        (os.path.join(root, name) for root, _, names in os.walk(reports) for name in names if name == "report.json"),
        key=os.path.getmtime)
    with open(report_path) as handle:
        return json.load(handle)


class Agent:
    """A minimal guest agent client: enough to time a bare launch."""

    def __init__(self, path, deadline):
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise TimeoutError("agent socket never appeared")
                time.sleep(0.02)
        self.sock.settimeout(1)
        self.buffer = b""
        self.sync_id = int(time.time())
        while True:
            self.sync_id += 1
            try:
                # Inside the try: until qemu-ga opens its port, QEMU stops reading and a send can time out too.
                self.sock.sendall(b"\xff" + json.dumps({"execute": "guest-sync-delimited", "arguments": {"id": self.sync_id}}).encode() + b"\n")
                marker = b"\xff" + json.dumps({"return": self.sync_id}).encode()  # '{"return": N}', as qemu-ga writes it
                while marker not in self.buffer:
                    chunk = self.sock.recv(4096)
                    if not chunk:
                        raise ConnectionError("agent socket closed")
                    self.buffer += chunk
                self.buffer = self.buffer.split(marker, 1)[1].split(b"\n", 1)[1] if b"\n" in self.buffer.split(marker, 1)[1] else b""
                return
            except socket.timeout:
                if time.monotonic() > deadline:
                    raise TimeoutError("agent never answered")

    def command(self, name, arguments=None):
        message = {"execute": name}
        if arguments:
            message["arguments"] = arguments
        self.sock.sendall(json.dumps(message).encode() + b"\n")
        while b"\n" not in self.buffer:
            self.buffer += self.sock.recv(65536)
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def exec(self, shell):
        pid = self.command("guest-exec", {"path": "/bin/sh", "arg": ["-c", shell], "capture-output": True})["return"]["pid"]
        pause = 0.005
        while True:
            status = self.command("guest-exec-status", {"pid": pid})["return"]
            if status["exited"]:
                return base64.b64decode(status.get("out-data", "")).decode()
            time.sleep(pause)
            pause = min(pause * 2, 0.1)


def bare_argv(report, run_dir):
    """Plain QEMU defaults and the agent's socket: none of Hallmark's options."""
    disk = next(a for a in report["image"]["artifacts"] if a["role"] == "disk.qcow2")["path"]
    image_dir = os.path.dirname(disk)
    with open(os.path.join(image_dir, "image.json")) as handle:
        command_line = json.load(handle)["kernelCommandLine"]
    accel = "kvm" if report["host"]["accelerator"] == "kvm" else "tcg"
    return disk, [
        "qemu-system-x86_64", "-machine", "q35", "-accel", accel, "-m", "1024", "-smp", "2",
        "-nodefaults", "-display", "none", "-no-reboot",
        "-kernel", os.path.join(image_dir, "vmlinuz"), "-initrd", os.path.join(image_dir, "initrd.img"),
        "-append", command_line,
        "-drive", f"file={run_dir}/overlay.qcow2,if=virtio,format=qcow2",
        "-serial", f"file:{run_dir}/console.log",
        "-chardev", f"socket,id=qga0,path={run_dir}/qga.sock,server=on,wait=off",
        "-device", "virtio-serial-pci", "-device", "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0",
    ]


def bare_run(report):
    run_dir = tempfile.mkdtemp(prefix="hm-bench-")
    try:
        disk, argv = bare_argv(report, run_dir)
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", disk, run_dir + "/overlay.qcow2"], check=True)
        agent_socket = run_dir + "/qga.sock"
        start = time.monotonic()
        qemu = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            agent = Agent(agent_socket, start + 600)
            boot = time.monotonic() - start
            rounds = []
            for _ in range(20):
                t = time.monotonic()
                agent.exec("true")
                rounds.append(time.monotonic() - t)
            # Reboot as Hallmark does it: the guest resets, QEMU exits (-no-reboot), a fresh QEMU starts.
            t = time.monotonic()
            agent.command("guest-exec", {"path": "/bin/systemctl", "arg": ["reboot"]})
            agent.sock.close()
            qemu.wait(timeout=600)
            qemu = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            Agent(agent_socket, time.monotonic() + 600).sock.close()
            reboot = time.monotonic() - t
            return boot, statistics.median(rounds), reboot
        finally:
            qemu.kill()
            qemu.wait()
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--hallmark", default=".build/debug/hallmark")
    parser.add_argument("--no-run-total", dest="run_total", action="store_false", help="skip the warm `hallmark run`")
    args = parser.parse_args()
    reports = tempfile.mkdtemp(prefix="hallmark-bench-")
    median = statistics.median
    try:
        hallmark, bare, loads = [], [], []
        for index in range(args.runs):
            report = hallmark_test(args.hallmark, args.recipe, reports)
            hallmark.append(report)
            timings = report["timings"]
            loads.append(os.getloadavg()[0])
            print(f"  hallmark test {index + 1}: boot {timings['boot']:.1f} s, reboot {timings.get('reboot', float('nan')):.1f} s, "
                  f"checks {timings['checks']:.1f} s (load {loads[-1]:.2f})", flush=True)
            boot, round_trip, reboot = bare_run(report)
            bare.append((boot, round_trip, reboot))
            loads.append(os.getloadavg()[0])
            print(f"  bare QEMU {index + 1}:     boot {boot:.1f} s, reboot {reboot:.1f} s, "
                  f"exec round trip {round_trip * 1000:.0f} ms (load {loads[-1]:.2f})", flush=True)

        def row(label, hallmark_value, bare_value):
            ratio = f"{hallmark_value / bare_value:5.2f}×" if bare_value else "  n/a"
            print(f"{label:<28} {bare_value:8.1f} s {hallmark_value:10.1f} s   {ratio}")

        print()
        print(f"accelerator: {hallmark[-1]['host']['accelerator']}, runs: {args.runs} each, "
              f"load average 1 min: {min(loads):.2f}–{max(loads):.2f}")
        print(f"{'phase (median)':<28} {'bare':>10} {'hallmark':>12}   ratio")
        row("QEMU start → agent ready", median(r["timings"]["boot"] for r in hallmark), median(b[0] for b in bare))
        if all("reboot" in r["timings"] for r in hallmark):
            row("reboot cycle", median(r["timings"]["reboot"] for r in hallmark), median(b[2] for b in bare))
        print(f"one guest-exec round trip (bare):        {median(b[1] for b in bare) * 1000:6.0f} ms")
        print(f"fact collection, all controls (Hallmark): {median(r['timings']['checks'] for r in hallmark):6.1f} s")
        if args.run_total:
            start = time.monotonic()
            out = subprocess.run([args.hallmark, "run", args.recipe, "--quiet", "--reports", reports], capture_output=True, text=True)
            total = time.monotonic() - start
            if out.returncode not in (0, 1):
                sys.exit(f"hallmark run failed ({out.returncode}):\n{out.stdout}{out.stderr}")
            print(f"warm hallmark run {args.recipe}: {total:6.1f} s (load {os.getloadavg()[0]:.2f})")
    finally:
        shutil.rmtree(reports, ignore_errors=True)


if __name__ == "__main__":
    main()
