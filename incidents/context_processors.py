from .selectors import firefighting_banner


def firefighting(request):
    """The firefighting banner every staff page shows while a top-severity incident is open."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"firefighting": firefighting_banner(request.user)}


def navigation(request):
    """Navigation links the user may follow; see incidents/navigation.py."""
    from .navigation import links_for

    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"nav_links": links_for(request.user)}
