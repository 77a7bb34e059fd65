#!/usr/bin/env python3
"""Writes Tests/Fixtures/bad-inputs/: malformed recipes, components, policies, waivers, variables,
keys, envelopes, facts files and command lines, each with the exit code and the position its error
must name (manifest.tsv). Tests/CommandLineTests/BadInputCorpusTests.swift runs every row through
the real binary. Deterministic: running it again rewrites the same files.

manifest.tsv columns: id, kind, args (JSON list; {case} is the case's directory, {base} the shared
valid files, {scratch} an empty directory of the run), exit, position (FILE:LINE:COLUMN relative to
the corpus root, FILE for an error about the whole file, - when no file is at fault), status (ok,
or reaches-build for the one valid control row), setup (fifo:NAME, chmod:NAME:MODE or -),
note.
"""

import base64
import json
import os
import shutil

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "bad-inputs")
ROOT = os.path.normpath(ROOT)

# The valid inputs every case starts from: each case changes one thing.

COMPONENT = """name: hello
description: Writes a greeting
schemaVersion: 1.0
parameters:
  - Greeting:
      type: string
      default: hi
phases:
  - name: build
    steps:
      - name: WriteGreeting
        action: CreateFile
        inputs:
          - path: /etc/hello
            content: "{{ Greeting }}"
            permissions: "0644"
  - name: validate
    steps:
      - name: GreetingExists
        action: ExecuteBash
        inputs:
          commands:
            - test -f /etc/hello
  - name: test
    steps:
      - name: GreetingReadable
        action: ExecuteBash
        inputs:
          commands:
            - cat /etc/hello
"""

POLICY = """id: base
title: Base policy
variables:
  max_tries: "4"
controls:
  - id: root-login
    title: SSH root login is disabled
    severity: high
    check:
      sshd: {setting: PermitRootLogin, value: "no"}
  - id: max-tries
    title: SSH allows few authentication attempts
    severity: medium
    tags: [ssh]
    check:
      sshd: {setting: MaxAuthTries, value: {le: "{{ max_tries }}"}}
  - id: shadow-mode
    title: /etc/shadow is private
    severity: medium
    check:
      file: {path: /etc/shadow, owner: root, mode: "0640"}
  - id: greeting
    title: The greeting command works
    severity: low
    check:
      command: {run: "cat /etc/hello", exit_code: 0}
tests:
  - name: root login allowed is caught
    facts:
      sshd: {exitCode: 0, stdout: "permitrootlogin yes\\nmaxauthtries 4\\n"}
    expect:
      root-login: fail
"""

RECIPE = """name: bad-input
version: 1.0.0
description: A recipe of the bad-inputs corpus
parent:
  debian:
    suite: bookworm
    packages: [openssh-server]
components:
  - path: COMPONENT
    parameters: {Greeting: "hi"}
tests:
  reboot: true
  policies: [POLICY]
  gate: info
outputs: [qcow2]
disk: {size: 4G}
"""

WAIVERS = """waivers:
  - control: shadow-mode
    justification: "Checked by the platform team"
    expires: 2027-06-30
    mode: run
"""

FACTS = {
    "probes": {
        "sshd": {"exitCode": 0, "stdout": "permitrootlogin no\nmaxauthtries 4\n", "stderr": ""},
    }
}

# Ed25519 keys from fixed bytes (PKCS#8 and SPKI DER prefixes of RFC 8410): a key file need not
# match anything to be parsed.
PRIVATE_PREFIX = bytes.fromhex("302e020100300506032b657004220420")
PUBLIC_PREFIX = bytes.fromhex("302a300506032b6570032100")


def pem(der, label):
    body = base64.b64encode(der).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN %s-----\n%s\n-----END %s-----\n" % (label, "\n".join(lines), label)


PUBLIC_KEY = pem(PUBLIC_PREFIX + bytes(range(32)), "PUBLIC KEY")
PRIVATE_KEY = pem(PRIVATE_PREFIX + bytes(range(32, 64)), "PRIVATE KEY")


def envelope(payload, payload_type="application/vnd.in-toto+json", sig="c2ln"):
    return json.dumps(
        {
            "payload": base64.b64encode(payload.encode()).decode(),
            "payloadType": payload_type,
            "signatures": [{"keyid": "k", "sig": sig}],
        },
        indent=2,
    ) + "\n"


STATEMENT = json.dumps(
    {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "bad-input-1.0.0-1/disk.qcow2", "digest": {"sha256": "a" * 64}}],
        "predicateType": "https://hallmark.dev/audit-report/v1",
        "predicate": {"image": {"name": "bad-input", "version": "1.0.0", "build": 1}, "gate": {"threshold": "info", "verdict": "pass"}},
    }
)

REPORT = json.dumps(
    {
        "schemaVersion": 1,
        "image": {"name": "bad-input", "version": "1.0.0", "build": 1},
        "gate": {"threshold": "info", "verdict": "pass"},
        "controls": [],
        "counts": {},
    },
    indent=2,
) + "\n"

cases = []
counters = {}


def position(text, needle, nth=1, offset=0):
    """LINE:COLUMN of the nth `needle` in text (columns in characters, as YAML parsers count), plus `offset` columns."""
    index = -1
    for _ in range(nth):
        index = text.index(needle, index + 1)
    index += offset
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return "%d:%d" % (line, column)


def add(kind, name, files, args, exit, at=None, setup="-", note=""):
    """One case. files: {name: text or bytes}; at: (file, needle[, nth[, offset]]) for a position in
    a file, (file,) for the whole file, None when no file is at fault."""
    counters[kind] = counters.get(kind, 0) + 1
    case_id = "%s-%03d-%s" % (kind, counters[kind], name)
    directory = "cases/" + case_id
    if at is None:
        where = "-"
    elif len(at) == 1:
        where = at[0] if at[0].startswith("/") or at[0].startswith("{") else directory + "/" + at[0]
    else:
        file, needle = at[0], at[1]
        nth = at[2] if len(at) > 2 else 1
        offset = at[3] if len(at) > 3 else 0
        text = files[file] if isinstance(files[file], str) else files[file].decode("utf-8", "replace")
        where = "%s/%s:%s" % (directory, file, position(text, needle, nth, offset))
    cases.append(
        {
            "id": case_id,
            "kind": kind,
            "files": files,
            "args": [a.replace("{case}", "{case:%s}" % case_id) for a in args],
            "exit": exit,
            "position": where,
            "status": "ok",
            "setup": setup,
            "note": note or name.replace("-", " "),
        }
    )


def recipe_text(component="../../base/components/hello.yaml", policy="../../base/policies/base.yaml"):
    return RECIPE.replace("COMPONENT", component).replace("POLICY", policy)


RUN = ["run", "{case}/recipe.yaml", "--reports", "{scratch}/reports"]
COMMANDS = [
    RUN,
    ["build", "{case}/recipe.yaml", "--reports", "{scratch}/reports"],
    ["test", "{case}/recipe.yaml", "--reports", "{scratch}/reports"],
]


def recipe(name, old, new, needle=None, nth=1, offset=0, exit=65, whole=False, note="", text=None):
    """A recipe with `old` replaced by `new`; the error is at `needle` (default: `new`)."""
    base = recipe_text()
    if text is None:
        assert old in base, old
        text = base.replace(old, new, 1)
    command = COMMANDS[counters.get("recipe", 0) % len(COMMANDS)]
    at = ("recipe.yaml",) if whole else ("recipe.yaml", needle if needle is not None else new.strip(), nth, offset)
    add("recipe", name, {"recipe.yaml": text}, command, exit, at, note=note)


