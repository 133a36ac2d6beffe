"""Duration settings of auth config, read with the config package's Go-duration parser."""

from edgenats.conf.units import parse_duration

from .errors import AuthConfigError


def seconds_from_config(value: object, what: str) -> float:
    """Seconds from an int/float or a Go duration string ("2m", "1m30s"); `what` names the setting."""
    try:
        return parse_duration(value)  # type: ignore[arg-type]
    except ValueError as error:
        raise AuthConfigError(f"{what}: {error}") from None
