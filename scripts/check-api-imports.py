#!/usr/bin/env python3
"""The api crate's file-level import graph has no loop of more than two files.

Issue 16: `AppState` lives in `api/src/state.rs`, which imports no route,
and routes and dashboard pages share types through `api/src/responses.rs`,
not through each other. This check keeps it so: it reads every `api/src/**/*.rs`
(the library; `main.rs` is its own crate), finds each path into the crate
(`crate::…`, `super::…`, `self::…`, a child module's name, or a module
brought in by a `use`), resolves it to the deepest file that exists
(`a::b::C` → `a/b.rs` or `a/b/mod.rs`, else `a.rs` / `a/mod.rs`), and
builds the graph "file X names something in file Y". A parent declaring its
children (`mod x;`) is not an edge; `pub use` re-exports are. It prints the
largest strongly connected component and fails naming the files of any with
more than two.

    python3 scripts/check-api-imports.py [--edges] [root]
"""

import os
import sys

MAX_SCC = 2


def lex(text):
    """Identifiers and punctuation of Rust source; comments, strings, char
    literals and lifetimes dropped."""
    tokens = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif c == '"':
            i = skip_string(text, i + 1)
        elif c == "'":
            if i + 1 < n and text[i + 1] == "\\":
                j = text.find("'", i + 3)
                i = n if j < 0 else j + 1
            elif i + 2 < n and text[i + 2] == "'":
                i += 3
            else:  # a lifetime or label
                i += 1
                while i < n and (text[i].isalnum() or text[i] == "_"):
                    i += 1
        elif c.isalpha() or c == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            if word in ("r", "br", "b", "c", "cr") and j < n and text[j] in "#\"":
                if word in ("b", "c") and text[j] == '"':
                    i = skip_string(text, j + 1)
                    continue
                k = j
                while k < n and text[k] == "#":
                    k += 1
                if k < n and text[k] == '"':
                    end = text.find('"' + "#" * (k - j), k + 1)
                    i = n if end < 0 else end + 1 + (k - j)
                    continue
                if word == "r" and k == j + 1:  # r#ident
                    m = k
                    while m < n and (text[m].isalnum() or text[m] == "_"):
                        m += 1
                    tokens.append(text[k:m])
                    i = m
                    continue
            tokens.append(word)
            i = j
        elif c.isdigit():
            j = i
            while j < n and (text[j].isalnum() or text[j] in "_."):
                j += 1
            i = j
        elif text.startswith("::", i):
            tokens.append("::")
            i += 2
        else:
            tokens.append(c)
            i += 1
    return tokens


def skip_string(text, i):
    n = len(text)
    while i < n:
        if text[i] == "\\":
            i += 2
        elif text[i] == '"':
            return i + 1
        else:
            i += 1
    return n


def is_ident(tok):
    return tok[0].isalpha() or tok[0] == "_"


def use_tree(tokens, i, prefix, out):
    """Parses a use tree at tokens[i]; appends (path, alias) to out; returns
    the index after it."""
    path = list(prefix)
    while i < len(tokens):
        tok = tokens[i]
        if tok == "{":
            i += 1
            while i < len(tokens) and tokens[i] != "}":
                i = use_tree(tokens, i, path, out)
                if i < len(tokens) and tokens[i] == ",":
                    i += 1
            return i + 1
        if tok == "*":
            out.append((path + ["*"], None))
            return i + 1
        if tok == "::":
            i += 1
            continue
        if not is_ident(tok):
            break
        if tok == "self" and path:
            alias = path[-1]
        else:
            path.append(tok)
            alias = tok
        i += 1
        if i < len(tokens) and tokens[i] == "::":
            continue
        if i + 1 < len(tokens) and tokens[i] == "as":
            alias = tokens[i + 1]
            i += 2
        out.append((path, alias))
        return i
    if path != list(prefix):
        out.append((path, path[-1]))
    return i


