from .selectors import firefighting_incidents


def firefighting(request):
    """Open top-severity incidents, for the banner every staff page shows."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"firefighting_incidents": firefighting_incidents(request.user)}


def navigation(request):
    """Navigation links the user may follow; see incidents/navigation.py."""
    from .navigation import links_for

    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"nav_links": links_for(request.user)}