def component(name, old, new, needle=None, nth=1, offset=0, exit=65, note="", text=None):
    if text is None:
        assert old in COMPONENT, old
        text = COMPONENT.replace(old, new, 1)
    files = {"recipe.yaml": recipe_text(component="component.yaml"), "component.yaml": text}
    command = COMMANDS[counters.get("component", 0) % 2]
    at = ("component.yaml", needle if needle is not None else new.strip(), nth, offset)
    add("component", name, files, command, exit, at, note=note)


def policy(name, old, new, needle=None, nth=1, offset=0, exit=65, note="", text=None, command=None):
    if text is None:
        assert old in POLICY, old
        text = POLICY.replace(old, new, 1)
    commands = [["policy", "lint", "{case}/policy.yaml"], ["policy", "test", "{case}/policy.yaml"]]
    args = command or commands[counters.get("policy", 0) % 2]
    files = {"policy.yaml": text}
    if args[0] == "run":
        files["recipe.yaml"] = recipe_text(policy="policy.yaml")
    at = ("policy.yaml", needle if needle is not None else new.strip(), nth, offset)
    add("policy", name, files, args, exit, at, note=note)


def waiver(name, old, new, needle=None, nth=1, exit=65, note="", text=None):
    if text is None:
        assert old in WAIVERS, old
        text = WAIVERS.replace(old, new, 1)
    files = {"waivers.yaml": text}
    if counters.get("waiver", 0) % 2 == 0:
        args = ["policy", "test", "{base}/policies/base.yaml", "--waivers", "{case}/waivers.yaml"]
    else:
        files["recipe.yaml"] = recipe_text().replace("  gate: info\n", "  gate: info\n  waivers: waivers.yaml\n")
        args = RUN
    add("waiver", name, files, args, exit, ("waivers.yaml", needle if needle is not None else new.strip(), nth), note=note)


# ---------------------------------------------------------------- recipes

