"""Post-incident reviews and action items."""
