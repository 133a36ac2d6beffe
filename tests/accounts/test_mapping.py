"""Import subject mappings and the subject-set relations the import checks rely on."""

from __future__ import annotations

import pytest
from edgenats.mapping import SubjectMapping
from edgenats.subjects import subject_is_subset, subjects_overlap


@pytest.mark.parametrize("source, destination, subject, mapped", [
    ("a.>", "from_a.a.>", "a.b.c", "from_a.a.b.c"),
    ("metrics.*.cpu", "cpu.*", "metrics.n7.cpu", "cpu.n7"),
    ("a.*.*", "b.$2.$1", "a.x.y", "b.y.x"),
    ("a.*.*", "b.{{wildcard(2)}}.{{wildcard(1)}}", "a.x.y", "b.y.x"),
    ("local.svc.>", "svc.>", "local.svc.lookup.one", "svc.lookup.one"),
    ("local.*", "svc.fixed", "local.anything", "svc.fixed"),
])
def test_mapping_rewrites_subjects(source, destination, subject, mapped):
    assert SubjectMapping(source, destination, use_all_wildcards=False).apply(subject) == mapped


@pytest.mark.parametrize("source, destination, use_all, fragment", [
    ("a.*", "x", True, "does not use all"),
    ("a.*", "x.>", False, "uses '>'"),
    ("x", "a.*", False, "refers to wildcard 1"),
    ("a.*", "b.$2", False, "refers to wildcard 2"),
    ("a.*", "b.{{partition(3,1)}}", False, "not supported"),
])
def test_unusable_mappings_are_refused(source, destination, use_all, fragment):
    with pytest.raises(ValueError, match=fragment):
        SubjectMapping(source, destination, use_all_wildcards=use_all)


@pytest.mark.parametrize("narrow, wide, expected", [
    ("a.b", "a.>", True), ("a.*", "a.>", True), ("a.>", "a.>", True), ("a.>", "a.*", False),
    ("a.>", "a.b", False), ("a.*", "a.b", False), ("a.b.c", "a.*.c", True), ("a", "a.>", False),
])
def test_subject_is_subset(narrow, wide, expected):
    assert subject_is_subset(narrow, wide) is expected


@pytest.mark.parametrize("first, second, expected", [
    ("a.>", "a.b", True), ("a.*", "*.b", True), ("a.b", "a.c", False), ("a", "a.>", False),
    (">", "x.y", True), ("a.*", "a.b.c", False), ("fromb.>", ">", True), ("b.>", "a.>", False),
])
def test_subjects_overlap(first, second, expected):
    assert subjects_overlap(first, second) is expected
    assert subjects_overlap(second, first) is expected
