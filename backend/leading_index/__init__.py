"""The leading-indicator index (先行指标指数) and the district evaluation (调度评价)."""
