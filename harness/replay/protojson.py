"""Proto JSON -> protobuf for the common shape of a history file, several times faster than `json_format`.

`google.protobuf.json_format.ParseDict` looks every field up and re-checks its kind on every value; this
module plans each message type once (JSON key -> what to do with the value) and then only follows the
plan. It takes on only what it can give exactly as `ParseDict(..., ignore_unknown_fields=True)` would, as
`temporalio`'s `WorkflowHistory.from_json` calls it: anything else (an enum name it does not know, such as
the UI's PascalCase ones, a null, an int64 written oddly, a well-known type other than Timestamp and
Duration, too deep a nesting) makes `parse` return None, and the caller goes the SDK's way, which also
gives the error messages.
"""

from __future__ import annotations

import base64
import datetime
import re

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from temporalio.api.history.v1 import History

MAX_DEPTH = 100
"""json_format's own limit: deeper is a ParseError there, so it is left to it."""
TIME_TYPES = frozenset({"google.protobuf.Timestamp", "google.protobuf.Duration"})
SURROGATE = re.compile("[\ud800-\udfff]")
UTC_TIMESTAMP = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?Z", re.ASCII)
"""The form Temporal writes every timestamp in; Timestamp.FromJsonString (strptime) for any other."""
EPOCH = datetime.datetime(1970, 1, 1)
TIMESTAMP_SECONDS = range(-62135596800, 253402300799 + 1)
INT_TYPES = frozenset({
    FieldDescriptor.CPPTYPE_INT32, FieldDescriptor.CPPTYPE_INT64, FieldDescriptor.CPPTYPE_UINT32,
    FieldDescriptor.CPPTYPE_UINT64,
})
MESSAGE, TIME, MAP, INT, DOUBLE, BOOL, STRING, BYTES, ENUM = range(9)


class _Unsupported(Exception):
    """This value is not one `parse` takes on: the caller goes the SDK's way."""


def _kind(field: FieldDescriptor) -> int:
    cpp = field.cpp_type
    if cpp == FieldDescriptor.CPPTYPE_MESSAGE:
        name = field.message_type.full_name
        if field.message_type.GetOptions().map_entry:
            return MAP
        if name in TIME_TYPES:
            return TIME
        return -1 if name.startswith("google.protobuf.") else MESSAGE
    if cpp in INT_TYPES:
        return INT
    if cpp == FieldDescriptor.CPPTYPE_DOUBLE:
        return DOUBLE
    if cpp == FieldDescriptor.CPPTYPE_BOOL:
        return BOOL
    if cpp == FieldDescriptor.CPPTYPE_ENUM:
        return ENUM
    if cpp == FieldDescriptor.CPPTYPE_STRING:
        return BYTES if field.type == FieldDescriptor.TYPE_BYTES else STRING
    return -1  # float32: json_format range-checks it


_plans: dict[str, dict[str, tuple]] = {}


def _plan(descriptor: Descriptor) -> dict[str, tuple]:
    """JSON key (json_name and proto name) -> (attribute, kind, repeated, enum values, oneof, field number)."""
    plan = _plans.get(descriptor.full_name)
    if plan is None:
        steps = {}
        for field in descriptor.fields:
            values = field.enum_type.values_by_name if field.enum_type else None
            oneof = field.containing_oneof.name if field.containing_oneof else None
            steps[field] = (field.name, _kind(field), field.is_repeated, values, oneof, field.number)
        # json_format looks a key up by json_name first, then by proto name
        plan = {field.name: step for field, step in steps.items()} | {field.json_name: step for field, step in steps.items()}
        _plans[descriptor.full_name] = plan
    return plan


