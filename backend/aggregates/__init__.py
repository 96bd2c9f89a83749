"""Series and aggregates over the rollups: hierarchy, buckets, period comparisons."""
