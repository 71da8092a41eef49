"""The verdict keeper of one sample, and the pristine re-check it hands out.

Part of the sandboxed worker script (see ``_worker_server.py``): standard library only. The keeper
is a suspended generator whose frame alone holds the verdict page (a shared memory mapping the
server reads after the sample's process is gone) and the sample's state; see ``_worker_guard.py``
for how events reach it and why no frame of the sample leads to it.

Protocol (each event accepted once, in order, only from the child's trusted frame; the last two
only from the re-check's own frame): ``testing`` (the program ran up to the final
``check(entry_point)``), ``primary`` (the program ended: ok or not), ``checking`` (hand out the
re-check, or none), ``ready`` / ``checked`` (from the re-check), ``report`` (the details).

The **pristine re-check** runs the task's own prelude and test in a fresh namespace with a fresh
copy of the builtins and of the standard modules the test imports (as they were before the sample
ran, ``random`` freshly seeded), then ``check`` on the sample's function, with trace and profile
functions off. It runs when a passing sample did anything that could change what its tests saw:
shadowed a builtin, changed the builtins, the test's modules or ``sys.modules``, changed its
namespace while ``check`` ran, set a trace or profile function, a signal handler or a ``gc``
callback, left a thread running, used ``ctypes``, replaced a function's code; and always for
tasks whose prelude defines helpers the test calls, or whose test draws random inputs. A sample
whose tests fail only in the re-check is *tampered*. The keeper reads everything it compares
without calling the sample's code (identities and CPython's dict version tags).

Every function here that runs after the sample started reads no global name.
"""

from __future__ import annotations

import ctypes
import types
from collections.abc import Callable, Generator
from typing import Any

VERDICT_MAGIC = b"CMVERD01"
VERDICT_PAGE = 1 << 18
VERDICT_HEADER = 22  # magic 8, status 1, phase 1, flags 4, notes length 4, payload length 4
STATUS_PASSED, STATUS_FAILED, STATUS_TAMPERED, STATUS_COMPLETED, STATUS_SETUP_ERROR = 1, 2, 3, 4, 5
EV_TESTING = "codex_metrics.testing"
EV_PRIMARY = "codex_metrics.primary"
EV_CHECKING = "codex_metrics.checking"
EV_READY = "codex_metrics.ready"
EV_CHECKED = "codex_metrics.checked"
EV_REPORT = "codex_metrics.report"
PROTOCOL = {EV_TESTING: 0, EV_PRIMARY: 1, EV_CHECKING: 2, EV_READY: 3, EV_CHECKED: 4, EV_REPORT: 5}
K_TRACE, K_NOTE, K_EVIDENCE, K_KEEPER = 6, 7, 8, 9
MAX_NOTES = 20


def dict_version() -> Callable[[dict[Any, Any]], int] | None:
    """CPython's per-dict version tag reader, or ``None`` where it does not behave as expected.

    The tag changes on every change of the dict's contents, so comparing two readings says
    whether a dict was touched in between, even if it was put back as it was.
    """
    buffer = ctypes.c_uint64()
    into, copy, id_ = ctypes.addressof(buffer), ctypes.memmove, id

    def version(mapping: dict[Any, Any]) -> int:
        copy(into, id_(mapping) + 24, 8)  # PyDictObject: head 16, ma_used 8, ma_version_tag 8
        return buffer.value

    probe: dict[str, int] = {}
    before = version(probe)
    probe["x"] = 1
    middle = version(probe)
    probe["x"] = 2
    return version if before != middle != version(probe) else None


def make_importer(copies: dict[str, types.ModuleType], original: Any) -> Callable[..., Any]:
    """``__import__`` of the re-check: pristine copies of the modules the test imports."""

    def pristine_import(
        name: Any, globals: Any = None, locals: Any = None, fromlist: Any = (), level: Any = 0
    ) -> Any:
        if level == 0:
            module = copies.get(name)
            if module is not None:
                return module
        return original(name, globals, locals, fromlist, level)

    return pristine_import


def make_runner(
    prelude: Any, test: Any, ns: dict[str, Any], entry: str, candidate: Any, tools: tuple[Any, ...]
) -> Callable[[], None]:
    """The re-check: the task's prelude and test in ``ns``, then ``check(candidate)``."""
    exec_, audit, base_exception, ev_ready, ev_checked = tools

    def pristine_check() -> None:
        ok = False
        try:
            if prelude is not None:
                exec_(prelude, ns)
            exec_(test, ns)
            ns[entry] = candidate
            audit(ev_ready, None)
            ns["check"](candidate)
            ok = True
        except base_exception:
            ok = False
        audit(ev_checked, ok)

    return pristine_check


