"""Run students' notebooks for grading in a sandbox, with bounded time, memory and output.

Only grading uses this module; the kernels students use in JupyterLab are untouched.

A grading kernel is the environment's ordinary Python kernel, started through

    timeout -s KILL <seconds>  prlimit --as=<bytes> --fsize=<bytes>  bwrap ...  python -m ipykernel_launcher -f <file>

- ``bwrap`` (bubblewrap) gives the kernel its own mount, process, network and
  IPC namespaces with no capabilities. It sees the system (``/usr``), the Python
  environment and the ``course`` package read-only, a private ``/tmp`` and home,
  a private runtime folder for its connection file and sockets, and its own
  submission folder (the folder nbgrader executes the notebook in), and nothing
  else: not ``solutions/``, not the gradebook, not other students' work, not
  the server's list of accounts (its ``/etc/passwd`` and ``/etc/group`` hold
  root, the grading account and nobody, see :func:`_account_files`). It has
  no network: the kernel talks to nbgrader over Unix sockets (jupyter_client's
  ``ipc`` transport) in the private runtime folder.
- ``prlimit`` caps the kernel's address space (a memory bomb gets a
  ``MemoryError``) and the size of any file it writes.
- ``timeout`` kills the whole sandbox when the notebook as a whole has run too
  long, even if the student's code ignores interrupts; nbgrader then sees a dead
  kernel instead of waiting 30 seconds for every remaining cell.
- :class:`SandboxedExecute` is nbgrader's ``Execute`` preprocessor using that
  kernel, and it keeps at most :data:`MAX_OUTPUT_BYTES` of output per cell
  (nbgrader limits lines, not bytes: one 50 MB line stays whole otherwise).

``nbgrader_config.py`` puts :class:`SandboxedExecute` into ``nbgrader
autograde``'s pipeline, and :mod:`course.instructor.autograde` uses it for
``course grade``.
"""

from __future__ import annotations

import functools
import grp
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Float, Integer, Unicode

# Defaults; nbgrader_config.py or the caller can change them (see the traits below).
TIME_LIMIT = 300.0  # seconds for a whole notebook, kernel start included
MEMORY_LIMIT = 2 * 1024**3  # bytes of address space for the kernel
FILE_SIZE_LIMIT = 64 * 1024**2  # bytes: the largest file the kernel may write
MAX_OUTPUT_BYTES = 100_000  # bytes of output kept per cell

TRUNCATED_NOTE = (
    "\n[Utskriften er kuttet her: cellen skrev ut {total} byte, og bare de første {kept} byte er tatt med "
    "i rettingen.]\n"
)


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or does not work on this machine."""


def bwrap_path() -> str:
    path = shutil.which("bwrap")
    if not path:
        raise SandboxUnavailable(
            "Fant ikke bubblewrap (bwrap), som retting av innleveringer trenger. "
            "Installer Debian-pakken: sudo apt-get install bubblewrap"
        )
    return path


@functools.lru_cache(maxsize=None)
def _kernel_course_package() -> str | None:
    """The folder of the ``course`` package that the kernel's Python imports, or None if it has none.

    Not necessarily the package this process imported: run in a copy of the
    course folder, the grader may import the copy's ``course/`` (the course
    configuration imports it), while the kernel, started in a submission
    folder, imports the package its environment has installed (with an editable
    install, the checkout the environment was built from). Binding only the
    grader's package then left the kernel without ``course`` in the sandbox,
    and a correct notebook that imports it scored 0. So ask the kernel's own
    interpreter, from an empty folder, as the kernel will be started.
    """
    with tempfile.TemporaryDirectory() as empty:
        probe = subprocess.run(
            [sys.executable, "-c",
             "import importlib.util; s = importlib.util.find_spec('course'); "
             "print(s.submodule_search_locations[0] if s and s.submodule_search_locations else '')"],
            cwd=empty, capture_output=True, text=True, timeout=60,
        )
    found = probe.stdout.strip()
    return os.path.realpath(found) if probe.returncode == 0 and found else None


def _python_dirs() -> list[str]:
    """Folders the kernel's Python needs: the environment, the interpreter and the course package."""
    import course

    dirs = {
        os.path.realpath(sys.prefix),
        os.path.realpath(sys.base_prefix),
        os.path.realpath(sys.exec_prefix),
        os.path.dirname(os.path.realpath(sys.executable)),
        # An editable install maps `course` to the checkout; bind the package only, not the course root.
        # Both the package this grader imported and the one the kernel imports (see _kernel_course_package).
        os.path.realpath(Path(course.__file__).parent),
    }
    kernel_package = _kernel_course_package()
    if kernel_package:
        dirs.add(kernel_package)
    # Keep only the outermost folders (a venv may live inside base_prefix, or the reverse).
    result = []
    for d in sorted(dirs, key=len):
        if not any(d == r or d.startswith(r + os.sep) for r in result):
            result.append(d)
    return result


