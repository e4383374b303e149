"""Request limits as Strawberry schema extensions, each refusing with its own code.

Strawberry's own limiters do the counting (``MaxTokensLimiter``, ``MaxAliasesLimiter``,
``QueryDepthLimiter``, and graphql-core's ``NoSchemaIntrospectionCustomRule`` that
``DisableIntrospection`` adds); their errors carry no code, so their validation rules run
behind :func:`coded`, which stamps one. Ours: the root-field count (a validation rule),
the size of the document with its fragments spread (before validation, which would
expand them exponentially), and the cost limit (vendor calls, priced by the connectors),
which runs when execution starts, where the request's sources and variables are known,
and answers in place of the execution, so a refused query makes no vendor call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from itertools import islice
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    get_operation_ast,
)
from graphql.language.visitor import EnterLeaveVisitor
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from graph.config import LimitsSettings
from graph.cost import QueryTooLarge, estimate_cost
from graph.telemetry import note_cost_estimate
from resolvers.context import Context

__all__ = [
    "ALIASES_CODE",
    "COST_CODE",
    "DEPTH_CODE",
    "FIELDS_CODE",
    "INTROSPECTION_CODE",
    "ROOT_FIELDS_CODE",
    "TOKENS_CODE",
    "CostLimit",
    "FieldCountLimit",
    "coded",
    "expanded_fields",
    "limit_extensions",
    "more_tokens_than",
    "root_fields_rule",
    "tokens_error",
]

TOKENS_CODE = "TOO_MANY_TOKENS"
FIELDS_CODE = "TOO_MANY_FIELDS"
DEPTH_CODE = "QUERY_TOO_DEEP"
ALIASES_CODE = "TOO_MANY_ALIASES"
ROOT_FIELDS_CODE = "TOO_MANY_ROOT_FIELDS"
COST_CODE = "QUERY_TOO_COSTLY"
INTROSPECTION_CODE = "INTROSPECTION_DISABLED"

ExtensionFactory = Callable[[], SchemaExtension]


def coded(rules: Sequence[type[ASTValidationRule]], code: str) -> list[type[ASTValidationRule]]:
    """``rules`` whose errors carry ``extensions.code = code``.

    Each rule sees a validation context of its own whose errors are stamped and then
    reported to the real one. Fit for rules that check the document as a whole when
    they are created or while visiting (Strawberry's limiters, graphql-core's
    introspection rule): the wrapper visits the document exactly as the rule does.
    """

    def wrap(rule: type[ASTValidationRule]) -> type[ASTValidationRule]:
        class Coded(ValidationRule):
            def __init__(self, context: ValidationContext) -> None:
                super().__init__(context)

                def report(error: GraphQLError) -> None:
                    error.extensions = {**(error.extensions or {}), "code": code}
                    context.report_error(error)

                # The real context's TypeInfo (no public accessor): the traversal keeps
                # it current, and rules such as the introspection one read it.
                own = ValidationContext(
                    context.schema,
                    context.document,
                    context._type_info,
                    report,
                )
                self._inner = rule(own)

            def get_enter_leave_for_kind(self, kind: str) -> EnterLeaveVisitor:
                return self._inner.get_enter_leave_for_kind(kind)  # visit as the rule does

        Coded.__name__ = f"Coded{rule.__name__}"
        return Coded

    return [wrap(rule) for rule in rules]


def _root_fields(
    selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode], seen: set[str]
) -> int:
    count = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            count += 1
        elif isinstance(selection, InlineFragmentNode):
            count += _root_fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                seen.add(selection.name.value)
                count += _root_fields(fragment.selection_set, fragments, seen)
    return count


def root_fields_rule(maximum: int) -> type[ASTValidationRule]:
    """A rule refusing operations that select more than ``maximum`` root fields."""

    class RootFieldsLimit(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            fragments = {
                d.name.value: d
                for d in self.context.document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            count = _root_fields(node.selection_set, fragments, set())
            if count > maximum:
                self.report_error(
                    GraphQLError(
                        f"the operation selects {count} root fields; at most {maximum} allowed",
                        node,
                        extensions={"code": ROOT_FIELDS_CODE},
                    )
                )

    return RootFieldsLimit


#: GraphQL's lexical tokens, comments included (``max_tokens`` counts them too).
_TOKEN = re.compile(
    r"""
      \#[^\n\r]*                              # comment
    | \"\"\"(?:\\\"\"\"|[^"]|"(?!""))*\"\"\"          # block string
    | "(?:\\.|[^"\\\n\r])*"                     # string
    | \.\.\.|[!$&():=@\[\]{|}]                    # punctuator
    | -?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?    # number
    | [_A-Za-z][_0-9A-Za-z]*                    # name
    """,
    re.VERBOSE,
)


def more_tokens_than(query: str, limit: int) -> bool:
    """True when ``query`` has more than ``limit`` tokens, counted by a regular
    expression at C speed (graphql-core's lexer, pure Python, costs ~20 times more per
    token). On any document the lexer reads, the count is the lexer's (comments included,
    as ``max_tokens`` counts them); one it cannot read (an unterminated string) is refused
    either way, for its tokens here or for its syntax by the parser."""
    beyond = islice(_TOKEN.finditer(query), limit, None)  # skips the first `limit`
    return next(beyond, None) is not None


def tokens_error(limit: int) -> GraphQLError:
    return GraphQLError(
        f"the document has more than {limit} tokens; send a smaller query",
        extensions={"code": TOKENS_CODE},
    )


class TokenLimit(MaxTokensLimiter):
    """Strawberry's token limit; the parser's refusals (too many tokens, nested too
    deeply for the parser) get their own codes."""

    def on_parse(self) -> Iterator[None]:
        yield
        for error in self.execution_context.pre_execution_errors or ():
            if not isinstance(error, GraphQLSyntaxError):
                continue
            if "tokens. Parsing aborted" in error.message:
                coded = tokens_error(self.max_token_count)
                error.message, error.extensions = coded.message, coded.extensions
            elif "nested too deeply" in error.message:
                error.extensions = {"code": DEPTH_CODE}


def expanded_fields(document: DocumentNode) -> int:
    """Fields of every operation with each fragment spread where it is used, counted in
    time linear in the document (each fragment is sized once)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    sizes: dict[str, int] = {}

    def size(selection_set: SelectionSetNode, stack: frozenset[str]) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                below = selection.selection_set
                total += 1 + (size(below, stack) if below is not None else 0)
            elif isinstance(selection, InlineFragmentNode):
                total += size(selection.selection_set, stack)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if fragment is None or name in stack:
                    continue  # unknown or cyclic: validation reports it
                if name not in sizes:
                    sizes[name] = size(fragment.selection_set, stack | {name})
                total += sizes[name]
        return total

    return sum(
        size(d.selection_set, frozenset())
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    )


