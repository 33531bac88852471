"""Precision and recall of PII masking on the labelled corpus, with the project's rules/pii.yaml.

    python bench/pii_recall.py [--corpus tests/corpus/pii.jsonl] [--project-dir .] [-v]

Each corpus line is ``{"text", "pii": [{"kind", "value"}], "tenant"?, "field"?}``; a find counts as
right only when its kind and its exact text match a label (a span one character off is a miss and
a false find). Lines without labels are look-alikes (order ids, UUIDs, timestamps, versions, phone
numbers, numbers failing Luhn or mod-97) that must stay untouched. -v lists every miss and false find."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from streams.rules import pii
from streams.stages.mask import finds

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Score:
    expected: Counter[str] = field(default_factory=Counter)
    found: Counter[str] = field(default_factory=Counter)
    right: Counter[str] = field(default_factory=Counter)
    misses: list[str] = field(default_factory=list)
    false_finds: list[str] = field(default_factory=list)

    @staticmethod
    def ratio(numerator: int, denominator: int) -> float:
        return numerator / denominator if denominator else 1.0

    def precision(self, kind: str | None = None) -> float:
        if kind is None:
            return self.ratio(sum(self.right.values()), sum(self.found.values()))
        return self.ratio(self.right[kind], self.found[kind])

    def recall(self, kind: str | None = None) -> float:
        if kind is None:
            return self.ratio(sum(self.right.values()), sum(self.expected.values()))
        return self.ratio(self.right[kind], self.expected[kind])


def evaluate(corpus: Path, rules: pii.PiiRules) -> Score:
    score = Score()
    for number, line in enumerate(corpus.read_text().splitlines(), 1):
        if not line.strip():
            continue
        case = json.loads(line)
        text = case["text"]
        policy = rules.for_field(case.get("tenant", "default"), case.get("field", "message"))
        expected = Counter((label["kind"], label["value"]) for label in case["pii"])
        found = Counter((f.recognizer.kind, text[f.start:f.end]) for f in finds(text, policy.recognizers))
        right = expected & found
        for (kind, _), n in expected.items():
            score.expected[kind] += n
        for (kind, _), n in found.items():
            score.found[kind] += n
        for (kind, _), n in right.items():
            score.right[kind] += n
        score.misses += [f"line {number}: missed {kind} {value!r}" for kind, value in expected - found]
        score.false_finds += [f"line {number}: false {kind} {value!r}" for kind, value in found - expected]
    return score


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests" / "corpus" / "pii.jsonl")
    parser.add_argument("--project-dir", type=Path, default=ROOT)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    score = evaluate(args.corpus, pii.load(args.project_dir, None))
    lines = sum(1 for line in args.corpus.read_text().splitlines() if line.strip())
    print(f"corpus {args.corpus} ({lines} lines), rules {args.project_dir / 'rules' / pii.FILE}")
    print(f"{'kind':<16}{'labels':>8}{'found':>8}{'right':>8}{'precision':>11}{'recall':>8}")
    for kind in sorted(set(score.expected) | set(score.found)):
        print(
            f"{kind:<16}{score.expected[kind]:>8}{score.found[kind]:>8}{score.right[kind]:>8}"
            f"{score.precision(kind):>11.3f}{score.recall(kind):>8.3f}"
        )
    print(
        f"{'all':<16}{sum(score.expected.values()):>8}{sum(score.found.values()):>8}{sum(score.right.values()):>8}"
        f"{score.precision():>11.3f}{score.recall():>8.3f}"
    )
    if args.verbose:
        for problem in score.misses + score.false_finds:
            print(problem)
    return 0


if __name__ == "__main__":
    sys.exit(main())
