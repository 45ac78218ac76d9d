"""The ``fk deploy --aws-...`` options of the AWS provider.

Apart from :mod:`faaskeeper_aws.deploy.tunables`, which the functions import on Lambda, where the plugin
machinery (pluggy) is not packaged.
"""

from __future__ import annotations

from faaskeeper.plugins.options import DeployOption, integer

#: ``fk deploy --aws-...`` options; each sets the config key the provider reads.
CLI_OPTIONS = [
    DeployOption("region", "deployment-region", "AWS region of the deployment, e.g. us-east-1", metavar="REGION"),
    DeployOption(
        "endpoint-url",
        "aws.endpoint-url",
        "endpoint of every AWS service, e.g. a moto server (default: boto3's, AWS_ENDPOINT_URL)",
        metavar="URL",
    ),
    DeployOption(
        "data-bucket", "aws.data-bucket", "S3 bucket of the nodes (default: faaskeeper-NAME-data)", metavar="BUCKET"
    ),
    DeployOption(
        "function-timeout",
        "aws.function-timeout",
        "seconds the writer and distributor may run (1-900, default 30)",
        integer,
        "SECONDS",
    ),
    DeployOption(
        "function-memory", "aws.function-memory", "MiB of memory per function (128-10240, default 512)", integer, "MIB"
    ),
    DeployOption(
        "heartbeat-timeout",
        "aws.heartbeat-timeout",
        "seconds the heartbeat function may run (1-900, default 60)",
        integer,
        "SECONDS",
    ),
    DeployOption(
        "visibility-timeout",
        "aws.visibility-timeout",
        "seconds SQS hides a message a function took (default 6x the function timeout)",
        integer,
        "SECONDS",
    ),
    DeployOption(
        "max-receive-count",
        "aws.max-receive-count",
        "receives of a message before SQS moves it to the dead-letter queue (default 5)",
        integer,
        "N",
    ),
]
