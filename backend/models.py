"""Imports every domain's ORM models so that `metadata` is the whole schema."""

from __future__ import annotations

from backend.aggregates import models as aggregates_models
from backend.alerts import models as alerts_models
from backend.auth import models as auth_models
from backend.catalogue import models as catalogue_models
from backend.db import Base
from backend.health import models as health_models
from backend.ingestion import models as ingestion_models
from backend.leading_index import models as leading_index_models
from backend.notifications import models as notifications_models
from backend.observations import models as observations_models
from backend.registry import models as registry_models
from backend.reporting import models as reporting_models
from backend.statistics import models as statistics_models
from backend.targets import models as targets_models

metadata = Base.metadata

__all__ = ["aggregates_models", "alerts_models", "notifications_models", "auth_models", "leading_index_models", "targets_models", "catalogue_models", "health_models", "ingestion_models", "metadata", "observations_models", "registry_models", "reporting_models",
           "statistics_models"]
