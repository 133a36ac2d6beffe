"""Reader for the nats-server configuration file syntax: text or files in, nested ConfigMaps out.

`lexer` owns the syntax, `parser` variables, includes and file reading, `units` sizes and durations,
`locate` the line an error about a parsed block is reported at.
"""

from .locate import locate_message
from .model import ConfigError, ConfigMap, Position
from .parser import load_config, parse_config_text

__all__ = ["ConfigError", "ConfigMap", "Position", "load_config", "locate_message", "parse_config_text"]
