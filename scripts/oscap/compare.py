#!/usr/bin/env python3
"""Compares one tree's OpenSCAP results (XCCDF) with Hallmark's (policy test --json) through the
committed rule-to-control table, and prints the agreement and every disagreement with its
committed explanation. Exits 1 when a disagreement has no explanation, or one says Hallmark is wrong."""
import argparse
import json
import sys
import xml.etree.ElementTree as ET

XCCDF = "{http://checklists.nist.gov/xccdf/1.2}"
SCE = "http://open-scap.org/page/SCE"
PREFIX = "xccdf_org.ssgproject.content_rule_"
# Results both tools can state about a tree; anything else (notchecked, unknown, error) is not compared.
COMPARABLE = {"pass", "fail", "notapplicable"}


def table(path, columns):
    rows = []
    for line in open(path, encoding="utf-8"):
        if line.startswith("#") or not line.strip():
            continue
        fields = line.rstrip("\n").split("\t")
        rows.append(fields + [""] * (columns - len(fields)))
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", required=True)
    parser.add_argument("--oscap", required=True)
    parser.add_argument("--hallmark", required=True)
    parser.add_argument("--mapping", required=True)
    parser.add_argument("--explanations", required=True)
    args = parser.parse_args()

    oscap = {}
    for result in ET.parse(args.oscap).getroot().iter(XCCDF + "rule-result"):
        rule = result.get("idref", "").removeprefix(PREFIX)
        systems = {check.get("system") for check in result.iter(XCCDF + "check")}
        value = result.findtext(XCCDF + "result")
        # SCE scripts run on the host, not in OSCAP_PROBE_ROOT: their answer is not the tree's.
        oscap[rule] = "sce" if SCE in systems else value
    hallmark = {r["control"]: r["result"] for r in json.load(open(args.hallmark))["results"]}
    explanations = {}
    for tree, rule, right, why in table(args.explanations, 4):
        explanations[(tree, rule)] = (right, why)

    agree, disagreements, skipped = 0, [], 0
    for rule, control, _ in table(args.mapping, 3):
        if control == "-" or rule not in oscap:
            continue
        ours, theirs = hallmark.get(control), oscap[rule]
        if ours not in COMPARABLE or theirs not in COMPARABLE:
            skipped += 1
            continue
        # Both tools report "no violation" as pass or as not applicable (OpenSCAP passes a rule on a
        # file that is absent where Hallmark's control does not apply): the verdict compared is
        # whether the tree violates the rule.
        if (ours == "fail") == (theirs == "fail"):
            agree += 1
        else:
            disagreements.append((rule, control, theirs, ours))
    compared = agree + len(disagreements)
    print(f"{args.tree}: {compared} comparable pairs, {agree} agree ({100 * agree / max(compared, 1):.0f} %), "
          f"{len(disagreements)} disagree, {skipped} not comparable (notchecked, unknown, error or SCE)")
    bad = 0
    for rule, control, theirs, ours in disagreements:
        right, why = explanations.get((args.tree, rule)) or explanations.get(("*", rule)) or ("UNEXPLAINED", "")
        if right != "hallmark":
            bad += 1
        print(f"  {rule} (openscap {theirs}) vs {control} (hallmark {ours}): {right} right: {why}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
