"""Checking a config, and the trust gate in front of everything that runs project code.

`Project` inherits these: the quick check (torch-free, no project code, no trust needed);
the full check, which imports `custom.py` and the modules a config names; and the gate that
launch, sweep and resume pass first, so an untrusted project — or a `project.custom`
outside it that was not trusted as it is — is refused before any of its code runs, for the
CLI and the UI alike (see `core.trust`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from autotrain_tui.core import launcher, trust
from autotrain_tui.core.errors import InvalidConfigError, ManagerError
from autotrain_tui.core.runs import RunRecord


class ConfigGate:
    """Config checks and the trust gate, over a project's root and its recipe."""

    root: Path
    python: str
    recipe_module: str

    def _config_path(self, config: Path | str) -> Path:
        """CONFIG as given: a path (absolute, or from the project), or a name in configs/."""
        path = Path(config)
        configs = self.root / "configs"
        candidates = [path] if path.is_absolute() else [self.root / path, configs / path]
        if not path.is_absolute() and not path.suffix:
            candidates.append(configs / f"{path}.yaml")
        for candidate in candidates:
            if candidate.is_file():
                return candidate.resolve()
        raise ManagerError(f"config not found: {config}")

    def check_config(self, config: Path | str, overrides: Sequence[str] = ()) -> None:
        """Validate with `python -m recipe check`; InvalidConfigError carries its messages.

        The full check imports the project's code, so it needs trust first
        (UntrustedProjectError otherwise, before anything runs).
        """
        path = self._config_path(config)
        self._require_trust("checking", path, [self._with_overrides(path, overrides)])
        launcher.check_config(self.python, self.recipe_module, self.root, path, overrides)

    def quick_check(self, config: Path | str, overrides: Sequence[str] = ()) -> None:
        """The torch-free check (YAML, schema, names custom.py registers, read without running
        it): no project code runs, so it needs no trust. InvalidConfigError with its lines."""
        from recipe.config import check_text  # torch-free by contract (tests check it)

        path = self._config_path(config)
        shown = launcher.display_path(path, self.root)
        text = self._with_overrides(path, ())
        problems = check_text(text, shown, list(overrides), project_dir=str(self.root))
        if problems:
            raise InvalidConfigError(shown, [str(p) for p in problems])

    @property
    def trusted(self) -> bool:
        """Whether the user has trusted this project's code to run (see `core.trust`)."""
        return trust.is_trusted(self.root)

    def _require_trust(self, action: str, config: Path, texts: Iterable[str]) -> None:
        """Refuse, before anything imports project code, an untrusted project and a
        `project.custom` outside the project that was not trusted as it is now."""
        shown = launcher.display_path(config, self.root)
        trust.require_trusted(self.root, f"{action} {shown}")
        for text in texts:
            trust.require_custom_trusted(self.root, shown, text)

    def _with_overrides(self, path: Path, overrides: Sequence[str]) -> str:
        """The config's text with the overrides applied, as the run would get it."""
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            line = raw.count(b"\n", 0, error.start) + 1
            column = error.start - raw.rfind(b"\n", 0, error.start)
            shown = launcher.display_path(path, self.root)
            message = f"{shown}:{line}:{column}: not UTF-8 text; save the file as UTF-8"
            raise InvalidConfigError(shown, [message]) from error
        return launcher.apply_overrides(self.recipe_module, text, overrides)

    def _require_resume_trust(self, record: RunRecord) -> None:
        """A resumed run imports the code its config names, like a launch."""
        try:
            text = record.config_yaml.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = ""  # the recipe reports the missing config itself; trust is still needed
        self._require_trust("resuming", record.run_dir, [text])
