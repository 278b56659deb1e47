#!/usr/bin/env node
// Reads a parquet file with DuckDB and prints it as CSV, to check eraformer's parquet writer
// against an independent reader. Not run by ctest (it needs Node and @duckdb/node-api).
//
// Setup, once, in a scratch folder OUTSIDE the repository:
//   mkdir -p /work/scratch-duckdb && cd /work/scratch-duckdb && npm init -y && npm install @duckdb/node-api
//
// Usage:
//   node tools/check_parquet_duckdb.mjs FILE.parquet [--schema] > out.csv
//     stdout: the CSV (header = column names; a null or NaN is an empty field; numbers in
//             shortest form: 0..4, 0.25; strings verbatim, no quoting). This is the format
//             `eraformer synth --csv` writes, so the two can be compared with cmp(1).
//     stderr: rows, row groups, and an md5 of the CSV; with --schema the parquet schema
//             (physical, converted and logical type of each column) as DuckDB sees it.
//   Set EF_DUCKDB_NODE to the package's lib/index.js if it is not installed in
//   /work/scratch-duckdb.
//
// Example (the check of the writer in the synth data):
//   build/eraformer synth --out /tmp/s --csv
//   for f in train validation live; do
//     node tools/check_parquet_duckdb.mjs /tmp/s/$f.parquet | cmp - /tmp/s/$f.csv && echo "$f ok"
//   done
import { createHash } from 'node:crypto';

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--'));
if (!file) {
  console.error('usage: node tools/check_parquet_duckdb.mjs FILE.parquet [--schema]');
  process.exit(2);
}
const modPath = process.env.EF_DUCKDB_NODE ?? '/work/scratch-duckdb/node_modules/@duckdb/node-api/lib/index.js';
const { DuckDBInstance } = await import(modPath);
const instance = await DuckDBInstance.create(':memory:');
const con = await instance.connect();
const lit = `'${file.replaceAll("'", "''")}'`;

if (args.includes('--schema')) {
  const s = await con.runAndReadAll(
    `SELECT name, type, converted_type, logical_type, repetition_type FROM parquet_schema(${lit})`);
  for (const r of s.getRows()) console.error('schema:', r.map((x) => (x === null ? '-' : String(x))).join(' '));
}
const meta = await con.runAndReadAll(
  `SELECT count(DISTINCT row_group_id), string_agg(DISTINCT compression, ','), string_agg(DISTINCT encodings, ';') FROM parquet_metadata(${lit})`);
const [rgs, codecs, encs] = meta.getRows()[0];

const res = await con.runAndReadAll(`SELECT * FROM read_parquet(${lit})`);
const names = res.columnNames();
const hash = createHash('md5');
const out = [];
const emit = (line) => {
  hash.update(line);
  out.push(line);
  if (out.length >= 4096) {
    process.stdout.write(out.join(''));
    out.length = 0;
  }
};
const fmt = (v) => {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isNaN(v) ? '' : String(v);
  if (typeof v === 'bigint') return v.toString();
  return String(v);
};
emit(names.join(',') + '\n');
let rows = 0;
for (const r of res.getRows()) {
  emit(r.map(fmt).join(',') + '\n');
  rows++;
}
process.stdout.write(out.join(''));
console.error(`${file}: ${rows} rows, ${names.length} columns, ${rgs} row groups, codecs ${codecs}, encodings ${encs}, csv md5 ${hash.digest('hex')}`);
