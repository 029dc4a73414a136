# The dars sandbox server (docs/sandbox.md). Go starts one per worker as
#
#   python -I -S -B - CONFIG
#
# with this file on stdin, an empty environment, a control socket on fd 3
# and CONFIG a JSON object (see Server). With namespaces it is process 1 of
# a new PID and mount namespace (and of a user namespace when dars is not
# root) and dies with dars (PR_SET_PDEATHSIG); when it ends, the kernel
# kills every process it started.
#
# Once, at start, the server builds a minimal root (the interpreter, /usr,
# a few device nodes, no host data), imports the modules programs commonly
# use, and says it is ready. Then, for each request (a program on the
# control socket, with the read end of a pipe holding its tests), one
# sample runs in two processes:
#
#   T  the tester, a long-lived child of the server: reads the tests from
#      the pipe, drops its privileges and runs them, calling the program's
#      functions through proxies
#   P  the program, forked for the sample by the zygote Z (a child of the
#      server that does nothing but fork, so that forking does not make
#      the server's own pages copy-on-write): process 1 of new PID, mount
#      and IPC namespaces, a tmpfs on /tmp, a /proc of its own, in a user
#      namespace of its own (its process limit is its own), without
#      capabilities; runs the untrusted solution as a module and answers
#      T's calls over a socket
#
# Only T, I and the server hold the channel the verdict travels on; P holds
# nothing but its socket to T, whose answers T checks: values come back as
# plain data (None, bool, int, float, complex, str, bytes, containers of
# them), so an object with a rigged __eq__ cannot reach the tests. P never
# sees the tests: they reach T through a pipe the server never reads.
#
# The verdict is a JSON line {"code": C, "detail": D} on the control socket:
# C is 0 the tests passed, 10 they failed (an exception, an early exit), 11
# the program used up its CPU time, 12 the wall-clock timeout, 13 a signal
# killed the program, 20 the sandbox could not be set up.
import builtins
import errno
import gc
import io
import json
import os
import pickle
import resource
import select
import signal
import _signal
import socket
import struct
import sys
import time
import types

PASSED, FAILED, CPU, TIMEOUT, SIGNALED, SETUP = 0, 10, 11, 12, 13, 20

# TMPFS bounds what a program can write in its directory (namespaces only).
TMPFS = "size=64m,nr_inodes=4096,mode=1777"
# FRAME_MAX bounds one message between the tester and the program.
FRAME_MAX = 64 << 20
# ITER_MAX bounds the items of an iterator a function returns.
ITER_MAX = 1 << 20
# DETAIL_MAX bounds a verdict's detail (Go clips it further).
DETAIL_MAX = 600
# TESTER_RUNS is how many samples one tester process runs.
TESTER_RUNS = 200

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND = 32, 1024, 2048, 4096
MS_REC, MS_PRIVATE, MS_RELATIME, MS_STRICTATIME = 16384, 1 << 18, 1 << 21, 1 << 24
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 4, 24, 38
# pivot_root has no libc wrapper: its system call number, by machine.
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "arm64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}

SIGCHLD = int(signal.SIGCHLD)
LINUX = sys.platform.startswith("linux")
_libc = None


def libc():
    """Returns ctypes and the C library, loaded once."""
    global _libc
    if _libc is None:
        try:
            import ctypes
        except ImportError:
            raise RuntimeError("this Python has no ctypes, which the sandbox needs") from None
        c = ctypes.CDLL(None, use_errno=True)
        c.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
        c.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
        c.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
        c.syscall.restype = ctypes.c_long
        _libc = (ctypes, c)
    return _libc


def call(rc, what):
    """Raises OSError naming what when a libc call failed."""
    if rc != 0:
        ctypes, _ = libc()
        e = ctypes.get_errno()
        raise OSError(e, "%s: %s" % (what, os.strerror(e)))


def mount(source, target, fstype, flags, data, what):
    _, c = libc()
    enc = lambda s: None if s is None else os.fsencode(s)
    call(c.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), what)


def prctl(option, arg, what):
    if not LINUX:
        return
    _, c = libc()
    call(c.prctl(option, arg, 0, 0, 0), what)


def unshare(flags, what):
    _, c = libc()
    call(c.unshare(flags), what)


def keep_fds(keep):
    """Closes every file descriptor above 2 but those in keep."""
    lo = 3
    for fd in sorted(k for k in keep if k >= 3):
        if fd > lo:
            os.closerange(lo, fd)
        lo = fd + 1
    os.closerange(lo, 1 << 20)


def to_devnull():
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    if devnull > 2:
        os.close(devnull)


def one_line(msg):
    return " ".join(str(msg).split())[:DETAIL_MAX]


def describe(exc):
    """Renders an exception as one line: type, message, and the line of the
    program (prog.py) or of the tests where it was raised."""
    detail = getattr(exc, "_dars_detail", None)
    if isinstance(detail, str):
        return detail
    name = type(exc).__name__
    mod = type(exc).__module__
    if mod not in ("builtins", "__main__", "solution"):
        name = mod + "." + name
    where = None
    if isinstance(exc, SyntaxError) and exc.filename in WHERE:
        where = (exc.filename, exc.lineno)
        msg = exc.msg
    else:
        try:
            msg = str(exc)
        except BaseException:
            msg = ""
        tb = exc.__traceback__
        while tb is not None:
            f = tb.tb_frame.f_code.co_filename
            if f in WHERE:
                where = (f, tb.tb_lineno)
            tb = tb.tb_next
    out = name + (": " + msg if msg else "")
    if isinstance(exc, MemoryError):
        out += " (memory limit reached)"
    if where and where[1]:
        out += " (%s %d)" % (WHERE[where[0]], where[1])
    return one_line(out)


# WHERE names the sources a detail can point into.
WHERE = {"prog.py": "line", "tests.py": "test line", "helpers.py": "helper line"}


# --- frames: 4-byte length, then a pickle -----------------------------------


def send_frame(sock, obj):
    send_bytes(sock, pickle.dumps(obj, protocol=5))


def send_bytes(sock, data):
    sock.sendall(struct.pack(">I", len(data)) + data)