recipe("unknown-top-key", "outputs: [qcow2]", "outputz: [qcow2]", "outputz")
recipe("unknown-debian-key", "    packages: [openssh-server]", "    pakages: [openssh-server]", "pakages")
recipe("unknown-tests-key", "  reboot: true", "  rebot: true", "rebot")
recipe("unknown-component-key", "    parameters: {Greeting", "    params: {Greeting", "params")
recipe("unknown-disk-key", "disk: {size: 4G}", "disk: {sise: 4G}", "sise")
recipe("unknown-parent-key", "  debian:", "  ubuntu:", "ubuntu")
recipe("unknown-evidence-key", "disk: {size: 4G}", "disk: {size: 4G}\nevidence: {junitt: rich}", "junitt")
recipe("unknown-build-key", "disk: {size: 4G}", "disk: {size: 4G}\nbuild: {net: false}", "net")
recipe("missing-name", "name: bad-input\n", "", "version", note="missing required name (reported at the mapping)")
recipe("missing-version", "version: 1.0.0\n", "", "name")
recipe("missing-parent", "parent:\n  debian:\n    suite: bookworm\n    packages: [openssh-server]\n", "", "name")
recipe("missing-suite", "    suite: bookworm\n", "", "packages")
recipe("name-is-list", "name: bad-input", "name: [bad, input]", "[bad")
recipe("name-with-slash", "name: bad-input", "name: ../escape", "../escape")
recipe("name-with-space", "name: bad-input", "name: bad input", "bad input")
recipe("name-empty", "name: bad-input", 'name: ""', '""')
recipe("name-300-chars", "name: bad-input", "name: " + "n" * 300, "n" * 300, note="a 300-character name is refused before it becomes a path")
recipe("version-two-parts", "version: 1.0.0", "version: 1.0", "1.0")
recipe("version-letters", "version: 1.0.0", "version: one", "one")
recipe("version-huge", "version: 1.0.0", "version: 99999999999999999999.0.0", "99999999999999999999.0.0")
recipe("version-negative", "version: 1.0.0", "version: -1.0.0", "-1.0.0")
recipe("version-is-map", "version: 1.0.0", "version: {major: 1}", "{major")
recipe("description-is-list", "description: A recipe of the bad-inputs corpus", "description: [a, b]", "[a")
recipe("parent-is-string", "parent:\n  debian:\n    suite: bookworm\n    packages: [openssh-server]\n", "parent: debian\n", "debian")
recipe("debian-is-list", "  debian:\n    suite: bookworm\n    packages: [openssh-server]\n", "  debian: [bookworm]\n", "[bookworm]")
recipe("suite-typo", "suite: bookworm", "suite: bookwrom", "bookwrom")
recipe("suite-empty", "suite: bookworm", 'suite: ""', '""')
recipe("suite-option", "suite: bookworm", "suite: --variant=buildd", "--variant=buildd")
recipe("suite-uppercase", "suite: bookworm", "suite: Bookworm", "Bookworm")
recipe("suite-with-space", "suite: bookworm", "suite: book worm", "book worm")
recipe("suite-list", "suite: bookworm", "suite: [bookworm]", "[bookworm]")
recipe("mirror-not-url", "    packages: [openssh-server]", "    packages: [openssh-server]\n    mirror: not a url", "not a url")
recipe("mirror-option", "    packages: [openssh-server]", "    packages: [openssh-server]\n    mirror: --aptopt=x", "--aptopt=x")
recipe("mirror-ftp", "    packages: [openssh-server]", "    packages: [openssh-server]\n    mirror: ftp://example.org/debian", "ftp://example.org/debian")
recipe("mirror-empty", "    packages: [openssh-server]", '    packages: [openssh-server]\n    mirror: ""', '""')
recipe("variant-unknown", "    packages: [openssh-server]", "    packages: [openssh-server]\n    variant: tiny", "tiny")
recipe("package-uppercase", "packages: [openssh-server]", "packages: [OpenSSH]", "OpenSSH")
recipe("package-option", "packages: [openssh-server]", "packages: [--force-yes]", "--force-yes")
recipe("package-with-space", "packages: [openssh-server]", 'packages: ["openssh server"]', '"openssh server"')
recipe("package-shell", "packages: [openssh-server]", 'packages: ["x;rm -rf /"]', '"x;rm')
recipe("packages-not-list", "packages: [openssh-server]", "packages: openssh-server", "openssh-server")
recipe("package-is-map", "packages: [openssh-server]", "packages: [{name: ssh}]", "{name")
recipe("components-not-list", "components:\n  - path: ../../base/components/hello.yaml\n    parameters: {Greeting: \"hi\"}\n", "components: hello.yaml\n", "hello.yaml")
recipe("component-missing-file", "path: ../../base/components/hello.yaml", "path: ../../base/components/nope.yaml", "../../base/components/nope.yaml")
recipe("component-path-directory", "path: ../../base/components/hello.yaml", "path: ../../base/components", "", whole=True, note="a directory where a component file is wanted is named as such")
cases[-1]["position"] = "base/components"
recipe("component-missing-path", "  - path: ../../base/components/hello.yaml\n    parameters", "  - parameters", "parameters")
recipe("component-parameter-unknown", '{Greeting: "hi"}', '{Greting: "hi"}', "path:", note="a parameter the component does not declare (reported at the reference)")
recipe("component-parameter-list", '{Greeting: "hi"}', '{Greeting: [a, b]}', "[a")
recipe("parameters-not-map", '    parameters: {Greeting: "hi"}', "    parameters: [Greeting]", "[Greeting]")
recipe("reboot-not-bool", "reboot: true", "reboot: maybe", "maybe")
recipe("reboot-number", "reboot: true", "reboot: 2", "2", nth=1)
recipe("gate-unknown", "gate: info", "gate: severe", "severe")
recipe("gate-list", "gate: info", "gate: [high]", "[high]")
recipe("channel-unknown", "  gate: info", "  gate: info\n  channel: ssh", "channel: ssh", offset=9)
recipe("static-facts-unknown", "  gate: info", "  gate: info\n  static_facts: host", "host")
recipe("policies-not-list", "policies: [../../base/policies/base.yaml]", "policies: ../../base/policies/base.yaml", "../../base/policies/base.yaml")
recipe("policy-missing-file", "policies: [../../base/policies/base.yaml]", "policies: [../../base/policies/nope.yaml]", "../../base/policies/nope.yaml")
recipe("policy-directory", "policies: [../../base/policies/base.yaml]", "policies: [../../base/policies]", "", whole=True)
cases[-1]["position"] = "base/policies"
recipe("waivers-missing-file", "  gate: info", "  gate: info\n  waivers: nope.yaml", "nope.yaml")
recipe("waivers-list", "  gate: info", "  gate: info\n  waivers: [a.yaml]", "[a.yaml]")
recipe("variables-list", "  gate: info", "  gate: info\n  variables: [max_tries]", "[max_tries]")
recipe("variables-nested", "  gate: info", "  gate: info\n  variables: {max_tries: {value: 3}}", "{value")
recipe("variables-undeclared", "  gate: info", "  gate: info\n  variables: {nosuch: \"3\"}", "{nosuch", note="a variable no policy declares")
recipe("outputs-unknown", "outputs: [qcow2]", "outputs: [vmdk]", "vmdk")
recipe("outputs-empty", "outputs: [qcow2]", "outputs: []", "[]")
recipe("outputs-string", "outputs: [qcow2]", "outputs: qcow2", "qcow2", nth=1)
recipe("disk-size-overflow", "disk: {size: 4G}", "disk: {size: 99999999999G}", "99999999999G")
recipe("disk-size-u64-overflow", "disk: {size: 4G}", "disk: {size: 18446744073709551616}", "18446744073709551616")
recipe("disk-size-too-big", "disk: {size: 4G}", "disk: {size: 100000G}", "100000G")
recipe("disk-size-too-small", "disk: {size: 4G}", "disk: {size: 1M}", "1M")
recipe("disk-size-negative", "disk: {size: 4G}", "disk: {size: -5G}", "-5G")
recipe("disk-size-words", "disk: {size: 4G}", "disk: {size: four gigabytes}", "four gigabytes")
recipe("disk-size-unit", "disk: {size: 4G}", "disk: {size: 4T}", "4T")
recipe("disk-size-fraction", "disk: {size: 4G}", "disk: {size: 1.5G}", "1.5G")
recipe("disk-size-empty", "disk: {size: 4G}", 'disk: {size: ""}', '""')
recipe("disk-not-map", "disk: {size: 4G}", "disk: 4G", "4G")
recipe("junit-unknown", "disk: {size: 4G}", "disk: {size: 4G}\nevidence: {junit: fancy}", "fancy")
recipe("signing-key-missing", "disk: {size: 4G}", "disk: {size: 4G}\nevidence: {signing_key: nope.key}", "nope.key", note="the signing key is read before the build")
recipe("build-network-unknown", "disk: {size: 4G}", "disk: {size: 4G}\nbuild: {network: maybe}", "maybe")
recipe("build-environment-list", "disk: {size: 4G}", "disk: {size: 4G}\nbuild: {environment: [A]}", "[A]")
# YAML syntax
recipe("yaml-tab-indent", "    suite: bookworm", "\tsuite: bookworm", "\tsuite")
recipe("yaml-duplicate-key", "outputs: [qcow2]", "outputs: [qcow2]\noutputs: [raw]", "outputs", nth=2)
recipe("yaml-duplicate-nested", "    packages: [openssh-server]", "    packages: [openssh-server]\n    suite: trixie", "suite", nth=2)
recipe("yaml-duplicate-flow", "disk: {size: 4G}", "disk: {size: 4G, size: 8G}", "size", nth=2)
recipe("yaml-unclosed-double-quote", 'parameters: {Greeting: "hi"}', 'parameters: {Greeting: "hi}', '"hi}')
recipe("yaml-unclosed-single-quote", "description: A recipe of the bad-inputs corpus", "description: 'A recipe", "'A recipe")
recipe("yaml-unclosed-flow-list", "packages: [openssh-server]", "packages: [openssh-server", "[openssh-server")
recipe("yaml-unclosed-flow-map", "disk: {size: 4G}", "disk: {size: 4G", "{size: 4G")
recipe("yaml-bad-indent", "    packages: [openssh-server]", "   packages: [openssh-server]", "packages")
recipe("yaml-bad-dedent", "  reboot: true", " reboot: true", "policies:", offset=8, note="a key indented less than its siblings: libyaml fails at the next key")
recipe("yaml-colon-in-value", "description: A recipe of the bad-inputs corpus", "description: a: b", "a: b", offset=1)
recipe("yaml-anchor", "outputs: [qcow2]", "outputs: &o [qcow2]", "&o")
recipe("yaml-alias", "outputs: [qcow2]", "x: &o [qcow2]\noutputs: *o", "&o")
recipe("yaml-two-documents", "disk: {size: 4G}\n", "disk: {size: 4G}\n---\nname: second\n", "---")
recipe("yaml-top-level-list", None, None, "- name", text="- name: bad-input\n- version: 1.0.0\n")
recipe("yaml-top-level-scalar", None, None, "just", text="just a string\n")
recipe("yaml-empty-file", None, None, "", text="", whole=True, note="an empty file (line 1, column 1)")
recipe("yaml-only-comment", None, None, "", text="# nothing here\n", whole=True)
recipe("yaml-nul-byte", "description: A recipe of the bad-inputs corpus", "description: A\0recipe", "\0")
recipe("yaml-control-char", "description: A recipe of the bad-inputs corpus", "description: A\x07recipe", "\x07")
recipe("yaml-deep-nesting", "disk: {size: 4G}", "disk: {size: 4G}\nx: " + "[" * 100 + "]" * 100, "x: ", offset=3 + 63, note="the 64th bracket (the document itself is level 0)")
recipe("yaml-bad-escape", "description: A recipe of the bad-inputs corpus", 'description: "A \\q recipe"', '"A \\q', offset=3)
recipe("yaml-block-in-flow", "packages: [openssh-server]", "packages: [openssh-server, - x]", "- x]")
recipe("yaml-key-without-value-list", "outputs: [qcow2]", "outputs:\n- qcow2\n  - raw", "- qcow2", offset=2, note="the indented '- raw' continues the plain scalar 'qcow2 - raw'")

# Invalid UTF-8 and whole-file problems
add("recipe", "invalid-utf8", {"recipe.yaml": recipe_text().encode().replace(b"A recipe", b"A \xff recipe")}, RUN, 65, ("recipe.yaml", "\ufffd"))
add("recipe", "invalid-utf8-truncated", {"recipe.yaml": recipe_text().encode() + b"# \xe2\x82\n"}, RUN, 65, ("recipe.yaml", "\ufffd"))
add("recipe", "latin1-text", {"recipe.yaml": recipe_text().encode().replace(b"A recipe", b"A r\xe9cipe")}, ["build", "{case}/recipe.yaml"], 65, ("recipe.yaml", "\ufffd"))
add("recipe", "nonexistent-file", {}, ["run", "{case}/nope.yaml"], 65, ("nope.yaml",))
add("recipe", "directory", {"dir/.keep": ""}, ["run", "{case}/dir"], 65, ("dir",))
add("recipe", "dev-null", {}, ["build", "/dev/null"], 65, ("/dev/null",), note="a device where a recipe file is wanted")
add("recipe", "dev-zero", {}, ["test", "/dev/zero"], 65, ("/dev/zero",))
add("recipe", "fifo", {}, ["run", "{case}/fifo.yaml"], 65, ("fifo.yaml",), setup="fifo:fifo.yaml", note="a FIFO would block a plain read")
add("recipe", "path-through-file", {"recipe.yaml": recipe_text()}, ["run", "{case}/recipe.yaml/x.yaml"], 65, ("recipe.yaml/x.yaml",))
add("recipe", "huge-line", {"recipe.yaml": recipe_text().replace("A recipe", "A" * 200000)}, RUN, 0, None,
    note="a 200 kB description is accepted (reaches the build)")
