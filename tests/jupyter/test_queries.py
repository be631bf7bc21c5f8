"""Reading a query's table and shape from the driver's query tree."""

from __future__ import annotations

import pytest
from rethinkdb import RethinkDB

from rethink_widgets.jupyter.queries import describe, filter_fields

r = RethinkDB()


def test_tables_and_selections_are_editable() -> None:
    info = describe(r.db("shop").table("orders").filter({"paid": True}).between(1, 5))
    assert (info.table, info.db, info.editable, info.ordered_limit) == ("orders", "shop", True, False)
    assert info.name("test") == "shop.orders"
    assert describe(r.table("t")).name("mine") == "mine.t"
    assert describe(r.table("t").get(1)).point
    near = r.table("places").get_intersecting(r.circle([0, 0], 1000), index="at").filter({"open": True})
    assert describe(near).editable


def test_transformed_rows_are_not_editable() -> None:
    assert not describe(r.table("t").map(r.row["a"])).editable
    assert not describe(r.table("t").pluck("a")).editable
    assert describe(r.table("t").pluck("a")).table == "t"


def test_ordered_limit() -> None:
    assert describe(r.table("t").order_by(index="score").limit(3)).ordered_limit
    assert not describe(r.table("t").limit(3)).ordered_limit
    # Row steps between order_by and limit, and filters after the limit, are carried into the limit feed.
    assert describe(r.table("t").order_by(index="score").pluck("id", "score").limit(3)).ordered_limit
    assert describe(r.table("t").order_by(index="score").limit(3).filter({"a": 1})).ordered_limit
    assert not describe(r.table("t").pluck("id").limit(3)).ordered_limit
    assert not describe(r.table("t").order_by(index="score").limit(3).pluck("id")).ordered_limit


def test_not_a_query() -> None:
    with pytest.raises(TypeError, match="expected a ReQL query"):
        describe("todo")
    assert describe(r.expr([1, 2])).name("test") == "query"


def test_filter_fields_are_the_literal_objects_filtered_on() -> None:
    query = r.table("t").filter({"list": "work", "tags": ["a", 1], "owner": {"name": "ann"}}).between(1, 5)
    assert filter_fields(query) == {"list": "work", "tags": ["a", 1], "owner": {"name": "ann"}}
    assert filter_fields(r.table("t").filter({"due": r.now()})) == {}  # not a literal: nothing a row can carry
    assert filter_fields(r.table("t").filter(r.row["list"] == "work")) == {}
    assert filter_fields(r.table("t")) == {}