class FieldCountLimit(SchemaExtension):
    """Refuses documents whose fragments expand to more than ``max_fields`` fields,
    before validation: the depth and alias rules expand every spread, so a few hundred
    bytes of fragments spreading each other twice would keep them busy for minutes."""

    def __init__(self, max_fields: int) -> None:
        self.max_fields = max_fields

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        document = execution.graphql_document
        if document is not None and execution.pre_execution_errors is None:
            count = expanded_fields(document)
            if count > self.max_fields:
                message = (
                    f"the query expands to {count} fields (fragments spread where they are "
                    f"used); at most {self.max_fields} allowed"
                )
                # Set before validation runs: Strawberry then skips it and refuses.
                execution.pre_execution_errors = [
                    GraphQLError(message, extensions={"code": FIELDS_CODE})
                ]
        yield


class CostLimit(SchemaExtension):
    """Prices the operation in vendor calls per source and refuses it above the limit;
    reports ``extensions.cost`` (estimate and calls made) when asked."""

    def __init__(self, max_cost: int, *, report: bool) -> None:
        self.max_cost = max_cost
        self.report = report
        self.estimate: dict[str, int] | None = None

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        context = execution.context
        document = execution.graphql_document
        operation = get_operation_ast(document, execution.operation_name) if document else None
        if isinstance(context, Context) and document is not None and operation is not None:
            fragments = {
                d.name.value: d
                for d in document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            # The response cache stores queries only, and reports this price on a hit.
            context.operation_type = operation.operation.value
            context.operation_name = operation.name.value if operation.name else None
            try:
                self.estimate = estimate_cost(
                    execution.schema._schema,
                    operation,
                    fragments,
                    execution.variables,
                    context.sources,
                )
                note_cost_estimate(self.estimate)
            except QueryTooLarge:
                execution.result = self._refuse("the query expands to too many fields", {})
            else:
                context.cost_estimate = self.estimate
                over = {s: n for s, n in self.estimate.items() if n > self.max_cost}
                if over:
                    worst = max(over, key=over.__getitem__)
                    message = (
                        f"the query may cost {over[worst]} vendor calls at source {worst!r}; "
                        f"at most {self.max_cost} per source allowed: ask for fewer items"
                    )
                    execution.result = self._refuse(message, self.estimate)
        yield

    def _refuse(self, message: str, estimate: dict[str, int]) -> ExecutionResult:
        extensions = {"code": COST_CODE, "cost": estimate, "maxCost": self.max_cost}
        return ExecutionResult(data=None, errors=[GraphQLError(message, extensions=extensions)])

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        if not isinstance(context, Context) or not (self.report or context.report_cost):
            return {}
        actual = {source: n for source, n in context.vendor_calls.items() if n}
        return {
            "cost": {
                "estimated": self.estimate or {},
                "actual": actual,
                "maxCost": self.max_cost,
            }
        }


def limit_extensions(limits: LimitsSettings, *, introspection: bool) -> list[ExtensionFactory]:
    """The schema extensions that enforce ``[limits]`` (and ``[server] introspection``)."""
    rules = [
        *coded(MaxAliasesLimiter(limits.max_aliases).validation_rules, ALIASES_CODE),
        *coded(QueryDepthLimiter(limits.max_depth).validation_rules, DEPTH_CODE),
        root_fields_rule(limits.max_root_fields),
    ]
    if not introspection:
        rules += coded([NoSchemaIntrospectionCustomRule], INTROSPECTION_CODE)
    return [
        lambda: TokenLimit(limits.max_tokens),
        lambda: FieldCountLimit(limits.max_fields),
        lambda: AddValidationRules(rules),
        lambda: CostLimit(limits.max_cost, report=limits.report_cost),
    ]
