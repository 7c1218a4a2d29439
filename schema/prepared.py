"""Documents parsed and validated once per schema, and the execution plans made for them (schema.execution).

A portal sends the same few documents over and over, changing only their variables. Parsing and validating
one again costs what it cost the first time, and planning its selections (schema.plain: which fields are
plain, how each is read, their code generated) costs more: 15% of a 421-service tree's answer. So a document
that parsed, passed admission's shape check and validated without error is kept here, keyed by its text, with
the plans made while executing it.

- Validation is the schema's: the rules a schema adds are fixed when it is built (schema.build: limits and
  introspection), and none reads the request. What the request decides (the caller's scopes, schema.access)
  is still checked on every operation.
- A plan depends on the selection (the document's own nodes: the text is the key, so they are the same
  objects for every operation on it), the parent type, and the values of the variables read by @skip and
  @include (`directive_variables`), which decide what nested selections hold. schema.execution keys plans by
  all of these.
- Bounded: at most `max_entries` documents, of at most `max_chars` characters of text together (a parsed
  document takes some 70 bytes per character, and with its plans some 350: 128 KiB of text is some 45 MB at
  most), least recently used first out; a document longer than `max_document_chars` is not kept. Each keeps
  at most `max_plans` plans.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from graphql import DocumentNode, OperationDefinitionNode, VariableNode, Visitor, visit


@dataclass(eq=False)
class Prepared:
    """One kept document: its nodes, the variables its directives read, and the plans made for it."""

    document: DocumentNode
    directive_variables: tuple[str, ...]
    max_plans: int
    plans: dict[Any, Any] = field(default_factory=dict)

    def plan(self, key: Any) -> Any:
        return self.plans.get(key)

    def keep(self, key: Any, plan: Any) -> None:
        if len(self.plans) < self.max_plans:
            self.plans[key] = plan


class _DirectiveVariables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.inside = 0  # directives being visited (an argument's value holds no directive, but be exact)

    def enter_directive(self, *_args: Any) -> None:
        self.inside += 1

    def leave_directive(self, *_args: Any) -> None:
        self.inside -= 1

    def enter_variable(self, node: VariableNode, *_args: Any) -> None:
        if self.inside:
            self.names.add(node.name.value)


def directive_variables(document: DocumentNode) -> tuple[str, ...]:
    """The names of the variables read by any directive of `document`, sorted."""
    found = _DirectiveVariables()
    visit(document, found)
    return tuple(sorted(found.names))


class PreparedDocuments:
    """Valid documents by their text, least recently used first out (see the module's docstring)."""

    def __init__(self, max_entries: int = 256, max_chars: int = 128 * 1024, max_document_chars: int = 32 * 1024,
                 max_plans: int = 1024) -> None:
        self.max_entries, self.max_chars, self.max_document_chars = max_entries, max_chars, max_document_chars
        self.max_plans = max_plans
        self._by_text: OrderedDict[str, Prepared] = OrderedDict()
        self._by_operation: dict[int, Prepared] = {}  # id of each operation node of a kept document
        self.chars = 0

    def __len__(self) -> int:
        return len(self._by_text)

    def get(self, text: str) -> Prepared | None:
        prepared = self._by_text.get(text)
        if prepared is not None:
            self._by_text.move_to_end(text)
        return prepared

    def add(self, text: str, document: DocumentNode) -> Prepared | None:
        """Keep `document`, parsed from `text` and valid (None: too long to keep)."""
        if len(text) > self.max_document_chars:
            return None
        if text in self._by_text:
            return self.get(text)
        variables = directive_variables(document) if "@" in text else ()  # no "@", no directive: no visit
        prepared = Prepared(document, variables, self.max_plans)
        self._by_text[text] = prepared
        self.chars += len(text)
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                self._by_operation[id(definition)] = prepared
        while len(self._by_text) > self.max_entries or self.chars > self.max_chars:
            self._drop(*self._by_text.popitem(last=False))
        return prepared

    def of_operation(self, operation: OperationDefinitionNode) -> Prepared | None:
        """The kept document `operation` belongs to, if it is kept (its nodes are alive, so their ids are theirs)."""
        return self._by_operation.get(id(operation))

    def _drop(self, text: str, prepared: Prepared) -> None:
        self.chars -= len(text)
        for definition in prepared.document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                self._by_operation.pop(id(definition), None)
