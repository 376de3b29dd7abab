"""Rewrite a module's decorated top-level functions so mutmut mutates them (mutation_workdir.py).

mutmut 3.8.1 makes no mutant of a decorated function (mutmut/mutation/file_mutation.py: a
decorator runs when the function is defined, and some break its trampoline), which left the
@receiver receivers and the @transaction.atomic services without a score. So in the copy of the
project that a --module run mutates, never in the source, each top-level

    @a
    @b(x)
    def f(...): ...

becomes `def f(...): ...` followed right away by `f = a(b(x)(f))`: the same decorators applied in
the same order (bottom-up), now to mutmut's trampoline for f. Classes, methods and nested
functions are left as they are."""

from __future__ import annotations

import libcst as cst

# Decorator expressions that can be called as they stand; anything else (a lambda, `a or b`)
# is put in parentheses first.
_CALLABLE_AS_IS = (cst.Name, cst.Attribute, cst.Call, cst.Subscript)


def _applied(decorator: cst.BaseExpression, to: cst.BaseExpression) -> cst.Call:
    if not isinstance(decorator, _CALLABLE_AS_IS) and not decorator.lpar:
        decorator = decorator.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return cst.Call(func=decorator, args=[cst.Arg(to)])


def _undecorated(func: cst.FunctionDef) -> list[cst.BaseStatement]:
    wrapped: cst.BaseExpression = func.name
    for decorator in reversed(func.decorators):
        wrapped = _applied(decorator.decorator, wrapped)
    # Comments above or between the decorators stay above the def.
    comments = [line for d in func.decorators for line in d.leading_lines]
    plain = func.with_changes(
        decorators=[], lines_after_decorators=[],
        leading_lines=[*func.leading_lines, *comments, *func.lines_after_decorators])
    rebind = cst.SimpleStatementLine(
        [cst.Assign(targets=[cst.AssignTarget(cst.Name(func.name.value))], value=wrapped)])
    return [plain, rebind]


def undecorate(source: str) -> str:
    """`source` with each decorated top-level function defined plain, then decorated by name."""
    module = cst.parse_module(source)
    body: list[cst.BaseStatement] = []
    for statement in module.body:
        if isinstance(statement, cst.FunctionDef) and statement.decorators:
            body += _undecorated(statement)
        else:
            body.append(statement)
    return module.with_changes(body=body).code
