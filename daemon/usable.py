"""Can a model answer here? One answer for ``ask`` (before it creates a session) and for
``deputydev doctor``, as far as can be told without calling the model: its key or
credentials are there, and, for a model on an OpenAI-compatible server, the server answers
``GET /models``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from providers.router import Router

# What to do when no model can be called: shown after the reason.
HOW_TO_GET_A_MODEL = """\
To use a model, do one of these:
  - set a provider key: ANTHROPIC_API_KEY, OPENAI_API_KEY, GEMINI_API_KEY or OPENROUTER_API_KEY
  - point OPENAI_BASE_URL at an OpenAI-compatible server (llama.cpp, vLLM, LM Studio, a proxy;
    no key needed), e.g. export OPENAI_BASE_URL=http://127.0.0.1:8080/v1
  - run Ollama on 127.0.0.1:11434 with the model of [providers.models.local]
    (ollama pull qwen2.5-coder:7b), or set another server in config.toml
Then `deputydev doctor` shows which models can be called here."""


@dataclass(frozen=True, slots=True)
class Usable:
    """The model that would answer (None: none can) and why each one tried cannot."""

    model: str | None
    implicit: bool  # no --model and no default_model: the first model with a key was taken
    problems: tuple[str, ...] = ()

    def message(self) -> str:
        if self.model is not None:
            return ""
        if self.implicit:
            return (
                "no model is usable here: no provider key is set, and the local model's "
                f"server does not answer ({self.problems[0]})"
            )
        return "no model can be called: " + "; ".join(self.problems)


async def usable_model(router: Router, model: str | None = None) -> Usable:
    """The chosen model (``model``, else the default) if it can be called, else the first
    fallback that can (fallbacks only when no model was named). An unknown chosen model
    raises UnknownModel, which names the known ones; an unknown fallback is a problem."""
    from providers.errors import UnknownModel

    settings = router.settings
    chosen = model or settings.default_model
    names = [chosen, *(settings.fallbacks if model is None else ())]
    problems: list[str] = []
    for n, name in enumerate(names):
        try:
            spec = router.resolve(name)
        except UnknownModel as exc:
            if n == 0:
                raise
            problems.append(str(exc))
            continue
        problem = router.key_problem(spec)
        if problem is None and spec.provider == "compatible":
            problem = await router.reachable(spec.server or "ollama")
        if problem is None:
            return Usable(spec.name, chosen is None)
        problems.append(f"{spec.name}: {problem}")
    return Usable(None, chosen is None, tuple(problems))
