/**
 * The platform's task-spec rules, table-driven, over HTTP: each variant of a real task spec gets
 * the status code and the exact error body `POST /api/v2/task` answers on the platform
 * (`tasks.py:110-295` TaskSchema and its validators, `create_task` `tasks.py:837-945`), and the
 * valid specs from real tools' READMEs are accepted, resolved and their outputs registered.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type LocalKlms, type Seed, startLocalKlms } from "../src/index.js";
import { assertError, assertSuccess, call } from "./helpers.js";

// Ids as they appear in the real specs below, seeded so that those specs run unchanged.
const PROCESS = "f9645b89-34e4-4de2-8ecd-dc10163d9aed";
const VSR_INPUT = "16adb665-77ea-410c-8476-132e34160b53";
const MDI_DATASET = "0fc717e0-5567-4943-a843-9be47aed6eb9";
const METEO = "413f30a3-4653-4b70-8da9-99d7659b23c0";
const COORDS = "87668a7e-8d88-4074-a7f2-1a502f40c659";
const STOPPED = "5a0c1f4e-9b1d-4c3e-8f20-0d6a1b2c3d4e";

const SEED: Seed = {
  organizations: [{ name: "abaco-group", title: "ABACO" }],
  processes: [
    { id: PROCESS, name: "abaco-pilot", owner_org: "abaco-group" },
    { id: STOPPED, name: "finished-process", exec_state: "succeeded" },
  ],
  datasets: [
    {
      id: VSR_INPUT,
      name: "vsr-input",
      owner_org: "abaco-group",
      resources: [
        {
          name: "Tmax 1981-1990",
          url: "s3://abaco-bucket/VOCATIONAL_SCORE/input/Tmax_1981_1990.tif",
          relation: "owned",
        },
        {
          name: "Tmin 1981-1990",
          url: "s3://abaco-bucket/VOCATIONAL_SCORE/input/Tmin_1981_1990.tif",
          relation: "owned",
        },
        { name: "Legend", url: "s3://abaco-bucket/VOCATIONAL_SCORE/legend.txt", relation: "documentation" },
      ],
    },
    {
      id: MDI_DATASET,
      name: "meteo-stations",
      owner_org: "abaco-group",
      resources: [
        { id: METEO, name: "Meteo", url: "s3://abaco-bucket/MISSING_DATA/meteo.xlsx", relation: "owned" },
        { id: COORDS, name: "Coordinates", url: "s3://abaco-bucket/MISSING_DATA/coords.xlsx", relation: "owned" },
      ],
    },
  ],
  tools: [
    { name: "vocational-score-raster", images: ["latest"] },
    { name: "missing-data-interpolation", profiles: { default: { image: "0.0.6" } } },
  ],
};

/** The Vocational Score Raster tool's README spec (stelar-eu), as published. */
const VSR_README = {
  process_id: PROCESS,
  name: "VSR on 1981-2021",
  image: "petroud/vsr:latest",
  inputs: { rasters: ["d0::owned"] },
  datasets: {
    d0: VSR_INPUT,
    d1: {
      name: "vsr-output-exp",
      owner_org: "abaco-group",
      notes: "The result of VSR execution on Summer and April Dataset VSR Input",
      tags: ["ABACO", "VSR"],
    },
  },
  parameters: { "Tmax_max_summer_1981_1990.tif": { val_min: 26, val_max: 28.5, new_val: 1 } },
  outputs: {
    scored_files: {
      url: "s3://abaco-bucket/VOCATIONAL_SCORE/output",
      dataset: "d1",
      resource: { name: "Scored Classified rasters via VSR", relation: "raster" },
    },
  },
};

/** The missing-data-interpolation spec of the ABACO pilot (resource UUIDs in, a new resource in d0 out). */
const MDI = {
  process_id: PROCESS,
  name: "Missing Data Interpolation",
  tool: "missing-data-interpolation",
  inputs: { meteo_file: [METEO], coords_file: [COORDS] },
  datasets: { d0: MDI_DATASET },
  parameters: {},
  outputs: {
    interpolated_file: {
      url: "s3://abaco-bucket/MISSING_DATA/interpolated.xlsx",
      dataset: "d0",
      resource: { name: "Interpolated Meteo Station Data", relation: "owned" },
    },
  },
};

