// The scale benchmark's catalog client, in its own process so that its work is not counted as the
// local KLMS's (nor its waits as the server's): it reads `GET /api/v2/tasks` at a steady pace, one
// request at a time, each started `interval` ms after the previous one started (right after it
// ended when it took longer), as a console polling the task list would. A closed loop with no
// pause would measure how fast the server can be hammered, and take CPU from the tasks.
//
//   fork("catalog-reader.mjs", [apiUrl, token, intervalMs]); send "stop"; receive { times, failures }
const [apiUrl, token, interval = "100"] = process.argv.slice(2);
const times = [];
let failures = 0;
let running = true;
process.on("message", () => {
  running = false;
});
while (running) {
  const t = performance.now();
  const r = await fetch(`${apiUrl}/api/v2/tasks`, { headers: { authorization: token } }).catch(() => undefined);
  if (!r?.ok) failures++;
  await r?.arrayBuffer();
  const elapsed = performance.now() - t;
  times.push(elapsed);
  if (running && elapsed < Number(interval))
    await new Promise((resolve) => setTimeout(resolve, Number(interval) - elapsed));
}
process.send({ times, failures }, () => process.exit(0));