def recv_exact(sock, n):
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        k = sock.recv_into(view[got:])
        if k == 0:
            return None
        got += k
    return bytes(buf)


def recv_raw(sock, limit):
    """Returns the next frame's bytes, None at end of stream; raises
    ProtocolError for a frame over limit."""
    head = recv_exact(sock, 4)
    if head is None:
        return None
    (n,) = struct.unpack(">I", head)
    if n > limit:
        raise ProtocolError("the program sent %d MiB at once (at most %d)" % (n >> 20, limit >> 20))
    data = recv_exact(sock, n)
    if data is None:
        return None
    return data


# --- the tester's side ------------------------------------------------------


class ProtocolError(BaseException):
    """The program broke the protocol. A BaseException, so that tests that
    catch Exception do not swallow it."""


class SolutionGone(BaseException):
    """The program closed its end: it exited or was killed."""


class SolutionEnded(BaseException):
    """The program ended before its tests finished (sys.exit, a failed
    import)."""


class SolutionError(Exception):
    """An exception of the program that is not a built-in one."""


class Opaque:
    """Stands for a value of the program that is not plain data (a
    re.Match, an object of its own class): the tests can test its truth and
    nothing else."""

    __slots__ = ("_type", "_truth")

    def __init__(self, typ, truth):
        self._type, self._truth = typ, truth

    def __bool__(self):
        return self._truth

    def _refuse(self, *args):
        raise TypeError("the program returned a %s object, which the tests can only test for truth" % self._type)

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse
    __hash__ = None
    __iter__ = __len__ = __getitem__ = __contains__ = _refuse

    def __getattr__(self, name):
        self._refuse()

    def __repr__(self):
        return "<%s object>" % self._type


class Values(pickle.Unpickler):
    """Unpickles what the program sends: plain data only. The classes a
    pickle may name are a few of the standard library's, whose comparison
    is their own; a class of the program's, or a subclass of a built-in
    type, is refused."""

    ALLOWED = {
        ("builtins", "complex"), ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "bytearray"),
        ("collections", "OrderedDict"), ("collections", "Counter"), ("collections", "deque"),
    }

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise ProtocolError("the program sent an object of class %s.%s" % (module, name))

    def persistent_load(self, pid):
        raise ProtocolError("the program sent a persistent id")


def values(data):
    try:
        return Values(io.BytesIO(data)).load()
    except ProtocolError:
        raise
    except BaseException as e:
        raise ProtocolError("the program sent a message that does not decode: %s" % one_line(e)) from None


def rebuild(name, msg, detail):
    """Returns the exception a call of the program raised, as the tests can
    catch it: the built-in class of that name when there is one."""
    cls = getattr(builtins, name, None)
    exc = None
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            exc = cls(msg) if msg else cls()
        except BaseException:
            exc = None
    if exc is None:
        exc = SolutionError("%s: %s" % (name, msg) if msg else name)
    exc._dars_detail = detail
    return exc


class Link:
    """The tester's end of the socket to the program. Anything that breaks
    the link (the program gone, a message that does not decode) is kept in
    broken: the verdict is then a failure, whatever the tests did with the
    exception."""

    def __init__(self, sock):
        self.sock = sock
        self.broken = None  # (kind, detail): "gone" or "fail"

    def fail(self, kind, detail, exc):
        if self.broken is None:
            self.broken = (kind, detail)
        raise exc

    def request(self, msg, what):
        try:
            send_frame(self.sock, msg)
        except (BrokenPipeError, ConnectionResetError):
            # The program has gone; what it said before going (a failed
            # import) may still wait to be read.
            pass
        except (pickle.PicklingError, TypeError, AttributeError, RecursionError) as e:
            raise TypeError("%s: the tests pass a value the sandbox cannot hand to the program (%s)" % (what, one_line(e))) from None
        try:
            data = recv_raw(self.sock, FRAME_MAX)
        except ProtocolError as e:
            self.fail("fail", str(e), e)
        except (ConnectionResetError, OSError):
            data = None
        if data is None:
            self.fail("gone", "", SolutionGone())
        try:
            reply = values(data)
        except ProtocolError as e:
            self.fail("fail", str(e), e)
        if not isinstance(reply, tuple) or not reply or not isinstance(reply[0], str):
            self.fail("fail", "the program sent a malformed message", ProtocolError())
        if reply[0] == "exit" and len(reply) == 2 and isinstance(reply[1], str):
            self.fail("fail", "program exited (code %s) before its tests finished" % reply[1][:100], SolutionEnded())
        return reply

    def names(self):
        """Returns the program's top-level names, {name: "f" or ("m",
        module)}, once it has run; raises SolutionEnded when it failed."""
        reply = self.request(("names",), "names")
        if reply[0] == "load" and len(reply) == 2 and isinstance(reply[1], str):
            self.fail("fail", reply[1][:DETAIL_MAX], SolutionEnded())
        if reply[0] != "names" or len(reply) != 2 or not isinstance(reply[1], dict):
            self.fail("fail", "the program sent a malformed message", ProtocolError())
        out = {}
        for k, v in reply[1].items():
            if isinstance(k, str) and (v == "f" or (isinstance(v, tuple) and len(v) == 2 and v[0] == "m" and isinstance(v[1], str))):
                out[k] = v
        return out

    def call(self, name, args, kwargs):
        reply = self.request(("call", name, args, kwargs), name)
        kind = reply[0]
        if kind == "ok" and len(reply) == 2:
            return reply[1]
        if kind == "iter" and len(reply) == 2 and type(reply[1]) is list:
            return iter(reply[1])
        if kind == "opaque" and len(reply) == 3 and isinstance(reply[1], str) and type(reply[2]) is bool:
            return Opaque(reply[1][:100], reply[2])
        if kind == "raise" and len(reply) == 4 and all(isinstance(x, str) for x in reply[1:]):
            raise rebuild(reply[1][:100], reply[2][:DETAIL_MAX], reply[3][:DETAIL_MAX])
        self.fail("fail", "the program sent a malformed message", ProtocolError())

    def proxy(self, name):
        link = self

        def function(*args, **kwargs):
            return link.call(name, args, kwargs)

        function.__name__ = function.__qualname__ = name
        return function


