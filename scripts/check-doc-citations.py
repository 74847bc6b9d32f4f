#!/usr/bin/env python3
"""Fails when a comment or document cites a file that is not in the repository.

    python3 scripts/check-doc-citations.py

Two rules, over every file git tracks or would track (issue 16):

- nothing cites the old design brief by section ("design" followed by a
  section sign): its decisions are docs/adr/NNNN-*.md now, and
  scripts/dev/rewrite-design-citations.py rewrites such citations;
- every `docs/...` path named anywhere (docs/adr/0002-lattices.md,
  docs/benchmarks.md#gpu-engine-issue-9, docs/img) exists, as a file or a
  folder. Only paths starting at the repository root count: `/docs/assets`
  (a URL path) and `../docs/x` (relative) are not citations of this kind.

Applied migrations are exempt from the first rule: sqlx checksums them, so
they never change (docs/adr/README.md maps their "§N" to record 000N).
"""

import os
import re
import subprocess
import sys

SELF = "scripts/check-doc-citations.py"
REWRITER = "scripts/dev/rewrite-design-citations.py"
BRIEF = re.compile(r"[Dd]esign \u00a7")
DOC_PATH = re.compile(r"(?<![\w./-])docs/[\w./-]*\w")
MAX_BYTES = 1 << 20  # vendored bundles are larger and cite nothing of ours


def repository_files(root):
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root, check=True, capture_output=True,
    ).stdout.decode()
    return sorted({p for p in out.split("\0") if p})


def main():
    root = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], check=True, capture_output=True, text=True
    ).stdout.strip()
    problems = []
    for rel in repository_files(root):
        full = os.path.join(root, rel)
        if rel in (SELF, REWRITER) or not os.path.isfile(full) or os.path.islink(full):
            continue
        if os.path.getsize(full) > MAX_BYTES:
            continue
        try:
            with open(full, encoding="utf-8") as f:
                lines = f.read().split("\n")
        except (UnicodeDecodeError, OSError):
            continue  # not text
        for n, line in enumerate(lines, 1):
            if BRIEF.search(line) and not rel.startswith("migrations/"):
                problems.append(f"{rel}:{n}: cites the design brief; cite its docs/adr record")
            for m in DOC_PATH.finditer(line):
                if not os.path.exists(os.path.join(root, m.group(0))):
                    problems.append(f"{rel}:{n}: cites {m.group(0)}, which does not exist")
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} citation(s) point nowhere (scripts/check-doc-citations.py)")
        return 1
    print("every cited docs/ path exists; nothing cites the design brief")
    return 0


if __name__ == "__main__":
    sys.exit(main())