cases[-1]["exit"] = 3  # valid apart from size: the build starts (and the stand-in fails)
cases[-1]["status"] = "reaches-build"

# ---------------------------------------------------------------- components

component("missing-schema-version", "schemaVersion: 1.0\n", "", "name")
component("schema-version-2", "schemaVersion: 1.0", "schemaVersion: 2.0", "2.0")
component("unknown-top-key", "description: Writes a greeting", "descriptio: Writes a greeting", "descriptio")
# TOE makes `name` optional: a parameter name shorter than TOE's three characters instead.
component("parameter-name-short", "  - Greeting:", "  - Gr:", "Gr:", note="parameter name shorter than 3 (a missing name is allowed: TOE makes it optional)")
component("name-with-slash", "name: hello", "name: ../hello", "../hello")
component("name-with-newline", "name: hello", 'name: "hel\\nlo"', '"hel')
component("name-trailing-space", "name: hello", 'name: "hello "', '"hello "')
component("phases-not-list", None, None, "build", text=COMPONENT.split("phases:")[0] + "phases: build\n")
# TOE allows phase names beyond build, validate and test; not ones with a space.
component("phase-name-invalid", "  - name: validate", "  - name: verify phase", "verify phase", note="phase name with a space (other names are allowed, as in TOE)")
component("phase-twice", "  - name: validate", "  - name: build", "- name: build", nth=2, offset=2)
component("phase-without-steps", "  - name: validate\n    steps:\n      - name: GreetingExists\n        action: ExecuteBash\n        inputs:\n          commands:\n            - test -f /etc/hello\n", "  - name: validate\n", "name: validate")
component("step-without-name", "      - name: WriteGreeting\n        action: CreateFile", "      - action: CreateFile", "action: CreateFile")
component("step-without-action", "        action: CreateFile\n", "", "name: WriteGreeting")
component("step-name-twice", "      - name: GreetingExists", "      - name: GreetingExists\n        action: ExecuteBash\n        inputs: {commands: [true]}\n      - name: GreetingExists", "- name: GreetingExists", nth=2, offset=2)
component("action-unknown", "action: CreateFile", "action: CreateFiles", "CreateFiles")
component("action-lowercase", "action: ExecuteBash", "action: executebash", "executebash")
component("step-unknown-key", "        action: CreateFile", "        action: CreateFile\n        retries: 3", "retries")
component("on-failure-unknown", "        action: CreateFile", "        action: CreateFile\n        onFailure: Retry", "Retry")
component("max-attempts-zero", "        action: CreateFile", "        action: CreateFile\n        maxAttempts: 0", "maxAttempts: 0", offset=13, note="maxAttempts must be at least 1")
component("max-attempts-huge", "        action: CreateFile", "        action: CreateFile\n        maxAttempts: 99999999999999999999", "99999999999999999999")
component("max-attempts-word", "        action: CreateFile", "        action: CreateFile\n        maxAttempts: twice", "twice")
component("timeout-negative", "        action: CreateFile", "        action: CreateFile\n        timeoutSeconds: -5", "-5")
component("timeout-zero", "        action: CreateFile", "        action: CreateFile\n        timeoutSeconds: 0", "timeoutSeconds: 0", offset=16)
component("timeout-huge", "        action: CreateFile", "        action: CreateFile\n        timeoutSeconds: 99999999999999", "99999999999999")
component("timeout-word", "        action: CreateFile", "        action: CreateFile\n        timeoutSeconds: long", "long")
component("bash-without-commands", "          commands:\n            - test -f /etc/hello\n", "          command: test -f /etc/hello\n", "command:")
component("bash-commands-empty", "          commands:\n            - test -f /etc/hello\n", "          commands: []\n", "commands:", nth=1)
component("bash-commands-map", "            - test -f /etc/hello", "            - {test: x}", "commands:", note="reported at the step's inputs")
component("bash-inputs-list", "        inputs:\n          commands:\n            - test -f /etc/hello\n", "        inputs:\n          - test -f /etc/hello\n", "- test -f")
component("create-file-without-path", "          - path: /etc/hello\n            content", "          - content", "content")
component("create-file-unknown-key", '            permissions: "0644"', '            permissions: "0644"\n            mode: "0644"', "- path: /etc/hello", offset=2, note="the entry with an unknown key")
component("create-file-inputs-map", "          - path: /etc/hello\n            content: \"{{ Greeting }}\"\n            permissions: \"0644\"\n", "          path: /etc/hello\n", "path: /etc/hello")
component("create-file-no-inputs", "        inputs:\n          - path: /etc/hello\n            content: \"{{ Greeting }}\"\n            permissions: \"0644\"\n", "", "name: WriteGreeting")
component("permissions-rwx", 'permissions: "0644"', 'permissions: "rwx"', '"rwx"')
component("permissions-too-big", 'permissions: "0644"', 'permissions: "99999"', '"99999"')
component("permissions-negative", 'permissions: "0644"', 'permissions: "-1"', '"-1"')
component("path-relative", "path: /etc/hello", "path: etc/hello", "etc/hello")
component("path-empty", "path: /etc/hello", 'path: ""', '""')
component("set-permissions-without-permissions", "        action: CreateFile\n        inputs:\n          - path: /etc/hello\n            content: \"{{ Greeting }}\"\n            permissions: \"0644\"\n", "        action: SetFilePermissions\n        inputs:\n          - path: /etc/hello\n", "path: /etc/hello")
component("template-missing-variable", 'content: "{{ Greeting }}"', 'content: "{{ Missing }}"', '"{{ Missing }}"')
component("template-unclosed", 'content: "{{ Greeting }}"', 'content: "{{ Greeting"', '"{{ Greeting"')
component("template-empty", 'content: "{{ Greeting }}"', 'content: "{{ }}"', '"{{ }}"')
component("template-in-test-phase", "            - cat /etc/hello", "            - cat {{ Nowhere }}", "cat {{ Nowhere }}", note="a template error in the test phase is found before the build")
component("template-step-output-missing", "            - test -f /etc/hello", "            - test -f {{ build.NoSuchStep.outputs.stdout }}", "test -f {{")
component("parameter-not-string-type", "      type: string", "      type: integer", "integer")
component("parameter-two-keys", "  - Greeting:\n      type: string\n      default: hi\n", "  - Greeting: {type: string}\n    Other: {type: string}\n", "Greeting: {type", note="a parameter entry with two names")
component("parameter-missing-type", "      type: string\n      default: hi\n", "      default: hi\n", "default: hi")
component("parameter-unknown-key", "      default: hi", "      default: hi\n      required: true", "required")
component("constants-without-value", "parameters:", "constants:\n  - Path:\n      type: string\nparameters:", "type: string", nth=1)
component("yaml-tab", "        action: CreateFile", "\taction: CreateFile", "\taction")
component("yaml-duplicate-key", "        action: CreateFile", "        action: CreateFile\n        action: ExecuteBash", "action", nth=2)
component("yaml-duplicate-top", "description: Writes a greeting", "description: Writes a greeting\ndescription: twice", "description", nth=2)
component("yaml-unclosed-quote", 'content: "{{ Greeting }}"', 'content: "{{ Greeting }}', '"0644"', offset=1,
          note="a quote closed by a later line's quote: the error is where the text stops making sense")
