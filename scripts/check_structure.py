#!/usr/bin/env python3
"""check_structure.py - the shape rules of src/, checked on every `make test`.

1. No call cycle between source files.  Each object file's undefined symbols
   (nm 'U') are matched with the file that defines them (nm 'T'/'D'/'B'/'R'):
   file A depends on file B when A uses a symbol B defines.  A cycle (A -> B ->
   ... -> A) means the two files cannot be understood, tested or linked one
   without the other; every strongly connected group of more than one file is
   reported.
2. No function longer than MAX_LINES lines unless the comment right above it
   says why, with the words "why long:".
3. The library never refers to the CLI: no src/lib object uses a symbol
   defined under src/cli.

Usage: check_structure.py BUILD_DIR SOURCE_DIR
Prints one line per problem and exits 1 if there is any.
"""
import glob
import os
import re
import subprocess
import sys

MAX_LINES = 100


def objects(build, root):
    """The object files of the library and the CLI, by source path (src/...); objects left
    in the build folder by a source file that no longer exists are not counted."""
    found = {}
    for o in glob.glob(os.path.join(build, "CMakeFiles", "*.dir", "src", "**", "*.o"),
                       recursive=True):
        target = o.split(os.sep + "CMakeFiles" + os.sep)[1].split(os.sep)[0]
        if target not in ("cnnfilter_lib.dir", "cnnfilter_cli.dir", "cnnfilter.dir"):
            continue
        src = "src" + o.split(os.sep + "src", 1)[1][:-2]  # strip ".o"
        if os.path.exists(os.path.join(root, src)):
            found[src] = o
    return found


def symbols(obj):
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            used.add(parts[1])
        elif len(parts) == 3 and parts[1] in "TDBRVW":
            defined.add(parts[2])
    return defined, used


def cycles(graph):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def long_functions(path):
    """(name, first line, length) of functions over MAX_LINES lines without a reason."""
    lines = open(path, encoding="utf-8").read().split("\n")
    found = []
    i = 0
    while i < len(lines):
        if lines[i] == "{" and i > 0:
            start = i - 1
            while start > 0 and lines[start - 1].strip() and \
                    not lines[start - 1].startswith(("}", "/*", " *", "#")) and \
                    not lines[start - 1].rstrip().endswith((";", "*/")):
                start -= 1
            end = i + 1
            while end < len(lines) and lines[end] != "}":
                end += 1
            length = end - start + 1
            if length > MAX_LINES:
                above = "\n".join(lines[max(0, start - 12):start])
                if "why long:" not in above:
                    m = re.search(r"(\w+)\s*\(", lines[start] + lines[min(start + 1, end)])
                    found.append((m.group(1) if m else "?", start + 1, length))
            i = end
        i += 1
    return found


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: check_structure.py BUILD_DIR SOURCE_DIR\n")
        return 2
    build, root = sys.argv[1], sys.argv[2]
    objs = objects(build, root)
    problems = []
    if not objs:
        problems.append("no object files of src/ under %s" % build)
    defs, uses = {}, {}
    for src, o in objs.items():
        d, u = symbols(o)
        uses[src] = u
        for s in d:
            defs.setdefault(s, src)
    graph = {}
    for src, u in uses.items():
        graph[src] = {defs[s] for s in u if s in defs and defs[s] != src}
    for comp in cycles(graph):
        problems.append("call cycle between %s" % " <-> ".join(comp))
    for src, deps in sorted(graph.items()):
        if src.startswith("src/lib/"):
            for d in sorted(deps):
                if d.startswith("src/cli/"):
                    problems.append("%s (library) uses %s (CLI)" % (src, d))
    for path in sorted(glob.glob(os.path.join(root, "src", "**", "*.c"), recursive=True)):
        for name, line, length in long_functions(path):
            problems.append("%s:%d: %s is %d lines (over %d; say why in a 'why long:' comment "
                            "above it, or split it)" % (os.path.relpath(path, root), line, name,
                                                        length, MAX_LINES))
    for p in problems:
        print("check_structure: " + p)
    print("check_structure: %d source files, %d dependencies, %d problems" %
          (len(objs), sum(len(v) for v in graph.values()), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
