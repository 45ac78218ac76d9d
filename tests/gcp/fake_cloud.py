"""Stand-ins for the Cloud Functions v2 and Cloud Scheduler clients, which no emulator serves.

They keep what they were asked in ``requests`` and hold the functions and jobs they were asked to
make. Every request is first converted to the client library's own request message, so a field
or enum name the real API does not know fails here as it would there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from google.api_core import exceptions as google_errors
from google.cloud import functions_v2, scheduler_v1

from faaskeeper_gcp.deploy.cloud_apis import CloudApis


@dataclass
class Done:
    """A long-running operation that has finished."""

    value: Any

    def result(self, timeout: float | None = None) -> Any:
        return self.value


@dataclass
class FakeFunctions:
    requests: list[tuple[str, Any]] = field(default_factory=list)
    functions: dict[str, functions_v2.Function] = field(default_factory=dict)
    uploads: int = 0
    #: Raised by the next create or update, if set.
    failure: Exception | None = None

    def generate_upload_url(self, request: dict[str, Any]) -> functions_v2.GenerateUploadUrlResponse:
        self.requests.append(("generate_upload_url", functions_v2.GenerateUploadUrlRequest(request)))
        self.uploads += 1
        return functions_v2.GenerateUploadUrlResponse(
            upload_url=f"https://storage.googleapis.com/uploads/{self.uploads}?signed",
            storage_source=functions_v2.StorageSource(bucket="gcf-v2-uploads", object_=f"{self.uploads}.zip"),
        )

    def get_function(self, request: dict[str, Any]) -> functions_v2.Function:
        name = functions_v2.GetFunctionRequest(request).name
        if name not in self.functions:
            raise google_errors.NotFound(f"Function {name} does not exist")
        return self.functions[name]

    def _store(self, function: functions_v2.Function) -> Done:
        if self.failure is not None:
            failure, self.failure = self.failure, None
            raise failure
        function.state = functions_v2.Function.State.ACTIVE  # type: ignore[assignment]
        function.service_config.uri = f"https://{function.name.rsplit('/', 1)[1]}-xyz-ue.a.run.app"
        self.functions[function.name] = function
        return Done(function)

    def create_function(self, request: dict[str, Any]) -> Done:
        message = functions_v2.CreateFunctionRequest(request)
        self.requests.append(("create_function", message))
        assert message.function.name == f"{message.parent}/functions/{message.function_id}"
        return self._store(functions_v2.Function(message.function))

    def update_function(self, request: dict[str, Any]) -> Done:
        message = functions_v2.UpdateFunctionRequest(request)
        self.requests.append(("update_function", message))
        assert message.function.name in self.functions
        return self._store(functions_v2.Function(message.function))

    def delete_function(self, request: dict[str, Any]) -> Done:
        name = functions_v2.DeleteFunctionRequest(request).name
        self.requests.append(("delete_function", name))
        if self.functions.pop(name, None) is None:
            raise google_errors.NotFound(f"Function {name} does not exist")
        return Done(None)

    def called(self, method: str) -> list[Any]:
        return [request for name, request in self.requests if name == method]


@dataclass
class FakeScheduler:
    requests: list[tuple[str, Any]] = field(default_factory=list)
    jobs: dict[str, scheduler_v1.Job] = field(default_factory=dict)

    def get_job(self, request: dict[str, Any]) -> scheduler_v1.Job:
        name = scheduler_v1.GetJobRequest(request).name
        if name not in self.jobs:
            raise google_errors.NotFound(f"Job {name} not found")
        return self.jobs[name]

    def create_job(self, request: dict[str, Any]) -> scheduler_v1.Job:
        message = scheduler_v1.CreateJobRequest(request)
        self.requests.append(("create_job", message))
        if message.job.name in self.jobs:
            raise google_errors.AlreadyExists(f"Job {message.job.name} already exists")
        job = scheduler_v1.Job(message.job)
        job.state = scheduler_v1.Job.State.ENABLED  # type: ignore[assignment]
        self.jobs[job.name] = job
        return job

    def update_job(self, request: dict[str, Any]) -> scheduler_v1.Job:
        message = scheduler_v1.UpdateJobRequest(request)
        self.requests.append(("update_job", message))
        job = scheduler_v1.Job(message.job)
        job.state = scheduler_v1.Job.State.ENABLED  # type: ignore[assignment]
        self.jobs[job.name] = job
        return job

    def delete_job(self, request: dict[str, Any]) -> None:
        name = scheduler_v1.DeleteJobRequest(request).name
        self.requests.append(("delete_job", name))
        if self.jobs.pop(name, None) is None:
            raise google_errors.NotFound(f"Job {name} not found")

    def called(self, method: str) -> list[Any]:
        return [request for name, request in self.requests if name == method]


@dataclass
class FakeCloud:
    functions: FakeFunctions = field(default_factory=FakeFunctions)
    scheduler: FakeScheduler = field(default_factory=FakeScheduler)
    #: (signed URL, archive bytes) of each upload.
    uploaded: list[tuple[str, bytes]] = field(default_factory=list)

    def apis(self) -> CloudApis:
        return CloudApis(
            functions=self.functions,
            scheduler=self.scheduler,
            upload=lambda url, data: self.uploaded.append((url, data)),
        )