component("yaml-bad-indent", "        action: CreateFile", "         action: CreateFile", "action: CreateFile", offset=6)
component("yaml-alias-bomb", None, None, '"x"]', text=COMPONENT + "bomb:\n" + "".join("  l%d: &l%d [%s]\n" % (i, i, ",".join(["*l%d" % (i - 1)] * 9) if i else '"x"') for i in range(10)), note="an alias bomb is refused (at the node whose copies pass the limit)")
add("component", "invalid-utf8-bytes", {"recipe.yaml": recipe_text(component="component.yaml"), "component.yaml": COMPONENT.encode().replace(b"Writes a", b"Writes \xc3\x28 a")}, RUN, 65, ("component.yaml", "\ufffd"))
add("component", "component-is-directory", {"recipe.yaml": recipe_text(component="component.yaml"), "component.yaml/.keep": ""}, RUN, 65, ("component.yaml",), note="a directory where a component file is wanted")
add("component", "component-empty", {"recipe.yaml": recipe_text(component="component.yaml"), "component.yaml": ""}, RUN, 65, ("component.yaml",))

# ---------------------------------------------------------------- policies

policy("unknown-top-key", "title: Base policy", "titel: Base policy", "titel")
policy("missing-id", "id: base\n", "", "title")
policy("missing-controls", None, None, "id", text="id: base\ntitle: Base policy\n", note="a policy with neither controls nor includes")
policy("controls-not-list", None, None, "root-login", text="id: base\ntitle: Base policy\ncontrols: root-login\n")
policy("control-unknown-key", "    severity: high", "    severity: high\n    weight: 3", "weight")
policy("control-missing-id", "  - id: root-login\n    title: SSH root login is disabled", "  - title: SSH root login is disabled", "title: SSH root login")
policy("control-missing-title", "    title: SSH root login is disabled\n", "", "id: root-login")
policy("control-missing-check", "    check:\n      sshd: {setting: PermitRootLogin, value: \"no\"}\n", "", "id: root-login")
policy("control-missing-severity", "    severity: high\n", "", "id: root-login")
policy("control-id-with-space", "  - id: root-login", "  - id: root login", "root login")
policy("control-id-duplicate", "  - id: max-tries", "  - id: root-login", "id: root-login", nth=2)
policy("severity-unknown", "severity: high", "severity: severe", "severe")
policy("severity-number", "severity: high", "severity: 3", "3", nth=1)
policy("resource-unknown", "      sshd: {setting: PermitRootLogin", "      ssh: {setting: PermitRootLogin", "ssh:")
policy("resource-two", "      sshd: {setting: PermitRootLogin, value: \"no\"}", "      sshd: {setting: PermitRootLogin, value: \"no\"}\n      file: {path: /etc/x}", "sshd: {setting: PermitRootLogin", note="a check with two resources")
policy("sshd-unknown-field", "{setting: PermitRootLogin, value: \"no\"}", "{setting: PermitRootLogin, valeu: \"no\"}", "valeu")
policy("sshd-missing-setting", "{setting: PermitRootLogin, value: \"no\"}", "{value: \"no\"}", "{value", nth=1)
policy("matcher-unknown", 'value: {le: "{{ max_tries }}"}', 'value: {below: "{{ max_tries }}"}', "below")
policy("matcher-two", 'value: {le: "{{ max_tries }}"}', 'value: {le: "4", ge: "1"}', "{le", note="a matcher with two operators")
policy("matcher-le-not-number", 'value: {le: "{{ max_tries }}"}', 'value: {le: "four"}', '"four"')
policy("matcher-regex-invalid", 'value: "no"', 'value: {matches: "(unclosed"}', '"(unclosed"')
policy("matcher-one-of-string", 'value: "no"', 'value: {one_of: "no"}', '"no"', nth=1)
policy("file-mode-invalid", 'mode: "0640"', 'mode: "rw-r-----"', '"rw-r-----"')
policy("file-mode-too-big", 'mode: "0640"', 'mode: "77777"', '"77777"')
policy("file-path-relative", "path: /etc/shadow", "path: etc/shadow", "path: etc/shadow", offset=6)
policy("file-contains-bad-regex", "owner: root, mode", 'contains: ["[a-"], owner: root, mode', "{path: /etc/shadow", note="reported at the file check")
policy("command-exit-code-huge", "exit_code: 0}", "exit_code: 99999999999}", "99999999999")
policy("command-exit-code-negative", "exit_code: 0}", "exit_code: -1}", "-1", note="a process cannot exit -1")
policy("command-exit-code-int-min", "exit_code: 0}", "exit_code: -2147483649}", "-2147483649")
policy("command-exit-code-word", "exit_code: 0}", "exit_code: zero}", "zero")
policy("command-exit-code-256", "exit_code: 0}", "exit_code: 256}", "256", note="an exit status is 0..255")
policy("command-without-expectation", '{run: "cat /etc/hello", exit_code: 0}', '{run: "cat /etc/hello"}', "{run")
policy("command-run-empty", '{run: "cat /etc/hello", exit_code: 0}', '{run: "", exit_code: 0}', '""')
policy("command-runtime-word", 'exit_code: 0}', 'exit_code: 0, runtime: sometimes}', "sometimes")
policy("tags-not-list", "    tags: [ssh]", "    tags: {ssh: true}", "{ssh")
policy("variable-undeclared", '{le: "{{ max_tries }}"}', '{le: "{{ max_retries }}"}', '"{{ max_retries }}"')
policy("variable-unclosed", '{le: "{{ max_tries }}"}', '{le: "{{ max_tries"}', '"{{ max_tries"')
policy("variables-not-map", '  max_tries: "4"', "  - max_tries", "- max_tries")
policy("variable-is-list", '  max_tries: "4"', "  max_tries: [4]", "[4]")
policy("include-missing", "controls:", "include:\n  - path: nope.yaml\ncontrols:", "nope.yaml")
policy("include-self", "controls:", "include:\n  - path: policy.yaml\ncontrols:", "policy.yaml", note="an include cycle")
policy("include-not-list", "controls:", "include: nope.yaml\ncontrols:", "nope.yaml")
policy("include-unknown-key", "controls:", "include:\n  - file: nope.yaml\ncontrols:", "file")
policy("tests-not-list", None, None, "name: root login", text=POLICY.replace("tests:\n  - name", "tests:\n    name").replace("    facts:", "    facts:", 1))
policy("test-missing-expect", "    expect:\n      root-login: fail\n", "", "name: root login")
policy("test-expect-unknown-state", "root-login: fail", "root-login: failed", "failed")
policy("test-expect-unknown-control", "root-login: fail", "root-logn: fail", "root-logn: fail", offset=11)
policy("test-fact-exit-code-huge", "sshd: {exitCode: 0,", "sshd: {exitCode: 99999999999,", "99999999999")
policy("test-fact-exit-code-negative-huge", "sshd: {exitCode: 0,", "sshd: {exitCode: -99999999999,", "-99999999999")
policy("test-fact-exit-code-word", "sshd: {exitCode: 0,", "sshd: {exitCode: ok,", "ok,", offset=0)
policy("test-fact-unknown-key", "sshd: {exitCode: 0,", "sshd: {exit: 0,", "exit:")
policy("test-fact-unknown-probe", "      sshd: {exitCode", "      sshdd: {exitCode", "sshdd")
policy("test-reboot-missing-before", "    expect:\n      root-login", "    reboot: {boot_id_after: b}\n    expect:\n      root-login", "{boot_id_after")
policy("yaml-tab", "    severity: high", "\tseverity: high", "\tseverity")
policy("yaml-duplicate-key", "    severity: high", "    severity: high\n    severity: low", "severity", nth=2)
policy("yaml-duplicate-in-flow", 'sshd: {setting: PermitRootLogin, value: "no"}', 'sshd: {setting: PermitRootLogin, setting: X, value: "no"}', "setting", nth=2)
policy("yaml-unclosed-quote", 'value: "no"}', 'value: "no}', "{setting: PermitRootLogin", note="the quote runs on: the flow mapping it is in is not closed")
policy("yaml-bad-indent", "    severity: high", "     severity: high", "severity: high", offset=8)
policy("yaml-anchor", "    severity: high", "    severity: &s high", "&s")
policy("yaml-empty", None, None, "", text="", note="an empty policy file")
cases[-1]["position"] = cases[-1]["position"].rsplit(":", 2)[0] + ":1:1"
add("policy", "invalid-utf8", {"policy.yaml": POLICY.encode().replace(b"Base policy", b"Base \xfe policy")}, ["policy", "lint", "{case}/policy.yaml"], 65, ("policy.yaml", "\ufffd"))
add("policy", "nonexistent", {}, ["policy", "lint", "{case}/nope.yaml"], 65, ("nope.yaml",))
add("policy", "directory", {"dir/.keep": ""}, ["policy", "test", "{case}/dir"], 65, ("dir",))
add("policy", "fifo", {}, ["policy", "lint", "{case}/fifo.yaml"], 65, ("fifo.yaml",), setup="fifo:fifo.yaml")
add("policy", "dev-zero", {}, ["policy", "test", "/dev/zero"], 65, ("/dev/zero",))
add("policy", "no-test-cases", {"policy.yaml": POLICY.split("tests:")[0]}, ["policy", "test", "{case}/policy.yaml"], 64, None, note="policy test with zero test cases is not success")
add("policy", "tag-selects-nothing", {}, ["policy", "test", "{base}/policies/base.yaml", "--facts", "{base}/facts.json", "--tag", "shh"], 64, None, note="a --tag typo selects nothing")
add("policy", "through-recipe", {"recipe.yaml": recipe_text(policy="policy.yaml"), "policy.yaml": POLICY.replace("severity: high", "severity: urgent")}, RUN, 65, ("policy.yaml", "urgent"))
add("policy", "through-recipe-duplicate", {"recipe.yaml": recipe_text(policy="policy.yaml"), "policy.yaml": POLICY.replace("  - id: max-tries", "  - id: root-login")}, ["build", "{case}/recipe.yaml"], 65, ("policy.yaml", "id: root-login", 2))

