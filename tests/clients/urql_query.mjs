// urql's core client with its default fetch exchange, which asks for
// application/graphql-response+json first.
// Usage: node urql_query.mjs <graphql url> <query>
// Prints {"data", "error"} as one JSON line.
import { Client, fetchExchange } from "@urql/core";

const [url, query] = process.argv.slice(2);
const client = new Client({ url, exchanges: [fetchExchange], requestPolicy: "network-only" });
const result = await client.query(query, {}).toPromise();
console.log(
  JSON.stringify({
    data: result.data ?? null,
    error: result.error ? result.error.message : null,
    graphQLErrors: result.error ? result.error.graphQLErrors.map((e) => e.extensions) : [],
  }),
);
