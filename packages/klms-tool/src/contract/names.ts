/**
 * The catalog's name rule, written once: a tool's, process's or dataset's `name` is a CKAN
 * `NameID`, 2 to 100 of a-z, 0-9, `_` and `-` (data-api `cutils.py`, `NameID`; platform-api §3).
 * defineTool checks a tool's name with it, and the local KLMS checks every entity's.
 */
export const CATALOG_NAME = /^[a-z0-9_-]{2,100}$/;

/** The rule in words, for error messages. */
export const CATALOG_NAME_RULE = 'use 2 to 100 of a-z, 0-9, "_" and "-"';
