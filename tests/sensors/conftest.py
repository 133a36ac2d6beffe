"""Fixtures for the sensor service's tests: service processes started from a config, each stopped at
teardown by its pid."""

from __future__ import annotations

import pytest
from sensors_process import SensorService


@pytest.fixture
def sensor_service(tmp_path):
    started: list[SensorService] = []

    def start(config: dict) -> SensorService:
        service = SensorService(tmp_path / f"sensors-{len(started)}", config)
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()
