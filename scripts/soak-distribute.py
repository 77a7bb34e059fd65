#!/usr/bin/env python3
"""Kills `hallmark distribute` with SIGKILL at random moments and checks no target shows a partial file.

The build is made here, not by a VM: a store build with a random disk (image.json as `hallmark
build` writes it), a passing report.json signed with a fresh key in a DSSE envelope (openssl
pkeyutl, as the README's recipe verifies), and a test run recorded in the catalog pointing at them,
which is what `hallmark test --signing-key` leaves. Each round ships it to a fresh directory target
and a fresh OCI layout target, kills the process after a random delay (up to the length of an
uninterrupted run, measured first), then checks every visible file: in the directory target each
file of `<image>/<version>-<build>/` has the digest the envelope (or the gate) names, or is absent;
in the OCI layout every blob under blobs/sha256/ hashes to its name and index.json is whole JSON
whose manifests exist. Staging under `.hallmark-staging/` is not visible and is only counted. Then
it re-runs the same distribute and checks both targets are complete. A round where hallmark
finished before the kill is repeated.

usage: scripts/soak-distribute.py [--kills N] [--hallmark PATH] [--seed S] [--disk-mib M]
"""
import argparse, base64, datetime, hashlib, json, os, random, shutil, signal, sqlite3, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGE, VERSION, BUILD = "soak", "1.0.0", 1


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def make_build(work, home, hallmark, disk_mib):
    """A tested, signed AVAILABLE build in the catalog of `home`; returns (public key, expected files)."""
    env = dict(os.environ, HALLMARK_HOME=home)
    subprocess.run([hallmark, "key", "generate", "--out", work + "/keys"], check=True, env=env, capture_output=True)
    directory = f"{home}/images/{IMAGE}/{VERSION}-{BUILD}"
    os.makedirs(directory)
    with open(directory + "/disk.qcow2", "wb") as f:
        for _ in range(disk_mib):
            f.write(os.urandom(1 << 20))
    disk_digest = sha256(directory + "/disk.qcow2")
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    with open(directory + "/image.json", "w") as f:
        json.dump({"name": IMAGE, "version": VERSION, "build": BUILD, "recipeDigest": "soak", "builtAt": now,
                   "kernelVersion": "6.1.0-28-amd64", "kernelCommandLine": "root=/dev/vda", "files": {"disk.qcow2": "disk.qcow2"},
                   "packages": [], "steps": []}, f)
    reports = work + "/reports"
    os.makedirs(reports)
    report = json.dumps({"gate": {"threshold": "medium", "verdict": "pass"},
                         "image": {"name": IMAGE, "version": VERSION, "build": BUILD}}).encode()
    with open(reports + "/report.json", "wb") as f:
        f.write(report)
    statement = json.dumps({"_type": "https://in-toto.io/Statement/v1",
                            "subject": [{"name": f"{IMAGE}-{VERSION}-{BUILD}/disk.qcow2", "digest": {"sha256": disk_digest}}],
                            "predicateType": "https://hallmark.dev/audit-report/v1", "predicate": json.loads(report)},
                           sort_keys=True).encode()
    payload_type = b"application/vnd.in-toto+json"
    pae = b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type, len(statement), statement)
    with open(work + "/pae.bin", "wb") as f:
        f.write(pae)
    subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", work + "/keys/hallmark.key", "-rawin", "-in", work + "/pae.bin",
                    "-out", work + "/sig.bin"], check=True)
    der = subprocess.run(["openssl", "pkey", "-pubin", "-in", work + "/keys/hallmark.pub", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    envelope = json.dumps({"payload": base64.b64encode(statement).decode(), "payloadType": payload_type.decode(),
                           "signatures": [{"keyid": hashlib.sha256(der).hexdigest(),
                                           "sig": base64.b64encode(open(work + "/sig.bin", "rb").read()).decode()}]}).encode()
    with open(reports + "/report.dsse.json", "wb") as f:
        f.write(envelope)
    # Opening the catalog imports the store build as AVAILABLE; the test run is what `hallmark test` records.
    subprocess.run([hallmark, "images", "list"], check=True, env=env, capture_output=True)
    with sqlite3.connect(home + "/catalog.sqlite") as db:
        (build_id,) = db.execute("SELECT id FROM build WHERE image = ? AND version = ? AND number = ?", (IMAGE, VERSION, BUILD)).fetchone()
        db.execute("INSERT INTO testRun (build, verdict, reportDigest, envelopeDigest, reportDirectory, at) VALUES (?, 'pass', ?, ?, ?, ?)",
                   (build_id, "sha256:" + hashlib.sha256(report).hexdigest(), "sha256:" + hashlib.sha256(envelope).hexdigest(), reports,
                    datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.000")))
    expected = {"disk.qcow2": disk_digest, "report.json": hashlib.sha256(report).hexdigest(),
                "report.dsse.json": hashlib.sha256(envelope).hexdigest()}
    sums = "".join(f"{expected[name]}  {name}\n" for name in ["disk.qcow2", "report.json", "report.dsse.json"])
    expected["SHA256SUMS"] = hashlib.sha256(sums.encode()).hexdigest()
    return work + "/keys/hallmark.pub", expected


def partial_files(directory_target, layout, expected):
    """(visible files that are partial or unexpected, staged files) in both targets."""
    bad, staged = [], 0
    build_dir = f"{directory_target}/{IMAGE}/{VERSION}-{BUILD}"
    for name in sorted(os.listdir(build_dir)) if os.path.isdir(build_dir) else []:
        if expected.get(name) != sha256(f"{build_dir}/{name}"):
            bad.append(f"{build_dir}/{name}")
    blobs = layout + "/blobs/sha256"
    for name in sorted(os.listdir(blobs)) if os.path.isdir(blobs) else []:
        if name.startswith("."):
            continue
        if sha256(f"{blobs}/{name}") != name:
            bad.append(f"{blobs}/{name}")
    index = layout + "/index.json"
    if os.path.exists(index):
        try:
            manifests = json.load(open(index)).get("manifests", [])
            for manifest in manifests:
                if not os.path.exists(f"{blobs}/{manifest['digest'].split(':', 1)[1]}"):
                    bad.append(f"{index} names missing {manifest['digest']}")
        except (ValueError, KeyError) as error:
            bad.append(f"{index}: {error}")
    for root in (directory_target, layout):
        for _, _, files in os.walk(root + "/.hallmark-staging"):
            staged += len(files)
    return bad, staged


def complete(directory_target, layout, expected):
    build_dir = f"{directory_target}/{IMAGE}/{VERSION}-{BUILD}"
    directory_whole = all(os.path.exists(f"{build_dir}/{name}") and sha256(f"{build_dir}/{name}") == digest
                          for name, digest in expected.items())
    index = layout + "/index.json"
    tagged = os.path.exists(index) and any(
        m.get("annotations", {}).get("org.opencontainers.image.ref.name") == f"{VERSION}-{BUILD}" for m in json.load(open(index))["manifests"])
    return directory_whole and tagged


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--hallmark", default=os.path.join(ROOT, ".build/debug/hallmark"))
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--disk-mib", type=int, default=64)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    started = time.monotonic()
    work = tempfile.mkdtemp(prefix="hallmark-soak-distribute-")
    home = work + "/home"
    env = dict(os.environ, HALLMARK_HOME=home)
    try:
        public_key, expected = make_build(work, home, args.hallmark, args.disk_mib)

        def command(round_):
            return [args.hallmark, "distribute", f"{IMAGE}@{VERSION}/{BUILD}", "--key", public_key,
                    "--to", f"{work}/targets/{round_}/region", "--to", f"oci-layout:{work}/targets/{round_}/oci"]

        t0 = time.monotonic()
        calibration = subprocess.run(command("calibration"), env=env, capture_output=True, text=True)
        full_run = time.monotonic() - t0
        if calibration.returncode != 0:
            sys.exit(f"soak-distribute: an uninterrupted distribute failed ({calibration.returncode}): {calibration.stderr}")
        kills = partial = completed = finished_first = staged_total = rounds = 0
        failures = []
        while kills < args.kills:
            rounds += 1
            if rounds > args.kills * 5:
                failures.append("too many rounds finished before the kill")
                break
            directory_target, layout = f"{work}/targets/{rounds}/region", f"{work}/targets/{rounds}/oci"
            delay = rng.uniform(0.0, full_run)
            process = subprocess.Popen(command(rounds), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                       start_new_session=True)
            time.sleep(delay)
            if process.poll() is not None:
                finished_first += 1
                shutil.rmtree(f"{work}/targets/{rounds}", ignore_errors=True)
                continue
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            kills += 1
            bad, staged = partial_files(directory_target, layout, expected)
            partial += len(bad)
            staged_total += staged
            for path in bad:
                failures.append(f"kill {kills} at {delay:.2f}s: partial or foreign file visible: {path}")
            rerun = subprocess.run(command(rounds), env=env, capture_output=True, text=True)
            if rerun.returncode == 0 and complete(directory_target, layout, expected):
                completed += 1
            else:
                failures.append(f"kill {kills} at {delay:.2f}s: the re-run did not complete (exit {rerun.returncode}): {rerun.stderr.strip()}")
            print(f"kill {kills:2d} after {delay:5.2f}s: {len(bad)} partial, {staged} staged, re-run "
                  f"{'completed' if rerun.returncode == 0 else 'FAILED'}", flush=True)
            shutil.rmtree(f"{work}/targets/{rounds}", ignore_errors=True)
        state = json.loads(subprocess.run([args.hallmark, "images", "list", IMAGE, "--json"], env=env, capture_output=True,
                                          text=True, check=True).stdout)["builds"][0]["state"]
        print(f"soak-distribute: seed {seed}, disk {args.disk_mib} MiB, uninterrupted run {full_run:.2f}s")
        print(f"soak-distribute: kills {kills}, partial files seen {partial}, re-runs completed {completed}/{kills}, "
              f"finished before the kill {finished_first}, staged files left by kills {staged_total}, "
              f"build state at the end {state}, time {time.monotonic() - started:.1f}s")
        if state != "AVAILABLE":
            failures.append(f"the build ended {state}, not AVAILABLE")
        for failure in failures:
            print("FAIL: " + failure, file=sys.stderr)
        sys.exit(1 if failures else 0)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
