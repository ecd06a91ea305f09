"""Errors as confluent-kafka has them: `KafkaException` carrying a `KafkaError`.

`KafkaError` codes are Kafka's protocol error codes (positive) and librdkafka's local
codes (negative, named with a leading underscore), so code written against
confluent-kafka's constants (`KafkaError._PARTITION_EOF`, `KafkaError.UNKNOWN_TOPIC_OR_PART`)
works unchanged. Every Kafka code is also available under its Kafka name
(`KafkaError.UNKNOWN_TOPIC_OR_PARTITION`).
"""

from typing import Dict, Optional

from . import _native

# librdkafka's local (client-side) error codes.
_LOCAL_CODES = {
    "_BAD_MSG": -199,
    "_BAD_COMPRESSION": -198,
    "_DESTROY": -197,
    "_FAIL": -196,
    "_TRANSPORT": -195,
    "_RESOLVE": -193,
    "_MSG_TIMED_OUT": -192,
    "_PARTITION_EOF": -191,
    "_UNKNOWN_PARTITION": -190,
    "_UNKNOWN_TOPIC": -188,
    "_ALL_BROKERS_DOWN": -187,
    "_INVALID_ARG": -186,
    "_TIMED_OUT": -185,
    "_QUEUE_FULL": -184,
    "_STATE": -172,
    "_NOT_IMPLEMENTED": -170,
    "_NO_OFFSET": -168,
    "_UNSUPPORTED_FEATURE": -165,
    "_PURGE_QUEUE": -152,
    "_PURGE_INFLIGHT": -151,
    "_FATAL": -150,
    "_FENCED": -144,
    "_ASSIGNMENT_LOST": -142,
    "_AUTO_OFFSET_RESET": -140,
}

# Where librdkafka names a Kafka code differently, its name is the one `name()` gives.
_LIBRDKAFKA_NAMES = {
    -1: "UNKNOWN",
    0: "NO_ERROR",
    2: "INVALID_MSG",
    3: "UNKNOWN_TOPIC_OR_PART",
    4: "INVALID_MSG_SIZE",
    6: "NOT_LEADER_FOR_PARTITION",
    10: "MSG_SIZE_TOO_LARGE",
    11: "STALE_CTRL_EPOCH",
    17: "TOPIC_EXCEPTION",
}

_NAMES: Dict[int, str] = {}
_DESCRIPTIONS: Dict[int, str] = {}
_RETRIABLE = set()
for _code, _name, _retriable, _description in _native.error_codes():
    _NAMES[_code] = _LIBRDKAFKA_NAMES.get(_code, _name)
    _DESCRIPTIONS[_code] = _description
    if _retriable:
        _RETRIABLE.add(_code)
for _name, _code in _LOCAL_CODES.items():
    _NAMES[_code] = _name


class KafkaError:
    """An error: `code()` (int), `name()` (str), `str()` (the reason), whether it is
    `retriable()` or `fatal()`. Instances compare equal to their code, as
    confluent-kafka's do (`err == KafkaError._PARTITION_EOF`)."""

    def __init__(self, error: int, reason: Optional[str] = None, fatal: bool = False,
                 retriable: Optional[bool] = None, txn_requires_abort: bool = False):
        self._code = int(error)
        self._reason = reason if reason is not None else _DESCRIPTIONS.get(self._code, self.name())
        self._fatal = bool(fatal)
        self._retriable = self._code in _RETRIABLE if retriable is None else bool(retriable)
        self._txn_requires_abort = bool(txn_requires_abort)

    def code(self) -> int:
        return self._code

    def name(self) -> str:
        return _NAMES.get(self._code, f"ERR_{self._code}")

    def str(self) -> str:
        return self._reason

    def fatal(self) -> bool:
        return self._fatal

    def retriable(self) -> bool:
        return self._retriable

    def txn_requires_abort(self) -> bool:
        return self._txn_requires_abort

    def __eq__(self, other):
        if isinstance(other, KafkaError):
            return self._code == other._code
        if isinstance(other, int):
            return self._code == other
        return NotImplemented

    def __hash__(self):
        return hash(self._code)

    def __str__(self):
        return self._reason

    def __repr__(self):
        return f"KafkaError{{code={self.name()},val={self._code},str=\"{self._reason}\"}}"


for _code, _name in _NAMES.items():
    setattr(KafkaError, _name, _code)
for _code, _name, _retriable, _description in _native.error_codes():
    setattr(KafkaError, _name, _code)


class KafkaException(Exception):
    """Raised by tidelog's clients; `args[0]` is the `KafkaError`."""

    def __init__(self, *args, **kwargs):
        if args and isinstance(args[0], int) and not isinstance(args[0], bool):
            args = (KafkaError(args[0], *args[1:], **kwargs),)
        super().__init__(*args)

    @property
    def error(self) -> Optional[KafkaError]:
        return self.args[0] if self.args and isinstance(self.args[0], KafkaError) else None

    def __str__(self):
        error = self.error
        return f"{error.name()}: {error.str()}" if error is not None else super().__str__()
