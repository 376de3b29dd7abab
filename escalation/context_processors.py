def inbox(request):
    """Unread in-app notification count for the navigation bar (`inbox_unread_count`).

    One indexed COUNT per rendered page, only for signed-in people."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from . import local_mail
    from .notifications import inbox_unread_count

    return {"inbox_unread_count": inbox_unread_count(user),
            "local_mail_enabled": local_mail.enabled()}
