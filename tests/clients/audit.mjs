// graphql-http's server audits (the GraphQL-over-HTTP spec's MUSTs and SHOULDs).
// Usage: node audit.mjs <graphql url>
// Prints {"audits": [{"id", "name", "status", "reason"}]} as one JSON line.
import { serverAudits } from "graphql-http";

const [url] = process.argv.slice(2);
const audits = [];
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  const result = await audit.fn();
  audits.push({ id: audit.id, name: audit.name, status: result.status, reason: result.reason ?? null });
}
console.log(JSON.stringify({ audits }));
