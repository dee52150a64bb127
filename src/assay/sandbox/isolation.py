"""Linux isolation primitives through libc (Python 3.11 has no os.unshare): namespaces, mounts, privileges.

Everything here is called by the sandbox's own processes: the checker (its name, its pid namespace), the zygote
(the root process that forks sandboxed programs) or a sandboxed child just before it runs untrusted code.
Nothing here is used in the harness's own process.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
from dataclasses import dataclass

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NAME = 15
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38

# per-mount options we must carry over when remounting read-only (dropping them would widen access)
_MOUNT_FLAGS = {
    "nosuid": MS_NOSUID,
    "nodev": MS_NODEV,
    "noexec": MS_NOEXEC,
    "noatime": MS_NOATIME,
    "nodiratime": MS_NODIRATIME,
    "relatime": MS_RELATIME,
    "strictatime": MS_STRICTATIME,
}

# libc (the zygote uses it too): the interpreter's own symbols include libc's. ctypes.util.find_library would
# run `ldconfig -p` and import subprocess, shutil and compression modules into every zygote, whose memory each
# fork then copies
libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
libc.unshare.argtypes = [ctypes.c_int]
libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare(flags: int) -> None:
    """unshare(2); raises OSError when the kernel or our privileges refuse."""
    _check(libc.unshare(flags), "unshare")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    """mount(2)."""

    def enc(s: str | None) -> bytes | None:
        return None if s is None else s.encode()

    _check(libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def umount_lazy(target: str) -> None:
    """umount2(target, MNT_DETACH)."""
    _check(libc.umount2(target.encode(), 2), f"umount {target}")


def prctl(option: int, arg: int = 0) -> None:
    """prctl(2) with one argument."""
    _check(libc.prctl(option, arg, 0, 0, 0), f"prctl {option}")


def set_name(name: str) -> None:
    """The process's name as `ps` and `top` show it (prctl PR_SET_NAME; at most 15 bytes are kept)."""
    buf = ctypes.create_string_buffer(name.encode()[:15])
    with contextlib.suppress(OSError):  # only cosmetic
        prctl(PR_SET_NAME, ctypes.addressof(buf))


def _unescape(path: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal
    return path.encode().decode("unicode_escape") if "\\" in path else path


def mount_points() -> list[tuple[str, int]]:
    """(mount point, flags to keep) for every mount visible to this process, parents before children."""
    out: list[tuple[str, int]] = []
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        for line in fh:
            fields = line.split()
            point, options = _unescape(fields[4]), fields[5].split(",")
            flags = 0
            for opt in options:
                flags |= _MOUNT_FLAGS.get(opt, 0)
            out.append((point, flags))
    return out


@dataclass(frozen=True, slots=True)
class FsPlan:
    """How the zygote's private filesystem view is built."""

    work_root: str = "/tmp"  # becomes a fresh tmpfs: the only writable place
    tmpfs_size_mb: int = 256
    hide: tuple[str, ...] = ()  # directories/files covered by an empty read-only mount (answer keys, data)
    expose: tuple[str, ...] = ()  # directories programs must read (the Python installation) wherever they are


def _blocked_ancestor(path: str) -> str | None:
    """The topmost ancestor of `path` that others cannot traverse (e.g. /root, mode 0700), if any."""
    parts = os.path.abspath(path).strip("/").split("/")
    for i in range(1, len(parts)):
        ancestor = "/" + "/".join(parts[:i])
        if not os.stat(ancestor).st_mode & 0o001:
            return ancestor
    return None


def expose_paths(paths: tuple[str, ...], staging_root: str) -> None:
    """Keep `paths` readable by an unprivileged uid when an ancestor is not traversable: cover that ancestor
    with an empty tmpfs and bind only those paths back (the rest of it stays hidden)."""
    blocked: dict[str, list[str]] = {}
    for path in paths:
        ancestor = _blocked_ancestor(path) if os.path.isdir(path) else None
        if ancestor is not None and not path.startswith(staging_root + "/"):
            blocked.setdefault(ancestor, []).append(os.path.abspath(path))
    for i, (ancestor, inside) in enumerate(blocked.items()):
        staged = []
        for j, path in enumerate(sorted(set(inside))):
            stage = os.path.join(staging_root, f".expose-{i}-{j}")
            os.mkdir(stage)
            mount(path, stage, None, MS_BIND | MS_REC)
            staged.append((stage, path))
        mount("tmpfs", ancestor, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755")
        for stage, path in staged:
            os.makedirs(path, mode=0o755, exist_ok=True)
            mount(stage, path, None, MS_BIND | MS_REC)
            umount_lazy(stage)
            os.rmdir(stage)


def build_private_filesystem(plan: FsPlan) -> list[str]:
    """In a fresh mount namespace: private propagation, new /proc, hidden paths, tmpfs work root, the rest
    read-only. Returns mount points that could not be made read-only (empty when fully confined)."""
    # first, so nothing we do below propagates back to the host
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for path in plan.hide:
        if os.path.isdir(path):
            mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=000")
        elif os.path.exists(path):
            mount("/dev/null", path, None, MS_BIND)
    mount("tmpfs", plan.work_root, "tmpfs", MS_NOSUID | MS_NODEV, f"size={plan.tmpfs_size_mb}m,mode=0755")
    expose_paths(plan.expose, plan.work_root)
    failed: list[str] = []
    for point, keep in mount_points():
        if point == plan.work_root:
            continue
        try:
            mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | keep)
        except OSError:
            failed.append(point)
    return failed


@dataclass(frozen=True, slots=True)
class ProcessLimits:
    """rlimits applied to a sandboxed program (and inherited by anything it starts)."""

    memory_bytes: int
    max_processes: int
    cpu_seconds_hard: int
    file_bytes: int
    open_files: int = 64


def apply_rlimits(limits: ProcessLimits) -> None:
    """Set soft = hard, so the program cannot raise them (it also loses the privilege to)."""
    pairs = [
        (resource.RLIMIT_AS, limits.memory_bytes),
        (resource.RLIMIT_NPROC, limits.max_processes),
        (resource.RLIMIT_CPU, limits.cpu_seconds_hard),
        (resource.RLIMIT_FSIZE, limits.file_bytes),
        (resource.RLIMIT_NOFILE, limits.open_files),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_MEMLOCK, 0),
        (resource.RLIMIT_MSGQUEUE, 0),
    ]
    for which, value in pairs:
        resource.setrlimit(which, (value, value))


def lock_privileges(drop_groups: bool) -> None:
    """For the zygote, once: no supplementary groups (when its children will switch uid) and no_new_privs,
    which every child inherits (it can never be unset: no program gains privileges via a setuid binary)."""
    if drop_groups:
        os.setgroups([])
    prctl(PR_SET_NO_NEW_PRIVS, 1)


def become(uid: int) -> None:
    """Switch real, effective and saved ids to `uid` for good (a child of the zygote, after lock_privileges)."""
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if os.getuid() != uid or os.geteuid() != uid:  # paranoia: never run untrusted code as root
        raise OSError("privilege drop did not take effect")