def stdlib_module(name):
    top = name.split(".")[0]
    known = getattr(sys, "stdlib_module_names", None)
    return known is None or top in known


def code_names(code):
    """Returns every name a compiled source and its functions refer to."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= code_names(const)
    return names


def run_tests(link, spec):
    """Runs the tests of spec against the program behind link. Returns the
    report: b"P" passed, b"F"+detail failed, b"E" the program is gone (the
    caller finds out why)."""
    helpers, tests, calls = spec.get("helpers") or "", spec.get("tests") or "", spec.get("calls") or []
    g = {"__name__": "tests", "__builtins__": builtins}
    try:
        try:
            tests_code = compile(tests, "tests.py", "exec")
            if helpers:
                exec(compile(helpers, "helpers.py", "exec"), g)
            names = link.names()
            used = code_names(tests_code)
            for name in calls:
                # Over the helpers' and the built-ins' names only when the
                # solution defines it; else, the program says it does not.
                if name in names or (name not in g and not hasattr(builtins, name)):
                    g[name] = link.proxy(name)
            for name, kind in names.items():
                if name in g or name.startswith("__") or hasattr(builtins, name):
                    continue
                if kind == "f":
                    g[name] = link.proxy(name)
                elif name in used and stdlib_module(kind[1]):
                    try:
                        g[name] = __import__(kind[1], fromlist=["_"])
                    except BaseException:
                        pass
            exec(tests_code, g)
        except BaseException as e:
            if link.broken is None:
                return b"F" + describe(e).encode("utf-8", "replace")
    finally:
        gc.collect()
    if link.broken is not None:
        kind, detail = link.broken
        if kind == "gone":
            return b"E"
        return b"F" + one_line(detail).encode("utf-8", "replace")
    return b"P"


# --- the program's side -----------------------------------------------------


class NotPlain(Exception):
    pass


_EXACT = (type(None), bool, int, float, complex, str, bytes, bytearray)


def plain(v, depth=0):
    """Returns v as plain data the tester accepts, or raises NotPlain. A
    subclass of a built-in type stands for its base value, so a rigged
    __eq__ is left behind."""
    import collections

    t = type(v)
    if t in _EXACT:
        return v
    if depth > 200:
        raise NotPlain("nested too deeply")
    d = depth + 1
    if t is list:
        return [plain(x, d) for x in v]
    if t is tuple:
        return tuple(plain(x, d) for x in v)
    if t is set:
        return {plain(x, d) for x in v}
    if t is frozenset:
        return frozenset(plain(x, d) for x in v)
    if t is dict:
        return {plain(k, d): plain(x, d) for k, x in v.items()}
    if t is collections.OrderedDict or t is collections.Counter:
        out = t()
        for k, x in v.items():
            out[plain(k, d)] = plain(x, d)
        return out
    if t is collections.deque:
        return collections.deque((plain(x, d) for x in v), v.maxlen)
    if isinstance(v, int):
        return int.__int__(v)
    if isinstance(v, float):
        return float.__float__(v)
    if isinstance(v, str):
        return str.__str__(v)
    if isinstance(v, bytes):
        return bytes(bytearray(v))
    if isinstance(v, tuple):
        return tuple(plain(x, d) for x in tuple.__iter__(v))
    if isinstance(v, list):
        return [plain(x, d) for x in list.__iter__(v)]
    if isinstance(v, dict):
        return {plain(k, d): plain(x, d) for k, x in dict.items(v)}
    if isinstance(v, set):
        return {plain(x, d) for x in set.__iter__(v)}
    if isinstance(v, frozenset):
        return frozenset(plain(x, d) for x in frozenset.__iter__(v))
    if getattr(t, "__module__", "") == "numpy" and hasattr(v, "item"):
        x = v.item()
        if type(x) in _EXACT:
            return x
    raise NotPlain(t.__name__)


def encode(v):
    """Returns the reply that carries v back to the tester."""
    t = type(v)
    try:
        if t not in _EXACT and hasattr(t, "__next__") and iter(v) is v:
            import itertools

            items = list(itertools.islice(v, ITER_MAX + 1))
            if len(items) <= ITER_MAX:
                return ("iter", [plain(x) for x in items])
            raise NotPlain("iterator")
        return ("ok", plain(v))
    except (NotPlain, RecursionError, TypeError, ValueError):
        pass
    try:
        truth = bool(v)
    except BaseException:
        truth = False
    name = getattr(t, "__module__", "") + "." + getattr(t, "__qualname__", "object")
    return ("opaque", name.lstrip(".").replace("builtins.", ""), truth)


def module_names(mod):
    out = {}
    for k, v in list(vars(mod).items()):
        if not isinstance(k, str) or k.startswith("__"):
            continue
        if isinstance(v, types.ModuleType):
            out[k] = ("m", str(getattr(v, "__name__", k)))
        elif callable(v):
            out[k] = "f"
    return out


def serve_program(sock, mod):
    """Answers the tester's requests until it closes its end."""
    while True:
        data = recv_raw(sock, 1 << 40)
        if data is None:
            os._exit(0)
        msg = pickle.loads(data)
        if msg[0] == "names":
            reply = ("names", module_names(mod))
        else:
            _, name, args, kwargs = msg
            try:
                try:
                    fn = vars(mod)[name]
                except KeyError:
                    raise NameError("name %r is not defined" % name) from None
                value = fn(*args, **kwargs)
            except SystemExit as e:
                send_frame(sock, ("exit", repr(e.code)))
                os._exit(0)
            except BaseException as e:
                try:
                    text = str(e)
                except BaseException:
                    text = ""
                reply = ("raise", type(e).__name__, one_line(text), describe(e))
            else:
                reply = encode(value)
        try:
            send_frame(sock, reply)
        except (pickle.PicklingError, TypeError, ValueError, RecursionError, AttributeError):
            send_frame(sock, ("opaque", "object", False))


# --- the server -------------------------------------------------------------


