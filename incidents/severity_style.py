"""How a severity looks, by rank, wherever it is shown: its badge and the colour of its series
in the report charts, on the web page and in the PDF (the badge's colour, so readers can match
them; by rank, so a level keeps its colour whichever levels a chart shows)."""

BADGE_CLASSES = {0: "text-bg-danger", 1: "text-bg-warning", 2: "text-bg-info"}
OTHER_BADGE_CLASS = "text-bg-secondary"
# Bootstrap's danger, warning, info and secondary: the colours of those badges.
COLOURS = {0: "#dc3545", 1: "#ffc107", 2: "#0dcaf0"}
OTHER_COLOUR = "#6c757d"


def badge_class(rank: int) -> str:
    return BADGE_CLASSES.get(rank, OTHER_BADGE_CLASS)


def colour(rank: int) -> str:
    return COLOURS.get(rank, OTHER_COLOUR)
