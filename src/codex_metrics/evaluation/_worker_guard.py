"""The audit guard of one sample: how events reach the verdict keeper, and the refusals.

Part of the sandboxed worker script (see ``_worker_server.py``): standard library only. Two audit
hooks run inside the sample's process, installed before its code starts, beside the keeper of
``_worker_keeper.py``:

* the **forwarder** (the first hook) passes the events that matter to the keeper: the trusted
  code's protocol events, trace and profile functions, refused operations and evidence of
  tampering (``ctypes``, code objects replaced, audit hooks). It blocks signals and pauses the
  garbage collector around each hand-over, so no signal handler or finalizer of the sample ever
  runs while the keeper's frame is live; it never raises and never calls the sample's code;
* the **refuser** (the second hook) makes forbidden operations fail (writes outside the work
  directory, process spawning, the network, ``gc`` and frame introspection of the harness, the
  keeper's frame). It holds nothing worth reaching: the traceback of a refusal shows its frame,
  never the keeper's.

The keeper's frame is reachable only through ``gi_frame`` of its generator or ``gc``
introspection, both refused (and a touched keeper marks the sample tampered). What the hooks call
after the sample started was bound when they were made: the sample may replace any module
attribute or builtin.
"""

from __future__ import annotations

import ctypes
import gc
import os
import signal
import sys
import types
from collections.abc import Callable, Generator
from typing import Any

try:  # in the package (tests, type checking); in the worker script the keeper comes first
    from codex_metrics.evaluation._worker_keeper import (
        EV_CHECKED,
        EV_READY,
        K_EVIDENCE,
        K_KEEPER,
        K_NOTE,
        K_TRACE,
        PROTOCOL,
        VERDICT_HEADER,
        VERDICT_MAGIC,
        keeper,
        make_importer,
        make_runner,
    )
except ImportError:  # pragma: no cover - inside the sandbox
    pass

_INTROSPECTION = ("gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys._current_frames")
_EVIDENCE = {
    "code.__new__": "evidence: built a code object",
    "sys.addaudithook": "evidence: tried to add an audit hook (refused)",
}


def make_policy(
    workdir: str, read_roots: tuple[str, ...], parent_pid: int, rules: dict[str, Any]
) -> Callable[[str, tuple[Any, ...]], str | None]:
    """A function naming what an audit event violates (``None``: allowed).

    Only exact ``str``/``bytes``/``int`` arguments are looked at, never converted: a path-like
    object of the sample's would run the sample's code inside the hook.
    """
    str_, bytes_, int_, type_, getcwd = str, bytes, int, type, os.getcwd
    spawn, net, paths = tuple(rules["spawn"]), frozenset(rules["net"]), frozenset(rules["paths"])
    write_flags, introspection = int(rules["write_flags"]), frozenset(_INTROSPECTION)
    writable = (workdir, "/dev/null")

    def absolute(path: Any) -> str | None:
        if type_(path) is bytes_:
            path = path.decode("utf-8", "surrogateescape")
        if type_(path) is not str_:
            return None
        if path[:1] != "/":
            path = getcwd() + "/" + path
        parts: list[str] = []
        for part in path.split("/"):
            if part == "..":
                if parts:
                    parts.pop()
            elif part and part != ".":
                parts.append(part)
        return "/" + "/".join(parts)

    def within(path: str, roots: tuple[str, ...]) -> bool:
        for root in roots:
            if path == root or path.startswith(root.rstrip("/") + "/"):
                return True
        return False

    def policy(event: str, args: tuple[Any, ...]) -> str | None:
        if event == "open":
            path = absolute(args[0])
            if path is None:
                return None
            mode, flags = args[1], args[2]
            writing = (type_(mode) is str_ and ("w" in mode or "a" in mode or "x" in mode
                                               or "+" in mode))  # fmt: skip
            writing = writing or (type_(flags) is int_ and flags & write_flags != 0)
            if writing and not within(path, writable):
                return "write outside the work directory: " + path[:200]
            if not writing and not within(path, read_roots):
                return "read outside the sandbox's files: " + path[:200]
            return None
        if event.startswith(spawn):
            return "process spawn: " + event
        if event in net:
            return "network: " + event
        if event in paths:
            for arg in args:
                path = absolute(arg)
                if path is not None and not within(path, (workdir,)):
                    return "change outside the work directory: " + event + " " + path[:200]
            return None
        if event in introspection:
            return "introspection of the harness: " + event
        if event == "os.kill" or event == "os.killpg":
            pid = args[0]
            if type_(pid) is int_ and (pid == -1 or pid == 1 or pid == parent_pid):
                return "signalling the harness: " + event
        return None

    return policy


