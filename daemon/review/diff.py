"""What a review reads: the diff of a git scope (or a pull request), parsed and batched.

:func:`collect` runs git in the repository around ``root`` and returns a :class:`Change`:
its files, each with its hunks and the new-side lines it changed, and what was left out and
why (binary files, secret files, files past the batch limit). The repository is untrusted
input: git runs with no external diff program, no textconv filter, no fsmonitor and fixed
prefixes, so its config can neither run a program nor change the format parsed here.

Secret files (``solver.tools.secretPatterns``) are dropped while parsing: their text never
leaves this module, and the result says they were skipped.

:func:`batches` splits the files into groups whose diff fits a model's window: whole files
while they fit, a file too large for one window split at hunk boundaries, a hunk too large
split into slices of lines; nothing is cut silently.
"""

from __future__ import annotations

import asyncio
import fnmatch
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from daemon.errors import DaemonError, WorkspaceError
from daemon.solver.settings import ToolSettings
from daemon.tools.paths import is_secret
from daemon.tools.runtime import run_process
from daemon.tools.secrets import SecretPolicy
from indexer.gitsafe import config_flags, git_env, repository_drivers
from protocol import errors as codes

MAX_UNTRACKED_BYTES = 1_000_000
MAX_DIFF_BYTES = 64_000_000


class ReviewError(DaemonError):
    """A review that cannot start: a bad base or range, a scope that needs what is missing."""

    code = codes.INVALID_PARAMS


class NotAGitRepository(WorkspaceError):
    pass


@dataclass(slots=True)
class Hunk:
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    header: str  # the whole "@@ -a,b +c,d @@ ..." line
    lines: list[str] = field(default_factory=list)  # " ", "+", "-", "\\" prefixed

    def text(self) -> str:
        return "\n".join([self.header, *self.lines])

    def added_lines(self) -> list[int]:
        """New-side numbers of the lines this hunk adds."""
        out: list[int] = []
        line = self.new_start
        for text in self.lines:
            if text.startswith("+"):
                out.append(line)
                line += 1
            elif text.startswith(" "):
                line += 1
        return out

    def touched_lines(self) -> set[int]:
        """Added lines, and for a deletion the new-side line where it happened."""
        out = set(self.added_lines())
        line = self.new_start
        for text in self.lines:
            if text.startswith("+") or text.startswith(" "):
                line += 1
            elif text.startswith("-"):
                out.add(max(line, 1))
        return out


@dataclass(slots=True)
class FileChange:
    path: str  # new path, repository-relative, POSIX
    status: str  # added, modified, deleted, renamed
    hunks: list[Hunk] = field(default_factory=list)
    old_path: str | None = None
    header: list[str] = field(default_factory=list)

    @property
    def added(self) -> int:
        return sum(1 for h in self.hunks for t in h.lines if t.startswith("+"))

    @property
    def removed(self) -> int:
        return sum(1 for h in self.hunks for t in h.lines if t.startswith("-"))

    def changed_lines(self) -> set[int]:
        out: set[int] = set()
        for hunk in self.hunks:
            out |= hunk.touched_lines()
        return out

    def old_line(self, new: int) -> int | None:
        """The old side's number of new-side line ``new`` when the diff shows it unchanged."""
        for hunk in self.hunks:
            old, line = hunk.old_start, hunk.new_start
            for text in hunk.lines:
                if text.startswith(" "):
                    if line == new:
                        return old
                    old, line = old + 1, line + 1
                elif text.startswith("+"):
                    line += 1
                elif text.startswith("-"):
                    old += 1
        return None

    def in_hunks(self, line: int) -> bool:
        """Whether ``line`` (new side) is one the diff shows (changed or context)."""
        return any(h.new_start <= line < h.new_start + max(h.new_len, 1) for h in self.hunks)

    def title(self) -> str:
        if self.status == "renamed" and self.old_path:
            return f"{self.old_path} → {self.path} (renamed)"
        return f"{self.path} ({self.status})"

    def render(self, hunks: Sequence[Hunk] | None = None, part: str = "") -> str:
        """The file's diff as the model reads it."""
        head = f"### {self.title()}{part}"
        if self.status == "deleted":
            return f"{head}\n(the file is deleted: {self.removed} lines removed)"
        body = "\n".join(h.text() for h in (self.hunks if hunks is None else hunks))
        return f"{head}\n```diff\n{body}\n```"


