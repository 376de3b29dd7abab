"""The mutation copy's rewrite of decorated functions (scripts/mutation_undecorate.py) must leave
a module behaving as before: same decorators, same order, same names, same import."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

from scripts import mutation_undecorate

ROOT = Path(__file__).resolve().parent.parent

SOURCE = textwrap.dedent('''
    import functools

    applied = []


    def tag(name):
        def decorate(func):
            applied.append((name, func.__name__))

            @functools.wraps(func)
            def wrapper(*args, **kwargs):
                return f"{name}({func(*args, **kwargs)})"
            return wrapper
        return decorate


    outer = tag("outer")


    # The service.
    @outer
    # between the decorators
    @tag("inner")
    def service(x, *, y=1):
        """Adds."""
        return x + y


    @(lambda func: tag("lambda")(func))
    async def later():
        return "later"


    class Kept:
        @staticmethod
        @tag("method")
        def method():
            return "method"


    def plain():
        @tag("nested")
        def nested():
            return "nested"
        return nested()
''')


def _run(source: str) -> dict:
    namespace: dict = {}
    exec(compile(source, "<module>", "exec"), namespace)
    return namespace


def test_decorators_are_applied_bottom_up_as_before_and_the_function_keeps_its_name():
    before, after = _run(SOURCE), _run(mutation_undecorate.undecorate(SOURCE))

    assert after["applied"] == before["applied"]
    assert after["applied"][:2] == [("inner", "service"), ("outer", "service")]
    assert after["service"](2, y=3) == before["service"](2, y=3) == "outer(inner(5))"
    assert after["service"].__name__ == "service"
    assert after["service"].__doc__ == "Adds."
    assert after["later"].__name__ == "later"
    assert after["plain"]() == before["plain"]() == "nested(nested)"
    assert after["Kept"].method() == "method(method)"


def test_only_top_level_functions_lose_their_decorators_and_comments_stay():
    rewritten = mutation_undecorate.undecorate(SOURCE)
    tree = ast.parse(rewritten)

    top_level = {node.name: node for node in tree.body
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    assert top_level["service"].decorator_list == []
    assert top_level["later"].decorator_list == []
    assert len(top_level["Kept"].body[0].decorator_list) == 2
    assert "# The service.\n# between the decorators\ndef service(" in rewritten
    assert "\nservice = outer(tag(\"inner\")(service))\n" in rewritten


def test_the_rule_modules_with_decorated_functions_still_compile_without_decorators():
    for path in ["escalation/receivers.py", "escalation/services/actions.py",
                 "incidents/services.py"]:
        rewritten = mutation_undecorate.undecorate((ROOT / path).read_text())
        tree = ast.parse(rewritten)
        compile(tree, path, "exec")
        assert not [node.name for node in tree.body
                    if isinstance(node, ast.FunctionDef) and node.decorator_list], path
