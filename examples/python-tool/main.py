"""A KLMS tool in Python, standard library only, run by the same entrypoint as the TypeScript ones.

The entrypoint (klms-tool exec --worker "python3 -u main.py") fetches the task, runs
`python3 -u main.py input.json output.json`, checks output.json against the platform's rules and
posts it; a crash, a missing or an invalid output.json becomes a clear failure report. So this
file only reads its input and writes its output.
"""
import json
import sys


def run(task):
    params = task["parameters"]
    words = params.get("text", "").split()
    return {
        "message": f"counted {len(words)} words",
        "metrics": {"words": len(words), "longest": max((len(w) for w in words), default=0)},
        "status": "succeeded",
    }


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        task = json.load(f)
    with open(sys.argv[2], "w") as f:
        json.dump(run(task), f)
