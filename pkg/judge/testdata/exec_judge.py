#!/usr/bin/env python3
"""An exec judge for dars's tests: exact match over JSON lines, protocol 2.

Reads one request per line on stdin,
{"protocol": 2, "id": N, "item": {...}, "output": "..."}, and writes one
verdict per line on stdout, echoing the request's id. The detail names this
process's pid and whether DARS_TEST_API_KEY and SBPASS are visible, so tests
can check reuse and the environment filter.

Modes (argv[1]):
  exact           the default: passed when the output equals a gold answer
  crash           exits (status 3, a note on stderr) on the 2nd request
  hang [MARKER]   never answers the 2nd request; with MARKER, only the first
                  process to find MARKER absent hangs (it creates it) and
                  later ones are exact
  hang-when MARKER
                  never answers a request that arrives while MARKER exists
  garbage         answers the first request with a line that is not JSON
  spawn           starts a `sleep 600` child first and names its pid in each
                  detail as child=PID (for the process-group kill on Close)
  setsid SECONDS  starts `setsid sleep SECONDS` first: a child in a session
                  of its own, outside the process group
  daemon SECONDS  starts `setsid -f sleep SECONDS` first and waits for
                  setsid to exit: the sleep is orphaned at once, as a daemon
  twice           writes every verdict twice (one extra line per request)
  chatty          writes a progress line before every verdict
  v1              speaks protocol 1: verdicts without the id
  wrong-id        echoes the id plus one
  big             a 900 KB detail and a 100 KB extracted
  huge            a 2 MiB verdict line
  case            writes "Score" for "score"
  linger          keeps running after its stdin closes (only a signal ends it)
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
    detail = "pid=%d key=%s pass=%s" % (
        os.getpid(),
        "yes" if "DARS_TEST_API_KEY" in os.environ else "no",
        "yes" if "SBPASS" in os.environ else "no",
    )
    if not out:
        return {"id": req["id"], "status": "unscored", "detail": detail}
    passed = any(out.lower() == g.strip().lower() for g in golds)
    return {"id": req["id"], "passed": passed, "extracted": out, "detail": detail}


def write(v):
    sys.stdout.write(json.dumps(v, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "exact"
    arg = sys.argv[2] if len(sys.argv) > 2 else None
    if mode == "hang" and arg:
        try:
            fd = os.open(arg, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            os.close(fd)
        except FileExistsError:
            mode = "exact"
    child = None
    if mode == "spawn":
        child = subprocess.Popen(["sleep", "600"])
    if mode == "setsid":
        subprocess.Popen(["setsid", "sleep", arg])
    if mode == "daemon":
        subprocess.run(["setsid", "-f", "sleep", arg], check=True)
    n = 0
    for line in sys.stdin:
        n += 1
        req = json.loads(line)
        if mode == "crash" and n == 2:
            sys.stderr.write("exec_judge.py: crashing as asked\n")
            sys.stderr.flush()
            sys.exit(3)
        if (mode == "hang" and n == 2) or (mode == "hang-when" and os.path.exists(arg)):
            time.sleep(3600)
        if mode == "garbage" and n == 1:
            sys.stdout.write("this is not json\n")
            sys.stdout.flush()
            continue
        if mode == "chatty":
            sys.stdout.write("judging request %d\n" % req["id"])
        v = verdict(req)
        if child is not None:
            v["detail"] += " child=%d" % child.pid
        if mode == "v1":
            del v["id"]
        if mode == "wrong-id":
            v["id"] += 1
        if mode == "big":
            v["detail"] = "d" * 900_000
            v["extracted"] = "é" * 50_000
        if mode == "huge":
            v["detail"] = "h" * (2 << 20)
        if mode == "case" and "passed" in v:
            v["Score"] = 1 if v.pop("passed") else 0
        write(v)
        if mode == "twice":
            write(v)
    if mode == "linger":
        time.sleep(3600)


if __name__ == "__main__":
    main()