class Server:
    """The fork server: its configuration, and what it set up once."""

    def __init__(self, cfg):
        self.timeout = float(cfg["timeout"])
        self.cpu = int(cfg["cpu"])
        self.memory = int(cfg["memory_mb"]) << 20
        self.nproc = int(cfg["nproc"])
        self.fsize = int(cfg["fsize"])
        self.nofile = int(cfg["nofile"])
        self.uid = int(cfg["uid"])  # the sandbox user when dars is root, else -1
        self.namespaces = bool(cfg["namespaces"])
        self.userns = bool(cfg["userns"])  # the server runs in a user namespace of its own
        # Host directories to show read-write at a path of the sandbox:
        # [[host, inside]] (tests only).
        self.binds = [(str(h), str(i)) for h, i in cfg.get("binds") or []]
        self.tmpdir = cfg.get("tmpdir") or "/tmp"  # where samples' directories go without namespaces
        self.tag = int(cfg.get("tag") or 0)  # dars's pid, in those directories' names
        self.ctl = socket.socket(fileno=3)
        # The program's limits. The tester has its own (see tester).
        self.limits = (
            (resource.RLIMIT_CPU, (self.cpu, self.cpu + 1)),
            (resource.RLIMIT_AS, (self.memory, self.memory)),
            (resource.RLIMIT_NPROC, (self.nproc, self.nproc)),
            (resource.RLIMIT_FSIZE, (self.fsize, self.fsize)),
            (resource.RLIMIT_NOFILE, (self.nofile, self.nofile)),
            (resource.RLIMIT_CORE, (0, 0)),
        )

    # -- once, at start

    def build_root(self):
        """Makes this server's root a minimal, read-only tree: /usr and the
        library directories, the interpreter and its library wherever they
        are, a few /etc files and device nodes, a /proc, an empty /tmp. The
        host's other files (home directories, data sets, the run's store)
        are not in it, and the old root is detached, so nothing leads back.
        Each sample's mount namespace starts as a copy of this one."""
        mount(None, "/", None, MS_REC | MS_PRIVATE, None, "make / private")
        wanted = {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix, os.path.dirname(sys.executable)}
        wanted |= {p for p in sys.path if p and os.path.exists(p)}
        wanted |= loaded_libraries()
        sources = [os.path.realpath(p) for p in wanted] + [host for host, _ in self.binds]
        # The new root is a tmpfs over a directory none of the sources is
        # in, hidden in this namespace only.
        new = next((d for d in ("/tmp", "/mnt", "/run", "/media", "/srv", "/opt", "/var/tmp")
                    if os.path.isdir(d) and not os.path.islink(d) and not any(p == d or p.startswith(d + "/") for p in sources)), None)
        if new is None:
            raise RuntimeError("no directory to build the root in")
        mount("tmpfs", new, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755", "mount the new root")
        for top in ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            host = "/" + top
            if os.path.islink(host):
                os.symlink(os.readlink(host), new + host)
            elif os.path.isdir(host):
                self.bind(host, new + host)
        done = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]
        for p in sorted(wanted, key=len):
            real = os.path.realpath(p)
            if any(real == d or real.startswith(d + "/") for d in done):
                continue
            if os.path.isfile(real):
                real = os.path.dirname(real)
            self.bind(real, new + real)
            done.append(real)
        exe = sys.executable
        if os.path.realpath(exe) != exe and not os.path.lexists(new + exe):
            os.makedirs(new + os.path.dirname(exe), 0o755, exist_ok=True)
            os.symlink(os.path.realpath(exe), new + exe)
        os.makedirs(new + "/etc", 0o755)
        for f in ("ld.so.cache", "localtime", "nsswitch.conf"):
            host = "/etc/" + f
            if os.path.islink(host):
                os.symlink(os.readlink(host), new + host)
            elif os.path.isfile(host):
                self.bind(host, new + host)
        users = "root:x:0:0:root:/tmp:/bin/false\nnobody:x:65534:65534:nobody:/tmp:/bin/false\n"
        with open(new + "/etc/passwd", "w") as f:
            f.write(users)
        with open(new + "/etc/group", "w") as f:
            f.write("root:x:0:\nnogroup:x:65534:\n")
        with open(new + "/etc/hosts", "w") as f:
            f.write("127.0.0.1 localhost\n")
        os.makedirs(new + "/dev", 0o755)
        for dev in ("null", "zero", "full", "random", "urandom"):
            if os.path.exists("/dev/" + dev):
                self.bind("/dev/" + dev, new + "/dev/" + dev, rw=True)
        for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"), ("shm", "/tmp")):
            os.symlink(target, new + "/dev/" + name)
        for host, inside in self.binds:
            self.bind(host, new + inside, rw=True)
        os.makedirs(new + "/proc", 0o755)
        os.makedirs(new + "/tmp", 0o755)
        mount("proc", new + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None, "mount /proc")
        os.chdir(new)
        _, c = libc()
        import platform

        nr = SYS_PIVOT_ROOT.get(platform.machine())
        if nr is None:
            raise RuntimeError("pivot_root: unknown machine %s" % platform.machine())
        call(0 if c.syscall(nr, b".", b".") == 0 else -1, "pivot_root")
        call(c.umount2(b".", MNT_DETACH), "detach the old root")
        os.chdir("/")
        mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, None, "make the root read-only")

    def bind(self, host, target, rw=False):
        """Shows host at target, read-only unless rw."""
        if os.path.isdir(host):
            os.makedirs(target, 0o755, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), 0o755, exist_ok=True)
            if not os.path.exists(target):
                os.close(os.open(target, os.O_WRONLY | os.O_CREAT, 0o644))
        mount(host, target, None, MS_BIND, None, "bind " + host)
        flags = MS_REMOUNT | MS_BIND | MS_NOSUID | mount_flags(host)
        if not rw:
            flags |= MS_RDONLY
        if not host.startswith("/dev/"):
            flags |= MS_NODEV
        mount(None, target, None, flags, None, "make %s read-only" % host)

    def warm(self):
        """Imports what programs and tests commonly import, once, so that no
        sample pays for it. Caps glibc's malloc arenas too: each thread's
        arena reserves 64 MiB of address space, so under the memory limit a
        program could start only about twenty threads.

        Not warmed: modules that register code to run after every fork
        (random reseeds itself, threading resets its state; statistics and
        tempfile import random). That code runs in every sample and writes
        to pages the server shares with it, each a copy: on a virtual
        machine it doubled a sample's fixed cost (bench/README.md). A
        program that imports them pays for the import alone."""
        try:
            _, c = libc()
            c.mallopt(-8, 2)  # M_ARENA_MAX
        except BaseException:
            pass
        for name in (
            "abc", "array", "bisect", "cmath", "collections", "collections.abc", "contextlib", "copy",
            "dataclasses", "datetime", "decimal", "enum", "fractions", "functools", "hashlib", "heapq",
            "itertools", "json", "math", "numbers", "operator", "re", "string", "textwrap", "typing",
            "unicodedata", "platform",
        ):
            try:
                __import__(name)
            except BaseException:
                pass

    # -- the loop

    def serve(self):
        """Answers requests until dars goes away."""
        prctl(PR_SET_DUMPABLE, 0, "make the server undumpable")
        self.wake_r, wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *a: None)
        if self.namespaces:
            self.pidns = os.open("/proc/self/ns/pid", os.O_RDONLY)
            # Every program's environment and capability set-up, made once.
            os.environ.clear()  # Python's locale coercion added LC_CTYPE
            os.environ.update(PATH="/usr/local/bin:/usr/bin:/bin", HOME="/tmp", TMPDIR="/tmp", LANG="C.UTF-8")
            self.caps = Caps()
        self.tester_pid, self.tester_sock, self.tester_runs = None, None, 0
        self.zygote_pid, self.zygote_sock = None, None
        self.reply({"ready": True})
        while True:
            req, fds = self.receive()
            if req is None:
                return
            if len(fds) != 1:
                for fd in fds:
                    os.close(fd)
                self.reply({"code": SETUP, "detail": "sandbox: request without its tests"})
                continue
            try:
                verdict = self.sample(req.get("solution", ""), fds[0])
            except BaseException as e:
                self.stop_tester()
                self.stop_zygote()
                verdict = {"code": SETUP, "detail": "sandbox: " + describe(e)}
            self.reply(verdict)

    def receive(self):
        """Returns the next request and the descriptors that came with it;
        (None, []) when dars has gone."""
        fds, data = [], b""
        try:
            msg, fds, _, _ = socket.recv_fds(self.ctl, 1, 4)
            if not msg:
                return None, []
            while not data.endswith(b"\n"):
                chunk = self.ctl.recv(1 << 20)
                if not chunk:
                    return None, []
                data += chunk
        except OSError:
            return None, []
        return json.loads(data), list(fds)

    def reply(self, obj):
        self.ctl.sendall(json.dumps(obj).encode() + b"\n")

    def reap(self, statuses=None):
        """Reaps the children that have ended (as process 1 of its PID
        namespace the server also reaps what they leave), recording their
        ends in statuses."""
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.tester_pid:
                self.tester_end = (status, usage)
                self.tester_pid = None  # its socket says so too: end of file
            if pid == self.zygote_pid:
                self.zygote_pid = None  # its socket says so too
            if statuses is not None:
                statuses[pid] = (status, usage.ru_utime + usage.ru_stime)

    # -- the tester: one per server, for many samples

    def start_tester(self):
        """Starts the tester, unless it runs: a child that gives up every
        privilege and then runs the samples' tests, one at a time. It runs
        only trusted code (the tests) on plain data, outside the programs'
        PID namespaces; it is replaced after any sample that does not end
        with its report, and every TESTER_RUNS samples."""
        if self.tester_pid is not None and self.tester_runs < TESTER_RUNS:
            return
        self.stop_tester()
        zt, tz = socket.socketpair()
        pid = os.fork()
        if pid == 0:
            zt.detach()
            self.child(lambda: self.tester(tz), {tz.fileno()})
        tz.close()
        self.tester_pid, self.tester_sock, self.tester_runs, self.tester_end = pid, zt, 0, None

    def stop_tester(self):
        if self.tester_pid is not None:
            self.kill(self.tester_pid)
            self.tester_sock.close()
        self.tester_pid, self.tester_sock = None, None

    def tester(self, tz):
        """The tester's loop: for each request on tz (a socket to the
        program and the pipe of the tests), runs the tests and answers with
        its report."""
        try:
            self.drop(userns=False)
            prctl(PR_SET_DUMPABLE, 0, "make the tester undumpable")
            resource.setrlimit(resource.RLIMIT_AS, (self.memory, self.memory))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        except BaseException as e:
            send_bytes(tz, b"S" + ("sandbox: tester: " + describe(e)).encode("utf-8", "replace"))
            os._exit(SETUP)
        to_devnull()
        os.chdir("/")
        sys.argv = ["tests.py"]
        while True:
            try:
                _, fds, _, _ = socket.recv_fds(tz, 1, 2)
            except OSError:
                os._exit(0)
            if len(fds) != 2:
                os._exit(0)
            st, tests_fd = socket.socket(fileno=fds[0]), fds[1]
            chunks = []
            while True:
                chunk = os.read(tests_fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
            os.close(tests_fd)
            # The CPU limit counts from here: the tester's earlier samples
            # do not count.
            usage = resource.getrusage(resource.RUSAGE_SELF)
            soft = int(usage.ru_utime + usage.ru_stime) + self.cpu
            resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.RLIM_INFINITY))
            try:
                report = run_tests(Link(st), json.loads(b"".join(chunks)))
            except BaseException as e:
                report = b"F" + describe(e).encode("utf-8", "replace")
            st.close()
            del chunks
            gc.collect()
            send_bytes(tz, report[:4096])

    # -- the zygote: forks the programs

    def start_zygote(self):
        """Starts the zygote, unless it runs: a child of the server that
        forks each sample's program. A process's pages are copy-on-write
        after it forks, and each later write to one costs a page fault and
        a copy; the zygote writes almost nothing between forks, while the
        server, forking itself, paid for every page its own loop touched
        (a third of a sample's fixed cost on a virtual machine)."""
        if self.zygote_pid is not None:
            return
        self.stop_zygote()
        zs, sz = socket.socketpair()
        keep = {sz.fileno()} | ({self.pidns} if self.namespaces else set())
        pid = os.fork()
        if pid == 0:
            zs.detach()
            self.child(lambda: self.zygote(sz), keep)
        sz.close()
        self.zygote_pid, self.zygote_sock = pid, zs

    def stop_zygote(self):
        if self.zygote_pid is not None:
            self.kill(self.zygote_pid)
        if self.zygote_sock is not None:
            self.zygote_sock.close()
        self.zygote_pid, self.zygote_sock = None, None

    def zygote(self, sock):
        """The zygote's loop. A request is the program's three descriptors
        (its socket to the tester, its set-up pipes), then a frame
        (solution, work directory). The answers are frames: ("pid", pid)
        or ("fail", detail) for each request, and ("end", pid, status,
        seconds of CPU) when a program ends."""
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *a: None)
        while True:
            r, _, _ = select.select([sock, wake_r], [], [])
            if wake_r in r:
                try:
                    os.read(wake_r, 4096)
                except BlockingIOError:
                    pass
                while True:
                    try:
                        pid, status, usage = os.wait4(-1, os.WNOHANG)
                    except ChildProcessError:
                        break
                    if pid == 0:
                        break
                    send_frame(sock, ("end", pid, status, usage.ru_utime + usage.ru_stime))
            if sock not in r:
                continue
            _, fds, _, _ = socket.recv_fds(sock, 1, 3)
            data = recv_raw(sock, 1 << 40)
            if len(fds) != 3 or data is None:
                os._exit(0)
            solution, work = pickle.loads(data)
            sp, p2z_w, z2p_r = fds
            try:
                # The program is process 1 of a new PID namespace: it sees
                # only its own processes, and when it dies they all die.
                if self.namespaces:
                    unshare(CLONE_NEWPID, "new PID namespace")
                # The zygote's objects, old to the program: its collections
                # leave them (and their pages) alone.
                gc.freeze()
                try:
                    pid = os.fork()
                    if pid == 0:
                        self.child(lambda: self.program(solution, socket.socket(fileno=sp), p2z_w, z2p_r, work), set(fds))
                finally:
                    if self.namespaces:
                        _, c = libc()
                        call(c.setns(self.pidns, CLONE_NEWPID), "return to the zygote's PID namespace")
                reply = ("pid", pid)
            except BaseException as e:
                reply = ("fail", "sandbox: " + describe(e))
            for fd in fds:
                os.close(fd)
            del solution
            send_frame(sock, reply)

    def fork_program(self, solution, sp, p2z_w, z2p_r, work):
        """Has the zygote fork the program; returns its pid."""
        self.start_zygote()
        socket.send_fds(self.zygote_sock, [b"R"], [sp.fileno(), p2z_w, z2p_r])
        send_frame(self.zygote_sock, (solution, work))
        while True:
            data = recv_raw(self.zygote_sock, 1 << 20)
            if data is None:
                raise RuntimeError("the zygote died")
            reply = pickle.loads(data)
            if reply[0] == "pid":
                return reply[1]
            if reply[0] == "fail":
                raise RuntimeError(reply[1])
            # ("end", ...) of an earlier sample's program: nothing waits for it.

    def zygote_end(self, program, statuses):
        """Reads the zygote's news, recording program's end in statuses.
        A zygote gone is restarted with the next sample; its programs die
        with it (their parent-death signal)."""
        try:
            data = recv_raw(self.zygote_sock, 1 << 20)
        except OSError:
            data = None
        if data is None:
            self.stop_zygote()
            statuses.setdefault(program, (signal.SIGKILL, 0.0))
            return
        reply = pickle.loads(data)
        if reply[0] == "end" and reply[1] == program:
            statuses[program] = (reply[2], reply[3])

    # -- one sample

    def sample(self, solution, tests_fd):
        """Runs one sample: hands the tests to the tester, forks the program,
        waits for the tester's report or the timeout, and returns the
        verdict."""
        self.reap()
        self.start_tester()
        self.tester_runs += 1
        work = "/tmp"
        if not self.namespaces:
            # Not tempfile, which imports random (see warm).
            work = os.path.join(self.tmpdir, "dars-code-%d-%s" % (self.tag, os.urandom(6).hex()))
            os.mkdir(work, 0o700)
            if self.uid >= 0:
                os.chown(work, self.uid, self.uid)
        st, sp = socket.socketpair()
        p2z_r, p2z_w = os.pipe()  # the program's set-up: "u" (map my IDs), then "S"+error or end of file
        z2p_r, z2p_w = os.pipe()  # the server: "m" (mapped)
        program = None
        ok = False
        try:
            # The tests go to the tester before the program exists: the
            # program never holds their descriptor.
            socket.send_fds(self.tester_sock, [b"R"], [st.fileno(), tests_fd])
            os.close(tests_fd)
            tests_fd = None
            st.close()
            program = self.fork_program(solution, sp, p2z_w, z2p_r, work)
            sp.close()
            os.close(p2z_w)
            os.close(z2p_r)
            verdict, ok = self.watch(program, p2z_r, z2p_w)
            return verdict
        finally:
            if not ok:
                self.stop_tester()
            for fd in (tests_fd, p2z_r, z2p_w):
                if fd is not None:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            if program:
                self.kill(program)
            if not self.namespaces:
                if program:
                    self.await_end(program)
                remove(work)

    def await_end(self, program):
        """Waits until the zygote reports program's end (a second at most:
        it was killed), so that its directory can go."""
        statuses, deadline = {}, time.monotonic() + 1
        while self.zygote_sock is not None and program not in statuses:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.zygote_sock], [], [], left)[0]:
                return
            self.zygote_end(program, statuses)

    def kill(self, pid):
        """Kills a process of a sample and, with it, its session: the tester,
        or the program and what it started (with namespaces the program is
        process 1 of its PID namespace, which dies with it)."""
        for target in (-pid, pid):
            try:
                os.kill(target, signal.SIGKILL)
            except OSError:
                pass

    def watch(self, program, p2z_r, z2p_w):
        """Maps the program's user namespace when it asks, then waits for the
        tester's report, the program's end or the timeout. Returns the
        verdict, and whether the tester may take another sample. When dars
        goes away the server kills the sample and exits (with namespaces
        the kernel would kill every sample anyway)."""
        deadline = time.monotonic() + self.timeout
        statuses = {}  # pid: (status, seconds of CPU)
        tester = self.tester_sock
        setup, set_up = b"", False
        report = None  # the tester's frame; b"" when it died without one
        while True:
            self.reap(statuses)
            if set_up and report is not None and (report[:1] not in (b"", b"E") or program in statuses or (not report and self.tester_end is not None)):
                break
            if not set_up and program in statuses:
                set_up = True  # it died setting up: its end says why
            left = deadline - time.monotonic()
            if left <= 0:
                return {"code": TIMEOUT, "detail": "timeout after %ss" % fmt(self.timeout)}, False
            watch = [self.wake_r, self.ctl]
            zygote = self.zygote_sock if program not in statuses else None
            if zygote is not None:
                watch.append(zygote)
            if not set_up:
                watch.append(p2z_r)
            if report is None:
                watch.append(tester)
            r, _, _ = select.select(watch, [], [], left)
            if self.ctl in r:
                self.kill(program)
                self.stop_tester()
                self.stop_zygote()
                os._exit(0)
            if zygote is not None and zygote in r:
                self.zygote_end(program, statuses)
            if self.wake_r in r:
                try:
                    os.read(self.wake_r, 4096)
                except BlockingIOError:
                    pass
            if p2z_r in r:
                chunk = os.read(p2z_r, 4096)
                if not chunk:
                    set_up = True
                    if setup[:1] == b"S":
                        return {"code": SETUP, "detail": one_line(setup[1:].decode("utf-8", "replace"))}, report is not None and report[:1] in (b"P", b"F")
                else:
                    if chunk[:1] == b"u" and not setup and self.namespaces:
                        self.map_ids(program)
                        os.write(z2p_w, b"m")
                        chunk = chunk[1:]
                    setup += chunk
            if tester in r:
                try:
                    frame = recv_raw(tester, 1 << 16)
                except (OSError, ProtocolError):
                    frame = None
                report = frame if frame is not None else b""
        tester_end = None if report else self.tester_end
        code, detail = self.judge(report, tester_end, statuses.get(program))
        return {"code": code, "detail": one_line(detail)}, bool(report) and report[:1] in (b"P", b"F", b"E")

    def judge(self, report, tester, program):
        """Turns the tester's report and the children's ends into a verdict."""
        kind = report[:1]
        if kind == b"P":
            return PASSED, ""
        if kind == b"F":
            return FAILED, one_line(report[1:].decode("utf-8", "replace"))
        if kind == b"S":
            return SETUP, one_line(report[1:].decode("utf-8", "replace"))
        if kind == b"E":
            return self.program_end(program)
        # The tester died without a report.
        if tester is None:
            return FAILED, "the tests ended without a verdict"
        status, usage = tester
        code = os.waitstatus_to_exitcode(status)
        if code < 0:
            if -code == signal.SIGXCPU:
                return CPU, "cpu time limit exceeded (%ds of CPU, in the tests)" % self.cpu
            return SIGNALED, "the tests were killed by signal %s" % signame(-code)
        return FAILED, "the tests ended without a verdict (status %d)" % code

    def program_end(self, program):
        if program is None:
            return FAILED, "program stopped answering its tests"
        status, used = program
        code = os.waitstatus_to_exitcode(status)
        if code < 0:
            if self.cpu_spent(-code, used):
                return CPU, "cpu time limit exceeded (%ds of CPU)" % self.cpu
            return SIGNALED, "killed by signal %s" % signame(-code)
        if code == 0:
            return FAILED, "program exited before its tests finished"
        return FAILED, "program exited with status %d" % code

    def cpu_spent(self, sig, used):
        return sig == signal.SIGXCPU or (sig == signal.SIGKILL and used >= self.cpu)

    def map_ids(self, program):
        """Maps the sandbox user into the program's new user namespace: uid
        and gid 65534 there are the sandbox user (as root: 65534; otherwise
        dars's own uid, which is 0 of the server's user namespace)."""
        outer = self.uid if self.uid >= 0 else 0
        line = b"65534 %d 1" % outer
        for name, data in (("uid_map", line), ("setgroups", b"deny"), ("gid_map", line)):
            fd = os.open("/proc/%d/%s" % (program, name), os.O_WRONLY)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)

    def child(self, body, keep):
        """Runs body in a child of the server, in a session of its own (a
        signal to its process group reaches nothing else), with only the
        descriptors in keep, and exits."""
        try:
            signal.set_wakeup_fd(-1)
            # _signal's, not signal's: that wraps handlers in enums, and
            # looking up the old one (not a member) raises and formats an
            # exception, which cost each program sixty pages copied on write.
            _signal.signal(SIGCHLD, _signal.SIG_DFL)
            os.setsid()
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL, "set the parent-death signal")
            keep_fds(keep)
            body()
        except BaseException:
            pass
        os._exit(SETUP)

    def drop(self, userns):
        """Gives up privileges: the sandbox user (as root), or every
        capability (in a user namespace), and no_new_privs."""
        if self.uid >= 0 and not userns:
            os.setgroups([])
            os.setresgid(self.uid, self.uid, self.uid)
            os.setresuid(self.uid, self.uid, self.uid)
        elif self.namespaces:
            Caps().drop()
        prctl(PR_SET_NO_NEW_PRIVS, 1, "set no_new_privs")

    # -- P: the program

    def program(self, solution, sp, p2z_w, z2p_r, work):
        """Isolates itself further, runs the solution and answers the
        tester. Set-up errors go to the server on p2z_w, which is closed
        before the solution runs."""
        try:
            if self.namespaces:
                # Process 1 of a new PID namespace: a /proc of its own, a
                # tmpfs as /tmp, its own IPC objects.
                unshare(CLONE_NEWNS | CLONE_NEWIPC, "new mount and IPC namespaces")
                mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None, "mount /proc")
                mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, TMPFS, "mount a tmpfs on /tmp")
                if self.uid >= 0:
                    os.setgroups([])
                # A user namespace of its own: the process limit counts this
                # program's processes only.
                unshare(CLONE_NEWUSER, "new user namespace")
                os.write(p2z_w, b"u")
                if os.read(z2p_r, 1) != b"m":
                    raise RuntimeError("the user namespace was not mapped")
                os.setresgid(65534, 65534, 65534)
                os.setresuid(65534, 65534, 65534)
                # No user namespace below this one, where the program would
                # have capabilities again.
                try:
                    fd = os.open("/proc/sys/user/max_user_namespaces", os.O_WRONLY)
                    os.write(fd, b"0")
                    os.close(fd)
                except OSError:
                    pass
                self.caps.drop()
                prctl(PR_SET_NO_NEW_PRIVS, 1, "set no_new_privs")
            else:
                self.drop(userns=False)
                os.environ.clear()
                os.environ.update(PATH="/usr/local/bin:/usr/bin:/bin", HOME=work, TMPDIR=work, LANG="C.UTF-8")
            for which, value in self.limits:
                resource.setrlimit(which, value)
        except BaseException as e:
            os.write(p2z_w, b"S" + ("sandbox: " + describe(e)).encode("utf-8", "replace"))
            os._exit(SETUP)
        os.close(p2z_w)
        os.close(z2p_r)
        to_devnull()
        os.chdir(work)
        os.umask(0o077)
        mod = types.ModuleType("solution")
        mod.__file__ = work + "/prog.py"
        sys.modules["solution"] = mod
        sys.argv = ["prog.py"]
        try:
            exec(compile(solution, "prog.py", "exec"), mod.__dict__)
        except SystemExit as e:
            send_frame(sp, ("exit", repr(e.code)))
            os._exit(0)
        except BaseException as e:
            send_frame(sp, ("load", describe(e)))
            os._exit(0)
        serve_program(sp, mod)