type Spec = Record<string, unknown>;
const edit = (base: Spec, change: (s: Spec) => void): Spec => {
  const copy = structuredClone(base);
  change(copy);
  return copy;
};
const INVALID_ITEM = (item: string) =>
  `Invalid item '${item}'. Must be a UUID (::filter), an s3:// path, 'ctx' (::filter) or a key from datasets.`;

/** [variant, spec, status, __type, message, detail]. */
const VARIANTS: Array<[string, Spec, number, string, string, Record<string, unknown>]> = [
  [
    "no name",
    edit(VSR_README, (s) => delete s.name),
    422,
    "_ValidationError",
    "Validation error",
    {
      json: { name: ["Missing data for required field."] },
    },
  ],
  [
    'process_id "<PROCESS_ID>"',
    { ...VSR_README, process_id: "<PROCESS_ID>" },
    422,
    "_ValidationError",
    "Validation error",
    { json: { process_id: ["Not a valid UUID."] } },
  ],
  [
    "no datasets key",
    edit(VSR_README, (s) => delete s.datasets),
    422,
    "_ValidationError",
    "Validation error",
    {
      json: { datasets: ["Missing data for required field."] },
    },
  ],
  [
    "a datasets value that is not a UUID",
    { ...VSR_README, datasets: { ...VSR_README.datasets, d0: "vsr-input" } },
    422,
    "_ValidationError",
    "Validation error",
    { json: { _schema: ["Dataset 'd0' has a string value but it's not a valid UUID."] } },
  ],
  [
    "an output given as a plain string",
    { ...VSR_README, outputs: { scored_files: "s3://abaco-bucket/out" } },
    422,
    "_ValidationError",
    "Validation error",
    { json: { "outputs.scored_files": "Each output must be a dictionary." } },
  ],
  [
    "a resource dict without dataset",
    edit(VSR_README, (s) => delete (s.outputs as Spec).scored_files?.dataset),
    422,
    "_ValidationError",
    "Validation error",
    { json: { "outputs.scored_files.dataset": "'dataset' is required when 'resource' is a dict." } },
  ],
  [
    "a dataset key that is not in datasets",
    edit(VSR_README, (s) => Object.assign((s.outputs as Spec).scored_files as Spec, { dataset: "d9" })),
    422,
    "_ValidationError",
    "Validation error",
    { json: { "outputs.scored_files.dataset": "'d9' not found in datasets." } },
  ],
  [
    "a resource without relation",
    edit(VSR_README, (s) => delete (((s.outputs as Spec).scored_files as Spec).resource as Spec).relation),
    422,
    "_ValidationError",
    "Validation error",
    { json: { "outputs.scored_files.resource": "Missing fields in 'resource': relation" } },
  ],
  [
    'a new dataset named "Bad Name"',
    edit(VSR_README, (s) => Object.assign((s.datasets as Spec).d1 as Spec, { name: "Bad Name" })),
    422,
    "_ValidationError",
    "Validation error",
    { json: { "datasets.d1": { name: ["Invalid value."] } } },
  ],
  [
    "an input https://example.org/x.csv",
    { ...VSR_README, inputs: { rasters: ["https://example.org/x.csv"] } },
    422,
    "_ValidationError",
    "Validation error",
    { json: { "inputs.rasters": INVALID_ITEM("https://example.org/x.csv") } },
  ],
  [
    "a process_id that does not exist",
    { ...VSR_README, process_id: "11111111-2222-4333-8444-555555555555" },
    404,
    "NotFoundError",
    "Not found",
    { entity: "process" },
  ],
  [
    "a tool that does not exist",
    { ...MDI, tool: "no-such-tool" },
    404,
    "NotFoundError",
    "Not found",
    { entity: "tool" },
  ],
  // Beyond the list: the other rules of the same schema and pipeline.
  [
    "an input alias missing from datasets",
    { ...VSR_README, inputs: { rasters: ["d7::owned"] } },
    422,
    "_ValidationError",
    "Validation error",
    { json: { "inputs.rasters": "Invalid dataset reference 'd7' not found in datasets." } },
  ],
  [
    "an input group that is not a list",
    { ...VSR_README, inputs: { rasters: "d0::owned" } },
    422,
    "_ValidationError",
    "Validation error",
    { json: { "inputs.rasters": "Must be a list." } },
  ],
  [
    "an input item that is not a string",
    { ...VSR_README, inputs: { rasters: [42] } },
    422,
    "_ValidationError",
    "Validation error",
    { json: { "inputs.rasters": "Item '42' must be a string." } },
  ],
  [
    "a version-6 UUID as an input (the UUID pattern takes versions 1-5; it reads as an alias)",
    { ...VSR_README, inputs: { rasters: ["1ef5b7a2-3c4d-6e5f-8a9b-0c1d2e3f4a5b"] } },
    422,
    "_ValidationError",
    "Validation error",
    {
      json: {
        "inputs.rasters": "Invalid dataset reference '1ef5b7a2-3c4d-6e5f-8a9b-0c1d2e3f4a5b' not found in datasets.",
      },
    },
  ],
  [
    "an output resource string that is not a UUID",
    { ...VSR_README, outputs: { o: { url: "s3://b/o", resource: "my-resource" } } },
    422,
    "_ValidationError",
    "Validation error",
    { json: { "outputs.o.resource": "'resource' string must be a valid UUID." } },
  ],
  [
    "an output with a dataset but no resource",
    { ...VSR_README, outputs: { o: { url: "s3://b/o", dataset: "d0" } } },
    422,
    "_ValidationError",
    "Validation error",
    { json: { "outputs.o.resource": "'resource' is required when 'dataset' is provided." } },
  ],
  [
    "an output without url",
    { ...VSR_README, outputs: { o: { dataset: "d0", resource: { name: "n", relation: "r" } } } },
    422,
    "_ValidationError",
    "Validation error",
    { json: { "outputs.o.url": "Missing or invalid 'url'. Must be a string." } },
  ],
  [
    "a new dataset without owner_org",
    edit(VSR_README, (s) => delete ((s.datasets as Spec).d1 as Spec).owner_org),
    422,
    "_ValidationError",
    "Validation error",
    { json: { "datasets.d1": { owner_org: ["Missing data for required field."] } } },
  ],
  [
    "three validators failing at once: their first errors merged",
    { ...VSR_README, datasets: { d0: "x" }, inputs: { a: "s3://b/k" }, outputs: { o: "s3://b/o" } },
    422,
    "_ValidationError",
    "Validation error",
    {
      json: {
        _schema: ["Dataset 'd0' has a string value but it's not a valid UUID."],
        "inputs.a": "Must be a list.",
        "outputs.o": "Each output must be a dictionary.",
      },
    },
  ],
  [
    "field errors first: the validators do not run",
    { ...VSR_README, name: null, tool: null, tags: { k: 1 }, id: "x", datasets: { d0: "x" } },
    422,
    "_ValidationError",
    "Validation error",
    {
      json: {
        id: ["Unknown field."],
        name: ["Field may not be null."],
        tags: { k: { value: ["Not a valid string."] } },
        tool: ["Field may not be null."],
      },
    },
  ],
  [
    "an exec_state other than running, failed, succeeded",
    { ...VSR_README, exec_state: "created" },
    422,
    "_ValidationError",
    "Validation error",
    { json: { exec_state: ["Must be one of: running, failed, succeeded."] } },
  ],
  [
    "a process that is not running",
    { ...VSR_README, process_id: STOPPED },
    409,
    "ConflictError",
    `Process '${STOPPED}' is not running and it may not accept tasks`,
    {},
  ],
  [
    "a dataset's id as the tool",
    { ...MDI, tool: MDI_DATASET },
    404,
    "NotFoundError",
    "",
    {
      entity: "tool not found, ID belongs to dataset",
    },
  ],
  [
    "a dataset's id as the process",
    { ...VSR_README, process_id: MDI_DATASET },
    400,
    "DataError",
    // `processes.py:331`: DataError("The entity is not a process", process): the args joined by " ".
    `The entity is not a process ${MDI_DATASET}`,
    {},
  ],
  // Database constraints a valid spec can break: the platform's 500 from its SQL error path.
  ...(
    [
      [
        "an output name over 100 characters (varchar(100))",
        { ...MDI, outputs: { ["o".repeat(101)]: { url: "s3://abaco-bucket/x.csv" } } },
        `output name "${"o".repeat(20)}…" is longer than 100 characters: shorten it`,
      ],
      [
        "an invalid resource_action for an existing resource (tskx_action_enum)",
        { ...MDI, outputs: { o: { url: "s3://abaco-bucket/x.csv", resource: METEO, resource_action: "MERGE" } } },
        "outputs.o.resource_action must be one of REPLACE, KEEP, TRUNCATE, UPDATE, COPY",
      ],
      [
        'a user tag "__name__" (task_tag primary key)',
        { ...VSR_README, tags: { __name__: "x" } },
        'the tag "__name__" is reserved by the platform (__name__, __image__, container_id, job_id): rename it',
      ],
      [
        'a user tag "job_id" on a task with a Job',
        { ...VSR_README, tags: { job_id: "x" } },
        'the tag "job_id" is reserved by the platform (__name__, __image__, container_id, job_id): rename it',
      ],
      [
        'a user tag "__tool__" when the spec names a tool',
        { ...MDI, tags: { __tool__: "x" } },
        'the tag "__tool__" is reserved by the platform (__name__, __tool__, __image__, container_id, job_id): rename it',
      ],
    ] as Array<[string, Spec, string]>
  ).map(([variant, spec, hint]): [string, Spec, number, string, string, Record<string, unknown>] => [
    variant,
    spec,
    500,
    "InternalException",
    "ValueError('Internal Error: bad backend', 'Error in executing SQL command')",
    { format_exc: "", hint },
  ]),
  [
    "a dataset's id in capitals as the process (str(UUID) prints it in lowercase)",
    { ...VSR_README, process_id: MDI_DATASET.toUpperCase() },
    400,
    "DataError",
    `The entity is not a process ${MDI_DATASET}`,
    {},
  ],
  [
    "an output alias whose UUID names no package (skipped, then 409)",
    { ...MDI, datasets: { d0: "99999999-8888-4777-8666-555555555555" } },
    409,
    "ConflictError",
    "Dataset friendly name `d0` not found in declared datasets.",
    {},
  ],
  [
    "an image the tool does not have",
    { ...MDI, image: "9.9.9" },
    404,
    "NotFoundError",
    "Image '9.9.9' not found in tool images.",
    { entity: "missing-data-interpolation" },
  ],
  [
    "a secret that is a dict (secrets are stored as text)",
    { ...VSR_README, secrets: { k: { a: 1 } } },
    500,
    "InternalException",
    "ValueError('Internal Error: bad backend', 'Error in executing SQL command')",
    { format_exc: "", hint: 'secret "k" is a dict: the platform stores secrets as text; send a string' },
  ],
];

