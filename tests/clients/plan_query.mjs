// Composes subgraph SDL files and plans a client operation with Apollo's query planner
// (what Apollo Gateway runs; Apollo Router plans alike), to see the subgraph fetches.
// Usage: node plan_query.mjs <operation file> <name>=<sdl file> ...
// Prints one JSON line: {"errors": [...], "plan": "...", "fetches": [{serviceName,
// operation, variableUsages, entities, requires}]}; an `_entities` fetch has entities: true
// and, in requires, each type and the key fields its representations carry.
import { readFileSync } from "node:fs";
import { parse } from "graphql";
import { composeServices } from "@apollo/composition";
import { Supergraph, operationFromDocument } from "@apollo/federation-internals";
import { QueryPlanner, prettyFormatQueryPlan } from "@apollo/query-planner";

const [operationFile, ...subgraphs] = process.argv.slice(2);
const services = subgraphs.map((argument) => {
  const [name, path] = argument.split("=");
  return { name, url: `http://${name}.invalid/graphql`, typeDefs: parse(readFileSync(path, "utf8")) };
});
const composed = composeServices(services);
if (composed.errors) {
  console.log(JSON.stringify({ errors: composed.errors.map((error) => error.message) }));
  process.exit(0);
}
const supergraph = Supergraph.build(composed.supergraphSdl);
const operation = operationFromDocument(
  supergraph.schema,
  parse(readFileSync(operationFile, "utf8")),
  { validate: true },
);
const plan = new QueryPlanner(supergraph).buildQueryPlan(operation);

const fetches = [];
const visit = (node) => {
  if (!node) return;
  if (node.kind === "Fetch") {
    fetches.push({
      serviceName: node.serviceName,
      operation: node.operation,
      variableUsages: node.variableUsages ?? [],
      entities: Boolean(node.requires),
      requires: (node.requires ?? []).map((selection) => ({
        type: selection.typeCondition ?? null,
        keys: (selection.selections ?? []).map((field) => field.name).filter((name) => name !== "__typename"),
      })),
    });
  }
  for (const child of [node.node, ...(node.nodes ?? [])]) visit(child);
};
visit(plan.node);
console.log(JSON.stringify({ errors: [], plan: prettyFormatQueryPlan(plan), fetches }));
