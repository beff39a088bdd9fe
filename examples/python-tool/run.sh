#!/bin/sh
# The image's entrypoint for a Python tool: the same as the TypeScript template's, with the
# worker named. The Python code keeps the template's main.py contract and loses run.sh's bugs.
set -eu
cd "$(dirname "$0")"
exec node node_modules/klms-tool/dist/cli/main.js exec --worker "python3 -u main.py" "$@"
