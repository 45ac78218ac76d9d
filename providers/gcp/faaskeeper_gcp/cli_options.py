"""The ``fk deploy --gcp-...`` options of the GCP provider; each sets a key of the ``"gcp"`` section."""

from __future__ import annotations

from faaskeeper.plugins.options import DeployOption, number

CLI_OPTIONS = [
    DeployOption(
        "project", "gcp.project", "Google Cloud project id (default: GOOGLE_CLOUD_PROJECT)", metavar="PROJECT"
    ),
    DeployOption(
        "functions-endpoint",
        "gcp.functions-endpoint",
        "http(s) URL where Pub/Sub pushes to the functions served by functions-framework",
        metavar="URL",
    ),
    DeployOption(
        "lock-max-hold",
        "gcp.lock-max-hold",
        "seconds a writer may hold a node lock before another takes it over (default 5)",
        number,
        "SECONDS",
    ),
]