let klms: LocalKlms;
before(async () => {
  klms = await startLocalKlms({ objectStore: false, quiet: true, seed: SEED });
});
after(async () => {
  await klms.stop();
});

const create = (body: unknown) => call(klms.apiUrl, "POST", "/api/v2/task", { token: klms.token, body });

describe("task specs the platform refuses get its status and its exact error", () => {
  for (const [variant, spec, status, type, message, detail] of VARIANTS) {
    test(`${status} on ${variant}`, async () => {
      const reply = await create(spec);
      assertError(reply, status, type, message);
      assert.deepEqual(reply.body.error?.detail, detail);
    });
  }

  test("createTask() refuses the same specs, saying what the API would answer", async () => {
    for (const [, spec, status] of VARIANTS) {
      await assert.rejects(klms.createTask(spec as never), new RegExp(`the API would answer ${status} `));
    }
  });

  test("an input item's value is printed as Python prints what its json read: 1.0 a float, 1 an int", async () => {
    const cases: Array<[string, string]> = [
      ["1.0", "1.0"],
      ["1", "1"],
      ["1e5", "100000.0"],
      ["1E-5", "1e-05"],
      ["2.50", "2.5"],
      ["1e400", "inf"],
      ["12345678901234567890", "12345678901234567890"],
      ["-0", "0"],
      ["null", "None"],
      ["true", "True"],
      ['[1.0, "a", {"k": 2e16}]', "[1.0, 'a', {'k': 2e+16}]"],
    ];
    for (const [item, printed] of cases) {
      const raw = JSON.stringify({ ...VSR_README, inputs: { rasters: ["@"] } }).replace('"@"', item);
      const reply = await call(klms.apiUrl, "POST", "/api/v2/task", { token: klms.token, raw });
      assertError(reply, 422, "_ValidationError", "Validation error");
      assert.deepEqual(reply.body.error?.detail, { json: { "inputs.rasters": `Item '${printed}' must be a string.` } });
    }
  });

  test("user tags the platform does not add for this task, and valid resource actions, are accepted", async () => {
    assertSuccess(await create({ ...VSR_README, tags: { container_id: "mine", job: "x" }, image: undefined }));
    for (const action of ["REPLACE", "KEEP", "TRUNCATE", "UPDATE", "COPY", null]) {
      const outputs = { o: { url: "s3://abaco-bucket/x.csv", resource: METEO, resource_action: action } };
      assertSuccess(await create({ ...MDI, outputs }));
    }
    assertSuccess(await create({ ...MDI, outputs: { ["o".repeat(100)]: { url: "s3://abaco-bucket/x.csv" } } }));
  });

  test("null inputs, outputs or datasets: the platform's 500, with a hint in the detail", async () => {
    for (const key of ["inputs", "outputs", "datasets"]) {
      const reply = await create({ ...VSR_README, [key]: null });
      assertError(reply, 500, "HTTPError", "Internal Server Error");
      assert.match(String(reply.body.error?.detail.hint), new RegExp(`"${key}" is null: send \\{\\}`));
    }
  });
});

