"""`apply_overrides_to_text` for the stand-in: appends `# key=value` and a flat mapping."""

from __future__ import annotations


def apply_overrides_to_text(text: str, overrides: list[str]) -> str:
    lines = [text.rstrip("\n"), "standin_overrides:"]
    lines += [
        f"  {key.strip()}: {value.strip()!r}"
        for key, _, value in (item.partition("=") for item in overrides)
    ]
    return "\n".join(lines) + "\n"