def _scalar(kind: int, value, values):
    if kind == STRING:
        if type(value) is not str or (not value.isascii() and SURROGATE.search(value)):
            raise _Unsupported
        return value
    if kind == INT:
        if type(value) is int:
            return value
        if type(value) is str and " " not in value:
            try:
                return int(value)
            except ValueError:
                raise _Unsupported from None
        raise _Unsupported
    if kind == ENUM:
        found = values.get(value) if type(value) is str else None
        if found is None:
            raise _Unsupported
        return found.number
    if kind == BYTES:
        if type(value) is not str:
            raise _Unsupported
        encoded = value.encode("utf-8")
        return base64.urlsafe_b64decode(encoded + b"=" * (4 - len(encoded) % 4))
    if kind == BOOL:
        if type(value) is not bool:
            raise _Unsupported
        return value
    if kind == DOUBLE:
        if type(value) is int or (type(value) is float and value - value == 0):  # finite
            return float(value)
        raise _Unsupported
    raise _Unsupported


def _set_time(message: Message, value: str) -> None:
    """Timestamp.FromJsonString / Duration.FromJsonString, the first without strptime for a UTC timestamp."""
    match = UTC_TIMESTAMP.fullmatch(value) if message.DESCRIPTOR.full_name == "google.protobuf.Timestamp" else None
    if match is None:
        message.FromJsonString(value)
        return
    year, month, day, hour, minute, second, fraction = match.groups()
    since = datetime.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second)) - EPOCH
    seconds = since.seconds + since.days * 86400
    nanos = round(float("0." + fraction) * 1e9) if fraction else 0
    if seconds not in TIMESTAMP_SECONDS or not 0 <= nanos < 1_000_000_000:
        message.FromJsonString(value)  # out of range: its error
        return
    message.seconds, message.nanos = seconds, nanos


def _fill(data, message: Message, depth: int) -> None:
    if type(data) is not dict or depth > MAX_DEPTH:
        raise _Unsupported
    plan = _plan(message.DESCRIPTOR)
    seen: set = set()
    for key, value in data.items():
        step = plan.get(key)
        if step is None:
            if key.startswith("["):  # an extension: json_format's to judge
                raise _Unsupported
            continue  # unknown field: ignored, as with ignore_unknown_fields
        name, kind, repeated, values, oneof, number = step
        if value is None or kind < 0 or number in seen or (oneof is not None and oneof in seen):
            raise _Unsupported
        seen.add(number)
        if oneof is not None:
            seen.add(oneof)
        if kind == MAP:
            _fill_map(value, message, name, depth)
        elif repeated:
            if type(value) is not list:
                raise _Unsupported
            target = getattr(message, name)
            if kind == MESSAGE:
                for item in value:
                    _fill(item, target.add(), depth + 1)
            elif kind == TIME:
                raise _Unsupported
            else:
                target.extend([_scalar(kind, item, values) for item in value])
        elif kind == MESSAGE:
            sub = getattr(message, name)
            sub.SetInParent()
            _fill(value, sub, depth + 1)
        elif kind == TIME:
            if type(value) is not str or depth + 1 > MAX_DEPTH:
                raise _Unsupported
            _set_time(getattr(message, name), value)
        else:
            setattr(message, name, _scalar(kind, value, values))


def _fill_map(value, message: Message, name: str, depth: int) -> None:
    entry = message.DESCRIPTOR.fields_by_name[name].message_type
    key_field, value_field = entry.fields_by_name["key"], entry.fields_by_name["value"]
    if type(value) is not dict or key_field.cpp_type != FieldDescriptor.CPPTYPE_STRING:
        raise _Unsupported
    target = getattr(message, name)
    kind = _kind(value_field)
    if any(type(key) is not str or SURROGATE.search(key) for key in value):
        raise _Unsupported
    if kind == MESSAGE:
        for key, item in value.items():
            _fill(item, target[key], depth + 1)
    elif kind in (MAP, TIME) or kind < 0:
        raise _Unsupported
    else:
        values = value_field.enum_type.values_by_name if value_field.enum_type else None
        for key, item in value.items():
            target[key] = _scalar(kind, item, values)


def parse(data: dict) -> History | None:
    """The History in `data` (a decoded history JSON object), or None to leave it to json_format."""
    history = History()
    try:
        _fill(data, history, 1)
    except Exception:  # noqa: BLE001 - anything unexpected is json_format's to parse or to report
        return None
    return history
