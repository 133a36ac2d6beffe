"""The auth package's one exception: a configuration the broker must refuse to start with."""


class AuthConfigError(ValueError):
    """An `authorization`/`accounts`/permissions block with a wrong shape or conflicting settings.

    The message names the block and what is wrong, e.g.
    "authorization: token and users cannot be combined".
    """