def keeper(  # noqa: C901 - one state machine, kept in one frame on purpose
    channel: Any, trusted: Any, pid: int, pristine: tuple[Any, ...] | None,
    namespace: dict[str, Any], tools: tuple[Any, ...],
) -> Generator[None, Any, None]:  # fmt: skip
    """The verdict keeper (module docstring); the first value sent is the forwarder's code."""
    (getframe, getpid, gettrace, getprofile, type_, len_, tuple_, list_, str_, dict_, range_,
     id_, map_, int_, module_type, method_type, function_type, code_type, runner_factory,
     importer_factory, runner_tools,
     live_builtins, sys_modules, thread_count, gc_callbacks, getsignal, signals, int_handler,
     spare_random, seed_random) = tools  # fmt: skip
    # Everything read after the sample starts is bound here, before it does.
    magic, header, page, max_notes = VERDICT_MAGIC, VERDICT_HEADER, VERDICT_PAGE, MAX_NOTES
    passed, failed, tampered, completed = (
        STATUS_PASSED, STATUS_FAILED, STATUS_TAMPERED, STATUS_COMPLETED)  # fmt: skip
    k_trace, k_note, k_evidence, k_keeper = K_TRACE, K_NOTE, K_EVIDENCE, K_KEEPER
    generator_exit, base_exception = GeneratorExit, BaseException
    version = dict_version()
    prelude = test = entry = None
    imported: tuple[str, ...] = ()
    always = False
    if pristine is not None:
        prelude, test, entry, imported, always, builtins_snapshot, snapshots, originals = pristine
    builtins_dict = live_builtins.__dict__
    watched = [builtins_dict, sys_modules]
    if pristine is not None:
        watched += [originals[n].__dict__ for n in imported if n in originals]
    versions = [version(m) for m in watched] if version is not None else []
    phase, flags, primary_ok, checked_ok, ready, required = 0, 0, False, False, False, True
    namespace_version, test_check = None, None
    notes: list[str] = []
    fingerprints: list[tuple[Any, Any, Any]] = []
    kept: list[Any] = []
    runner_code: Any = None

    def emit(status: int, payload: str) -> None:
        head = "\n".join(notes).encode("utf-8", "backslashreplace")[:8192]
        body = payload.encode("utf-8", "backslashreplace")[: page - header - len_(head)]
        end = header + len_(head)
        channel[header:end] = head
        channel[end : end + len_(body)] = body
        channel[10:14] = flags.to_bytes(4, "little")
        channel[14:18] = len_(head).to_bytes(4, "little")
        channel[18:22] = len_(body).to_bytes(4, "little")
        channel[8] = status
        channel[9] = phase
        channel[0:8] = magic

    def fingerprint(mapping: dict[Any, Any]) -> tuple[Any, Any, Any]:
        return mapping, tuple_(map_(id_, mapping)), tuple_(mapping.values())

    def needs_recheck() -> bool:
        """Whether anything the tests see may differ from a pristine run (module docstring)."""
        if always or version is None or any_evidence or namespace_version is None:
            return True
        if [version(m) for m in watched] != versions:
            return True
        if version(namespace) != namespace_version or thread_count() or gc_callbacks:
            return True
        called = None
        for key, value in kept[-1]:
            if type_(key) is not str_:
                return True
            if key == "__builtins__":  # exec() puts the builtins' dict there
                if value is not builtins_dict and value is not live_builtins:
                    return True
            elif key in builtins_snapshot and key[:2] != "__":  # a shadowed builtin
                return True
            elif key == "check":
                called = value
        if type_(called) is not function_type or called.__code__ is not test_check:
            return True  # the check() that ran is not the test's own
        for signum in signals:  # a Python handler could run in the middle of check
            handler = getsignal(signum)
            if handler is not None and type_(handler) is not int_ and handler is not int_handler:
                return True
        return False

    any_evidence = False
    forward_code = yield
    message: Any = None
    value: Any = None
    origin: Any = None
    arg: Any = None
    while True:
        # Drop the last message while the forwarder still holds it: an object of the sample it
        # kept alive is then freed (and finalized) in the forwarder's frame, never here.
        message = value = origin = arg = None
        try:
            message = yield
        except generator_exit:
            flags |= 32
            emit(tampered, "")
            return
        except base_exception:  # thrown in by the sample
            flags |= 32
            emit(tampered, "")
            continue
        if getframe(1).f_code is not forward_code:
            flags |= 32
            emit(tampered, "")
            continue
        origin = getframe(2)
        kind, value = message
        if kind == k_note or kind == k_evidence:
            any_evidence = any_evidence or kind == k_evidence
            if len_(notes) < max_notes and value not in notes:
                notes.append(value)
            continue
        if kind == k_keeper:
            flags |= 32
            emit(tampered, "")
            continue
        trusted_origin = origin is trusted and getpid() == pid
        if kind == k_trace:  # the trusted frame only ever turns tracing off
            if trusted_origin:
                continue
            any_evidence = True
            if phase == 2:
                flags |= 4
                emit(tampered, "")
            elif "evidence: a trace or profile function was set" not in notes:
                notes.append("evidence: a trace or profile function was set")
            continue
        if kind == 3 or kind == 4:  # from the re-check's own frame, called by the trusted one
            trusted_origin = (origin.f_code is runner_code and origin.f_back is trusted
                              and getpid() == pid)  # fmt: skip
        if not trusted_origin:
            flags |= 1
            emit(tampered, "")
            continue
        arg = value[0] if type_(value) is tuple_ and len_(value) >= 1 else None
        before = flags
        if kind == 0:  # the program ran up to its final check(...) call
            if phase != 0 or namespace_version is not None:
                flags |= 2
            else:
                namespace_version = version(namespace) if version is not None else 0
                test_check = arg if type_(arg) is code_type else None
        elif kind == 1:  # the program ended (arg: whether it raised nothing)
            if phase != 0:
                flags |= 2
            else:
                phase, primary_ok = 1, arg is True
                if primary_ok and pristine is not None:
                    kept.append(tuple_(namespace.items()))  # never freed here: loop head
                    required = needs_recheck()
                emit(0, "")
        elif kind == 2:  # hand out the re-check, if one is needed (arg: a list to put it in)
            if phase != 1 or not primary_ok or pristine is None or type_(arg) is not list_:
                flags |= 2
            elif not required:
                phase, checked_ok = 3, True
            else:
                fresh = dict_(builtins_snapshot)
                copies = {}
                for name in imported:
                    snapshot = snapshots.get(name)
                    if snapshot is not None:
                        module = module_type(name)
                        module.__dict__.update(snapshot)
                        if name == "random":  # new draws: a sample cannot predict the inputs
                            generator = spare_random
                            seed_random(generator, None)
                            old = snapshot.get("_inst")
                            for attr, item in tuple_(snapshot.items()):
                                if type_(item) is method_type and item.__self__ is old:
                                    module.__dict__[attr] = method_type(item.__func__, generator)
                        copies[name] = module
                        fingerprints.append(fingerprint(module.__dict__))
                fresh["__import__"] = importer_factory(copies, builtins_snapshot["__import__"])
                fingerprints.append(fingerprint(fresh))
                ns = {"__builtins__": fresh, "__name__": "__check__"}
                candidate = None
                for key, item in kept[-1]:
                    if type_(key) is str_:
                        if key == entry:
                            candidate = item
                        if key[:2] != "__" and key not in fresh:
                            ns[key] = item
                runner = runner_factory(prelude, test, ns, entry, candidate, runner_tools)
                runner_code = runner.__code__
                arg.append(runner)
                kept.append(ns)
                notes.append("rechecked: the tests ran again against pristine builtins")
                phase = 2
                emit(0, "")
        elif kind == 3:  # the re-check's namespace is built: from now on it must not change
            if phase != 2 or ready:
                flags |= 2
            else:
                ready = True
                fingerprints.append(fingerprint(kept[-1]))
        elif kind == 4:  # the re-check ended (arg: whether check passed)
            if phase != 2 or not ready:
                flags |= 2
            else:
                phase, checked_ok = 3, arg is True
                for mapping, keys, values in fingerprints:
                    if tuple_(map_(id_, mapping)) != keys or tuple_(
                        map_(id_, mapping.values())
                    ) != tuple_(map_(id_, values)):
                        flags |= 16
                if gettrace() is not None or getprofile() is not None:
                    flags |= 4
                if not checked_ok:
                    flags |= 8
                emit(0, "")
        elif kind == 5:  # the report (arg: the child's details as JSON text)
            if phase == 0 or phase == 4:
                flags |= 2
            elif phase == 2 or (phase == 1 and primary_ok and pristine is not None):
                flags |= 64
            if flags:
                status = tampered
            elif not primary_ok:
                status = failed
            else:
                status = passed if phase == 3 else completed
            phase = 4
            emit(status, arg if type_(arg) is str_ else "")
            continue
        if flags != before:
            emit(tampered, "")