SYSTEM_DIRS = ["/usr", "/etc/alternatives", "/etc/fonts", "/etc/ssl/certs"]
SYSTEM_FILES = ["/etc/ld.so.cache", "/etc/localtime", "/etc/mime.types", "/etc/nsswitch.conf"]
SANDBOX_HOME = "/tmp/hjem"


def _account_files(runtime_dir: str) -> dict[str, str]:
    """The sandbox's own /etc/passwd and /etc/group, written to ``runtime_dir``: root, the grader, nobody.

    The server's own files are not shown to the kernel, for two reasons. They
    list every account on the server, that is the class list, to the student
    code being graded. And binding them races with account creation (a first
    log-in from Canvas, add-accounts.sh): useradd replaces /etc/group by a
    rename, and bwrap, which remounts each bind read-only by its path, fails
    when the file it bound was replaced in between ("Can't bind mount
    /oldroot/etc/group ... Unable to find .../etc/group (deleted) in mount
    table"), so the grading kernel died at its start (seen while a hub made
    accounts during a grading run). Files of our own cannot change underneath.
    The grader's entry has the sandbox's home, so ``~`` and ``pwd`` agree.
    """
    def user(uid: int, fallback: str, home: str) -> str:
        try:
            entry = pwd.getpwuid(uid)
            name, gid = entry.pw_name, entry.pw_gid
        except KeyError:
            name, gid = fallback, os.getgid() if uid == os.getuid() else uid
        return f"{name}:x:{uid}:{gid}::{home}:/usr/sbin/nologin\n"

    def group(gid: int, fallback: str) -> str:
        try:
            name = grp.getgrgid(gid).gr_name
        except KeyError:
            name = fallback
        return f"{name}:x:{gid}:\n"

    uid, gid = os.getuid(), os.getgid()
    users = {0: user(0, "root", "/root"), uid: user(uid, "retter", SANDBOX_HOME), 65534: user(65534, "nobody", "/nonexistent")}
    groups = {0: group(0, "root"), gid: group(gid, "retter"), 65534: group(65534, "nogroup")}
    files = {"/etc/passwd": "".join(users[k] for k in sorted(users)), "/etc/group": "".join(groups[k] for k in sorted(groups))}
    written = {}
    for target, text in files.items():
        path = os.path.join(runtime_dir, os.path.basename(target))
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        written[target] = path
    return written


