#!/usr/bin/env python3
"""test_readme.py - every command in README.md's ```sh blocks runs and succeeds.

Commands run with bash, one line at a time, in a scratch folder that links samples/,
kernels/ and examples/, with `cnnfilter` on PATH pointing at $CNNFILTER_BIN.  The seed example's output is
checked for its numbers too.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = os.path.abspath(os.environ.get("CNNFILTER_BIN", os.path.join(ROOT, "build", "cnnfilter")))


def commands():
    text = open(os.path.join(ROOT, "README.md")).read()
    # The golden-test recipe needs its own folders; tests/cli/test_batch.py runs it.
    text = re.sub(r"<!-- golden-recipe -->\n```sh\n.*?```", "", text, flags=re.S)
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                yield line


def main():
    tmp = tempfile.mkdtemp(prefix="cnnfilter-readme-")
    passed = failed = 0
    try:
        os.mkdir(os.path.join(tmp, "bin"))
        os.symlink(BIN, os.path.join(tmp, "bin", "cnnfilter"))
        for d in ("samples", "kernels", "examples"):
            os.symlink(os.path.join(ROOT, d), os.path.join(tmp, d))
        env = dict(os.environ, PATH=os.path.join(tmp, "bin") + os.pathsep + os.environ["PATH"])
        for cmd in commands():
            r = subprocess.run(["bash", "-c", cmd], cwd=tmp, env=env, capture_output=True,
                               timeout=120)
            if r.returncode != 0:
                print("FAIL %s: exit %d: %s" % (cmd, r.returncode, r.stderr.decode().strip()))
                failed += 1
            else:
                print("ok   " + cmd)
                passed += 1
        out = os.path.join(tmp, "out.txt")
        if os.path.exists(out) and open(out).read() == "12 21\n15 24\n":
            passed += 1
        else:
            print("FAIL the seed example did not write 12 21 / 15 24 to out.txt")
            failed += 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("readme: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
