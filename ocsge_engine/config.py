"""Engine settings: paths resolved once, overridable by environment variables.

``OCSGE_DATA_DIR``: folder with the reference tables and demo inputs (default: the repo's ``data/``).
``OCSGE_STORE_DIR``: the store the dashboard and CLI open by default (default: ``data/store``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


@dataclass(frozen=True)
class Settings:
    """Frozen engine settings.

    Attributes:
        data_dir: reference tables (``reference/``) and demo inputs.
        store_dir: default store location.
    """

    data_dir: Path = field(default_factory=lambda: _env_path("OCSGE_DATA_DIR", REPO_ROOT / "data"))
    store_dir: Path = field(
        default_factory=lambda: _env_path("OCSGE_STORE_DIR", REPO_ROOT / "data" / "store")
    )

    @property
    def reference_dir(self) -> Path:
        """Folder of the nomenclature and decree tables."""
        return self.data_dir / "reference"

    def __post_init__(self) -> None:
        if not (self.data_dir / "reference").is_dir():
            raise FileNotFoundError(f"reference tables not found under {self.data_dir}")


def get_settings() -> Settings:
    """Return settings read from the environment now."""
    return Settings()