describe("real task specs are accepted, resolved and their outputs registered", () => {
  test("the VSR README spec: d0::owned becomes d0's owned resources; the output lands in the new dataset d1", async () => {
    const created = assertSuccess(await create(VSR_README)) as { id: string; job_id: string; signature: string };
    assert.equal(created.job_id, `task-${created.id}`);
    const record = await klms.getTask(created.id);
    assert.equal(record.image, "petroud/vsr:latest");
    assert.equal("tool" in record, false);
    const owned = (await datasetResources(VSR_INPUT)).filter((r) => r.relation === "owned");
    assert.deepEqual(record.inputs, { rasters: owned.map((r) => r.id) });

    const input = await call(klms.apiUrl, "GET", `/api/v2/task/${created.id}/${created.signature}/input`, {
      token: klms.token,
    });
    const result = assertSuccess(input) as { input: Record<string, string[]>; output: Record<string, string> };
    assert.deepEqual(result.input, {
      rasters: [
        "s3://abaco-bucket/VOCATIONAL_SCORE/input/Tmax_1981_1990.tif",
        "s3://abaco-bucket/VOCATIONAL_SCORE/input/Tmin_1981_1990.tif",
      ],
    });
    assert.deepEqual(result.output, { scored_files: "s3://abaco-bucket/VOCATIONAL_SCORE/output" });

    const posted = "s3://abaco-bucket/VOCATIONAL_SCORE/output/scores.tif";
    const out = await call(klms.apiUrl, "POST", `/api/v2/task/${created.id}/${created.signature}/output`, {
      body: { status: "succeeded", output: { scored_files: posted } },
    });
    assertSuccess(out);
    const done = await klms.getTask(created.id);
    const made = await call(klms.apiUrl, "GET", "/api/v2/dataset/vsr-output-exp", { token: klms.token });
    const dataset = assertSuccess(made) as { owner_org: string; resources: Array<Record<string, unknown>> };
    assert.equal(dataset.resources.length, 1);
    const resource = dataset.resources[0] as Record<string, unknown>;
    assert.deepEqual(
      [resource.name, resource.url, resource.relation, resource.package_type],
      ["Scored Classified rasters via VSR", posted, "raster", "dataset"],
    );
    assert.deepEqual(done.outputs, { scored_files: { resource_id: resource.id, url: posted } });
  });

  test("the MDI spec: resource UUIDs in, a new resource in d0 out; the tool's default image", async () => {
    const created = assertSuccess(await create(MDI)) as { id: string; signature: string };
    const record = await klms.getTask(created.id);
    assert.equal(record.tool, "missing-data-interpolation");
    assert.equal(record.image, "missing-data-interpolation:0.0.6");
    assert.equal(record.parameters, null);
    assert.deepEqual(record.inputs, { coords_file: [COORDS], meteo_file: [METEO] });
    const input = await call(klms.apiUrl, "GET", `/api/v2/task/${created.id}/${created.signature}/input`, {
      token: klms.token,
    });
    assert.deepEqual((assertSuccess(input) as { input: unknown }).input, {
      coords_file: ["s3://abaco-bucket/MISSING_DATA/coords.xlsx"],
      meteo_file: ["s3://abaco-bucket/MISSING_DATA/meteo.xlsx"],
    });
    const before = (await datasetResources(MDI_DATASET)).length;
    assertSuccess(
      await call(klms.apiUrl, "POST", `/api/v2/task/${created.id}/${created.signature}/output`, {
        body: {
          status: "succeeded",
          output: { interpolated_file: "s3://abaco-bucket/MISSING_DATA/interpolated.xlsx" },
        },
      }),
    );
    const after = await datasetResources(MDI_DATASET);
    assert.equal(after.length, before + 1);
    const added = after.at(-1) as Record<string, unknown>;
    assert.deepEqual([added.name, added.relation], ["Interpolated Meteo Station Data", "owned"]);
    const outputs = (await klms.getTask(created.id)).outputs;
    assert.deepEqual(outputs, {
      interpolated_file: { resource_id: added.id, url: "s3://abaco-bucket/MISSING_DATA/interpolated.xlsx" },
    });
  });

  test("the VSR tool spec: a tool with one image needs no image; dataset UUID inputs take all its resources", async () => {
    const spec = { ...VSR_README, tool: "vocational-score-raster", inputs: { rasters: [VSR_INPUT] } };
    delete (spec as Spec).image;
    const created = assertSuccess(await create(spec)) as { id: string };
    const record = await klms.getTask(created.id);
    assert.equal(record.image, "vocational-score-raster:latest");
    assert.equal((record.inputs.rasters ?? []).length, 3, "without a filter, every resource of the dataset");
  });

  test("ctx, unknown UUIDs and s3 paths: the process's resources, dropped silently, kept", async () => {
    const spec = {
      process_id: PROCESS,
      name: "mixed",
      datasets: {},
      inputs: {
        a: ["ctx::owned", "s3://abaco-bucket/x.csv", "22222222-3333-4444-8555-666666666666"],
        b: ["33333333-4444-4555-8666-777777777777"],
      },
      outputs: { log: { url: "s3://abaco-bucket/log.txt" } },
    };
    const record = await klms.getTask((assertSuccess(await create(spec)) as { id: string }).id);
    // A group whose items all dropped does not exist (the platform reads groups back from the rows).
    assert.deepEqual(record.inputs, { a: ["s3://abaco-bucket/x.csv"] });
  });
});

async function datasetResources(id: string): Promise<Array<Record<string, unknown>>> {
  const reply = await call(klms.apiUrl, "GET", `/api/v2/dataset/${id}`, { token: klms.token });
  return (assertSuccess(reply) as { resources: Array<Record<string, unknown>> }).resources;
}
