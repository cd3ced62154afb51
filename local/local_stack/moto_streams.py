"""The local stack's patches to moto's DynamoDB Streams, installed in its moto server
(moto_server.py).

Shard iterators expire, as DynamoDB's do 15 minutes after they are issued. moto keeps every shard
iterator it ever issued, and issues one for each GetShardIterator and each GetRecords. The local
stack reads each stream several times a second for as long as it runs, so moto's memory would
grow without end; here the iterators older than 15 minutes are dropped (at most once a minute,
oldest first). Using an expired iterator is an error in DynamoDB too.

GetRecords is answered without moto's generic serializer. moto renders an answer member by member
through the botocore model (an alias lookup and a method dispatch for each value), and every write
to a table is a stream record carrying its items' images, read several times a second: under load
that serializer took a quarter of moto's CPU. Here the body is built from the same result by
renderers compiled once from the same botocore shapes, with the same conversions (binary values in
base64, timestamps as epoch seconds to the millisecond, members in the model's order, None members
left out), inside moto's own JSON envelope, so the bytes are the ones moto would send. install()
refuses a model or a serializer it does not mirror; a result holding anything else (a key the
model does not name, a structure that is not a dict) is rendered by moto's serializer as before.

Importing this module changes nothing; install() patches moto's DynamoDB Streams backend and
handler in the importing process, once.
"""

from __future__ import annotations

import base64
import sys
import time
from collections.abc import Callable
from enum import Enum
from typing import Any

from local_stack.moto_transactions import WRITES

MARKER = "local stack: DynamoDB Streams shard iterators expire after 15 minutes"
RENDERING_MARKER = "local stack: DynamoDB Streams GetRecords rendered directly"
ITERATOR_LIFETIME_SECONDS = 15 * 60
_PRUNE_EVERY_SECONDS = 60

type Render = Callable[[Any], Any]


def drop_expired(iterators: dict[str, Any], now: float, lifetime: float = ITERATOR_LIFETIME_SECONDS) -> int:
    """Drops the iterators issued more than `lifetime` seconds before `now` (the dict holds them in
    the order they were issued); returns how many."""
    dropped = 0
    for arn in list(iterators):
        issued = getattr(iterators[arn], "local_issued_at", now)
        if now - issued <= lifetime:
            break
        del iterators[arn]
        dropped += 1
    return dropped


class Unrenderable(Exception):
    """A value the direct rendering does not take as moto's serializer would."""


def _string(value: Any) -> Any:
    # moto's JSON serializer: an Enum's value; str() of anything but None, {} and [].
    if type(value) is str:
        return value
    if isinstance(value, Enum):
        value = value.value
    return value if value is None or value == {} or value == [] else str(value)


def _blob(value: Any) -> str:
    if isinstance(value, str):
        value = value.encode("utf-8")
    return base64.b64encode(value).strip().decode("utf-8")


def _as_is(value: Any) -> Any:
    return value


def _structure(members: dict[str, Render]) -> Render:
    def render(value: Any) -> dict[str, Any]:
        if type(value) is not dict:
            raise Unrenderable(f"a structure given as {type(value).__name__}")
        if len(value) == 1:  # an attribute value: one member
            ((name, member),) = value.items()
            member_render = members.get(name)
            if member_render is None:
                raise Unrenderable(f"a member the model does not name: {name!r}")
            if member is None:
                return {}
            rendered = member_render(member)
            return value if rendered is member else {name: rendered}  # most are strings as they are
        if not value.keys() <= members.keys():
            raise Unrenderable(f"members the model does not name: {sorted(value.keys() - members.keys())}")
        return {
            name: member_render(value[name])
            for name, member_render in members.items()
            if value.get(name) is not None
        }

    return render


def _list(item: Render, of_structures: bool) -> Render:
    if of_structures:  # moto keeps a None item as it is
        return lambda value: [None if entry is None else item(entry) for entry in value]

    def render(value: Any) -> Any:
        rendered = [item(entry) for entry in value]
        same = type(value) is list and all(new is old for new, old in zip(rendered, value, strict=True))
        return value if same else rendered

    return render