class Caps:
    """Drops every capability for good: the bounding set, then the
    effective, permitted and inheritable sets. Made ahead (in the server),
    so that a program's set-up allocates nothing."""

    def __init__(self):
        ctypes, c = libc()
        with open("/proc/sys/kernel/cap_last_cap") as f:
            self.caps = range(int(f.read()) + 1)
        self.prctl, self.capset, self.get_errno = c.prctl, c.capset, ctypes.get_errno
        self.header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
        self.data = (ctypes.c_uint32 * 6)()  # two {effective, permitted, inheritable}, all zero

    def drop(self):
        for cap in self.caps:
            if self.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                raise OSError(self.get_errno(), "drop capability %d" % cap)
        if self.capset(self.header, self.data) != 0:
            raise OSError(self.get_errno(), "clear capabilities")


def loaded_libraries():
    """Returns the files this process has mapped: the interpreter's shared
    libraries, wherever they live."""
    out = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split(None, 5)
                if len(parts) == 6 and parts[5].startswith("/") and os.path.isfile(parts[5].strip()):
                    out.add(parts[5].strip())
    except OSError:
        pass
    return out


def mount_flags(path):
    """Returns the flags of the mount holding path that a bind mount must
    keep (a user namespace may not clear them)."""
    f = os.statvfs(path).f_flag
    flags = 0
    for st, ms in ((2, MS_NOSUID), (4, MS_NODEV), (8, MS_NOEXEC), (1024, MS_NOATIME), (2048, MS_NODIRATIME), (4096, MS_RELATIME)):
        if f & st:
            flags |= ms
    if not f & (1024 | 4096):
        flags |= MS_STRICTATIME
    return flags


