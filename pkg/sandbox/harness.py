# The dars sandbox harness. Go runs it as
#
#   python -I -B - DIR TIMEOUT CPU MEMORY_MB NPROC FSIZE NOFILE UID ISOLATE DROPCAPS
#
# with this file on stdin and an empty environment, in its own process group
# and, when the machine allows it, as process 1 of new PID, network, mount,
# IPC and UTS namespaces (ISOLATE=1: it then mounts a /proc of its own, a
# small tmpfs over DIR, and makes every other mount read-only). It reads
# DIR/prog.py, forks, and runs the program in the child under resource
# limits as an unprivileged user; the parent only waits, so the limits and
# the privilege drop never touch it.
#
# The exit status is the verdict: 0 the program ran to its end, 10 it failed
# (an exception, an early exit), 11 it used up its CPU time, 12 it ran past
# the wall-clock timeout, 13 a signal killed it, 20 the sandbox could not be
# set up. The last line on stderr says why.
import os
import signal
import sys

PASSED, FAILED, CPU, TIMEOUT, SIGNALED, SETUP = 0, 10, 11, 12, 13, 20

# TMPFS bounds what a program can write in its directory (namespaces only).
TMPFS = "size=64m,nr_inodes=4096"


def finish(code, msg):
    """Writes msg as the last stderr line and exits with code at once."""
    if msg:
        msg = " ".join(str(msg).split())[:600]
        os.write(2, (msg + "\n").encode("utf-8", "replace"))
    os._exit(code)


def libc():
    """Returns ctypes and the C library, loaded only where needed."""
    try:
        import ctypes
    except ImportError:
        raise RuntimeError("this Python has no ctypes, which the sandbox needs") from None
    return ctypes, ctypes.CDLL(None, use_errno=True)


def call(ctypes, rc, what):
    """Raises OSError naming what when a libc call failed."""
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, "%s: %s" % (what, os.strerror(e)))


def unescape(path):
    """Decodes the octal escapes (\\040) of a /proc/self/mountinfo path."""
    out, i = bytearray(), 0
    while i < len(path):
        if path[i] == 0x5C and i + 4 <= len(path) and path[i + 1 : i + 4].isdigit():
            out.append(int(path[i + 1 : i + 4], 8))
            i += 4
        else:
            out.append(path[i])
            i += 1
    return bytes(out)


def isolate(work, uid):
    """Sets up this process's new mount namespace: private, with a /proc of
    the new PID namespace (the host's processes stay out of sight), a small
    tmpfs over work (owned by uid when it is not -1), and every other mount
    read-only, so the program can write nowhere else and at most TMPFS in
    all; what it writes vanishes with the namespace. Flags change per mount
    (MS_BIND), so the host's mounts are untouched."""
    import errno

    ctypes, c = libc()
    MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
    MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
    c.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
    call(ctypes, c.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
    call(ctypes, c.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None), "mount /proc")
    w = os.fsencode(os.path.realpath(work))
    opts = TMPFS + ",mode=0700" + (",uid=%d,gid=%d" % (uid, uid) if uid >= 0 else "")
    call(ctypes, c.mount(b"tmpfs", w, b"tmpfs", MS_NOSUID | MS_NODEV, opts.encode()), "mount a tmpfs on the work directory")
    with open("/proc/self/mountinfo", "rb") as f:
        lines = f.read().splitlines()
    for line in lines:
        fields = line.split()
        target, opts = unescape(fields[4]), fields[5].split(b",")
        if target == w:
            continue
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY
        for name, bit in ((b"nosuid", MS_NOSUID), (b"nodev", MS_NODEV), (b"noexec", MS_NOEXEC)):
            if name in opts:
                flags |= bit
        if c.mount(None, target, None, flags, None) != 0:
            e = ctypes.get_errno()
            # A mount hidden under a later one cannot be reached by path.
            if e in (errno.ENOENT, errno.EINVAL):
                continue
            raise OSError(e, "make %s read-only: %s" % (os.fsdecode(target), os.strerror(e)))


def no_new_privs():
    """Stops execve from granting privileges (set-user-ID files, file
    capabilities) to the program or its children."""
    if not sys.platform.startswith("linux"):
        return
    ctypes, c = libc()
    PR_SET_NO_NEW_PRIVS = 38
    call(ctypes, c.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "set no_new_privs")