def _map(item: Render, of_structures: bool) -> Render:
    if of_structures:  # moto leaves out a None structure
        return lambda value: {key: item(entry) for key, entry in value.items() if entry is not None}
    return lambda value: {key: item(entry) for key, entry in value.items()}


def compile_renderer(
    shape: Any, timestamp: Render, structures: dict[str, dict[str, Render]] | None = None
) -> Render:
    """A function rendering a value of `shape` (a botocore shape) as moto's JSON serializer does,
    for the shapes of DynamoDB Streams' answers; RuntimeError for a shape it does not mirror."""
    structures = {} if structures is None else structures
    if shape.serialization or getattr(shape, "is_document_type", False):
        raise RuntimeError(f"moto's DynamoDB Streams model changed: {shape.name} has {shape.serialization}")
    kind = shape.type_name
    if kind == "structure":
        members = structures.get(shape.name)
        if members is None:  # filled once; a structure that holds itself shares it
            members = structures[shape.name] = {}
            members.update(
                (name, compile_renderer(member, timestamp, structures))
                for name, member in shape.members.items()
            )
        return _structure(members)
    if kind == "list":
        return _list(
            compile_renderer(shape.member, timestamp, structures), shape.member.type_name == "structure"
        )
    if kind == "map":
        return _map(
            compile_renderer(shape.value, timestamp, structures), shape.value.type_name == "structure"
        )
    scalars: dict[str, Render] = {
        "string": _string,
        "blob": _blob,
        "timestamp": timestamp,
        "long": int,
        "integer": int,
        "boolean": _as_is,
    }
    if kind not in scalars:
        raise RuntimeError(f"moto's DynamoDB Streams model changed: {shape.name} is a {kind}")
    return scalars[kind]


