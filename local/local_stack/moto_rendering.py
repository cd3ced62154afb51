"""moto's answers written without its generic serializer, byte for byte as that serializer writes
them: installed in the local stack's moto server (moto_server.py) for DynamoDB's item operations,
and by moto_streams.py for DynamoDB Streams' GetRecords.

moto renders an answer member by member through the botocore model: for each member of each
structure an alias lookup (several alias providers and botocore's xform_name) and a method dispatch
for each value. DynamoDB's answers carry whole items (PynamoDB's update asks for ALL_NEW, the whole
record) and Query pages carry many; under the ingest load that walk was a large share of moto's CPU.
Here an answer is rendered from the same result by functions compiled once from the same botocore
output shapes, with the same conversions (binary values in base64, numbers through int() or
float(), strings through str(), timestamps as epoch seconds to the millisecond, members in the
model's order, None members left out), inside moto's own JSON envelope.

install() refuses a model or a serializer it does not mirror. At run time, a result holding what
the renderers do not mirror (a structure that is not a dict, a key moto's value picker would take
in a member's place) is rendered by moto's serializer, as is any operation not listed here; errors
(moto's exceptions, a cancelled transaction's reasons) are never touched: moto writes them.

Importing this module changes nothing; install() patches moto's DynamoDB handler in the importing
process, once.
"""

from __future__ import annotations

import base64
import functools
import sys
from collections.abc import Callable, Iterable
from enum import Enum
from typing import Any

MARKER = "local stack: DynamoDB answers rendered directly"
# The answers the local stack's clients ask for most; every other operation keeps moto's serializer.
DYNAMODB_OPERATIONS = (
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactGetItems",
    "TransactWriteItems",
)
_INSTALLED = "local_stack_rendered"

type Render = Callable[[Any], Any]


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


def _structure(members: dict[str, Render], shadows: frozenset[str]) -> Render:
    """`shadows`: the other keys moto's value picker tries for a member (its shape's name, its name
    in snake case...); a dict holding one is left to moto. Any other key moto ignores, and so
    does this."""

    def render(value: Any) -> dict[str, Any]:
        if type(value) is not dict:
            raise Unrenderable(f"a structure given as {type(value).__name__}")
        if len(value) == 1:  # an attribute value: one member
            ((name, member),) = value.items()
            member_render = members.get(name)
            if member_render is None:
                if name in shadows:
                    raise Unrenderable(f"a key moto's picker takes for a member: {name!r}")
                return {}
            if member is None:
                return {}
            rendered = member_render(member)
            return value if rendered is member else {name: rendered}  # most are strings as they are
        if not value.keys() <= members.keys() and not shadows.isdisjoint(value.keys()):
            raise Unrenderable(f"keys moto's picker takes for a member: {sorted(shadows & value.keys())}")
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


def picked_keys(structure: Any, name: str) -> list[str]:
    """The keys moto's value picker tries, in its order, for member `name` of `structure` in a dict."""
    from moto.core.serialize import AttributePickerContext, XFormedAttributePicker

    member = structure.members[name]
    member.parent = structure  # as moto's serializer sets it before picking
    context = AttributePickerContext(obj={}, key=name, shape=member)
    return list(XFormedAttributePicker().get_possible_keys(context))


def _shadows(structure: Any) -> frozenset[str]:
    shadows = {key for name in structure.members for key in picked_keys(structure, name) if key != name}
    taken = shadows & structure.members.keys()
    if taken:
        raise RuntimeError(f"moto's serializer may pick {structure.name}'s {sorted(taken)} for other members")
    return frozenset(shadows)


def compile_renderer(shape: Any, timestamp: Render, structures: dict[str, Render] | None = None) -> Render:
    """A function rendering a value of `shape` (a botocore shape) as moto's JSON serializer does;
    RuntimeError for a shape it does not mirror."""
    structures = {} if structures is None else structures
    if shape.serialization or getattr(shape, "is_document_type", False):
        raise RuntimeError(f"moto's model changed: {shape.name} has {shape.serialization}")
    kind = shape.type_name
    if kind == "structure":
        render = structures.get(shape.name)
        if render is None:  # filled once; a structure that holds itself shares it
            members: dict[str, Render] = {}
            render = structures[shape.name] = _structure(members, _shadows(shape))
            members.update(
                (name, compile_renderer(member, timestamp, structures))
                for name, member in shape.members.items()
            )
        return render
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
        "double": float,
        "float": float,
        "boolean": _as_is,
    }
    if kind not in scalars:
        raise RuntimeError(f"moto's model changed: {shape.name} is a {kind}")
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