def drop_caps():
    """Drops every capability for good: the bounding set, then the effective,
    permitted and inheritable sets. Used in a user namespace, where the
    program stays uid 0 of the namespace and would otherwise keep
    CAP_SYS_ADMIN over its mounts."""
    ctypes, c = libc()
    PR_CAPBSET_DROP = 24
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last = int(f.read())
    for cap in range(last + 1):
        call(ctypes, c.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), "drop capability %d" % cap)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    data = (ctypes.c_uint32 * 6)()  # two {effective, permitted, inheritable}, all zero
    call(ctypes, c.capset(header, data), "clear capabilities")


def describe(exc):
    """Renders an exception as one line: type, message, program line."""
    name = type(exc).__name__
    mod = type(exc).__module__
    if mod not in ("builtins", "__main__", "solution"):
        name = mod + "." + name
    line = None
    if isinstance(exc, SyntaxError) and exc.filename == "prog.py":
        line = exc.lineno
        msg = exc.msg
    else:
        try:
            msg = str(exc)
        except BaseException:
            msg = ""
        tb = exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == "prog.py":
                line = tb.tb_lineno
            tb = tb.tb_next
    out = name + (": " + msg if msg else "")
    if isinstance(exc, MemoryError):
        out += " (memory limit reached)"
    if line:
        out += " (line %d)" % line
    return out


def child(work, src, wfd, cpu, memory_mb, nproc, fsize, nofile, uid, dropcaps):
    """Runs the program under the limits; reports through wfd."""
    import resource
    import types

    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    os.environ.clear()
    os.environ.update(PATH="/usr/local/bin:/usr/bin:/bin", HOME=work, TMPDIR=work, LANG="C.UTF-8")
    os.chdir(work)
    limits = (
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20)),
        (resource.RLIMIT_NPROC, (nproc, nproc)),
        (resource.RLIMIT_FSIZE, (fsize, fsize)),
        (resource.RLIMIT_NOFILE, (nofile, nofile)),
        (resource.RLIMIT_CORE, (0, 0)),
    )
    try:
        for which, value in limits:
            resource.setrlimit(which, value)
        if uid >= 0:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
        elif dropcaps:
            drop_caps()
        no_new_privs()
    except BaseException as e:
        os.write(wfd, ("S" + "sandbox: " + describe(e)).encode("utf-8", "replace"))
        os._exit(SETUP)
    os.umask(0o077)
    mod = types.ModuleType("solution")
    mod.__file__ = os.path.join(work, "prog.py")
    sys.modules["solution"] = mod
    sys.argv = ["prog.py"]
    try:
        exec(compile(src, "prog.py", "exec"), mod.__dict__)
    except SystemExit as e:
        report = "F" + "program exited (code %r) before its tests finished" % (e.code,)
    except BaseException as e:
        report = "F" + describe(e)
    else:
        report = "P"
    try:
        os.write(wfd, report.encode("utf-8", "replace")[:4096])
    except BaseException:
        pass
    os._exit(PASSED if report == "P" else FAILED)


def main():
    args = sys.argv[1:]
    if len(args) != 10:
        finish(SETUP, "sandbox: harness: want 10 arguments, got %d" % len(args))
    work = args[0]
    timeout = float(args[1])
    cpu, memory_mb, nproc, fsize, nofile, uid = (int(a) for a in args[2:8])
    namespaces, dropcaps = args[8] == "1", args[9] == "1"
    try:
        with open(os.path.join(work, "prog.py"), "rb") as f:
            src = f.read()
        if namespaces:
            isolate(work, uid)
        rfd, wfd = os.pipe()
    except BaseException as e:
        finish(SETUP, "sandbox: " + describe(e))

    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        child(work, src, wfd, cpu, memory_mb, nproc, fsize, nofile, uid, dropcaps)
    os.close(wfd)

    def on_alarm(signum, frame):
        os.kill(pid, signal.SIGKILL)
        finish(TIMEOUT, "timeout after %ss" % args[1])

    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    _, status, usage = os.wait4(pid, 0)
    signal.setitimer(signal.ITIMER_REAL, 0)
    os.set_blocking(rfd, False)
    try:
        report = os.read(rfd, 4096).decode("utf-8", "replace")
    except BlockingIOError:
        report = ""
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        sig = -code
        used = usage.ru_utime + usage.ru_stime
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and used >= cpu):
            finish(CPU, "cpu time limit exceeded (%ds of CPU)" % cpu)
        finish(SIGNALED, "killed by signal %s" % signal.Signals(sig).name)
    if code == PASSED and report[:1] == "P":
        finish(PASSED, "")
    if report[:1] == "S":
        finish(SETUP, report[1:])
    if report[:1] == "F":
        finish(FAILED, report[1:])
    if code == PASSED:
        finish(FAILED, "program exited before its tests finished")
    finish(FAILED, "program exited with status %d" % code)


main()
