// Ask a running `rolecall serve` the seed question with `fetch` (node 20, no packages):
// why does the `wfm-sync` integration get 403 moving agents between management units?
//
//     rolecall serve &                    # the built-in sample org, on 127.0.0.1:8181
//     node examples/serve_client.mjs      # or: node examples/serve_client.mjs http://HOST:PORT
//
// The token, when the server needs one, is read from ROLECALL_TOKEN.

const base = (process.argv[2] ?? "http://127.0.0.1:8181").replace(/\/$/, "");
const seed = {
  subject: "client:wfm-sync",
  operation: "POST /api/v2/workforcemanagement/agents",
  target: "management-unit:EU Agents",
};

const headers = { "content-type": "application/json", accept: "application/json" };
if (process.env.ROLECALL_TOKEN) headers.authorization = `Bearer ${process.env.ROLECALL_TOKEN}`;

const response = await fetch(`${base}/v1/explain`, {
  method: "POST",
  headers,
  body: JSON.stringify(seed),
});
const answer = await response.json();
if (!response.ok) {
  // Problems (RFC 9457): `detail` and `help` are the CLI's words.
  console.error(`${answer.status} ${answer.title}: ${answer.detail}`);
  if (answer.help) console.error(`help: ${answer.help}`);
  process.exit(2);
}
const { explanation, meta } = answer;
console.log(`verdict: ${explanation.verdict}`);
if (explanation.fix) console.log(`fix: ${explanation.fix}`);
console.log(`snapshot ${meta.snapshotId}, ${meta.snapshotAge} s old, stale: ${meta.stale}`);
