"""FaaSKeeper on Google Cloud: Firestore storage, Pub/Sub queues, Cloud Functions entry points."""
