"""The query cost limit: what a query may ask for, judged before it runs.

A query's cost is the most fields its answer can hold. Every field selected counts 1 for each
time it can appear; a list multiplies what is under it by how long it can be:

- a connection by its `first` (20 when not given; at most the page cap), which applies to its
  `edges`;
- another list with `first` (`nextOccurrences`) by its `first` (or its default);
- a list without `first` by LIST_SIZE (`Provider.sessions`, deprecated: by the page cap).

A field that runs a search of its own each time it is asked for (`Query.sessions`,
`Query.providers`, `Query.domains`, and `__schema`) adds SEARCH_COST: DataLoaders batch every
other field across a page, but each alias of a search is another search, and the slowest ones
take about as long as SEARCH_COST fields. So `sessions(first: 100) { edges { node { title } } }`
costs 2,400 + 1 + 100 x (1 + 1 + 1) = 2,701, at most four searches fit in one query, and
twenty aliases of a connection nested in a connection multiply to a cost that is refused.
Variables count at the values sent with the query.

It also refuses a document with several operations and no `operationName` (strawberry would
run the first one).

The check is a schema extension that runs once per request, after validation (which is
cached) and before execution, never per field: one walk of the chosen operation, with every
fragment's cost worked out once, so it takes time linear in the document's size; and the cost
of a query text seen recently with the same variables (as costed) is kept, not walked again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    TypeMetaFieldDef,
    VariableNode,
    get_named_type,
)
from graphql.execution import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import SchemaExtension

from api.graphql.errors import UserInputError

# The most a query may cost: the worst query within it takes under a second and a few MB of
# the server here (benchmarks/worst_query.py; figures in the README).
MAX_COST = 10_000
DEFAULT_PAGE = 20
DEFAULT_PAGE_CAP = 100
# What a list without `first` is counted as: lists of enum values, a session's schedule
# rules and breaks, all short.
LIST_SIZE = 5
# Lists without `first` that can be longer than LIST_SIZE: counted at the page cap.
CAPPED_LISTS = {("Provider", "sessions")}
SEARCH_COST = 2_400
SEARCHES = {("Query", "sessions"), ("Query", "providers"), ("Query", "domains")}


class CostTooHigh(GraphQLError):
    def __init__(self, cost: int, limit: int) -> None:
        super().__init__(
            f"This query could return up to {cost:,} fields; the limit is {limit:,}. Ask for "
            "fewer items with `first` (then page with `after`), fewer nested lists or fewer "
            "aliases.",
            extensions={"code": "MAX_COST_EXCEEDED", "cost": cost, "maxCost": limit},
        )


def _is_list(field_type: Any) -> bool:
    if isinstance(field_type, GraphQLNonNull):
        field_type = field_type.of_type
    return isinstance(field_type, GraphQLList)


def _is_connection(named: GraphQLNamedType) -> bool:
    return isinstance(named, GraphQLObjectType) and {"edges", "pageInfo"} <= named.fields.keys()


class _Costing:
    """One operation's cost, for one request's variables."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        defaults: Mapping[str, Any],
        page_cap: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.defaults = defaults
        self.page_cap = page_cap
        self.fragment_costs: dict[tuple[str, int | None], int] = {}

    def selections(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType, page: int | None
    ) -> int:
        """The cost of a selection set on ``parent``; ``page`` is the `first` of the
        connection ``parent`` is, if it is one."""
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, page)
            elif isinstance(selection, InlineFragmentNode):
                on = selection.type_condition
                inner = self.schema.get_type(on.name.value) if on else parent
                total += self.selections(selection.selection_set, inner or parent, page)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value, page)
        return total

    def fragment(self, name: str, page: int | None) -> int:
        key = (name, page)
        if key not in self.fragment_costs:
            definition = self.fragments[name]
            on = self.schema.get_type(definition.type_condition.name.value)
            assert on is not None  # validation has checked every fragment's type
            self.fragment_costs[key] = self.selections(definition.selection_set, on, page)
        return self.fragment_costs[key]

    def field(self, node: FieldNode, parent: GraphQLNamedType, page: int | None) -> int:
        name = node.name.value
        if name == "__schema":
            # Its depth is bounded by graphql-core's MaxIntrospectionDepthRule.
            return SEARCH_COST
        fields: dict[str, GraphQLField] = getattr(parent, "fields", {})
        definition = TypeMetaFieldDef if name == "__type" else fields.get(name)
        if definition is None:  # __typename
            return 1
        search = SEARCH_COST if (parent.name, name) in SEARCHES else 0
        named = get_named_type(definition.type)
        first = self.first(node, definition) if "first" in definition.args else None
        if not _is_list(definition.type):
            size = 1
        elif first is not None:
            size = first
        elif name == "edges" and page is not None:
            size = page
        elif (parent.name, name) in CAPPED_LISTS:
            size = self.page_cap
        else:
            size = LIST_SIZE
        inner = 0
        if node.selection_set is not None:
            child_page = first if _is_connection(named) else None
            inner = self.selections(node.selection_set, named, child_page)
        return search + size * (1 + inner)

    def first(self, node: FieldNode, definition: GraphQLField) -> int:
        """The `first` this field is asked for: as given, or its default, within the cap
        (a larger one is refused by the field itself, with a clearer message)."""
        value: Any = None
        for argument in node.arguments or ():
            if argument.name.value != "first":
                continue
            if isinstance(argument.value, IntValueNode):
                value = int(argument.value.value)
            elif isinstance(argument.value, VariableNode):
                name = argument.value.name.value
                value = self.variables.get(name, self.defaults.get(name))
        if value is None:
            default = definition.args["first"].default_value
            value = default if isinstance(default, int) else DEFAULT_PAGE
        if not isinstance(value, int) or isinstance(value, bool):
            return self.page_cap  # refused later as a bad Int; counted at the most
        return max(0, min(value, self.page_cap))


