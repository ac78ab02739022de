"""The execution core (Task, RecordCollector), shared by the test driver and the Kafka runtime."""

from kstreamy.runtime.record_collector import ListRecordCollector, RecordCollector
from kstreamy.runtime.task import Task, task_config

__all__ = ["ListRecordCollector", "RecordCollector", "Task", "task_config"]
