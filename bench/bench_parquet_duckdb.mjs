// DuckDB side of the parquet read benchmark (see bench_parquet_read.c).
// usage: DUCKDB_NODE_DIR=<dir with node_modules/@duckdb/node-api> \
//        node bench/bench_parquet_duckdb.mjs FILE [threads] [reps]
// Times (median of reps) loading every feature_* column into a DuckDB in-memory table
// (CREATE TABLE AS SELECT: decode + materialise, the analogue of ef_pq_read_matrix_i8), and
// a full-scan aggregate over the same columns. Prints one JSON line.
import { createRequire } from 'node:module';
import path from 'node:path';

const dir = process.env.DUCKDB_NODE_DIR || '.';
const require = createRequire(path.resolve(dir, 'package.json'));
const { DuckDBInstance } = require('@duckdb/node-api');

const file = process.argv[2];
const threads = parseInt(process.argv[3] || '1', 10);
const reps = parseInt(process.argv[4] || '3', 10);
if (!file) { console.error('usage: bench_parquet_duckdb.mjs FILE [threads] [reps]'); process.exit(2); }

const inst = await DuckDBInstance.create(':memory:', { threads: String(threads) });
const con = await inst.connect();
// a sum over thousands of columns is one deep expression tree
await con.run('SET max_expression_depth TO 100000');
const cols = (await (await con.run(`SELECT name FROM parquet_schema('${file}') WHERE name LIKE 'feature_%'`)).getRows()).map(r => r[0]);
const list = cols.map(c => `"${c}"`).join(',');
const median = a => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
const load = [], scan = [];
let rows = 0;
for (let k = 0; k < reps; k++) {
  let t0 = process.hrtime.bigint();
  await con.run(`CREATE OR REPLACE TABLE t AS SELECT ${list} FROM read_parquet('${file}')`);
  load.push(Number(process.hrtime.bigint() - t0) / 1e9);
  await con.run('DROP TABLE t');
  t0 = process.hrtime.bigint();
  const r = await (await con.run(`SELECT count(*), ${cols.map(c => `sum("${c}")`).join('+')} FROM read_parquet('${file}')`)).getRows();
  scan.push(Number(process.hrtime.bigint() - t0) / 1e9);
  rows = Number(r[0][0]);
}
console.log(JSON.stringify({ impl: 'duckdb', version: (await (await con.run('select version()')).getRows())[0][0],
  rows, features: cols.length, threads, load_table_s: +median(load).toFixed(4), sum_scan_s: +median(scan).toFixed(4),
  values_per_s_load: +(rows * cols.length / median(load)).toPrecision(4) }));
