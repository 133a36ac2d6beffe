"""A scoped signing key's template filled in: one subject per combination of tag values, an allow entry
that comes out invalid left out (an allow list left empty denies everything), an invalid deny entry
refused."""

from __future__ import annotations

import pytest
from edgenats.auth.template import TemplateError, apply_template

VALUES = {"name": "dev7", "subject": "UKEY", "account-name": "plant", "account-subject": "AKEY",
          "tags": ["zone:north", "zone:south", "line:a"], "account-tags": ["site:lyon"]}


def test_functions_and_every_combination_of_tag_values():
    filled = apply_template(["{{account-tag(site)}}.{{tag(zone)}}.{{tag(line)}}.{{name()}}", "id.{{subject()}}"],
                            ["x.{{account-subject()}}.{{account-name()}}"], VALUES)
    assert filled == {"allow": ["lyon.north.a.dev7", "lyon.south.a.dev7", "id.UKEY"], "deny": ["x.AKEY.plant"]}


def test_invalid_allow_entries_are_left_out_and_an_emptied_list_denies_all():
    assert apply_template(["a.{{tag(missing)}}", "b.{{nope()}}"], [], VALUES) == {"allow": [], "deny": [">"]}
    assert apply_template(["a.{{tag(missing)}}", "ok"], [], VALUES) == {"allow": ["ok"], "deny": []}


def test_an_invalid_deny_entry_is_refused():
    with pytest.raises(TemplateError):
        apply_template([], ["a.{{tag(missing)}}"], VALUES)
