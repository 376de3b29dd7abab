"""Message templates cannot loop or grow a message without bound."""

import pytest

from incidents.warroom.rendering import (
    MAX_MESSAGE_CHARS,
    MAX_TEMPLATE_CHARS,
    MessageRenderError,
    render_text,
    template_errors,
)

CONTEXT = {"title": "Checkout down", "reference": "INC-2026-0001", "description": "x" * 500}


@pytest.mark.parametrize("source", [
    "{% for a in title %}{% for b in title %}{{ a }}{% endfor %}{% endfor %}",
    "{% with t=title %}{{ t }}{% endwith %}",
    "{% cycle 'a' 'b' %}",
])
def test_loops_and_with_are_refused_with_a_clear_reason(source):
    assert "not available in message templates" in template_errors(source)
    with pytest.raises(MessageRenderError, match="not available"):
        render_text(source, CONTEXT)


@pytest.mark.parametrize("source", [
    '{{ title|ljust:"999999999" }}', "{{ title|add:title }}", "{{ title|urlencode }}",
    '{{ title|stringformat:"0999999999d" }}',
])
def test_filters_that_can_grow_text_are_refused(source):
    assert "Invalid filter" in template_errors(source)


def test_a_message_longer_than_the_limit_is_refused():
    source = "{{ description }}" * (MAX_MESSAGE_CHARS // 500 + 1)
    with pytest.raises(MessageRenderError, match="at most"):
        render_text(source, CONTEXT)


def test_a_template_longer_than_the_limit_is_refused():
    assert "at most" in template_errors("x" * (MAX_TEMPLATE_CHARS + 1))


def test_ordinary_templates_still_render():
    source = ("{% if title %}[{{ reference }}] {{ title|upper }}{% else %}none{% endif %}"
              "{# a comment #} {{ missing|default:'n/a' }}")
    assert render_text(source, CONTEXT) == "[INC-2026-0001] CHECKOUT DOWN n/a"
