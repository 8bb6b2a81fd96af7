"""Agreement between judges and human raters: metrics, confusion matrices, reports.

Pure numpy + pyarrow, no Django: the CLI (`python -m arena.judges.agreement`) and
the judges app share this code. See arena/judges/README.md.
"""

from __future__ import annotations

from arena.judges.agreement.labels import (
    DIMENSIONS,
    ORDERS,
    AgreementInputError,
    LabelTable,
    read_labels,
)
from arena.judges.agreement.metrics import (
    LABEL_SETS,
    LABELS,
    THREE_CLASS_LABELS,
    Confusion,
    Metrics,
    metrics_from_confusion,
)
from arena.judges.agreement.report import (
    AccuracyInterval,
    AgreementReport,
    PositionConsistency,
    agreement_metrics,
    agreement_report,
    confusion_matrices,
)

__all__ = [
    "DIMENSIONS",
    "LABELS",
    "LABEL_SETS",
    "ORDERS",
    "THREE_CLASS_LABELS",
    "AccuracyInterval",
    "AgreementInputError",
    "AgreementReport",
    "Confusion",
    "LabelTable",
    "Metrics",
    "PositionConsistency",
    "agreement_metrics",
    "agreement_report",
    "confusion_matrices",
    "metrics_from_confusion",
    "read_labels",
]
