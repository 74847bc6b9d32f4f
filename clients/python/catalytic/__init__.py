"""Catalytic for Python: a thin layer over the generated client.

`catalytic_api_client` is generated from docs/openapi.json
(scripts/clients.sh): every route, with typed models. This module adds what
generation does not give: submit and wait (the API's long-poll), bulk
submit, downloads of stored result parts, webhook signature checks, and
errors that carry the API's problem body and `Retry-After`.

    from catalytic import Catalytic

    api = Catalytic("https://catalytic.example", api_key="clc_...")
    job = api.submit_and_wait({
        "lattice": {"dimensions": 2, "size": 10},
        "operation": "shortest_path",
        "params": {"start": [0, 0], "end": [9, 9]},
    })
    print(job["result"]["length"])  # 18
"""

from __future__ import annotations

import time
from typing import Any, BinaryIO, Mapping

import httpx
import standardwebhooks

from catalytic_api_client import AuthenticatedClient

__all__ = ["Catalytic", "CatalyticError", "JobFailed", "verify_webhook"]

TERMINAL = {"succeeded", "failed", "cancelled"}
# The API's long-poll waits at most this long per request.
MAX_WAIT_SECS = 60


class CatalyticError(Exception):
    """The API refused a request: its HTTP status, its problem body
    (application/problem+json: `title`, `detail`, `errors` naming each
    invalid field, `limit` for plan limits) and `Retry-After` in seconds
    when it sent one (429, 503)."""

    def __init__(self, status: int, problem: dict[str, Any], retry_after: float | None):
        self.status = status
        self.problem = problem
        self.retry_after = retry_after
        detail = problem.get("detail") or problem.get("title") or "no detail"
        super().__init__(f"HTTP {status}: {detail}")

    @property
    def fields(self) -> list[str]:
        """The fields a 422 names (`lattice.size`, `jobs[2].params.end`)."""
        return [e.get("field", "") for e in self.problem.get("errors", [])]


class JobFailed(Exception):
    """`submit_and_wait` on a job that ended failed or cancelled."""

    def __init__(self, job: dict[str, Any]):
        self.job = job
        error = job.get("error") or {}
        super().__init__(f"job {job.get('id')} {job.get('status')}: {error.get('message', error)}")


def _raise_for(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        problem = response.json()
    except ValueError:
        problem = {"detail": response.text}
    retry = response.headers.get("retry-after")
    raise CatalyticError(response.status_code, problem, float(retry) if retry else None)


class Catalytic:
    """A tenant's handle on the API, with an API key (`clc_...`) or an
    access token. `generated` is the generated client on the same
    connection, for every route this layer does not wrap."""

    def __init__(self, base_url: str, api_key: str, timeout: float = 75.0):
        self.generated = AuthenticatedClient(
            base_url=base_url.rstrip("/"),
            token=api_key,
            timeout=httpx.Timeout(timeout),
            raise_on_unexpected_status=False,
        )
        self._http = self.generated.get_httpx_client()

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        _raise_for(response)
        return response.json() if response.content else None

    def submit(self, job: Mapping[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        """`POST /v1/jobs`: `{id, status, location}` (`existing: true` when a
        unique job's key answered an existing job)."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self._json("POST", "/v1/jobs", json=dict(job), headers=headers)

    def submit_batch(
        self, jobs: list[Mapping[str, Any]], idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """`POST /v1/jobs/batch` (1-1,000 jobs): `{accepted, refused, results}`,
        one result per job in order (its id, or its problem naming
        `jobs[i].field`)."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self._json("POST", "/v1/jobs/batch", json={"jobs": [dict(j) for j in jobs]}, headers=headers)

    def get(self, job_id: str, wait: int | None = None) -> dict[str, Any]:
        """`GET /v1/jobs/{id}`; with `wait` (0-60 s) it answers as soon as the
        job ends, or after that long with its state then."""
        params = {"wait": str(wait)} if wait is not None else {}
        return self._json("GET", f"/v1/jobs/{job_id}", params=params)

    def wait(self, job_id: str, timeout: float | None = None) -> dict[str, Any]:
        """The job once it has ended (succeeded, failed or cancelled), by
        long-polls; TimeoutError after `timeout` seconds. A 429 or 503 is
        waited out as its `Retry-After` says."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = MAX_WAIT_SECS if deadline is None else deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"job {job_id} had not ended after {timeout} s")
            try:
                job = self.get(job_id, wait=max(0, min(MAX_WAIT_SECS, int(left))))
            except CatalyticError as e:
                if e.status in (429, 503) and e.retry_after is not None:
                    time.sleep(e.retry_after)
                    continue
                raise
            if job["status"] in TERMINAL:
                return job

    def submit_and_wait(
        self, job: Mapping[str, Any], timeout: float | None = None, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """Submits `job` and waits for it; returns the succeeded job, raises
        JobFailed if it failed or was cancelled."""
        accepted = self.submit(job, idempotency_key=idempotency_key)
        done = self.wait(accepted["id"], timeout=timeout)
        if done["status"] != "succeeded":
            raise JobFailed(done)
        return done

    def cancel(self, job_id: str) -> dict[str, Any]:
        """`POST /v1/jobs/{id}/cancel`: the job, now cancelled."""
        return self._json("POST", f"/v1/jobs/{job_id}/cancel")

    def delete(self, job_id: str) -> None:
        """`DELETE /v1/jobs/{id}`: a finished job and its result, erased."""
        self._json("DELETE", f"/v1/jobs/{job_id}")

    def download(self, job_id: str, part: str, out: BinaryIO) -> int:
        """Streams a stored result part (`result["parts"]`, e.g. `field`, a
        .npy file numpy.load opens) into `out`; returns the bytes written."""
        written = 0
        with self._http.stream("GET", f"/v1/jobs/{job_id}/result/{part}") as response:
            if not response.is_success:
                response.read()
                _raise_for(response)
            for chunk in response.iter_bytes():
                out.write(chunk)
                written += len(chunk)
        return written

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Catalytic":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def verify_webhook(secret: str, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
    """Checks a webhook delivery's Standard Webhooks signature
    (`webhook-id`, `webhook-timestamp`, `webhook-signature` headers) with the
    endpoint's `whsec_...` secret and returns the event; raises
    standardwebhooks.WebhookVerificationError for a forged, altered or stale
    one (more than 5 minutes off)."""
    return standardwebhooks.Webhook(secret).verify(body, dict(headers))
