#!/usr/bin/env python3
"""Runs the README's examples that need no VM and no image build, so a renamed flag or a changed
output breaks the tests (CommandLineTests runs this with the built binary).

A block is run when its info string has the word `doctest`:

    ```sh doctest                 every command must succeed (bash -euo pipefail)
    ```sh doctest exit=65         the block must end with this exit status

A block whose info string has the word `doctest-output` is what the doctest block before it
prints (stdout and stderr together). There, `…` stands for any text within a line, and a line
that is only `…` for any number of lines.

The blocks run in order, each in its own bash, in one temporary copy of the repository (its files
as git lists them, tracked or not ignored), with `hallmark` on PATH and at .build/debug/hallmark,
and HALLMARK_HOME inside the copy: a block may use what an earlier one wrote.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

FENCE = re.compile(r"^(`{3,})\s*(\S*)(.*)$")


def blocks(readme):
    """(line, info words, text) of every fenced block."""
    found, lines, index = [], readme.splitlines(), 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        fence, words, start = match.group(1), (match.group(2) + match.group(3)).split(), index + 1
        end = start
        while end < len(lines) and not lines[end].startswith(fence):
            end += 1
        found.append((start, words, "\n".join(lines[start:end]) + "\n"))
        index = end + 1
    return found


def doctests(readme):
    """(line, expected exit, script, expected output or None) of every doctest block."""
    tests = []
    for line, words, text in blocks(readme):
        if "doctest" in words:
            exit_words = [w for w in words if w.startswith("exit=")]
            tests.append([line, int(exit_words[0][5:]) if exit_words else 0, text, None])
        elif "doctest-output" in words:
            if not tests or tests[-1][3] is not None:
                raise SystemExit(f"README.md:{line}: a doctest-output block without a doctest block before it")
            tests[-1][3] = text
    return tests


def pattern(expected):
    """The regular expression an expected output stands for."""
    parts = []
    for line in expected.splitlines():
        if line.strip() == "…":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append("[^\n]*".join(re.escape(piece) for piece in line.split("…")) + r"\n")
    return re.compile("".join(parts))


def copy_repository(root, destination):
    listed = subprocess.run(
        ["git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = os.path.join(root, name)
        if not os.path.lexists(source):
            continue  # deleted in the working tree
        target = os.path.join(destination, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hallmark", default=".build/debug/hallmark", help="the built binary")
    parser.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy")
    arguments = parser.parse_args()
    root = os.path.abspath(arguments.root)
    hallmark = os.path.abspath(os.path.join(root, arguments.hallmark))
    if not os.access(hallmark, os.X_OK):
        raise SystemExit(f"{hallmark}: not built (make build)")

    work = tempfile.mkdtemp(prefix="hallmark-doctest-")
    copy = os.path.join(work, "repo")
    os.makedirs(copy)
    copy_repository(root, copy)
    for directory in (os.path.join(copy, ".build", "debug"), os.path.join(work, "bin")):
        os.makedirs(directory, exist_ok=True)
        os.symlink(hallmark, os.path.join(directory, "hallmark"))
    environment = dict(os.environ, PATH=os.path.join(work, "bin") + os.pathsep + os.environ.get("PATH", ""),
                       HALLMARK_HOME=os.path.join(copy, ".build", "doctest-home"), COLUMNS="100")
    environment.pop("HALLMARK_SIGNING_KEY", None)

    with open(os.path.join(copy, "README.md"), encoding="utf-8") as file:
        tests = doctests(file.read())
    failed = 0
    for line, expected_exit, script, expected_output in tests:
        first = script.strip().splitlines()[0] if script.strip() else ""
        try:
            run = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=copy, env=environment,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
            output, status = run.stdout.decode(errors="replace"), run.returncode
        except subprocess.TimeoutExpired:
            output, status = "(timed out after 120 s)\n", None
        problems = []
        if status != expected_exit:
            problems.append(f"exit {status}, expected {expected_exit}")
        if expected_output is not None and not pattern(expected_output).fullmatch(output):
            problems.append("output differs from the README's:\n--- README\n" + expected_output + "--- got")
        if problems:
            failed += 1
            print(f"FAIL README.md:{line}: {first}\n  " + "\n  ".join(problems) + "\n" + output, end="")
        else:
            print(f"ok   README.md:{line}: {first}")
    print(f"doctest: {len(tests)} block(s), {failed} failed")
    if arguments.keep:
        print(f"kept: {copy}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
