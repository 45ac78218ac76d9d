"""FaaSKeeper on AWS: DynamoDB system storage, S3 or DynamoDB user storage, SQS FIFO queues, Lambda.

The package is laid out by role, as every provider is: :mod:`.plugin`, :mod:`.provider`,
:mod:`.deployment`, :mod:`.settings`, :mod:`.errors`, :mod:`.names`, :mod:`.storage`,
:mod:`.queues`, :mod:`.channel`, :mod:`.functions`, :mod:`.deploy`, :mod:`.cost` and
:mod:`.emulator`. The client channel sends its messages as the queues do, through
:mod:`.queues.payload` (SQS message bodies, large ones offloaded to S3).
"""
