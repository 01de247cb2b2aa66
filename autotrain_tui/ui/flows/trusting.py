"""Project trust in the UI: nothing imports a project's code until its user trusts it.

Untrusted, the editor runs only the torch-free quick check (its status says so, `T` to
trust); launching and resuming ask first. The prompt names the project and what would run:
its custom.py and the modules its configs name (`_target_: package.module.Name`).
Trusting is remembered by `autotrain_tui.core.trust`, outside the project.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from textual import work

from autotrain_tui.core import trust
from autotrain_tui.core.errors import ManagerError
from autotrain_tui.ui.flows.base import AppBase

_DOTTED_TARGET = re.compile(r"^\s*-?\s*_target_:\s*['\"]?([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)+)", re.M)


def code_that_would_run(custom_py: Path, configs: list[Path]) -> tuple[Path | None, list[str]]:
    """The project's custom.py (if any) and the modules its configs name, sorted."""
    modules: set[str] = set()
    for config in configs:
        try:
            text = config.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        modules.update(m.rsplit(".", 1)[0] for m in _DOTTED_TARGET.findall(text))
    return (custom_py if custom_py.is_file() else None), sorted(modules)


class TrustFlow(AppBase):
    """`T`, and the question launching and resuming ask of an untrusted project."""

    @property
    def trusted(self) -> bool:
        return trust.is_trusted(self.project.root)

    def trust_question(self, doing: str) -> str:
        custom, modules = code_that_would_run(self.project.custom_py, self.project.list_configs())
        lines = [f"Trust {self.project.root}?", ""]
        lines.append(
            f"{doing[:1].upper()}{doing[1:]} runs this project's code, which nothing has "
            "imported yet:"
        )
        if custom is not None:
            lines.append(f"  • {self._shown(custom)}")
        if modules:
            lines.append(f"  • modules its configs name: {', '.join(modules)}")
        lines += [
            "",
            "Trust it once you have read that code. The quick check (no project code) runs "
            f"either way. Remembered in {trust.trust_file()}.",
        ]
        return "\n".join(lines)

    async def ensure_trusted(self, doing: str) -> bool:
        """True when the project is trusted, asking first (the trust prompt) when not."""
        from autotrain_tui.ui.screens.trust import TrustScreen

        if await asyncio.to_thread(trust.is_trusted, self.project.root):
            return True
        if not await self.push_screen_wait(TrustScreen(self.trust_question(doing))):
            self.notify(
                f"not {doing}: {self.project.root} is not trusted (T to trust it)",
                severity="warning",
            )
            return False
        return await self._trust()

    async def _trust(self) -> bool:
        try:
            await asyncio.to_thread(trust.trust_project, self.project.root)
        except ManagerError as error:
            self.notify(str(error), severity="error", timeout=10)
            return False
        self.notify(f"trusted {self.project.root}: its code may run", timeout=4)
        if self.query("#editor"):
            self.editor.recheck()  # the full check, now allowed
        return True

    def action_trust(self) -> None:
        self._trust_prompt()

    @work(group="trust", exclusive=True, name="trust prompt", exit_on_error=False)
    async def _trust_prompt(self) -> None:
        from autotrain_tui.ui.screens.trust import TrustScreen

        if await asyncio.to_thread(trust.is_trusted, self.project.root):
            self.notify(f"{self.project.root} is already trusted")
            return
        if await self.push_screen_wait(TrustScreen(self.trust_question("checking or launching"))):
            await self._trust()
