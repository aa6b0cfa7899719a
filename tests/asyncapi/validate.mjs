// Validates an AsyncAPI document with the official parser: `node validate.mjs docs/asyncapi.yaml`.
// Prints every diagnostic of severity error on stderr and exits 1 if there is any (or if nothing could be parsed);
// on stdout, one JSON line: the names of the document's messages and the counts of diagnostics per severity.
import { readFile } from 'node:fs/promises';
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';

const file = process.argv[2];
if (!file) {
  console.error('usage: node validate.mjs <asyncapi document>');
  process.exit(2);
}

const parser = new Parser();
const { document, diagnostics } = await parser.parse(await readFile(file, 'utf8'), { source: file });
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
for (const d of errors) {
  console.error(`${d.code}: ${d.message} at /${d.path.join('/')}`);
}
const counts = {};
for (const d of diagnostics) counts[DiagnosticSeverity[d.severity]] = (counts[DiagnosticSeverity[d.severity]] ?? 0) + 1;
const messages = document ? document.allMessages().all().map((message) => message.name()) : [];
console.log(JSON.stringify({ valid: Boolean(document) && errors.length === 0, messages, diagnostics: counts }));
process.exit(document && errors.length === 0 ? 0 : 1);
