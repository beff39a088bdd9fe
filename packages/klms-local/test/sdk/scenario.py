"""The platform's own Python SDK (stelar_client, unchanged) against the local KLMS.

Run `klms-tool dev` in examples/correlations (its tasks then run that tool's built worker), then:

    KLMS_URL=http://127.0.0.1:PORT KLMS_USER=<dev user> KLMS_PASSWORD=<dev password> \
        python3 packages/klms-local/test/sdk/scenario.py

with stelar_client and its dependencies on PYTHONPATH (see README.md in this folder). Each step
prints PASS or FAIL with what was seen; the exit code is the number of failed steps.
"""

from __future__ import annotations

import os
import re
import sys
import time
import traceback
import uuid
from pathlib import Path

from stelar.client import Client, TaskSpec

URL = os.environ["KLMS_URL"]
USER = os.environ["KLMS_USER"]
PASSWORD = os.environ["KLMS_PASSWORD"]
BUCKET = os.environ.get("KLMS_BUCKET", "klms-bucket")
INPUT = Path(__file__).resolve().parents[4] / "examples" / "correlations" / "fixtures" / "weather.csv"
RUN = uuid.uuid4().hex[:8]

failures: list[str] = []


def step(name: str):
    """Runs a step; prints PASS/FAIL with the traceback's last SDK line, and carries on."""

    def wrap(fn):
        try:
            value = fn()
            print(f"PASS {name}" + (f": {value}" if value is not None else ""), flush=True)
            return value
        except Exception as e:  # noqa: BLE001 - a scenario reports every failure
            failures.append(name)
            tb = traceback.extract_tb(e.__traceback__)
            where = next((f"{f.filename}:{f.lineno} {f.line}" for f in reversed(tb) if "stelar" in f.filename), "")
            message = re.sub(r"eyJ[\w-]+\.[\w-]+\.[\w-]+", "<jwt>", str(e))  # no token in the output
            print(f"FAIL {name}: {type(e).__name__}: {message}\n     at {where}", flush=True)
            return None

    return wrap


def expect(condition: bool, what: str):
    if not condition:
        raise AssertionError(what)


c = step("log in with the dev username and password")(
    lambda: Client(base_url=URL, username=USER, password=PASSWORD)
)
if c is None:
    sys.exit(1)

input_url = f"s3://{BUCKET}/sdk/{RUN}/weather.csv"


def dev_store():
    """The store with its dev keys (the banner's), for when the SDK's STS credentials are refused."""
    from urllib.parse import urlparse

    from minio import Minio

    s3 = urlparse(c.klms_info.s3_api)
    return Minio(
        s3.netloc,
        access_key=os.environ["KLMS_S3_ACCESS_KEY"],
        secret_key=os.environ["KLMS_S3_SECRET_KEY"],
        secure=s3.scheme == "https",
    )


# The SDK's own S3 client needs STS from the store (AssumeRoleWithWebIdentity with the user's
# token); not every local store has it, and the task steps do not need it: a NOTE, not a FAIL.
try:
    c.s3.fput_object(BUCKET, f"sdk/{RUN}/weather.csv", str(INPUT))
    store = c.s3
    print("PASS upload the input with the SDK's S3 client (STS credentials from the token)", flush=True)
except Exception as e:  # noqa: BLE001
    reason = re.sub(r"eyJ[\w-]+\.[\w-]+\.[\w-]+", "<jwt>", str(e))
    print(f"NOTE the SDK's S3 client got no STS credentials ({reason}); the store's dev keys instead", flush=True)
    store = dev_store()
    store.fput_object(BUCKET, f"sdk/{RUN}/weather.csv", str(INPUT))


proc = step("create a process")(
    lambda: c.processes.create(name=f"sdk-proc-{RUN}", title="SDK scenario")
)
ds = step("create a dataset")(lambda: c.datasets.create(name=f"sdk-ds-{RUN}", title="SDK dataset"))
res = step("add a resource to the dataset")(
    lambda: ds.add_resource(name="weather", url=input_url, format="csv", relation="owned")
)


@step("the tool is in the catalog")
def _():
    if "correlations" not in c.tools:
        c.tools.create(name="correlations", git_repository="https://example.org/correlations")
    return c.tools["correlations"].name


output_url = f"s3://{BUCKET}/sdk/{RUN}/correlations.csv"


