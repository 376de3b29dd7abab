"""The staff groups and what each may do. Migrations apply this; `grant` is shared with the
migrations of the other apps so every group is defined in one place per app."""

RESPONDER = [
    "incidents.view_incident",
    "incidents.declare_incident",
    "incidents.work_incident",
    "incidents.view_timelineentry",
    "incidents.add_timelineentry",
    "incidents.view_service",
    "incidents.view_severitylevel",
]
INCIDENT_MANAGER = RESPONDER + [
    "incidents.change_incident",
    "incidents.triage_incident",
    "incidents.close_incident",
    "incidents.reopen_incident",
    "incidents.cancel_incident",
    "incidents.change_incident_severity",
    "incidents.assign_incident_roles",
    "incidents.change_timelineentry",
]
MANAGER = INCIDENT_MANAGER + [
    "incidents.add_severitylevel",
    "incidents.change_severitylevel",
    "incidents.add_service",
    "incidents.change_service",
    "incidents.view_reports",
    "incidents.export_reports",
]
PRODUCT_MANAGER = [
    "incidents.view_incident",
    "incidents.view_timelineentry",
    "incidents.view_service",
    "incidents.view_severitylevel",
    "incidents.view_reports",
    "incidents.export_reports",
]

# Added after the groups were first created (migration 0005): managers switch procedures.
MANAGER_PROCEDURES = ["incidents.view_procedurerevision", "incidents.switch_procedure"]

GROUPS = {
    "Responder": RESPONDER,
    "Incident manager": INCIDENT_MANAGER,
    "Manager": MANAGER,
    "Product manager": PRODUCT_MANAGER,
}

# Granted by later migrations (the models did not exist when GROUPS was first applied).
PROCEDURE_VIEW = ["incidents.view_incidenttype"]
ROLES_VIEW = ["incidents.view_incidentrole", "incidents.view_rolerequirement",
              "incidents.view_incidentroleassignment"]
ROLES_MANAGE = ["incidents.add_incidentrole", "incidents.change_incidentrole",
                "incidents.add_rolerequirement", "incidents.change_rolerequirement",
                "incidents.delete_rolerequirement"]
ROLE_GROUPS = {
    "Responder": ROLES_VIEW,
    "Incident manager": ROLES_VIEW,
    "Manager": ROLES_VIEW + ROLES_MANAGE,
    "Product manager": ROLES_VIEW,
}
PROCEDURE_GROUPS = {
    "Responder": PROCEDURE_VIEW,
    "Incident manager": PROCEDURE_VIEW,
    "Manager": PROCEDURE_VIEW + ["incidents.add_incidenttype", "incidents.change_incidenttype"],
    "Product manager": PROCEDURE_VIEW,
}


def grant(apps, group_permissions: dict[str, list[str]]) -> None:
    """Create the groups if needed and give them the permissions ("app_label.codename").

    For data migrations: creates the permissions first, since Django only does that after the
    whole migrate run."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, perms in group_permissions.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        for perm in perms:
            app_label, codename = perm.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


# Added with restricted incidents (migration 0005); kept apart from GROUPS, which migration
# 0002 grants before these permissions exist.
VISIBILITY_GROUPS = {
    "Incident manager": ["incidents.change_incident_visibility"],
    "Manager": ["incidents.change_incident_visibility"],
}

# Login records (django-axes, migration 0010): managers see successful and failed logins and
# unlock a locked account by deleting its access attempts.
LOGIN_RECORD_GROUPS = {
    "Manager": ["axes.view_accessattempt", "axes.delete_accessattempt", "axes.view_accesslog",
                "axes.view_accessfailurelog"],
}