# ---------------------------------------------------------------- waivers

waiver("missing-control", "  - control: shadow-mode\n    justification", "  - justification", "justification")
waiver("missing-justification", '    justification: "Checked by the platform team"\n', "", "control")
waiver("missing-expiry", "    expires: 2027-06-30\n", "", "control", note="a waiver without an expiry is an error")
waiver("expiry-bad-month", "expires: 2027-06-30", "expires: 2027-13-01", "2027-13-01")
waiver("expiry-feb-30", "expires: 2027-06-30", "expires: 2027-02-30", "2027-02-30")
waiver("expiry-words", "expires: 2027-06-30", "expires: next year", "next year")
waiver("expiry-huge-year", "expires: 2027-06-30", "expires: 99999999999-01-01", "99999999999-01-01")
waiver("expiry-past", "expires: 2027-06-30", "expires: 2020-01-01", "2020-01-01", note="an already expired waiver is reported")
# A run goes on with an expired waiver (it waives nothing, and the report says so); lint refuses it.
cases[-1]["args"] = ["policy", "lint", "{base}/policies/base.yaml", "--waivers", "{case:%s}/waivers.yaml" % cases[-1]["id"]]
waiver("mode-unknown", "mode: run", "mode: ignore", "ignore")
waiver("unknown-key", "    mode: run", "    mode: run\n    owner: me", "owner")
waiver("unknown-control", "control: shadow-mode", "control: no-such-control", "no-such-control")
waiver("control-bad-chars", "control: shadow-mode", "control: shadow mode!", "shadow mode!")
waiver("justification-empty", 'justification: "Checked by the platform team"', 'justification: ""', '""')
waiver("waivers-not-list", None, None, "shadow-mode", text="waivers: shadow-mode\n")
waiver("top-unknown-key", None, None, "waiver", text=WAIVERS.replace("waivers:", "waiver:"))
waiver("waiver-is-string", None, None, "shadow-mode", text="waivers:\n  - shadow-mode\n")
waiver("duplicate-control", None, None, "shadow-mode", nth=2, text=WAIVERS + WAIVERS[len("waivers:\n"):])
waiver("yaml-tab", "    mode: run", "\tmode: run", "\tmode")
waiver("yaml-duplicate-key", "    mode: run", "    mode: run\n    mode: skip", "mode: skip")
waiver("yaml-unclosed-quote", 'justification: "Checked by the platform team"', 'justification: "Checked by the platform team', '"Checked')
waiver("yaml-alias", "    mode: run", "    mode: &m run", "&m")
add("waiver", "nonexistent", {}, ["policy", "test", "{base}/policies/base.yaml", "--waivers", "{case}/nope.yaml"], 65, ("nope.yaml",))
add("waiver", "directory", {"dir/.keep": ""}, ["policy", "test", "{base}/policies/base.yaml", "--waivers", "{case}/dir"], 65, ("dir",))
add("waiver", "empty", {"waivers.yaml": ""}, ["policy", "test", "{base}/policies/base.yaml", "--waivers", "{case}/waivers.yaml"], 65, ("waivers.yaml", ""))

# ---------------------------------------------------------------- variables (--var and tests.variables)

LINT = ["policy", "lint", "{base}/policies/base.yaml"]
add("variables", "var-without-equals", {}, LINT + ["--var", "max_tries"], 64, None)
add("variables", "var-empty-name", {}, LINT + ["--var", "=3"], 64, None)
add("variables", "var-undeclared-lint", {}, LINT + ["--var", "nosuch=3"], 65, None, note="a --var no policy declares")
add("variables", "var-undeclared-test", {}, ["policy", "test", "{base}/policies/base.yaml", "--var", "nosuch=3"], 65, None)
add("variables", "var-not-a-number", {}, ["policy", "test", "{base}/policies/base.yaml", "--var", "max_tries=four"], 65, ("{base}/policies/base.yaml",), note="a value the matcher cannot compare")
add("variables", "var-regex-breaks", {"policy.yaml": POLICY.replace('value: "no"', 'value: {matches: "{{ pattern }}"}').replace('  max_tries: "4"', '  max_tries: "4"\n  pattern: "^no$"')}, ["policy", "lint", "{case}/policy.yaml", "--var", "pattern=(unclosed"], 65, ("policy.yaml", '"{{ pattern }}"'), note="reported at the regular expression")
add("variables", "var-newline", {}, LINT + ["--var", "max_tries=3\n4"], 65, None)
add("variables", "recipe-variable-wrong-type", {"recipe.yaml": recipe_text().replace("  gate: info", "  gate: info\n  variables: {max_tries: [3]}")}, RUN, 65, ("recipe.yaml", "[3]"))
add("variables", "recipe-variable-undeclared", {"recipe.yaml": recipe_text().replace("  gate: info", "  gate: info\n  variables: {max_trys: \"3\"}")}, ["build", "{case}/recipe.yaml"], 65, ("recipe.yaml", "{max_trys"))
add("variables", "recipe-variables-string", {"recipe.yaml": recipe_text().replace("  gate: info", "  gate: info\n  variables: max_tries=3")}, RUN, 65, ("recipe.yaml", "max_tries=3"))
add("variables", "recipe-variable-not-number", {"recipe.yaml": recipe_text().replace("  gate: info", "  gate: info\n  variables: {max_tries: lots}")}, RUN, 65, ("{base}/policies/base.yaml",), note="reported where the policy compares it")
add("variables", "recipe-variable-duplicate", {"recipe.yaml": recipe_text().replace("  gate: info", "  gate: info\n  variables: {max_tries: \"3\", max_tries: \"4\"}")}, RUN, 65, ("recipe.yaml", "max_tries", 2))
add("variables", "component-parameter-undeclared", {"recipe.yaml": recipe_text().replace('{Greeting: "hi"}', '{Greeting: "hi", Colour: red}')}, RUN, 65, ("recipe.yaml", "path:"))
add("variables", "policy-variable-default-list", {"policy.yaml": POLICY.replace('  max_tries: "4"', "  max_tries: [4]")}, ["policy", "test", "{case}/policy.yaml", "--var", "max_tries=3"], 65, ("policy.yaml", "[4]"))

