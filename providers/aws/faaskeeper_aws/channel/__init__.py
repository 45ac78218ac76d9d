"""The client channel on AWS: TCP push, or a client's own SQS FIFO queues.

* :mod:`.server`: the function side, sending to a client (:class:`AwsClientChannel`);
* :mod:`.listener`: the client side over SQS, long-polling the client's inbox (:class:`SqsListener`);
* :mod:`.client_queues`: a client's own queues, their names, lifecycle and sweeping.
"""