NewText = Callable[[str], Awaitable[str | None]]


async def _no_text(path: str) -> str | None:
    return None


@dataclass(slots=True)
class Change:
    scope: str
    label: str  # "uncommitted changes", "main...HEAD", "pull request o/r#7"
    files: list[FileChange]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    root: Path | None = None
    # The new side of a file (what the findings' lines refer to), None when unknown.
    new_text: NewText = _no_text
    head_sha: str | None = None
    base_sha: str | None = None

    def file(self, path: str) -> FileChange | None:
        wanted = normalise_path(path)
        return next((f for f in self.files if f.path == wanted), None)


def normalise_path(path: str) -> str:
    text = path.strip().replace("\\", "/")
    for prefix in ("./", "b/", "a/"):
        if text.startswith(prefix) and len(text) > len(prefix):
            text = text[len(prefix) :]
            break
    return text


# --------------------------------------------------------------------------- parsing

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_BINARY = re.compile(r"^Binary files (.+) and (.+) differ$")


def _unquote(path: str) -> str:
    """A path as git prints it: C-quoted when it holds unusual characters."""
    if len(path) >= 2 and path[0] == '"' and path[-1] == '"':
        raw = path[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
        return raw.encode("latin-1", "replace").decode("utf-8", "replace")
    return path


def _side(path: str) -> str | None:
    path = _unquote(path.strip().split("\t")[0])
    if path == "/dev/null":
        return None
    return path[2:] if path[:2] in ("a/", "b/") else path


def parse(text: str) -> tuple[list[FileChange], list[tuple[str, str]]]:
    """Files of a unified git diff, and the binary ones (skipped) as (path, reason)."""
    files: list[FileChange] = []
    binary: list[tuple[str, str]] = []
    current: FileChange | None = None
    hunk: Hunk | None = None
    old: str | None = None

    def close() -> None:
        nonlocal current, hunk
        if (
            current is not None
            and current.path
            and (
                current.hunks
                or current.status
                in (
                    "deleted",
                    "renamed",
                )
            )
        ):
            files.append(current)
        current, hunk = None, None

    for line in text.split("\n"):
        if line.startswith("diff --git "):
            close()
            current = FileChange(path="", status="modified", header=[line])
            match = re.match(r"^diff --git a/(.+) b/(.+)$", line)
            if match:  # a fallback when there are no ---/+++ lines (renames, binaries)
                current.path = match.group(2)
                old = match.group(1)
            continue
        if current is None:
            continue
        if (
            hunk is not None
            and line[:1] in (" ", "+", "-", "\\")
            and not line.startswith(("--- ", "+++ "))
        ):
            hunk.lines.append(line)
            continue
        if hunk is not None and line == "":
            continue  # the final newline of the diff
        match = _HUNK.match(line)
        if match:
            a, b, c, d = match.groups()
            hunk = Hunk(int(a), int(b or 1), int(c), int(d or 1), line)
            current.hunks.append(hunk)
            continue
        hunk = None
        if line.startswith("new file mode"):
            current.status = "added"
        elif line.startswith("deleted file mode"):
            current.status = "deleted"
        elif line.startswith("rename from "):
            current.old_path, current.status = line[len("rename from ") :], "renamed"
        elif line.startswith("rename to "):
            current.path = line[len("rename to ") :]
        elif line.startswith("--- "):
            old = _side(line[4:])
        elif line.startswith("+++ "):
            new = _side(line[4:])
            if new is None:
                current.status = "deleted"
                current.path = old or current.path
            else:
                current.path = new
                if old is None:
                    current.status = "added"
                elif old != new:
                    current.old_path, current.status = old, "renamed"
        elif (found := _BINARY.match(line)) is not None:
            path = _side(found.group(2)) or _side(found.group(1)) or current.path
            binary.append((path, "binary file"))
            current = None
        current_header = current.header if current is not None else None
        if current_header is not None:
            current_header.append(line)
    close()
    return files, binary


def drop_secrets(
    files: list[FileChange], settings: ToolSettings
) -> tuple[list[FileChange], list[tuple[str, str]]]:
    kept: list[FileChange] = []
    skipped: list[tuple[str, str]] = []
    policy = SecretPolicy.of(settings)
    for f in files:
        names = [f.path] + ([f.old_path] if f.old_path else [])
        body = "\n".join(line[1:] for h in f.hunks for line in h.lines)
        # By name, or by what the change holds (a private key under an innocent name).
        if any(policy.path(n) for n in names) or policy.content(body):
            skipped.append((f.path, "secret file: never sent to a model (solver.tools)"))
        else:
            kept.append(f)
    return kept, skipped


# --------------------------------------------------------------------------- git

_SAFE = (
    "-c",
    "core.quotepath=off",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "diff.noprefix=false",
    "-c",
    "diff.mnemonicPrefix=false",
    "-c",
    "diff.relative=false",
    "-c",
    "color.ui=false",
)


def _env() -> dict[str, str]:
    return git_env()


async def git(cwd: Path, *args: str, check: bool = True) -> tuple[int, str, str]:
    # Hardened as every git the daemon runs (indexer.gitsafe), plus fixed output formats.
    overrides = await asyncio.to_thread(repository_drivers, cwd)
    argv = ["git", *config_flags(overrides), *_SAFE, *args]
    try:
        done = await run_process(argv, cwd=cwd, env=_env(), max_stdout=MAX_DIFF_BYTES)
    except FileNotFoundError:
        raise ReviewError("git is not installed; a review of local changes needs it") from None
    out = done.stdout.decode("utf-8", errors="replace")
    err = done.stderr.decode("utf-8", errors="replace").strip()
    if check and done.returncode != 0:
        raise ReviewError(f"git {args[0]} failed: {err[:400]}")
    if done.truncated:
        raise ReviewError(
            f"the diff is larger than {MAX_DIFF_BYTES // 1_000_000} MB; review a narrower "
            "range (--range A..B) or fewer files"
        )
    return done.returncode, out, err


async def toplevel(root: Path) -> Path:
    if not await asyncio.to_thread(root.exists):
        raise NotAGitRepository(f"{root} does not exist", path=str(root))
    code, out, _ = await git(root, "rev-parse", "--show-toplevel", check=False)
    if code != 0:
        raise NotAGitRepository(
            f"{root} is not inside a git repository: a review reads its changes from git "
            "(git init, or review a pull request with --pr URL)",
            path=str(root),
        )
    return Path(out.strip())


async def _commit(top: Path, ref: str, what: str) -> str:
    if not ref or ref.startswith("-") or any(c in ref for c in "\0\n"):
        raise ReviewError(f"{what} must be a branch, tag or commit, not {ref!r}", field=what)
    code, out, _ = await git(
        top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False
    )
    if code != 0:
        raise ReviewError(
            f"{what} {ref!r} is not a branch, tag or commit in this repository "
            "(git branch -a lists them)",
            field=what,
            ref=ref,
        )
    return out.strip()


async def _empty_tree(top: Path) -> str:
    _, out, _ = await git(top, "hash-object", "-t", "tree", "/dev/null")
    return out.strip()


async def _head(top: Path) -> str | None:
    code, out, _ = await git(top, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
    return out.strip() if code == 0 else None


async def default_base(top: Path) -> str:
    """The remote's default branch (origin/HEAD), else origin/main, origin/master, main,
    master: the first that exists."""
    code, out, _ = await git(
        top, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD", check=False
    )
    if code == 0 and out.strip():
        return out.strip()
    for name in ("origin/main", "origin/master", "main", "master"):
        code, _, _ = await git(
            top, "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}", check=False
        )
        if code == 0:
            return name
    raise ReviewError(
        "no base branch found (no origin/HEAD, main or master): name one with --base",
        field="base",
    )


def _diff_args(context: int) -> list[str]:
    return [
        "diff",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--src-prefix=a/",
        "--dst-prefix=b/",
        "-M",
        f"-U{context}",
    ]


async def _read_worktree(top: Path, path: str) -> str | None:
    from daemon.tools.fileio import read_regular

    def read() -> str | None:
        try:
            data = read_regular(top / path, MAX_UNTRACKED_BYTES * 8)
        except Exception:
            return None
        return data.decode("utf-8", errors="replace")

    return await asyncio.to_thread(read)


def _blob_reader(top: Path, rev: str) -> NewText:
    async def read(path: str) -> str | None:
        code, out, _ = await git(top, "show", f"{rev}:{path}", check=False)
        return out if code == 0 else None

    return read


async def _untracked(top: Path, settings: ToolSettings) -> tuple[str, list[tuple[str, str]]]:
    """New files git does not track yet, as "added" diffs (ignored files stay out)."""
    _, out, _ = await git(top, "ls-files", "-z", "--others", "--exclude-standard")
    parts: list[str] = []
    skipped: list[tuple[str, str]] = []
    for path in filter(None, out.split("\0")):
        if is_secret(top / path, path, settings):
            skipped.append((path, "secret file: never sent to a model (solver.tools)"))
            continue
        data = await asyncio.to_thread(_small_file, top / path)
        if data is None:
            skipped.append(
                (path, f"untracked and not a regular file under {MAX_UNTRACKED_BYTES} B")
            )
            continue
        if b"\0" in data[:8000]:
            skipped.append((path, "binary file"))
            continue
        lines = data.decode("utf-8", errors="replace").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if not lines:
            continue
        body = "\n".join("+" + line for line in lines)
        parts.append(
            f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"
            f"@@ -0,0 +1,{len(lines)} @@\n{body}"
        )
    return "\n".join(parts), skipped


def _small_file(path: Path) -> bytes | None:
    import stat

    try:
        st = path.lstat()
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_UNTRACKED_BYTES:
            return None
        return path.read_bytes()
    except OSError:
        return None


async def collect(
    root: Path,
    scope: str,
    *,
    settings: ToolSettings,
    base: str | None = None,
    commits: str | None = None,
    context: int = 10,
) -> Change:
    """The change a git scope names, around ``root``; see the module docstring."""
    top = await toplevel(root)
    args = _diff_args(context)
    head = await _head(top)
    extra = ""
    new_text: NewText
    base_sha = head
    if scope in ("uncommitted", "staged"):
        against = head or await _empty_tree(top)
        if scope == "staged":
            args += ["--cached", against]
            label = "staged changes"
            new_text = _blob_reader(top, "")
        else:
            args += [against]
            label = "uncommitted changes"
            new_text = _worktree_reader(top)
        head_sha = None
    elif scope == "branch":
        if head is None:
            raise ReviewError("the repository has no commit yet: review --staged instead")
        name = base or await default_base(top)
        base_commit = await _commit(top, name, "base")
        code, out, err = await git(top, "merge-base", base_commit, head, check=False)
        if code != 0:
            raise ReviewError(
                f"base {name!r} shares no history with HEAD ({err[:200] or 'no merge-base'})",
                field="base",
            )
        base_sha = out.strip()
        args += [base_sha, head]
        label = f"{name}...HEAD"
        new_text = _blob_reader(top, head)
        head_sha = head
    elif scope == "range":
        if not commits:
            raise ReviewError("a range review needs range A..B (or A...B)", field="range")
        three = "..." in commits
        left, _, right = commits.partition("..." if three else "..")
        if not _ or not left or not right:
            raise ReviewError(f"range must be A..B or A...B, not {commits!r}", field="range")
        a = await _commit(top, left, "range")
        b = await _commit(top, right, "range")
        if three:
            code, out, _err = await git(top, "merge-base", a, b, check=False)
            if code != 0:
                raise ReviewError(f"{left} and {right} share no history", field="range")
            a = out.strip()
        args += [a, b]
        label = commits
        new_text = _blob_reader(top, b)
        base_sha, head_sha = a, b
    else:
        raise ReviewError(f"unknown scope {scope!r}", field="scope")
    _, text, _ = await git(top, *args, "--", ".")
    if scope == "uncommitted":
        extra, untracked_skipped = await _untracked(top, settings)
    else:
        untracked_skipped = []
    files, binary = parse(text + ("\n" + extra if extra else ""))
    files, secret = drop_secrets(files, settings)
    return Change(
        scope=scope,
        label=label,
        files=files,
        skipped=[*secret, *binary, *untracked_skipped],
        root=top,
        new_text=new_text,
        head_sha=head_sha,
        base_sha=base_sha,
    )


def _worktree_reader(top: Path) -> NewText:
    async def read(path: str) -> str | None:
        return await _read_worktree(top, path)

    return read


# --------------------------------------------------------------------------- batches


@dataclass(slots=True)
class Batch:
    number: int
    parts: list[tuple[FileChange, list[Hunk], str]]  # file, its hunks here, "part k of n"

    def render(self) -> str:
        return "\n\n".join(f.render(hunks, part) for f, hunks, part in self.parts)

    @property
    def paths(self) -> list[str]:
        return list(dict.fromkeys(f.path for f, _, _ in self.parts))

    def only(self, globs: Sequence[str]) -> Batch | None:
        """The batch restricted to files matching ``globs`` (None when none match)."""
        if not globs:
            return self
        parts = [p for p in self.parts if matches(p[0].path, globs)]
        return Batch(self.number, parts) if parts else None


def matches(path: str, globs: Sequence[str]) -> bool:
    return any(
        fnmatch.fnmatch(path, g) or fnmatch.fnmatch(PurePosixPath(path).name, g) for g in globs
    )


def tokens(text: str) -> int:
    return len(text) // 4 + 1


def batches(
    files: Sequence[FileChange], budget_tokens: int, max_batches: int
) -> tuple[list[Batch], list[tuple[str, str]]]:
    """Files grouped into batches of at most ``budget_tokens`` of diff each; files that do
    not fit within ``max_batches`` are returned as skipped."""
    budget = max(budget_tokens, 200)
    units: list[tuple[FileChange, list[Hunk], str]] = []
    for f in files:
        if tokens(f.render()) <= budget:
            units.append((f, list(f.hunks), ""))
            continue
        pieces = _split(f, budget)
        for k, hunks in enumerate(pieces, 1):
            units.append((f, hunks, f", part {k} of {len(pieces)}"))
    out: list[Batch] = []
    current: list[tuple[FileChange, list[Hunk], str]] = []
    used = 0
    skipped: list[tuple[str, str]] = []
    for unit in units:
        size = tokens(unit[0].render(unit[1], unit[2])) + 2
        if current and used + size > budget:
            out.append(Batch(len(out) + 1, current))
            current, used = [], 0
        current.append(unit)
        used += size
    if current:
        out.append(Batch(len(out) + 1, current))
    if len(out) > max_batches:
        kept_paths = {f.path for b in out[:max_batches] for f, _, _ in b.parts}
        for b in out[max_batches:]:
            for f, _, _part in b.parts:
                why = (
                    f"past the review's {max_batches} batches (review.maxBatches): "
                    + ("the rest of this file was" if f.path in kept_paths else "it was")
                    + " not reviewed"
                )
                if (f.path, why) not in skipped:
                    skipped.append((f.path, why))
        out = out[:max_batches]
    return out, skipped


def _split(f: FileChange, budget: int) -> list[list[Hunk]]:
    """A file's hunks in groups that fit; a hunk too large alone is cut into line slices."""
    groups: list[list[Hunk]] = []
    current: list[Hunk] = []
    used = 0
    overhead = tokens(f.render([])) + 20
    for hunk in f.hunks:
        for piece in _slices(hunk, budget - overhead):
            size = tokens(piece.text()) + 1
            if current and used + size > budget - overhead:
                groups.append(current)
                current, used = [], 0
            current.append(piece)
            used += size
    if current:
        groups.append(current)
    return groups


def _slices(hunk: Hunk, budget: int) -> list[Hunk]:
    if tokens(hunk.text()) <= budget:
        return [hunk]
    out: list[Hunk] = []
    old, new = hunk.old_start, hunk.new_start
    lines: list[str] = []
    used = 0

    def flush() -> None:
        nonlocal old, new, lines, used
        if not lines:
            return
        olen = sum(1 for t in lines if t[:1] in (" ", "-"))
        nlen = sum(1 for t in lines if t[:1] in (" ", "+"))
        header = f"@@ -{old},{olen} +{new},{nlen} @@ (a slice of a larger hunk)"
        out.append(Hunk(old, olen, new, nlen, header, lines))
        old, new = old + olen, new + nlen
        lines, used = [], 0

    for text in hunk.lines:
        size = tokens(text) + 1
        if lines and used + size > max(budget, 50):
            flush()
        lines.append(text)
        used += size
    flush()
    return out
