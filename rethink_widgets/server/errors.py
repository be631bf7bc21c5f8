"""ReQL errors as the server reports them: a response type, an error type and a message.

Every error that reaches a client is a `ReqlError`. Evaluation raises the subclass matching RethinkDB's
classification; the protocol layer turns it into a response frame (`t`, `e`, `r`, `b`).
"""

from __future__ import annotations

from rethinkdb.ql2_pb2 import Response

RESPONSE = Response.ResponseType
ERROR_TYPE = Response.ErrorType


class ReqlError(Exception):
    """Base of every error sent to a client."""

    response_type: int = RESPONSE.RUNTIME_ERROR
    error_type: int | None = None

    def __init__(self, message: str, backtrace: list[int | str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        # Path from the query's root term to the failing term, root first.
        self.backtrace: list[int | str] = backtrace if backtrace is not None else []


class ReqlClientError(ReqlError):
    """The client broke the protocol (unknown token, bad query shape)."""

    response_type = RESPONSE.CLIENT_ERROR


class ReqlTokenError(ReqlClientError):
    """A token the connection does not hold (CONTINUE, STOP), or holds already (START): RethinkDB's query cache calls
    these logic errors."""

    error_type = ERROR_TYPE.QUERY_LOGIC


class ReqlCompileError(ReqlError):
    """The query is malformed: wrong arity, unknown term, bad optarg, misplaced r.row."""

    response_type = RESPONSE.COMPILE_ERROR


class ReqlRuntimeError(ReqlError):
    """A well-formed query failed while it ran."""

    response_type = RESPONSE.RUNTIME_ERROR
    error_type = None


class ReqlInternalError(ReqlRuntimeError):
    error_type = ERROR_TYPE.INTERNAL


class ReqlResourceLimitError(ReqlRuntimeError):
    error_type = ERROR_TYPE.RESOURCE_LIMIT


class ReqlQueryLogicError(ReqlRuntimeError):
    error_type = ERROR_TYPE.QUERY_LOGIC


class ReqlNonExistenceError(ReqlQueryLogicError):
    error_type = ERROR_TYPE.NON_EXISTENCE


class ReqlOpFailedError(ReqlRuntimeError):
    error_type = ERROR_TYPE.OP_FAILED


class ReqlOpIndeterminateError(ReqlRuntimeError):
    error_type = ERROR_TYPE.OP_INDETERMINATE


class ReqlUserError(ReqlRuntimeError):
    """Raised by `r.error()`."""

    error_type = ERROR_TYPE.USER


class EmptyError(ReqlQueryLogicError):
    """`r.error()` without a message: where a missing value is being defaulted, it re-raises that error."""

    def __init__(self) -> None:
        super().__init__("Empty ERROR term outside a default block.")


class ReqlPermissionError(ReqlRuntimeError):
    error_type = ERROR_TYPE.PERMISSION_ERROR
