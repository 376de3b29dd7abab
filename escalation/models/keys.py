"""Natural keys for configuration rows: a procedure file names rows by slug, never by id."""

from __future__ import annotations

from django.db import models
from django.utils.text import slugify


class SlugManager(models.Manager):
    def get_by_natural_key(self, slug: str):
        return self.get(slug=slug)


class SluggedModel(models.Model):
    """A configuration row found by its slug; a row saved without one takes it from its name."""

    slug = models.SlugField(max_length=60, unique=True)
    objects = SlugManager()

    class Meta:
        abstract = True

    def natural_key(self) -> tuple:
        return (self.slug,)

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.name)[:60]
        super().save(*args, **kwargs)
