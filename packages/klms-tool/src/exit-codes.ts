/**
 * Process exit codes of the kit's commands. The entrypoint keeps run.sh's codes (2, 3, 4), and
 * exits 0 once the platform has recorded the outcome, success or failure: a non-zero exit makes
 * the Kubernetes Job start the tool again (backoffLimit 3), which helps only when the platform
 * could not be told.
 */
export enum ExitCode {
  /** Done: the tool succeeded, or (entrypoint) the platform recorded the outcome, whatever it was. */
  Success = 0,
  /** The tool failed, or a file checked by `validate-*` broke a rule; a valid output.json was still written. */
  Failure = 1,
  /** Wrong arguments: usage text was printed. Also: a file that `validate-*` could not read. */
  Usage = 2,
  /** The entrypoint could not fetch the task input. */
  InputFetchFailed = 3,
  /** The entrypoint could not post the task output. */
  OutputPostFailed = 4,
}
