def inbox(request):
    """Unread in-app notification count for the navigation bar."""
    return {}