_SIGMASK: list[Any] = []


def _libc_sigmask() -> tuple[Any, Any, Any]:
    """The C library's ``pthread_sigmask``, a ``sigset_t`` type and a full set (once per server)."""
    if not _SIGMASK:
        raw = ctypes.CDLL(None).pthread_sigmask
        raw.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
        sigset = ctypes.c_ubyte * 128
        everything = sigset(*([0xFF] * 128))
        saved = sigset()
        raw(
            signal.SIG_BLOCK, sigset(), saved
        )  # warm the call path up in the server, not per sample
        _SIGMASK.extend((raw, sigset, everything))
    return _SIGMASK[0], _SIGMASK[1], _SIGMASK[2]


def _signal_blocker() -> tuple[Callable[[], Any], Callable[[Any], None]]:
    """Block and restore every signal with direct libc calls (Python's wrapper costs ~70 us).

    Blocking first, then calling a no-op Python function, makes any handler of the sample that is
    already due run in that function's frame, never in the keeper's.
    """
    raw, sigset, everything = _libc_sigmask()
    block_, setmask = signal.SIG_BLOCK, signal.SIG_SETMASK

    def flush() -> None:
        """Pending signal handlers run here."""

    def block() -> Any:
        saved = sigset()
        raw(block_, everything, saved)
        flush()
        return saved

    def restore(saved: Any) -> None:
        raw(setmask, saved, None)

    return block, restore


def _make_forwarder(
    vault: Generator[None, Any, None], policy: Callable[[str, tuple[Any, ...]], str | None]
) -> Callable[[str, tuple[Any, ...]], None]:
    """The first audit hook: passes what matters to the keeper; never raises."""
    send, type_, str_, base_exception = vault.send, type, str, BaseException
    block, restore = _signal_blocker()
    gc_enabled, gc_enable, gc_disable = gc.isenabled, gc.enable, gc.disable
    protocol = dict(PROTOCOL)
    traces = frozenset(("sys.settrace", "sys.setprofile"))
    quiet = frozenset(("sys._getframe", "ctypes.call_function", "exec", "compile", "import",
                       "os.listdir", "os.scandir", "marshal.loads", "object.__delattr__"))  # fmt: skip
    evidence = dict(_EVIDENCE)
    k_trace, k_note, k_evidence, k_keeper = K_TRACE, K_NOTE, K_EVIDENCE, K_KEEPER
    installing = [True]  # the refuser's own installation is the one hook that may be added
    busy: list[bool] = []  # the keeper is running: its own events need no forwarding

    def forward(event: str, args: tuple[Any, ...]) -> None:
        if busy or event in quiet:
            return
        kind = protocol.get(event)
        if kind is not None:
            message: tuple[int, Any] = (kind, args)
        elif event in traces:
            message = (k_trace, event)
        elif event == "object.__getattr__":
            if args[0] is not vault:
                return
            message = (k_keeper, None)
        elif event == "object.__setattr__":
            if args[1] != "__code__":
                return
            message = (k_evidence, "evidence: replaced a function's code")
        elif event in evidence:
            if installing and event == "sys.addaudithook":
                installing.pop()
                return
            message = (k_evidence, evidence[event])
        elif event.startswith("ctypes."):
            message = (k_evidence, "evidence: used ctypes")
        else:
            try:
                found = policy(event, args)
            except base_exception:  # a classification aid must never break a run
                return
            if found is None:
                return
            message = (k_note, "violation: " + found if type_(found) is str_ else "violation")
        try:
            saved = block()
        except base_exception:
            saved = None
        paused = gc_enabled()
        gc_disable()  # no finalizer of the sample runs while the keeper's frame is live
        busy.append(True)
        try:
            send(message)
        except base_exception:  # the keeper ended, or is busy in another thread
            pass
        busy.clear()
        if paused:
            gc_enable()
        if saved is not None:
            try:
                restore(saved)
            except base_exception:
                pass

    return forward


