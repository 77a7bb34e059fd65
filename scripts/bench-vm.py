#!/usr/bin/env python3
"""Benchmarks Hallmark's VM layer against a bare QEMU launch of the same image and command line.

Over N runs it prints the medians of: QEMU start to guest agent ready, one guest-exec round trip,
a reboot cycle (guest reboot request to agent ready again), and Hallmark's boot time next to the
bare launch. Hallmark's figures come from the timings in report.json; the bare launch replays the
exact QEMU command line Hallmark recorded there (host.qemuCommandLine).

usage: scripts/bench-vm.py RECIPE [--runs N] [--hallmark PATH]
"""
import argparse, base64, json, os, shlex, shutil, socket, statistics, subprocess, sys, tempfile, time


def hallmark_runs(hallmark, recipe, runs, reports):
    results = []
    for index in range(runs):
        out = subprocess.run([hallmark, "test", recipe, "--quiet", "--reports", reports], capture_output=True, text=True)
        if out.returncode == 64:  # nothing built yet
            subprocess.run([hallmark, "build", recipe, "--quiet", "--reports", reports], check=True)
            out = subprocess.run([hallmark, "test", recipe, "--quiet", "--reports", reports], capture_output=True, text=True)
        if out.returncode not in (0, 1):
            sys.exit(f"hallmark test failed ({out.returncode}):\n{out.stdout}{out.stderr}")
        report_path = sorted(
            os.path.join(root, name) for root, _, names in os.walk(reports) for name in names if name == "report.json")[-1]
        with open(report_path) as handle:
            report = json.load(handle)
        results.append(report)
        print(f"  hallmark run {index + 1}: boot {report['timings']['boot']:.1f} s, "
              f"reboot {report['timings'].get('reboot', float('nan')):.1f} s, checks {report['timings']['checks']:.1f} s", flush=True)
    return results


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
            self.sock.sendall(b"\xff" + json.dumps({"execute": "guest-sync-delimited", "arguments": {"id": self.sync_id}}).encode() + b"\n")
            try:
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


def bare_run(report):
    argv = shlex.split(report["host"]["qemuCommandLine"])
    run_dir = os.path.dirname(argv[argv.index("-qmp") + 1].split(",")[0].removeprefix("unix:"))
    disk = next(a for a in report["image"]["artifacts"] if a["role"] == "disk.qcow2")["path"]
    shutil.rmtree(run_dir, ignore_errors=True)
    os.makedirs(run_dir)
    try:
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
    args = parser.parse_args()
    reports = tempfile.mkdtemp(prefix="hallmark-bench-")
    try:
        print(f"Hallmark: {args.runs} × hallmark test {args.recipe}", flush=True)
        reports_seen = hallmark_runs(args.hallmark, args.recipe, args.runs, reports)
        print(f"bare QEMU: {args.runs} × the same command line", flush=True)
        bare = []
        for index in range(args.runs):
            boot, round_trip, reboot = bare_run(reports_seen[-1])
            bare.append((boot, round_trip, reboot))
            print(f"  bare run {index + 1}: boot {boot:.1f} s, exec round trip {round_trip * 1000:.0f} ms, reboot {reboot:.1f} s", flush=True)
        median = statistics.median
        hallmark_boot = median(r["timings"]["boot"] for r in reports_seen)
        bare_boot = median(b[0] for b in bare)
        print()
        print(f"accelerator: {reports_seen[-1]['host']['accelerator']}, runs: {args.runs}")
        print(f"QEMU start → agent ready (bare):      {bare_boot:6.1f} s")
        print(f"QEMU start → agent ready (Hallmark):  {hallmark_boot:6.1f} s  ({(hallmark_boot / bare_boot - 1) * 100:+.1f}% vs bare)")
        print(f"one guest-exec round trip (bare):     {median(b[1] for b in bare) * 1000:6.0f} ms")
        print(f"reboot cycle (bare):                  {median(b[2] for b in bare):6.1f} s")
        if all("reboot" in r["timings"] for r in reports_seen):
            print(f"reboot cycle (Hallmark):              {median(r['timings']['reboot'] for r in reports_seen):6.1f} s")
        print(f"fact collection, all controls (Hallmark): {median(r['timings']['checks'] for r in reports_seen):6.1f} s")
    finally:
        shutil.rmtree(reports, ignore_errors=True)


if __name__ == "__main__":
    main()