# ---------------------------------------------------------------- keys

VERIFY = ["verify", "{base}/envelope.json", "--no-artifacts", "--key"]


def key(name, text, exit=65, at=True, note="", setup="-"):
    files = {"key.pem": text} if text is not None else {}
    add("key", name, files, VERIFY + ["{case}/key.pem"], exit, ("key.pem",) if at else None, note=note, setup=setup)


key("empty", "")
key("not-pem", "this is not a key\n")
key("private-instead-of-public", PRIVATE_KEY)
key("truncated-base64", PUBLIC_KEY[: len(PUBLIC_KEY) // 2])
key("bad-base64", PUBLIC_KEY.replace(PUBLIC_KEY.splitlines()[1], "!!!not base64!!!"))
key("wrong-algorithm", pem(bytes.fromhex("302a300506032b656e032100") + bytes(32), "PUBLIC KEY"), note="an X25519 key, not Ed25519")
key("short-der", pem(PUBLIC_PREFIX + bytes(5), "PUBLIC KEY"))
key("no-end-line", PUBLIC_KEY.replace("-----END PUBLIC KEY-----\n", ""))
key("certificate-label", PUBLIC_KEY.replace("PUBLIC KEY", "CERTIFICATE"))
key("binary", None)
cases[-1]["files"] = {"key.pem": b"\x00\xff\xfe\x01" * 64}
key("nonexistent", None)
key("directory", None)
cases[-1]["files"] = {"key.pem/.keep": ""}
key("fifo", None, setup="fifo:key.pem")
add("key", "signing-key-missing", {"recipe.yaml": recipe_text()}, RUN + ["--signing-key", "{case}/nope.key"], 65, ("nope.key",), note="the signing key is read before the build")
add("key", "signing-key-not-a-key", {"recipe.yaml": recipe_text(), "hallmark.key": "not a key\n"}, RUN + ["--signing-key", "{case}/hallmark.key"], 65, ("hallmark.key",))
add("key", "signing-key-public", {"recipe.yaml": recipe_text(), "hallmark.key": PUBLIC_KEY}, RUN + ["--signing-key", "{case}/hallmark.key"], 65, ("hallmark.key",))
add("key", "signing-key-group-writable", {"recipe.yaml": recipe_text(), "hallmark.key": PRIVATE_KEY}, RUN + ["--signing-key", "{case}/hallmark.key"], 65, ("hallmark.key",), setup="chmod:hallmark.key:666")
add("key", "signing-key-directory", {"recipe.yaml": recipe_text(), "keys/.keep": ""}, RUN + ["--signing-key", "{case}/keys"], 65, ("keys",))
add("key", "recipe-signing-key-missing", {"recipe.yaml": recipe_text() + "evidence: {signing_key: nope.key}\n"}, RUN, 65, ("recipe.yaml", "nope.key"))

# ---------------------------------------------------------------- envelopes

ENVELOPE_CHECK = ["--key", "{base}/hallmark.pub", "--no-artifacts"]


def env(name, content, exit=65, at=True, note="", setup="-"):
    files = {"envelope.json": content} if content is not None else {}
    add("envelope", name, files, ["verify", "{case}/envelope.json"] + ENVELOPE_CHECK, exit, ("envelope.json",) if at else None, note=note, setup=setup)


env("empty", "")
env("not-json", "hello\n")
env("json-array", "[]\n")
env("json-string", '"payload"\n')
env("missing-payload", json.dumps({"payloadType": "application/vnd.in-toto+json", "signatures": []}))
env("missing-signatures", json.dumps({"payload": "e30=", "payloadType": "application/vnd.in-toto+json"}))
env("payload-not-base64", json.dumps({"payload": "%%%", "payloadType": "application/vnd.in-toto+json", "signatures": [{"sig": "c2ln"}]}))
env("payload-number", json.dumps({"payload": 5, "payloadType": "application/vnd.in-toto+json", "signatures": []}))
env("signatures-object", json.dumps({"payload": "e30=", "payloadType": "application/vnd.in-toto+json", "signatures": {}}))
env("signature-null", json.dumps({"payload": "e30=", "payloadType": "application/vnd.in-toto+json", "signatures": [{"sig": None}]}))
env("report-json", REPORT, note="a report.json instead of its envelope")
env("truncated", envelope(STATEMENT)[:40])
env("deep-nesting", "[" * 100000 + "]" * 100000)
env("huge-number", '{"payload": 1e99999, "payloadType": "x", "signatures": []}')
env("invalid-utf8", None)
cases[-1]["files"] = {"envelope.json": b'{"payload": "\xff\xfe", "payloadType": "x", "signatures": []}'}
env("nonexistent", None)
env("directory", None)
cases[-1]["files"] = {"envelope.json/.keep": ""}
env("fifo", None, setup="fifo:envelope.json")
env("wrong-payload-type", envelope(STATEMENT, payload_type="text/plain"), exit=1, at=False, note="a well-formed envelope that fails verification exits 1")
env("bad-signature", envelope(STATEMENT), exit=1, at=False)
env("payload-not-statement", envelope('{"hello": 1}'), exit=1, at=False)
add("envelope", "no-artifacts-nor-flag", {}, ["verify", "{base}/envelope.json", "--key", "{base}/hallmark.pub"], 64, None)
add("envelope", "no-artifacts-with-files", {}, ["verify", "{base}/envelope.json", "--key", "{base}/hallmark.pub", "--no-artifacts", "--artifact", "{base}/facts.json"], 64, None)
add("envelope", "image-dir-missing", {}, ["verify", "{base}/envelope.json", "--key", "{base}/hallmark.pub", "--image-dir", "{case}/nope"], 64, None)
add("envelope", "gate-covers-unknown", {}, ["verify", "{base}/envelope.json", "--key", "{base}/hallmark.pub", "--no-artifacts", "--gate-covers", "urgent"], 64, None)
add("envelope", "build-negative", {}, ["verify", "{base}/envelope.json", "--key", "{base}/hallmark.pub", "--no-artifacts", "--build", "-1"], 64, None)
add("envelope", "missing-key-flag", {}, ["verify", "{base}/envelope.json", "--no-artifacts"], 64, None)

# ---------------------------------------------------------------- facts files

FACTS_TEST = ["policy", "test", "{base}/policies/base.yaml", "--facts"]


def facts(name, content, exit=65, at=True, note="", setup="-"):
    files = {"facts.json": content} if content is not None else {}
    add("facts", name, files, FACTS_TEST + ["{case}/facts.json"], exit, ("facts.json",) if at else None, note=note, setup=setup)


facts("empty", "")
facts("not-json", "probes: {}\n")
facts("array", "[]\n")
facts("missing-probes", '{"reboot": null}\n')
facts("probes-list", '{"probes": []}\n')
facts("exit-code-string", '{"probes": {"sshd": {"exitCode": "0", "stdout": "", "stderr": ""}}}\n')
facts("exit-code-huge", '{"probes": {"sshd": {"exitCode": 99999999999, "stdout": "", "stderr": ""}}}\n')
facts("exit-code-negative-huge", '{"probes": {"sshd": {"exitCode": -99999999999, "stdout": "", "stderr": ""}}}\n')
facts("exit-code-fraction", '{"probes": {"sshd": {"exitCode": 0.5, "stdout": "", "stderr": ""}}}\n')
facts("exit-code-missing", '{"probes": {"sshd": {"stdout": "", "stderr": ""}}}\n')
facts("stdout-number", '{"probes": {"sshd": {"exitCode": 0, "stdout": 5, "stderr": ""}}}\n')
facts("stdout-null", '{"probes": {"sshd": {"exitCode": 0, "stdout": null, "stderr": ""}}}\n')
facts("reboot-wrong-type", '{"probes": {}, "reboot": "yes"}\n')
facts("source-unknown", '{"probes": {}, "source": "cloud"}\n')
facts("deep-nesting", '{"probes": ' + "[" * 50000 + "]" * 50000 + "}")
facts("huge-number", '{"probes": {"sshd": {"exitCode": 1e400, "stdout": "", "stderr": ""}}}\n')
facts("trailing-garbage", json.dumps(FACTS) + " garbage\n")
facts("invalid-utf8", None)
cases[-1]["files"] = {"facts.json": b'{"probes": {"sshd": {"exitCode": 0, "stdout": "\xff", "stderr": ""}}}'}
facts("nonexistent", None)
facts("directory", None)
cases[-1]["files"] = {"facts.json/.keep": ""}
facts("fifo", None, setup="fifo:facts.json")
add("facts", "dev-zero", {}, FACTS_TEST + ["/dev/zero"], 65, ("/dev/zero",))
add("facts", "dev-null", {}, FACTS_TEST + ["/dev/null"], 65, ("/dev/null",))
add("facts", "with-rootfs", {}, FACTS_TEST + ["{base}/facts.json", "--rootfs", "/"], 64, None)

# ---------------------------------------------------------------- command lines


def cli(name, args, exit=64, note="", at=None, files=None):
    add("cli", name, files or {}, args, exit, at, note=note)


BASE_RECIPE = "{base}/recipe.yaml"
cli("unknown-subcommand", ["frobnicate"])
cli("unknown-flag-run", ["run", BASE_RECIPE, "--frobnicate"])
cli("run-without-recipe", ["run"])
cli("build-without-recipe", ["build"])
cli("test-without-recipe", ["test"])
cli("run-accel-unknown", ["run", BASE_RECIPE, "--accel", "hvf"])
cli("run-gate-unknown", ["run", BASE_RECIPE, "--gate", "severe"])
cli("run-junit-unknown", ["run", BASE_RECIPE, "--junit", "fancy"])
cli("run-jobs-zero", ["run", BASE_RECIPE, "--jobs", "0"])
cli("run-jobs-negative", ["run", BASE_RECIPE, "--jobs", "-1"])
cli("run-jobs-huge", ["run", BASE_RECIPE, "--jobs", "99999999999999999999"])
cli("run-jobs-word", ["run", BASE_RECIPE, "--jobs", "two"])
cli("build-gate-refused", ["build", BASE_RECIPE, "--gate", "high"])
cli("build-signing-key-refused", ["build", BASE_RECIPE, "--signing-key", "{base}/hallmark.key"])
cli("test-build-negative", ["test", BASE_RECIPE, "--build", "-1"], note="says the build number must be positive, not 'Missing value'")
cli("test-build-zero", ["test", BASE_RECIPE, "--build", "0"])
cli("test-build-word", ["test", BASE_RECIPE, "--build", "latest"])
cli("test-build-huge", ["test", BASE_RECIPE, "--build", "99999999999999999999"])
cli("test-build-missing", ["test", BASE_RECIPE, "--build", "7"], note="no such build in a fresh home")
cli("test-no-build", ["test", BASE_RECIPE], note="nothing built in a fresh home")
cli("reports-is-file", ["run", BASE_RECIPE, "--reports", "{base}/recipe.yaml"], note="--reports names a file")
cli("stop-with-all", ["stop", "x", "--all"])
cli("stop-nothing", ["stop"])
cli("stop-unknown", ["stop", "nosuchvm"])
cli("stop-dotdot", ["stop", "../../x"], note="a kept VM name cannot leave $HALLMARK_HOME/run")
cli("shell-command-without-run", ["shell", "--", "true"])
cli("shell-unknown", ["shell", "nosuchvm", "--", "true"])
cli("policy-without-subcommand", ["policy", "frob"])
cli("policy-lint-no-files", ["policy", "lint"])
cli("policy-test-no-files", ["policy", "test"])
cli("policy-test-facts-and-rootfs", ["policy", "test", "{base}/policies/base.yaml", "--facts", "{base}/facts.json", "--rootfs", "/"])
cli("policy-test-gate-unknown", ["policy", "test", "{base}/policies/base.yaml", "--gate", "severe"])
cli("policy-test-rootfs-missing", ["policy", "test", "{base}/policies/base.yaml", "--rootfs", "{case}/nope"])
cli("key-generate-without-out", ["key", "generate"])
cli("key-generate-out-is-file", ["key", "generate", "--out", "{base}/recipe.yaml"], exit=64, note="--out names a file")
cli("key-unknown-subcommand", ["key", "rotate"])
cli("verify-without-envelope", ["verify"])
cli("run-recipe-and-dash", ["run", "-"], exit=65, note="'-' is not a recipe file")

# ---------------------------------------------------------------- write everything

if os.path.isdir(ROOT):
    shutil.rmtree(ROOT)
os.makedirs(ROOT)


def write(path, content):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(content if isinstance(content, bytes) else content.encode("utf-8"))


base = os.path.join(ROOT, "base")
write(os.path.join(base, "components", "hello.yaml"), COMPONENT)
write(os.path.join(base, "policies", "base.yaml"), POLICY)
write(os.path.join(base, "recipe.yaml"), recipe_text(component="components/hello.yaml", policy="policies/base.yaml"))
write(os.path.join(base, "waivers.yaml"), WAIVERS)
write(os.path.join(base, "facts.json"), json.dumps(FACTS, indent=2) + "\n")
write(os.path.join(base, "hallmark.pub"), PUBLIC_KEY)
write(os.path.join(base, "hallmark.key"), PRIVATE_KEY)
write(os.path.join(base, "envelope.json"), envelope(STATEMENT))

rows = ["id\tkind\targs\texit\tposition\tstatus\tsetup\tnote"]
for case in cases:
    directory = os.path.join(ROOT, "cases", case["id"])
    os.makedirs(directory, exist_ok=True)
    for name, content in case["files"].items():
        write(os.path.join(directory, name), content)
    for field in ("note", "position"):
        assert "\t" not in case[field] and "\n" not in case[field], case["id"]
    args = json.dumps([a.replace("{case:%s}" % case["id"], "{case}") for a in case["args"]], ensure_ascii=True)
    rows.append("\t".join([case["id"], case["kind"], args, str(case["exit"]), case["position"], case["status"], case["setup"], case["note"]]))
write(os.path.join(ROOT, "manifest.tsv"), "\n".join(rows) + "\n")

by_kind = {}
for case in cases:
    by_kind[case["kind"]] = by_kind.get(case["kind"], 0) + 1
print("%d cases: %s" % (len(cases), ", ".join("%s %d" % item for item in sorted(by_kind.items()))))