class Crate:
    def __init__(self, src):
        self.src = src
        self.files = {}  # module path (tuple) -> file, relative to src
        for dirpath, _, names in os.walk(src):
            for name in names:
                if not name.endswith(".rs"):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, name), src)
                parts = rel[:-3].split(os.sep)
                if rel == "main.rs":
                    continue  # the binary: its `crate` is another crate
                if rel == "lib.rs":
                    parts = []
                elif parts[-1] == "mod":
                    parts = parts[:-1]
                self.files[tuple(parts)] = rel

    def file_of(self, module):
        """The deepest file holding `module` (a tuple of segments)."""
        module = tuple(module)
        while module not in self.files:
            module = module[:-1]
        return self.files[module]

    def edges(self):
        found = {}  # (from, to) -> first path seen
        for module, rel in sorted(self.files.items(), key=lambda kv: kv[1]):
            with open(os.path.join(self.src, rel), encoding="utf-8") as f:
                tokens = lex(f.read())
            for target, shown in self.paths(module, tokens):
                to = self.file_of(target)
                if to != rel:
                    found.setdefault((rel, to), shown)
        return found

    def children(self, module):
        return {m[-1] for m in self.files if len(m) == len(module) + 1 and m[:-1] == module}

    def paths(self, module, tokens):
        """(target module path, the path as written) for every path into the
        crate in one file."""
        inline = []  # (name, brace depth inside it)
        depth = 0
        aliases = {}  # name brought in by `use` -> module path
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            here = tuple(module) + tuple(name for name, _ in inline)
            if tok == "{":
                depth += 1
            elif tok == "}":
                depth -= 1
                if inline and inline[-1][1] > depth:
                    inline.pop()
            elif tok == "mod" and i + 2 < len(tokens) and tokens[i + 2] == "{":
                depth += 1
                inline.append((tokens[i + 1], depth))
                i += 3
                continue
            elif tok == "use":
                out = []
                i = use_tree(tokens, i + 1, [], out)
                for path, alias in out:
                    target = self.resolve(here, path, aliases)
                    if target is None:
                        continue
                    yield target, "::".join(path)
                    if alias and alias != "_" and tuple(target) in self.files:
                        aliases[alias] = tuple(target)
                continue
            elif is_ident(tok) and (i == 0 or tokens[i - 1] != "::"):
                path = [tok]
                j = i + 1
                while j + 1 < len(tokens) and tokens[j] == "::" and is_ident(tokens[j + 1]):
                    path.append(tokens[j + 1])
                    j += 2
                if len(path) > 1:
                    target = self.resolve(here, path, aliases)
                    if target is not None:
                        yield target, "::".join(path)
                    i = j
                    continue
            i += 1

    def resolve(self, here, path, aliases):
        """The module path `path` names from module `here`, or None if it
        leaves the crate."""
        head, rest = path[0], [p for p in path[1:] if p != "*"]
        if head == "crate":
            base = ()
        elif head == "self":
            base = here
        elif head == "super":
            base = here[:-1]
            while rest and rest[0] == "super":
                base, rest = base[:-1], rest[1:]
        elif head in self.children(here):
            base = here + (head,)
        elif head in aliases:
            base = aliases[head]
        else:
            return None
        return base + tuple(rest)


def sccs(nodes, edges):
    """Tarjan's strongly connected components."""
    graph = {v: [] for v in nodes}
    for a, b in edges:
        graph[a].append(b)
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            out.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def main(argv):
    show_edges = "--edges" in argv
    args = [a for a in argv if not a.startswith("--")]
    root = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    src = os.path.join(root, "api", "src")
    crate = Crate(src)
    edges = crate.edges()
    if show_edges:
        for (a, b), shown in sorted(edges.items()):
            print(f"{a} -> {b}  ({shown})")
    components = sorted(sccs(crate.files.values(), edges), key=len, reverse=True)
    largest = len(components[0]) if components else 0
    print(f"api/src: {len(crate.files)} files, {len(edges)} import edges, largest import loop: {largest} file(s)")
    bad = [c for c in components if len(c) > MAX_SCC]
    for c in components:
        if len(c) > 1:
            label = "LOOP" if len(c) > MAX_SCC else "pair"
            print(f"  {label} of {len(c)}: " + ", ".join("api/src/" + f for f in c))
    if bad:
        print(f"error: {len(bad)} import loop(s) of more than {MAX_SCC} files in api/src", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
