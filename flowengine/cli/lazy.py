"""A command group whose sub-commands are imported only when one of them runs.

`flowengine run` should not pay for the management API's client (httpx), the
dead-letter tools, the flow test runner or the language server: importing them
all made up a third of start-up (docs/performance.md). A `LazyGroup` subclass
names such commands in `lazy`, each as "module:attribute" (a command function, or
a `typer.Typer` for a group such as `dlq`); the module is imported when the
command is invoked, or when `--help` or a misspelt name needs them all.
"""

from __future__ import annotations

from typing import ClassVar

import typer
from typer import _click  # typer vendors click: the types its group methods take
from typer.core import TyperGroup
from typer.main import get_group

from flowengine.core.targets import resolve


class LazyGroup(TyperGroup):
    lazy: ClassVar[dict[str, str]] = {}  # command name -> "module:attribute", in the order --help lists them

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return [*(n for n in self.commands if n not in self.lazy), *self.lazy]

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        if cmd_name in self.lazy:
            if cmd_name not in self.commands:
                self.commands[cmd_name] = _load(cmd_name, self.lazy[cmd_name])
        elif cmd_name not in self.commands:
            for name in self.lazy:  # a misspelt command: typer's "did you mean" looks among all of them
                self.get_command(ctx, name)
        return super().get_command(ctx, cmd_name)


def _load(name: str, target: str) -> _click.Command:
    found = resolve(target)
    holder = typer.Typer()
    if isinstance(found, typer.Typer):
        holder.add_typer(found, name=name)
    else:
        holder.command(name=name)(found)
    return get_group(holder).commands[name]
