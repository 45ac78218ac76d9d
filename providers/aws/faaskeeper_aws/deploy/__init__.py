"""``fk deploy``, ``fk remove`` and ``fk status`` on AWS: a CloudFormation stack driven with boto3.

* :mod:`.resources`: deploying (package, code bucket, stack, event source mappings, origin);
* :mod:`.template` (the stack's template), :mod:`.iam` (a role per function), :mod:`.logical`
  (the resources' logical ids), :mod:`.stack` (creating, updating and deleting the stack);
* :mod:`.package`: the functions' deployment package;
* :mod:`.buckets`: S3 buckets outside the stack's care; :mod:`.mappings`: the SQS event source
  mappings; :mod:`.txn_origin`: the origin transaction ids are shown from;
* :mod:`.remove` and :mod:`.status`;
* :mod:`.options`: the ``fk deploy --aws-...`` options; :mod:`.tunables`: the deployment's
  tunables read from the config (which the functions read on Lambda too).

Nothing is imported here, so the functions import :mod:`.tunables` without the deploy code.
"""
