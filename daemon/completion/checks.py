"""``deputydev doctor``'s row for inline completions: is the model known, can it be called,
and how does it fill in the middle."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from daemon.config import LoadedSettings
    from daemon.doctor import Check


def check_completion(loaded: LoadedSettings) -> list[Check]:
    from daemon.doctor import Check
    from providers.errors import UnknownModel
    from providers.fim import native
    from providers.router import Router

    settings = loaded.settings.completion
    if settings.model is None:
        return [
            Check(
                "inline completions",
                "ok",
                "off",
                "set model under [completion] in config.toml to complete as you type",
            )
        ]
    router = Router(loaded.settings.providers)
    try:
        spec = router.resolve(settings.model)
    except UnknownModel as exc:
        return [Check("inline completions", "fail", str(exc), "name a model of deputydev/models")]
    problem = router.key_problem(spec)
    if problem is not None:
        return [Check("inline completions", "fail", f"{spec.name}: {problem}", problem)]
    style = native(spec)
    how = "a fill-in-the-middle prompt to a chat model" if style == "chat" else f"FIM ({style})"
    budget = settings.daily_budget_usd
    limit = f", daily budget ${budget:.2f}" if budget is not None else ""
    return [Check("inline completions", "ok", f"{spec.name} through {how}{limit}")]
