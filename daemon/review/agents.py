"""The reviewers: five built in, and the user's own under ``[review.agents.NAME]``.

Every reviewer of a batch gets the same system prompt (the rules of reviewing, then the
diff) and the same tools, and only its brief differs, in the user message that follows:
so the long shared prefix (tools, system, diff) is what a provider's prompt cache keeps
(Anthropic's ``cache_control`` breakpoints on tools and system, OpenAI's automatic prefix
cache), and the second to fifth reviewers read it from there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from daemon.review.settings import ReviewSettings

# The read tools of the solver, and the one that reports.
TOOLS = (
    "code_search",
    "symbol_search",
    "grep_search",
    "file_path_search",
    "read_file",
    "list_directory",
    "git",
    "report_finding",
)

SYSTEM = """You are one of several reviewers of a code change, each with its own focus. The \
change is below, as unified diffs with surrounding lines; line numbers in the @@ headers \
are those of the new version of each file.

How to review:
- Look only for problems in your focus, in the lines the change adds or modifies.
- Before you claim anything, check it in the code: read the definitions and callers you \
depend on (read_file, symbol_search, grep_search, code_search, git). Never report what \
you have not checked, nor style nits a formatter would fix.
- Report each finding by calling report_finding once, with the file path as shown, the \
new-side lines it is about, a severity (error: a bug, vulnerability or data loss; \
warning: likely a problem; info: worth knowing), a short kebab-case category, a message \
that says what is wrong and why, your confidence from 0 to 1, and when the fix is \
concrete a suggestion: the full replacement text for exactly those lines.
- When you have reported everything (or found nothing), answer with one short sentence. \
Paths are relative to the repository root."""

BRIEFS: dict[str, str] = {
    "security": "Your focus is security: injection (SQL, shell, path, template), missing "
    "authentication or authorisation checks, secrets in code, unsafe deserialisation, "
    "weak cryptography, SSRF, unsafe handling of untrusted input.",
    "correctness": "Your focus is correctness: bugs, wrong logic, off-by-one errors, "
    "unhandled errors and edge cases (empty, None, zero, huge inputs), race conditions, "
    "resource leaks, broken contracts with callers.",
    "performance": "Your focus is performance: needless work in loops, quadratic "
    "algorithms, N+1 queries, blocking calls on hot or async paths, unbounded memory, "
    "missing caching where it is obvious.",
    "maintainability": "Your focus is maintainability: design, duplication of existing "
    "helpers, misleading names, functions doing too much, dead code, missing or wrong "
    "documentation of a public interface.",
    "tests": "Your focus is tests: behaviour the change adds or alters that no test covers "
    "(look for the tests of this code), tests that cannot fail, missing edge cases. Point "
    "at the untested lines of the change, and suggest what to test.",
}


@dataclass(frozen=True, slots=True)
class Reviewer:
    name: str
    brief: str
    model: str | None = None
    globs: tuple[str, ...] = ()


class UnknownReviewer(ValueError):
    pass


def available(settings: ReviewSettings) -> dict[str, Reviewer]:
    out = {name: Reviewer(name, brief) for name, brief in BRIEFS.items()}
    for name, custom in settings.agents.items():
        out[name] = Reviewer(name, custom.prompt, custom.model, tuple(custom.globs))
    return out


def chosen(settings: ReviewSettings, names: Sequence[str] | None) -> list[Reviewer]:
    """The reviewers a review runs: those named, else the configured defaults."""
    known = available(settings)
    if names:
        wanted = list(dict.fromkeys(n.strip() for n in names if n.strip()))
        unknown = [n for n in wanted if n not in known]
        if unknown:
            raise UnknownReviewer(
                f"unknown reviewer {', '.join(map(repr, unknown))}; known: {', '.join(known)}"
            )
        return [known[n] for n in wanted]
    names_default = [n for n in settings.builtin if n in known]
    names_default += [n for n, a in settings.agents.items() if a.default and n not in names_default]
    return [known[n] for n in names_default]


def brief(reviewer: Reviewer, paths: Sequence[str]) -> str:
    scope = ""
    if reviewer.globs:
        scope = f"\nReview only these files of the change: {', '.join(paths)}."
    return f"Review the change above as the {reviewer.name} reviewer.\n{reviewer.brief}{scope}"


def system(diff: str, label: str, notes: Mapping[str, str] | None = None) -> str:
    extra = "".join(f"\n{v}" for v in (notes or {}).values())
    return f"{SYSTEM}\n\n# The change under review: {label}{extra}\n\n{diff}"
