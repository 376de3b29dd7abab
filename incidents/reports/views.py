"""Report pages and exports. Views parse the period and filters, call the report selectors and
hand the result to a template or a writer; the figures themselves live in metrics.py."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.http import FileResponse, Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from incidents.models import Incident, ReportExport

from . import background, charts, exports, freshness, metrics, pdf, stakeholder, tables
from .expressions import without_jit
from .forms import ReportFilterForm
from .periods import PRESETS

VIEW_REPORTS = "incidents.view_reports"
EXPORT_REPORTS = "incidents.export_reports"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _bad_request(message: str, form: ReportFilterForm | None = None) -> JsonResponse:
    body = {"error": message}
    if form is not None:
        body["fields"] = {name: [str(e) for e in errors] for name, errors in form.errors.items()}
    return JsonResponse(body, status=400)


def _parsed(request):
    """(form, None) when the GET parameters make a report; (None, 400 response) otherwise."""
    form = ReportFilterForm(request.GET)
    if not form.is_valid():
        return None, _bad_request(form.error_text(), form)
    _for_viewer(form, request.user)
    return form, None


def _for_viewer(form: ReportFilterForm, user) -> None:
    """Rows of the report name only incidents `user` may see; figures count them all."""
    form.filters = replace(form.filters, viewer=user)


def _filename(kind: str, form: ReportFilterForm, extension: str) -> str:
    return f"firebreak-{kind}-{form.period.slug}.{extension}"


def _chart_number(value):
    return float(value) if isinstance(value, Decimal) else value


def _chart_data(trends: dict) -> dict:
    return {
        "labels": trends["labels"],
        "bySeverity": [{"label": code, "data": values,
                        "colour": trends["severity_colours"][code]}
                       for code, values in trends["by_severity"].items()],
        "colours": {"mttr": charts.MTTR, "response": charts.RESPONSE_SLA,
                    "resolution": charts.RESOLUTION_SLA},
        "mttrHours": [_chart_number(v) for v in trends["mttr_hours"]],
        "responseCompliance": [_chart_number(v) for v in trends["response_compliance"]],
        "resolutionCompliance": [_chart_number(v) for v in trends["resolution_compliance"]],
    }


@require_GET
@login_required
@permission_required(VIEW_REPORTS, raise_exception=True)
def dashboard(request):
    form = ReportFilterForm(request.GET)
    context = {"form": form, "presets": _preset_links(request), "time_zone": settings.TIME_ZONE}
    if form.is_valid():
        _for_viewer(form, request.user)
        with without_jit():
            context.update(_dashboard_context(request, form))
    return render(request, "reports/dashboard.html", context)


def _dashboard_context(request, form: ReportFilterForm) -> dict:
    """Everything the dashboard shows for a valid period and filters."""
    # Show the dates a preset stands for, so people see (and can adjust) the real period.
    form.data = form.data.copy()
    form.data.update(form.period.as_query())
    form.data.pop("preset", None)
    summary, trends, costliest_ids = freshness.dashboard_figures(form.period, form.filters)
    weeks = [
        {"label": label, "total": trends["totals"][i], "resolved": trends["resolved"][i],
         "mttr_hours": trends["mttr_hours"][i],
         "response": trends["response_compliance"][i],
         "resolution": trends["resolution_compliance"][i],
         "by_severity": [values[i] for values in trends["by_severity"].values()]}
        for i, label in enumerate(trends["labels"])
    ]
    query = urlencode(form.query())
    return dict(
        summary=summary,
        figures=tables.summary_figures(summary),
        trends=trends,
        weeks=weeks,
        severity_codes=list(trends["by_severity"]),
        chart_data=_chart_data(trends),
        mtta_hours=tables.typed(tables.HOURS, summary.declared["mtta_seconds"]),
        mttr_hours=tables.typed(tables.HOURS, summary.resolved["mttr_seconds"]),
        by_severity=[
            {**row, "mtta_hours": tables.typed(tables.HOURS, row["mtta_seconds"])}
            for row in summary.by_severity
        ],
        can_export=request.user.has_perm(EXPORT_REPORTS),
        export_links={
            "csv": {name: f"{reverse('reports:export_csv')}?{query}&table={name}"
                    for name in tables.TABLES},
            "xlsx": f"{reverse('reports:export_xlsx')}?{query}",
            "pdf": f"{reverse('reports:export_pdf')}?{query}",
        },
        costliest=[
            {"incident": incident,
             "revenue_lost": stakeholder.format_money(
                 tables.typed(tables.MONEY, incident.revenue_lost), incident.currency)
             if incident.revenue_lost is not None else "—",
             "hours": tables.typed(tables.HOURS, incident.impact_seconds)}
            for incident in metrics.costliest_rows(costliest_ids, form.filters.viewer,
                                                   summary.generated_at)
        ],
        revenue_lost=[(currency, stakeholder.format_money(amount, currency))
                      for currency, amount in summary.revenue_lost],
    )


def _preset_links(request) -> list[dict]:
    keep = {key: request.GET[key] for key in ("severity", "service", "type")
            if request.GET.get(key)}
    return [{"name": name, "label": label, "url": "?" + urlencode({"preset": name, **keep}),
             "active": request.GET.get("preset") == name}
            for name, label in PRESETS.items()]


@require_GET
@login_required
@permission_required(EXPORT_REPORTS, raise_exception=True)
def export_csv(request):
    form, error = _parsed(request)
    if error:
        return error
    name = request.GET.get("table") or "incidents"
    if name not in tables.TABLES:
        return _bad_request(f"Unknown table “{name}”; choose one of {', '.join(tables.TABLES)}.")
    table = tables.report_table(name, form.period, form.filters)
    if table is None:
        return _bad_request(f"The {name.replace('_', ' ')} table is not available yet.")
    response = StreamingHttpResponse(exports.csv_lines(table), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{_filename(f"report-{name}", form, "csv")}"'
    )
    return response


@require_GET
@login_required
@permission_required(EXPORT_REPORTS, raise_exception=True)
def export_xlsx(request):
    form, error = _parsed(request)
    if error:
        return error
    filename = _filename("report", form, "xlsx")
    if background.builds_in_background(form):
        export = background.export_request(by=request.user, form=form, filename=filename)
        return redirect("reports:export_status", export_id=export.pk)
    now = timezone.now()
    with without_jit():
        summary = metrics.report_summary(form.period, form.filters, now)
        output = exports.xlsx_report(summary, form.period, form.filters, now)
    return FileResponse(output, as_attachment=True, content_type=XLSX_TYPE, filename=filename)


def _own_export(request, export_id) -> ReportExport:
    """The export, if `request.user` asked for it; 404 for anyone else's (or none)."""
    return get_object_or_404(ReportExport, pk=export_id, requested_by=request.user)


