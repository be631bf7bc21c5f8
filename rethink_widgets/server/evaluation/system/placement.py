"""Shards and replicas: the `shards`, `replicas`, `primary_replica_tag` and `nonvoting_replica_tags` optargs of
`table_create` and `reconfigure`, read and checked as RethinkDB does against this cluster of one server.

The server carries the one server tag `default`, so a table may have any number of shards (up to 32), each with
this server as its single replica.
"""

from __future__ import annotations

from typing import Any

from rethink_widgets.server.errors import ReqlOpFailedError, ReqlQueryLogicError
from rethink_widgets.server.evaluation import datums
from rethink_widgets.server.evaluation.context import Context, integral
from rethink_widgets.server.evaluation.system.catalog import check_name
from rethink_widgets.server.evaluation.terms import Term

DEFAULT_TAG = "default"
MAX_SHARDS = 32
SERVERS_BY_TAG = {DEFAULT_TAG: 1}


def shard_count(ctx: Context, term: Term, required: bool) -> int:
    """The number of shards the optargs ask for (1 when they may be left out), once the placement is checked."""
    shards = _required(ctx, term, "shards") if required else ctx.optarg(term, "shards", 1)
    shards = integral(_number(shards))
    if shards <= 0:
        raise ReqlQueryLogicError("Every table must have at least one shard.")
    replicas, nonvoting, primary = _replicas(ctx, term, required)
    _check(shards, replicas, nonvoting, primary)
    return shards


def _required(ctx: Context, term: Term, name: str) -> Any:
    if name not in term.optargs:
        raise ReqlQueryLogicError(f"Missing required argument `{name}`.")
    return ctx.datum(term.optargs[name])


def _number(value: Any) -> int | float:
    if not datums.is_number(value):
        raise ReqlQueryLogicError(f"Expected type NUMBER but found {datums.type_name(value)}.")
    return value


def _replicas(ctx: Context, term: Term, required: bool) -> tuple[dict[str, int], set[str], str]:
    """Replicas per server tag, the tags whose replicas do not vote, and the tag of the primary replicas."""
    primary_given = "primary_replica_tag" in term.optargs
    nonvoting_given = "nonvoting_replica_tags" in term.optargs
    primary = _tag(ctx.string(term.optargs["primary_replica_tag"])) if primary_given else DEFAULT_TAG
    replicas: dict[str, int] = {DEFAULT_TAG: 1}
    value = _required(ctx, term, "replicas") if required or "replicas" in term.optargs else None
    if isinstance(value, dict):
        if not primary_given:
            raise ReqlQueryLogicError("`primary_replica_tag` must be specified when `replicas` is an OBJECT.")
        replicas = {_tag(tag): _count(count) for tag, count in value.items()}
    elif datums.is_number(value):
        if primary_given:
            raise ReqlQueryLogicError("`replicas` must be an OBJECT if `primary_replica_tag` is specified.")
        if nonvoting_given:
            raise ReqlQueryLogicError("`replicas` must be an OBJECT if `nonvoting_replica_tags` is specified.")
        replicas = {DEFAULT_TAG: _count(value)}
    elif value is not None:
        raise ReqlQueryLogicError(
            f"Expected type OBJECT or NUMBER but found {datums.type_name(value)}:\n{datums.printed(value)}"
        )
    nonvoting = set()
    if nonvoting_given:
        tags = ctx.datum(term.optargs["nonvoting_replica_tags"])
        if not isinstance(tags, list):
            raise ReqlQueryLogicError(
                f"Expected type ARRAY but found {datums.type_name(tags)}:\n{datums.printed(tags)}"
            )
        for tag in tags:
            if not isinstance(tag, str):
                raise ReqlQueryLogicError(
                    f"Expected type STRING but found {datums.type_name(tag)}:\n{datums.printed(tag)}"
                )
            nonvoting.add(_tag(tag))
    return replicas, nonvoting, primary


def _tag(name: str) -> str:
    return check_name("Server tag", name)


def _count(value: Any) -> int:
    count = integral(_number(value))
    if count < 0:
        raise ReqlQueryLogicError("Can't have a negative number of replicas")
    return count


def _check(shards: int, replicas: dict[str, int], nonvoting: set[str], primary: str) -> None:
    if sum(replicas.values()) == 0:
        raise ReqlOpFailedError(
            "You must set `replicas` to at least one. `replicas` includes the primary replica; if there are zero "
            "replicas, there is nowhere to put the data."
        )
    if shards > MAX_SHARDS:
        raise ReqlOpFailedError(f"Maximum number of shards is {MAX_SHARDS}.")
    if not replicas.get(primary):
        raise ReqlOpFailedError(
            f"Can't use server tag `{primary}` for primary replicas because you specified no replicas in server tag "
            f"`{primary}`."
        )
    for tag in sorted(nonvoting):
        if tag not in replicas:
            raise ReqlOpFailedError(
                f"You specified that the replicas in server tag `{tag}` should be non-voting, but you didn't specify "
                f"a number of replicas in server tag `{tag}`."
            )
    for tag, count in sorted(replicas.items()):
        servers = SERVERS_BY_TAG.get(tag, 0)
        if count > servers:
            raise ReqlOpFailedError(
                f"Can't put {count} replicas on servers with the tag `{tag}` because there are only {servers} servers "
                f"with the tag `{tag}`. It's impossible to have more replicas of the data than there are servers."
            )
