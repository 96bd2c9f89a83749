"""Anomaly detection for indicator series: pure, streaming, explainable.

Public entry points: ``StreamingDetector`` (one series, point by point),
``BatchDetector`` (many series at once, same scores), the rule checks and
``missing_data`` in ``rules``, and ``csvrun.run_directory`` for ``detect-csv``.
"""

from backend.detection.detectors import BatchDetector, Score, StreamingDetector
from backend.detection.engine import DetectorConfig
from backend.detection.rules import Result, TargetRule, ThresholdRule, YoYRule, missing_data

__all__ = [
    "BatchDetector",
    "DetectorConfig",
    "Result",
    "Score",
    "StreamingDetector",
    "TargetRule",
    "ThresholdRule",
    "YoYRule",
    "missing_data",
]
