#!/bin/sh
# The image's entrypoint. The KLMS runs it with four arguments:
#   "Bearer <jwt>" <api_url> <task_id> <signature>
# Do not edit it: klms-tool exec fetches the task input, runs the tool (node dist/main.js
# input.json output.json), checks its output and always reports the outcome to the platform.
# `exec` replaces this shell, so that SIGTERM reaches Node (a shell as PID 1 would swallow it).
# A tool in another language keeps this file and changes only the worker:
#   exec node node_modules/klms-tool/dist/cli/main.js exec --worker "python3 -u main.py" "$@"
set -eu
cd "$(dirname "$0")"
# In the image: the bundles made by `npm run bundle` (the tool split so that the AWS SDK is
# parsed only when the tool touches the store). Elsewhere: the installed packages.
# The tool runs as a child process started while the input is fetched (KLMS_WORKER_MODULE), or
# in a worker thread of the entrypoint when the image sets KLMS_WORKER_THREAD, or as any command
# when it sets KLMS_WORKER (see the Dockerfile and the README).
if [ -f bundle/entrypoint.mjs ]; then
  if [ -z "${KLMS_WORKER:-}${KLMS_WORKER_THREAD:-}" ]; then
    export KLMS_WORKER_MODULE="${KLMS_WORKER_MODULE:-bundle/tool/main.mjs}"
  fi
  exec node bundle/entrypoint.mjs "$@"
fi
exec node node_modules/klms-tool/dist/cli/main.js exec "$@"
