// Apollo Client with its persisted-query link, run twice against the server.
// Usage: node apollo_apq.mjs <graphql url> <post|get>
// Prints {"results": [...]} as one JSON line: each run's data or error message.
import { createHash } from "node:crypto";
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";

const [url, method] = process.argv.slice(2);
const sha256 = (text) => createHash("sha256").update(text).digest("hex");

const client = new ApolloClient({
  cache: new InMemoryCache(),
  link: new PersistedQueryLink({ sha256, useGETForHashedQueries: method === "get" }).concat(
    new HttpLink({ uri: url }),
  ),
  defaultOptions: { query: { fetchPolicy: "network-only" } },
});

const FIRST_USERS = gql`
  query FirstUsers($first: Int!) {
    users(first: $first) {
      edges { node { id email } }
    }
  }
`;

const results = [];
for (let run = 0; run < 2; run++) {
  try {
    const { data } = await client.query({ query: FIRST_USERS, variables: { first: 2 } });
    results.push({ data });
  } catch (error) {
    results.push({ error: String(error.message ?? error) });
  }
}
console.log(JSON.stringify({ results }));
