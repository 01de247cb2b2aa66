"""The config layer: parse, override, interpolate, validate — with no torch import.

`load_config(path, overrides)` gives a `ValidatedConfig` or raises `ConfigError` whose
`problems` are `FILE:LINE:COL: message` lines. `check_text` is the as-you-type entry point
for the UI; `apply_overrides_to_text` writes a config as launched, comments kept.
"""

from recipe.config.errors import ConfigError, Position, Problem
from recipe.config.overrides import apply_overrides_to_text, parse_overrides
from recipe.config.schema import SCHEMA, TARGET_KEY, defaults
from recipe.config.slurm import slurm_options
from recipe.config.source import ConfigSource, parse_config_text, read_config
from recipe.config.validate import ValidatedConfig, check_source, check_text, load_config

__all__ = [
    "SCHEMA",
    "TARGET_KEY",
    "ConfigError",
    "ConfigSource",
    "Position",
    "Problem",
    "ValidatedConfig",
    "apply_overrides_to_text",
    "check_source",
    "check_text",
    "defaults",
    "load_config",
    "parse_config_text",
    "parse_overrides",
    "read_config",
    "slurm_options",
]