def _make_refuser(
    vault: Generator[None, Any, None],
    policy: Callable[[str, tuple[Any, ...]], str | None],
    main_pid: int,
) -> Callable[[str, tuple[Any, ...]], None]:
    """The second audit hook: forbidden operations fail (it holds nothing worth reaching)."""
    permission_error, runtime_error = PermissionError, RuntimeError
    getpid, kill, sigkill = os.getpid, os.kill, signal.SIGKILL

    def refuse(event: str, args: tuple[Any, ...]) -> None:
        if event == "object.__getattr__":
            if args[0] is vault:
                raise permission_error(1, "blocked by the evaluation sandbox (the verdict keeper)")
            return
        if event == "sys.addaudithook":
            raise runtime_error("blocked by the evaluation sandbox")  # the new hook is not added
        found = policy(event, args)
        if found is None:
            return
        if found.startswith("signalling the harness") and getpid() == main_pid:
            kill(getpid(), sigkill)  # as if the harness had taken the sample down with it
        raise permission_error(1, "blocked by the evaluation sandbox (" + found[:120] + ")")

    return refuse


def install_guard(
    channel: Any,
    trusted: Any,
    namespace: dict[str, Any],
    pristine: tuple[Any, ...] | None,
    policy_args: tuple[Any, ...],
    spare_random: Any,
) -> None:
    """Start the keeper and add the forwarder and the refuser as audit hooks.

    Args:
        channel: the verdict page (``mmap``); after this call only the keeper holds it.
        trusted: the frame of the code that runs the sample and reports (``run_child``).
        namespace: the dict the sample's program runs in.
        pristine: ``(prelude code, test code, entry point, modules the test imports, always
            re-check, builtins snapshot, module snapshots, original modules)``, or ``None``.
        policy_args: ``(workdir, read_roots, parent_pid, rules)`` for :func:`make_policy`.
        spare_random: a ``random.Random`` made before any sample ran, for the re-check's draws.
    """
    import _random
    import _signal
    import _thread
    import builtins

    runner_tools = (exec, sys.audit, BaseException, EV_READY, EV_CHECKED)
    tools = (sys._getframe, os.getpid, sys.gettrace, sys.getprofile, type, len, tuple, list, str,
             dict, range, id, map, int, types.ModuleType, types.MethodType, types.FunctionType,
             types.CodeType, make_runner,
             make_importer, runner_tools, builtins, sys.modules, _thread._count, gc.callbacks,
             _signal.getsignal, tuple(_signal.valid_signals() - {signal.SIGKILL, signal.SIGSTOP}),
             signal.default_int_handler, spare_random, _random.Random.seed)  # fmt: skip
    vault = keeper(channel, trusted, os.getpid(), pristine, namespace, tools)
    next(vault)
    forward = _make_forwarder(vault, make_policy(*policy_args))
    vault.send(forward.__code__)
    sys.addaudithook(forward)
    sys.addaudithook(_make_refuser(vault, make_policy(*policy_args), os.getpid()))


def read_verdict(page: bytes) -> dict[str, Any] | None:
    """Decode a verdict page: ``None`` when the keeper never wrote one."""
    if page[:8] != VERDICT_MAGIC:
        return None
    notes_length = int.from_bytes(page[14:18], "little")
    payload_length = int.from_bytes(page[18:22], "little")
    end = VERDICT_HEADER + notes_length
    return {
        "status": page[8],
        "phase": page[9],
        "flags": int.from_bytes(page[10:14], "little"),
        "notes": page[VERDICT_HEADER:end].decode("utf-8", "replace"),
        "payload": page[end : end + payload_length].decode("utf-8", "replace"),
    }
