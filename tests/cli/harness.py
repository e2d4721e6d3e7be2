"""harness.py - the runner the CLI test files share: run each test, report, clean up.

A test is a function named like a sentence; it passes by returning and fails by raising.
Every test runs even after a failure; the last line is `NAME: N passed, M failed`.
"""
import os
import sys
import shutil


def run_tests(name, tests, scratch):
    passed = failed = 0
    try:
        for t in tests:
            try:
                t()
                print("ok   " + t.__name__)
                passed += 1
            except Exception as e:  # noqa: BLE001 - report every failure and go on
                print("FAIL %s: %s: %s" % (t.__name__, type(e).__name__, e))
                failed += 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("%s: %d passed, %d failed" % (name, passed, failed))
    return 1 if failed else 0


def one_error_line(err, prefix):
    """stderr is exactly one line starting with prefix; returns that line."""
    lines = err.splitlines()
    assert len(lines) == 1, "expected one line on stderr, got %r" % err
    assert lines[0].startswith(prefix), "%r does not start with %r" % (lines[0], prefix)
    return lines[0]


def assert_no_temp_files(folder):
    left = [f for f in os.listdir(folder) if f.startswith(".cnnfilter-")]
    assert not left, "temporary files left: %r" % left


# run_peak's go-between: a fresh small Python that forks the command and reports its
# rusage.  The test's own process cannot be the parent: a child started from it (vfork
# and exec, or fork) carries the parent's memory high-water mark in ru_maxrss, which a
# test holding large arrays would then read as the command's.
_PEAK_RUNNER = """
import os, sys
fd = int(sys.argv[1])
pid = os.fork()
if pid == 0:
    os.close(fd)
    os.execv(sys.argv[2], sys.argv[2:])
_, status, ru = os.wait4(pid, 0)
os.write(fd, b"%d %d" % (os.waitstatus_to_exitcode(status), ru.ru_maxrss))
"""


def run_peak(argv, cwd):
    """Run argv in cwd; return (exit code, stdout bytes, stderr text, the command's peak RSS
    in KiB, from wait4 in a small go-between process).  The output goes through files, so a
    chatty child cannot block on a pipe."""
    import subprocess
    import tempfile
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.TemporaryFile() as res:
        proc = subprocess.Popen([sys.executable, "-c", _PEAK_RUNNER, str(res.fileno())] +
                                list(argv), cwd=cwd, stdout=out, stderr=err,
                                pass_fds=(res.fileno(),))
        proc.wait()
        out.seek(0)
        err.seek(0)
        res.seek(0)
        rc, peak = (int(v) for v in res.read().split())
        return rc, out.read(), err.read().decode("utf-8", "replace"), peak


def files_under(d):
    """The files below folder d, as sorted paths relative to it."""
    out = []
    for base, _, names in os.walk(d):
        for n in names:
            out.append(os.path.relpath(os.path.join(base, n), d))
    return sorted(out)
