#!/usr/bin/env python3
"""An exec judge for dars's tests: exact match over JSON lines.

Reads one request per line on stdin, {"item": {...}, "output": "..."}, and
writes one verdict per line on stdout. The detail names this process's pid
and whether DARS_TEST_API_KEY is visible, so tests can check reuse and the
environment filter.

Modes (argv[1]):
  exact           the default: passed when the output equals a gold answer
  crash           exits (status 3, a note on stderr) on the 2nd request
  hang [MARKER]   never answers the 2nd request; with MARKER, only the first
                  process to find MARKER absent hangs (it creates it) and
                  later ones are exact
  garbage         answers the first request with a line that is not JSON
  spawn           starts a `sleep 600` child first and names its pid in each
                  detail as child=PID (for the process-group kill on Close)
"""
import json
import os
import subprocess
import sys
import time


def verdict(req):
    item = req["item"]
    golds = [a for a in item.get("answers") or [] if a.strip()]
    if not golds and item.get("answer", "").strip():
        golds = [item["answer"]]
    out = req["output"].strip()
    detail = "pid=%d key=%s" % (
        os.getpid(),
        "yes" if "DARS_TEST_API_KEY" in os.environ else "no",
    )
    if not out:
        return {"status": "unscored", "detail": detail}
    passed = any(out.lower() == g.strip().lower() for g in golds)
    return {"passed": passed, "extracted": out, "detail": detail}


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "exact"
    if mode == "hang" and len(sys.argv) > 2:
        try:
            fd = os.open(sys.argv[2], os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            os.close(fd)
        except FileExistsError:
            mode = "exact"
    child = None
    if mode == "spawn":
        child = subprocess.Popen(["sleep", "600"])
    n = 0
    for line in sys.stdin:
        n += 1
        req = json.loads(line)
        if mode == "crash" and n == 2:
            sys.stderr.write("exec_judge.py: crashing as asked\n")
            sys.stderr.flush()
            sys.exit(3)
        if mode == "hang" and n == 2:
            time.sleep(3600)
        if mode == "garbage" and n == 1:
            sys.stdout.write("this is not json\n")
            sys.stdout.flush()
            continue
        v = verdict(req)
        if child is not None:
            v["detail"] += " child=%d" % child.pid
        sys.stdout.write(json.dumps(v) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
