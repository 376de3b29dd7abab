"""`manage.py integration create KIND NAME`: an integration for automation; prints its endpoint
URL and secret (the only time the secret is shown). `manage.py integration rotate NAME`
prints a new secret."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from incidents.intake import services
from incidents.intake.models import Integration


def endpoint_url(integration: Integration) -> str:
    if integration.kind == Integration.Kind.PAGERDUTY:
        return settings.SITE_URL + reverse("intake:pagerduty_enqueue")
    return settings.SITE_URL + reverse("intake:receive",
                                       kwargs={"public_id": integration.public_id})


class Command(BaseCommand):
    help = "Create an alert integration (or rotate its secret) and print its endpoint and secret."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="action", required=True)
        create = commands.add_parser("create", help="create an integration")
        create.add_argument("kind", choices=Integration.Kind.values)
        create.add_argument("name")
        create.add_argument("--severity", help="default severity code, e.g. P2")
        rotate = commands.add_parser("rotate", help="give an integration a new secret")
        rotate.add_argument("name")

    def handle(self, *args, action: str, name: str, **options):
        if action == "rotate":
            integration = Integration.objects.filter(name=name).first()
            if integration is None:
                raise CommandError(f"No integration named “{name}”.")
            secret = services.integration_rotate_secret(integration, by=None)
        else:
            fields = {}
            if options.get("severity"):
                from incidents.models import SeverityLevel

                fields["default_severity"] = SeverityLevel.objects.filter(
                    code=options["severity"]).first()
                if fields["default_severity"] is None:
                    raise CommandError(f"No severity “{options['severity']}”.")
            try:
                integration, secret = services.integration_create(
                    by=None, name=name, kind=options["kind"], **fields)
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from None
        url = endpoint_url(integration)
        self.stdout.write(f"Integration: {integration.name} ({integration.get_kind_display()})")
        self.stdout.write(f"Endpoint:    {url}")
        self.stdout.write(f"Secret:      {secret}")
        if integration.kind == Integration.Kind.PAGERDUTY:
            self.stdout.write("Send the secret as the events' routing_key.")
        else:
            self.stdout.write("Send it as 'Authorization: Bearer <secret>', or post to "
                              f"{url}{secret}/ if the sender cannot set headers.")
