// Material for MkDocs' own search worker, run in Node against a built site, as a browser would
// run it: node material_search.js SITE QUERY... prints one JSON line per query,
// {"query": ..., "pages": [locations found, best first]}.
"use strict";
const fs = require("fs");
const path = require("path");
const vm = require("vm");

const [site, ...queries] = process.argv.slice(2);
const workers = path.join(site, "assets", "javascripts", "workers");
const worker = fs.readdirSync(workers).find((name) => /^search\..*\.js$/.test(name));
let listener = null;
let replies = [];
globalThis.self = globalThis;
globalThis.importScripts = (...urls) => {
  for (const url of urls) vm.runInThisContext(fs.readFileSync(path.join(workers, url), "utf8"));
};
globalThis.addEventListener = (type, handler) => { listener = handler; };
globalThis.postMessage = (message) => replies.push(message);
vm.runInThisContext(fs.readFileSync(path.join(workers, worker), "utf8"));

const SETUP = 0, QUERY = 2;  // Material's SearchMessageType
const index = JSON.parse(fs.readFileSync(path.join(site, "search", "search_index.json"), "utf8"));
(async () => {
  await listener({ data: { type: SETUP, data: { ...index, options: { suggest: false } } } });
  for (const query of queries) {
    replies = [];
    await listener({ data: { type: QUERY, data: query } });
    const pages = replies[0].data.items.map((group) => group[0].location);
    console.log(JSON.stringify({ query, pages }));
  }
})();
