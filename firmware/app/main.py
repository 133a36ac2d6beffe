"""Runs after boot.py: starts the device app, which lives precompiled in lib/edgeapp.mpy."""

import edgeapp

edgeapp.run()
