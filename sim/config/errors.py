"""The one error type of configuration files."""

from __future__ import annotations

from sim.config.files import BadInput


class ConfigError(BadInput):
    """Bad input in a configuration file: every problem found, each naming its file and field."""
