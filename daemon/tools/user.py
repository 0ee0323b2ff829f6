"""ask_user: a question for the user when the model cannot go on without an answer."""

from __future__ import annotations

from pydantic import Field

from daemon.tools.base import Args, Tool, ToolContext, ToolError


class AskUserArgs(Args):
    question: str = Field(min_length=1)
    options: list[str] = Field(default_factory=list, description="Suggested answers, if any.")


class AskUser(Tool):
    name = "ask_user"
    description = "Ask the user a question and wait for the answer."
    Arguments = AskUserArgs
    read_only = False  # it waits on a person: never run alongside other tools

    async def run(self, args: AskUserArgs, ctx: ToolContext) -> str:
        if ctx.ask_user is None:
            raise ToolError("no one can answer questions in this session; decide yourself")
        answer = await ctx.ask_user(args.question, args.options)
        return answer or "(the user gave no answer)"