@step("create a task with TaskSpec: the resource as input (UUID and d0::owned), an output into the dataset")
def task():
    spec = (
        TaskSpec(tool="correlations", name=f"sdk-corr-{RUN}")
        .d("d0", ds)
        .i(series=[res, "d0::owned"])
        .o(
            correlations_file={
                "url": output_url,
                "dataset": "d0",
                "resource": {"name": "Correlations", "relation": "owned"},
            }
        )
        .p(method="spearman")
    )
    return proc.run(spec)





@step("the task starts by itself and succeeds")
def _():
    deadline = time.time() + 120
    while task.sync_state() not in ("succeeded", "failed") and time.time() < deadline:
        time.sleep(0.5)
    expect(task.exec_state == "succeeded", f"exec_state {task.exec_state}, messages {task.messages!r}")
    return task.exec_state


@step("read its state, runtime, messages, pod and logs")
def _():
    expect(task.runtime > 0, f"runtime {task.runtime}")
    # The task is succeeded once the tool has posted; its pod ends a moment later, as on the cluster.
    deadline = time.time() + 30
    jobs = task.jobs()
    while any(j["status"] == "Running" for j in jobs.values()) and time.time() < deadline:
        time.sleep(0.2)
        jobs = task.jobs()
    expect(len(jobs) == 1, f"jobs {jobs!r}")
    (pod, job), = jobs.items()
    expect(pod.startswith(f"task-{task.id}") and job["status"] == "Succeeded", f"jobs {jobs!r}")
    logs = task.logs()
    expect(list(logs) == [pod], f"logs {logs!r}")
    expect("spearman correlations" in logs[pod], f"log text {logs[pod][-300:]!r}")
    return f"runtime {task.runtime:.2f} s, messages {task.messages!r}, pod {pod} {job['status']}"


@step("read its outputs and the new resource in the dataset")
def _():
    outputs = task.outputs
    out = outputs["correlations_file"]
    expect(out["url"] == output_url, f"outputs {outputs!r}")
    new = c.resources[out["resource_id"]]
    expect(new.name == "Correlations" and new.url == output_url, f"resource {new.name} {new.url}")
    ds.proxy_sync()
    expect(any(r.id == new.id for r in ds.resources), "the new resource is in the dataset")
    return f"resource {new.id} {new.url}"


@step("read the output object from the store")
def _():
    body = store.get_object(BUCKET, f"sdk/{RUN}/correlations.csv").read().decode()
    expect(body.startswith(","), f"output {body[:80]!r}")
    return f"{len(body)} bytes"


ext = step("create an external task (no tool, no image)")(
    lambda: proc.run(TaskSpec(name=f"sdk-ext-{RUN}").p(threshold="0.5"))
)


@step("external task: job_input")
def _():
    expect(ext.is_external, "is_external")
    ji = ext.job_input
    expect(set(ji) >= {"input", "output", "parameters", "minio"}, f"job input keys {sorted(ji)}")
    expect(ji["parameters"] == {"threshold": 0.5}, f"parameters {ji['parameters']!r}")
    return sorted(ji)


@step("external task: exit_job, then its state")
def _():
    ext.exit_job(metrics={"rows": 3}, message="done by hand")
    expect(ext.exec_state == "succeeded", f"exec_state {ext.exec_state}")
    expect(ext.messages == "done by hand", f"messages {ext.messages!r}")
    return f"{ext.exec_state}, runtime {ext.runtime:.2f} s"


@step("external task: a second exit_job raises")
def _():
    try:
        ext.exit_job(message="again")
    except Exception as e:  # noqa: BLE001
        return f"{type(e).__name__}: {str(e)[:120]}"
    raise AssertionError("the second exit_job did not raise")


@step("external task: fail")
def _():
    t = proc.run(TaskSpec(name=f"sdk-fail-{RUN}"))
    t.fail("it broke")
    expect(t.exec_state == "failed" and t.messages == "it broke", f"{t.exec_state} {t.messages!r}")
    return t.exec_state


@step("external task: abort")
def _():
    t = proc.run(TaskSpec(name=f"sdk-abort-{RUN}"))
    t.abort()
    t.proxy_sync()
    expect(t.exec_state == "failed", f"exec_state {t.exec_state}")
    return f"{t.exec_state}: {t.messages!r}"


@step("list the process's tasks and the succeeded ones")
def _():
    ids = {str(t.id) for t in c.tasks.succeeded()}
    expect(str(task.id) in ids and str(ext.id) in ids, f"succeeded {sorted(ids)}")
    return f"{len(ids)} succeeded"


del store  # closes its connections now rather than in the interpreter's shutdown
print(f"{len(failures)} step(s) failed" + (f": {failures}" if failures else ""))
sys.exit(len(failures))
