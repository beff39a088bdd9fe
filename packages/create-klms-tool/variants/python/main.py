"""__TOOL_DESCRIPTION__

A KLMS tool in Python, standard library only, behind the kit's entrypoint: `klms-tool exec
--worker "python3 -u main.py"` fetches the task, runs `python3 -u main.py input.json output.json`,
checks output.json against the platform's rules and posts it. A crash, a missing or an invalid
output.json becomes a failure report that says what went wrong, and secrets printed by accident
are masked in the logs. So this file only reads its input and writes its output.

input.json has the platform's keys: "input" (group -> list of s3:// paths), "output" (name ->
path), "parameters", "minio" (endpoint_url, id, key, skey: the session token) and "secrets".
To read or write objects, add boto3 or minio to requirements and use the "minio" block.
"""
import json
import sys


def run(task):
    params = task.get("parameters", {})
    x, y = params.get("x"), params.get("y", 1)
    if not isinstance(x, (int, float)) or not isinstance(y, (int, float)):
        # A failed status with a message: the task ends failed with this reason.
        return {"status": "failed", "message": f"parameters x and y must be numbers, got x={x!r} y={y!r}"}
    files = sum(len(paths) for paths in task.get("input", {}).values())
    return {
        "status": "succeeded",
        "message": f"x + y = {x + y}; {files} input files",
        "metrics": {"z": x + y, "files": files},
    }


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        task = json.load(f)
    with open(sys.argv[2], "w") as f:
        json.dump(run(task), f)
