"""FaaSKeeper on AWS: DynamoDB system storage, S3 or DynamoDB user storage, SQS FIFO queues, Lambda."""
