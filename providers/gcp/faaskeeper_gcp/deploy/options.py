"""The ``fk deploy --gcp-...`` options of the GCP provider; each sets a key of the ``"gcp"`` section."""

from __future__ import annotations

from faaskeeper.plugins.options import DeployOption, integer, number

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
        "region", "gcp.region", "region of the Cloud Functions and the scheduler job (us-east1)", metavar="REGION"
    ),
    DeployOption(
        "service-account",
        "gcp.service-account",
        "service account the Cloud Functions run as and Pub/Sub pushes to them with (a real project)",
        metavar="EMAIL",
    ),
    DeployOption("function-memory", "gcp.function-memory", "MiB of each Cloud Function (512)", integer, "MIB"),
    DeployOption(
        "function-timeout", "gcp.function-timeout", "seconds a Cloud Function may run (540)", integer, "SECONDS"
    ),
    DeployOption(
        "lock-max-hold",
        "gcp.lock-max-hold",
        "seconds a writer may hold a node lock before another takes it over (default 5)",
        number,
        "SECONDS",
    ),
]
