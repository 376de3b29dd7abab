"""The rule preview in the admin: a manager pastes a sample payload (and, optionally, draft
conditions such as `error_rate > 5`) and sees, per alert, which conditions hold and what the
saved rules would decide. Nothing is written."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from django import forms

from . import matching, rules
from .formats import PayloadInvalid, parse
from .models import Integration, RuleCondition, TriageRule

OPERATOR_WORDS = {
    "=": "eq", "==": "eq", "equals": "eq", "!=": "ne", "=~": "regex", "~": "regex",
    "regex": "regex", "matches": "regex", "present": "present", "absent": "absent",
    ">": "gt", ">=": "gte", "<": "lt", "<=": "lte",
}
_LINE = re.compile(r"^(\S+)\s+(\S+)\s*(.*)$")


def parse_conditions(text: str) -> tuple[list[RuleCondition], list[str]]:
    """Draft conditions, one per line: `field operator value`."""
    conditions, problems = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _LINE.match(line.strip())
        operator = OPERATOR_WORDS.get(match.group(2).lower()) if match else None
        if operator is None:
            problems.append(f"Line {number}: write “field operator value”, with one of "
                            f"{', '.join(OPERATOR_WORDS)} as the operator.")
            continue
        value = match.group(3).strip()
        problem = matching.operand_problem(operator, value)
        if problem:
            problems.append(f"Line {number}: {problem}")
            continue
        conditions.append(RuleCondition(field=match.group(1), operator=operator, value=value))
    return conditions, problems


@dataclass
class AlertPreview:
    title: str
    identity: str
    draft: rules.RuleOutcome | None
    decision: rules.Decision


class PreviewForm(forms.Form):
    kind = forms.ChoiceField(choices=Integration.Kind.choices, label="Payload format")
    integration = forms.ModelChoiceField(
        Integration.objects.order_by("name"), required=False,
        help_text="Run that integration's rules (and the ones for every integration); "
                  "empty: every active rule.")
    payload = forms.CharField(widget=forms.Textarea(attrs={"rows": 14, "class": "vLargeTextField"}),
                              max_length=200_000, help_text="A sample payload, as the source sends it.")
    conditions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), required=False,
        label="Draft conditions",
        help_text="Optional, one per line, e.g. “labels.severity = critical”, "
                  "“error_rate > 5”, “annotations.summary ~ ^Disk”, “labels.team present”.")

    def clean(self):
        data = super().clean()
        try:
            body = json.loads(data.get("payload") or "")
        except ValueError as exc:
            raise forms.ValidationError({"payload": f"Not valid JSON: {exc}"}) from None
        integration = data.get("integration")
        try:
            data["events"] = parse(data.get("kind", ""), body,
                                   mapping=integration.field_mapping if integration else None)
        except PayloadInvalid as invalid:
            raise forms.ValidationError({"payload": invalid.problems}) from None
        data["draft"], problems = parse_conditions(data.get("conditions", ""))
        if problems:
            raise forms.ValidationError({"conditions": problems})
        return data

    def results(self) -> list[AlertPreview]:
        data = self.cleaned_data
        saved = rules.rules_for(data.get("integration"))
        draft_rule = TriageRule(name="Draft")
        previews = []
        for event in data["events"]:
            view = event.view()
            draft = (rules.evaluate(draft_rule, view, conditions=data["draft"])
                     if data["draft"] else None)
            previews.append(AlertPreview(event.title, event.identity, draft,
                                         rules.decide(data.get("integration"), view, saved)))
        return previews