def remove(path):
    """Removes a sample's directory, restoring permissions the program may
    have taken away (a directory it made unreadable)."""
    import shutil

    shutil.rmtree(path, ignore_errors=True)
    if not os.path.lexists(path):
        return
    # Top-down: each directory is made readable before the walk enters it.
    # Never through a symbolic link, which the program may have pointed at
    # any directory of the host.
    chmod_dir(path)
    for root, dirs, _ in os.walk(path):
        for d in dirs:
            chmod_dir(os.path.join(root, d))
    shutil.rmtree(path, ignore_errors=True)


def chmod_dir(path):
    """Gives path, a directory and not a link, to its owner in full."""
    try:
        if not os.path.islink(path):
            os.chmod(path, 0o700, follow_symlinks=False)
    except (OSError, NotImplementedError):
        pass


def fmt(seconds):
    return ("%f" % seconds).rstrip("0").rstrip(".")


def signame(sig):
    try:
        return signal.Signals(sig).name
    except ValueError:
        return str(sig)


def add_site_packages():
    """Puts the interpreter's site-packages directories, and the directories
    their .pth files name, on sys.path, as site would, without running the
    code in .pth files: the server starts with -S because such code (a
    certificate hook, setuptools' distutils shim) imports threading, whose
    after-fork hook would then run in every sample."""
    import site

    for d in site.getsitepackages():
        if not os.path.isdir(d) or d in sys.path:
            continue
        sys.path.append(d)
        try:
            names = sorted(n for n in os.listdir(d) if n.endswith(".pth") and not n.startswith("."))
        except OSError:
            continue
        for name in names:
            try:
                with open(os.path.join(d, name), encoding="utf-8", errors="replace") as f:
                    lines = f.read().splitlines()
            except OSError:
                continue
            for line in lines:
                line = line.rstrip()
                if not line or line.startswith("#") or line.startswith(("import ", "import\t")):
                    continue
                p = os.path.abspath(os.path.join(d, line))
                if os.path.isdir(p) and p not in sys.path:
                    sys.path.append(p)


def main():
    try:
        add_site_packages()
        server = Server(json.loads(sys.argv[1]))
    except BaseException as e:
        os.write(2, ("sandbox: harness: %s\n" % one_line(e)).encode())
        os._exit(SETUP)
    try:
        if LINUX:
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL, "set the parent-death signal")
        if server.namespaces:
            server.build_root()
        server.warm()
        gc.collect()
        if hasattr(gc, "freeze"):
            gc.freeze()
    except BaseException as e:
        server.reply({"code": SETUP, "detail": "sandbox: " + describe(e)})
        os._exit(SETUP)
    server.serve()
    os._exit(0)


main()
