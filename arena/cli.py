"""What the Django-free command-line tools share (`python -m arena.ratings`,
`python -m arena.judges.agreement`): one-line errors, and telling Parquet from JSONL."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn

PARQUET_MAGIC = b"PAR1"


class OneLineErrorParser(argparse.ArgumentParser):
    """Bad arguments print one line and exit 2, instead of the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def is_parquet(path: Path) -> bool:
    """Parquet or not, by content (a file's name says nothing). Raises OSError."""
    with path.open("rb") as handle:
        return handle.read(len(PARQUET_MAGIC)) == PARQUET_MAGIC
