"""Checking ZooKeeper's guarantees on recorded histories: a recorder for client calls, random
workloads that produce histories, the checker, and a soak that runs them under faults.

``faaskeeper.check.checker.check(history)`` returns a report of every violation found.
"""
