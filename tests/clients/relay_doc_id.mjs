// A Relay-style network layer for persisted queries: the body carries the document's ID
// (Relay's "doc_id") and the variables, never the query text.
// Usage: node relay_doc_id.mjs <graphql url> <doc id> <variables JSON>
// Prints {"status", "contentType", "body"} as one JSON line.
const [url, docId, variables] = process.argv.slice(2);

async function fetchQuery(operation, vars) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ doc_id: operation.id, variables: vars }),
  });
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = { notJson: text };
  }
  return { status: response.status, contentType: response.headers.get("content-type"), body };
}

console.log(JSON.stringify(await fetchQuery({ id: docId }, JSON.parse(variables))));