def check_serializer(serializer_class: type[Any], output_shape: Any) -> None:
    """Fails unless moto's serializer is the one the renderers mirror: the JSON serializer, its
    methods for each type, and its value picker taking a dict's member by its own name."""
    from moto.core.responses import ActionResult
    from moto.core.serialize import (
        AttributePicker,
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
        "double": ResponseSerializer._serialize_type_float,
        "float": ResponseSerializer._serialize_type_float,
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
    if "XFormedAttributePicker(" not in _source(ActionResult.execute_result) or (
        XFormedAttributePicker.__call__ is not AttributePicker.__call__
    ):
        raise RuntimeError("moto's answers no longer pick values with XFormedAttributePicker")
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


def _source(function: Callable[..., Any]) -> str:
    import inspect

    return inspect.getsource(function)


def compile_operations(service: str, operations: Iterable[str]) -> tuple[type[Any], dict[str, Render]]:
    """moto's serializer class for `service` and, by operation name, a function rendering that
    operation's result as the serializer does (the structure its JSON body holds); RuntimeError when
    moto's model or serializer is not the one mirrored here."""
    from moto.core.serialize import TimestampSerializer, get_serializer_class
    from moto.core.utils import get_service_model

    model = get_service_model(service)
    serializer_class = get_serializer_class(service, model.protocol)
    timestamp_format = serializer_class.DEFAULT_TIMESTAMP_FORMAT
    timestamps = TimestampSerializer(timestamp_format)

    def timestamp(value: Any) -> Any:
        return timestamps._convert_timestamp_to_str(value, timestamp_format)

    structures: dict[str, Render] = {}
    renderers: dict[str, Render] = {}
    for operation in operations:
        output_shape = model.operation_model(operation).output_shape
        check_serializer(serializer_class, output_shape)
        renderers[operation] = compile_renderer(output_shape, timestamp, structures)
    return serializer_class, renderers


def render_directly(handler: Any, service: str, operations: Iterable[str]) -> None:
    """Patches `handler` (a moto BaseResponse class) so that the answers of `operations` are
    rendered by compiled renderers; RuntimeError when moto is not the one mirrored here."""
    from moto import settings
    from moto.core.responses import ActionContext, ActionResult
    from moto.core.utils import camelcase_to_underscores

    if getattr(handler, "RESPONSE_KEY_PATH_TO_TRANSFORMER", None):
        raise RuntimeError(
            f"moto's {handler.__name__} transforms its answers: they cannot be rendered directly"
        )
    serializer_class, renderers = compile_operations(service, operations)

    class Rendered(ActionResult):
        def __init__(self, result: object, operation: str) -> None:
            super().__init__(result)
            self.operation = operation

        def execute_result(self, context: ActionContext) -> Any:
            if (
                context.serializer_class is not serializer_class
                or context.operation_model.name != self.operation
                or getattr(context.response, "RESPONSE_KEY_PATH_TO_TRANSFORMER", None)
            ):
                return super().execute_result(context)
            try:
                rendered = renderers[self.operation](self.result)
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

    def rendering(original: Callable[[Any], Any], operation: str) -> Callable[[Any], Any]:
        @functools.wraps(original)
        def answer(self: Any) -> Any:
            result = original(self)
            # Only results moto's ActionResult serializes as they are (not paginated ones).
            if (
                isinstance(result, ActionResult)
                and type(result).execute_result is ActionResult.execute_result
            ):
                return Rendered(result.result, operation)
            return result

        return answer

    methods = {operation: camelcase_to_underscores(operation) for operation in renderers}
    missing = [name for name in methods.values() if not callable(getattr(handler, name, None))]
    if missing:
        raise RuntimeError(f"moto's {handler.__name__} changed: no {missing}")
    for operation, name in methods.items():
        setattr(handler, name, rendering(getattr(handler, name), operation))


def install() -> bool:
    """Renders DynamoDB's item operations' answers directly in this process; False when it does
    already."""
    from moto.dynamodb.responses import DynamoHandler

    handler: Any = DynamoHandler
    if getattr(handler, _INSTALLED, False):
        return False
    render_directly(handler, "dynamodb", DYNAMODB_OPERATIONS)
    setattr(handler, _INSTALLED, True)
    print(MARKER, file=sys.stderr, flush=True)
    return True
