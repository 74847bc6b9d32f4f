"""The Python client against a running fleet (scripts/check-python-client.sh
starts one and passes CATALYTIC_URL and CATALYTIC_API_KEY)."""

import datetime
import io
import os

import pytest
import standardwebhooks

from catalytic import Catalytic, CatalyticError, JobFailed, verify_webhook
from catalytic_api_client.api.jobs import get_job
from catalytic_api_client.models import JobOut


@pytest.fixture
def api():
    with Catalytic(os.environ["CATALYTIC_URL"], api_key=os.environ["CATALYTIC_API_KEY"]) as client:
        yield client


def path_job(end):
    return {
        "lattice": {"dimensions": 2, "size": 10},
        "operation": "shortest_path",
        "params": {"start": [0, 0], "end": end},
    }


def test_submit_and_wait_gives_the_result(api):
    job = api.submit_and_wait(path_job([9, 9]), timeout=60)
    assert job["status"] == "succeeded"
    assert job["result"]["length"] == 18
    assert job["result"]["path"][0] == [0, 0] and job["result"]["path"][-1] == [9, 9]


def test_the_generated_client_reads_the_same_job(api):
    job = api.submit_and_wait(path_job([3, 4]), timeout=60)
    typed = get_job.sync(client=api.generated, id=job["id"])
    assert isinstance(typed, JobOut)
    assert typed.status == "succeeded"
    assert str(typed.id) == job["id"]


def test_a_bulk_submit_answers_each_item(api):
    answer = api.submit_batch([path_job([1, 1]), path_job([99, 0]), path_job([2, 2])])
    assert (answer["accepted"], answer["refused"]) == (2, 1)
    refused = answer["results"][1]
    fields = [e["field"] for e in refused["error"]["errors"]]
    assert fields == ["jobs[1].params.end[0]"], refused
    done = api.wait(answer["results"][2]["id"], timeout=60)
    assert done["result"]["length"] == 4


def test_a_refusal_carries_the_problem(api):
    with pytest.raises(CatalyticError) as refused:
        api.submit({"operation": "shortest_path", "params": {}})
    assert refused.value.status == 422
    assert "lattice" in refused.value.fields
    assert refused.value.retry_after is None
    with pytest.raises(CatalyticError) as missing:
        api.get("01a21317-7c9d-71ac-a0d4-ab1ce41bfe66")
    assert missing.value.status == 404


def test_a_cancelled_job_ends_the_wait_and_is_deleted(api):
    accepted = api.submit({**path_job([5, 5]), "delay_secs": 600})
    assert accepted["status"] == "scheduled"
    api.cancel(accepted["id"])
    done = api.wait(accepted["id"], timeout=30)
    assert done["status"] == "cancelled"
    assert "cancelled" in str(JobFailed(done))
    api.delete(accepted["id"])
    with pytest.raises(CatalyticError) as gone:
        api.get(accepted["id"])
    assert gone.value.status == 404


def test_a_stored_field_downloads_as_npy(api):
    job = api.submit_and_wait(
        {"lattice": {"size": [400, 300]}, "operation": "distances", "params": {"source": [0, 0]}},
        timeout=120,
    )
    part = job["result"]["parts"][0]
    out = io.BytesIO()
    written = api.download(job["id"], part["name"], out)
    data = out.getvalue()
    assert written == len(data) == part["bytes"]
    assert data.startswith(b"\x93NUMPY\x01\x00")
    assert b"'shape': (400, 300)" in data[:128]


def test_webhook_signatures_are_checked():

    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    signer = standardwebhooks.Webhook(secret)
    body = b'{"type": "job.succeeded", "data": {"id": "x"}}'
    now = datetime.datetime.now(tz=datetime.timezone.utc)
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signer.sign("msg_1", now, body.decode()),
    }
    assert verify_webhook(secret, body, headers)["type"] == "job.succeeded"
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        verify_webhook(secret, body.replace(b"succeeded", b"failed"), headers)
