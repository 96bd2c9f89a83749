"""Imports every domain's ORM models so that `metadata` is the whole schema."""

from __future__ import annotations

from backend.catalogue import models as catalogue_models
from backend.db import Base
from backend.health import models as health_models
from backend.observations import models as observations_models
from backend.registry import models as registry_models

metadata = Base.metadata

__all__ = ["catalogue_models", "health_models", "metadata", "observations_models", "registry_models"]