@require_GET
@login_required
@permission_required(EXPORT_REPORTS, raise_exception=True)
def export_status(request, export_id):
    """A background export's progress, refreshing itself until the download is ready."""
    export = _own_export(request, export_id)
    return render(request, "reports/export_status.html", {
        "export": export, "report_query": urlencode(export.query),
        "keep_hours": settings.REPORT_EXPORT_KEEP_HOURS,
    })


@require_GET
@login_required
@permission_required(EXPORT_REPORTS, raise_exception=True)
def export_download(request, export_id):
    export = _own_export(request, export_id)
    if export.state != ReportExport.State.READY:
        return redirect("reports:export_status", export_id=export.pk)
    try:
        workbook = export.file.open("rb")
    except FileNotFoundError:
        raise Http404("This export's file is gone; ask for the export again.") from None
    return FileResponse(workbook, as_attachment=True, content_type=XLSX_TYPE,
                        filename=export.filename)


@require_GET
@login_required
@permission_required(EXPORT_REPORTS, raise_exception=True)
def export_pdf(request):
    form, error = _parsed(request)
    if error:
        return error
    now = timezone.now()
    with without_jit():
        summary, trends = metrics.summary_and_trends(form.period, form.filters, now)
        document = pdf.report_pdf(summary, trends, form.period, form.filters, now)
    response = HttpResponse(document, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{_filename("report", form, "pdf")}"'
    return response


def _incident_summary(reference: str, user) -> stakeholder.IncidentSummary:
    try:
        return stakeholder.incident_summary(reference, user)
    except Incident.DoesNotExist:
        raise Http404(f"No incident {reference}.") from None


@require_GET
@login_required
@permission_required(EXPORT_REPORTS, raise_exception=True)
def incident_summary_pdf(request, reference: str):
    summary = _incident_summary(reference, request.user)
    response = HttpResponse(pdf.incident_summary_pdf(summary), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="{reference}-business-impact-summary.pdf"'
    )
    return response


@require_GET
@login_required
@permission_required(EXPORT_REPORTS, raise_exception=True)
def incident_summary_txt(request, reference: str):
    summary = _incident_summary(reference, request.user)
    return HttpResponse(summary.as_text(), content_type="text/plain; charset=utf-8")
