"""Fixtures shared by the emulated edge node's tests: the wheels the guest installs from."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from vm import ROOT


@pytest.fixture(scope="session")
def wheels(tmp_path_factory) -> Path:
    """The wheels `scripts/wheels` builds for the guest (the deployment guide's command, with its default
    extras `sensors,serial`: the site's sensor service and serial bridge install from them too), edgenats
    from this checkout: the guest has no network, so everything it installs is copied in."""
    out = tmp_path_factory.mktemp("wheels")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "wheels"), str(out)], check=True, capture_output=True)
    return out