def _structures(shape: Any, seen: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every structure shape within `shape`, by name."""
    seen = {} if seen is None else seen
    if shape.type_name == "structure" and shape.name not in seen:
        seen[shape.name] = shape
        for member in shape.members.values():
            _structures(member, seen)
    elif shape.type_name == "list":
        _structures(shape.member, seen)
    elif shape.type_name == "map":
        _structures(shape.value, seen)
    return seen


def _check_serializer(serializer_class: type[Any], output_shape: Any) -> None:
    """Fails unless moto's serializer is the one the renderers mirror: the JSON serializer, its
    methods for each type, and its value picker taking a dict's member by its own name."""
    from moto.core.serialize import (
        AttributePickerContext,
        BaseJSONSerializer,
        JSONSerializer,
        ResponseSerializer,
        XFormedAttributePicker,
    )

    methods = {
        "structure": BaseJSONSerializer._serialize_type_structure,
        "list": BaseJSONSerializer._serialize_type_list,
        "map": BaseJSONSerializer._serialize_type_map,
        "string": BaseJSONSerializer._serialize_type_string,
        "blob": ResponseSerializer._serialize_type_blob,
        "timestamp": ResponseSerializer._serialize_type_timestamp,
        "long": ResponseSerializer._serialize_type_integer,
        "integer": ResponseSerializer._serialize_type_integer,
        "boolean": None,  # moto's default: the value as it is
    }
    changed = [
        kind
        for kind, method in methods.items()
        if getattr(serializer_class, f"_serialize_type_{kind}", None) is not method
    ]
    if (
        serializer_class is not JSONSerializer
        or serializer_class.DEFAULT_TIMESTAMP_FORMAT != "unixtimestamp"
        or changed
    ):
        raise RuntimeError(f"moto's JSON serializer changed ({serializer_class.__name__}: {changed})")
    picker = XFormedAttributePicker()
    for structure in _structures(output_shape).values():
        every = {name: object() for name in structure.members}
        for name, member in structure.members.items():
            member.parent = structure  # as moto's serializer sets it before picking
            others = {key: value for key, value in every.items() if key != name}
            picked = picker(AttributePickerContext(obj=every, key=name, shape=member))
            missing = picker(AttributePickerContext(obj=others, key=name, shape=member))
            if picked is not every[name] or missing is not None:
                raise RuntimeError(f"moto's serializer no longer picks {structure.name}.{name} by its name")


def compile_get_records() -> tuple[type[Any], Render]:
    """moto's serializer class for DynamoDB Streams and a function rendering a GetRecords result as
    that serializer does (the structure its JSON body holds); RuntimeError when moto's model or
    serializer is not the one mirrored here."""
    from moto.core.serialize import TimestampSerializer, get_serializer_class
    from moto.core.utils import get_service_model

    model = get_service_model("dynamodbstreams")
    serializer_class = get_serializer_class("dynamodbstreams", model.protocol)
    output_shape = model.operation_model("GetRecords").output_shape
    _check_serializer(serializer_class, output_shape)
    timestamp_format = serializer_class.DEFAULT_TIMESTAMP_FORMAT
    timestamps = TimestampSerializer(timestamp_format)

    def timestamp(value: Any) -> Any:
        return timestamps._convert_timestamp_to_str(value, timestamp_format)

    return serializer_class, compile_renderer(output_shape, timestamp)


def _install_rendering() -> None:
    from moto import settings
    from moto.core.responses import ActionContext, ActionResult
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    handler: Any = DynamoDBStreamsHandler
    if getattr(handler, "RESPONSE_KEY_PATH_TO_TRANSFORMER", None) or not hasattr(handler, "get_records"):
        raise RuntimeError("moto's DynamoDB Streams handler changed: GetRecords cannot be rendered directly")
    serializer_class, render = compile_get_records()

    class RenderedRecords(ActionResult):
        def execute_result(self, context: ActionContext) -> Any:
            if (
                context.serializer_class is not serializer_class
                or context.operation_model.name != "GetRecords"
                or getattr(context.response, "RESPONSE_KEY_PATH_TO_TRANSFORMER", None)
            ):
                return super().execute_result(context)
            try:
                rendered = render(self.result)
            except (Unrenderable, TypeError, ValueError, AttributeError, OverflowError):
                return super().execute_result(context)  # moto renders it, or fails as it would
            serializer: Any = serializer_class(
                operation_model=context.operation_model, pretty_print=settings.PRETTIFY_RESPONSES
            )
            response = serializer._serialized_result_to_response(
                serializer._create_default_response(),
                self.result,
                context.operation_model.output_shape,
                rendered,
            )
            return response["status_code"], response["headers"], response["body"]

    original_get_records = handler.get_records

    def get_records(self: Any) -> Any:
        answer = original_get_records(self)
        return RenderedRecords(answer.result) if type(answer) is ActionResult else answer

    handler.get_records = get_records


def install() -> bool:
    """Patches moto's DynamoDB Streams backend and handler in this process; False when it was
    patched already."""
    import moto.dynamodbstreams.models as models

    iterator_type: Any = models.ShardIterator
    backend: Any = models.DynamoDBStreamsBackend
    if getattr(iterator_type.__init__, "local_stack_patch", False):
        return False
    if not hasattr(backend, "get_shard_iterator") or not hasattr(backend, "get_records"):
        raise RuntimeError("moto's DynamoDB Streams backend changed: the iterator patch does not apply")
    _install_rendering()
    original_init = iterator_type.__init__
    original_get_shard_iterator = backend.get_shard_iterator
    original_get_records = backend.get_records

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.local_issued_at = time.monotonic()

    def prune(self: Any) -> None:
        now = time.monotonic()
        if now - getattr(self, "local_pruned_at", 0.0) >= _PRUNE_EVERY_SECONDS:
            self.local_pruned_at = now
            drop_expired(self.shard_iterators, now)

    def get_shard_iterator(self: Any, *args: Any, **kwargs: Any) -> Any:
        prune(self)
        return original_get_shard_iterator(self, *args, **kwargs)

    def get_records(self: Any, *args: Any, **kwargs: Any) -> Any:
        prune(self)
        # Not while a write runs: a transaction's stream records are undone if it is cancelled,
        # and their sequence numbers reused, so a read in between would deliver records that
        # never were and skip real ones.
        with WRITES:
            return original_get_records(self, *args, **kwargs)

    init.local_stack_patch = True  # type: ignore[attr-defined]
    iterator_type.__init__ = init
    backend.get_shard_iterator = get_shard_iterator
    backend.get_records = get_records
    print(MARKER, file=sys.stderr, flush=True)
    print(RENDERING_MARKER, file=sys.stderr, flush=True)
    return True
