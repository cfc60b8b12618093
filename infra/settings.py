"""Settings from the environment (prefix ``PAPERLEDGER_``), with embedded defaults."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of a Paperledger process; unset services are started embedded."""

    model_config = SettingsConfigDict(env_prefix="PAPERLEDGER_", env_file=None)

    data_dir: Path = Field(default=Path("data"), description="Where all data lives.")
    database_url: str | None = Field(
        default=None, description="External PostgreSQL; unset starts one embedded."
    )
    nats_url: str | None = Field(
        default=None, description="External NATS with JetStream; unset embeds one."
    )
    opensearch_url: str | None = Field(
        default=None, description="OpenSearch cluster; unset searches in PostgreSQL."
    )
    opensearch_prefix: str = Field(
        default="paperledger",
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        description="Names of the OpenSearch aliases: <prefix>-documents, ...",
    )
    opensearch_timeout_seconds: float = Field(
        default=2.0, gt=0, description="Longest wait of a search for OpenSearch."
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8000, description="The one public HTTP port.")
    command_api_port: int = 8101
    query_api_port: int = 8102
    notifier_port: int = 8103
    docs_port: int = 8104
    command_api_url: str | None = Field(
        default=None, description="Where the docs service finds the command API."
    )
    query_api_url: str | None = Field(
        default=None, description="Where the docs service finds the query API."
    )
    postgres_port: int = 54329
    nats_port: int = 42229
    opensearch_port: int = Field(
        default=9200, description="HTTP port of `paperledger opensearch`."
    )
    opensearch_heap: str = Field(
        default="512m", pattern=r"^[0-9]+[mg]$", description="Embedded node heap."
    )
    opensearch_build_dir: Path | None = Field(
        default=None, description="Embedded OpenSearch build; default build/opensearch."
    )

    group_commit: bool = Field(
        default=True,
        description="Let concurrent commands share one event-store transaction.",
    )
    aggregate_cache_size: int = Field(
        default=10_000,
        ge=0,
        description="Aggregates the command API keeps in memory (0: none).",
    )
    max_pending_writes: int = Field(
        default=128,
        ge=1,
        description="Writes one command API process takes at once; more get 503.",
    )
    max_upload_bytes: int = Field(default=100 * 1024 * 1024, gt=0)
    default_lang: str = Field(default="eng", pattern=r"^[a-z]{3}(\+[a-z]{3})*$")
    tessdata_dir: Path | None = Field(
        default=None, description="Extra tesseract languages; default: bundled."
    )
    ocr_timeout_seconds: float = Field(default=600.0, gt=0)
    ocr_max_deliveries: int = Field(default=4, ge=1)
    ocr_jobs: int = Field(default=1, ge=1, description="Pages OCRed in parallel.")
    ocr_workers: int = Field(
        default=1, ge=0, description="OCR worker processes `paperledger up` starts."
    )
    ocr_ack_wait_seconds: float = Field(
        default=30.0, gt=0, description="Silence after which an upload is redelivered."
    )
    read_wait_seconds: float = Field(
        default=5.0, gt=0, description="Longest wait for read-your-writes."
    )
    log_level: str = "INFO"

    @property
    def resolved_data_dir(self) -> Path:
        """Returns the data directory as an absolute path."""
        return self.data_dir.expanduser().resolve()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Returns the settings of this process, read once from the environment."""
    return Settings()


class NotConfiguredError(RuntimeError):
    """Raised when a component starts without the service URLs it needs."""


def require(value: str | None, name: str) -> str:
    """Returns a service URL, or explains how to provide it."""
    if not value:
        raise NotConfiguredError(
            f"PAPERLEDGER_{name.upper()} is not set; start the system with "
            "`paperledger up`, which sets it, or point it at a running service"
        )
    return value
