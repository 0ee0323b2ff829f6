"""Parsing git diffs, batching them to fit a window, and screening findings."""

from __future__ import annotations

from daemon.review import diff
from daemon.review.findings import Finding, screen
from daemon.solver.settings import ToolSettings

DIFF = """diff --git a/app.py b/app.py
index 1111111..2222222 100644
--- a/app.py
+++ b/app.py
@@ -1,4 +1,5 @@
 import os
-x = 1
+x = 2
+y = 3
{blank}
 def f():
diff --git a/old name.py b/new name.py
similarity index 90%
rename from old name.py
rename to new name.py
--- a/old name.py
+++ b/new name.py
@@ -3,2 +3,2 @@ def g():
-    return 1
+    return 2
 # end
diff --git a/gone.py b/gone.py
deleted file mode 100644
--- a/gone.py
+++ /dev/null
@@ -1,2 +0,0 @@
-a = 1
-b = 2
diff --git a/logo.png b/logo.png
new file mode 100644
Binary files /dev/null and b/logo.png differ
diff --git a/.env b/.env
--- a/.env
+++ b/.env
@@ -1 +1 @@
-KEY=a
+KEY=secret
""".replace("{blank}", " ")


def test_parse_reads_statuses_lines_renames_and_binaries() -> None:
    files, binary = diff.parse(DIFF)
    by = {f.path: f for f in files}
    assert set(by) == {"app.py", "new name.py", "gone.py", ".env"}
    assert by["app.py"].status == "modified" and by["app.py"].changed_lines() == {2, 3}
    assert by["new name.py"].status == "renamed" and by["new name.py"].old_path == "old name.py"
    assert by["new name.py"].changed_lines() == {3}
    assert by["gone.py"].status == "deleted"
    assert binary == [("logo.png", "binary file")]
    kept, skipped = diff.drop_secrets(files, ToolSettings())
    assert ".env" not in {f.path for f in kept}
    assert skipped[0][0] == ".env" and "secret" in skipped[0][1]
    assert "KEY=secret" not in "".join(f.render() for f in kept)


def test_batches_split_large_diffs_and_say_what_was_left_out() -> None:
    lines = "\n".join(f"+line_{i} = {i}" for i in range(400))
    text = "".join(
        f"diff --git a/f{n}.py b/f{n}.py\n--- a/f{n}.py\n+++ b/f{n}.py\n"
        f"@@ -0,0 +1,400 @@\n{lines}\n"
        for n in range(4)
    )
    files, _ = diff.parse(text)
    one_file = diff.tokens(files[0].render())
    groups, skipped = diff.batches(files, one_file // 3, max_batches=100)
    assert len(groups) >= 12  # each file in parts: nothing cut
    parts = [p for g in groups for p in g.parts]
    assert {p[0].path for p in parts} == {f"f{n}.py" for n in range(4)}
    shown = sum(len(h.lines) for p in parts for h in p[1])
    assert shown == 4 * 400 and not skipped
    assert any("part 1 of" in p[2] for p in parts)
    groups, skipped = diff.batches(files, one_file + 50, max_batches=2)
    assert len(groups) == 2
    assert [p for p, _ in skipped] == ["f2.py", "f3.py"]
    assert "review.maxBatches" in skipped[0][1]


async def _text(path: str) -> str | None:
    return "\n".join(f"line {i}" for i in range(1, 11)) + "\n"


def _finding(start: int, end: int | None = None, **kw: object) -> Finding:
    base: dict[str, object] = {
        "path": "app.py",
        "start_line": start,
        "end_line": end or start,
        "severity": "warning",
        "category": "bug",
        "message": "x is wrong here",
        "confidence": 0.9,
        "reviewers": ("correctness",),
    }
    base.update(kw)
    return Finding(**base)  # type: ignore[arg-type]


async def test_screen_drops_weak_outside_and_impossible_findings_and_merges_duplicates() -> None:
    files, _ = diff.parse(DIFF)
    change = diff.Change("uncommitted", "uncommitted changes", files, new_text=_text)

    async def count(path: str) -> int | None:
        return 10

    found = [
        _finding(2),
        _finding(2, 3, reviewers=("security",), severity="error", category="bug"),
        _finding(3, category="naming", message="y is a poor name", confidence=0.3),
        _finding(8, category="style"),  # outside the changed lines, a warning
        _finding(9, severity="error", category="crash"),  # outside, but severe: kept
        _finding(11, category="x"),  # past the end of the file
        _finding(1, path="elsewhere.py"),
    ]
    out = await screen(found, change, min_confidence=0.5, keep_outside="error", line_count=count)
    kept = {(f.start_line, f.category): f for f in out.kept}
    assert set(kept) == {(2, "bug"), (9, "crash")}
    merged = kept[(2, "bug")]
    assert merged.severity == "error" and set(merged.reviewers) == {"security", "correctness"}
    reasons = sorted(r for _, r in out.dropped)
    assert reasons == sorted(
        [
            "duplicate",
            "confidence 0.3 below 0.5",
            "outside the changed lines",
            "lines outside the file (10 lines)",
            "not a file of the change",
        ]
    )
    assert [f.id for f in out.kept] == ["F1", "F2"]


def test_the_fixture_path_is_normalised() -> None:
    assert diff.normalise_path("./b/src/x.py") == "b/src/x.py"
    assert diff.normalise_path("b/src/x.py") == "src/x.py"


def test_the_judges_verdict_drops_contradicted_findings_and_merges_duplicates() -> None:
    from daemon.review.findings import parse_verdict

    found = [
        _finding(2, id="F1"),
        _finding(3, id="F2", category="null", severity="error", reviewers=("security",)),
        _finding(5, id="F3", category="none-check", reviewers=("tests",)),
        _finding(9, id="F4", category="style"),
    ]
    reply = (
        "Here you are:\n```json\n"
        '{"drop": [{"id": "F4", "reason": "the code already does this"}, {"id": "F9"}], '
        '"duplicates": [["F2", "F3"], ["F1"]], "summary": "Two problems."}\n```'
    )
    verdict = parse_verdict(reply, ["F1", "F2", "F3", "F4"])
    assert verdict is not None and verdict.summary == "Two problems."
    kept, dropped = verdict.apply(found)
    assert [f.id for f in kept] == ["F1", "F2"]
    assert set(kept[1].reviewers) == {"security", "tests"} and kept[1].severity == "error"
    assert sorted(r for _, r in dropped) == ["duplicate of F2", "the code already does this"]
    assert parse_verdict("no json here", ["F1"]) is None