def sandbox_command(
    kernel_cmd: list[str],
    *,
    workdir: str,
    runtime_dir: str,
    time_limit: float = TIME_LIMIT,
    memory_limit: int = MEMORY_LIMIT,
    file_size_limit: int = FILE_SIZE_LIMIT,
) -> list[str]:
    """Wrap a kernel command so that it runs in the sandbox described in the module docstring."""
    workdir = os.path.realpath(workdir)
    runtime_dir = os.path.realpath(runtime_dir)
    cmd = ["timeout", "--signal=KILL", f"{time_limit:g}"]
    cmd += ["prlimit", f"--as={int(memory_limit)}", f"--fsize={int(file_size_limit)}", "--core=0", "--"]
    cmd += [bwrap_path(), "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    for link in ("bin", "sbin", "lib", "lib64", "lib32"):
        if os.path.islink(f"/{link}"):
            cmd += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
        elif os.path.isdir(f"/{link}"):
            cmd += ["--ro-bind", f"/{link}", f"/{link}"]
    for path in SYSTEM_DIRS + SYSTEM_FILES:
        cmd += ["--ro-bind-try", path, path]
    for target, path in _account_files(runtime_dir).items():
        cmd += ["--ro-bind", path, target]
    cmd += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", SANDBOX_HOME]
    for path in _python_dirs():
        cmd += ["--ro-bind", path, path]
    cmd += ["--bind", runtime_dir, runtime_dir, "--bind", workdir, workdir, "--chdir", workdir]
    cmd += ["--clearenv", "--hostname", "retting"]
    env = {
        "PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin",
        "HOME": SANDBOX_HOME,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": f"{SANDBOX_HOME}/.matplotlib",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "NBGRADER_EXECUTION": "autograde",
        "JUPYTER_PLATFORM_DIRS": "1",
    }
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    return cmd + ["--", *kernel_cmd]


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel runs in the grading sandbox.

    The connection file and the kernel's Unix sockets live in a private folder
    made for this kernel alone (the user's runtime folder holds other kernels'
    keys, so it is not shared with the sandbox). Interrupts are sent as messages,
    since signals from outside do not reach a kernel in its own session.
    """

    time_limit = Float(TIME_LIMIT, help="Seconds a whole notebook may run, kernel start included.").tag(config=True)
    memory_limit = Integer(MEMORY_LIMIT, help="Bytes of address space for the kernel.").tag(config=True)
    file_size_limit = Integer(FILE_SIZE_LIMIT, help="Largest file the kernel may write, in bytes.").tag(config=True)
    transport = Unicode("ipc")

    def __init__(self, **kwargs):
        self._private_dir = tempfile.mkdtemp(prefix="retting-kjerne-")
        super().__init__(**kwargs)
        self.connection_file = os.path.join(self._private_dir, "kernel.json")
        self.ip = os.path.join(self._private_dir, "ipc")

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        assert self.kernel_spec is not None
        self.kernel_spec.interrupt_mode = "message"
        workdir = str(self._launch_args.get("cwd") or os.getcwd())
        return sandbox_command(
            cmd,
            workdir=workdir,
            runtime_dir=self._private_dir,
            time_limit=self.time_limit,
            memory_limit=self.memory_limit,
            file_size_limit=self.file_size_limit,
        )

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self._private_dir, ignore_errors=True)

    def __del__(self):
        shutil.rmtree(getattr(self, "_private_dir", ""), ignore_errors=True)


def _output_size(out: NotebookNode) -> int:
    if out.get("output_type") == "stream":
        return len(out.get("text", "").encode("utf-8", "replace"))
    return len(json.dumps(out, ensure_ascii=False).encode("utf-8", "replace"))


def _truncate_text(text: str, limit: int) -> str:
    return text.encode("utf-8", "replace")[:limit].decode("utf-8", "ignore")


class SandboxedExecute(Execute):
    """nbgrader's Execute preprocessor with the sandboxed kernel and a cap on output bytes per cell.

    Output beyond the cap is dropped as it arrives (so a runaway print loop does
    not fill the grader's memory), and a Norwegian note says how much was cut.
    """

    max_output_bytes = Integer(MAX_OUTPUT_BYTES, help="Bytes of output kept per cell.").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)
        self._kept: dict[int, int] = {}
        self._dropped: dict[int, int] = {}

    def output(self, outs, msg, display_id, cell_index):
        out = super().output(outs, msg, display_id, cell_index)
        if out is None or out.get("output_type") == "error":
            return out  # errors are what the grade depends on: always kept (LimitOutput shortens tracebacks)
        size = _output_size(out)
        kept = self._kept.get(cell_index, 0)
        room = self.max_output_bytes - kept
        if size <= room:
            self._kept[cell_index] = kept + size
            return out
        # Over the cap: shorten this output to the room left, or drop it.
        if out.get("output_type") == "stream" and room > 0:
            out.text = _truncate_text(out.text, room)
            self._kept[cell_index] = self.max_output_bytes
            self._dropped[cell_index] = self._dropped.get(cell_index, 0) + size - room
        else:
            if outs and outs[-1] is out:
                outs.pop()
            self._dropped[cell_index] = self._dropped.get(cell_index, 0) + size
        return out

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        dropped = self._dropped.pop(index, 0)
        kept = self._kept.pop(index, 0)
        if dropped and cell.cell_type == "code":
            note = TRUNCATED_NOTE.format(total=kept + dropped, kept=kept)
            # Before any error output, so the error stays last as nbgrader expects.
            position = next((i for i, o in enumerate(cell.outputs) if o.output_type == "error"), len(cell.outputs))
            cell.outputs.insert(position, NotebookNode(output_type="stream", name="stdout", text=note))
        return cell, resources
