# A no-op tool in the Python template's form: run(json) returns the output dict.
import json
import sys


def run(json_input):
    return {"message": "Tool Executed Successfully", "output": {}, "metrics": {}, "status": "success"}


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        response = run(json.load(f))
    with open(sys.argv[2], "w") as f:
        json.dump(response, f)
