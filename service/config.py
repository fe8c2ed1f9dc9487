"""Service settings: environment (``CIVICWATCH_*``, plus ``DATABASE_URL`` as is), an optional
YAML/TOML file named by ``CIVICWATCH_CONFIG``, then defaults.

Precedence (highest first): keyword arguments, environment, config file, defaults. Paths that
depend on ``data_dir`` are derived properties so that moving the data folder moves everything.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
    YamlConfigSettingsSource,
)

CONFIG_ENV = "CIVICWATCH_CONFIG"
GIB = 1024**3
# the databases the service ships a driver for (psycopg 3; SQLite is built in)
DATABASE_SCHEMES = ("sqlite", "postgres", "postgresql", "postgresql+psycopg")


def settings_error_text(err: Exception) -> str:
    """What is wrong with the settings, each bad one named, without the values given.

    pydantic's own text repeats every rejected value (``input_value='redis://:password@cache'``),
    which put a broker's or database's password on stderr and into the init system's journal."""
    if not isinstance(err, ValidationError):
        return str(err)
    problems = err.errors(include_input=False, include_url=False)
    return "; ".join(f"{'.'.join(str(part) for part in e['loc']) or 'settings'}: {e['msg']}" for e in problems)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CIVICWATCH_", extra="ignore", populate_by_name=True)

    data_dir: Path = Path("./var")
    # ``DATABASE_URL`` is read without the prefix (12-factor convention); ``None`` = SQLite in data_dir.
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "CIVICWATCH_DATABASE_URL", "database_url")
    )
    max_upload_bytes: int = Field(default=8 * GIB, gt=0)
    # Read/write granularity for streamed uploads, hashing and downloads.
    chunk_size: int = Field(default=1024 * 1024, gt=0)
    # Signs nothing the client can forge on its own; it keys the HMAC under which session ids are
    # stored, so rotating it logs everybody out. Generated into data_dir/secret_key when unset.
    secret_key: str | None = None
    session_cookie_secure: bool = False
    session_ttl_s: int = Field(default=12 * 3600, gt=0)
    redaction_policy: Literal["bystanders", "all", "none"] = "bystanders"
    default_language: Literal["zh-CN", "en"] = "zh-CN"
    # The installation's IANA time zone. The audit log (its date filters, the admin page and the
    # CSV) is in it: an entry belongs to no camera, and a log read in UTC misdates the first hours
    # of a Chinese day. An offence's time stays in its camera's zone (the scene's ``timezone``).
    timezone: str = Field(default="Asia/Shanghai", min_length=1, max_length=64)
    # How long an exposure screen that cannot reach the service keeps showing its cases: past it,
    # none of them is confirmed still published (one may have been withdrawn), so the screen
    # shows a neutral notice instead until the service answers again.
    screen_offline_max_s: int = Field(default=300, ge=10, le=86400)
    # Created as user ``admin`` on a start that finds no users at all.
    admin_password: str | None = None
    # Take the client IP from X-Forwarded-For: its last entry, the one your own proxy appended
    # (only behind such a proxy; else a client names its own address).
    trust_forwarded_for: bool = False
    # Origins (``https://review.example.org``) besides the one a request arrives on that may send
    # cookie-authenticated POST/PUT/PATCH/DELETE: behind a proxy that rewrites Host or terminates TLS.
    allowed_origins: list[str] = Field(default_factory=list)
    # Failed logins tolerated per user name and per client IP within the window before 429.
    login_max_failures: int = Field(default=5, ge=1)
    login_window_s: int = Field(default=300, gt=0)
    # Job runner: "inprocess" (a worker thread in the web process), "celery" (a pool of
    # ``civicwatch worker`` processes fed through the broker: service.jobs.celery_app) or "none" (API only).
    runner: Literal["inprocess", "celery", "none"] = "inprocess"
    # Tries per job (and per segment of a split job): a crash, a lost worker or, on the Celery
    # pool, an error each count; the last try's error is the job's.
    job_max_attempts: int = Field(default=3, ge=1)
    job_poll_s: float = Field(default=1.0, gt=0)
    # A worker renews the lease on its running job every third of this; a job whose lease ran out
    # belongs to a dead worker and goes back to the queue (another ``serve`` never steals a live one).
    job_lease_s: float = Field(default=60.0, gt=0)
    # How long a clean stop waits for the job in progress before handing it back to the queue.
    job_stop_timeout_s: float = Field(default=30.0, ge=0)
    # A running analysis that has not called back (progress or cancel check) for this long is hung
    # (a stuck decoder, a deadlock, storage that does not answer): the job fails as ``job_stalled``
    # and its worker is freed (service.jobs.stall). Generous: the pipeline calls back every frame.
    # 0 = never.
    job_stall_s: float = Field(default=1800.0, ge=0)
    # The worker pool (runner "celery", ``civicwatch worker``): Redis as the Celery broker. Redis
    # hands a task not acknowledged within the visibility timeout to another worker; tasks are
    # acknowledged at their end, so it must outlast the longest segment's run (README "Worker pool").
    broker_url: str = "redis://127.0.0.1:6379/0"
    broker_visibility_timeout_s: float = Field(default=7200.0, gt=0)
    # Uploads longer than split_min_s are cut into segments of segment_s, analysed in parallel by
    # the pool (each reads the pre-roll its rules need before its own span: detector.segments).
    segment_s: float = Field(default=60.0, gt=0)
    split_min_s: float = Field(default=90.0, gt=0)
    # When set, GET /metrics answers only requests carrying ``Authorization: Bearer <token>``
    # (Prometheus: ``authorization: {credentials: <token>}``): it names every live camera and
    # counts cases by state, which a network shared with street screens need not read. Unset:
    # open, as before.
    metrics_token: str | None = Field(default=None, min_length=16)
    # A ``civicwatch worker`` serves its Prometheus metrics on this port (0 = none), on this
    # address: every interface by default, for a Prometheus on another machine to scrape the pool;
    # 127.0.0.1 keeps the figures on the worker's own machine (a scraper or agent beside it).
    worker_metrics_port: int = Field(default=9540, ge=0, lt=65536)
    worker_metrics_host: str = "0.0.0.0"
    # runner "celery": how often the web process checks for queued work the broker no longer holds
    # (a broker restarted empty, a publish that failed while it was down) and sends it again.
    republish_interval_s: float = Field(default=60.0, gt=0)
    # The review queue's case list is served from a per-process micro-cache for this long (0 = off),
    # forgotten at once when this process changes a case (service.list_cache).
    queue_cache_ttl_s: float = Field(default=1.0, ge=0)
    # The janitor (service.janitor): at start-up and every interval (0 = only at start-up) it
    # removes what crashed or abandoned work left behind, each only past its age.
    janitor_interval_s: float = Field(default=3600.0, ge=0)
    orphan_part_age_s: float = Field(default=6 * 3600.0, gt=0)  # partial/form-*.part, *.accepting
    upload_session_ttl_s: float = Field(default=7 * 24 * 3600.0, gt=0)  # untouched resumable sessions
    orphan_run_age_s: float = Field(default=3600.0, gt=0)  # jobs/<id>/run-N no case and no live or done job refers to
    # Every case's evidence and published media read again in full this often (0 = never), so a
    # change no stat shows (bit rot, a raw disk edit) fails the cached checks too (service.integrity_scrub).
    integrity_scrub_interval_s: float = Field(default=24 * 3600.0, ge=0)
    # /healthz reports "unavailable" (503) when the data folder's disk has less free space.
    min_free_disk_bytes: int = Field(default=1 * GIB, ge=0)
    # Keyword arguments for detector.pipeline.AnalyzeOptions.
    analyze_options: dict[str, Any] = Field(default_factory=dict)
    # Repeated views of the same original evidence by the same person within this window (e.g.
    # the player's range requests while scrubbing) produce one audit entry; 0 = audit every request.
    audit_view_window_s: int = Field(default=300, ge=0)
    # A reviewer may take back their own approval or rejection for this long after making it
    # (POST /api/cases/{id}/undo; the review page offers it in the toast); 0 = no undo.
    undo_window_s: int = Field(default=30, ge=0)
    # Ed25519 key that signs analysis manifests and case exports (its public half is served at
    # /api/signing-key). Unset: data_dir/signing-key.pem, created on first start with mode 600.
    signing_key: Path | None = None
    # Case events (service.events), off unless set: MQTT messages on <mqtt_topic_prefix>/cases/<event>
    # and JSON POSTs to each webhook URL signed with HMAC-SHA256 of the body under webhook_secret.
    mqtt_host: str | None = None
    mqtt_port: int = Field(default=1883, gt=0, lt=65536)
    mqtt_topic_prefix: str = Field(default="civicwatch", min_length=1, pattern=r"^[^#+]+$")
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    webhook_urls: list[str] = Field(default_factory=list)
    webhook_secret: str | None = None
    webhook_timeout_s: float = Field(default=5.0, gt=0)
    webhook_max_attempts: int = Field(default=4, ge=1)
    webhook_backoff_s: float = Field(default=1.0, ge=0)  # doubled after each failed attempt
    # Where case evidence and published media live (service.blobstore): "local" = under data_dir
    # (the layout of every earlier version), "s3" = a bucket of an S3-compatible server, keys the
    # same relative paths under ``s3_prefix``. Credentials unset: boto3's own chain (AWS_* variables,
    # ~/.aws, instance roles).
    storage: Literal["local", "s3"] = "local"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None  # e.g. http://minio:9000; unset = AWS itself
    s3_region: str = "us-east-1"
    s3_prefix: str = Field(default="", pattern=r"^([^/].*/)?$")  # "" or "name/" (ends with a slash)
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_addressing_style: Literal["auto", "path", "virtual"] = "path"  # path: MinIO, Ceph, moto
    # Live cameras (service.live): cameras with a stream URL recorded inside the service, at most
    # this many (0: none; a separate ``civicwatch record --camera ID`` process per camera instead),
    # in segments of ``live_segment_s`` under data_dir/live. Rolling footage is deleted after
    # ``live_retention_days`` or, oldest first, while it takes more than ``live_disk_budget_bytes``
    # (0: no budget); case evidence is a separate store and never deleted by retention.
    live_in_service: int = Field(default=0, ge=0)
    live_segment_s: float = Field(default=60.0, ge=1.0)
    live_retention_days: float = Field(default=7.0, gt=0)
    live_disk_budget_bytes: int = Field(default=0, ge=0)
    live_heartbeat_s: float = Field(default=5.0, gt=0)
    # Camera-state notices (service.live.notices) on the case events' channels: a camera is announced
    # offline once it has delivered no pictures for ``camera_offline_after_s`` (shorter drops, and
    # a flapping camera's reconnects, announce nothing), and online again once it has delivered
    # pictures for ``camera_online_after_s`` without a break; the cameras are looked at every
    # ``camera_notice_poll_s``.
    camera_offline_after_s: float = Field(default=120.0, ge=0)
    camera_online_after_s: float = Field(default=30.0, ge=0)
    camera_notice_poll_s: float = Field(default=5.0, gt=0)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone: unknown IANA time zone {v!r} (e.g. Asia/Shanghai)") from None
        return v

    @field_validator("webhook_urls")
    @classmethod
    def _http_urls(cls, v: list[str]) -> list[str]:
        bad = [u for u in v if not u.lower().startswith(("http://", "https://"))]
        if bad:
            raise ValueError(f"webhook_urls must be http(s) URLs: {bad}")
        return v

    @model_validator(mode="after")
    def _webhooks_are_signed(self) -> "Settings":
        if self.webhook_urls and not self.webhook_secret:
            raise ValueError("webhook_urls needs webhook_secret: receivers check the signature with it")
        return self

    @model_validator(mode="after")
    def _bucket_named(self) -> "Settings":
        if self.storage == "s3" and not self.s3_bucket:
            raise ValueError("storage: s3 needs s3_bucket")
        return self

    @field_validator("broker_url")
    @classmethod
    def _broker_is_redis(cls, v: str) -> str:
        # Celery's transport is chosen by the scheme, and the pool's queue depth reads Redis itself:
        # anything else fails deep inside Celery (KeyError: No such transport) at a worker's start.
        if v.split("://", 1)[0].lower() not in ("redis", "rediss", "redis+socket") or "://" not in v:
            raise ValueError(f"broker_url must be a redis://, rediss:// or redis+socket:// URL, not {v.split('://', 1)[0]!r}")
        return v

    @field_validator("worker_metrics_host")
    @classmethod
    def _metrics_host_is_an_address(cls, v: str) -> str:
        # An address, not a name: a typo would otherwise surface as a resolver error at the
        # worker's start, after the settings were accepted.
        try:
            return str(ipaddress.ip_address(v.strip()))
        except ValueError:
            raise ValueError(f"worker_metrics_host must be an IP address of this machine (0.0.0.0 for all), not {v!r}") from None

    @field_validator("s3_endpoint_url")
    @classmethod
    def _endpoint_is_http(cls, v: str | None) -> str | None:
        # boto3 refuses anything else only when the store is first used: every evidence request
        # would be a 500 and every analysis would fail at its commit.
        if not v:
            return None
        try:
            parts = urlsplit(v)
            parts.port  # noqa: B018 - raises for a port that is not 0-65535
        except ValueError as err:
            raise ValueError(f"s3_endpoint_url: not a URL ({err})") from None
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(f"s3_endpoint_url must be an http:// or https:// URL with a host (e.g. http://minio:9000), not {v!r}")
        return v

    @field_validator("database_url")
    @classmethod
    def _sqlite_or_postgresql(cls, v: str | None) -> str | None:
        # Any other scheme (mysql://, a typo, a bare host name) failed only when the service built
        # its engine: a traceback about a missing driver module, after the settings had "passed".
        if not v:
            return None
        scheme = v.split("://", 1)[0].lower() if "://" in v else ""
        if scheme not in DATABASE_SCHEMES:
            raise ValueError("DATABASE_URL must be postgresql://user@host:5432/db (PostgreSQL) or "
                             f"sqlite:///path/to/file.sqlite3, not a URL with scheme {scheme or '(none)'!r}")
        return v

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = os.environ.get(CONFIG_ENV)
        if path:
            p = Path(path)
            if not p.is_file():
                raise ValueError(f"{CONFIG_ENV}={path}: no such file")
            if p.suffix.lower() == ".toml":
                sources.append(TomlConfigSettingsSource(settings_cls, toml_file=p))
            elif p.suffix.lower() in (".yaml", ".yml"):
                sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=p))
            else:
                raise ValueError(f"{CONFIG_ENV}={path}: use a .yaml, .yml or .toml file")
        return tuple(sources)

    # ---- derived locations -------------------------------------------------------------
    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'civicwatch.sqlite3'}"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def partial_dir(self) -> Path:
        """Resumable upload sessions' ``.part`` files and in-flight single-request uploads."""
        return self.data_dir / "partial"

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    @property
    def cameras_dir(self) -> Path:
        return self.data_dir / "cameras"

    @property
    def live_dir(self) -> Path:
        """Rolling footage of live cameras: ``<camera>/segments`` and ``<camera>/windows``."""
        return self.data_dir / "live"

    @property
    def published_dir(self) -> Path:
        return self.data_dir / "published"

    @property
    def signing_key_path(self) -> Path:
        return self.signing_key or self.data_dir / "signing-key.pem"

    def ensure_dirs(self) -> None:
        for d in (self.data_dir, self.uploads_dir, self.partial_dir, self.jobs_dir, self.cameras_dir, self.published_dir):
            d.mkdir(parents=True, exist_ok=True)

    def resolved_secret_key(self) -> str:
        """The configured key, else the one persisted in data_dir (created on first use)."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.is_file():
            return path.read_text(encoding="ascii").strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(key)
        self.secret_key = key
        return key
