#!/usr/bin/env python3
"""Rewrite citations of the old design brief ("design §N") to the decision
records that now hold it (docs/adr/NNNN-*.md, issue 16).

    python3 scripts/dev/rewrite-design-citations.py [--check] [PATH ...]

Walks the repository's files (tracked and untracked-but-not-ignored, or the
PATHs given) and rewrites, in place:

    design §2                  -> docs/adr/0002-lattices.md
    design §3, §5 / §3 and §5  -> docs/adr/0003-plans.md, docs/adr/0005-scheduler.md
    design §1's first rule     -> the first rule of docs/adr/0001-processes.md
    [design §2](any-link)      -> [docs/adr/0002-lattices.md](<relative link to it>)

Only the citation text changes, except where the longer text pushes a line
past 100 characters: then the words past it move to the start of the
paragraph's next line, and so on down while a line overflows. Only lines
that cite the brief are touched, so running it again on rewritten files
changes nothing. It exists to be re-run after branches that were open
during the rewrite merge. `--check` lists what would change and exits 1 if anything would.
"""

import os
import re
import subprocess
import sys

RECORDS = {
    "1": "docs/adr/0001-processes.md",
    "2": "docs/adr/0002-lattices.md",
    "3": "docs/adr/0003-plans.md",
    "4": "docs/adr/0004-api.md",
    "5": "docs/adr/0005-scheduler.md",
    "6": "docs/adr/0006-crates.md",
    "7": "docs/adr/0007-tests-and-ci.md",
    "8": "docs/adr/0008-local-servers.md",
}

SKIP = {
    "scripts/dev/rewrite-design-citations.py",
    "scripts/check-doc-citations.py",
}
# Applied migrations never change: sqlx keeps each one's checksum, and every
# binary refuses a database whose recorded checksums differ from its own. Their
# comments keep citing the brief's sections, which docs/adr/README.md maps to
# the records (§N is record 000N).
SKIP_DIRS = ("migrations/", "target/")

SEC = "\u00a7"  # the section sign
CITES = re.compile(r"[Dd]esign " + SEC)
# [design §2](link)
LINK = re.compile(r"\[[Dd]esign " + SEC + r"(\d)\]\([^)]*\)")
# design §1's control fanout / design §2's sum: the possessive reads as "the X of PATH".
TWO_WORD_NOUNS = ("control fanout", "first rule")
POSSESSIVE = re.compile(
    r"[Dd]esign " + SEC + r"(\d)'s ("
    + "|".join(re.escape(n) for n in TWO_WORD_NOUNS)
    + r"|[A-Za-z-]+)"
)
# design §3, §5 / design §1 and §4 / design §1, §3, §5
PLAIN = re.compile(r"[Dd]esign " + SEC + r"(\d)((?:(?:, | and )" + SEC + r"\d)*)")
MORE = re.compile(r"((?:, | and ))" + SEC + r"(\d)")

MAX_WIDTH = 100

# A comment marker (or none, for Markdown and plain text) after indentation.
PREFIX = re.compile(r"^(\s*(?://[!/]?|#|--|\*|/\*)?\s?)")
ITEM = re.compile(r"^(?:[-*+] |\d+\. )")


def rewrite_text(line: str, relpath: str) -> str:
    def link(m):
        target = RECORDS[m.group(1)]
        rel = os.path.relpath(target, os.path.dirname(relpath) or ".")
        return f"[{target}]({rel})"

    line = LINK.sub(link, line)
    line = POSSESSIVE.sub(lambda m: f"the {m.group(2)} of {RECORDS[m.group(1)]}", line)

    def plain(m):
        rest = MORE.sub(lambda r: r.group(1) + RECORDS[r.group(2)], m.group(2))
        return RECORDS[m.group(1)] + rest

    return PLAIN.sub(plain, line)


def split_prefix(line: str):
    m = PREFIX.match(line)
    return m.group(1), line[m.end():]


def is_continuation(line: str, prefix: str) -> bool:
    if not line.startswith(prefix):
        return False
    rest = line[len(prefix):]
    if not rest.strip() or rest[0].isspace():
        return False
    if ITEM.match(rest) or rest.startswith(("|", "```", "#", "<", "!", "*/")):
        return False
    # The prefix must be exactly the line's own (not a deeper indentation).
    own, _ = split_prefix(line)
    return own == prefix or (own.strip() == "" and prefix.strip() == "" and len(own) <= len(prefix))


def rewrap(lines, i, width):
    """Push the words of lines[i] past `width` to the start of the paragraph's
    next line, and so on down while a line overflows: as few lines change as
    the width allows (other branches edit the same comments)."""
    first_prefix, text = split_prefix(lines[i])
    item = ITEM.match(text)
    cont_prefix = first_prefix + (" " * len(item.group(0)) if item else "")
    if cont_prefix.strip() == "/*":
        cont_prefix = cont_prefix.replace("/*", " *")
    prefix = first_prefix
    while len(lines[i]) > width:
        cut = lines[i].rfind(" ", len(prefix) + 1, width + 1)
        if cut <= len(prefix):
            return  # one word longer than the width: leave it
        head, tail = lines[i][:cut].rstrip(), lines[i][cut + 1:]
        lines[i] = head
        if i + 1 < len(lines) and is_continuation(lines[i + 1], cont_prefix):
            lines[i + 1] = cont_prefix + tail + " " + lines[i + 1][len(cont_prefix):]
        else:
            lines.insert(i + 1, cont_prefix + tail)
        i, prefix = i + 1, cont_prefix


def rewrite_file(relpath: str, text: str) -> str:
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        old = lines[i]
        if not CITES.search(old):
            i += 1
            continue
        new = rewrite_text(old, relpath)
        lines[i] = new
        width = MAX_WIDTH
        _, body = split_prefix(new)
        if len(new) > width and not body.lstrip().startswith("|"):
            rewrap(lines, i, width)
        # Rewrapping may have pulled a later citation into this paragraph's
        # next lines: they are looked at next.
        i += 1
    return "\n".join(lines)


def repository_files(root: str):
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root, check=True, capture_output=True,
    ).stdout.decode()
    return sorted({p for p in out.split("\0") if p})


def main(argv):
    check = "--check" in argv
    paths = [a for a in argv if a != "--check"]
    root = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], check=True, capture_output=True, text=True
    ).stdout.strip()
    files = [os.path.relpath(os.path.abspath(p), root) for p in paths] or repository_files(root)
    changed = []
    for rel in files:
        if rel in SKIP or rel.startswith(SKIP_DIRS):
            continue
        full = os.path.join(root, rel)
        if not os.path.isfile(full) or os.path.islink(full):
            continue
        try:
            with open(full, encoding="utf-8", newline="") as f:
                text = f.read()
        except (UnicodeDecodeError, OSError):
            continue
        if not CITES.search(text):
            continue
        new = rewrite_file(rel, text)
        if new != text:
            changed.append(rel)
            if not check:
                with open(full, "w", encoding="utf-8", newline="") as f:
                    f.write(new)
    for rel in changed:
        print(("would rewrite " if check else "rewrote ") + rel)
    return 1 if (check and changed) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
