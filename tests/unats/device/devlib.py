"""Helpers for device scripts that also run on CPython (where gc has no heap figures)."""

import gc


def heap():
    """(bytes in use, bytes free) after a collection; (-1, -1) on CPython."""
    gc.collect()
    try:
        return gc.mem_alloc(), gc.mem_free()
    except AttributeError:
        return -1, -1