def _operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None,
    *,
    page_cap: int = DEFAULT_PAGE_CAP,
) -> int:
    """The most fields the answer to ``operation`` can hold (see the module's docstring)."""
    root = schema.get_root_type(operation.operation)
    assert root is not None  # validation has checked the operation's type exists
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    defaults = {
        d.variable.name.value: int(d.default_value.value)
        for d in operation.variable_definitions or ()
        if isinstance(d.default_value, IntValueNode)
    }
    costing = _Costing(schema, fragments, variables or {}, defaults, page_cap)
    return costing.selections(operation.selection_set, root, None)


class QueryCost(SchemaExtension):
    """Refuses, before execution, a query that costs more than MAX_COST, and a document
    with several operations and no `operationName`."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.result is None:
            error = self._check(context, document)
            if error is not None:
                context.result = GraphQLExecutionResult(data=None, errors=[error])
        yield

    @staticmethod
    def _check(context: Any, document: DocumentNode) -> GraphQLError | None:
        operations = _operations(document)
        # strawberry runs the first operation when none is named; the spec says to refuse.
        named = getattr(context, "_provided_operation_name", None)
        if len(operations) > 1 and named is None:
            names = ", ".join(op.name.value if op.name else "(anonymous)" for op in operations)
            return UserInputError(
                f"This document has {len(operations)} operations ({names}): say which to run "
                "with `operationName`.",
                field="operationName",
            )
        wanted = context.operation_name
        operation = next(
            (op for op in operations if op.name is None or op.name.value == wanted),
            operations[0],
        )
        settings = getattr(context.context, "settings", None)
        page_cap = getattr(settings, "max_page_size", DEFAULT_PAGE_CAP)
        variables = _as_costed(context.variables or {})
        key = (context.query, wanted, page_cap, tuple(sorted(variables.items())))
        cost = _COSTS.get(key) if context.query else None
        if cost is None:
            cost = operation_cost(
                context.schema._schema, document, operation, variables, page_cap=page_cap
            )
            if context.query:
                _COSTS[key] = cost
                if len(_COSTS) > _COSTS_KEPT:
                    del _COSTS[next(iter(_COSTS))]
        return CostTooHigh(cost, MAX_COST) if cost > MAX_COST else None


# Costs already worked out, by query text, operation, page cap and variables as costed: a
# client sends the same few queries again and again (as the validation cache assumes).
_COSTS: dict[tuple[Any, ...], int] = {}
_COSTS_KEPT = 256
_NOT_AN_INT = "not an Int"


def _as_costed(variables: Mapping[str, Any]) -> dict[str, Any]:
    """The variables as the cost sees them: an Int, null, or anything else (counted at the
    page cap, and refused later as a bad Int), so that they can key the cache."""
    return {
        name: value
        if value is None or (isinstance(value, int) and not isinstance(value, bool))
        else _NOT_AN_INT
        for name, value in variables.items()
    }
