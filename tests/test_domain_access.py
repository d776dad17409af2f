"""The rules of groups and filters (domain.access), which every engine's filtering is checked against."""
from __future__ import annotations

import pytest

from domain.access import (PUBLIC, FilterError, Scope, admits, field_values, parse_groups, parse_where,
                           parse_where_args, prefix_successor)
from domain.keys import ApiKey, issue_key, token_digest


def test_groups_are_names_sorted_without_repeats():
    assert parse_groups("hr, legal,hr") == ("hr", "legal")
    assert parse_groups(["b", "a"]) == ("a", "b")
    for bad in ["", "a b", "-x", "x" * 65, ["g"] * 0, [f"g{i}" for i in range(33)], 7, {"a": 1}, ["ok", 3]]:
        with pytest.raises(FilterError):
            parse_groups(bad)


@pytest.mark.parametrize("where, message", [
    ({"x": {"between": 1}}, "unknown operator"), ({"x": {}}, "empty operator"), ({"x": None}, "not a string"),
    ({"x": {"gte": "soon"}}, "ISO 8601"), ({"x": {"gte": 1, "lte": "2024-01-01"}}, "both of one kind"),
    ({"x": {"prefix": 3}}, "prefix"), ({"x": {"prefix": "a", "gte": 1}}, "cannot be combined"),
    ({"title": {"gte": 1}}, "title is text"), ({"source": 5}, "source is text"), ({"x": []}, "list of 1"),
    ({"x": 2 ** 64}, "64 bits"), ({"x": "\ud800"}, "not a string"), ({"a b": 1}, "cannot be filtered"),
    ({f"k{i}": 1 for i in range(17)}, "at most 16"), ("lang=en", "object"),
])
def test_a_filter_that_cannot_be_used_says_why(where, message):
    with pytest.raises(FilterError, match=message):
        parse_where(where)


def test_command_line_filters_read_numbers_booleans_ranges_and_prefixes():
    conditions = parse_where_args(["lang=en", "lang=de", "year>=2020", "year<=2024", "draft=true", "source^=hr/",
                                   "title=2024"])
    by_field = {c.field: c for c in conditions}
    assert by_field["lang"].values == ("en", "de")
    assert (by_field["year"].low, by_field["year"].high) == (2020.0, 2024.0)
    assert by_field["draft"].values == (True,)
    assert by_field["source"].prefix == "hr/"
    assert by_field["title"].values == ("2024",)  # document fields are text
    with pytest.raises(FilterError, match="expected key=value"):
        parse_where_args(["lang"])


def test_prefix_successor_bounds_exactly_the_strings_with_the_prefix():
    assert prefix_successor("hr/") == "hr0"
    assert prefix_successor("a\U0010ffff") == "b"
    assert prefix_successor("\U0010ffff") is None
    assert prefix_successor("x\ud7ff") == "x\ue000"  # no surrogates in between
    for value in ["hr/", "hr/a", "hr/\U0010ffff", "hr0", "hr.", "hr"]:
        assert value.startswith("hr/") == ("hr/" <= value < "hr0")


def test_admits_follows_the_documented_rules():
    metadata = {"lang": "en", "year": 2021, "tags": ["a", 7, True], "draft": True, "date": "2024-02-01T09:30:00",
                "nested": {"x": 1}, "bad key!": "v"}

    def sees(where: dict, groups=("public",)) -> bool:
        return admits(Scope(frozenset({PUBLIC})).narrowed(parse_where(where)), groups, "docs/a.md", "Alpha", metadata)

    assert sees({"lang": "en"}) and not sees({"lang": "de"}) and sees({"lang": ["de", "en"]})
    assert sees({"year": 2021.0}) and not sees({"year": "2021"})
    assert sees({"tags": 7}) and sees({"tags": "a"}) and sees({"tags": True}) and not sees({"tags": 1})
    assert sees({"draft": True}) and not sees({"draft": 1})  # a boolean never equals a number
    assert not sees({"tags": {"prefix": "a"}}) and not sees({"tags": {"gte": 0}})  # lists: equality only
    assert sees({"date": {"gte": "2024-02-01", "lte": "2024-02-01"}})  # a date-only lte takes the whole day
    assert not sees({"date": {"lte": "2024-01-31"}}) and sees({"date": {"prefix": "2024-02"}})
    assert sees({"source": {"prefix": "docs/"}}) and sees({"title": "Alpha"}) and not sees({"nested": 1})
    assert not sees({"lang": "en"}, groups=("hr",))
    assert admits(Scope(), ("hr",), "s", "t", {})
    assert ("bad key!", "s", False, "v") not in field_values("s", "t", metadata)


def test_keys_are_issued_with_a_fresh_token_and_stored_as_its_digest():
    stored = {}

    class Store:
        def add(self, key: ApiKey, digest: str) -> None:
            stored[digest] = key

    key, token = issue_key(Store(), "widget", "support,help")
    assert stored == {token_digest(token): key} and key.groups == ("help", "support") and not key.write
    assert key.scope == Scope(frozenset({"help", "support", PUBLIC}))
    assert issue_key(Store(), "widget2", "x")[1] != token
    for name, groups in [("bad name", "x"), ("ok", "")]:
        with pytest.raises(ValueError):
            issue_key(Store(), name, groups)


def test_source_and_title_always_name_the_documents_own_fields():
    metadata = {"source": "crm", "title": "Other"}
    scope = Scope().narrowed(parse_where({"source": "crm"}))
    assert not admits(scope, ("public",), "docs/a.md", "Alpha", metadata)
    assert admits(Scope().narrowed(parse_where({"title": "Alpha"})), ("public",), "docs/a.md", "Alpha", metadata)
