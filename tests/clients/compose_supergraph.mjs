// Composes subgraph SDL files into a supergraph with Apollo's own composition library
// (what Rover and GraphOS run), satisfiability checks included.
// Usage: node compose_supergraph.mjs <name>=<sdl file> ...
// Prints one JSON line: {"errors": [...], "hints": [...], "supergraphSdl": "..." | null}.
import { readFileSync } from "node:fs";
import { parse } from "graphql";
import { composeServices } from "@apollo/composition";

const services = process.argv.slice(2).map((argument) => {
  const [name, path] = argument.split("=");
  return { name, url: `http://${name}.invalid/graphql`, typeDefs: parse(readFileSync(path, "utf8")) };
});
const result = composeServices(services);
console.log(
  JSON.stringify({
    errors: (result.errors ?? []).map((error) => ({
      code: error.extensions?.code ?? null,
      message: error.message,
    })),
    hints: (result.hints ?? []).map((hint) => ({
      code: hint.definition.code,
      level: hint.definition.level.name,
      message: hint.message,
    })),
    supergraphSdl: result.supergraphSdl ?? null,
  }),
);
